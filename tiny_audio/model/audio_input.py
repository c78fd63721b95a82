"""Turn whatever a user passes as audio into a 16 kHz mono float32 numpy array, or say clearly why not.

The one audio decoder of tiny-audio: the pipeline, the processor, the training collator, the evaluation loaders and
the data card all read audio through `load_audio`. Hub remote code: imports only the standard library, numpy, torch
and transformers at module level. PCM WAV is read by the standard library's `wave`; other formats by `soundfile`
(libsndfile: FLAC, Ogg, MP3, float WAV, ...) when it is installed, else by ffmpeg (as transformers' own ASR pipeline
does; logged). Resampling is a windowed-sinc filter (`audio_blocks.py`).

Encoded audio is decoded and resampled `BLOCK_SECONDS` at a time. `AudioFile` hands a local file over as a stream
of such blocks (an ffmpeg pipe for what only ffmpeg reads), so a long recording is never held whole: the pipeline
cuts it into pieces as it reads. `load_audio` joins the same blocks, so both give the same samples.
"""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import urllib.request
import wave
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from .audio_blocks import resample, resampled, split_at_pauses
from .constants import MIN_SECONDS, SAMPLING_RATE

__all__ = ["ACCEPTED", "AudioFile", "audio_file", "check_stream", "check_waveform", "load_audio", "resample"]
__all__ += ["split_at_pauses", "to_mono_float"]  # the signal functions are re-exported where callers found them

logger = logging.getLogger(__name__)

ACCEPTED = (
    "a file path or http(s) URL, audio file bytes, a 1-D or 2-D (channels) numpy array or torch tensor (float or "
    "int16, assumed 16 kHz), or a dict with 'raw' or 'array' and 'sampling_rate' (or 'bytes'/'path' as in `datasets`)"
)
# Float samples are full scale at 1; lossy decoding and resampling overshoot it by a few dB at most (a clipped
# master's MP3 peaks near 1.4, +3 dB). A peak past +6 dB is a scaling mistake, most often int16 values passed as floats
# (peaks in the thousands): Whisper's log-mel reads it as a different input (its features shift with the level).
MAX_PEAK = 2.0
_LOGGED: set[str] = set()  # fallbacks already reported at INFO level; later ones go to DEBUG


BLOCK_SECONDS = 10  # encoded audio is decoded and resampled this much at a time


def load_audio(inputs: Any, array_sampling_rate: int = SAMPLING_RATE, *, check: bool = True) -> np.ndarray:
    """Decode, downmix, convert to float32 and resample `inputs` to 16 kHz; raise ValueError on bad input.

    Accepts a path, encoded bytes, a numpy array or torch tensor, or a dict: {'raw' or 'array', 'sampling_rate'} or
    {'bytes', 'path'} as `datasets` gives them. Bare arrays and tensors carry no rate: they are taken to be at
    `array_sampling_rate`. Returns a C-contiguous 1-D float32 array at `SAMPLING_RATE`. With `check` (the default)
    the result must also be usable as model input (`check_waveform`: non-empty, finite, at least `MIN_SECONDS`, not
    digital silence); `check=False` only decodes, for callers that judge clips themselves (training, evaluation).
    """
    if (encoded := _encoded(inputs)) is not None:
        source, what = encoded
        blocks = [np.zeros(0, dtype=np.float32), *_decoded_blocks(source, what)]
        waveform = np.concatenate(blocks) if len(blocks) > 2 else blocks[-1]
    else:
        waveform, source_rate, what = _decode_array(inputs, array_sampling_rate)
        waveform = to_mono_float(waveform, what)
        if source_rate != SAMPLING_RATE:
            waveform = resample(waveform, source_rate, SAMPLING_RATE)
    if check:
        check_waveform(waveform, SAMPLING_RATE, what)
    return waveform


class AudioFile:
    """A local audio file as a stream of 16 kHz mono float32 blocks (`BLOCK_SECONDS` each), never held whole.

    `blocks()` reads the file anew at each call; `check()` reads it through once with `check_waveform`'s checks and
    returns its length in seconds. Raises ValueError at once for a missing, empty or directory path, and from
    `blocks()` for a file that cannot be decoded (when it is opened, or as far as it can be read)."""

    def __init__(self, path: str | os.PathLike):
        self.path = _checked_path(os.fspath(path))

    def blocks(self) -> Iterator[np.ndarray]:
        return _decoded_blocks(self.path, self.path)

    def check(self) -> float:
        return check_stream(self.blocks(), SAMPLING_RATE, self.path) / SAMPLING_RATE

    def __repr__(self) -> str:
        return f"AudioFile({self.path!r})"


