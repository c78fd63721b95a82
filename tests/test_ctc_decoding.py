"""The projector's CTC head in decoding: rescoring the final beams (`ctc_rescore_weight`: the head's likelihoods and the
beam it picks) and scoring prefixes in the search itself (`ctc_decoding_weight`: exact prefix probabilities)."""

from __future__ import annotations

import itertools

import pytest
import tiny_backbones
import torch
from torch import nn

from tiny_audio.ctc_head import CTCPrefixScorer, ctc_classes, ctc_logits, hypothesis_log_likelihoods


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
        ({"ctc_decoding_weight": 1.0}, r"must lie in \[0, 1\) \(0: the decoder alone\)"),
    ],
)
def test_bad_rescoring_options_say_what_is_accepted(untrained, options, message):
    model, _, batch = untrained
    with pytest.raises(ValueError, match=message):
        model.generate(**batch, num_beams=4, max_new_tokens=4, **options)


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
