"""Turn book prose into speakable sentences whose transcript says exactly what a TTS voice will say.

Rules, and why:
- 3 to 30 words (MIN_WORDS, MAX_WORDS): shorter pieces are headings or interjections; longer ones run past ~10 s of
  audio, which wastes padding in a batch. Austen's long periods are cut at clause boundaries (; : --), then at
  commas, rather than dropped, so her prose still yields ~50,000 pieces.
- Only plain letters, digits that `numwords` can spell out, and light punctuation are kept. Quotes, italics
  underscores and dashes are removed or turned into commas; anything else (brackets, "&c.", "£", URLs, all-caps
  words such as headers or roman numerals) drops the sentence, because no transcript of it is certain.
- `normalize` is the form used to compare sentences: with the development set (whose transcripts are lower case,
  unpunctuated, "mister" for "Mr.") and between themselves for de-duplication.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .numwords import spell_numbers

MIN_WORDS = 3
MAX_WORDS = 30
# Word n-gram length that counts as "the same sentence" as a development transcript. Six words are enough to be
# specific to one passage of a book, and short enough to catch a dev sentence that our splitter cut differently
# (the dev clips' sentence boundaries are the reader's, not ours).
DEV_OVERLAP_NGRAM = 6

# Abbreviations whose full stop must not end a sentence; the ones a TTS engine may misread are spelled out.
_ABBREVIATIONS = {"Mr.": "Mr.", "Mrs.": "Mrs.", "Dr.": "Doctor", "Esq.": "Esquire", "Capt.": "Captain",
                  "Col.": "Colonel", "Gen.": "General", "Rev.": "Reverend", "Lieut.": "Lieutenant"}  # fmt: skip
# Spoken forms used only for comparison, matching how the dev transcripts write them.
_SPOKEN = {"mr": "mister", "mrs": "missus", "dr": "doctor"}
_DOT = "\u2024"  # ONE DOT LEADER: stands in for protected full stops while splitting
_ALLOWED = re.compile(r"^[A-Za-z0-9 ,.;:!?'\-]+$")
# Book furniture: "Chapter 12", "VOLUME II", "The End", "by Jane Austen". Only short pieces (<= HEADER_WORDS) are
# taken for headers; a short real sentence starting with "By" or "Book" is lost too, a handful in six novels.
_HEADER = re.compile(r"^(chapter|volume|book|the end|finis|by|contents)\b", re.IGNORECASE)
HEADER_WORDS = 6
_CLAUSE_BREAK = re.compile(r"(?<=[;:])\s+|(?<=--)\s+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


@dataclass(frozen=True)
class Sentence:
    """One speakable sentence and where it came from (e.g. "austen/emma")."""

    text: str
    source: str


def normalize(text: str) -> str:
    """Lower case, accents and punctuation removed, numbers and titles spelled as spoken: the comparison form."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = spell_numbers(text) or text
    text = re.sub(r"[-_]", " ", text.lower())
    text = re.sub(r"[^a-z' ]", " ", text).replace("'", "")
    return " ".join(_SPOKEN.get(word, word) for word in text.split())


def paragraphs(raw: str) -> Iterable[str]:
    """Yield paragraphs (blank-line separated) with their line breaks and repeated spaces folded."""
    for block in re.split(r"\n\s*\n", raw):
        paragraph = " ".join(block.split())
        if paragraph:
            yield paragraph


def _prepare(paragraph: str) -> str:
    """Remove typography that is not spoken and mark clause dashes, before splitting into sentences."""
    text = unicodedata.normalize("NFKD", paragraph)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))  # "éclat" -> "eclat"
    text = text.replace("_", "").replace('"', " ").replace("\u201c", " ").replace("\u201d", " ")
    text = re.sub(r"(?<![A-Za-z])'|'(?![A-Za-z])", " ", text)  # quote marks, but not apostrophes ("don't")
    text = re.sub(r"\s*[,;:]?\s*-{2,}\s*", "-- ", text)  # "was:--he", "birth--" -> a clause break, kept as "--"
    for abbreviation, spelled in _ABBREVIATIONS.items():
        text = re.sub(rf"\b{re.escape(abbreviation)}", spelled.replace(".", _DOT), text)
    text = re.sub(r"\b([A-Z])\.(?=\s+[A-Z])", rf"\1{_DOT}", text)  # initials: "W. W. Elliot"
    return " ".join(text.split())