def audio_file(inputs: Any) -> AudioFile | None:
    """`inputs` as an `AudioFile` when it names a local file (a path, or a dict with only a 'path'), else None (in
    memory already: arrays, tensors, bytes; or fetched whole: URLs)."""
    if isinstance(inputs, dict) and inputs.get("raw", inputs.get("array")) is None and inputs.get("bytes") is None:
        inputs = inputs.get("path")
    if isinstance(inputs, (str, os.PathLike)) and not os.fspath(inputs).startswith(("http://", "https://")):
        return AudioFile(inputs)
    return None


def _encoded(inputs: Any) -> tuple[str | io.BytesIO, str] | None:
    """(a local file's path or an encoded file's bytes, its name in messages) for encoded audio; None for arrays."""
    if isinstance(inputs, (str, os.PathLike)):
        path = os.fspath(inputs)
        if is_url(path):  # as transformers' own ASR pipeline does, fetch it
            return _in_memory(_fetch(path), path)
        return _checked_path(path), path
    if isinstance(inputs, (bytes, bytearray)):
        return _in_memory(bytes(inputs), "audio bytes")
    if isinstance(inputs, dict) and inputs.get("raw", inputs.get("array")) is None:
        if inputs.get("bytes") is not None:  # `datasets` Audio(decode=False)
            return _in_memory(inputs["bytes"], inputs.get("path") or "audio bytes")
        if inputs.get("path"):
            return _encoded(inputs["path"])
    return None


def _checked_path(path: str) -> str:
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a directory; pass one audio file (or a list of them).")
    if not os.path.isfile(path):
        raise ValueError(f"Audio file not found: {path!r}. Accepted input: {ACCEPTED}.")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path} is empty (0 bytes).")
    return path


def _in_memory(data: bytes, what: str) -> tuple[io.BytesIO, str]:
    if not data:
        raise ValueError(f"{what} is empty (0 bytes).")
    return io.BytesIO(data), what


def _decode_array(inputs: Any, array_sampling_rate: int) -> tuple[np.ndarray, int, str]:
    if isinstance(inputs, dict):
        return _decode_dict(inputs)
    if isinstance(inputs, torch.Tensor):
        return inputs.detach().cpu().numpy(), array_sampling_rate, "tensor"
    if isinstance(inputs, np.ndarray):
        return inputs, array_sampling_rate, "array"
    raise ValueError(f"Unsupported audio input of type {type(inputs).__name__}. Accepted input: {ACCEPTED}.")


def is_url(inputs: Any) -> bool:
    """Whether `inputs` is an http(s) URL that `load_audio` fetches."""
    return isinstance(inputs, str) and inputs.startswith(("http://", "https://"))


def _decode_dict(inputs: dict) -> tuple[np.ndarray, int, str]:
    array = inputs.get("raw", inputs.get("array"))
    if array is None:
        raise ValueError(
            f"Audio dict has keys {sorted(inputs)}; it needs 'raw' or 'array'. Accepted input: {ACCEPTED}."
        )
    if "sampling_rate" not in inputs:
        raise ValueError("Audio dict with an array needs 'sampling_rate' (in Hz) as well.")
    rate = inputs["sampling_rate"]
    if not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise ValueError(f"sampling_rate must be a positive integer number of Hz, got {rate!r}.")
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    return np.asarray(array), int(rate), "audio dict"


def _fetch(url: str, timeout_seconds: float = 60) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout_seconds) as response:
            return response.read()
    except (OSError, ValueError) as error:  # URLError, HTTPError and timeouts are OSErrors
        raise ValueError(f"Cannot fetch audio from {url}: {error}") from error


def _decoded_blocks(source: str | io.BytesIO, what: str) -> Iterator[np.ndarray]:
    """16 kHz mono float32 blocks of an encoded file (a path, or its bytes in a BytesIO). The decoder is chosen, and
    the file opened, now: PCM WAV with the standard library, anything else with soundfile at its own rate, or, when
    soundfile is missing or cannot read it, with ffmpeg at 16 kHz."""
    if _starts_as_wav(source):
        try:
            reader = wave.open(source)
            if reader.getsampwidth() not in (1, 2, 3, 4):
                reader.close()
                raise ValueError(f"unsupported WAV sample width {reader.getsampwidth()}")
        except (wave.Error, EOFError, ValueError):
            pass  # e.g. float or extensible WAV: soundfile or ffmpeg reads those
        else:
            return resampled(_wav_blocks(reader, what), reader.getframerate(), SAMPLING_RATE)
    soundfile = _soundfile()
    if soundfile is None:
        why = "soundfile is not installed"
    else:
        try:
            reader = soundfile.SoundFile(_rewound(source))
        except (RuntimeError, TypeError, ValueError) as error:  # LibsndfileError is a RuntimeError
            # libsndfile's own reason, without the "Error opening <_io.BytesIO object at 0x...>: " it is wrapped in
            why = f"soundfile cannot read it ({getattr(error, 'error_string', None) or _name_buffers(str(error))})"
        else:
            return resampled(_soundfile_blocks(reader, what), reader.samplerate, SAMPLING_RATE)
    _log_once(
        "no soundfile" if soundfile is None else "soundfile failed",
        "%s was decoded by ffmpeg (resampled by ffmpeg to 16 kHz): %s.",
        what,
        why,
    )
    return _ffmpeg_blocks(_rewound(source), what, why)


