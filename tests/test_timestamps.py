"""Timestamps, subtitles and streaming: `pipeline(..., return_timestamps=True | "word")` in the format of
transformers' Whisper pipeline, `tiny-audio transcribe --format srt|vtt|json`, and transformers streamers.

Tiny models check the format, batches, long audio, errors and streaming quickly; the embedded default model checks
word times against speech with known word boundaries (espeak-ng reports where each word starts and ends)."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TARGETS
from transformers import TextIteratorStreamer, TextStreamer

from tiny_audio import ASRPipeline
from tiny_audio.app import transcribe
from tiny_audio.app.transcribe import DEFAULT_MODEL_DIR, subtitles
from tiny_audio.model.alignment import audio_token_times, forced_align, segments
from tiny_audio.model.audio_input import split_at_pauses

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from espeak_timing import synthesise  # noqa: E402  (benchmarks/: speech with known word boundaries)

SILENCE = np.zeros(8_000, dtype=np.float32)  # 0.5 s


class RecordingStreamer(TextStreamer):
    """A TextStreamer that keeps what it would print."""

    def __init__(self, tokenizer):
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self.pieces, self.ends = [], 0

    def on_finalized_text(self, text: str, stream_end: bool = False):
        self.pieces.append(text)
        self.ends += stream_end


def check_chunks(result: dict, seconds: float) -> list[dict]:
    """The Whisper pipeline's format: chunks of text and (start, end) in seconds, in order, inside the clip; the
    chunks' texts joined are the text."""
    chunks = result["chunks"]
    assert chunks and "".join(chunk["text"] for chunk in chunks) == result["text"]
    starts = [chunk["timestamp"][0] for chunk in chunks]
    assert starts == sorted(starts)
    for chunk in chunks:
        start, end = chunk["timestamp"]
        assert isinstance(chunk["text"], str) and isinstance(start, float) and isinstance(end, float)
        assert 0.0 <= start <= end <= seconds + 1e-6
    return chunks


# -- tiny models ----------------------------------------------------------------------------------------------------


@pytest.fixture()
def tiny_asr(trained_model, monkeypatch):
    """The conftest model (overfitted: its clips read "hello" and "hi there"), its CTC head declared trained."""
    model, processor = trained_model
    monkeypatch.setattr(model.config, "ctc_head_trained", True, raising=False)
    return ASRPipeline(model=model, processor=processor)


def test_word_and_segment_timestamps_come_in_the_whisper_pipelines_format(tiny_asr, training_clips):
    clip = training_clips[1]
    plain = tiny_asr(clip)
    words = tiny_asr(clip, return_timestamps="word")
    assert plain == {"text": TARGETS[1]} and words["text"] == TARGETS[1]
    assert [chunk["text"] for chunk in check_chunks(words, len(clip) / 16_000)] == ["hi", " there"]
    segments = tiny_asr(clip, return_timestamps=True)
    assert segments["chunks"] == [
        {"text": "hi there", "timestamp": (words["chunks"][0]["timestamp"][0], words["chunks"][1]["timestamp"][1])}
    ]


def test_batches_give_each_clip_its_own_times_and_long_audio_is_timed_from_its_start(tiny_asr, training_clips):
    alone = [tiny_asr(clip, return_timestamps="word") for clip in training_clips]
    assert tiny_asr(list(training_clips), return_timestamps="word", batch_size=2) == alone
    # Long audio is cut at pauses (chunk_length_s=1.5: two pieces); each piece's words come timed from the
    # recording's start, and the first word of the second piece takes the space that joins the pieces' texts.
    recording = np.concatenate([training_clips[0], SILENCE, training_clips[1]])
    pieces = split_at_pauses(recording, 1.5)
    assert len(pieces) == 2
    result = tiny_asr(recording, return_timestamps="word", chunk_length_s=1.5)
    chunks = check_chunks(result, len(recording) / 16_000)
    first, second = (tiny_asr(piece, return_timestamps="word")["chunks"] for piece in pieces)
    offset = len(pieces[0]) / 16_000
    shifted = [(chunk["text"], tuple(round(time + offset, 2) for time in chunk["timestamp"])) for chunk in second]
    assert [(chunk["text"], chunk["timestamp"]) for chunk in chunks] == [
        *[(chunk["text"], chunk["timestamp"]) for chunk in first],
        (" " + shifted[0][0], shifted[0][1]),
        *shifted[1:],
    ]


