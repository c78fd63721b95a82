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
