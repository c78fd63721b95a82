"""The projector's CTC head: audio embeddings scored against the decoder's own token embeddings, plus a fixed blank.

Training teaches the projector to spell the transcript through it (tiny_audio.training.ctc). Generation can use it
to rescore the beam search's hypotheses (`ctc_rescore_weight`): the decoder's language model sometimes prefers a
fluent sentence that the audio does not hold ("livery" → "laurel"), while CTC scores a hypothesis against the audio
alone. The head has no weights of its own, so nothing extra is trained or saved.

Hub remote code: imports only torch.
"""

from __future__ import annotations

import torch
from torch import nn

# Logits are cosine similarities times CTC_SCALE: a matching token then scores 30 and its nearest neighbour (SmolLM2:
# mean top-1 cosine 0.75) about 22. The projector's output norm is fixed by its RMSNorm; direction is what it chooses.
CTC_SCALE = 30.0
# The blank is a random direction drawn from this seed, nearly orthogonal to every token embedding. Training and
# generation must draw the same one: change the seed and every trained projector loses its blank.
BLANK_SEED = 0


def ctc_classes(embedding_table: torch.Tensor) -> torch.Tensor:
    """Unit vectors of the CTC classes (1 + V, D): the blank first, then the decoder's token embeddings in id order,
    so token id t is class t + 1."""
    table = embedding_table.detach().float()
    blank = torch.randn(1, table.shape[1], generator=torch.Generator().manual_seed(BLANK_SEED)).to(table.device)
    return nn.functional.normalize(torch.cat([blank, table]), dim=-1)


def ctc_logits(audio_embeds: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """(..., N, D) audio embeddings against (C, D) unit class vectors → (..., N, C) logits."""
    return CTC_SCALE * nn.functional.normalize(audio_embeds.float(), dim=-1) @ classes.T


def hypothesis_log_likelihoods(log_probs: torch.Tensor, hypotheses: list[list[int]]) -> torch.Tensor:
    """log P_ctc(tokens | audio) for each hypothesis (decoder token ids) of one clip; `log_probs` (N, 1 + V) over
    that clip's real audio embeddings. A hypothesis too long for the audio scores -inf."""
    # Only the hypotheses' own tokens and the blank enter the CTC sums: score on those columns alone (exact, since
    # the log-softmax over the whole vocabulary is already done) instead of copying the vocabulary once per hypothesis.
    used = torch.tensor(sorted({0, *(token + 1 for tokens in hypotheses for token in tokens)}), device=log_probs.device)
    columns = log_probs[:, used]  # (N, U)
    targets = [
        torch.searchsorted(used, torch.tensor(tokens, dtype=torch.long, device=used.device) + 1)
        for tokens in hypotheses
    ]  # class id → column
    count = len(hypotheses)
    losses = nn.functional.ctc_loss(
        columns[:, None].expand(-1, count, -1),  # (N, K, U)
        torch.cat(targets),
        torch.full((count,), columns.shape[0], dtype=torch.long),
        torch.tensor([len(tokens) for tokens in hypotheses], dtype=torch.long),
        blank=0,
        reduction="none",
    )
    return -losses
