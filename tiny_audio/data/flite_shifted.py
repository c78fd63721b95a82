"""flite voices moved to new pitches and vocal-tract lengths: more flite speakers than the five it ships.

flite's clustergen voices have a sound of their own (its vocoder), and a model that has heard only some of them
stumbles on an unheard one: on the synthetic test split the unheard female `slt` is the worst single voice, and
every other flite voice is male. flite's pitch control has no effect on these voices, so here the audio is changed
after synthesis instead, with Praat's "Change gender" (pitch-synchronous overlap-add, via `praat-parselmouth`): it
sets a new pitch median and range and scales the formants (a shorter or longer vocal tract) while keeping the
duration. Each shifted voice is one base voice with one seeded draw of those three numbers, so `rms+s07` is the
same speaker on every machine.

`slt` is not a base voice: a corpus that holds it out for test (as `data/synth` does) must not train on it in
disguise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

BASE_VOICES = ("rms", "awb", "kal16", "kal")  # flite's male voices (see module docstring for slt)
SHIFTS = 40  # per base voice; 15% of all shifted voices are held out for a corpus's test split
VERSION = 1  # bump when the draws below change, so a corpus records which rules made its voices
PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 60.0, 600.0  # the range Praat searches for the base voice's pitch
INSTALL_HINT = "pip install praat-parselmouth"


@dataclass(frozen=True)
class Shift:
    formant_ratio: float  # > 1: shorter vocal tract (higher formants), as from a male to a female speaker
    pitch_median_hz: float
    pitch_range_factor: float  # the new pitch contour's spread around its median, x the base voice's


def shift_names() -> list[str]:
    return [f"s{index:02d}" for index in range(SHIFTS)]


def voice_names() -> list[str]:
    return [f"{base}+{shift}" for base in BASE_VOICES for shift in shift_names()]


def split_name(name: str) -> tuple[str, str]:
    """Split "rms+s07" into ("rms", "s07"), with a clear error for a name that is not a shifted voice."""
    base, _, shift = name.partition("+")
    if base not in BASE_VOICES or shift not in shift_names():
        raise ValueError(f"{name!r} is not a shifted flite voice; accepted: BASE+sNN with BASE in {BASE_VOICES}")
    return base, shift


def shift_for(name: str) -> Shift:
    """The seeded draw for one voice: mostly higher than the male base voices (whose pitch is ~100 Hz), some
    lower, formants from slightly longer to much shorter tracts."""
    split_name(name)
    rng = random.Random(f"flite-shifted/v{VERSION}/{name}")
    return Shift(
        formant_ratio=rng.uniform(0.95, 1.25),
        pitch_median_hz=rng.uniform(85.0, 260.0),
        pitch_range_factor=rng.uniform(0.7, 1.6),
    )


def apply(audio: np.ndarray, rate: float, shift: Shift, pitch_factor: float = 1.0) -> np.ndarray:
    """Change one clip's pitch and formants; `pitch_factor` moves the median further (the plan's pitch draw)."""
    try:
        import parselmouth
        from parselmouth.praat import call
    except ImportError as error:
        raise ImportError(f"the flite-shifted voices need praat-parselmouth: {INSTALL_HINT}") from error
    sound = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=rate)
    changed = call(sound, "Change gender", PITCH_FLOOR_HZ, PITCH_CEILING_HZ, shift.formant_ratio,
                   shift.pitch_median_hz * pitch_factor, shift.pitch_range_factor, 1.0)  # fmt: skip
    if changed.sampling_frequency != rate:
        raise RuntimeError(f"Praat changed the sample rate ({rate} -> {changed.sampling_frequency} Hz)")
    return np.asarray(changed.values[0], dtype=np.float32)
