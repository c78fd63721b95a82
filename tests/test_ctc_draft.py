"""Greedy search that verifies the CTC head's draft (`ctc_draft`): token for token the text of plain greedy search,
whatever the draft holds, in fewer decoder passes when the draft is right."""

from __future__ import annotations

import random

import pytest
import tiny_backbones
import torch
from transformers import TextStreamer

from tiny_audio.model.ctc_draft import cache_argument_name, greedy_with_ctc_draft
from tiny_audio.model.decoding_options import DecodingOptions

GREEDY = {"num_beams": 1, "ctc_decoding_weight": 0.0, "frequency_warps": [1.0]}


class PassCounter:
    """Counts the decoder's forward passes (prefill and verification alike)."""

    def __init__(self, decoder):
        self.passes = 0
        decoder.register_forward_pre_hook(self._count)

    def _count(self, *_):
        self.passes += 1


@pytest.fixture(scope="module", params=["llama", "qwen3"])
def tiny(request, backbone_paths):
    """A random tiny model of each decoder family, its CTC head marked trained so that greedy search uses drafts."""
    model, processor = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths[request.param])
    model.config.ctc_head_trained = True
    clips = [
        tiny_backbones.tone(1.2, 300),
        tiny_backbones.tone(0.4, 500, seed=4),
        tiny_backbones.tone(0.8, 700, seed=7),
    ]
    return model.eval(), processor(audio=clips), PassCounter(model.decoder)


def _prompt(model, batch):
    """What `decode` hands the search: prompt embeddings with the audio in place."""
    features = model.get_audio_features(batch["input_features"], batch["audio_attention_mask"])
    return model.embed_inputs(batch["input_ids"], audio_features=features), batch["attention_mask"]


def _search(model, batch, drafts, options: DecodingOptions, streamer=None):
    inputs_embeds, attention_mask = _prompt(model, batch)
    eos = model.decoder.generation_config.eos_token_id
    ends = [eos] if isinstance(eos, int) else list(eos)
    return greedy_with_ctc_draft(
        model.decoder,
        inputs_embeds,
        attention_mask,
        drafts,
        options,
        ends,
        ends[0],
        cache_argument_name(model.decoder),
        streamer,
    )


def test_a_mixed_length_batch_reads_as_plain_greedy_search_through_generate(tiny):
    model, batch, _ = tiny
    for extra in ({"max_new_tokens": 12}, {"max_new_tokens": 12, "no_repeat_ngram_size": 2}):
        plain = model.generate(**batch, **GREEDY, **extra, ctc_draft=False)
        assert torch.equal(model.generate(**batch, **GREEDY, **extra, ctc_draft=True), plain)


