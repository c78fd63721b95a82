"""On-the-fly augmentation of training audio: speed, room reverb, additive noise, gain. Never applied in evaluation.

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
    # Synthetic speech has no room; real recordings carry theirs. A reverberation time (RT60: the tail falls by 60 dB)
    # and a direct-to-reverberant energy ratio drawn per clip describe a simulated room (see `reverberate`).
    reverb_probability: float = 0.0
    reverb_seconds: tuple[float, float] = (0.15, 0.6)
    reverb_direct_db: tuple[float, float] = (0.0, 12.0)
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
        return any(getattr(self, name) > 0 for name in self.__dataclass_fields__ if name.endswith("_probability"))

    def __call__(self, waveform: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() < self.speed_probability:
            factor = rng.uniform(*self.speed_range)
            waveform = soxr.resample(waveform, SAMPLING_RATE * factor, SAMPLING_RATE).astype(np.float32)
        # Before the noise: the room shapes the voice, not the mic's hiss. Drawn only when on, so that recipes without
        # reverb see the same random augmentations as before it existed (their runs stay reproducible).
        if self.reverb_probability > 0 and rng.random() < self.reverb_probability:
            rt60, direct_db = rng.uniform(*self.reverb_seconds), rng.uniform(*self.reverb_direct_db)
            waveform = reverberate(waveform, rt60, direct_db, rng)
        if rng.random() < self.noise_probability:
            signal_power = float(np.mean(waveform**2)) + 1e-12
            noise_power = signal_power / 10 ** (rng.uniform(*self.noise_snr_db) / 10)
            waveform = waveform + rng.normal(0, np.sqrt(noise_power), waveform.shape).astype(np.float32)
        if rng.random() < self.gain_probability:
            waveform = waveform * np.float32(10 ** (rng.uniform(*self.gain_db) / 20))
        return np.clip(waveform, -1.0, 1.0)


def reverberate(waveform: np.ndarray, rt60: float, direct_db: float, rng: np.random.Generator) -> np.ndarray:
    """`waveform` as heard in a simulated room, at the same length and loudness.

    The room's impulse response is the direct sound followed by white noise whose level falls by 60 dB over `rt60`
    seconds (the statistical model of a diffuse sound field), scaled so that the direct sound carries `direct_db`
    more energy than the whole tail.
    """
    if waveform.size == 0:
        return waveform
    times = np.arange(1, max(2, int(rt60 * SAMPLING_RATE))) / SAMPLING_RATE
    tail = rng.normal(0.0, 1.0, times.size) * 10 ** (-3.0 * times / rt60)
    tail *= np.sqrt(10 ** (-direct_db / 10) / np.sum(tail**2))
    impulse = np.concatenate([[1.0], tail])
    size = 1 << (waveform.size + impulse.size - 2).bit_length()  # a power of two >= the full convolution
    wet = np.fft.irfft(np.fft.rfft(waveform, size) * np.fft.rfft(impulse, size), size)[: waveform.size]
    loudness = np.sqrt(np.mean(waveform.astype(np.float64) ** 2) / (np.mean(wet**2) + 1e-20))
    return (wet * loudness).astype(np.float32)
