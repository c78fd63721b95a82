"""One bad file never costs the others (issue 38): folders with broken files, a run killed and resumed, `eval` over a
dataset with a corrupt row. The small-size rows of benchmarks/reliability.py, with a tiny random model (its texts
are meaningless; what is checked is that every file gets exactly one outcome)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import tiny_backbones

from tiny_audio.app.batch import RESULTS_FILE, expand_inputs, read_results, transcribe_batch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import reliability  # noqa: E402  (benchmarks/reliability.py: the broken files, the worker, the kill-and-rerun)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A randomly initialised tiny-audio model saved like a trained one."""
    root = tmp_path_factory.mktemp("reliability_model")
    paths = tiny_backbones.save_all(root / "backbones")
    # A random decoder never stops on its own: 4 tokens a clip keep the tests fast.
    return tiny_backbones.save_model(root / "model", paths["whisper"], paths["qwen3"], generation={"max_new_tokens": 4})


@pytest.fixture(scope="module")
def asr(tiny_model_dir):
    from tiny_audio.app.transcribe import load_pipeline

    return load_pipeline(str(tiny_model_dir))


def write_tone(path: Path, seconds: float = 0.5, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, tiny_backbones.tone(seconds, 220 + 40 * (seed % 5), seed=seed), 16_000)
    return path


def make_folder(root: Path, good: int, broken: int) -> tuple[list[Path], list[Path]]:
    """`good` tones and `broken` of the benchmark's broken files, in two levels of folders."""
    good_paths = [write_tone(root / f"part-{index % 2}" / f"{index:03d}.wav", seed=index) for index in range(good)]
    bad_paths = []
    for index, (name, data) in enumerate(list(reliability.broken_files().items())[:broken]):
        path = root / f"part-{index % 2}" / "deeper" / f"{index:03d}-{name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        bad_paths.append(path)
    return good_paths, bad_paths


def test_a_folder_with_broken_files_transcribes_the_rest_and_names_each_failure(asr, tmp_path):
    good, bad = make_folder(tmp_path / "in", good=5, broken=10)
    (tmp_path / "in" / "._000.wav").write_bytes(b"macOS resource fork")  # hidden: not audio, left out
    (tmp_path / "in" / "notes.txt").write_text("not audio either")
    started, transcribed, failed = [], [], []
    report = transcribe_batch(
        asr,
        [tmp_path / "in"],
        output_dir=tmp_path / "out",
        batch_size=2,  # broken files sit between good ones: none of them may reach, or spoil, a batch
        on_result=lambda file, result: transcribed.append(file),
        on_failure=lambda file, reason: failed.append((file, reason)),
        on_start=started.append,
        progress=False,
    )
    assert transcribed == started == [str(path) for path in sorted(good)]  # sorted, recursive; no broken one started
    assert sorted(file for file, _ in failed) == sorted(str(path) for path in bad)
    assert all(reason and "\n" not in reason and "Accepted input" not in reason for _, reason in failed)
    reasons = dict(failed)
    assert "is empty (0 bytes)" in reasons[str(bad[1])] and "digital silence" in reasons[str(bad[4])]
    assert (report.transcribed, len(report.failed), report.already_done, report.ok) == (5, 10, 0, False)
    records = read_results(tmp_path / "out" / RESULTS_FILE)
    assert sorted(record["file"] for record in records) == sorted(str(path.resolve()) for path in good + bad)
    assert {record["stage"] for record in records if "error" in record} == {"decode"}
    assert all(isinstance(record["text"], str) and record["seconds"] == 0.5 for record in records if "text" in record)
    with pytest.raises(ValueError, match="holds no audio file"):
        expand_inputs([tmp_path / "out"])


