"""The line a clip is heard through: a speech codec round trip with Debian's ffmpeg, applied when a corpus is built.

Why at build time: real recordings reach a recogniser through telephone and internet codecs (G.711 mu-law and GSM at
8 kHz, G.722 wideband, Opus and MP3 at low bit rates), and synthetic voices reach it through none. Training-time
augmentation cannot add them to a run with `training.encoder_cache`, whose frozen encoder's outputs are computed once
per clip; a corpus whose clips already carry their channel can be cached like any other.

Each planned clip gets one channel, drawn with the rest of its plan (`plan.py`), so a build stays reproducible.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np

from ..model.constants import SAMPLING_RATE

# name -> (ffmpeg encoder arguments, container format). The sample rate is the codec's own: 8 kHz for the
# narrowband telephone codecs (everything above 4 kHz is lost, as on a phone line), 16 kHz for the wideband ones.
CODECS: dict[str, tuple[list[str], str]] = {
    "g722": (["-ar", "16000", "-c:a", "g722"], "g722"),  # wideband telephony (HD voice, DECT, SIP phones)
    "mulaw": (["-ar", "8000", "-c:a", "pcm_mulaw"], "mulaw"),  # G.711: the classic telephone line (headerless)
    "gsm": (["-ar", "8000", "-c:a", "libgsm"], "gsm"),  # 2G mobile, 13 kbit/s
    "opus": (["-ar", "16000", "-c:a", "libopus", "-b:a", "12k"], "ogg"),  # VoIP and video calls at a low rate
    "mp3": (["-ar", "16000", "-c:a", "libmp3lame", "-b:a", "24k"], "mp3"),  # small recordings and podcasts
}
CHANNELS = ("clean", *CODECS)
INSTALL_HINT = "install it with `apt-get install --no-install-recommends ffmpeg`"
TIMEOUT_SECONDS = 60


def _ffmpeg(args: list[str], data: bytes) -> bytes:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError(f"codec channels need ffmpeg, which is not installed: {INSTALL_HINT}")
    done = subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", *args], input=data, capture_output=True, timeout=TIMEOUT_SECONDS
    )
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {done.stderr.decode(errors='replace').strip()[:200]}")
    return done.stdout


def apply_channel(audio: np.ndarray, channel: str) -> np.ndarray:
    """`audio` (float32, 16 kHz mono) after encoding with `channel`'s codec and decoding back to 16 kHz."""
    if channel == "clean":
        return audio
    encoder_args, container = CODECS[channel]
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    raw_input = ["-f", "s16le", "-ar", str(SAMPLING_RATE), "-ac", "1", "-i", "pipe:0"]
    coded = _ffmpeg([*raw_input, *encoder_args, "-f", container, "pipe:1"], pcm)
    # A headerless stream (raw mu-law) does not say its rate: the decoder is told the one it was encoded at.
    rate = encoder_args[encoder_args.index("-ar") :][:2] if container == "mulaw" else []
    decoded = _ffmpeg(["-f", container, *rate, "-i", "pipe:0", "-f", "s16le", "-ar", str(SAMPLING_RATE), "-ac", "1",
                       "pipe:1"], coded)  # fmt: skip
    return np.frombuffer(decoded, dtype="<i2").astype(np.float32) / 32768.0
