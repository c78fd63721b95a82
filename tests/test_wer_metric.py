"""tiny-audio's WER through `evaluate.load(...)`: loaded by path, offline, with the same figures as `scoring.score`.

Every load here runs with HF_HUB_OFFLINE=1 and a socket guard: a metric loaded by path must never reach for the Hub
(the stock `evaluate.load("wer")` does, and fails offline). The end-to-end checks use a real system (pocketsphinx
on two Debian test clips), as tests/test_evaluation.py does.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

evaluate = pytest.importorskip("evaluate")

from tiny_audio.evaluation import WER_METRIC, WerResult, load_wer_metric  # noqa: E402
from tiny_audio.evaluation.scoring import score  # noqa: E402

CARDS = Path("/usr/share/pocketsphinx/test/data/cards")
INSTALL_HINT = r"pip install 'tiny-audio\[eval\]'"


@pytest.fixture
def offline(monkeypatch):
    """HF_HUB_OFFLINE=1, and any attempt to resolve a host name or open a connection fails the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def cards_manifest(tmp_path):
    """A headerless TSV manifest of two real spoken-card clips (needs Debian pocketsphinx-testdata)."""
    pytest.importorskip("pocketsphinx")
    if not (CARDS / "cards.transcription").is_file():
        pytest.skip("needs Debian pocketsphinx-testdata")
    manifest = tmp_path / "cards.tsv"
    manifest.write_text(f"{CARDS / '001.wav'}\tten of clubs\n{CARDS / '003.wav'}\tseven of clubs\n")
    return manifest


def test_evaluate_load_by_path_works_offline_fast_and_scores_like_score(offline):
    start = time.perf_counter()
    metric = evaluate.load(WER_METRIC)
    elapsed = time.perf_counter() - start
    assert elapsed < 5, f"loading took {elapsed:.1f}s: something is waiting on the network"
    assert isinstance(metric, evaluate.Metric)

    references, predictions = ["the cat sat on the mat"], ["The cat sat on a mat."]
    out = metric.compute(predictions=predictions, references=references)
    assert out["wer"] == pytest.approx(1 / 6)
    assert {key: out[key] for key in ("substitutions", "deletions", "insertions", "hits", "reference_words")} == {
        "substitutions": 1,
        "deletions": 0,
        "insertions": 0,
        "hits": 5,
        "reference_words": 6,
    }
    assert out == score(references, predictions).to_dict()

    # evaluate runs a copy of the script from its module cache; the copy imports the installed tiny_audio, so its
    # figures come from the one `score` there is.
    module = sys.modules[type(metric).__module__]
    assert module.__name__.startswith("evaluate_modules.metrics.wer_metric.")
    assert Path(module.__file__).read_text() == (Path(WER_METRIC) / "wer_metric.py").read_text()
    assert module.score is score

    # The script's own path loads the same metric, and so does the helper.
    by_file = evaluate.load(str(Path(WER_METRIC) / "wer_metric.py"), keep_in_memory=True)
    assert by_file.compute(predictions=predictions, references=references) == out
    assert load_wer_metric().compute(predictions=predictions, references=references) == out


def test_corpus_figures_over_batches_match_score_and_skip_empty_references(offline):
    references = ["the cat sat on the mat", "hello world", "good morning", ""]
    predictions = ["the cat sat on mat", "yellow", "good good morning", "noise words"]
    metric = load_wer_metric()
    metric.add_batch(predictions=predictions[:2], references=references[:2])
    metric.add_batch(predictions=predictions[2:], references=references[2:])
    out = metric.compute()
    assert WerResult(**out) == score(references, predictions)
    assert out["wer"] == pytest.approx(4 / 10)  # errors over all reference words, not a mean of sample WERs
    assert (out["skipped_empty"], out["samples"]) == (1, 3)


@pytest.mark.parametrize(
    ("reference", "prediction"),
    [
        ("Mr. Smith went home.", "mister smith went home"),
        ("I have ten apples", "I have 10 apples"),
        ("Hello, World!", "hello world"),
        ("the colour grey", "the color gray"),
    ],
)
def test_whisper_normaliser_makes_equivalent_writings_score_zero(offline, reference, prediction):
    out = load_wer_metric().compute(predictions=[prediction], references=[reference])
    assert out["wer"] == 0.0 and out["hits"] == out["reference_words"] > 0


def test_empty_prediction_is_all_deletions(offline):
    out = load_wer_metric().compute(predictions=["", ""], references=["hello there", "good morning to you"])
    assert (out["wer"], out["deletions"], out["hits"], out["substitutions"], out["insertions"]) == (1.0, 6, 0, 0, 0)
    assert out["reference_words"] == 6


def test_missing_evaluate_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "evaluate", None)  # `import evaluate` now raises ImportError
    with pytest.raises(ImportError, match=INSTALL_HINT):
        load_wer_metric()


def test_eval_runs_its_corpus_wer_through_the_metric(offline, cards_manifest, monkeypatch):
    from tiny_audio.evaluation import runner
    from tiny_audio.evaluation.datasets import resolve_dataset
    from tiny_audio.evaluation.loaders import iter_samples
    from tiny_audio.evaluation.systems import detect_system, load_system

    computed = []

    def spy():
        metric = load_wer_metric()
        compute = metric.compute

        def recorded(**kwargs):
            computed.append(compute(**kwargs))
            return computed[-1]

        metric.compute = recorded
        return metric

    monkeypatch.setattr(runner, "load_wer_metric", spy)
    source = resolve_dataset(str(cards_manifest))
    system = load_system(detect_system("pocketsphinx"))
    result = runner.run_evaluation(system, iter_samples(source), source, progress=False, write=lambda line: None)

    assert len(computed) == 1  # the run's corpus WER, once
    expected = score([row.reference for row in result.rows], [row.hypothesis for row in result.rows])
    assert computed[0] == expected.to_dict()
    assert (result.wer, result.substitutions, result.deletions, result.insertions, result.hits) == (
        expected.wer,
        expected.substitutions,
        expected.deletions,
        expected.insertions,
        expected.hits,
    )
    assert (result.reference_words, result.samples, result.skipped) == (6, 2, 0)


def test_eval_cli_without_evaluate_stops_with_one_line_naming_the_extra(cards_manifest, tmp_path, monkeypatch, capsys):
    from tiny_audio.cli import main

    monkeypatch.setitem(sys.modules, "evaluate", None)
    argv = ["eval", "pocketsphinx", "--dataset", str(cards_manifest), "--output-dir", str(tmp_path), "--no-progress"]
    code = main(argv)
    captured = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in captured.err and "Sample 1:" not in captured.out  # stopped before the first clip
    hints = [line for line in captured.err.splitlines() if "pip install 'tiny-audio[eval]'" in line]
    assert len(hints) == 1 and hints[0].startswith("error: ")
    assert not (tmp_path / "eval_cards_pocketsphinx").exists()
