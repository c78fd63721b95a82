"""Where the corpus text comes from: Jane Austen's six novels, as shipped by Debian's `r-cran-janeaustenr`.

Why this package: it installs from Debian with apt alone (no Hub, no download at run time), the texts are public
domain and the package is MIT; it holds ~720,000 words of varied, edited English prose (narration and dialogue),
which cleans into ~50,000 speakable sentences. The LibriVox development clips are read from "Sense and
Sensibility", so the dev-set exclusion in `text.py` matters here.

The novels are stored in R's lazy-load format, so we ask R itself (`Rscript`, which the Debian package depends on)
to print them: one small subprocess per novel, ~0.3 s each, instead of reimplementing R's serialisation format.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

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