def test_a_run_killed_at_a_random_point_resumes_and_writes_each_file_once(tiny_model_dir, tmp_path):
    good, bad = make_folder(tmp_path / "in", good=60, broken=3)
    kill_after = random.Random().randint(5, 30)
    results = tmp_path / "out" / RESULTS_FILE
    command = reliability.worker_command(tmp_path / "in", tmp_path / "out", str(tiny_model_dir), batch_size=2)
    run = reliability.run_killed_then_resumed(command, results, kill_after, timeout=300)
    assert run["first_returncode"] == -signal.SIGKILL, run["stderr"][-2000:]
    assert kill_after <= run["lines_at_kill"] < len(good) + len(bad)
    counts = reliability.tally(results, good, bad, run["stderr"])
    assert counts == {
        "transcribed": 60,
        "reported": 3,
        "recorded_failed": 3,
        "lost": 0,
        "wrong": 0,
        "twice": 0,
        "tracebacks": 0,
    }, f"killed after {kill_after}: {counts}"
    # Non-zero, with a count, only at the end.
    assert run["rerun_returncode"] == 1 and "error: 3 files failed" in run["stderr"]
    rerun_lines = [line for line in run["stdout"].splitlines() if "\t" in line]
    assert len(rerun_lines) >= 60  # every text printed (by one attempt or the other)


def test_a_line_cut_short_by_a_kill_is_dropped_and_its_file_redone(asr, tmp_path):
    first, second = write_tone(tmp_path / "a.wav"), write_tone(tmp_path / "b.wav", seed=1)
    results = tmp_path / "out" / RESULTS_FILE
    results.parent.mkdir()
    whole = json.dumps({"file": str(first.resolve()), "seconds": 0.5, "text": "earlier"}) + "\n"
    results.write_text(whole + '{"file": "' + str(second.resolve()) + '", "sec')  # killed in the middle of a write
    report = transcribe_batch(asr, [first, second], output_dir=results.parent, progress=False)
    assert (report.transcribed, report.already_done) == (1, 1)
    lines = results.read_text().splitlines()
    assert lines[0] == whole.strip() and len(lines) == 2
    assert json.loads(lines[1])["file"] == str(second.resolve())
    results.write_text(whole[:-1])  # killed after the last byte of a line but before its newline: done again
    assert transcribe_batch(asr, [first], output_dir=results.parent, progress=False).transcribed == 1
    assert len(read_results(results)) == 1
    results.write_text("not json\n" + whole)  # damaged by hand, not by a kill: nothing is thrown away
    with pytest.raises(ValueError, match="results.jsonl:1 is not a JSON line"):
        transcribe_batch(asr, [first], output_dir=results.parent, progress=False)


def test_retry_failed_tries_again_only_the_files_that_failed(asr, tmp_path):
    good = write_tone(tmp_path / "good.wav")
    late = tmp_path / "late.wav"
    late.write_bytes(b"")  # still being copied when the first run read it
    assert not transcribe_batch(asr, [good, late], output_dir=tmp_path / "out", progress=False).ok
    write_tone(late, seed=3)
    resumed = transcribe_batch(asr, [good, late], output_dir=tmp_path / "out", progress=False)
    assert (resumed.already_done, resumed.failed, resumed.ok) == (2, [], False)  # the earlier failure still counts
    assert resumed.failed_earlier == [(str(late), f"{late} is empty (0 bytes).")]
    report = transcribe_batch(asr, [good, late], output_dir=tmp_path / "out", retry_failed=True, progress=False)
    assert (report.transcribed, report.already_done, report.ok) == (1, 1, True)
    records = read_results(tmp_path / "out" / RESULTS_FILE)
    assert [("text" in record, Path(record["file"]).name) for record in records] == [
        (True, "good.wav"),
        (True, "late.wav"),
    ]


def test_a_bad_option_fails_before_any_file_is_read_or_recorded(asr, tmp_path):
    write_tone(tmp_path / "in" / "a.wav")
    with pytest.raises(ValueError, match="chunk_length_s"):
        transcribe_batch(asr, [tmp_path / "in"], output_dir=tmp_path / "out", chunk_length_s=0.1, progress=False)
    assert not (tmp_path / "out" / RESULTS_FILE).exists()


