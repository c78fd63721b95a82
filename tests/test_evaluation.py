"""tiny_audio.evaluation: scoring, dataset registry, local loading, results files, leaderboard, `eval` end to end.

Fast and offline: Hub datasets are only resolved (a socket guard proves nothing is downloaded), local datasets are
written in tmp with soundfile, and the end-to-end runs use real systems (pocketsphinx and a tiny random tiny-audio
model saved to disk), never fakes.
"""

from __future__ import annotations

import io
import json
import math
import runpy
import socket
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from tiny_audio.evaluation import hub
from tiny_audio.evaluation.datasets import DATASETS, ESB, resolve_dataset
from tiny_audio.evaluation.leaderboard import leaderboard_rows, render_markdown
from tiny_audio.evaluation.loaders import ReplayableSamples, count_samples, iter_samples
from tiny_audio.evaluation.results import EvalResult, SampleRow, output_dir, sanitize
from tiny_audio.evaluation.scoring import WerResult, count_words, normalize, sample_wer, score
from tiny_audio.evaluation.systems import detect_system

CARDS = Path("/usr/share/pocketsphinx/test/data/cards")


# ---------------------------------------------------------------------------------------------------------------
# fixtures


def _wav_bytes(seconds: float, rate: int, frequency: float = 220.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def parquet_dataset(tmp_path):
    """A Hub-layout parquet dataset (data/test-00000-of-00001.parquet) with audio at 8 and 16 kHz."""
    rows = {
        "audio": [
            {"bytes": _wav_bytes(0.5, 16_000), "path": "a.wav"},
            {"bytes": _wav_bytes(0.25, 8_000), "path": "b.wav"},
            {"bytes": _wav_bytes(0.4, 16_000), "path": "c.wav"},
        ],
        "sentence": ["Hello there.", "Mr. Smith", ""],
        "segment_id": ["s1", "s2", "s3"],
        "speaker": ["flite/slt", "flite/slt", "espeak-ng/en-us"],
    }
    (tmp_path / "ds" / "data").mkdir(parents=True)
    pq.write_table(pa.table(rows), tmp_path / "ds" / "data" / "test-00000-of-00001.parquet")
    return tmp_path / "ds"


@pytest.fixture
def cards_manifest(tmp_path):
    """A headerless TSV manifest of two real spoken-card clips (needs Debian pocketsphinx-testdata)."""
    if not (CARDS / "cards.transcription").is_file():
        pytest.skip("needs Debian pocketsphinx-testdata")
    manifest = tmp_path / "cards.tsv"
    manifest.write_text(f"{CARDS / '001.wav'}\tten of clubs\n{CARDS / '003.wav'}\tseven of clubs\n")
    return manifest


# ---------------------------------------------------------------------------------------------------------------
# scoring


def test_corpus_wer_counts_errors_over_all_reference_words_not_a_mean_of_sample_wers():
    references = ["the cat sat on the mat", "hello world", "good morning", ""]
    hypotheses = ["the cat sat on mat", "yellow", "good good morning", "noise words"]
    result = score(references, hypotheses)
    # By hand: 1 deletion ("the"); "hello"->"yellow" (S) + "world" deleted (D); one inserted "good" (I).
    assert result == WerResult(
        wer=4 / 10, substitutions=1, deletions=2, insertions=1, hits=7, reference_words=10, skipped_empty=1, samples=3
    )
    per_sample = [sample_wer(r, h) for r, h in zip(references[:3], hypotheses[:3], strict=True)]
    assert per_sample == pytest.approx([1 / 6, 1.0, 1 / 2])
    assert np.mean(per_sample) == pytest.approx(0.5556, abs=1e-4)  # the mean would overweight the 2-word clip
    assert result.wer != pytest.approx(np.mean(per_sample))


def test_scoring_edge_cases():
    assert sample_wer("", "") == 0.0 and math.isinf(sample_wer("", "something"))
    assert score([""], ["x"]) == WerResult(0.0, 0, 0, 0, 0, 0, skipped_empty=1, samples=0)
    assert score(["a b"], [None]).deletions == 2  # a system that returned nothing
    with pytest.raises(ValueError, match="2 references and 1 hypotheses"):
        score(["a", "b"], ["a"])
    assert count_words("Hello, world!") == 2 and count_words("  ") == 0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mr. Smith went home.", "mister smith went home"),
        ("I have ten apples", "I have 10 apples"),
        ("Hello, World!", "hello world"),
        ("WHAT'S UP?", "what's up"),
        ("colour", "color"),  # British spellings map to American
    ],
)
def test_normaliser_makes_equivalent_writings_equal(a, b):
    assert normalize(a) == normalize(b)
    assert sample_wer(a, b) == 0.0