def test_any_draft_gives_the_greedy_text_and_a_right_one_costs_two_passes(tiny):
    """Right, empty, cut, shifted and random drafts: the text never changes, only the number of passes."""
    model, batch, counter = tiny
    options = DecodingOptions(max_new_tokens=10, no_repeat_ngram_size=3)
    plain = model.generate(**batch, **GREEDY, max_new_tokens=10, no_repeat_ngram_size=3, ctc_draft=False)
    eos = model.decoder.generation_config.eos_token_id
    eos = eos if isinstance(eos, int) else eos[0]
    right = [[token for token in row.tolist() if token != eos] for row in plain]
    vocabulary = model.decoder.config.vocab_size
    rng = random.Random(0)
    drafts = {
        "right": right,
        "empty": [[] for _ in right],
        "cut": [row[: len(row) // 2] for row in right],
        "one extra": [row[:2] + [rng.randrange(vocabulary)] + row[2:] for row in right],
        "one missing": [row[:1] + row[2:] for row in right],
        "random": [[rng.randrange(vocabulary) for _ in range(8)] for _ in right],
    }
    passes = {}
    for name, draft in drafts.items():
        counter.passes = 0
        assert torch.equal(_search(model, batch, draft, options), plain), name
        passes[name] = counter.passes
    assert passes["right"] == 2
    longest = plain.shape[1]
    assert passes["empty"] == longest  # no draft: one pass a token, as plain greedy search
    assert passes["right"] < passes["cut"] < passes["empty"]


def test_the_streamer_gets_the_text_in_runs_and_one_end(tiny):
    model, batch, _ = tiny
    one_clip = {key: value[:1] for key, value in batch.items()}
    plain = model.generate(**one_clip, **GREEDY, max_new_tokens=10, ctc_draft=False)
    received, ends = [], []

    class Recorder(TextStreamer):
        def put(self, value):
            received.extend(value.reshape(-1).tolist())

        def end(self):
            ends.append(True)

    tokens = model.generate(**one_clip, **GREEDY, max_new_tokens=10, streamer=Recorder(None))
    assert torch.equal(tokens, plain)
    assert received == plain[0].tolist() and ends == [True]


def test_the_draft_is_left_alone_where_it_cannot_apply(tiny, caplog):
    """Beam search, sampling and CTC prefix scoring have their own searches; an untrained CTC head gives no draft."""
    model, batch, counter = tiny
    counter.passes = 0
    model.generate(**batch, num_beams=2, max_new_tokens=4, frequency_warps=[1.0])
    assert counter.passes >= 4  # beam search wrote token by token
    model.config.ctc_head_trained = None
    try:
        with caplog.at_level("INFO", logger="tiny_audio.model.decoding"):
            counter.passes = 0
            tokens = model.generate(**batch, **GREEDY, max_new_tokens=6)
    finally:
        model.config.ctc_head_trained = True
    assert counter.passes == tokens.shape[1]
    assert "CTC head did not train" in caplog.text


def test_ctc_draft_takes_true_or_false():
    with pytest.raises(ValueError, match="ctc_draft='yes' is not accepted; give True or False"):
        DecodingOptions(ctc_draft="yes")


@pytest.fixture(scope="module")
def embedded():
    """The embedded default model in float32 (the same numbers on every CPU) and real and synthetic clips."""
    import sys
    from pathlib import Path

    from tiny_audio import ASRModel, ASRProcessor
    from tiny_audio.app.course_samples import BUNDLED_SAMPLE
    from tiny_audio.app.transcribe import DEFAULT_MODEL_DIR
    from tiny_audio.data.dev_real import dev_clips
    from tiny_audio.model.audio_input import load_audio

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from espeak_timing import synthesise

    model = ASRModel.from_pretrained(DEFAULT_MODEL_DIR, dtype=torch.float32).eval()
    processor = ASRProcessor.from_pretrained(DEFAULT_MODEL_DIR)
    real = [load_audio(str(clip.path)) for clip in dev_clips()]
    synthetic = synthesise("Kick the ball straight and follow through.")[0]
    hum = 0.01 * torch.sin(torch.arange(16_000) * 2 * torch.pi * 50 / 16_000).numpy()  # mains hum: no words
    clips = {"dev-real": real, "course sample": [load_audio(str(BUNDLED_SAMPLE))], "espeak-ng": [synthetic]}
    return model, processor, clips, hum


@pytest.mark.slow
def test_the_embedded_model_reads_real_and_synthetic_clips_as_plain_greedy_search(embedded):
    model, processor, clips, hum = embedded
    counter = PassCounter(model.decoder)
    passes = tokens = 0
    for name, audio in [*clips.items(), ("mixed-length batch", clips["dev-real"][:4])]:
        for batch in [audio] if name == "mixed-length batch" else [[clip] for clip in audio]:
            inputs = processor(audio=batch, instruction=model.config.instruction())
            plain = model.generate(**inputs, **GREEDY, ctc_draft=False)
            counter.passes = 0
            drafted = model.generate(**inputs, **GREEDY, ctc_draft=True)
            assert torch.equal(drafted, plain), name
            if name == "dev-real":
                passes, tokens = passes + counter.passes, tokens + plain.shape[1]
    assert passes / tokens <= 0.5  # plain greedy search: 1.0

    inputs = processor(audio=[hum], instruction=model.config.instruction())
    features = model.get_audio_features(inputs["input_features"], inputs["audio_attention_mask"])
    from tiny_audio.model.ctc_head import ctc_greedy_decode

    assert ctc_greedy_decode(*features, model.ctc_head_classes()) == [[]]  # an empty draft
    assert torch.equal(
        model.generate(**inputs, **GREEDY, ctc_draft=True), model.generate(**inputs, **GREEDY, ctc_draft=False)
    )