def test_the_pipeline_itself_keeps_transformers_behaviour_and_raises(asr, tmp_path):
    good = str(write_tone(tmp_path / "a.wav"))
    with pytest.raises(ValueError, match="Audio file not found"):
        list(asr([good, str(tmp_path / "missing.wav"), good], batch_size=2))


def test_eval_names_a_corrupt_row_scores_the_others_and_exits_non_zero(tiny_model_dir, tmp_path, capsys):
    from tiny_audio.cli import main
    from tiny_audio.evaluation.results import EvalResult

    for name in ("a", "c", "d"):
        write_tone(tmp_path / f"{name}.wav", seed=ord(name))
    (tmp_path / "b.wav").write_bytes(b"not audio")
    manifest = tmp_path / "set.tsv"
    manifest.write_text("a.wav\thello\nb.wav\thi there\nc.wav\tgood day\nmissing.wav\tyes\nd.wav\tyes\n")
    argv = ["eval", str(tiny_model_dir), "--dataset", str(manifest), "--output-dir", str(tmp_path / "outputs")]
    code = main([*argv, "--batch-size", "2", "--no-progress", "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED sample 2 (b): not decoded, not scored: " in captured.out  # named even with --quiet
    assert "FAILED sample 4 (missing): not decoded, not scored: " in captured.out
    assert "error: samples failed (2 in " in captured.err and "Traceback" not in captured.out + captured.err
    result = EvalResult.load(next((tmp_path / "outputs").glob("eval_set_*")))
    assert [row.id for row in result.rows] == ["a", "c", "d"] and [row.index for row in result.rows] == [1, 3, 5]
    assert [(failure["index"], failure["id"], failure["stage"]) for failure in result.failed] == [
        (2, "b", "decode"),
        (4, "missing", "decode"),
    ]
    assert result.samples == 3 and result.reference_words == 4  # hello, good day, yes: not the failed rows' words
    text = (next((tmp_path / "outputs").glob("eval_set_*")) / "results.txt").read_text()
    assert "2 failed: 2 not decoded (not scored)" in text and "FAILED sample 4 (missing)" in text


def test_results_of_schema_1_still_load_with_their_failures_listed():
    from tiny_audio.evaluation.results import EvalResult

    row = {"index": 1, "id": "x", "reference": "hi", "hypothesis": "", "audio_seconds": 1.0, "time": 0.1, "wer": 1.0}
    old = {
        "model": "m", "system": "tiny-audio", "dataset": "d", "dataset_id": "d", "config": None, "split": None,
        "samples": 1, "skipped": 0, "wer": 1.0, "substitutions": 0, "deletions": 1, "insertions": 0, "hits": 0,
        "reference_words": 1, "rtfx": None, "audio_seconds": 1.0, "timed_audio_seconds": 1.0,
        "timed_wall_seconds": 0.1, "avg_time_per_sample": 0.1, "date": "2025-01-01", "commit": None,
        "failed": 1, "schema_version": 1, "rows": [{**row, "error": "RuntimeError: out of memory"}],
    }  # fmt: skip
    result = EvalResult.from_dict(old)
    assert result.failed == [{"index": 1, "id": "x", "stage": "transcribe", "error": "RuntimeError: out of memory"}]
    assert "1 failed: 1 system errors (scored as empty output)" in result.to_text()


def test_silence_between_speech_is_not_decoded_in_a_long_recording(asr):
    """The long-recording benchmark leans on this: pieces of digital silence cost nothing."""
    calls = []
    generate = asr.model.generate
    asr.model.generate = lambda *args, **kwargs: calls.append(1) or generate(*args, **kwargs)
    try:
        recording = np.zeros(16_000 * 90, dtype=np.float32)  # 90 s: one clip at the end, silence before it
        recording[-16_000:] = tiny_backbones.tone(1.0)
        asr(recording)
    finally:
        del asr.model.generate
    assert len(calls) == 1


# -- `tiny-audio transcribe`: the same loop on the command line ----------------------------------------------------


def test_the_three_file_example_prints_both_texts_names_the_bad_file_and_exits_1(tmp_path):
    """The issue's example, with the embedded default model: `tiny-audio transcribe a.wav not-audio.wav c.wav`."""
    for name in ("a.wav", "c.wav"):
        (tmp_path / name).write_bytes((ROOT / "tiny_audio" / "samples" / "hello.wav").read_bytes())
    (tmp_path / "not-audio.wav").write_text("just some text\n")
    result = subprocess.run(
        [sys.executable, "-m", "tiny_audio.cli", "transcribe", "a.wav", "not-audio.wav", "c.wav"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["a.wav", "c.wav"]
    assert "this is a test" in lines[0].lower() and lines[0].split("\t")[1] == lines[1].split("\t")[1]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and errors[0].startswith("error: not-audio.wav: Cannot decode not-audio.wav as audio")
    assert "Format not recognised" in errors[0] and "BytesIO" not in errors[0]
    assert errors[1] == "error: 1 of 3 files failed" and "Traceback" not in result.stderr


def test_transcribe_takes_a_folder_resumes_into_its_output_dir_and_retries_failures(tiny_model_dir, tmp_path, capsys):
    from tiny_audio.cli import main

    good = [write_tone(tmp_path / "in" / name, seed=index) for index, name in enumerate(["a.wav", "b/b.wav"])]
    late = tmp_path / "in" / "c.wav"
    late.write_bytes(b"not audio yet")
    (tmp_path / "in" / "notes.txt").write_text("not looked at: not an audio suffix")
    out = tmp_path / "out"
    command = ["transcribe", str(tmp_path / "in"), "--model", str(tiny_model_dir), "--output-dir", str(out)]
    assert main(command) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [str(out / "a.txt"), str(out / "b.txt")]  # sorted; each written as it ends
    assert f"error: {late}: Cannot decode {late} as audio" in captured.err
    assert captured.err.splitlines()[-1] == "error: 1 of 3 files failed"
    assert len(read_results(out / RESULTS_FILE)) == 3
    write_tone(late, seed=5)
    assert main(command) == 1  # resumed: nothing redone, the earlier failure still counted
    captured = capsys.readouterr()
    assert captured.out == "" and "3 of 3 files already in" in captured.err
    assert "(in an earlier run; --retry-failed tries it again)" in captured.err
    assert main([*command, "--retry-failed"]) == 0
    assert capsys.readouterr().out.splitlines() == [str(out / "c.txt")]
    assert [Path(record["file"]).name for record in read_results(out / RESULTS_FILE)] == ["a.wav", "b.wav", "c.wav"]
    assert all((out / f"{path.stem}.txt").is_file() for path in [*good, late])  # a random model: texts may be empty
    # A missing file is one failed file; usage errors exit 2 before any model is loaded.
    assert main(["transcribe", str(good[0]), str(tmp_path / "missing.wav"), "--model", str(tiny_model_dir)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{good[0]}\t") and f"error: {tmp_path / 'missing.wav'}: Audio file not found" in (
        captured.err
    )
    (tmp_path / "empty").mkdir()
    assert main(["transcribe", str(tmp_path / "empty")]) == 2
    assert "holds no audio file" in capsys.readouterr().err
    assert main(["transcribe", str(good[0]), "--retry-failed"]) == 2
    assert "--retry-failed reads the failures" in capsys.readouterr().err


def test_a_partial_benchmark_run_updates_its_rows_and_keeps_the_others(tmp_path):
    page = tmp_path / "reliability.md"
    page.write_text("# Reliability\n\nProse before.\n", encoding="utf-8")
    reliability.write_table(page, ["| folder | 10 files | ✅ |", "| long | 60 s | ✅ |"], "Wall time: all.")
    reliability.write_table(page, ["| long | 50 s | ✅ |"], "Wall time: long.")  # as `--only long` writes it
    text = page.read_text(encoding="utf-8")
    assert list(reliability.table_rows(text).values()) == ["| folder | 10 files | ✅ |", "| long | 50 s | ✅ |"]
    assert "Wall time: long." in text and "Wall time: all." not in text
