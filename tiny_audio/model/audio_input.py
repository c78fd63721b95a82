"""Turn whatever a user passes as audio into a 16 kHz mono float32 numpy array, or say clearly why not.

The one audio decoder of tiny-audio: the pipeline, the processor, the training collator, the evaluation loaders and
the data card all read audio through `load_audio`. Hub remote code: imports only the standard library, numpy, torch
and transformers at module level. PCM WAV is read by the standard library's `wave`; other formats by `soundfile`
(libsndfile: FLAC, Ogg, MP3, float WAV, ...) when it is installed, else by ffmpeg (as transformers' own ASR pipeline
does; logged). Resampling is a windowed-sinc filter written here.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import urllib.request
import wave
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from .constants import MIN_SECONDS, SAMPLING_RATE

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


def load_audio(inputs: Any, array_sampling_rate: int = SAMPLING_RATE, *, check: bool = True) -> np.ndarray:
    """Decode, downmix, convert to float32 and resample `inputs` to 16 kHz; raise ValueError on bad input.

    Accepts a path, encoded bytes, a numpy array or torch tensor, or a dict: {'raw' or 'array', 'sampling_rate'} or
    {'bytes', 'path'} as `datasets` gives them. Bare arrays and tensors carry no rate: they are taken to be at
    `array_sampling_rate`. Returns a C-contiguous 1-D float32 array at `SAMPLING_RATE`. With `check` (the default)
    the result must also be usable as model input (`check_waveform`: non-empty, finite, at least `MIN_SECONDS`, not
    digital silence); `check=False` only decodes, for callers that judge clips themselves (training, evaluation).
    """
    waveform, source_rate, what = _decode(inputs, array_sampling_rate)
    waveform = to_mono_float(waveform, what)
    if source_rate != SAMPLING_RATE:
        waveform = resample(waveform, source_rate, SAMPLING_RATE)
    if check:
        check_waveform(waveform, SAMPLING_RATE, what)
    return waveform


def _decode(inputs: Any, array_sampling_rate: int = SAMPLING_RATE) -> tuple[np.ndarray, int, str]:
    if isinstance(inputs, (str, os.PathLike)):
        path = os.fspath(inputs)
        if is_url(path):  # as transformers' own ASR pipeline does, fetch it
            waveform, rate = decode_bytes(_fetch(path), path)
            return waveform, rate, path
        if os.path.isdir(path):
            raise ValueError(f"{path!r} is a directory; pass one audio file (or a list of them).")
        if not os.path.isfile(path):
            raise ValueError(f"Audio file not found: {path!r}. Accepted input: {ACCEPTED}.")
        with open(path, "rb") as handle:
            waveform, rate = decode_bytes(handle.read(), path)
        return waveform, rate, path
    if isinstance(inputs, (bytes, bytearray)):
        waveform, rate = decode_bytes(bytes(inputs), "audio bytes")
        return waveform, rate, "audio bytes"
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
    if array is None and inputs.get("bytes") is not None:  # `datasets` Audio(decode=False)
        waveform, rate = decode_bytes(inputs["bytes"], inputs.get("path") or "audio bytes")
        return waveform, rate, inputs.get("path") or "audio bytes"
    if array is None and inputs.get("path"):
        return _decode(inputs["path"])
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


def decode_bytes(data: bytes, what: str) -> tuple[np.ndarray, int]:
    """(samples, rate) of an encoded file: PCM WAV with the standard library, anything else with soundfile at its
    own rate, or, when soundfile is missing or cannot read it, with ffmpeg at 16 kHz."""
    if not data:
        raise ValueError(f"{what} is empty (0 bytes).")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            return _read_pcm_wav(data)
        except (wave.Error, EOFError, ValueError):
            pass  # e.g. float or extensible WAV: soundfile or ffmpeg reads those
    soundfile = _soundfile()
    if soundfile is None:
        why = "soundfile is not installed"
    else:
        try:
            waveform, rate = soundfile.read(io.BytesIO(data), dtype="float32")
            return waveform, int(rate)
        except (RuntimeError, TypeError, ValueError) as error:  # LibsndfileError is a RuntimeError
            # libsndfile's own reason, without the "Error opening <_io.BytesIO object at 0x...>: " it is wrapped in
            why = f"soundfile cannot read it ({getattr(error, 'error_string', None) or _name_buffers(str(error))})"
    waveform = _read_with_ffmpeg(data, what, why)
    _log_once(
        "no soundfile" if soundfile is None else "soundfile failed",
        "%s was decoded by ffmpeg (resampled by ffmpeg to 16 kHz): %s.",
        what,
        why,
    )
    return waveform, SAMPLING_RATE


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


def _read_with_ffmpeg(data: bytes, what: str, why: str) -> np.ndarray:
    from transformers.pipelines.audio_utils import ffmpeg_read

    try:
        return ffmpeg_read(data, SAMPLING_RATE)
    except ValueError as error:
        if "ffmpeg was not found" in str(error):
            raise ValueError(
                f"Cannot decode {what}: it is not a PCM WAV file, {why}, and ffmpeg is not installed. Install "
                f"soundfile (pip install soundfile) or ffmpeg, or convert to WAV, or pass a numpy array. Accepted "
                f"input: {ACCEPTED}."
            ) from error
        # transformers' ffmpeg message is generic (it asks for a valid extension and a full URL): say only that
        # ffmpeg failed too; the error chain keeps its text for a traceback.
        raise ValueError(
            f"Cannot decode {what} as audio: {why}, and ffmpeg cannot read it either. Accepted input: {ACCEPTED}."
        ) from error


def _log_once(key: str, message: str, *args: Any) -> None:
    """INFO the first time a kind of fallback happens in this process, DEBUG after that (no silent fallbacks)."""
    logger.log(logging.DEBUG if key in _LOGGED else logging.INFO, message, *args)
    _LOGGED.add(key)


def _read_pcm_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as reader:
        channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
        frames = reader.readframes(reader.getnframes())
    if width == 3:  # 24-bit: widen to int32 by adding a low zero byte
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3)
        samples = np.zeros((raw.shape[0], 4), dtype=np.uint8)
        samples[:, 1:] = raw
        pcm = samples.view("<i4").reshape(-1)
    else:
        dtypes = {1: np.uint8, 2: "<i2", 4: "<i4"}
        if width not in dtypes:
            raise ValueError(f"unsupported WAV sample width {width}")
        pcm = np.frombuffer(frames, dtype=dtypes[width])
    return pcm.reshape(-1, channels), rate


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
    if waveform.size == 0:
        raise ValueError(f"{what} holds no samples; pass at least {MIN_SECONDS} s of audio.")
    if not np.isfinite(waveform).all():
        raise ValueError(f"{what} contains NaN or infinite samples; pass finite values in [-1, 1].")
    if waveform.size < MIN_SECONDS * sampling_rate:
        raise ValueError(f"{what} is {waveform.size / sampling_rate:.3f} s long; at least {MIN_SECONDS} s is needed.")
    peak = float(np.abs(waveform).max())
    if not peak > 0:
        raise ValueError(f"{what} is digital silence (every sample is 0); there is nothing to transcribe.")
    if peak > MAX_PEAK:
        raise ValueError(
            f"{what} has samples up to {peak:g}; float audio is accepted in [-1, 1] (up to {MAX_PEAK:g} for "
            "overshoot). int16 samples passed as floats? Divide them by 32768, or pass the int16 array itself."
        )


def split_at_pauses(waveform: np.ndarray, max_seconds: float, sampling_rate: int = SAMPLING_RATE) -> list[np.ndarray]:
    """Cut a clip longer than `max_seconds` into consecutive pieces of at most that length, each cut made in the
    middle of the quietest stretch of the last 40% of its piece (most likely a pause between words, so no word is
    split), and return them in order; a shorter clip comes back whole. No sample is dropped or repeated."""
    if not max_seconds >= 1:
        raise ValueError(f"Pieces of long audio must be allowed at least 1 s; got max_seconds={max_seconds}.")
    limit = int(max_seconds * sampling_rate)
    hop = sampling_rate // 100  # 10 ms frames
    window = 10  # frames: 100 ms, about the shortest pause between words
    pieces, start = [], 0
    while waveform.shape[0] - start > limit:
        search = waveform[start + int(0.6 * limit) : start + limit]
        frames = search[: search.shape[0] // hop * hop].reshape(-1, hop)
        energy = np.convolve((frames.astype(np.float64) ** 2).mean(1), np.ones(window), mode="valid")
        cut = start + int(0.6 * limit) + (_middle_of_longest_quiet_run(energy) + window // 2) * hop
        pieces.append(waveform[start:cut])
        start = cut
    pieces.append(waveform[start:])
    return pieces


def _middle_of_longest_quiet_run(energy: np.ndarray) -> int:
    """Index in the middle of the longest run of values within 3 dB of the lowest (a pause's middle, not its edge)."""
    quiet = np.concatenate([[False], energy <= 2 * energy.min() + 1e-12, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))  # alternating run starts and ends
    starts, ends = edges[0::2], edges[1::2]
    longest = int(np.argmax(ends - starts))
    return int((starts[longest] + ends[longest] - 1) // 2)


def resample(waveform: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling: a Hann-windowed sinc low-pass evaluated at each output phase (polyphase conv)."""
    if source_rate == target_rate:
        return waveform
    divisor = math.gcd(source_rate, target_rate)
    down, up = source_rate // divisor, target_rate // divisor
    kernel, width = _sinc_kernel(down, up)
    signal = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))[None, None]  # (1, 1, T)
    signal = torch.nn.functional.pad(signal, (width, width + down))
    phases = torch.nn.functional.conv1d(signal, kernel, stride=down)  # (1, up, T/down): one row per output phase
    output = phases[0].t().reshape(-1)  # interleave the phases
    return output[: math.ceil(up * waveform.shape[-1] / down)].numpy()


@lru_cache(maxsize=8)
def _sinc_kernel(down: int, up: int, zero_crossings: int = 6, rolloff: float = 0.99) -> tuple[torch.Tensor, int]:
    cutoff = min(down, up) * rolloff  # below both Nyquist frequencies, in units of the reduced rates
    width = math.ceil(zero_crossings * down / cutoff)
    taps = torch.arange(-width, width + down, dtype=torch.float64)[None, :] / down  # input positions, (1, K)
    phase_offsets = torch.arange(up, dtype=torch.float64)[:, None] / up  # where each output phase sits, (up, 1)
    time = (taps - phase_offsets) * cutoff  # in zero crossings of the low-pass
    window = torch.cos(time.clamp(-zero_crossings, zero_crossings) * math.pi / zero_crossings / 2) ** 2
    kernel = torch.special.sinc(time) * window * cutoff / down
    return kernel.to(torch.float32)[:, None, :], width  # (up, 1, K)
