"""The projector's CTC head in decoding: scoring prefixes in the search itself (`ctc_decoding_weight`: exact prefix
probabilities), and the decoding options' checks (`DecodingOptions`, validated in one place)."""

from __future__ import annotations

import itertools

import pytest
import tiny_backbones
import torch
from torch import nn

from tiny_audio.model.ctc_head import CTCPrefixScorer, ctc_classes, ctc_logits
from tiny_audio.model.decoding_options import DecodingOptions


def full_vocabulary_log_likelihood(log_probs: torch.Tensor, tokens: list[int]) -> float:
    """The textbook CTC log-likelihood over every class, to check the column-restricted one against."""
    targets = torch.tensor(tokens, dtype=torch.long) + 1
    loss = nn.functional.ctc_loss(
        log_probs[:, None], targets[None], torch.tensor([len(log_probs)]), torch.tensor([len(tokens)]), blank=0
    )
    return -float(loss) * max(len(tokens), 1)  # reduction="mean" divides by the target length


@pytest.fixture(scope="module")
def untrained(backbone_paths):
    model, processor = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths["llama"])
    clips = [tiny_backbones.tone(1.0, 300), tiny_backbones.tone(0.7, 500, seed=4)]
    return model.eval(), processor, processor(audio=clips)


def test_weight_zero_is_plain_beam_search(untrained):
    model, _, batch = untrained
    plain = model.generate(**batch, num_beams=4, max_new_tokens=6)
    assert torch.equal(model.generate(**batch, num_beams=4, max_new_tokens=6, ctc_decoding_weight=0.0), plain)


@pytest.mark.parametrize(
    "options,message",
    [
        ({"ctc_rescore_weight": 0.3}, "removed; use ctc_decoding_weight"),
        ({"ctc_decoding_weight": 1.0}, r"ctc_decoding_weight=1.0 is not accepted; give a number from 0 .* to below 1"),
        ({"num_beams": 0}, "num_beams=0 is not accepted; give a whole number from 1 to 32"),
        ({"max_new_tokens": 2.5}, "max_new_tokens=2.5 is not accepted"),
        ({"frequency_warps": [3.0]}, "give factors from 0.5 to 2"),
        ({"repetition_penalty": 0}, "give a number above 0"),
    ],
)
def test_bad_decoding_options_say_what_is_accepted(untrained, options, message):
    model, _, batch = untrained
    with pytest.raises(ValueError, match=message):
        model.generate(**batch, **{"num_beams": 4, "max_new_tokens": 4, **options})


def test_decoding_options_are_checked_once_when_a_config_is_made():
    from tiny_audio import ASRConfig

    with pytest.raises(ValueError, match="num_beams=0 is not accepted"):
        ASRConfig(generation={"num_beams": 0})
    options, rest = DecodingOptions.resolve({"num_beams": 4, "length_penalty": 1.0}, {"num_beams": 2})
    assert options.num_beams == 2 and rest == {"length_penalty": 1.0}  # transformers' own options pass through
    assert DecodingOptions(frequency_warps=[1.0]).warps == ()


def brute_force_prefix_log_probability(log_probs: torch.Tensor, prefix: list[int], whole: bool = False) -> float:
    """log of the summed probability of every CTC path (over all class sequences) whose text starts with `prefix`
    (or is exactly `prefix` when `whole`): the definition, by enumeration."""
    masses = []
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        text = [c - 1 for t, c in enumerate(path) if c != 0 and (t == 0 or path[t - 1] != c)]
        if (text == prefix) if whole else (text[: len(prefix)] == prefix):
            masses.append(sum(float(log_probs[t, c]) for t, c in enumerate(path)))
    return float(torch.tensor(masses).logsumexp(0)) if masses else float("-inf")


def test_prefix_scores_are_the_ctc_prefix_probabilities_step_by_step():
    generator = torch.Generator().manual_seed(0)
    vocabulary, width, frames = 4, 8, 5
    classes = ctc_classes(torch.randn(vocabulary, width, generator=generator))
    audio = torch.randn(2, frames + 1, width, generator=generator)
    mask = torch.tensor([[True] * frames + [False], [True] * (frames + 1)])  # clip 0 is padded by one frame
    log_probs = [ctc_logits(audio[clip, mask[clip]], classes).log_softmax(-1) for clip in range(2)]
    # weight 1: each token's score is log P_ctc(prefix + token ...) - log P_ctc(prefix ...), the end token's
    # log P_ctc(prefix exactly) - log P_ctc(prefix ...). Token 0 plays the end token.
    scorer = CTCPrefixScorer(audio, mask, classes, 1.0, [0], None, hypotheses_per_clip=1, candidates=3)
    prefixes = torch.zeros(2, 0, dtype=torch.long)
    for _ in range(3):  # a repeated token (which needs a blank between) comes up on this seed
        scores = scorer(prefixes, torch.zeros(2, vocabulary))
        for clip in range(2):
            prefix = prefixes[clip].tolist()
            before = brute_force_prefix_log_probability(log_probs[clip], prefix)
            for token in range(1, vocabulary):
                expected = brute_force_prefix_log_probability(log_probs[clip], [*prefix, token]) - before
                assert float(scores[clip, token]) == pytest.approx(expected, abs=1e-3)
            whole = brute_force_prefix_log_probability(log_probs[clip], prefix, whole=True) - before
            assert float(scores[clip, 0]) == pytest.approx(whole, abs=1e-3)
        prefixes = torch.cat([prefixes, scores[:, 1:].argmax(-1, keepdim=True) + 1], dim=1)
    assert any(len(set(row)) < len(row) for row in prefixes.tolist()), "no repeated token: that path went untested"


@pytest.mark.parametrize("num_beams", [1, 4])
def test_joint_decoding_gives_each_clip_the_same_text_alone_or_in_a_batch(untrained, num_beams):
    model, processor, _ = untrained
    clips = [tiny_backbones.tone(1.0, 300), tiny_backbones.tone(0.4, 500, seed=4)]  # padding in the batch
    options = {"num_beams": num_beams, "max_new_tokens": 6, "ctc_decoding_weight": 0.5}
    together = model.generate(**processor(audio=clips), **options)
    for clip, row in zip(clips, together, strict=True):
        alone = model.generate(**processor(audio=[clip]), **options)[0]
        assert alone.tolist() == row[: len(alone)].tolist()
    plain = model.generate(**processor(audio=clips), num_beams=num_beams, max_new_tokens=6)
    assert not torch.equal(together, plain), "CTC prefix scoring changed nothing: this test would not see it"
