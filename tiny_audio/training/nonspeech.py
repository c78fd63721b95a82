"""Non-speech clips (noise, hum, near-silence) whose transcript is empty, so a model learns to write nothing when
nobody speaks. Each clip is generated from a seed: the same seed gives the same clip on every run."""

from __future__ import annotations

import numpy as np

from ..model.constants import SAMPLING_RATE

KINDS = ("white", "pink", "brown", "hum", "near_silence")
SECONDS = (0.5, 8.0)
LEVEL_DBFS = (-55.0, -15.0)  # RMS level of the noise kinds


def nonspeech_clip(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kind = KINDS[int(rng.integers(len(KINDS)))]
    samples = int(rng.uniform(*SECONDS) * SAMPLING_RATE)
    if kind == "hum":  # mains hum: 50 or 60 Hz with a few harmonics, plus a little hiss
        time = np.arange(samples) / SAMPLING_RATE
        base = rng.choice([50.0, 60.0])
        clip = sum(
            rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * base * k * time + rng.uniform(0, 6.3)) for k in (1, 2, 3)
        )
        clip = clip + rng.normal(0, 0.05, samples)
    elif kind == "near_silence":  # a quiet room: dither-level noise (digital zeros are rejected as input)
        return rng.normal(0, 10 ** (rng.uniform(-80, -65) / 20), samples).astype(np.float32)
    else:
        clip = _coloured_noise(kind, samples, rng)
    level = 10 ** (rng.uniform(*LEVEL_DBFS) / 20)
    clip = clip / (np.sqrt(np.mean(clip**2)) + 1e-12) * level
    return np.clip(clip, -1, 1).astype(np.float32)


def _coloured_noise(kind: str, samples: int, rng: np.random.Generator) -> np.ndarray:
    """White noise shaped in the frequency domain: pink falls 3 dB/octave, brown 6 dB/octave."""
    white = rng.normal(0, 1, samples)
    if kind == "white":
        return white
    spectrum = np.fft.rfft(white)
    frequencies = np.maximum(np.fft.rfftfreq(samples), 1.0 / samples)
    spectrum /= np.sqrt(frequencies) if kind == "pink" else frequencies
    return np.fft.irfft(spectrum, samples)
