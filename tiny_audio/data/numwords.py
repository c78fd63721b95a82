"""Spell out the few numbers that appear in prose, so the transcript says what the synthetic voice says.

A TTS engine reads "1784" and "the 8th" its own way; if the transcript keeps the digits, the model must learn each
engine's reading rules instead of English. Writing the words out makes audio and text agree by construction.
Anything harder than a plain cardinal, an ordinal or a year (decimals, money, "10,000 l.", "7000L") is left to the
caller to drop: guessing its reading would produce a wrong transcript, which is worse than one sentence fewer.
"""

from __future__ import annotations

import re

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
# Irregular ordinal endings; every other word just takes "th" (with "y" -> "ie").
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}  # fmt: skip

# Largest cardinal we spell: prose numbers above a million are money or statistics, which we drop instead.
MAX_CARDINAL = 999_999
# Four-digit numbers in this range are read as years ("seventeen eighty-four"), which is how 18th/19th-century prose
# uses them; 2000-2099 are read as cardinals ("two thousand and five" is also how people say those years).
YEAR_RANGE = (1100, 1999)

# A bare integer, or an integer with an English ordinal suffix; anything glued to other letters does not match.
NUMBER_TOKEN = re.compile(r"\b(\d+)(st|nd|rd|th)?\b")


def cardinal(n: int) -> str:
    """Spell 0 <= n <= MAX_CARDINAL in words, British style ("one hundred and five"), as the novels would be read."""
    if not 0 <= n <= MAX_CARDINAL:
        raise ValueError(f"cardinal() spells 0..{MAX_CARDINAL}, got {n}")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("-" + _ONES[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + (" and " + cardinal(rest) if rest else "")
    thousands, rest = divmod(n, 1000)
    head = cardinal(thousands) + " thousand"
    if not rest:
        return head
    return head + (" and " if rest < 100 else " ") + cardinal(rest)


def ordinal(n: int) -> str:
    """Spell n as an ordinal: 1 -> "first", 23 -> "twenty-third", 100 -> "one hundredth"."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def year(n: int) -> str:
    """Read a year in YEAR_RANGE the usual way: 1784 -> "seventeen eighty-four", 1800 -> "eighteen hundred"."""
    century, rest = divmod(n, 100)
    if rest == 0:
        return cardinal(century) + " hundred"
    return cardinal(century) + " " + ("oh " + cardinal(rest) if rest < 10 else cardinal(rest))


def spell_numbers(text: str) -> str | None:
    """Replace every number token in `text` by words; None when a number has no single safe reading.

    Unsafe: numbers with separators or decimals ("10,000", "2.5"), numbers glued to letters ("7000L"), and numbers
    above MAX_CARDINAL. The caller drops such sentences.
    """
    if not re.search(r"\d", text):
        return text
    if re.search(r"\d[,.:/]\d", text) or re.search(r"[A-Za-z]\d", text):
        return None  # "10,000", "2.5", "12:30", "L20": separators and prefixes have several readings
    if re.search(r"\d+(?!(?:st|nd|rd|th)\b)[A-Za-z]", text):
        return None  # "7000L": a number glued to letters that are not an ordinal suffix

    def replace(match: re.Match[str]) -> str:
        value = int(match.group(1))
        if match.group(2):
            return ordinal(value) if value <= MAX_CARDINAL else "\0"
        if len(match.group(1)) == 4 and YEAR_RANGE[0] <= value <= YEAR_RANGE[1]:
            return year(value)
        return cardinal(value) if value <= MAX_CARDINAL else "\0"

    spelled = NUMBER_TOKEN.sub(replace, text)
    if "\0" in spelled or re.search(r"\d", spelled):
        return None
    return spelled
