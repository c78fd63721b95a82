"""Where the corpus text comes from: Jane Austen's novels (Debian `r-cran-janeaustenr`) and WordNet's usage
examples (Debian `wordnet-base`).

Austen: it installs from Debian with apt alone (no Hub, no download at run time), the texts are public
domain and the package is MIT; it holds ~720,000 words of varied, edited English prose (narration and dialogue),
which cleans into ~50,000 speakable sentences. The LibriVox development clips are read from "Sense and
Sensibility", so the dev-set exclusion in `text.py` matters here.

The novels are stored in R's lazy-load format, so we ask R itself (`Rscript`, which the Debian package depends on)
to print them: one small subprocess per novel, ~0.3 s each, instead of reimplementing R's serialisation format.

WordNet: Austen alone teaches the decoder a Regency novel's idea of English (a model trained on it heard "seven of
clubs" as "Seven o'clock"). WordNet 3.0's glosses carry ~42,000 short example sentences of plain modern English
("How did your interview go?", "They used picks and sledges to break the rocks.") over a very wide vocabulary, in a
plain text file, under a permissive licence whose notice must travel with the text (`WORDNET_NOTICE`, printed in
the dataset card).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TEXTS = ("austen", "wordnet")  # what `tiny-audio data synth` speaks unless told (`--texts`)
TEXTS = (*DEFAULT_TEXTS, "everyday", "coined")  # every text source a corpus can speak, by name (the last two generated)
# The six objects the package exports, one character vector (one line of the book per element) per novel.
AUSTEN_NOVELS = ("sensesensibility", "prideprejudice", "mansfieldpark", "emma", "northangerabbey", "persuasion")
AUSTEN_PACKAGE_DIR = Path("/usr/lib/R/site-library/janeaustenr")
INSTALL_HINT = "install it with `apt-get install --no-install-recommends r-cran-janeaustenr`"


@dataclass(frozen=True)
class TextSource:
    """What the dataset card says about the text: enough for a reader to get the same text and check its licence."""

    name: str
    package: str
    version: str
    licence: str
    description: str
    notice: str = ""  # text the licence requires on every copy, printed in the dataset card


def austen_source() -> TextSource:
    """Describe the installed package (version read from its DESCRIPTION, so the card never goes stale)."""
    version = "unknown"
    description_file = AUSTEN_PACKAGE_DIR / "DESCRIPTION"
    if description_file.exists():
        for line in description_file.read_text(encoding="utf-8").splitlines():
            if line.startswith("Version:"):
                version = line.split(":", 1)[1].strip()
    return TextSource(
        name="austen",
        package="r-cran-janeaustenr (Debian)",
        version=version,
        licence="texts public domain; package MIT",
        description="Jane Austen's six completed novels (1811-1818)",
    )


@functools.lru_cache(maxsize=1)
def read_austen() -> dict[str, str]:
    """Return {novel name: full text} for the six novels; raises with the install command when R or the package
    is missing."""
    rscript = shutil.which("Rscript")
    if rscript is None or not AUSTEN_PACKAGE_DIR.exists():
        raise RuntimeError(
            f"The corpus text comes from Debian's r-cran-janeaustenr, which is not installed: {INSTALL_HINT}"
        )
    texts = {}
    for novel in AUSTEN_NOVELS:
        expression = f'writeLines(enc2utf8(getExportedValue("janeaustenr", "{novel}")))'
        result = subprocess.run([rscript, "--vanilla", "-e", expression], capture_output=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(
                f"Rscript could not read janeaustenr::{novel}: {result.stderr.decode(errors='replace')[-500:]}"
                f" ({INSTALL_HINT})"
            )
        texts[novel] = result.stdout.decode("utf-8")
    return texts


WORDNET_DIR = Path("/usr/share/wordnet")
WORDNET_PARTS = ("noun", "verb", "adj", "adv")  # data.<part> files, one synset per line
WORDNET_INSTALL_HINT = "install it with `apt-get install --no-install-recommends wordnet-base`"
WORDNET_NOTICE = (
    "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. THIS SOFTWARE AND DATABASE IS "
    'PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. The '
    "full licence is in /usr/share/doc/wordnet-base/copyright."
)
# A synset line ends with " | gloss"; the gloss holds definitions and, in double quotes, usage examples.
_QUOTED = re.compile(r'"([^"]+)"')


def _debian_version(package: str) -> str:
    """The installed Debian package's version, or "unknown" where dpkg is not there to ask."""
    if shutil.which("dpkg-query") is None:
        return "unknown"
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def wordnet_source() -> TextSource:
    """Describe the installed WordNet package for the dataset card, with the notice its licence requires."""
    return TextSource(
        name="wordnet",
        package="wordnet-base (Debian)",
        version=_debian_version("wordnet-base"),
        licence="WordNet 3.0 licence (permissive, BSD-like; keep the notice)",
        description="the usage examples in WordNet 3.0's glosses (modern everyday English)",
        notice=WORDNET_NOTICE,
    )


def read_wordnet_examples() -> dict[str, list[str]]:
    """Return {part of speech: usage examples in file order}; raises with the install command when missing."""
    missing = [part for part in WORDNET_PARTS if not (WORDNET_DIR / f"data.{part}").exists()]
    if missing:
        raise RuntimeError(
            f"The corpus text comes partly from Debian's wordnet-base, which is not installed: {WORDNET_INSTALL_HINT}"
        )
    examples: dict[str, list[str]] = {}
    for part in WORDNET_PARTS:
        found = []
        with open(WORDNET_DIR / f"data.{part}", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.startswith("  "):  # the licence header at the top of each file
                    continue
                _, bar, gloss = line.partition(" | ")
                if bar:
                    found.extend(example.strip() for example in _QUOTED.findall(gloss))
        examples[part] = found
    return examples


def everyday_source() -> TextSource:
    """Describe the generated `everyday` utterances (tiny-audio's own frames and word lists)."""
    from .everyday import SEED, SIZE

    return TextSource(
        name="everyday",
        package="tiny-audio (tiny_audio/data/everyday.py)",
        version=f"{SEED}, {SIZE} utterances",
        licence="generated by tiny-audio (its licence)",
        description="generated requests, questions and read-backs full of numbers, dates, times, amounts, spelled "
        "letters, NATO words, names and places",
    )