def test_bad_timestamp_requests_say_what_is_wrong(tiny_asr, training_clips, monkeypatch):
    clip = training_clips[0]
    with pytest.raises(
        ValueError, match=r"return_timestamps='words' is not accepted; give True \(segments\), \"word\""
    ):
        tiny_asr(clip, return_timestamps="words")
    with pytest.raises(ValueError, match="use task='transcribe'"):
        tiny_asr(clip, return_timestamps=True, prompt="Describe the audio.")
    config = tiny_asr.model.config
    monkeypatch.setattr(config, "ctc_head_trained", False)
    with pytest.raises(ValueError, match=r"needs a projector trained with the CTC loss \(training.ctc_weight > 0\)"):
        tiny_asr(clip, return_timestamps="word")
    monkeypatch.setattr(config, "ctc_head_trained", None)  # not recorded: the model's own decoding decides
    with pytest.raises(ValueError, match="needs a projector trained with the CTC loss"):
        tiny_asr(clip, return_timestamps="word")
    monkeypatch.setattr(config, "generation", {**config.generation, "ctc_decoding_weight": 0.2})
    assert tiny_asr(clip, return_timestamps="word", generate_kwargs={"ctc_decoding_weight": 0.0})["chunks"]


def test_a_streamer_gets_the_text_of_every_piece_and_one_end(tiny_asr, training_clips, monkeypatch):
    from tiny_audio.model import pipeline_asr

    # A recording cut into exactly the two training clips, whose texts the model knows.
    recording = np.concatenate(training_clips)
    monkeypatch.setattr(pipeline_asr, "split_at_pauses", lambda clip, seconds: np.split(clip, [len(training_clips[0])]))
    streamer = RecordingStreamer(tiny_asr.processor.tokenizer)
    result = tiny_asr(recording, generate_kwargs={"streamer": streamer})
    assert result["text"] == "hello hi there"
    assert "".join(streamer.pieces) == "hello hi there" and streamer.ends == 1


def test_streaming_decodes_greedily_and_refuses_what_it_cannot_stream(tiny_asr, training_clips, monkeypatch, caplog):
    clip = training_clips[1]
    streamer = RecordingStreamer(tiny_asr.processor.tokenizer)
    with pytest.raises(ValueError, match="num_beams=2 cannot stream: transformers streams greedy search"):
        tiny_asr(clip, generate_kwargs={"streamer": streamer, "num_beams": 2})
    with pytest.raises(ValueError, match="A streamer takes one clip at a time; got 2. Call with batch_size=1"):
        tiny_asr(list(training_clips), batch_size=2, generate_kwargs={"streamer": streamer})
    # A model whose own decoding uses beams streams greedily, and says so.
    config = tiny_asr.model.config
    monkeypatch.setattr(config, "generation", {**config.generation, "num_beams": 3})
    with caplog.at_level("INFO", logger="tiny_audio.model.decoding"):
        assert tiny_asr(clip, generate_kwargs={"streamer": streamer})["text"] == TARGETS[1]
    assert "Streaming decodes greedily (num_beams=1), not with this model's 3 beams" in caplog.text


def test_forced_alignment_finds_the_path_and_puts_a_blank_between_repeated_tokens():
    # Two tokens scored alike: likeliest on audio tokens 1 and 2, less on 3, least on 0 and 4.
    log_probs = torch.full((5, 3), -5.0)
    log_probs[[0, 3, 4], 0] = -0.1  # blank
    log_probs[[1, 2], 1:] = -0.1
    log_probs[3, 1:] = -3.0
    assert forced_align(log_probs, [7, 9]) == [(1, 1), (2, 2)]  # two different tokens: back to back
    assert forced_align(log_probs, [7, 7]) == [(1, 2), (4, 4)]  # the same token twice: a blank between
    # More tokens than audio tokens: no CTC path exists; tokens share audio tokens, in order.
    spans = forced_align(torch.randn(2, 5).log_softmax(-1), [1, 2, 3, 4])
    assert len(spans) == 4 and all(a[0] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_audio_tokens_are_timed_from_the_encoders_frames():
    whisper = {"kernels": [3, 3], "strides": [1, 2], "paddings": [1, 1], "stack": 6}
    # 20 ms encoder frames centred on 0, 20, 40 ms...: token n covers 120 n - 10 ms to 120 n + 110 ms.
    assert audio_token_times(whisper, input_hop=160) == pytest.approx((0.12, -0.01))
    hubert = {"kernels": [10, 3, 3, 3, 3, 2, 2], "strides": [5, 2, 2, 2, 2, 2, 2], "paddings": [0] * 7, "stack": 4}
    step, start = audio_token_times(hubert, input_hop=1)  # 400-sample receptive field, 320-sample hop
    assert step == pytest.approx(0.08) and start == pytest.approx((199.5 - 160) / 16_000)


# -- subtitles and the command line --------------------------------------------------------------------------------

SRT_CUE = re.compile(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)\n(.+(?:\n.+)?)")
VTT_CUE = re.compile(r"(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)\n(.+(?:\n.+)?)")
CHUNKS = [
    {"text": "Hello there.", "timestamp": (0.0, 1.25)},
    {"text": " A second cue that is long enough to be shown on two lines of a subtitle.", "timestamp": (1.5, 3661.007)},
]


def parse_subtitles(text: str, kind: str) -> list[tuple[float, float, str]]:
    """Cues of an SRT or WebVTT file, checked strictly: numbered cues (SRT) or a WEBVTT header (VTT), blank lines
    between cues, HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT) times, at most two lines of text."""
    if kind == "vtt":
        assert text.startswith("WEBVTT\n\n")
        text = text.removeprefix("WEBVTT\n\n")
    blocks = text.rstrip("\n").split("\n\n")
    cues = []
    for number, block in enumerate(blocks, start=1):
        match = (SRT_CUE if kind == "srt" else VTT_CUE).fullmatch(block)
        assert match, block
        fields = match.groups()[1:] if kind == "srt" else match.groups()
        if kind == "srt":
            assert int(match.group(1)) == number
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(field) for field in fields[:8])
        cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000, fields[8]))
    return cues


