"""benchmarks/context_biasing.py: its scoring on hand-made strings, its fixed sentences, and a three-clip set spoken by
one espeak-ng voice and measured with a tiny random model (its texts are noise; the table and the JSON are checked)."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest
import tiny_backbones

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import context_biasing  # noqa: E402  (benchmarks/context_biasing.py)

REFERENCE = "Please ask Doctor Okonkwo-Ferris about the Zentrix pump."
SPOKEN = ["Okonkwo-Ferris", "Zentrix"]
DISTRACTORS = ["Valdoria", "Tesselmark", "Halvorsen-Mbeki"]


def test_a_spoken_term_found_is_recalled_and_a_listed_unspoken_one_is_an_insertion():
    hypothesis = "Please ask doctor Okonkwo Ferris about the Valdoria pump."
    score = context_biasing.score_clip(REFERENCE, SPOKEN, DISTRACTORS, hypothesis)
    assert score["recalled"] == ["Okonkwo-Ferris"]  # hyphen or space: the same words once normalised
    assert score["inserted"] == ["Valdoria"]
    # The other words: please ask doctor about the pump (6); "Valdoria" took Zentrix's place: the term's error.
    assert (score["other_errors"], score["other_words"]) == (0, 6)


def test_a_term_counts_only_as_whole_words_in_order():
    assert context_biasing.found(["Zentrix", "Halvorsen-Mbeki"], "the zentrixes of mbeki halvorsen") == []
    assert context_biasing.found(["Halvorsen-Mbeki"], "Mister HALVORSEN-MBEKI, hello") == ["Halvorsen-Mbeki"]


def test_the_other_words_errors_leave_out_the_terms_and_what_is_heard_beside_them():
    terms = ["Zentrix"]
    assert context_biasing.other_words("fix the Zentrix pump", "fix the zen tricks pump", terms) == (0, 3)
    assert context_biasing.other_words("fix the Zentrix pump", "fix a Zentrix", terms) == (2, 3)  # the -> a, pump lost
    assert context_biasing.other_words("fix the Zentrix pump", "fix the Zentrix pump now", terms) == (1, 3)
    assert context_biasing.other_words("fix the Zentrix pump", "", terms) == (3, 3)
    assert context_biasing.other_words("fix the pump", "fix a pump", []) == (1, 3)


def test_the_summary_counts_recall_insertions_and_the_other_words():
    scores = [
        context_biasing.score_clip(REFERENCE, SPOKEN, DISTRACTORS, "Please ask doctor Okonkwo Ferris about Zentrix."),
        context_biasing.score_clip(
            "The Valdoria office opens.", ["Valdoria"], ["Zentrix"], "The office opens Zentrix."
        ),
    ]
    summary = context_biasing.summarise(scores, spoken_terms=3)
    assert (summary["recalled"], summary["recall"]) == (2, pytest.approx(2 / 3))
    assert (summary["clips_with_insertion"], summary["insertion_rate"]) == (1, 0.5)
    # Clip 1: "the" and "pump" lost (2 of 6); clip 2: "zentrix" inserted after "opens" (1 of 3).
    assert (summary["other_errors"], summary["other_words"]) == (3, 9)


def test_every_term_is_said_in_its_own_sentence_only_and_fits_a_context():
    from tiny_audio.model.context_words import check_context

    sentences = context_biasing.SENTENCES
    assert 55 <= len(sentences) <= 65
    terms = [term for _, found in sentences for term in found]
    assert list(check_context(terms)) == terms  # no commas, no repeats
    for index, (text, found) in enumerate(sentences):
        said = context_biasing.words(text)
        for term in found:
            assert context_biasing._spans(said, context_biasing.words(term)), (text, term)
        others = [term for other, (_, found) in enumerate(sentences) if other != index for term in found]
        assert not context_biasing.found(others, text), text


@pytest.fixture(scope="module")
def tiny_model_dir(backbone_paths, tmp_path_factory):
    model, processor = tiny_backbones.build_model(
        backbone_paths["whisper"], backbone_paths["llama"], generation={"max_new_tokens": 8}
    )
    directory = tmp_path_factory.mktemp("context_biasing") / "model"
    model.float().save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng speaks the test clips")
def test_build_then_measure_three_clips(tiny_model_dir, tmp_path, capsys):
    folder = tmp_path / "set"
    context_biasing.main(
        ["build", "--folder", str(folder), "--engine", "espeak-ng", "--voices", "1", "--max-sentences", "3"]
    )
    with (folder / context_biasing.MANIFEST).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [row["text"] for row in rows] == [text for text, _ in context_biasing.SENTENCES[:3]]
    listed = [term for _, terms in context_biasing.SENTENCES[:3] for term in terms]
    for row, (_, terms) in zip(rows, context_biasing.SENTENCES, strict=False):
        context = row["context"].split(", ")
        assert row["spoken_terms"].split(", ") == list(terms) and set(terms) <= set(context)
        distractors = [term for term in context if term not in terms]  # the other sentences' terms, up to 3
        assert set(distractors) <= set(listed) and len(distractors) == min(3, len(listed) - len(terms))
        assert (folder / row["file"]).is_file()
    plain = (folder / context_biasing.PLAIN_MANIFEST).read_text(encoding="utf-8").splitlines()
    assert plain[0].split("\t")[:2] == ["file", "text"] and "context" not in plain[0] and len(plain) == 4
    capsys.readouterr()

    context_biasing.main(["measure", "--folder", str(folder), "--model", str(tiny_model_dir)])
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if line.startswith("|")]
    assert len(lines) == 3 and lines[0].count("|") == lines[2].count("|") == 10
    assert lines[2].startswith(f"| {tiny_model_dir} | 3 |")
    report = json.loads((folder / context_biasing.RESULTS).read_text(encoding="utf-8"))
    assert report["decoding"] == context_biasing.DECODINGS["greedy"] and report["table"] == "\n".join(lines)
    (result,) = report["models"]
    spoken = sum(len(terms) for _, terms in context_biasing.SENTENCES[:3])
    for condition in ("without", "with"):
        summary = result[condition]
        assert summary["spoken_terms"] == spoken and summary["clips"] == 3
        assert summary["recalled"] == sum(len(clip[condition]["recalled"]) for clip in result["clips"])
        assert summary["clips_with_insertion"] == sum(bool(clip[condition]["inserted"]) for clip in result["clips"])
    low, high = result["other_wer_interval"]
    assert low <= high and isinstance(result["other_wer_difference"], float)
    assert [clip["text"] for clip in result["clips"]] == [row["text"] for row in rows]

    # `--decoding model`: no options passed, so the model decodes as its config says (the report says so).
    context_biasing.main(["measure", "--folder", str(folder), "--model", str(tiny_model_dir), "--decoding", "model"])
    report = json.loads((folder / context_biasing.RESULTS).read_text(encoding="utf-8"))
    assert report["decoding"].startswith("each model's own") and len(report["models"][0]["clips"]) == 3