def test_normaliser_output_is_plain_lower_case_words():
    assert normalize("Mr. Smith, hello!") == "mister smith hello"
    assert normalize(None) == ""


# ---------------------------------------------------------------------------------------------------------------
# datasets


def test_hub_names_resolve_to_ids_configs_and_splits_without_downloading(no_network):
    loquacious = resolve_dataset("loquacious", split="test", config="medium")
    assert (loquacious.kind, loquacious.location, loquacious.config, loquacious.split) == (
        "hub",
        "speechbrain/LoquaciousSet",
        "medium",
        "test",
    )
    assert (loquacious.audio_column, loquacious.text_column) == ("wav", "text")
    other = resolve_dataset("LibriSpeech-Other", split="test")
    assert (other.location, other.config, other.split) == (ESB, "librispeech", "test.other")
    assert resolve_dataset("librispeech").split == "test.clean"
    assert resolve_dataset("earnings22").config == "earnings22"
    assert resolve_dataset("loquacious").config == "small"
    generic = resolve_dataset("someone/their-set", split="validation")
    assert (generic.kind, generic.location, generic.split) == ("hub", "someone/their-set", "validation")
    assert {"ami", "tedlium", "gigaspeech", "spgispeech", "voxpopuli", "common-voice"} <= set(DATASETS)


def test_unknown_names_and_options_say_what_is_accepted():
    with pytest.raises(ValueError, match="(?s)unknown dataset 'librispeak'.*loquacious.*librispeech-clean"):
        resolve_dataset("librispeak")
    with pytest.raises(ValueError, match="no config 'huge'; accepted: small, medium, large, clean"):
        resolve_dataset("loquacious", config="huge")
    with pytest.raises(ValueError, match="no split 'train'; accepted: test"):
        resolve_dataset("ami", split="train")


def test_local_parquet_streams_decoded_16khz_samples(parquet_dataset):
    source = resolve_dataset(str(parquet_dataset))
    assert (source.kind, source.name, source.split) == ("corpus", "ds", "test")  # the layout data synth writes
    shard = resolve_dataset(str(next((parquet_dataset / "data").glob("*.parquet"))), split="test")
    assert (shard.kind, shard.split) == ("parquet", None)  # a single file has no splits; --split is ignored
    assert [s.id for s in iter_samples(shard)] == [s.id for s in iter_samples(source)]
    samples = list(iter_samples(source, streaming=True))
    assert [s.id for s in samples] == ["s1", "s2", "s3"]
    assert [s.text for s in samples] == ["Hello there.", "Mr. Smith", ""]
    assert [s.speaker for s in samples] == ["flite/slt", "flite/slt", "espeak-ng/en-us"]
    assert samples[1].seconds == pytest.approx(0.25, abs=0.01)  # resampled from 8 kHz
    assert all(s.audio.dtype == np.float32 for s in samples)
    assert [s.id for s in iter_samples(source, max_samples=2)] == ["s1", "s2"]
    assert count_samples(source) == 3
    with pytest.raises(FileNotFoundError, match="no 'train' shards .* splits present: \\['test'\\]"):
        list(iter_samples(resolve_dataset(str(parquet_dataset), split="train")))


def test_manifest_and_audiofolder_are_read_relative_to_their_folder(tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "one.wav").write_bytes(_wav_bytes(0.3, 16_000))
    (tmp_path / "clips" / "two.flac").write_bytes(_wav_bytes(0.2, 16_000))
    # headerless TSV
    tsv = tmp_path / "list.tsv"
    tsv.write_text("clips/one.wav\tfirst clip\nclips/two.flac\tsecond clip\n")
    assert [(s.id, s.text) for s in iter_samples(resolve_dataset(str(tsv)))] == [
        ("one", "first clip"),
        ("two", "second clip"),
    ]
    # CSV with a header, other column names
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("audio_filepath,transcript\nclips/two.flac,the second\n")
    assert [s.text for s in iter_samples(resolve_dataset(str(csv_file)))] == ["the second"]
    # audiofolder: metadata.csv next to the audio
    (tmp_path / "clips" / "metadata.csv").write_text("file_name,transcription\none.wav,hello\ntwo.flac,bye\n")
    folder = resolve_dataset(str(tmp_path / "clips"), split="test")  # no split folders: any split reads them
    assert folder.kind == "audiofolder"
    assert [s.text for s in iter_samples(folder)] == ["hello", "bye"]
    (tmp_path / "clips" / "metadata.csv").write_text("file_name,text\none.wav,\n")  # empty reference
    assert [(s.id, s.text) for s in iter_samples(folder)] == [("one", "")]