@pytest.mark.parametrize("kind", ["srt", "vtt"])
def test_subtitles_are_valid_srt_and_webvtt(kind, tmp_path):
    text = subtitles(CHUNKS, kind)
    cues = parse_subtitles(text, kind)
    assert [time for start, end, _ in cues for time in (start, end)] == pytest.approx([0.0, 1.25, 1.5, 3661.007])
    assert cues[1][2] == "A second cue that is long enough to\nbe shown on two lines of a subtitle."  # balanced
    assert all(len(line) <= 42 for _, _, lines in cues for line in lines.split("\n"))
    if shutil.which("ffmpeg"):  # a player's own parser (libavformat) reads every cue at its time
        path = tmp_path / f"cues.{kind}"
        path.write_text(text)
        converted = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-f", "srt", "-"], capture_output=True, text=True, timeout=60
        )
        assert converted.returncode == 0 and not converted.stderr, converted.stderr
        times = [time for start, end, _ in parse_subtitles(converted.stdout, "srt") for time in (start, end)]
        assert times == pytest.approx([0.0, 1.25, 1.5, 3661.007])


def run_command(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser()
    transcribe.register(parser.add_subparsers())
    return transcribe.run(parser.parse_args(["transcribe", *arguments]))


def test_transcribe_writes_subtitles_json_and_streams(tiny_asr, training_clips, tmp_path, monkeypatch, capsys):
    import json

    import soundfile

    monkeypatch.setattr(transcribe, "load_pipeline", lambda model=None, device=None: tiny_asr)
    clip = tmp_path / "clip.wav"
    soundfile.write(clip, training_clips[1], 16_000)
    other = tmp_path / "other.wav"  # a second file (one named twice is one file)
    soundfile.write(other, training_clips[0], 16_000)
    out = tmp_path / "out"
    for kind in ("srt", "vtt", "json", "txt"):  # a directory each: a rerun into one skips the files it has done
        assert run_command([str(clip), "--format", kind, "--output-dir", str(out / kind)]) == 0
    words = tiny_asr(training_clips[1], return_timestamps="word")["chunks"]
    srt = parse_subtitles((out / "srt" / "clip.srt").read_text(), "srt")
    assert [text for *_, text in srt] == ["hi there"] and srt[0][:2] == (
        words[0]["timestamp"][0],
        words[1]["timestamp"][1],
    )
    assert [text for *_, text in parse_subtitles((out / "vtt" / "clip.vtt").read_text(), "vtt")] == ["hi there"]
    document = json.loads((out / "json" / "clip.json").read_text())
    assert document["text"] == "hi there" and [chunk["text"] for chunk in document["chunks"]] == ["hi", " there"]
    assert (out / "txt" / "clip.txt").read_text() == "hi there\n"
    capsys.readouterr()
    assert run_command([str(clip), "--stream"]) == 0
    assert capsys.readouterr().out == "hi there\n"
    assert run_command([str(clip), "--format", "vtt", "--timestamps", "word"]) == 0
    assert [text for *_, text in parse_subtitles(capsys.readouterr().out, "vtt")] == ["hi", "there"]
    for arguments, message in [
        ([str(clip), str(other), "--format", "srt"], "--format srt with several files needs --output-dir"),
        ([str(clip), "--stream", "--num-beams", "2"], "num_beams=2 cannot stream"),
        ([str(clip), "--stream", "--batch-size", "2"], "A streamer takes one clip at a time; got a batch of 2"),
        ([str(clip), "--stream", "--format", "json"], "--stream prints plain text"),
        ([str(clip), "--format", "srt", "--timestamps", "none"], "--format srt shows timed cues"),
    ]:
        assert run_command(arguments) == 2
        assert message in capsys.readouterr().err


# -- the embedded default model on speech with known word boundaries ----------------------------------------------

SENTENCES = ("The boy was there when the sun rose.", "Kick the ball straight and follow through.")


@pytest.fixture(scope="module")
def default_asr():
    from transformers import pipeline

    return pipeline(
        "automatic-speech-recognition",
        model=str(DEFAULT_MODEL_DIR),
        trust_remote_code=True,
        model_kwargs={"dtype": torch.float32},  # the same numbers on every CPU
    )


@pytest.fixture(scope="module")
def spoken():
    """Each sentence read by espeak-ng, with each word's start and end in seconds."""
    return [synthesise(sentence, voice="en-us") for sentence in SENTENCES]


GREEDY = {"generate_kwargs": {"num_beams": 1}}


def timing_errors(chunks: list[dict], reference, offset: float = 0.0) -> np.ndarray:
    """(start, end) errors in seconds of the hypothesis words that match reference words, in order."""
    import difflib

    def normal(word: str) -> str:
        return re.sub(r"[^a-z0-9]", "", word.lower())

    matcher = difflib.SequenceMatcher(
        a=[normal(chunk["text"]) for chunk in chunks], b=[normal(word.text) for word in reference], autojunk=False
    )
    errors = [
        (chunks[block.a + k]["timestamp"][0] - offset - reference[block.b + k].start,
         chunks[block.a + k]["timestamp"][1] - offset - reference[block.b + k].end)
        for block in matcher.get_matching_blocks() for k in range(block.size)
    ]  # fmt: skip
    assert len(errors) >= 0.6 * len(reference), (chunks, reference)
    return np.abs(errors)


@pytest.fixture(scope="module")
def first_alone(default_asr, spoken):
    return default_asr(spoken[0][0], return_timestamps="word", **GREEDY)


@pytest.mark.slow
def test_default_model_word_times_are_within_a_tenth_of_a_second_of_the_truth(first_alone, spoken):
    """On the tuning clips the mean absolute errors were 40 ms (starts) and 49 ms (ends); resolution is 120 ms."""
    audio, reference = spoken[0]
    check_chunks(first_alone, len(audio) / 16_000)
    errors = timing_errors(first_alone["chunks"], reference)
    assert errors[:, 0].mean() < 0.1 and errors[:, 1].mean() < 0.15 and errors[:, 0].max() < 0.3, errors


@pytest.mark.slow
def test_default_model_times_segments_of_long_audio_and_batches(default_asr, spoken, first_alone):
    (first, first_words), (second, second_words) = spoken
    recording = np.concatenate([first, SILENCE, SILENCE, second])  # two pieces at chunk_length_s=4
    offset = (len(first) + 2 * len(SILENCE)) / 16_000
    # One model call decodes `first` beside the recording's first piece, the next its second piece.
    batched, timed = default_asr([first, recording], return_timestamps=True, chunk_length_s=4, batch_size=2, **GREEDY)
    assert batched == {"text": first_alone["text"], "chunks": segments(first_alone["chunks"])}  # as alone
    chunks = check_chunks(timed, len(recording) / 16_000)
    assert len(chunks) == 2, chunks  # a sentence each
    for (start, end), words, shift in zip([chunk["timestamp"] for chunk in chunks], spoken, (0.0, offset), strict=True):
        reference = words[1]
        assert abs(start - shift - reference[0].start) < 0.15 and abs(end - shift - reference[-1].end) < 0.25, chunks


@pytest.mark.slow
def test_default_model_streams_growing_text(default_asr, spoken):
    audio, _ = spoken[1]
    streamer = TextIteratorStreamer(default_asr.processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(default_asr(audio, generate_kwargs={"streamer": streamer})))
    worker.start()
    seen = []
    for text in streamer:
        seen.append((seen[-1] if seen else "") + text)
    worker.join()
    assert seen[-1].strip() == outcome["text"] and "ball" in outcome["text"].lower()
    assert len({text for text in seen if text.strip()}) >= 3  # word by word, not all at once


@pytest.mark.slow
def test_transcribe_command_streams_and_writes_playable_subtitles(default_asr, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(transcribe, "load_pipeline", lambda model=None, device=None: default_asr)
    sample = ROOT / "tiny_audio" / "samples" / "hello.wav"
    assert run_command([str(sample), "--stream", "--format", "srt", "--output-dir", str(tmp_path)]) == 0
    streamed = capsys.readouterr().out
    cues = parse_subtitles((tmp_path / "hello.srt").read_text(), "srt")
    assert "this is a test" in streamed.lower() and cues
    assert " ".join(text.replace("\n", " ") for *_, text in cues) == streamed.strip()
    assert all(0 <= start <= end <= 4.2 for start, end, _ in cues)
