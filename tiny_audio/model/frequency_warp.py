"""Warping the frequency axis of log-mel features, as a longer or shorter vocal tract would move every formant.

Training uses it as augmentation (vocal tract length perturbation, `tiny_audio.training.spec_augment`); generation
uses it to meet an unheard voice half-way (`frequency_warps`, `ASRModel.generate`). Both work on Whisper's log-mel
features, whose bands sit at fixed frequencies, so a warp is an interpolation between neighbouring bands.
"""

from __future__ import annotations

import numpy as np
import torch

# Factors a warp may take: a vocal tract half or twice as long already lies far outside human voices.
WARP_FACTOR_RANGE = (0.5, 2.0)


def is_warp_factor(factor: float) -> bool:
    return WARP_FACTOR_RANGE[0] <= factor <= WARP_FACTOR_RANGE[1]


def mel_band_centers(mel_filters: np.ndarray, sampling_rate: int) -> np.ndarray:
    """Each mel band's centre in Hz: the mean frequency of its filter. `mel_filters` is (frequency bins, mel bands)."""
    frequencies = np.linspace(0.0, sampling_rate / 2, mel_filters.shape[0])
    return (mel_filters * frequencies[:, None]).sum(0) / np.maximum(mel_filters.sum(0), 1e-12)


def warp_frequency(features: np.ndarray | torch.Tensor, centers: np.ndarray, factor: float):
    """`features` (..., mel bands, frames), a numpy array or a torch tensor, as spoken by a vocal tract `factor` times
    shorter: the energy at f Hz moves to factor·f Hz. Each band reads the original spectrum at its centre / factor,
    interpolated between bands (the edge bands repeat beyond the range)."""
    source = np.interp(centers / factor, centers, np.arange(centers.size, dtype=np.float64))
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, centers.size - 1)
    weight = (source - low)[:, None]
    if isinstance(features, torch.Tensor):
        low, high = torch.from_numpy(low).to(features.device), torch.from_numpy(high).to(features.device)
        weight = torch.from_numpy(weight).to(features)
    else:
        weight = weight.astype(features.dtype)
    return features[..., low, :] * (1 - weight) + features[..., high, :] * weight
