"""The `everyday` text source (generated numbers, dates, codes, spelled letters) and the codec channels a corpus can
be built through (`tiny-audio data synth --texts ...,everyday --channels clean,g722,...`)."""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pytest

from tiny_audio.cli import main as cli_main
from tiny_audio.data import load_corpus
from tiny_audio.data.build import corpus_sentences
from tiny_audio.data.channels import CHANNELS, CODECS, apply_channel
from tiny_audio.data.everyday import everyday_texts
from tiny_audio.data.plan import make_plan, plan_fingerprint
from tiny_audio.data.text import MAX_WORDS, Sentence
from tiny_audio.data.voices import discover_voices

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs Debian's ffmpeg")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng")


def test_everyday_texts_are_fixed_varied_and_speakable():
    texts = everyday_texts()
    assert texts == everyday_texts()  # the same on every call and machine (a string seed)
    sentences, _ = corpus_sentences(texts=["everyday"])
    assert len(sentences) > 10_000  # after de-duplication and cleaning
    assert all(3 <= len(s.text.split()) <= MAX_WORDS for s in sentences)
    assert not any(ch.isdigit() for s in sentences for ch in s.text)  # numbers in words, as the other sources
    # What it is for: digits, ordinals, spelled letters and NATO words, each in many clips.
    joined = " ".join(s.text for s in sentences)
    for word in ("seven", "twenty-first", " Q,", "Tango", "o'clock", "dollars"):
        assert joined.count(word) > 20, word
    # A lone "A" is read as the article by Kokoro: it is never spelled.
    assert not any(", A," in s.text or s.text.startswith("A as in") for s in sentences)


def test_everyday_is_opt_in():
    default, sources = corpus_sentences(texts=["austen", "wordnet"])
    assert [s.name for s in sources] == ["austen", "wordnet"]
    assert not any(s.source == "everyday" for s in default)
    with_everyday, sources = corpus_sentences(texts=["wordnet", "everyday"])
    assert [s.name for s in sources] == ["wordnet", "everyday"]
    assert Counter(s.source for s in with_everyday)["everyday"] > 10_000


def _tone_and_hiss(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(16_000 * seconds)) / 16_000
    rng = np.random.default_rng(0)
    return (0.3 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _share_above(audio: np.ndarray, hertz: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    frequencies = np.fft.rfftfreq(audio.size, 1 / 16_000)
    return float(spectrum[frequencies > hertz].sum() / spectrum.sum())


@needs_ffmpeg
@pytest.mark.parametrize("channel", sorted(CODECS))
def test_each_codec_keeps_the_clip_and_changes_its_sound(channel):
    audio = _tone_and_hiss()
    coded = apply_channel(audio, channel)
    assert coded.dtype == np.float32 and abs(coded.size - audio.size) < 0.15 * 16_000  # codec padding only
    assert not np.array_equal(coded[: audio.size], audio)
    assert 0.1 < np.abs(coded).max() <= 1.0
    if channel in ("mulaw", "gsm"):  # 8 kHz telephone codecs: nothing above 4 kHz survives
        assert _share_above(audio, 4_100) > 0.02 and _share_above(coded, 4_100) < _share_above(audio, 4_100) / 10


def test_clean_is_the_clip_itself():
    audio = _tone_and_hiss()
    assert apply_channel(audio, "clean") is audio


def test_a_plan_without_channels_is_the_plan_made_before_they_existed():
    sentences = [Sentence(f"Sentence number {i} of the plan is here.", "t") for i in range(40)]
    voices = discover_voices(("espeak-ng",)) if shutil.which("espeak-ng") else None
    if not voices:
        pytest.skip("needs espeak-ng voices")
    plain = make_plan(sentences, voices, hours=0.05, seed=3)
    assert plan_fingerprint(plain) == plan_fingerprint(
        make_plan(sentences, voices, hours=0.05, seed=3, channels=("clean",))
    )
    coded = make_plan(sentences, voices, hours=0.05, seed=3, channels=CHANNELS)
    assert plan_fingerprint(coded) == plan_fingerprint(
        make_plan(sentences, voices, hours=0.05, seed=3, channels=CHANNELS)
    )
    used = Counter(u.channel for shard in coded for u in shard.utterances)
    assert set(used) == set(CHANNELS) and plan_fingerprint(coded) != plan_fingerprint(plain)


@needs_ffmpeg
@needs_espeak
def test_synth_cli_builds_a_corpus_through_codecs(tmp_path, capsys):
    output = tmp_path / "coded"
    argv = ["data", "synth", "--output", str(output), "--hours", "0.02", "--seed", "2", "--engines", "espeak-ng",
            "--texts", "everyday", "--channels", "clean,gsm,g722", "--num-workers", "1", "--quiet"]  # fmt: skip
    assert cli_main(argv) == 0
    rows = load_corpus(output, "train", cache_dir=str(tmp_path / "hf")).to_list()
    assert rows and {row["channel"] for row in rows} <= {"clean", "gsm", "g722"}
    assert all(row["source"] == "everyday" for row in rows)
    with pytest.raises(SystemExit):
        cli_main(["data", "synth", "--output", str(output), "--channels", "clean,fax"])
    assert "unknown channel(s) ['fax']; accepted: clean,g722,mulaw,gsm,opus,mp3" in capsys.readouterr().err
