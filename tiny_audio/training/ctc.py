"""Projector CTC: teach the projector to spell the transcript in the decoder's own token embeddings.

With a frozen decoder, the language-model loss reaches the projector only through every decoder layer, and a
projector trained by it alone had not learned to carry words after 600 CPU steps (eval WER ~100%, the decoder wrote
fluent text unrelated to the audio). CTC scores each audio embedding directly against the decoder's (frozen) token
embedding table: a matching token embedding, or a blank between tokens. The projector so learns to write the
transcript as decoder input tokens, which the decoder can then read, and a CTC step needs no decoder pass at all.

The head itself (cosine logits, the seeded blank) lives in `tiny_audio.ctc_head`, which generation also uses to
rescore hypotheses; there is nothing extra to train or save. Each step scores the batch's own target tokens against
`negatives` tokens drawn at random from the vocabulary instead of all of it (SmolLM2: 49,152): the full softmax
took 0.9 of the 1.1 s of a CTC step (batch 8, 2 CPU threads).
"""

from __future__ import annotations

import torch
from torch import nn

from tiny_audio.ctc_head import ctc_classes, ctc_logits

IGNORE_INDEX = -100


class ProjectorCTC:
    """CTC loss of audio embeddings against a decoder's input embedding table (blank = class 0)."""

    def __init__(
        self, embedding_table: torch.Tensor, end_token_id: int | None, negatives: int | None = 4096, seed: int = 0
    ):
        self.classes = ctc_classes(embedding_table)  # (1 + V, D), blank first
        self.generator = torch.Generator().manual_seed(seed)  # the negatives' draws
        self.end_token_id = end_token_id
        self.negatives = negatives  # None: the whole vocabulary every step

    def targets(self, labels: torch.Tensor) -> list[torch.Tensor]:
        """Each row's transcript token ids (labels without -100 and the end-of-turn token), shifted past blank."""
        rows = []
        for row in labels:
            ids = row[row != IGNORE_INDEX]
            if self.end_token_id is not None:
                ids = ids[ids != self.end_token_id]
            rows.append(ids + 1)
        return rows

    def __call__(self, audio_embeds: torch.Tensor, token_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean CTC loss per target token. `audio_embeds` (B, N, D) and `token_mask` (B, N) as
        `ASRModel.get_audio_features` returns them; `labels` (B, L) as the processor builds them."""
        targets = self.targets(labels)
        flat_targets = torch.cat(targets).cpu()
        class_ids = self._scored_classes(flat_targets)  # sorted; 0 (blank) first
        classes = self.classes[class_ids].to(audio_embeds.device)
        log_probs = ctc_logits(audio_embeds, classes).log_softmax(-1).transpose(0, 1)  # (N, B, C) as ctc_loss wants
        target_lengths = torch.tensor([len(ids) for ids in targets], device=audio_embeds.device)
        return nn.functional.ctc_loss(
            log_probs,
            torch.searchsorted(class_ids, flat_targets).to(audio_embeds.device),  # class id → column
            token_mask.sum(-1),
            target_lengths,
            blank=0,
            reduction="mean",
            zero_infinity=True,  # a clip too short for its text is skipped, not a NaN
        )

    def _scored_classes(self, targets: torch.Tensor) -> torch.Tensor:
        """Blank, the batch's target tokens and random negatives (or every class), as sorted class ids."""
        if self.negatives is None or self.negatives >= self.classes.shape[0]:
            return torch.arange(self.classes.shape[0])
        drawn = torch.randint(1, self.classes.shape[0], (self.negatives,), generator=self.generator)
        return torch.cat([torch.zeros(1, dtype=torch.long), targets, drawn]).unique()

    def greedy_decode(self, audio_embeds: torch.Tensor, token_mask: torch.Tensor) -> list[list[int]]:
        """Best path, repeats merged and blanks dropped: decoder token ids per clip (for inspecting a warm-up)."""
        classes = self.classes.to(audio_embeds.device)
        best = ctc_logits(audio_embeds, classes).argmax(-1)  # (B, N)
        decoded = []
        for row, length in zip(best, token_mask.sum(-1).tolist(), strict=True):
            path = torch.unique_consecutive(row[: int(length)])
            decoded.append([int(c) - 1 for c in path if c != 0])
        return decoded
