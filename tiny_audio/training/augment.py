"""On-the-fly augmentation of training audio: speed, additive noise, gain. Never applied in evaluation.

Each effect fires with its own probability so a batch mixes clean and altered clips; the parameters are drawn
from the ranges the recipe gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from ..audio_input import SAMPLING_RATE


@dataclass(frozen=True)
class Augmentation:
    """Ranges are (low, high); a probability of 0 turns an effect off."""

    speed_probability: float = 0.0
    speed_range: tuple[float, float] = (0.9, 1.1)  # resampling factor: also shifts pitch, as tape speed does
    noise_probability: float = 0.0
    noise_snr_db: tuple[float, float] = (10.0, 40.0)  # signal-to-noise ratio of added white noise
    gain_probability: float = 0.0
    gain_db: tuple[float, float] = (-6.0, 6.0)

    @classmethod
    def from_recipe(cls, section: dict) -> Augmentation:
        known = set(cls.__dataclass_fields__)
        unknown = set(section) - known
        if unknown:
            raise ValueError(f"Unknown augmentation settings {sorted(unknown)}; accepted: {sorted(known)}.")
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in section.items()})

    @property
    def enabled(self) -> bool:
        return max(self.speed_probability, self.noise_probability, self.gain_probability) > 0

    def __call__(self, waveform: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() < self.speed_probability:
            factor = rng.uniform(*self.speed_range)
            waveform = soxr.resample(waveform, SAMPLING_RATE * factor, SAMPLING_RATE).astype(np.float32)
        if rng.random() < self.noise_probability:
            signal_power = float(np.mean(waveform**2)) + 1e-12
            noise_power = signal_power / 10 ** (rng.uniform(*self.noise_snr_db) / 10)
            waveform = waveform + rng.normal(0, np.sqrt(noise_power), waveform.shape).astype(np.float32)
        if rng.random() < self.gain_probability:
            waveform = waveform * np.float32(10 ** (rng.uniform(*self.gain_db) / 20))
        return np.clip(waveform, -1.0, 1.0)
