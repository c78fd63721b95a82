"""Random espeak-ng timbres (tiny_audio.data.espeak_random): reproducible variant files, a private data folder
espeak-ng really reads, and voices that sound different from each other and from the stock voice."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tiny_audio.data import espeak_random
from tiny_audio.data.engines import synthesize
from tiny_audio.data.voices import DEFAULT_ENGINES, Voice, discover_voices, espeak_data_dir

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None and not os.environ.get("CI"), reason="espeak-ng is not installed"
)
KEYWORDS = {"language", "name", "klatt", "pitch", "formant", "roughness", "flutter", "consonants", "breath",
            "voicing", "tone", "echo"}  # fmt: skip


def test_variants_are_reproducible_distinct_and_in_espeak_syntax():
    names = espeak_random.timbre_names()
    texts = [espeak_random.variant_text(name) for name in names]
    assert texts == [espeak_random.variant_text(name) for name in names]  # seeded by name, not by call order
    assert len(set(texts)) == len(names)
    for text in texts:
        lines = text.splitlines()
        assert lines[0] == "language variant" and {line.split()[0] for line in lines} <= KEYWORDS
        assert sum(line.startswith("formant ") for line in lines) == 9
    pitches = [int(line.split()[1]) for text in texts for line in text.splitlines() if line.startswith("pitch ")]
    assert min(pitches) < 100 < 150 < max(pitches)  # low and high voices both


def test_random_engine_is_opt_in():
    assert "espeak-ng-random" not in DEFAULT_ENGINES


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """Variant folders go under tmp_path, and no folder made by another test is remembered."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    espeak_random.data_path.cache_clear()
    yield tmp_path
    espeak_random.data_path.cache_clear()


@needs_espeak
def test_espeak_speaks_each_random_timbre_differently(private_cache):
    tmp_path = private_cache
    voices = discover_voices(["espeak-ng-random"])
    assert {v.timbre for v in voices} == set(espeak_random.timbre_names())
    folder = espeak_random.data_path(espeak_data_dir())
    assert folder.parent == tmp_path / "tiny-audio"
    assert (folder / "espeak-ng-data" / "voices" / "!v" / "r0007").is_file()

    def speak(voice: Voice) -> np.ndarray:
        audio, rate = synthesize(voice, "The quick brown fox jumps over the lazy dog.", 1.0, 0.0)
        assert rate == 22050 and audio.size > rate and np.abs(audio).max() > 0.05
        return audio

    stock = speak(Voice("espeak-ng", "en-us", "en-us", "default"))
    first, second = (speak(Voice("espeak-ng-random", f"en-us+{t}", "en-us", t)) for t in ("r0007", "r0123"))
    for a, b in ((stock, first), (stock, second), (first, second)):  # a variant espeak-ng ignored would equal stock
        assert a.size != b.size or not np.array_equal(a, b)
    espeak_random.data_path.cache_clear()
    assert espeak_random.data_path(espeak_data_dir()) == folder  # a second call reuses the folder


def test_second_bank_holds_new_timbres():
    first, second = espeak_random.timbre_names(0), espeak_random.timbre_names(1)
    assert len(second) == espeak_random.TIMBRES and not set(first) & set(second)
    assert second[0] == "r0200" and {espeak_random.bank_of(t) for t in second} == {1}
    assert espeak_random.bank_of("r0199") == 0
    assert "espeak-ng-random-2" not in DEFAULT_ENGINES


@needs_espeak
def test_second_bank_speaks_from_its_own_folder(private_cache):
    voices = discover_voices(["espeak-ng-random-2"])
    assert {v.timbre for v in voices} == set(espeak_random.timbre_names(1))
    assert {v.engine for v in voices} == {"espeak-ng-random-2"}
    folder = espeak_random.data_path(espeak_data_dir(), 1)
    assert folder != espeak_random.data_path(espeak_data_dir(), 0)
    assert (folder / "espeak-ng-data" / "voices" / "!v" / "r0213").is_file()
    assert not (folder / "espeak-ng-data" / "voices" / "!v" / "r0013").exists()
    audio, rate = synthesize(Voice("espeak-ng-random-2", "en-us+r0213", "en-us", "r0213"), "Good morning.", 1.0, 0.0)
    assert rate == 22050 and np.abs(audio).max() > 0.05
