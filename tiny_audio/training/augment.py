"""On-the-fly augmentation of training audio: speed, room reverb, additive noise, gain on the waveform; frequency warp
and masks on Whisper's log-mel features (`spec_augment.py`). Never applied in evaluation.

Each effect fires with its own probability so a batch mixes clean and altered clips; the parameters are drawn
from the ranges the recipe gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from ..model.constants import SAMPLING_RATE
from ..model.frequency_warp import warp_frequency
from .spec_augment import mask_bands, mask_frames

TIME_MASK_EVERY_FRAMES = 300  # one time mask per started 3 s of log-mel frames (10 ms each)


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
    # Log-mel effects (Whisper encoders only), applied after the waveform ones. A warp factor f moves f Hz energy to
    # factor·f Hz, as a shorter (f > 1) or longer vocal tract would; masks set bands or frames to the clip's mean.
    frequency_warp_probability: float = 0.0
    frequency_warp_range: tuple[float, float] = (0.9, 1.1)
    frequency_mask_probability: float = 0.0
    frequency_mask_bands: int = 8  # widest mask, of Whisper's 80 mel bands
    time_mask_probability: float = 0.0
    time_mask_frames: int = 10  # widest mask, in 10 ms frames; at most a tenth of the clip

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

    @property
    def changes_features(self) -> bool:
        effects = ("frequency_warp", "frequency_mask", "time_mask")
        return any(getattr(self, f"{effect}_probability") > 0 for effect in effects)

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

    def augment_features(self, features: np.ndarray, centers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One clip's log-mel `features` (mel bands, frames; no padding), with `centers` the bands' centres in Hz.
        Each effect draws from `rng` only when it is on, so recipes without it keep their random stream."""
        if self.frequency_warp_probability > 0 and rng.random() < self.frequency_warp_probability:
            features = warp_frequency(features, centers, rng.uniform(*self.frequency_warp_range))
        if self.frequency_mask_probability > 0 and rng.random() < self.frequency_mask_probability:
            features = mask_bands(features, self.frequency_mask_bands, rng)
        if self.time_mask_probability > 0 and rng.random() < self.time_mask_probability:
            for _ in range(-(-features.shape[1] // TIME_MASK_EVERY_FRAMES)):
                features = mask_frames(features, self.time_mask_frames, rng)
        return features


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