def test_dev_real_streams_and_is_replayed_for_a_second_model():
    if not (CARDS / "cards.transcription").is_file():
        pytest.skip("needs Debian pocketsphinx-testdata")
    opened = []

    def open_samples():
        opened.append(1)
        return iter_samples(resolve_dataset("dev-real"), max_samples=3)

    replay = ReplayableSamples(open_samples)
    first, second = [s.id for s in replay], [s.id for s in replay]
    assert first == second and len(first) == 3 and len(opened) == 1


# ---------------------------------------------------------------------------------------------------------------
# results and leaderboard


def _result(model: str, wer: float, dataset: str = "dev-real", date: str = "2025-01-02T00:00:00+00:00") -> EvalResult:
    rows = [SampleRow(1, "a", "ref words", "ref word", 1.5, 0.1, 0.5, 1, 2)]
    return EvalResult(
        model=model,
        system="whisper",
        dataset=dataset,
        dataset_id=dataset,
        config=None,
        split=None,
        samples=1,
        skipped=0,
        wer=wer,
        substitutions=1,
        deletions=0,
        insertions=0,
        hits=1,
        reference_words=2,
        rtfx=12.5,
        audio_seconds=1.5,
        timed_audio_seconds=1.5,
        timed_wall_seconds=0.12,
        avg_time_per_sample=0.1,
        date=date,
        commit="0123456789abcdef",
        rows=rows,
    )


def test_output_directory_names_follow_the_course():
    assert output_dir("outputs", "loquacious", "mazesmazes/tiny-audio") == Path(
        "outputs/eval_loquacious_mazesmazes_tiny-audio"
    )
    assert sanitize("/tmp/runs/final model/") == "tmp_runs_final_model"
    assert output_dir("o", "corpus", "m", split="validation").name == "eval_corpus-validation_m"


def test_results_round_trip_into_the_leaderboard_table_and_chart(tmp_path, capsys):
    from tiny_audio.cli import main

    good, bad = _result("openai/whisper-tiny.en", 0.056), _result("pocketsphinx", 0.28)
    for result in (good, bad):
        result.write(output_dir(tmp_path, result.dataset, result.model))
    old = _result("openai/whisper-tiny.en", 0.30, date="2024-01-01T00:00:00+00:00")  # superseded run
    old.write(tmp_path / "older" / "eval_dev-real_whisper")
    assert EvalResult.load(output_dir(tmp_path, "dev-real", "pocketsphinx")) == bad

    rows = leaderboard_rows([tmp_path])
    assert [(r.rank, r.model, r.wer) for r in rows] == [(1, "openai/whisper-tiny.en", 0.056), (2, "pocketsphinx", 0.28)]
    assert [r.model for r in leaderboard_rows([tmp_path], model="pocketsphinx")] == ["pocketsphinx"]
    assert "| 1 | openai/whisper-tiny.en | dev-real | 5.60% | 12.5 | 1 |" in render_markdown(rows)

    assert main(["leaderboard", str(tmp_path)]) == 0
    assert "5.60%" in capsys.readouterr().out
    assert "| 2 | pocketsphinx | dev-real | 28.00%" in (tmp_path / "leaderboard.md").read_text()
    pytest.importorskip("matplotlib")  # charts are optional; the table above is not
    png = tmp_path / "leaderboard_dev-real.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_smaller_newer_eval_does_not_replace_a_larger_one_on_the_leaderboard(tmp_path):
    full = _result("me/tiny-audio", 0.10, date="2025-01-01T00:00:00+00:00")
    full.samples = 10
    smoke = _result("me/tiny-audio", 0.0, date="2025-01-02T00:00:00+00:00")  # --max-samples 2, a day later
    smoke.samples = 2
    full.write(tmp_path / "full")
    smoke.write(tmp_path / "smoke")
    warnings: list[str] = []
    rows = leaderboard_rows([tmp_path], warn=warnings.append)
    assert [(row.wer, row.samples) for row in rows] == [(0.10, 10)]
    assert len(warnings) == 1 and "newer run over 2 samples" in warnings[0] and "over 10 samples" in warnings[0]
    rerun = _result("me/tiny-audio", 0.08, date="2025-01-03T00:00:00+00:00")  # the full set again: it replaces
    rerun.samples = 10
    rerun.write(tmp_path / "rerun")
    assert [(row.wer, row.samples) for row in leaderboard_rows([tmp_path], warn=warnings.append)] == [(0.08, 10)]


