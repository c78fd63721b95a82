"""Decoding options: `DecodingOptions`, the one definition of tiny-audio's decoding options, validated in one place.

The model's config (`generation`), the pipeline's `generate_kwargs`, `tiny-audio transcribe`'s flags and the model card
all go through it; `decoding.decode` uses them. A leaf module: the config validates its `generation` with it.
`check_option` also judges the pipeline's two call options that size the work, `batch_size` and `chunk_length_s`,
so that the pipeline, `generate()` and every command line take the same values and refuse the same ones.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from .constants import WHISPER_MAX_SECONDS
from .frequency_warp import WARP_FACTOR_RANGE, is_warp_factor

# Upper bounds, where a larger value exhausts the machine instead of transcribing better. Each holds with the other
# options at their defaults; the error names the bound and why.
# A piece of long audio is at most 30 s: Whisper's encoder window; a HuBERT or wav2vec2 encoder's attention memory
# grows with the square of the piece (1,500 frames at 30 s), and the decoder learned one sentence per clip, so longer
# pieces lose words anyway (constants.DEFAULT_CHUNK_SECONDS).
MAX_CHUNK_SECONDS = float(WHISPER_MAX_SECONDS)
# New tokens per piece: speech runs at most ~7 words/s (~10 tokens/s with punctuation), so a 30 s piece holds ~300
# tokens; 1024 leaves room for a free prompt's longer answer, stays far inside the smallest decoder context used
# (SmolLM2's 8,192 positions, less a 30 s piece's <= 375 audio tokens and the prompt), and caps what a model that never
# stops costs a piece (Whisper's own decoder writes at most 448 tokens per 30 s window).
MAX_NEW_TOKENS = 1024
# Beams: each carries its own KV cache (beams x (prompt + new tokens) x decoder layers), and the CTC prefix scorer
# scores each beam's candidates. With the embedded model on the 4 s sample, peak RSS was 1,037 MiB at 1 beam, 1,041 at
# 4 and 1,130 at 32; 1,000 beams passed 14.7 GB and 420 s (issue 48). ASR gains nothing past a few beams (Whisper: 5).
MAX_NUM_BEAMS = 32
# Clips (pieces) per model call: docs/gpu.md measured the largest recipe (HuBERT-xlarge + SmolLM3) at 21.6 GiB peak
# for 64 clips of 10 s, greedy, growing ~0.21 GiB a clip from 16 to 64: 256 clips is ~62 GiB, inside an 80 GB GPU.
MAX_BATCH_SIZE = 256
# Whole-number options: (lowest, highest or None, what the highest guards).
_WHOLE_NUMBERS = {
    "max_new_tokens": (1, MAX_NEW_TOKENS, "a 30 s piece holds about 300"),
    "num_beams": (1, MAX_NUM_BEAMS, "more beams cost memory and time and do not transcribe better"),
    "no_repeat_ngram_size": (0, None, ""),
    "batch_size": (1, MAX_BATCH_SIZE, "a larger batch does not fit an 80 GB GPU"),
}
# The pipeline's call options judged here besides the DecodingOptions fields.
CALL_OPTIONS = ("batch_size", "chunk_length_s")

# Options that existed once and lost their comparison, with what to use instead.
REMOVED_OPTIONS = {
    "ctc_rescore_weight": "CTC rescoring of the final beams lost to CTC in the search (74 errors against 72 on the "
    "tuning set, both together 81) and was removed; use ctc_decoding_weight",
}


@dataclass(frozen=True)
class DecodingOptions:
    """How a transcript is searched for. Any other `generate()` option goes to transformers unchanged."""

    max_new_tokens: int = 128  # longest transcript, in decoder tokens
    num_beams: int = 1  # 1: greedy search
    do_sample: bool = False
    repetition_penalty: float = 1.0  # 1.0: off
    no_repeat_ngram_size: int = 0  # n > 0: no n tokens in a row are written twice (ends "but, but, but, ..." loops)
    ctc_decoding_weight: float = 0.0  # w: each step ranks tokens by (1 - w) x decoder + w x CTC prefix score gain
    frequency_warps: tuple[float, ...] = ()  # e.g. (0.9, 1.0, 1.1); () or (1.0,): off. Whisper encoders only
    # Greedy search reads the CTC head's transcript as a draft and checks it in one decoder pass (ctc_draft.py): the
    # same text as token-by-token greedy search in fewer passes. Used by greedy search without sampling or CTC prefix
    # scoring, on a model whose CTC head trained; beam search ignores it.
    ctc_draft: bool = True

    def __post_init__(self):
        for field in fields(self):
            object.__setattr__(self, field.name, check_option(field.name, getattr(self, field.name)))

    @classmethod
    def resolve(cls, *layers: dict[str, Any] | None) -> tuple[DecodingOptions, dict[str, Any]]:
        """Merge option dicts (later ones win: the config's `generation`, then a call's kwargs) into our options and
        the rest, which are transformers' own `generate()` options."""
        merged = {key: value for layer in layers if layer for key, value in layer.items()}
        merged.pop("labels", None)  # a training batch passed whole to generate()
        for key in REMOVED_OPTIONS.keys() & merged.keys():
            raise ValueError(f"{key}: {REMOVED_OPTIONS[key]}.")
        ours = {field.name for field in fields(cls)}
        return cls(**{k: v for k, v in merged.items() if k in ours}), {k: v for k, v in merged.items() if k not in ours}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "frequency_warps": list(self.frequency_warps)}

    @property
    def warps(self) -> tuple[float, ...]:
        """The warp factors to try; empty when warping is off."""
        return () if self.frequency_warps in ((), (1.0,)) else self.frequency_warps


