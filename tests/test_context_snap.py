"""Context snapping (tiny_audio/model/context_snap.py, issue 46): a listed entry replaces a near spelling of it in the
transcript only where the audio's CTC score allows, and nothing changes without a context."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import tiny_backbones
import torch

from tiny_audio.model import context_snap, pipeline_asr
from tiny_audio.model.context_snap import ctc_log_likelihood, letter_similarity, snap_to_context
from tiny_audio.model.pipeline_asr import ASRPipeline

ROOT = Path(__file__).resolve().parents[1]
GREEDY = {"num_beams": 1, "ctc_decoding_weight": 0.0, "frequency_warps": [1.0]}


def scorer_liking(*spellings: str, per_word: float = 0.0):
    """A stand-in for the audio's score: 10 nats for each liked spelling in the text, `per_word` for each word.
    Records every text it scores."""
    seen: list[str] = []

    def log_likelihood(text: str) -> float:
        seen.append(text)
        return 10.0 * sum(spelling in text for spelling in spellings) + per_word * len(text.split())

    log_likelihood.seen = seen
    return log_likelihood


def test_letter_similarity_compares_letters_only():
    assert letter_similarity("Zentrix", "zentrix!") == 1.0
    assert letter_similarity("centrix", "Zentrix") == pytest.approx(1 - 1 / 7)
    assert letter_similarity("call Veto", "Calvetto") == pytest.approx(1 - 2 / 8)
    assert letter_similarity("", "abc") == 0.0 and letter_similarity("...", "") == 1.0


def test_a_near_spelling_snaps_to_the_entry_when_the_audio_allows_it():
    text = "Please ask about the centrix pump."
    assert snap_to_context(text, ["Zentrix"], scorer_liking("Zentrix")) == "Please ask about the Zentrix pump."
    assert snap_to_context("Try the centrix.", ["Zentrix"], scorer_liking("Zentrix")) == "Try the Zentrix."


def test_the_audio_decides_a_loss_beyond_the_bound_keeps_the_text():
    text = "Please ask about the centrix pump."

    # The entry costs 8 nats against the text as written: more than a bound of 6 allows, less than 10.
    def costly(candidate: str) -> float:
        return -8.0 * ("Zentrix" in candidate)

    assert snap_to_context(text, ["Zentrix"], costly, max_loss=6.0) == text
    assert snap_to_context(text, ["Zentrix"], costly, max_loss=10.0) == "Please ask about the Zentrix pump."


def test_spans_of_one_word_more_or_less_than_the_entry():
    assert snap_to_context("Top off the call Veto firmware", ["Calvetto"], scorer_liking("Calvetto")) == (
        "Top off the Calvetto firmware"
    )
    assert snap_to_context("we use tiny odio here", ["Tiny Audio"], scorer_liking("Tiny Audio")) == (
        "we use Tiny Audio here"
    )


def test_written_entries_plurals_short_entries_and_far_spellings_are_left_alone():
    liking_all = scorer_liking("Morvaine", "Zentrix", "Abcd", "Quorvex")
    # Torvane is listed and written: it stays, though Morvaine (listed too) spells like it and scores better.
    assert snap_to_context("The Torvane app", ["Torvane", "Morvaine"], liking_all) == "The Torvane app"
    assert snap_to_context("two Zentrixes", ["Zentrix"], liking_all) == "two Zentrixes"  # a plural keeps its ending
    assert snap_to_context("the abcx key", ["Abcd"], liking_all) == "the abcx key"  # under five letters
    assert snap_to_context("the data to Korax", ["Quorvex"], liking_all) == "the data to Korax"  # 3 of 7 letters


def test_a_span_of_words_the_decoder_knows_stays():
    liking = scorer_liking("caller ID", "Calvetto")
    common = {"called", "a", "pound", "key", "the", "call", "app"}.__contains__
    assert snap_to_context("called a pound key", ["caller ID"], liking) == "caller ID a pound key"
    assert snap_to_context("called a pound key", ["caller ID"], liking, lambda w: common(w.lower())) == (
        "called a pound key"
    )
    # One word it had to spell is enough for a span to be a candidate.
    assert snap_to_context("the call Vetto app", ["Calvetto"], liking, lambda w: common(w.lower())) == (
        "the Calvetto app"
    )


def test_the_decoder_knows_common_words_as_one_token_and_spells_names():
    from transformers import PreTrainedTokenizerFast

    # The embedded model's decoder tokenizer (SmolLM2), shipped in the repository.
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(ROOT / "tiny_audio" / "default_model" / "tokenizer.json"))
    assert all(context_snap.decoder_knows(tokenizer, word) for word in ("called", "Saturday.", "passengers,", "THE"))
    assert not any(context_snap.decoder_knows(tokenizer, word) for word in ("centrix", "Tiarndel", "Sebarey."))


def test_no_entries_change_nothing_and_score_nothing():
    log_likelihood = scorer_liking("x")
    assert snap_to_context("the centrix pump", [], log_likelihood) == "the centrix pump"
    assert log_likelihood.seen == []


def test_two_entries_snap_in_one_text_each_once():
    text = "Doctor Okonkwo Feris about the centrix pump and the centrix valve"
    snapped = snap_to_context(text, ["Okonkwo-Ferris", "Zentrix"], scorer_liking("Okonkwo-Ferris", "Zentrix"))
    assert snapped.startswith("Doctor Okonkwo-Ferris about the ")
    assert snapped.count("Zentrix") == 1 and snapped.count("centrix") == 1


def test_ctc_log_likelihood_sums_every_path_of_the_text():
    torch.manual_seed(0)
    log_probs = torch.randn(4, 3).log_softmax(-1)  # 4 frames; blank and tokens 0 and 1
    # Brute force: every frame labelling that collapses (repeats merged, blanks dropped) to the classes [1, 2].
    total = -math.inf
    for path in itertools.product(range(3), repeat=4):
        merged = [label for i, label in enumerate(path) if i == 0 or label != path[i - 1]]
        if [label for label in merged if label != 0] == [1, 2]:
            total = float(torch.logaddexp(torch.tensor(total), sum(log_probs[t, c] for t, c in enumerate(path))))
    assert ctc_log_likelihood(log_probs, [0, 1]) == pytest.approx(total, abs=1e-5)
    assert ctc_log_likelihood(log_probs, []) == pytest.approx(float(log_probs[:, 0].sum()))


# -- in the pipeline --------------------------------------------------------------------------------------------------


@pytest.fixture()
def snaps(monkeypatch):
    """Every (text, entries) the pipeline snaps; each snapped text is the entries joined (a visible change)."""
    calls: list = []

    def recording(text, entries, log_likelihood, is_word):
        calls.append((text, tuple(entries), log_likelihood(text), is_word("the")))
        return " ".join(entries)

    monkeypatch.setattr(pipeline_asr, "snap_to_context", recording)
    return calls


def test_the_pipeline_returns_and_times_the_snapped_text(tiny, snaps):
    asr = ASRPipeline(model=tiny[0], processor=tiny[1])
    clip = tiny_backbones.tone(1.0, 300)
    out = asr(clip, context="Tiny Audio, Hugging Face", return_timestamps="word", generate_kwargs=GREEDY)
    assert out["text"] == "Tiny Audio Hugging Face"
    assert "".join(chunk["text"] for chunk in out["chunks"]) == out["text"]
    (text, entries, score, knows_the), *_ = snaps
    assert entries == ("Tiny Audio", "Hugging Face") and math.isfinite(score) and score < 0
    assert knows_the is False  # the tiny decoder's tokenizer spells every word letter by letter


def test_no_snap_without_a_context_a_trained_ctc_head_a_transcript_or_with_a_streamer(tiny, snaps):
    from transformers import TextStreamer

    model, processor = tiny
    asr = ASRPipeline(model=model, processor=processor)
    clip = tiny_backbones.tone(0.8, 400)
    asr(clip, generate_kwargs=GREEDY)
    asr(clip, context=[], generate_kwargs=GREEDY)
    asr(clip, prompt="Describe the audio.", context=["Tiny Audio"], generate_kwargs=GREEDY)
    asr(clip, context=["Tiny Audio"], generate_kwargs={**GREEDY, "streamer": TextStreamer(processor.tokenizer)})
    model.config.ctc_head_trained = False
    try:
        asr(clip, context=["Tiny Audio"], generate_kwargs=GREEDY)
    finally:
        model.config.ctc_head_trained = True
    assert snaps == []


def test_the_audio_scorers_score_each_clip_of_a_batch_apart(tiny):
    model, processor = tiny
    clips = [tiny_backbones.tone(1.2, 300), tiny_backbones.tone(0.5, 500, seed=4)]
    batch = processor(audio=clips, instruction=model.config.instruction())
    classes = model.ctc_head_classes()
    features = model.get_audio_features(batch["input_features"], batch["audio_attention_mask"])
    both = context_snap.audio_scorers(*features, classes, processor.tokenizer)
    alone = processor(audio=clips[1:], instruction=model.config.instruction())
    features = model.get_audio_features(alone["input_features"], alone["audio_attention_mask"])
    second = context_snap.audio_scorers(*features, classes, processor.tokenizer)
    assert both[1]("hello there") == pytest.approx(second[0]("hello there"), abs=1e-3)
    assert both[0]("hello there") != pytest.approx(both[1]("hello there"), abs=1e-3)