def _pack(pieces: list[str], separator: str) -> list[str]:
    """Greedily join consecutive pieces while the result stays within MAX_WORDS."""
    packed: list[str] = []
    for piece in pieces:
        if packed and len(packed[-1].split()) + len(piece.split()) <= MAX_WORDS:
            packed[-1] = packed[-1] + separator + piece
        else:
            packed.append(piece)
    return packed


def _shorten(sentence: str) -> list[str]:
    """Cut a sentence longer than MAX_WORDS at clause breaks, then at commas; pieces may still be too long."""
    if len(sentence.split()) <= MAX_WORDS:
        return [sentence]
    pieces = []
    for clause in _pack(_CLAUSE_BREAK.split(sentence), " "):
        pieces.extend([clause] if len(clause.split()) <= MAX_WORDS else _pack(re.split(r"(?<=,)\s+", clause), " "))
    return pieces


def clean_sentence(piece: str) -> tuple[str | None, str]:
    """Tidy one piece of prose into a sentence; returns (text, "ok") or (None, the reason it was dropped)."""
    text = piece.replace("--", ", ").replace(_DOT, ".")
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # ", ," and "; ," left by removed dashes or quotes
    text = re.sub(r"[,;:]\s*([.!?])", r"\1", text)
    text = re.sub(r"([.!?])\s*[,;:]", r"\1", text)  # "so!, Our" after a removed dash
    text = " ".join(text.split())
    text = text.strip(" ,;:-'")
    if not text:
        return None, "empty"
    if _HEADER.match(text) and len(text.split()) <= HEADER_WORDS:
        return None, "header"
    if re.search(r"https?:|www\.|@|/", text):
        return None, "url"
    spelled = spell_numbers(text)
    if spelled is None:
        return None, "number"
    text = spelled
    if not _ALLOWED.match(text):
        return None, "symbol"
    if re.search(r"\b[A-Z]{2,}\b", text):
        return None, "all-caps"  # headers, shouting, roman numerals: the spoken form is a guess
    if text[-1] not in ".!?":
        text += "."
    text = text[0].upper() + text[1:]
    words = len(text.split())
    if words < MIN_WORDS:
        return None, "too short"
    if words > MAX_WORDS:
        return None, "too long"
    return text, "ok"


def sentences_from_prose(raw: str, source: str, dropped: Counter[str] | None = None) -> list[Sentence]:
    """Split one book into speakable sentences; counts why pieces were dropped into `dropped` when given."""
    kept = []
    for paragraph in paragraphs(raw):
        for sentence in _SENTENCE_BREAK.split(_prepare(paragraph)):
            for piece in _shorten(sentence):
                text, reason = clean_sentence(piece)
                if text is None:
                    if dropped is not None:
                        dropped[reason] += 1
                    continue
                kept.append(Sentence(text, source))
    return kept


def dev_overlap(dev_transcripts: Iterable[str]):
    """Return a predicate telling whether a sentence overlaps any development transcript.

    Overlap: same normalised text, containing a whole dev transcript, or sharing any DEV_OVERLAP_NGRAM-word run.
    """
    dev = [normalize(t).split() for t in dev_transcripts]
    short = [" ".join(words) for words in dev if 0 < len(words) < DEV_OVERLAP_NGRAM]
    grams = {
        " ".join(words[i : i + DEV_OVERLAP_NGRAM]) for words in dev for i in range(len(words) - DEV_OVERLAP_NGRAM + 1)
    }

    def overlaps(text: str) -> bool:
        words = normalize(text).split()
        padded = " " + " ".join(words) + " "
        if any(f" {s} " in padded for s in short):
            return True
        return any(
            " ".join(words[i : i + DEV_OVERLAP_NGRAM]) in grams for i in range(len(words) - DEV_OVERLAP_NGRAM + 1)
        )

    return overlaps


def clean_corpus(
    sentences: Iterable[Sentence], dev_transcripts: Iterable[str], dropped: Counter[str] | None = None
) -> list[Sentence]:
    """Drop dev-set overlaps and duplicates (by normalised text), keeping the first occurrence in input order."""
    overlaps = dev_overlap(dev_transcripts)
    seen: set[str] = set()
    kept = []
    for sentence in sentences:
        key = normalize(sentence.text)
        reason = "duplicate" if key in seen else "dev set" if overlaps(sentence.text) else None
        if reason is None:
            seen.add(key)
            kept.append(sentence)
        elif dropped is not None:
            dropped[reason] += 1
    return kept
