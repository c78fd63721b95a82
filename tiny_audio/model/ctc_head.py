"""The projector's CTC head: audio embeddings scored against the decoder's own token embeddings, plus a fixed blank.

Training: with a frozen decoder, the language-model loss reaches the projector only through every decoder layer, and
a projector trained by it alone had not learned to carry words after 600 CPU steps (eval WER ~100%: fluent text
unrelated to the audio). The CTC loss (`ProjectorCTCLoss`, opted into with `ASRModel.use_ctc_loss`) scores each
audio embedding directly against the decoder's token embedding table, so the projector learns to write the transcript
as decoder input tokens, and a CTC step needs no decoder pass at all.

Decoding: the decoder's language model sometimes prefers a fluent sentence that the audio does not hold ("livery" →
"laurel"), while CTC scores a text against the audio alone; `CTCPrefixScorer` adds that score to every search step
(`ctc_decoding_weight`, decoding.py). The head has no weights of its own: nothing extra is trained or saved.

Hub remote code: imports only torch and sibling modules.
"""

from __future__ import annotations

import torch
from torch import nn

from .constants import IGNORE_INDEX

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


class ProjectorCTCLoss:
    """Mean CTC loss per target token of audio embeddings against the CTC classes (blank = class 0).

    Each call scores the batch's own target tokens against `negatives` tokens drawn at random from the vocabulary
    instead of all of it (SmolLM2: 49,152): the full softmax took 0.9 of the 1.1 s of a CTC step (batch 8, 2 CPU
    threads). `negatives=None` scores the whole vocabulary."""

    def __init__(self, classes: torch.Tensor, end_token_id: int | None, negatives: int | None = 4096, seed: int = 0):
        self.classes = classes  # (1 + V, D), blank first
        self.end_token_id = end_token_id
        self.negatives = negatives
        self.generator = torch.Generator().manual_seed(seed)  # the negatives' draws

    def targets(self, labels: torch.Tensor) -> list[torch.Tensor]:
        """Each row's transcript token ids (labels without IGNORE_INDEX and the end-of-turn token) as class ids."""
        rows = []
        for row in labels:
            ids = row[row != IGNORE_INDEX]
            if self.end_token_id is not None:
                ids = ids[ids != self.end_token_id]
            rows.append(ids + 1)
        return rows

    def __call__(self, audio_embeds: torch.Tensor, token_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """`audio_embeds` (B, N, D) and `token_mask` (B, N) as `ASRModel.get_audio_features` returns them; `labels`
        (B, L) as the processor builds them."""
        targets = self.targets(labels)
        flat_targets = torch.cat(targets).cpu()
        class_ids = self._scored_classes(flat_targets)  # sorted; 0 (blank) first
        classes = self.classes[class_ids].to(audio_embeds.device)
        log_probs = ctc_logits(audio_embeds, classes).log_softmax(-1).transpose(0, 1)  # (N, B, C) as ctc_loss wants
        return nn.functional.ctc_loss(
            log_probs,
            torch.searchsorted(class_ids, flat_targets).to(audio_embeds.device),  # class id → column
            token_mask.sum(-1),
            torch.tensor([len(ids) for ids in targets], device=audio_embeds.device),
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


def ctc_greedy_decode(audio_embeds: torch.Tensor, token_mask: torch.Tensor, classes: torch.Tensor) -> list[list[int]]:
    """Best path, repeats merged and blanks dropped: decoder token ids per clip (what the projector alone spells)."""
    best = ctc_logits(audio_embeds, classes.to(audio_embeds.device)).argmax(-1)  # (B, N)
    decoded = []
    for row, length in zip(best, token_mask.sum(-1).tolist(), strict=True):
        path = torch.unique_consecutive(row[: int(length)])
        decoded.append([int(c) - 1 for c in path if c != 0])
    return decoded


# A floor for impossible CTC scores: finite, so that score differences never become NaN (ESPnet's logzero), and far
# above the -1e9 that transformers' beam search uses to mark empty slots, even summed over 96 steps.
LOG_ZERO = -1e5


class CTCPrefixScorer:
    """Joint CTC/decoder search: a logits processor that adds the CTC head's prefix score at every step.

    Rescoring the final beams can only choose among hypotheses the decoder kept; this steers the search itself, as
    hybrid CTC/attention decoders do (Watanabe et al. 2017, https://doi.org/10.1109/JSTSP.2017.2763455). Each step,
    a hypothesis's `candidates` best next tokens by the decoder get (1 - w) x decoder log-probability
    + w x [log P_ctc(prefix + token ...) - log P_ctc(prefix ...)], where P_ctc(prefix ...) sums every CTC path whose
    text starts with the prefix; an end token scores the prefix as the whole text. Every other token is dropped.

    Scores arrive as log-probabilities in beam search and as logits in greedy search; both are normalised here.
    Rows are hypotheses, clip-major as transformers orders them: row r belongs to clip r // hypotheses_per_clip.
    """

    def __init__(
        self,
        audio_embeds: torch.Tensor,
        token_mask: torch.Tensor,
        classes: torch.Tensor,
        weight: float,
        end_token_ids: list[int],
        pad_token_id: int | None,
        hypotheses_per_clip: int,
        candidates: int,
    ):
        self.weight, self.end_token_ids, self.candidates = weight, end_token_ids, candidates
        self.finished_token_ids = {*end_token_ids, pad_token_id} - {None}
        self.hypotheses_per_clip = hypotheses_per_clip
        self.classes = classes  # (C, D) unit vectors, blank first
        self.unit_audio = nn.functional.normalize(audio_embeds.float(), dim=-1)  # (B, T, D)
        # The softmax denominator over every class, one clip at a time: (T, C) logits are ~200 kB a frame.
        log_norm = torch.stack([ctc_logits(clip, classes).logsumexp(-1) for clip in self.unit_audio])  # (B, T)
        # Padded frames pass every path through unchanged: blank with probability 1, every token impossible.
        self.blank = (CTC_SCALE * self.unit_audio @ classes[0] - log_norm).masked_fill(~token_mask, 0.0)  # (B, T)
        self.log_norm = log_norm.masked_fill(~token_mask, float("inf"))
        # What the last step computed for each (row, candidate), and which new prefix each pair became.
        self.extended: dict[tuple[int, ...], tuple[int, int]] = {}
        self.last_step: tuple[torch.Tensor, ...] = ()  # entry Φ(t - 1) (R, K, T), x_t(token) (R, K, T), score (R, K)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        log_probs = scores.float().log_softmax(-1)  # (R, V)
        clips = torch.arange(input_ids.shape[0], device=scores.device) // self.hypotheses_per_clip  # (R,)
        non_blank_end, blank_end, prefix_scores, last_tokens = self._prefix_paths(input_ids, clips)

        not_ends = log_probs.clone()
        not_ends[:, self.end_token_ids] = float("-inf")
        candidates = not_ends.topk(self.candidates, dim=-1).indices  # (R, K)
        token_log_probs = self._token_log_probs(candidates)  # (R, K, T): x_t(token)
        # Φ(t): mass at frame t from which a new token may start at t + 1; a repeated token needs a blank between.
        any_end = torch.logaddexp(non_blank_end, blank_end)  # (R, T)
        repeat = (candidates == last_tokens[:, None])[..., None]  # (R, K, 1)
        phi = torch.where(repeat, blank_end[:, None], any_end[:, None])  # (R, K, T)
        # The token's first frame is t, reached from Φ(t - 1); an empty prefix may also start at frame 0.
        before_first = torch.full_like(phi[..., :1], 0.0 if input_ids.shape[1] == 0 else float("-inf"))
        entry = torch.cat([before_first, phi[..., :-1]], dim=-1)  # (R, K, T)
        candidate_scores = (entry + token_log_probs).logsumexp(-1).clamp(min=LOG_ZERO)  # (R, K)
        end_scores = any_end[:, -1].clamp(min=LOG_ZERO)  # (R,): the prefix as the whole transcript

        joint = torch.full_like(log_probs, float("-inf"))
        gain = candidate_scores - prefix_scores[:, None]
        joint.scatter_(1, candidates, (1 - self.weight) * log_probs.gather(1, candidates) + self.weight * gain)
        for end in self.end_token_ids:
            joint[:, end] = (1 - self.weight) * log_probs[:, end] + self.weight * (end_scores - prefix_scores)

        # Keyed by clip and text: two clips may hold the same prefix; one clip's hypotheses do only as the identical
        # copies a beam search starts from, whose states are the same.
        texts = zip(clips.tolist(), input_ids.tolist(), candidates.tolist(), strict=True)
        self.extended = {
            (clip, *prefix, token): (row, k)
            for row, (clip, prefix, tokens) in enumerate(texts)
            for k, token in enumerate(tokens)
        }
        self.last_step = (entry, token_log_probs, candidate_scores)
        return joint.to(scores.dtype)

    def _token_log_probs(self, candidates: torch.Tensor) -> torch.Tensor:
        """x_t(token) for each row's candidates: (R, K) → (R, K, T); -inf on padded frames."""
        clips, frames = self.unit_audio.shape[:2]
        vectors = self.classes[candidates + 1].view(clips, -1, self.classes.shape[1])  # (B, hyps x K, D)
        logits = CTC_SCALE * vectors @ self.unit_audio.transpose(1, 2)  # (B, hyps x K, T)
        return (logits - self.log_norm[:, None]).view(*candidates.shape, frames)

    def _prefix_paths(self, input_ids: torch.Tensor, clips: torch.Tensor):
        """For each row's prefix: log-mass of the CTC paths over frames 0..t whose text is exactly the prefix,
        ending in a non-blank (R, T) and in a blank (R, T); log P_ctc(prefix ...) (R,); its last token (R,)."""
        frames = self.blank.shape[1]
        if input_ids.shape[1] == 0:  # the empty prefix: blanks only
            empty = torch.full((len(clips), frames), float("-inf"), device=self.blank.device)
            zeros = torch.zeros(len(clips), device=self.blank.device)
            return empty, self.blank[clips].cumsum(-1), zeros, torch.full_like(zeros, -1, dtype=torch.long)
        parents = []
        for clip, prefix in zip(clips.tolist(), input_ids.tolist(), strict=True):
            if (clip, *prefix) in self.extended:
                parents.append(self.extended[(clip, *prefix)])
            elif self.finished_token_ids.intersection(prefix):
                parents.append((0, 0))  # greedy search pads a finished row on and ignores its scores: any state does
            else:  # the search kept a token this scorer dropped: only a caller's bug can do that
                raise RuntimeError(f"CTC prefix scoring lost track of hypothesis {prefix} of clip {clip}")
        parent_rows, parent_picks = torch.tensor(parents, device=clips.device).unbind(-1)
        entry, token, score = (tensor[parent_rows, parent_picks] for tensor in self.last_step)  # (R, T), (R, T), (R,)
        blank = self.blank[clips]
        non_blank_end, blank_end = [entry[:, 0] + token[:, 0]], [torch.full_like(score, float("-inf"))]
        for frame in range(1, frames):  # the token goes on, or starts here; a blank follows either
            non_blank_end.append(torch.logaddexp(non_blank_end[-1], entry[:, frame]) + token[:, frame])
            blank_end.append(torch.logaddexp(blank_end[-1], non_blank_end[-2]) + blank[:, frame])
        return torch.stack(non_blank_end, -1), torch.stack(blank_end, -1), score, input_ids[:, -1]
