"""Word error rate the way the Open ASR Leaderboard computes it.

Both sides go through Whisper's English normaliser before counting, so that a model is not charged for writing
"Mr." instead of "mister", "10" instead of "ten", or for punctuation and casing that the reference never had.
The corpus WER is the total of substitutions + deletions + insertions over the total reference words: a mean of
per-sample WERs would let a two-word clip weigh as much as a two-hundred-word one.

This module's API (``normalize``, ``score``, ``WerResult``, ``sample_wer``, ``count_words``) is used by training code
for validation WER: keep it stable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

__all__ = ["WerResult", "count_words", "normalize", "sample_wer", "score"]


@lru_cache(maxsize=1)
def _normalizer():
    # Built once: the normaliser loads its British→American spelling map from a JSON file on construction.
    try:
        from whisper_normalizer.english import EnglishTextNormalizer
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "WER scoring needs Whisper's English normaliser: pip install whisper-normalizer "
            "(or pip install 'tiny-audio[eval]')"
        ) from err
    return EnglishTextNormalizer()


def normalize(text: str) -> str:
    """Return ``text`` through Whisper's English normaliser (lower case, no punctuation, "mister", "10", ...).

    ``None`` is treated as an empty string so that a model which returned nothing scores as all deletions
    instead of crashing the run.
    """
    if text is None:
        return ""
    return " ".join(_normalizer()(str(text)).split())


def count_words(text: str) -> int:
    """Number of words in ``text`` after normalisation (e.g. what a model "hears" on a noise-only clip)."""
    return len(normalize(text).split())


@dataclass(frozen=True)
class WerResult:
    """Corpus-level error counts. ``wer`` is (S + D + I) / reference_words, as a fraction (0.1 = 10%)."""

    wer: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_words: int
    skipped_empty: int = 0
    samples: int = 0  # samples actually scored (non-empty normalised reference)

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def to_dict(self) -> dict:
        return asdict(self)


def _counts(references: Sequence[str], hypotheses: Sequence[str]) -> tuple[int, int, int, int]:
    import jiwer

    out = jiwer.process_words(list(references), list(hypotheses))
    return out.substitutions, out.deletions, out.insertions, out.hits


def score(references: Sequence[str], hypotheses: Sequence[str]) -> WerResult:
    """Corpus WER of ``hypotheses`` against ``references`` (raw texts; both are normalised here).

    Samples whose normalised reference is empty (e.g. "<unk>"-only or noise-only clips) have no defined WER; they
    are left out and counted in ``skipped_empty``, as the leaderboard does.
    """
    if len(references) != len(hypotheses):
        raise ValueError(
            f"score() needs one hypothesis per reference: got {len(references)} references and "
            f"{len(hypotheses)} hypotheses"
        )
    refs: list[str] = []
    hyps: list[str] = []
    skipped = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        nref = normalize(ref)
        if not nref:
            skipped += 1
            continue
        refs.append(nref)
        hyps.append(normalize(hyp))
    if not refs:
        return WerResult(0.0, 0, 0, 0, 0, 0, skipped, 0)
    s, d, i, h = _counts(refs, hyps)
    n_words = s + d + h  # every reference word is either hit, substituted or deleted
    return WerResult((s + d + i) / n_words, s, d, i, h, n_words, skipped, len(refs))


def sample_wer(reference: str, hypothesis: str) -> float:
    """WER of one sample, both sides normalised.

    An empty normalised reference has no defined WER: this returns 0.0 when the hypothesis is empty too, and
    ``math.inf`` otherwise (every hypothesis word is an insertion against nothing). ``score`` skips such samples.
    """
    nref = normalize(reference)
    nhyp = normalize(hypothesis)
    if not nref:
        return 0.0 if not nhyp else math.inf
    s, d, i, h = _counts([nref], [nhyp])
    return (s + d + i) / (s + d + h)
