"""Long audio as a stream of pieces (issue 48): a file is decoded, resampled and cut at pauses block by block, with
the same samples, pieces and texts as when it is read whole, and what is held is bounded by the piece, not the
recording. The peak RSS of real recordings is benchmarks/long_audio_memory.py's job; these run in seconds."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile
import tiny_backbones

from tiny_audio.model import audio_input, pipeline_asr
from tiny_audio.model.audio_blocks import GROUP_SECONDS, cut_at_pauses, resample, resampled, split_at_pauses
from tiny_audio.model.audio_input import AudioFile, load_audio


def speech_with_pauses(seconds: float, rate: int = 16_000, seed: int = 0) -> np.ndarray:
    """Bursts of tone 0.4 to 1.2 s long with 0.2 to 0.6 s of silence between: pauses for the cutter to find."""
    generator = np.random.default_rng(seed)
    parts, length = [], 0
    while length < seconds * rate:
        burst = tiny_backbones.tone(generator.uniform(0.4, 1.2), generator.uniform(150, 400), rate, seed=length)
        parts += [burst, np.zeros(int(generator.uniform(0.2, 0.6) * rate), dtype=np.float32)]
        length += burst.size + parts[-1].size
    return np.concatenate(parts)[: int(seconds * rate)]


def random_blocks(waveform: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    cuts = np.sort(np.random.default_rng(seed).integers(0, waveform.size, 12))
    return np.split(waveform, cuts)  # some blocks empty, some a few samples, some long


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_resampling_a_stream_gives_the_samples_of_resampling_it_whole(rate):
    waveform = speech_with_pauses(7.3, rate)
    whole = resample(waveform, rate, 16_000)
    assert whole.shape == (int(np.ceil(waveform.size * 16_000 / rate)),)
    assert np.array_equal(np.concatenate(list(resampled(random_blocks(waveform), rate, 16_000))), whole)


def test_cutting_a_stream_gives_the_pieces_of_cutting_it_whole():
    waveform = speech_with_pauses(20)
    whole = split_at_pauses(waveform, 2.5)
    streamed = list(cut_at_pauses(random_blocks(waveform, seed=3), 2.5))
    assert len(whole) == len(streamed) > 5
    assert all(np.array_equal(a, b) for a, b in zip(whole, streamed, strict=True))
    assert split_at_pauses(np.zeros(0, dtype=np.float32), 2.5)[0].size == 0  # an empty clip: one empty piece


@pytest.mark.parametrize(
    ("rate", "channels", "audio_format"), [(16_000, 1, "WAV"), (44_100, 2, "WAV"), (22_050, 2, "FLAC")]
)
def test_a_file_read_in_blocks_gives_the_samples_it_gives_read_whole(
    rate, channels, audio_format, tmp_path, monkeypatch
):
    monkeypatch.setattr(audio_input, "BLOCK_SECONDS", 0.37)  # many blocks, none a whole number of anything
    clip = speech_with_pauses(6, rate)
    path = tmp_path / f"clip.{audio_format.lower()}"
    soundfile.write(path, np.stack([clip, 0.5 * clip], 1) if channels == 2 else clip, rate, format=audio_format)
    blocks = list(AudioFile(path).blocks())
    longest = (GROUP_SECONDS if rate != 16_000 else 0.37) * 16_000  # the resampler computes 4 s at a time
    assert len(blocks) > 1 and max(block.size for block in blocks) <= longest
    whole = load_audio(path.read_bytes())  # bytes: decoded in one block
    assert np.array_equal(np.concatenate(blocks), whole) and np.array_equal(load_audio(path), whole)
    assert AudioFile(path).check() == pytest.approx(whole.size / 16_000)


def test_a_file_is_checked_block_by_block_like_a_waveform(tmp_path):
    broken = speech_with_pauses(30)
    broken[25 * 16_000] = np.nan
    path = tmp_path / "nan.wav"
    soundfile.write(path, broken, 16_000, subtype="FLOAT")
    with pytest.raises(ValueError, match="nan.wav contains NaN or infinite samples"):
        AudioFile(path).check()
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(48_000), 16_000)
    with pytest.raises(ValueError, match="silent.wav is digital silence"):
        AudioFile(silent).check()
    with pytest.raises(ValueError, match="Audio file not found"):
        AudioFile(tmp_path / "missing.wav")


@pytest.fixture(scope="module")
def asr(tmp_path_factory):
    from tiny_audio.app.transcribe import load_pipeline

    root = tmp_path_factory.mktemp("long_audio_model")
    paths = tiny_backbones.save_all(root / "backbones")
    model_dir = tiny_backbones.save_model(
        root / "model", paths["whisper"], paths["qwen3"], generation={"max_new_tokens": 3}
    )
    return load_pipeline(str(model_dir))


def test_a_file_gets_the_texts_and_times_of_its_waveform_without_being_loaded_whole(asr, tmp_path, monkeypatch):
    monkeypatch.setattr(asr.model.config, "ctc_head_trained", True, raising=False)  # random, but it can time words
    recording = speech_with_pauses(40, 22_050)
    path = tmp_path / "long.flac"
    soundfile.write(path, recording, 22_050)
    options = {"chunk_length_s": 3, "return_timestamps": "word", "generate_kwargs": {"num_beams": 1}}
    expected = asr(load_audio(path), **options)

    def refuse(*args, **kwargs):
        raise AssertionError("the pipeline decoded a file whole")

    monkeypatch.setattr(pipeline_asr, "load_audio", refuse)
    assert asr(str(path), **options) == expected
    assert asr([str(path), str(path)], batch_size=2, **options) == [expected, expected]


def test_transcribing_a_file_holds_a_piece_not_the_recording(asr, tmp_path):
    """The command line's path (`transcribe_batch`): numpy's allocations (tracemalloc sees them) peak at about the
    same size for a recording 8 times as long (measured: 4.2 and 4.4 MB); read whole, the longer one's waveform
    alone is 15 MiB."""
    from tiny_audio.app.batch import transcribe_batch

    peaks = []
    for minutes in (0.5, 4):
        path = tmp_path / f"long{minutes}.wav"
        soundfile.write(path, speech_with_pauses(minutes * 60), 16_000)
        tracemalloc.start()
        report = transcribe_batch(asr, [path], progress=False, generate_kwargs={"num_beams": 1, "max_new_tokens": 1})
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert report.transcribed == 1
    waveform_bytes = 4 * 60 * 16_000 * 4  # float32: what reading the longer file whole would hold, at least
    assert peaks[1] < 1.5 * peaks[0] and peaks[1] < waveform_bytes / 2
