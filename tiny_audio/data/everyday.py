"""The `everyday` text source: what people say to machines and to each other, with the numbers, letters and names
that books rarely hold.

Why: a model trained on Austen and WordNet heard real telephone speech badly where it was least like a book: single
digits, ordinals, spelled letters and the NATO alphabet (the WER per kind of prompt in docs/default-model.md). No
package offers such text in bulk, so it is generated: short frames (a request, a question, a read-back) filled with
numbers, dates, times, amounts, codes, spelled names and places, every number in words as the other sources write
them.
The word lists are common English words and names; nothing is taken from a development set, and a test checks that
no generated utterance shares a five-word run with a prompt of the real telephone development set.
"""

from __future__ import annotations

import random

from .numwords import cardinal, ordinal, year

SIZE = 24_000  # utterances generated (before cleaning and de-duplication), about as many as WordNet gives
SEED = "everyday/1"

FIRST_NAMES = ("Anna Ben Carlos Dana Elena Frank Grace Hiro Ivan Julia Kofi Laura Miguel Nina Omar Priya Quinn Rosa "
               "Sam Tara Umar Vera Will Xavier Yuki Zoe Ahmed Bianca Chen Dmitri Fatima Greta Hassan Ingrid Jamal "
               "Kenji Leila Marco Noor Olga Pablo Rahul Sofia Tomas Wei").split()  # fmt: skip
SURNAMES = ("Smith Garcia Nguyen Patel Kowalski Okafor Schmidt Rossi Tanaka Johnson Silva Murphy Cohen Haddad "
            "Larsen Novak Ortiz Fischer Kim Brown").split()  # fmt: skip
CITIES = ("Boston Denver Chicago Seattle Dallas Toronto Dublin London Madrid Berlin Lagos Nairobi Mumbai Tokyo "
          "Sydney Lima Oslo Cairo Phoenix Atlanta Houston Portland Vienna Prague").split()  # fmt: skip
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = "January February March April May June July August September October November December".split()
NATO = ("Alpha Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliet Kilo Lima Mike November Oscar Papa Quebec "
        "Romeo Sierra Tango Uniform Victor Whiskey X-ray Yankee Zulu").split()  # fmt: skip
# Letters spoken alone. "A" is left out: Kokoro reads a lone "A" as the article ("uh"), so its audio would not
# say what its transcript says; words to spell are those without one.
LETTERS = [chr(c) for c in range(ord("B"), ord("Z") + 1)]
SPELLABLE_SURNAMES = [word for word in SURNAMES if "a" not in word.lower()]
SPELLABLE_WORDS = [word for word in FIRST_NAMES + CITIES if "a" not in word.lower()]
DEVICES = "lights heating fan radio television oven alarm music printer camera".split()
ROOMS = "kitchen bedroom office garage hallway basement living room".split(" ")
ITEMS = "tickets coffees pizzas chairs boxes batteries stamps towels apples notebooks".split()


def _digits(rng: random.Random, low: int, high: int) -> str:
    """A digit string read one digit at a time, grouped in threes and fours with commas as people pause."""
    digits = [
        cardinal(rng.randrange(10)).replace("zero", rng.choice(("zero", "oh"))) for _ in range(rng.randint(low, high))
    ]
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return ", ".join(" ".join(group) for group in groups)


def _spelled(word: str) -> str:
    return ", ".join(word.upper())


def _code(rng: random.Random) -> str:
    """Letters and digits mixed, as in a booking reference: "K, seven, R, two"."""
    return ", ".join(
        rng.choice(LETTERS) if rng.random() < 0.5 else cardinal(rng.randrange(10)) for _ in range(rng.randint(3, 6))
    )


def _time(rng: random.Random) -> str:
    hour, minute = rng.randint(1, 12), rng.choice((0, 5, 10, 15, 20, 30, 40, 45, 50))
    part = rng.choice(("in the morning", "in the afternoon", "in the evening", "", ""))
    spoken = cardinal(hour) + (" o'clock" if minute == 0 else (" oh " if minute < 10 else " ") + cardinal(minute))
    return f"{spoken} {part}".strip()


