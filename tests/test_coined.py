"""The `coined` text source (tiny_audio/data/coined.py): everyday sentences carrying invented names, for training a
model to copy a name's spelling from its context list (issue 46). The texts are fixed, opt-in, each holds a word no
default text source has, and none is tuned to the context-biasing benchmark or to a real development prompt."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path

from tiny_audio.data.build import corpus_sentences
from tiny_audio.data.coined import ENDINGS, SIZE, coined_texts, english_vocabulary
from tiny_audio.data.sources import DEFAULT_TEXTS, TEXTS
from tiny_audio.data.text import MAX_WORDS, normalize

ROOT = Path(__file__).resolve().parents[1]
FRAME_WORDS = {"app", "packets"}  # real words of the frames that Austen and WordNet 3.0 (2006) happen to lack


def _benchmark():
    """benchmarks/context_biasing.py, loaded from its path (tiny_audio never imports benchmarks)."""
    spec = importlib.util.spec_from_file_location("context_biasing", ROOT / "benchmarks" / "context_biasing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runs(text: str, size: int = 5) -> set[tuple[str, ...]]:
    words = normalize(text).split()
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def _invented(text: str) -> list[str]:
    """The words of `text` that no default text source holds (hyphenated names split), lower case."""
    vocabulary = english_vocabulary()
    return [word for word in re.findall(r"[a-z]+", text.lower()) if word not in vocabulary and word not in FRAME_WORDS]


def test_coined_texts_are_fixed_sized_and_speakable():
    texts = coined_texts()
    assert texts == coined_texts() and len(texts) == SIZE  # a string seed: the same on every call and machine
    assert coined_texts(50) == texts[:50]
    sentences, _ = corpus_sentences(texts=["coined"])
    assert len(sentences) > 0.95 * SIZE  # after cleaning and de-duplication
    assert all(5 <= len(s.text.split()) <= min(16, MAX_WORDS) for s in sentences)
    assert not any(ch.isdigit() for s in sentences for ch in s.text)


def test_every_utterance_holds_one_or_two_invented_words():
    texts = set(coined_texts())
    # A name is a word or a hyphenated pair ("Brelvano-Tusk"); one or two per utterance, each with an invented part.
    names = Counter(sum(bool(_invented(token)) for token in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", t)) for t in texts)
    assert set(names) == {1, 2} and names[2] > 1_000
    invented = {word for text in texts for word in _invented(text)}
    assert len(invented) > 10_000 and all(len(word) >= 4 for word in invented)
    hyphenated = sum(bool(re.search(r"[A-Z][a-z]+-[A-Z][a-z]+", t)) for t in texts)
    assert 0.03 < hyphenated / len(texts) < 0.2
    lower_case = [w for t in texts for w in re.findall(r"\b[a-z]+\b", t) if w in invented]  # drugs, foods
    assert len(lower_case) > 1_000


def test_coined_is_opt_in():
    assert "coined" in TEXTS and "coined" not in DEFAULT_TEXTS
    sentences, sources = corpus_sentences(texts=["wordnet", "coined"])
    assert [s.name for s in sources] == ["wordnet", "coined"]
    assert Counter(s.source for s in sentences)["coined"] > 10_000


def _benchmark_sentences() -> list[tuple[str, tuple[str, ...]]]:
    """The measured sentences and the dev ones that decoding constants are chosen on: training sees neither."""
    return [*_benchmark().SENTENCES, *_benchmark().DEV_SENTENCES]


def _benchmark_words() -> set[str]:
    return {word.lower() for _, spoken in _benchmark_sentences() for term in spoken for word in re.split(r"[- ]", term)}


def test_no_invented_word_overlaps_a_context_biasing_term():
    # The benchmark measures names no training sentence has: a coined word must not equal, hold or sit inside one.
    terms = _benchmark_words()
    invented = {word for text in set(coined_texts()) for word in _invented(text)}
    clashes = sorted((word, term) for word in invented for term in terms if word in term or term in word)
    assert clashes == []


def test_no_ending_of_the_grammar_ends_a_context_biasing_term():
    # Nor may the grammar spell like the benchmark: a name ending as one of its terms ("-vane": Torvane) would be
    # half learned without the list.
    terms = _benchmark_words()
    assert (
        sorted((ending, t) for endings in ENDINGS.values() for ending in endings for t in terms if t.endswith(ending))
        == []
    )


def test_no_utterance_shares_five_words_with_a_context_biasing_sentence():
    benchmark_runs = set().union(*(_runs(sentence) for sentence, _ in _benchmark_sentences()))
    shared = sorted({" ".join(run) for text in set(coined_texts()) for run in _runs(text) & benchmark_runs})
    assert shared == []
