"""Augmentation of log-mel features (Whisper encoders): frequency warping and masking in time and frequency.

The waveform effects in `augment.py` change the room, the noise and the tape speed, but not the speaker's vocal
tract; the corpus's unheard test voices differ from its training voices mostly there. Warping the frequency axis by a
factor (vocal tract length perturbation) moves every formant as a longer or shorter tract would, without changing the
tempo. Masks (SpecAugment) hide a few mel bands or short stretches, so that no single band or moment carries a word.
"""

from __future__ import annotations

import numpy as np


def mel_band_centers(mel_filters: np.ndarray, sampling_rate: int) -> np.ndarray:
    """Each mel band's centre in Hz: the mean frequency of its filter. `mel_filters` is (frequency bins, mel bands)."""
    frequencies = np.linspace(0.0, sampling_rate / 2, mel_filters.shape[0])
    return (mel_filters * frequencies[:, None]).sum(0) / np.maximum(mel_filters.sum(0), 1e-12)


def warp_frequency(features: np.ndarray, centers: np.ndarray, factor: float) -> np.ndarray:
    """`features` (mel bands, frames) as spoken by a vocal tract `factor` times shorter: the energy at f Hz moves to
    factor·f Hz. Each band reads the original spectrum at its centre / factor, interpolated between bands (the edge
    bands repeat beyond the range)."""
    source = np.interp(centers / factor, centers, np.arange(centers.size, dtype=np.float64))
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, centers.size - 1)
    weight = (source - low)[:, None].astype(features.dtype)
    return features[low] * (1 - weight) + features[high] * weight


def mask_bands(features: np.ndarray, max_bands: int, rng: np.random.Generator) -> np.ndarray:
    """Set a run of 1..`max_bands` adjacent mel bands to the clip's mean level."""
    width = int(rng.integers(1, max_bands + 1))
    start = int(rng.integers(0, max(1, features.shape[0] - width + 1)))
    features = features.copy()
    features[start : start + width] = features.mean()
    return features


def mask_frames(features: np.ndarray, max_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Set a run of 1..`max_frames` frames (never more than a tenth of the clip) to the clip's mean level."""
    limit = min(max_frames, features.shape[1] // 10)
    if limit < 1:
        return features
    width = int(rng.integers(1, limit + 1))
    start = int(rng.integers(0, features.shape[1] - width + 1))
    features = features.copy()
    features[:, start : start + width] = features.mean()
    return features