def test_results_txt_names_no_unknown_commit():
    local = _result("runs/default/model", 0.1)
    local.commit = None  # a model directory that is not a repository of its own
    assert "Commit" not in local.to_text() and "unknown" not in local.to_text()
    assert "Commit: 0123456789abcdef" in _result("openai/whisper-tiny.en", 0.1).to_text()
    packaged = _result("pocketsphinx", 0.3)
    packaged.commit, packaged.model_version = None, "5.0.4"
    assert "Version: 5.0.4" in packaged.to_text()


# ---------------------------------------------------------------------------------------------------------------
# systems and end to end


def test_speaker_table_ranks_speakers_by_errors_and_is_absent_without_speakers():
    from tiny_audio.evaluation.results import SampleRow

    def row(index: int, speaker: str | None, errors: int, words: int) -> SampleRow:
        return SampleRow(index, f"c{index}", "ref", "hyp", 1.0, 0.1, errors / words, errors, words, speaker=speaker)

    base = dict(model="m", system="tiny-audio", dataset="d", dataset_id="d", config=None, split="test", samples=3,
                skipped=0, wer=0.1, substitutions=4, deletions=0, insertions=0, hits=36, reference_words=40,
                rtfx=1.0, audio_seconds=3.0, timed_audio_seconds=3.0, timed_wall_seconds=3.0,
                avg_time_per_sample=1.0, date="2026-12-02T00:00:00+00:00", commit=None)  # fmt: skip
    result = EvalResult(**base, rows=[row(1, "x", 1, 10), row(2, "y", 3, 20), row(3, "x", 0, 10)])
    assert result.by_speaker() == [("y", 1, 3, 20), ("x", 2, 1, 20)]
    assert "| y | 1 | 3 | 20 | 15.0% |" in result.to_text()
    old = result.to_dict()
    for entry in old["rows"]:
        del entry["speaker"]  # a results.json written before speakers were recorded
    assert EvalResult.from_dict(old).by_speaker() == [] and "WER by speaker" not in EvalResult.from_dict(old).to_text()


