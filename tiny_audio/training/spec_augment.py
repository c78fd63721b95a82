"""Augmentation of log-mel features (Whisper encoders): frequency warping (`model.frequency_warp`) and masking in
time and frequency.

The waveform effects in `augment.py` change the room, the noise and the tape speed, but not the speaker's vocal
tract; the corpus's unheard test voices differ from its training voices mostly there. Warping the frequency axis by a
factor (vocal tract length perturbation) moves every formant as a longer or shorter tract would, without changing the
tempo. Masks (SpecAugment) hide a few mel bands or short stretches, so that no single band or moment carries a word.
"""

from __future__ import annotations

import numpy as np


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
