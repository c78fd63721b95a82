"""Random espeak-ng timbres: voice variants whose formants, pitch, breath and roughness are drawn at random.

espeak-ng ships ~100 variants, and a model trained on some of them still stumbles on an unheard one (the synthetic
test split's worst timbres are such variants). More training timbres from the same synthesiser cover more of the
space a new variant can fall in. The variants are made by rule, not copied: each parameter is drawn from a range
that spans most of espeak-ng's own variants, and `r0042` is the same file on every machine (seeded by its name).

espeak-ng reads variants only from its data folder, so the variants go into a private copy of that folder (links to
the system's files plus a `voices/!v` of our own) under ~/.cache/tiny-audio, which `espeak-ng --path` points at.

espeak-ng lists at most 349 voices, so the timbres come in banks of 200, each in its own folder: bank 0
(`r0000`-`r0199`, engine `espeak-ng-random`) and bank 1 (`r0200`-`r0399`, engine `espeak-ng-random-2`), which a
second corpus uses to show a model timbres the first did not.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import tempfile
from pathlib import Path

TIMBRES = 200  # per bank; 15% are held out for a corpus's test split. With its ~130 languages this keeps espeak-ng
# under its 349-voice listing limit (past it, every call warns and later voices drop out of its list).
VERSION = 1  # bump when the rules below change: the folder name carries it, so old variants are never reused
BANKS = {"espeak-ng-random": 0, "espeak-ng-random-2": 1}  # engine name -> bank of timbres


def timbre_names(bank: int = 0) -> list[str]:
    return [f"r{index:04d}" for index in range(bank * TIMBRES, (bank + 1) * TIMBRES)]


def bank_of(timbre: str) -> int:
    """The bank a timbre name such as "r0213" belongs to (1)."""
    return int(timbre.removeprefix("r")) // TIMBRES


def variant_text(name: str) -> str:
    """The espeak-ng variant file for one random timbre (syntax: espeak-ng's docs/voices.md)."""
    rng = random.Random(f"espeak-ng-random/v{VERSION}/{name}")
    lines = ["language variant", f"name {name}"]
    if rng.random() < 0.25:  # the Klatt synthesiser instead of the default one: a different source model
        lines.append(f"klatt {rng.randint(1, 6)}")
    base = rng.uniform(70, 210)  # Hz: low male to high female
    lines.append(f"pitch {base:.0f} {base * rng.uniform(1.2, 1.9):.0f}")
    # One vocal-tract scale moves all formants together (a longer or shorter tract), then each gets its own jitter,
    # height (loudness) and width (bandwidth), in percent of the accent's defaults.
    tract = rng.uniform(0.8, 1.25)
    for formant in range(9):
        frequency = 100 * tract * rng.uniform(0.9, 1.1)
        lines.append(f"formant {formant} {frequency:.0f} {rng.uniform(40, 150):.0f} {rng.uniform(70, 180):.0f}")
    lines.append(f"roughness {rng.randint(0, 6)}")
    lines.append(f"flutter {rng.randint(0, 30)}")
    lines.append(f"consonants {rng.randint(70, 130)} {rng.randint(70, 130)}")
    if rng.random() < 0.25:  # breathy: noise added in the higher formants, less voicing
        levels = sorted((rng.randint(0, 60) for _ in range(6)), reverse=True)
        lines.append("breath " + " ".join(map(str, levels)))
        lines.append(f"voicing {rng.randint(30, 90)}")
    if rng.random() < 0.3:  # a spectral tilt: gain at three frequencies
        gains = [rng.randint(70, 170) for _ in range(3)]
        lines.append(f"tone 300 {gains[0]} 1200 {gains[1]} 2500 {gains[2]}")
    if rng.random() < 0.2:
        lines.append(f"echo {rng.randint(50, 200)} {rng.randint(5, 20)}")
    return "\n".join(lines) + "\n"


def _cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tiny-audio"


@functools.cache
def data_path(system_data: Path, bank: int = 0) -> Path:
    """The folder to give `espeak-ng --path`: it holds an `espeak-ng-data` with the system's files and one bank's
    variants.

    Made once per machine; several build workers may ask at once, so it is assembled aside and renamed into place.
    """
    # Bank 0 keeps the folder name it had before there were banks, so existing caches stay valid.
    target = _cache_root() / (f"espeak-ng-random-v{VERSION}" + (f"-bank{bank}" if bank else ""))
    names = timbre_names(bank)
    if (target / "espeak-ng-data" / "voices" / "!v" / names[-1]).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".espeak-ng-random-", dir=target.parent))
    data = staging / "espeak-ng-data"
    variants = data / "voices" / "!v"
    variants.mkdir(parents=True)
    for entry in system_data.iterdir():
        if entry.name != "voices":
            (data / entry.name).symlink_to(entry)
    for name in names:
        (variants / name).write_text(variant_text(name), encoding="utf-8")
    try:
        staging.rename(target)
    except OSError:  # another process finished first: use its folder (same content)
        shutil.rmtree(staging)
    return target