def test_systems_are_told_apart_by_config_not_by_name(tmp_path):
    assert detect_system("pocketsphinx").kind == "pocketsphinx"
    assert (detect_system("whisper:openai/whisper-tiny.en").model) == "openai/whisper-tiny.en"
    fine_tuned = tmp_path / "my-asr"
    fine_tuned.mkdir()
    (fine_tuned / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    assert detect_system(str(fine_tuned)).kind == "whisper"
    (fine_tuned / "config.json").write_text(json.dumps({"model_type": "tiny_audio"}))
    assert detect_system(str(fine_tuned)).kind == "tiny-audio"
    with pytest.raises(FileNotFoundError, match="no model directory 'nowhere'"):
        detect_system("nowhere")


def test_unreachable_hub_switches_to_offline_mode_quickly(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", huggingface_hub.constants.HF_HUB_OFFLINE)
    if "datasets.config" in sys.modules:
        monkeypatch.setattr(
            sys.modules["datasets.config"], "HF_HUB_OFFLINE", sys.modules["datasets.config"].HF_HUB_OFFLINE
        )
        monkeypatch.setattr(
            sys.modules["datasets.config"], "HF_DATASETS_OFFLINE", sys.modules["datasets.config"].HF_DATASETS_OFFLINE
        )
    monkeypatch.setattr(hub, "_checked", False)
    messages = []
    assert hub.ensure_hub_or_offline("test", timeout=1.0, log=messages.append) is False
    assert hub.is_offline() and huggingface_hub.constants.HF_HUB_OFFLINE is True
    assert "unreachable" in messages[0]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A randomly initialised tiny-audio model saved like a trained one (its WER is meaningless)."""
    import tiny_backbones

    root = tmp_path_factory.mktemp("eval_model")
    paths = tiny_backbones.save_all(root / "backbones")
    # A random decoder never stops on its own: 8 tokens a clip.
    return tiny_backbones.save_model(root / "model", paths["whisper"], paths["qwen3"], generation={"max_new_tokens": 8})


def test_eval_runs_two_real_systems_on_a_local_dataset_and_writes_results(
    tiny_model_dir, cards_manifest, tmp_path, capsys
):
    pytest.importorskip("pocketsphinx")
    from tiny_audio.cli import main

    out = tmp_path / "outputs"
    argv = ["eval", "pocketsphinx", str(tiny_model_dir), "--dataset", str(cards_manifest)]
    code = main([*argv, "--output-dir", str(out), "--batch-size", "2", "--checkpoint-every", "1", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Sample 1: WER = " in printed and "  Ref:  ten of clubs" in printed and "  Pred: " in printed
    assert "CHECKPOINT @ 2 samples:\n  Corpus WER: " in printed and "  Avg Time/Sample: " in printed
    assert "| model | system | corpus WER |" in printed  # the side-by-side table

    sphinx = json.loads((out / "eval_cards_pocketsphinx" / "results.json").read_text())
    assert (sphinx["dataset"], sphinx["samples"], sphinx["skipped"], sphinx["system"]) == (
        "cards",
        2,
        0,
        "pocketsphinx",
    )
    assert sphinx["wer"] < 0.5  # pocketsphinx knows these words
    assert {"substitutions", "deletions", "insertions", "rtfx", "audio_seconds", "date", "commit"} <= set(sphinx)
    assert [row["id"] for row in sphinx["rows"]] == ["001", "003"]
    ours = EvalResult.load(output_dir(out, "cards", str(tiny_model_dir)))
    assert (ours.system, ours.samples, len(ours.rows)) == ("tiny-audio", 2, 2)
    assert ours.rtfx is not None and ours.rtfx > 0 and not ours.warmup_excluded  # one batch of 2: nothing to exclude
    assert "Corpus WER:" in (output_dir(out, "cards", str(tiny_model_dir)) / "results.txt").read_text()
    assert (out / "eval_cards_comparison.md").is_file()


def test_course_script_spelling_still_works(cards_manifest, tmp_path, monkeypatch, capsys):
    pytest.importorskip("pocketsphinx")
    script = Path(__file__).resolve().parents[1] / "scripts" / "eval.py"
    argv = [str(script), "pocketsphinx", "--dataset", str(cards_manifest), "--max-samples", "1", "--split", "test"]
    monkeypatch.setattr(sys, "argv", [*argv, "--output-dir", str(tmp_path), "--no-progress"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name="__main__")
    assert exit_info.value.code == 0
    assert "CHECKPOINT @ 1 samples:" in capsys.readouterr().out
    assert (tmp_path / "eval_cards_pocketsphinx" / "results.json").is_file()


def _tone(seconds: float, frequency: float = 330.0) -> np.ndarray:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def test_runner_skips_empty_references_and_keeps_going_past_a_clip_the_system_rejects(tiny_model_dir):
    from tiny_audio.evaluation.loaders import EvalSample
    from tiny_audio.evaluation.runner import run_evaluation
    from tiny_audio.evaluation.systems import load_system

    system = load_system(str(tiny_model_dir))
    assert system.kind == "tiny-audio"
    samples = [
        EvalSample("noise", "", _tone(0.5), speaker="b"),  # empty reference: printed, not scored
        EvalSample("ok", "hello there", _tone(0.6), speaker="a"),
        EvalSample("silent", "hello", np.zeros(8000, dtype=np.float32), speaker="b"),  # the pipeline refuses silence
        EvalSample("ok2", "hi", _tone(0.4), speaker="a"),
    ]
    lines: list[str] = []
    source = resolve_dataset("dev-real")
    result = run_evaluation(system, samples, source, batch_size=2, progress=False, write=lines.append)
    assert "Sample 1: WER = n/a (empty reference, skipped), Time = " in lines[0]
    assert (result.samples, result.skipped, len(result.failed), result.reference_words) == (3, 1, 1, 4)
    silent = result.rows[2]
    assert "silence" in silent.error and silent.hypothesis == "" and silent.wer == 1.0
    speakers = {name: (clips, words) for name, clips, _, words in result.by_speaker()}
    assert speakers == {"a": (2, 3), "b": (1, 1)}  # the skipped clip counts for nobody
    assert "| speaker | clips | errors | words | WER |" in result.to_text()
    assert result.warmup_excluded and result.timed_audio_seconds == pytest.approx(0.9)  # batch 2 only
    assert lines[-4] == "CHECKPOINT @ 4 samples:"
