"""Training prompts with context: the names and words a sample's instruction says to expect (docs/context.md).

A model learns to use a context only if training shows it contexts that help and contexts that do not: a share of
the samples (`ContextOptions.share`) gets a context; of those, most name some of the clip's own words (the rarest, a
name or an uncommon word being what a user would list) mixed with distractors, words of other transcripts that the
clip does not say; the rest (`distractor_only_share`) get distractors only, so that a listed word is never proof that
it was spoken. The entries are shuffled, so their order tells nothing.

Rarity is the training transcripts' own word counts (`WordTable`, read from the mix's first `pool_texts`
transcripts): the fewer times a word occurs there, the rarer; a tie goes to a capitalised word (a name), then to the
longer. Words of under three letters and the corpus's most common words (its commonest tenth, at most 100: the, and,
was, ...) are never entries. A run of capitalised words ("Elizabeth Bennet") is one entry, as a user would write a
name; common words at its start ("Then Elizabeth Bennet") are left out of it.

`draw_context` is a pure function of its arguments and seed; the collator seeds it by (seed, rank, epoch, batch,
sample) (replay.py), so a resumed run draws the same contexts. The words become the instruction through the model's
own `context_words.with_context`, which `ASRConfig.instruction` uses at inference.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..model.context_words import MAX_ENTRY_CHARACTERS, MAX_TOTAL_CHARACTERS, SEPARATOR, check_context
from .recipe_sections import ContextOptions

# A word: letters and digits, with apostrophes or hyphens inside ("don't", "Jean-Luc"); punctuation around it is not.
WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
MIN_WORD_CHARACTERS = 3  # "a", "of", "I": never what a context is for
# The corpus's most frequent words are never entries either: its commonest tenth, at most 100 (a tiny corpus of a
# few words has none).
COMMON_WORDS, COMMON_SHARE = 100, 0.1
CONTEXT_STREAM = 1  # the collator's stream number for context draws, apart from augmentation's (replay.py)
DRAWS_PER_DISTRACTOR = 10  # tries to find a word the clip does not say, before a context makes do with fewer
# For the memory estimate's longest prompt: names split into short tokens, so fewer characters per token than the ~4
# of English text; and " Words that may occur: ." in tokens, rounded up.
CHARACTERS_PER_TOKEN, TEMPLATE_TOKENS = 3, 8


@dataclass(frozen=True)
class WordTable:
    """Word counts of training transcripts (casefolded), their most common words, and the distractor pool: every
    entry (`entries`) that the transcripts hold, in the spelling first seen, in order of first appearance."""

    counts: Counter
    common: frozenset[str]
    pool: tuple[str, ...]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> WordTable:
        texts = list(texts)
        counts = Counter(word.casefold() for text in texts for word in WORD.findall(text))
        common = frozenset(word for word, _ in counts.most_common(min(COMMON_WORDS, int(len(counts) * COMMON_SHARE))))
        pool: dict[str, str] = {}
        for text in texts:
            for entry in entries(text, common):
                pool.setdefault(entry.casefold(), entry)
        return cls(counts, common, tuple(pool.values()))


def entries(text: str, common: frozenset[str] = frozenset()) -> list[str]:
    """The possible context entries of a transcript, once each (case-insensitive), in order: runs of two or more
    capitalised words, and the other words of at least MIN_WORD_CHARACTERS letters that are not `common`."""
    matches = list(WORD.finditer(text))
    found: dict[str, str] = {}
    index = 0
    while index < len(matches):
        end = index + 1  # a run of capitalised words, only spaces between them
        while (
            end < len(matches)
            and matches[index].group()[0].isupper()
            and matches[end].group()[0].isupper()
            and text[matches[end - 1].end() : matches[end].start()].isspace()
        ):
            end += 1
        while end - index > 1 and matches[index].group().casefold() in common:  # "Then" of "Then Elizabeth"
            index += 1
        entry = " ".join(match.group() for match in matches[index:end])
        if end - index > 1 or (len(entry) >= MIN_WORD_CHARACTERS and entry.casefold() not in common):
            if len(entry) <= MAX_ENTRY_CHARACTERS:
                found.setdefault(entry.casefold(), entry)
        index = end
    return list(found.values())


def rarest_first(candidates: Sequence[str], counts: Counter) -> list[str]:
    """`candidates` from the rarest (fewest occurrences of its rarest word) to the commonest; ties: capitalised
    before lower-case, then longer before shorter, then as given."""

    def rank(entry: str) -> tuple[int, bool, int]:
        rarest = min(counts.get(word.casefold(), 0) for word in WORD.findall(entry))
        return rarest, not entry[0].isupper(), -len(entry)

    return sorted(candidates, key=rank)


def draw_context(
    transcript: str, table: WordTable, options: ContextOptions, seed: int | Sequence[int]
) -> tuple[str, ...]:
    """The context of one training sample: () for a sample without one, else entries as `check_context` returns
    them (the clip's rarest words and distractors, shuffled). The same arguments and seed give the same context."""
    rng = np.random.default_rng(seed)
    if not options.enabled or rng.random() >= options.share:
        return ()
    spoken = rarest_first(entries(transcript, table.common), table.counts)
    distractors_only = rng.random() < options.distractor_only_share or not spoken
    if distractors_only:
        chosen, wanted = [], int(rng.integers(1, options.max_distractors + 1)) if options.max_distractors else 0
    else:
        chosen = spoken[: int(rng.integers(1, min(options.max_words, len(spoken)) + 1))]
        wanted = int(rng.integers(0, options.max_distractors + 1))
    said = {word.casefold() for word in WORD.findall(transcript)}
    taken = {entry.casefold() for entry in chosen}
    distractors: list[str] = []
    for _ in range(wanted * DRAWS_PER_DISTRACTOR if table.pool else 0):
        if len(distractors) == wanted:
            break
        entry = table.pool[int(rng.integers(len(table.pool)))]
        # Not a word of the clip at all: a distractor that shares one word with the transcript would be half spoken.
        if entry.casefold() not in taken and not said & {word.casefold() for word in WORD.findall(entry)}:
            taken.add(entry.casefold())
            distractors.append(entry)
    mixed = chosen + distractors
    rng.shuffle(mixed)
    while len(SEPARATOR.join(mixed)) > MAX_TOTAL_CHARACTERS:  # long entries and many of them: keep what fits
        mixed.pop()
    return check_context(mixed)


class ContextPrompts:
    """What the collator holds: the recipe's `context` section and the word table of the training transcripts."""

    def __init__(self, options: ContextOptions, table: WordTable):
        self.options, self.table = options, table

    @classmethod
    def from_texts(cls, options: ContextOptions, texts: Iterable[str]) -> ContextPrompts:
        return cls(options, WordTable.from_texts(texts))

    def draw(self, transcript: str, seed: Sequence[int]) -> tuple[str, ...]:
        return draw_context(transcript, self.table, self.options, seed)


def longest_context_tokens(options: ContextOptions) -> int:
    """An upper bound of the tokens a context adds to a training prompt (0 when contexts are off)."""
    if not options.enabled:
        return 0
    entries_at_most = options.max_words + options.max_distractors
    characters = min(MAX_TOTAL_CHARACTERS, entries_at_most * (MAX_ENTRY_CHARACTERS + len(SEPARATOR)))
    return math.ceil(characters / CHARACTERS_PER_TOKEN) + TEMPLATE_TOKENS


def first_texts(dataset, count: int) -> list[str]:
    """The transcripts of a training mix's first `count` rows, read without its audio where the dataset allows."""
    texts = dataset.select_columns(["text"])
    if hasattr(texts, "__len__"):  # map-style: one column read from the files
        return list(texts[: min(count, len(texts))]["text"])
    return [row["text"] for row in texts.take(count)]
