"""`tiny-audio compare`: a paired bootstrap that tells a real WER difference from the luck of a few clips."""

from __future__ import annotations

import pytest

from tiny_audio.cli import main
from tiny_audio.evaluation.compare import compare, load_results
from tiny_audio.evaluation.results import EvalResult, SampleRow


def result(model: str, errors: list[int], words: list[int], dataset: str = "dev-real") -> EvalResult:
    rows = [
        SampleRow(index=i + 1, id=f"clip-{i}", reference="r", hypothesis="h", audio_seconds=1.0, time=0.1,
                  wer=e / w, errors=e, reference_words=w)
        for i, (e, w) in enumerate(zip(errors, words, strict=True))
    ]  # fmt: skip
    total_errors, total_words = sum(errors), sum(words)
    return EvalResult(
        model=model, system="tiny-audio", dataset=dataset, dataset_id=dataset, config=None, split="test",
        samples=len(rows), skipped=0, wer=total_errors / total_words, substitutions=total_errors, deletions=0,
        insertions=0, hits=total_words - total_errors, reference_words=total_words, rtfx=None,
        audio_seconds=len(rows), timed_audio_seconds=0.0, timed_wall_seconds=0.0, avg_time_per_sample=0.1,
        date="2026-11-22T00:00:00+00:00", commit=None, rows=rows,
    )  # fmt: skip


WORDS = [10, 12, 8, 15, 9, 11, 10, 14, 7, 13] * 4


def test_a_better_model_on_every_clip_is_called_better_and_a_copy_is_not():
    baseline = result("old", [3] * 40, WORDS)
    better = compare([baseline], [result("new", [1] * 40, WORDS)], resamples=2000)
    assert better.baseline_errors == 120 and better.candidate_errors == 40 and better.reference_words == sum(WORDS)
    assert better.difference == pytest.approx(-100 * 80 / sum(WORDS))
    assert better.interval[1] < 0 and better.candidate_lower == 1.0
    same = compare([baseline], [result("copy", [3] * 40, WORDS)], resamples=2000)
    assert same.difference == 0 and same.interval == (0.0, 0.0) and same.tied == 1.0


def test_one_lucky_clip_is_within_the_interval():
    errors = [2, 1, 0, 3, 1, 2, 0, 1, 2, 1] * 4
    luckier = list(errors)
    luckier[5] -= 2  # two words fewer wrong on one clip out of 40
    comparison = compare([result("a", errors, WORDS)], [result("b", luckier, WORDS)], resamples=4000)
    low, high = comparison.interval
    assert low < comparison.difference < 0 <= high  # a real but small gain: zero stays inside the interval


def test_datasets_are_paired_by_name_and_clips_by_id(tmp_path, capsys):
    for side, errors in (("old", [3] * 40), ("new", [2] * 40)):
        result(f"{side}-model", errors, WORDS).write(tmp_path / side / "eval_dev-real")
        result(f"{side}-model", errors, WORDS, dataset="synth").write(tmp_path / side / "eval_synth")
    assert len(load_results(tmp_path / "old")) == 2
    assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new"), "--resamples", "500"]) == 0
    printed = capsys.readouterr().out
    assert "500 resamples of 80 clips (dev-real, synth; 872 reference words)" in printed
    assert "WER 27.52% (240 errors)" in printed and "WER 18.35% (160 errors)" in printed
    assert "difference (candidate - baseline): -9.17 points" in printed
    assert "lower in 100.0% of resamples (equal in 0.0%)" in printed and "left out" not in printed
    result("new-model", [1] * 40, WORDS, dataset="synth-kokoro").write(tmp_path / "new" / "eval_synth-kokoro")
    assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new"), "--resamples", "500"]) == 0
    printed = capsys.readouterr().out
    assert "of 80 clips" in printed and "left out (on one side only): synth-kokoro" in printed


def test_results_on_different_clips_or_datasets_are_refused(tmp_path):
    with pytest.raises(ValueError, match="scored different clips"):
        compare([result("a", [1] * 40, WORDS)], [result("b", [1] * 39, WORDS[:39])])
    with pytest.raises(ValueError, match="share no dataset"):
        compare([result("a", [1] * 40, WORDS)], [result("b", [1] * 40, WORDS, dataset="synth")])
    with pytest.raises(SystemExit, match="no results.json there"):
        main(["compare", str(tmp_path), str(tmp_path)])