def check_option(name: str, value: Any) -> Any:
    """`value` for decoding option `name`, normalised, or a ValueError that says what is accepted."""
    if name in _WHOLE_NUMBERS:
        lowest, highest, why = _WHOLE_NUMBERS[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            accepted = f"from {lowest} to {highest}" if highest else f"of {lowest} or more"
            raise ValueError(f"{name}={value!r} is not accepted; give a whole number {accepted}.")
        if highest is not None and value > highest:
            raise ValueError(
                f"{name}={value!r} is not accepted; give a whole number from {lowest} to {highest} ({why})."
            )
        return value
    if name == "chunk_length_s":
        if not _is_number(value) or not 1 <= value <= MAX_CHUNK_SECONDS:
            raise ValueError(
                f"chunk_length_s={value!r} is not accepted; give a number of seconds from 1 to {MAX_CHUNK_SECONDS:g} "
                "(longer audio is cut at pauses into pieces of at most this length)."
            )
        return float(value)
    if name in ("do_sample", "ctc_draft"):
        if not isinstance(value, bool):
            raise ValueError(f"{name}={value!r} is not accepted; give True or False.")
        return value
    if name == "repetition_penalty":
        if not _is_number(value) or not value > 0:
            raise ValueError(f"repetition_penalty={value!r} is not accepted; give a number above 0 (1.0: off).")
        return float(value)
    if name == "ctc_decoding_weight":
        if not _is_number(value) or not 0.0 <= value < 1.0:
            raise ValueError(
                f"ctc_decoding_weight={value!r} is not accepted; give a number from 0 (the decoder alone) to below 1."
            )
        return float(value)
    if name == "frequency_warps":
        factors = [value] if _is_number(value) else list(value or [])
        if not all(_is_number(factor) and is_warp_factor(factor) for factor in factors):
            low, high = WARP_FACTOR_RANGE
            raise ValueError(
                f"frequency_warps={value!r} is not accepted; give factors from {low:g} to {high:g}, such as "
                "[0.9, 1.0, 1.1] ([1.0]: off)."
            )
        return tuple(float(factor) for factor in factors)
    raise ValueError(
        f"Unknown decoding option {name!r}; tiny-audio's are {[field.name for field in fields(DecodingOptions)]} "
        f"(and the pipeline's {list(CALL_OPTIONS)})."
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
