"""The optional Kokoro-82M engine: fetching its voices (checked, filtered) and speaking with it.

The fetch tests serve a tarball from a file:// URL, so they need no network. The synthesis test needs the `kokoro`
extra and the voices (`scripts/install.sh` installs both); outside CI it skips when they are missing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tiny_audio.data import kokoro
from tiny_audio.data.voices import discover_voices

VOICE_BYTES = kokoro.STYLE_BYTES


def _tarball(tmp_path: Path, files: dict[str, bytes]) -> tuple[str, str]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path = tmp_path / "kokoro-js.tgz"
    path.write_bytes(buffer.getvalue())
    return path.as_uri(), base64.b64encode(hashlib.sha512(buffer.getvalue()).digest()).decode()


def test_fetch_keeps_only_english_voices(tmp_path):
    files = {
        "package/voices/af_bella.bin": b"\0" * VOICE_BYTES,
        "package/voices/bm_george.bin": b"\0" * VOICE_BYTES,
        "package/voices/jf_alpha.bin": b"\0" * VOICE_BYTES,  # Japanese: not an English speaker
        "package/voices/am_short.bin": b"\0" * 100,  # wrong size: not a style table
        "package/README.md": b"readme",
    }
    url, sha512 = _tarball(tmp_path, files)
    written = kokoro.fetch_voices(tmp_path / "voices", url=url, sha512=sha512)
    assert [p.name for p in written] == ["af_bella.bin", "bm_george.bin"]


def test_fetch_refuses_a_tarball_that_does_not_match_the_pin(tmp_path):
    url, _ = _tarball(tmp_path, {"package/voices/af_bella.bin": b"\0" * VOICE_BYTES})
    with pytest.raises(RuntimeError, match="does not match the pinned"):
        kokoro.fetch_voices(tmp_path / "voices", url=url, sha512=kokoro.VOICES_SHA512)
    assert not (tmp_path / "voices").exists()


needs_kokoro = pytest.mark.skipif(
    not kokoro.voice_names() and not os.environ.get("CI"),
    reason=f"Kokoro not installed: {kokoro.INSTALL_HINT}",
)


@needs_kokoro
def test_kokoro_speaks_a_sentence():
    from tiny_audio.data.engines import SynthesisError, pitch_factor, synthesize

    voices = discover_voices(("kokoro",))
    assert len(voices) == 28 and len({v.timbre for v in voices}) == 28
    voice = next(v for v in voices if v.name == "am_michael")
    audio, rate = synthesize(voice, "They used picks and sledges to break the rocks.", speed=1.0, pitch=0.0)
    seconds = len(audio) / rate
    assert rate == kokoro.SAMPLE_RATE and 1.5 < seconds < 6.0 and np.abs(audio).max() > 0.05
    # Faster speech is shorter; a raised pitch is declared at a higher rate with the same final duration.
    fast, fast_rate = synthesize(voice, "They used picks and sledges to break the rocks.", speed=1.2, pitch=0.5)
    assert fast_rate == pytest.approx(kokoro.SAMPLE_RATE * pitch_factor(0.5))
    assert len(fast) / fast_rate < seconds * 0.95
    with pytest.raises(SynthesisError, match="at most 509"):
        synthesize(voice, "Words and more words. " * 60, speed=1.0, pitch=0.0)


@needs_kokoro
def test_the_builder_joins_the_model_before_its_workers_start(tmp_path, monkeypatch):
    from tiny_audio.data import build

    assert kokoro.assemble_model().stat().st_size > 80_000_000  # the joined int8 model
    calls = []

    def assemble() -> None:
        calls.append("joined")
        raise RuntimeError("stop before synthesising")

    monkeypatch.setattr(build.kokoro, "assemble_model", assemble)
    voices = discover_voices(("kokoro",))
    sentences = [f"This is sentence number {n} of the test." for n in range(1, 9)]
    with pytest.raises(RuntimeError, match="stop before synthesising"):
        build.build_corpus(tmp_path / "k", hours=0.01, sentences=sentences, voices=voices, progress=False)
    assert calls == ["joined"] and not list((tmp_path / "k" / "data").glob("*.parquet"))
