"""CTC rescoring of the beam search (`ctc_rescore_weight`): the head's likelihoods and the beam it picks."""

from __future__ import annotations

import pytest
import tiny_backbones
import torch
from torch import nn

from tiny_audio.ctc_head import ctc_classes, ctc_logits, hypothesis_log_likelihoods


def full_vocabulary_log_likelihood(log_probs: torch.Tensor, tokens: list[int]) -> float:
    """The textbook CTC log-likelihood over every class, to check the column-restricted one against."""
    targets = torch.tensor(tokens, dtype=torch.long) + 1
    loss = nn.functional.ctc_loss(
        log_probs[:, None], targets[None], torch.tensor([len(log_probs)]), torch.tensor([len(tokens)]), blank=0
    )
    return -float(loss) * max(len(tokens), 1)  # reduction="mean" divides by the target length


def test_hypothesis_log_likelihoods_are_exact_and_refuse_what_the_audio_cannot_hold():
    log_probs = torch.randn(8, 31, generator=torch.Generator().manual_seed(0)).log_softmax(-1)  # blank + 30 tokens
    hypotheses = [[3, 3, 7], [], [29], [4, 4, 4, 4, 4]]  # the last needs 9 frames (blanks between repeats)
    scores = hypothesis_log_likelihoods(log_probs, hypotheses)
    for tokens, got in zip(hypotheses[:3], scores[:3].tolist(), strict=True):
        assert got == pytest.approx(full_vocabulary_log_likelihood(log_probs, tokens), abs=1e-4)
    assert scores[1] == pytest.approx(float(log_probs[:, 0].sum()), abs=1e-5)  # silence: blank on every frame
    assert scores[3] == float("-inf")


@pytest.fixture(scope="module")
def untrained(backbone_paths):
    model, processor = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths["llama"])
    clips = [tiny_backbones.tone(1.0, 300), tiny_backbones.tone(0.7, 500, seed=4)]
    return model.eval(), processor, processor(audio=clips)


def test_weight_zero_is_plain_beam_search(untrained):
    model, _, batch = untrained
    plain = model.generate(**batch, num_beams=4, max_new_tokens=6)
    assert torch.equal(model.generate(**batch, num_beams=4, max_new_tokens=6, ctc_rescore_weight=0.0), plain)


def test_weight_one_picks_the_beam_with_the_best_ctc_score_per_token(untrained):
    model, processor, batch = untrained
    beams = model.generate(**batch, num_beams=4, num_return_sequences=4, max_new_tokens=6).view(2, 4, -1)
    picked = model.generate(**batch, num_beams=4, max_new_tokens=6, ctc_rescore_weight=1.0)
    with torch.no_grad():
        embeds, mask = model.get_audio_features(batch["input_features"], batch["audio_attention_mask"])
    log_probs = ctc_logits(embeds, ctc_classes(model.get_input_embeddings().weight)).log_softmax(-1)
    end = processor.tokenizer.eos_token_id
    bests = []
    for clip in range(2):
        rows = [row.tolist() for row in beams[clip]]
        hypotheses = [row[: row.index(end)] if end in row else row for row in rows]
        per_token = [
            full_vocabulary_log_likelihood(log_probs[clip, mask[clip]], tokens) / max(len(tokens), 1)
            for tokens in hypotheses
        ]
        bests.append(max(range(4), key=per_token.__getitem__))
        assert picked[clip].tolist() == rows[bests[-1]]
    assert bests != [0, 0], "the beam search's own first choice won everywhere: this test would not see rescoring"


@pytest.mark.parametrize(
    "options,message",
    [
        ({"ctc_rescore_weight": 1.5}, r"must lie in \[0, 1\]"),
        ({"ctc_rescore_weight": 0.3, "num_return_sequences": 2}, "drop num_return_sequences"),
    ],
)
def test_bad_rescoring_options_say_what_is_accepted(untrained, options, message):
    model, _, batch = untrained
    with pytest.raises(ValueError, match=message):
        model.generate(**batch, num_beams=4, max_new_tokens=4, **options)