def _starts_as_wav(source: str | io.BytesIO) -> bool:
    if isinstance(source, io.BytesIO):
        header = source.getvalue()[:12]
    else:
        with open(source, "rb") as handle:
            header = handle.read(12)
    return header[:4] == b"RIFF" and header[8:12] == b"WAVE"


def _rewound(source: str | io.BytesIO) -> str | io.BytesIO:
    if isinstance(source, io.BytesIO):
        source.seek(0)  # a decoder that gave up may have read some of it
    return source


def _wav_blocks(reader: wave.Wave_read, what: str) -> Iterator[np.ndarray]:
    with reader:
        channels, width = reader.getnchannels(), reader.getsampwidth()
        while frames := reader.readframes(_block_frames(reader.getframerate())):
            frames = frames[: len(frames) // (width * channels) * width * channels]  # a file cut short mid-frame
            yield _mono(_pcm(frames, width).reshape(-1, channels), what)


def _block_frames(rate: int) -> int:
    return max(1, int(BLOCK_SECONDS * rate))


def _pcm(frames: bytes, width: int) -> np.ndarray:
    if width == 3:  # 24-bit: widen to int32 by adding a low zero byte
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3)
        samples = np.zeros((raw.shape[0], 4), dtype=np.uint8)
        samples[:, 1:] = raw
        return samples.view("<i4").reshape(-1)
    return np.frombuffer(frames, dtype={1: np.uint8, 2: "<i2", 4: "<i4"}[width])


def _soundfile_blocks(reader, what: str) -> Iterator[np.ndarray]:
    with reader:
        try:
            for block in reader.blocks(_block_frames(reader.samplerate), dtype="float32", always_2d=True):
                yield _mono(block, what)
        except (RuntimeError, TypeError, ValueError) as error:  # a file that breaks off part of the way in
            raise ValueError(
                f"Cannot decode {what} as audio past {reader.tell() / reader.samplerate:.1f} s: "
                f"{getattr(error, 'error_string', None) or _name_buffers(str(error))}"
            ) from error


def _mono(frames: np.ndarray, what: str) -> np.ndarray:
    """One block of (frames, channels) samples as mono float32: what `to_mono_float` gives for a whole file."""
    samples = to_mono_float(frames.reshape(-1), what).reshape(frames.shape)
    return np.ascontiguousarray(samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1))


def _ffmpeg_blocks(source: str | io.BytesIO, what: str, why: str) -> Iterator[np.ndarray]:
    """ffmpeg's 16 kHz mono float32 samples: of bytes in memory as transformers' own ASR pipeline reads them, of a
    file through a pipe, one block at a time."""
    if isinstance(source, io.BytesIO):
        yield _read_with_ffmpeg(source.getvalue(), what, why)
        return
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "quiet", "-i", source, "-ac", "1"]
    command += ["-ar", str(SAMPLING_RATE), "-f", "f32le", "pipe:1"]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError as error:
        raise _no_ffmpeg(what, why) from error
    samples = 0
    try:
        while data := process.stdout.read(4 * _block_frames(SAMPLING_RATE)):
            block = np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4").copy()
            samples += block.size
            yield block
        if process.wait() != 0 or samples == 0:
            raise _ffmpeg_failed(what, why, ValueError(f"ffmpeg exited with status {process.returncode}"))
    finally:
        if process.poll() is None:  # the reader stopped early (an error, or a caller that had enough)
            process.kill()
        process.stdout.close()
        process.wait()


def _read_with_ffmpeg(data: bytes, what: str, why: str) -> np.ndarray:
    from transformers.pipelines.audio_utils import ffmpeg_read

    try:
        return ffmpeg_read(data, SAMPLING_RATE)
    except ValueError as error:
        if "ffmpeg was not found" in str(error):
            raise _no_ffmpeg(what, why) from error
        raise _ffmpeg_failed(what, why, error) from error


