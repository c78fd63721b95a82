"""The development set "ivr-dev": 420 real recordings of telephone-system prompts, read from a folder beside the repo.

One professional US-English speaker (Allison Smith) reading the Asterisk PBX core sound prompts (18.7 min, 2,505
reference words): single digits, letters and ordinals, short commands, and a few long reads. CC-BY-SA 3.0, Digium /
Allison Smith; keep that attribution wherever the clips or figures derived from them are published. The folder holds
`manifest.tsv` (file, text, seconds), `audio/*.flac` (16 kHz) and a README saying where they come from.

The clips are not copied into the repo: they are read from `<repo>/../shared/data/ivr-dev` (a clone with `shared/`
beside it), or from the folder TINY_AUDIO_IVR_DEV_DIR names. A measure only: it lives here, under evaluation, and
no training recipe or corpus builder may name it (tests/test_ivr_dev.py checks).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DESCRIPTION", "ENV_VAR", "IVR_DEV", "MANIFEST", "default_root", "ivr_dev_manifest", "ivr_dev_root"]

IVR_DEV = "ivr-dev"
ENV_VAR = "TINY_AUDIO_IVR_DEV_DIR"
MANIFEST = "manifest.tsv"
DESCRIPTION = "420 real phone-system prompts, one speaker (Asterisk core sounds; CC-BY-SA 3.0, Digium/Allison Smith)"


def default_root() -> Path:
    """`shared/data/ivr-dev` beside the repo: this file is <repo>/tiny_audio/evaluation/ivr_dev.py."""
    return Path(__file__).resolve().parents[3] / "shared" / "data" / IVR_DEV


def ivr_dev_root() -> Path:
    """The folder to read: TINY_AUDIO_IVR_DEV_DIR when set, else the default beside the repo."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured).expanduser() if configured else default_root()


def ivr_dev_manifest(root: Path | None = None) -> Path:
    """The set's manifest (ids are the file names without suffix); raises if it is absent."""
    root = ivr_dev_root() if root is None else Path(root)
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(
            f"{IVR_DEV}: no {MANIFEST} in {root}; put the ivr-dev folder at {default_root()} (shared/ beside the "
            f"repo), set {ENV_VAR}=/path/to/ivr-dev, or pass --dataset /path/to/ivr-dev"
        )
    return manifest


def development_sets() -> str:
    """dev-real and ivr-dev as `--list-datasets` lines, each with the folder it is read from and whether it is there."""
    from tiny_audio.data.dev_real import INSTALL_HINT, PARTS, dev_root

    ivr_root, dev_real_root = ivr_dev_root(), dev_root()
    ivr_state = "" if (ivr_root / MANIFEST).is_file() else f" [absent: set {ENV_VAR}]"
    dev_real_state = "" if (dev_real_root / PARTS[0][0] / PARTS[0][1]).is_file() else f" [absent: {INSTALL_HINT}]"
    return (
        f"  {IVR_DEV:<18} {ivr_root}{ivr_state}; {DESCRIPTION}\n"
        f"  {'dev-real':<18} {dev_real_root}{dev_real_state}; 10 clips from Debian's pocketsphinx-testdata"
    )