def _date(rng: random.Random) -> str:
    month, day = rng.choice(MONTHS), ordinal(rng.randint(1, 28))
    return rng.choice((f"{month} {day}", f"the {day} of {month}", f"{month} {day}, {year(rng.randint(1900, 1999))}"))


def _amount(rng: random.Random) -> str:
    dollars, cents = rng.randint(1, 9999), rng.randint(1, 99)
    return rng.choice((f"{cardinal(dollars)} dollars", f"{cardinal(dollars)} dollars and {cardinal(cents)} cents"))


def _name(rng: random.Random) -> str:
    return rng.choice((rng.choice(FIRST_NAMES), f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"))


# Each frame is a function of the random generator: sentence frames people use with assistants, phones and each other.
FRAMES = (
    lambda r: f"Call {_name(r)} at {_digits(r, 7, 10)}.",
    lambda r: f"My phone number is {_digits(r, 7, 10)}.",
    lambda r: f"The reference is {_code(r)}.",
    lambda r: f"Is your code {_code(r)}?",
    lambda r: f"My last name is {(s := r.choice(SPELLABLE_SURNAMES))}, {_spelled(s)}.",
    lambda r: f"That is {_spelled(r.choice(SPELLABLE_WORDS))}.",
    lambda r: f"{r.choice(NATO)} {r.choice(NATO)} {cardinal(r.randrange(10))} {r.choice(NATO)}.",
    lambda r: f"{(n := r.choice(NATO[1:]))[0]} as in {n}.",
    lambda r: f"Set an alarm for {_time(r)}.",
    lambda r: f"The meeting moved to {r.choice(WEEKDAYS)} at {_time(r)}.",
    lambda r: f"My appointment is on {_date(r)}.",
    lambda r: f"I was born on {_date(r)}.",
    lambda r: f"The total comes to {_amount(r)}.",
    lambda r: f"Can I pay {_amount(r)} today?",
    lambda r: f"I would like {cardinal(r.randint(2, 20))} {r.choice(ITEMS)}, please.",
    lambda r: f"Turn {r.choice(('on', 'off'))} the {r.choice(DEVICES)} in the {r.choice(ROOMS)}.",
    lambda r: f"What is the weather in {r.choice(CITIES)} on {r.choice(WEEKDAYS)}?",
    lambda r: f"Book a flight to {r.choice(CITIES)} for {_date(r)}.",
    lambda r: f"She lives on the {ordinal(r.randint(1, 40))} floor, room {cardinal(r.randint(100, 999))}.",
    lambda r: f"Take the {ordinal(r.randint(1, 9))} exit and turn {r.choice(('left', 'right'))}.",
    lambda r: f"You are number {cardinal(r.randint(1, 30))} in line.",
    lambda r: f"Send {_name(r)} a message saying I will be {cardinal(r.randint(5, 55))} minutes late.",
    lambda r: f"The score was {cardinal(r.randint(0, 9))} to {cardinal(r.randint(0, 9))} on {r.choice(WEEKDAYS)}.",
    lambda r: f"Add {cardinal(r.randint(2, 99))} and {cardinal(r.randint(2, 99))}.",
    lambda r: f"Is {_name(r)} free on {r.choice(WEEKDAYS)} afternoon?",
    lambda r: f"{r.choice(('Yes', 'No', 'Okay', 'Sorry'))}, {r.choice(('the', 'my'))} number is {_digits(r, 3, 6)}.",
)


def utterances(frames, seed: str, size: int) -> list[str]:
    """`size` utterances, each from a frame (a function of a `random.Random`) drawn by `seed`: the same on every
    machine for the same frames and word lists (a string seed). `everyday` and `coined` are made this way."""
    rng = random.Random(seed)
    return [rng.choice(frames)(rng) for _ in range(size)]


def everyday_texts(size: int = SIZE) -> list[str]:
    """`size` generated utterances, the same on every machine (a fixed string seed)."""
    return utterances(FRAMES, SEED, size)
