"""What the pipeline accepts (paths, bytes, arrays, tensors, dicts, any rate, mono or stereo) and how it refuses."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
import soundfile
import torch
from conftest import TARGETS

from tiny_audio import ASRPipeline
from tiny_audio.model import audio_input
from tiny_audio.model.audio_input import load_audio, resample, split_at_pauses


@pytest.fixture(scope="module")
def asr(trained_model):
    model, processor = trained_model
    return ASRPipeline(model=model, processor=processor)


@pytest.fixture(scope="module")
def clip(training_clips):
    return training_clips[0]


def encoded(clip: np.ndarray, sampling_rate: int, audio_format: str, subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, clip, sampling_rate, format=audio_format, subtype=subtype)
    return buffer.getvalue()


def test_every_accepted_form_gives_the_same_text(asr, clip, tmp_path):
    expected = TARGETS[0]
    at_44k = resample(clip, 16_000, 44_100)
    path = tmp_path / "clip.wav"
    soundfile.write(path, clip, 16_000, subtype="PCM_16")
    forms = {
        "path": str(path),
        "pathlib": path,
        "wav bytes (24-bit)": encoded(clip, 16_000, "WAV", "PCM_24"),
        "flac bytes at 44.1 kHz": encoded(at_44k, 44_100, "FLAC"),
        "float array": clip,
        "int16 array": (clip * 32767).astype(np.int16),
        "stereo (channels, samples)": np.stack([clip, clip]),
        "stereo (samples, channels)": np.stack([clip, clip], axis=1),
        "torch tensor": torch.from_numpy(clip),
        "dict raw at 44.1 kHz": {"raw": at_44k, "sampling_rate": 44_100},
        "datasets-style dict": {"array": resample(clip, 16_000, 22_050), "sampling_rate": 22_050, "path": None},
        "datasets bytes dict": {"bytes": encoded(clip, 16_000, "FLAC"), "path": "clip.flac"},
    }
    for name, audio in forms.items():
        assert asr(audio)["text"] == expected, name


@pytest.mark.parametrize("reader", ["soundfile", "ffmpeg"])
def test_lossy_formats_decode_through_soundfile_or_else_ffmpeg(clip, reader, monkeypatch):
    if reader == "ffmpeg":
        if shutil.which("ffmpeg") is None:
            pytest.skip("ffmpeg is not installed")
        monkeypatch.setattr(audio_input, "_soundfile", lambda: None)  # as on a machine without soundfile
    decoded = load_audio(encoded(clip, 16_000, "OGG"))  # Vorbis: lossy, so compare shape and correlation
    assert abs(decoded.shape[0] - clip.shape[0]) < 400
    length = min(decoded.shape[0], clip.shape[0])
    assert np.corrcoef(decoded[:length], clip[:length])[0, 1] > 0.9


def test_call_options(asr, training_clips):
    assert [r["text"] for r in asr(training_clips, batch_size=2)] == TARGETS
    assert len(asr(training_clips[1], max_new_tokens=2)["text"]) <= 2
    assert isinstance(asr(training_clips[0], prompt="What is said?")["text"], str)
    with pytest.raises(ValueError, match=r"Unknown task 'describe'; this model knows \['transcribe'\]"):
        asr(training_clips[0], task="describe")
    with pytest.raises(ValueError, match="Unknown arguments"):
        asr(training_clips[0], stride_length_s=2)
    with pytest.raises(ValueError, match=r"chunk_length_s=0.5 is not accepted; give a number of seconds from 1 to 30"):
        asr(training_clips[0], chunk_length_s=0.5)


def test_long_clips_are_cut_at_pauses_and_their_pieces_texts_joined(asr, training_clips):
    hello, hi_there = training_clips
    pause = np.zeros(8_000, dtype=np.float32)
    long_clip = np.concatenate([hello, pause, hi_there, pause, hello, pause, hi_there])  # 5.2 s
    pieces = split_at_pauses(long_clip, 1.5)
    assert len(pieces) > 2 and max(piece.shape[0] for piece in pieces) <= 1.5 * 16_000
    assert np.array_equal(np.concatenate(pieces), long_clip)  # nothing dropped or repeated
    starts = np.cumsum([piece.shape[0] for piece in pieces])[:-1]
    assert all(long_clip[cut - 800 : cut + 800].max() == 0 for cut in starts)  # every cut inside a pause
    expected = " ".join(text for text in (asr(piece)["text"] for piece in pieces) if text)
    assert asr(long_clip, chunk_length_s=1.5)["text"] == expected
    other = np.concatenate([hi_there, pause, hello])
    batched = asr([long_clip, other], batch_size=2, chunk_length_s=1.5)
    assert [result["text"] for result in batched] == [expected, asr(other, chunk_length_s=1.5)["text"]]
    assert asr(hello, chunk_length_s=1.5)["text"] == TARGETS[0]  # short clips: one piece, as before


@pytest.mark.parametrize(
    "bad_input,message",
    [
        (np.zeros(0, dtype=np.float32), "holds no samples"),
        (np.zeros(16_000, dtype=np.float32), "digital silence"),
        (np.full(16_000, np.nan, dtype=np.float32), "NaN or infinite"),
        (np.array([0.1, np.inf] * 8000, dtype=np.float32), "NaN or infinite"),
        (np.ones(100, dtype=np.float32) * 0.1, "at least 0.1 s is needed"),
        (b"", "is empty"),
        (b"this is not audio at all" * 10, "Cannot decode audio bytes"),
        (42, "Unsupported audio input of type int"),
        ({"array": np.ones(16_000)}, "needs 'sampling_rate'"),
        ({"sampling_rate": 16_000}, "it needs 'raw' or 'array'"),
        ({"raw": np.ones(16_000), "sampling_rate": -5}, "positive integer"),
        (np.ones((2, 3, 4000), dtype=np.float32), "accepted are \\(samples,\\)"),
        (np.array(["a", "b"]), "dtype <U1"),
    ],
)
def test_bad_input_raises_value_error_saying_what_and_what_is_accepted(asr, bad_input, message):
    with pytest.raises(ValueError, match=message):
        asr(bad_input)


def test_unreadable_and_missing_files(asr, tmp_path):
    garbage = tmp_path / "broken.wav"
    garbage.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(ValueError, match="broken.wav"):
        asr(str(garbage))
    with pytest.raises(ValueError, match="Audio file not found"):
        asr(str(tmp_path / "nope.wav"))


def test_resampler_keeps_a_tone_and_removes_what_the_new_rate_cannot_hold():
    rate = 48_000
    time = np.arange(rate) / rate
    tone_1k = np.sin(2 * np.pi * 1000 * time).astype(np.float32)
    tone_12k = np.sin(2 * np.pi * 12_000 * time).astype(np.float32)  # above 8 kHz: must not alias into 16 kHz audio
    kept, removed = resample(tone_1k, rate, 16_000), resample(tone_12k, rate, 16_000)
    assert kept.shape == (16_000,)
    assert abs(np.sqrt(np.mean(kept[200:-200] ** 2)) - np.sqrt(0.5)) < 0.01
    assert np.sqrt(np.mean(removed[200:-200] ** 2)) < 0.01
    assert load_audio({"array": tone_1k, "sampling_rate": rate}).shape == (16_000,)
    assert load_audio({"array": tone_1k[:8000], "sampling_rate": 8_000}).shape == (16_000,)


def test_configs_saved_with_a_describe_prompt_still_load():
    """New configs offer only the task training teaches; an older config.json's extra "describe" prompt loads as
    it was saved and stays callable."""
    from tiny_audio import ASRConfig

    assert ASRConfig().prompts == {"transcribe": "Transcribe the audio."}
    old = ASRConfig.from_dict({"prompts": {"transcribe": "Transcribe the audio.", "describe": "Describe the audio."}})
    assert old.instruction(task="describe") == "Describe the audio." and old.instruction() == "Transcribe the audio."
