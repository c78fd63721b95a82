"""One audio decoder (`audio_input.load_audio`) for the pipeline, the collator, the evaluation loaders and the data
cards: it must give the model exactly the samples the earlier decoders gave (soundfile + soxr in training and
evaluation, stdlib WAV / ffmpeg in the pipeline), and say when it falls back to ffmpeg."""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from tiny_audio.model import audio_input
from tiny_audio.model.audio_input import load_audio
from tiny_audio.model.constants import SAMPLING_RATE

ROOT = Path(__file__).resolve().parents[1]
HELLO = ROOT / "tiny_audio" / "samples" / "hello.wav"
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def encode(clip: np.ndarray, rate: int, audio_format: str, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, clip, rate, format=audio_format, subtype=subtype)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def hello() -> np.ndarray:
    """The bundled sample as the earlier training/evaluation decoder read it: soundfile, float32."""
    clip, rate = soundfile.read(HELLO, dtype="float32")
    assert rate == SAMPLING_RATE and clip.ndim == 1
    return clip


@pytest.fixture
def without_soundfile(monkeypatch):
    monkeypatch.setattr(audio_input, "_soundfile", lambda: None)
    monkeypatch.setattr(audio_input, "_LOGGED", set())


def test_16khz_wav_and_flac_decode_to_the_same_samples_as_before(hello, tmp_path):
    flac = tmp_path / "hello.flac"
    soundfile.write(flac, hello, SAMPLING_RATE, subtype="PCM_16")
    forms = {
        "wav path": HELLO,
        "wav bytes": HELLO.read_bytes(),
        "flac path": flac,
        "flac bytes": flac.read_bytes(),
        "datasets {bytes, path}": {"bytes": flac.read_bytes(), "path": "hello.flac"},
        "datasets {path}": {"bytes": None, "path": str(flac)},
    }
    for name, audio in forms.items():
        decoded = load_audio(audio)
        assert decoded.dtype == np.float32 and decoded.flags.c_contiguous, name
        assert np.array_equal(decoded, hello), name  # bit-identical: no resampling, same int16 → float scaling


@needs_ffmpeg
def test_the_ffmpeg_fallback_gives_the_same_samples_and_says_so_once(hello, without_soundfile, caplog):
    flac = encode(hello, SAMPLING_RATE, "FLAC")
    with caplog.at_level(logging.DEBUG, logger=audio_input.__name__):
        first, second = load_audio(flac), load_audio({"bytes": flac, "path": "hello.flac"})
    assert np.array_equal(first, hello) and np.array_equal(second, hello)  # what the pipeline gave before
    levels = [(record.levelno, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in levels] == [logging.INFO, logging.DEBUG]
    assert "audio bytes was decoded by ffmpeg" in levels[0][1] and "soundfile is not installed" in levels[0][1]
    assert "hello.flac" in levels[1][1]
    assert np.array_equal(load_audio(HELLO), hello)  # PCM WAV needs neither soundfile nor ffmpeg


def test_without_soundfile_or_ffmpeg_the_error_says_what_to_install(hello, without_soundfile, monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ValueError, match=r"soundfile is not installed, and ffmpeg is not installed. Install soundfile"):
        load_audio(encode(hello, SAMPLING_RATE, "FLAC"))
    assert np.array_equal(load_audio(HELLO), hello)


def test_other_rates_are_resampled_close_to_the_old_soxr_path(hello):
    at_22k = encode(soxr.resample(hello, SAMPLING_RATE, 22_050, quality="HQ"), 22_050, "FLAC")
    decoded = load_audio(at_22k)
    stored, rate = soundfile.read(io.BytesIO(at_22k), dtype="float32")
    before = soxr.resample(stored, rate, SAMPLING_RATE, quality="HQ")  # the old training/evaluation decoder
    assert decoded.shape == before.shape == hello.shape
    error = decoded - before
    assert 10 * np.log10(np.mean(before**2) / np.mean(error**2)) > 35  # dB; the two filters differ only near 8 kHz
    assert np.corrcoef(decoded, before)[0, 1] > 0.9999


def test_stereo_and_float_files_downmix_like_before(hello):
    stereo = np.stack([hello, 0.5 * hello], axis=1)
    for audio_format, subtype in (("FLAC", "PCM_24"), ("WAV", "FLOAT"), ("OGG", "VORBIS")):
        data = encode(stereo, SAMPLING_RATE, audio_format, subtype)
        before = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)[0].mean(axis=1)
        assert np.array_equal(load_audio(data), before), audio_format


def test_training_and_evaluation_decode_through_the_one_decoder(hello):
    from tiny_audio.data import decode_audio
    from tiny_audio.evaluation.loaders import _decode
    from tiny_audio.training.collator import decode_example

    assert decode_audio is load_audio  # the name the published data cards use
    row = {"bytes": encode(hello, SAMPLING_RATE, "FLAC"), "path": "hello.flac"}
    assert np.array_equal(decode_example(row), hello)
    assert np.array_equal(_decode(row, None, "row 0"), hello)
    at_22k = soxr.resample(hello, SAMPLING_RATE, 22_050).astype(np.float32)
    decoded = {"array": at_22k, "sampling_rate": 22_050, "path": None}  # a `datasets` row decoded elsewhere
    assert np.array_equal(_decode(decoded, None, "row 0"), load_audio(decoded))
    silence = {"array": np.zeros(800, dtype=np.float32), "sampling_rate": SAMPLING_RATE}
    assert _decode(silence, None, "row 1").shape == (800,)  # judged by the system under test, not the loader
    assert decode_example({"bytes": encode(np.zeros(800), SAMPLING_RATE, "FLAC"), "path": "s.flac"}).shape == (800,)
    with pytest.raises(ValueError, match=r"row 2: .*needs 'sampling_rate'"):
        _decode({"array": at_22k}, None, "row 2")


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])  # the standard library reads one, soundfile the other
def test_a_wav_of_zero_frames_is_called_empty_not_nan(subtype):
    empty = encode(np.zeros((0, 2), dtype=np.float32), 44_100, "WAV", subtype)
    assert load_audio(empty, check=False).shape == (0,)
    with pytest.raises(ValueError, match="audio bytes holds no samples"):
        load_audio(empty)


def test_an_undecodable_file_is_named_without_a_buffer_object(tmp_path):
    garbage = tmp_path / "notes.wav"
    garbage.write_text("just some text\n")
    for source, name in [(garbage, str(garbage)), (garbage.read_bytes(), "audio bytes")]:
        with pytest.raises(ValueError, match=f"Cannot decode {name} as audio") as caught:
            load_audio(source)
        assert "Format not recognised" in str(caught.value) and "object at 0x" not in str(caught.value)