def _no_ffmpeg(what: str, why: str) -> ValueError:
    return ValueError(
        f"Cannot decode {what}: it is not a PCM WAV file, {why}, and ffmpeg is not installed. Install "
        f"soundfile (pip install soundfile) or ffmpeg, or convert to WAV, or pass a numpy array. Accepted "
        f"input: {ACCEPTED}."
    )


def _ffmpeg_failed(what: str, why: str, error: Exception) -> ValueError:
    # transformers' ffmpeg message is generic (it asks for a valid extension and a full URL): say only that ffmpeg
    # failed too; the error chain keeps its text for a traceback.
    return ValueError(
        f"Cannot decode {what} as audio: {why}, and ffmpeg cannot read it either. Accepted input: {ACCEPTED}."
    )


def _name_buffers(message: str) -> str:
    """A decoder's message with the in-memory file objects it names (`<_io.BytesIO object at 0x7f...>`, which means
    nothing to a user) called "the audio bytes"."""
    return re.sub(r"<_io\.\w+ object at 0x[0-9a-fA-F]+>", "the audio bytes", message)


@lru_cache(maxsize=1)
def _soundfile():
    """The soundfile module, or None when it (or its libsndfile) is not installed: it is optional on the Hub."""
    try:
        import soundfile
    except (ImportError, OSError):  # OSError: the module is there but libsndfile failed to load
        return None
    return soundfile


def _log_once(key: str, message: str, *args: Any) -> None:
    """INFO the first time a kind of fallback happens in this process, DEBUG after that (no silent fallbacks)."""
    logger.log(logging.DEBUG if key in _LOGGED else logging.INFO, message, *args)
    _LOGGED.add(key)


def to_mono_float(waveform: np.ndarray, what: str) -> np.ndarray:
    """Integer PCM → [-1, 1] floats; (channels, T) or (T, channels) → mean over channels."""
    waveform = np.asarray(waveform)
    if waveform.size == 0:  # e.g. a WAV of 0 frames: an empty clip, not the NaN that a mean over 0 samples gives
        return np.zeros(0, dtype=np.float32)
    if waveform.dtype == np.uint8:
        waveform = (waveform.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(waveform.dtype, np.integer):
        waveform = waveform.astype(np.float32) / float(np.iinfo(waveform.dtype).max + 1)
    elif np.issubdtype(waveform.dtype, np.floating):
        waveform = waveform.astype(np.float32, copy=False)
    else:
        raise ValueError(f"{what} has dtype {waveform.dtype}; accepted are float and integer PCM samples.")
    if waveform.ndim == 2:
        channel_axis = 0 if waveform.shape[0] <= waveform.shape[1] else 1
        waveform = waveform.mean(axis=channel_axis)
    if waveform.ndim != 1:
        raise ValueError(f"{what} has shape {waveform.shape}; accepted are (samples,) or (channels, samples).")
    return np.ascontiguousarray(waveform)


def check_waveform(waveform: np.ndarray, sampling_rate: int, what: str) -> None:
    """Raise ValueError unless `waveform` is usable as model input: samples, all finite, at least `MIN_SECONDS`
    long, not digital silence."""
    check_stream([waveform], sampling_rate, what)


def check_stream(blocks: Iterable[np.ndarray], sampling_rate: int, what: str) -> int:
    """`check_waveform`'s checks over a recording given as blocks, one block at a time; returns its sample count."""
    samples, loudest = 0, 0.0
    for block in blocks:
        if block.size == 0:
            continue
        if not np.isfinite(block).all():
            raise ValueError(f"{what} contains NaN or infinite samples; pass finite values in [-1, 1].")
        samples += block.size
        loudest = max(loudest, float(np.abs(block).max()))
    if samples == 0:
        raise ValueError(f"{what} holds no samples; pass at least {MIN_SECONDS} s of audio.")
    if samples < MIN_SECONDS * sampling_rate:
        raise ValueError(f"{what} is {samples / sampling_rate:.3f} s long; at least {MIN_SECONDS} s is needed.")
    if not loudest > 0:
        raise ValueError(f"{what} is digital silence (every sample is 0); there is nothing to transcribe.")
    if loudest > MAX_PEAK:
        raise ValueError(
            f"{what} has samples up to {loudest:g}; float audio is accepted in [-1, 1] (up to {MAX_PEAK:g} for "
            "overshoot). int16 samples passed as floats? Divide them by 32768, or pass the int16 array itself."
        )
    return samples
