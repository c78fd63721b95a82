"""Shifted flite voices (tiny_audio.data.flite_shifted): seeded draws, names checked, and audio whose pitch really
moved to the drawn median while its length stayed."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tiny_audio.data import flite_shifted
from tiny_audio.data.engines import synthesize
from tiny_audio.data.voices import DEFAULT_ENGINES, Voice, discover_voices

needs_flite = pytest.mark.skipif(
    shutil.which("flite") is None and not os.environ.get("CI"), reason="flite is not installed"
)
SENTENCE = "I must run after Miss Tilney directly and set her right."


def test_shifts_are_seeded_by_name_and_span_both_ways():
    names = flite_shifted.voice_names()
    shifts = [flite_shifted.shift_for(name) for name in names]
    assert shifts == [flite_shifted.shift_for(name) for name in names]
    assert len(set(shifts)) == len(names)
    assert "slt" not in {name.partition("+")[0] for name in names}  # the held-out female voice is never a base
    medians = [s.pitch_median_hz for s in shifts]
    ratios = [s.formant_ratio for s in shifts]
    assert min(medians) < 110 < 200 < max(medians) and min(ratios) < 1.0 < 1.2 < max(ratios)


def test_a_name_that_is_not_a_shifted_voice_is_refused():
    for name in ("slt+s01", "rms", "rms+s99"):
        with pytest.raises(ValueError, match="not a shifted flite voice"):
            flite_shifted.shift_for(name)


def test_shifted_engine_is_opt_in():
    assert "flite-shifted" not in DEFAULT_ENGINES


def median_pitch(audio: np.ndarray, rate: float) -> float:
    import parselmouth
    from parselmouth.praat import call

    pitch = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=rate).to_pitch()
    return call(pitch, "Get quantile", 0, 0, 0.5, "Hertz")


@needs_flite
def test_flite_speaks_a_shifted_voice_at_its_drawn_pitch_and_length():
    pytest.importorskip("parselmouth")
    voices = discover_voices(["flite-shifted"])
    assert {v.name for v in voices} == set(flite_shifted.voice_names())
    base, base_rate = synthesize(Voice("flite", "rms", "en-us", "rms"), SENTENCE, 1.0, 0.0)
    high = next(n for n in flite_shifted.voice_names() if n.startswith("rms+")
                and flite_shifted.shift_for(n).pitch_median_hz > 200)  # fmt: skip
    audio, rate = synthesize(Voice("flite-shifted", high, "en-us", high), SENTENCE, 1.0, 0.0)
    assert rate == base_rate and abs(audio.size - base.size) < 0.02 * rate  # same length: only pitch and formants
    assert median_pitch(base, rate) < 130  # rms is a low male voice
    assert median_pitch(audio, rate) == pytest.approx(flite_shifted.shift_for(high).pitch_median_hz, rel=0.1)
