"""The `coined` text source: everyday sentences that each carry one or two invented words (issue 46).

Why: a model told "Words that may occur: Zentrix, Doctor Okonkwo-Ferris." must learn to copy a heard name's spelling
from that list. Austen, WordNet and `everyday` hold real English words only, which the language model writes without
any list, so training on them never rewarded looking at it. Here every utterance names a person, place, product,
company, drug, food or material that no dictionary holds, built from a small syllable grammar whose letters can be
read several ways (c/k/ck/qu, ph/f, y/i, ae/ei), so the sound alone does not give the spelling.
Invented words are rejected when they are real: shorter than four letters, or found in the vocabulary of the default
text sources (Austen's novels and WordNet, its headwords as well as its examples) or in `everyday`'s name lists.
Nothing is taken from a benchmark or development set; tests check that no invented word overlaps a term of
benchmarks/context_biasing.py and that no utterance shares a five-word run with its sentences.
"""

from __future__ import annotations

import functools
import random
import re

from .everyday import CITIES, FIRST_NAMES, SURNAMES, WEEKDAYS, utterances
from .numwords import cardinal
from .sources import WORDNET_DIR, WORDNET_PARTS, TextSource, read_austen, read_wordnet_examples

SIZE = 12_000  # utterances generated (before cleaning and de-duplication)
SEED = "coined/2"

# Onsets and vowels carry spellings that sound alike, so the list, not the sound, decides the letters.
ONSETS = ("b bl br c cl cr ch d dr f fl fr ph g gl gr h j k kl kr kh l m n p pl pr qu r rh s sk sl sp st t tr th "
          "v vr w z zh y").split()  # fmt: skip
VOWELS = "a e i o u a e i o y ae ei ou io".split()
CODAS = ("", "", "", "", "n", "r", "l", "s", "m", "x", "ck", "lt", "nd", "rn")
# Endings per kind of thing, as the real ones sound (drugs in -ofen, places in -stad); none ends a benchmark term.
ENDINGS = {
    "surname": "enko strom berg ard eros oza ander ek ley ton quist ardi iak sson opoulos ung".split(),
    "place": "ora ova holm stad wick burg ana thorpe aven ford dorf ness wyn".split(),
    "brand": "io ium eon yx tron ique ara ento aro ify ent oq".split(),
    "drug": "ofen amil idrin oxin ulol azol eprin icet afil ipine asone".split(),
    "food": "ella osh ak ita umi ello ash oli oca anda".split(),
    "material": "ite ium ene ax yl ose ide".split(),
}
TITLES = ("Doctor", "Mister", "Nurse", "Professor", "Captain")
_UNSAYABLE = re.compile(r"[^aeiouy]{4,}|(.)\1\1")  # four consonants in a row, or a letter three times


@functools.lru_cache(maxsize=1)
def english_vocabulary() -> frozenset[str]:
    """Every lower-case word of the default text sources and `everyday`'s lists (~6 s, mostly Rscript for Austen)."""
    texts = [*read_austen().values(), *(e for examples in read_wordnet_examples().values() for e in examples)]
    for part in WORDNET_PARTS:  # headwords too: a real word missing from the examples is still one the model knows
        texts.append((WORDNET_DIR / f"index.{part}").read_text(encoding="utf-8", errors="replace").replace("_", " "))
    texts.append(" ".join(FIRST_NAMES + SURNAMES + CITIES))
    return frozenset(word for text in texts for word in re.findall(r"[a-z]+", text.lower()))


def _coin(rng: random.Random, kind: str) -> str:
    """One invented word of `kind`, lower case: 1-3 open syllables, a coda, an ending (2-4 syllables in all),
    drawn again until it is no real word and can be said."""
    vocabulary = english_vocabulary()
    while True:
        syllables = rng.choices((1, 2, 3), weights=(5, 4, 1))[0]
        stem = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables))
        ending = rng.choice(ENDINGS[kind])
        coda = rng.choice(CODAS)
        if ending[0] not in "aeiouy" and len(coda) > 1:
            coda = coda[-1]  # "lt" + "vane" would pile up consonants
        if not coda and ending[0] in "aeiouy":
            coda = rng.choice("lnrvst")  # a link consonant, not two vowels run together
        word = stem + coda + ending
        if 4 <= len(word) <= 12 and word not in vocabulary and not _UNSAYABLE.search(word):
            return word


def _surname(rng: random.Random) -> str:
    # About one surname in seven is a double-barrelled one, each half invented ("Brelvano-Tusk" style).
    halves = 2 if rng.random() < 0.15 else 1
    return "-".join(_coin(rng, "surname").capitalize() for _ in range(halves))


def _person(rng: random.Random) -> str:
    """A surname alone, or after a title or a real first name ("Nurse X", "Omar X"), as people are named aloud."""
    surname = _surname(rng)
    return rng.choice((surname, surname, f"{rng.choice(TITLES)} {surname}", f"{rng.choice(FIRST_NAMES)} {surname}"))


def _name(rng: random.Random, kind: str) -> str:
    word = _coin(rng, kind)
    return word.capitalize() if kind in ("place", "brand") else word  # drugs, foods and materials as common nouns


def _time(rng: random.Random) -> str:
    hour = cardinal(rng.randint(1, 12))
    return rng.choice((f"{hour} o'clock", f"half past {hour}", f"{hour} thirty", f"quarter to {hour}"))


P, S, PL, B = _person, _surname, (lambda r: _name(r, "place")), (lambda r: _name(r, "brand"))
D, F, M = (lambda r: _name(r, "drug")), (lambda r: _name(r, "food")), (lambda r: _name(r, "material"))
DAY, N = (lambda r: r.choice(WEEKDAYS)), (lambda r: cardinal(r.randint(2, 12)))

# Each frame is a function of the random generator: appointments, directions, shopping, work, medicine, travel, tech
# support and small talk, one or two invented words each.
FRAMES = (
    lambda r: f"My appointment with {P(r)} is at {_time(r)}.",
    lambda r: f"Can I see Doctor {S(r)} on {DAY(r)} instead?",
    lambda r: f"{P(r)} cancelled our meeting this afternoon.",
    lambda r: f"Is {P(r)} still coming to dinner on {DAY(r)}?",
    lambda r: f"The clinic on {PL(r)} Road moved my visit to {DAY(r)}.",
    lambda r: f"Go straight past {PL(r)} and turn at the lights.",
    lambda r: f"How far is {PL(r)} from here by bus?",
    lambda r: f"We got lost somewhere between {PL(r)} and {PL(r)}.",
    lambda r: f"Is there a petrol station near {PL(r)}?",
    lambda r: f"The {PL(r)} exit is closed for repairs this week.",
    lambda r: f"Do you sell {F(r)} in bigger bags?",
    lambda r: f"I need {N(r)} packets of {F(r)} for the party.",
    lambda r: f"Does the {B(r)} shop open on {DAY(r)} mornings?",
    lambda r: f"This jacket is made of {M(r)}, not wool.",
    lambda r: f"The {B(r)} blender I bought last month already broke.",
    lambda r: f"Where would I find the {F(r)} sauce?",
    lambda r: f"Please forward the contract to {P(r)} before lunch.",
    lambda r: f"{P(r)} from {B(r)} wants a call back today.",
    lambda r: f"Our office in {PL(r)} hired {N(r)} new people.",
    lambda r: f"I have a video call with {B(r)} at {_time(r)}.",
    lambda r: f"{B(r)} sent us the wrong invoice again.",
    lambda r: f"Can you print the {B(r)} slides for me?",
    lambda r: f"The pharmacy has no {D(r)} left until {DAY(r)}.",
    lambda r: f"Take one {D(r)} tablet twice a day with water.",
    lambda r: f"Is it safe to drink coffee with {D(r)}?",
    lambda r: f"Nurse {S(r)} will change your bandage shortly.",
    lambda r: f"I am allergic to {D(r)}, so please check the label.",
    lambda r: f"Our train to {PL(r)} leaves at {_time(r)}.",
    lambda r: f"Two return tickets to {PL(r)}, please.",
    lambda r: f"The plane from {PL(r)} landed an hour early.",
    lambda r: f"We rented a cottage just outside {PL(r)} for {N(r)} nights.",
    lambda r: f"Is {PL(r)} worth a visit in winter?",
    lambda r: f"My {B(r)} laptop will not turn on.",
    lambda r: f"Have you tried switching the {B(r)} router off and on?",
    lambda r: f"The {B(r)} app logs me out every morning.",
    lambda r: f"I forgot my password for the {B(r)} account.",
    lambda r: f"Which version of {B(r)} is on your phone?",
    lambda r: f"My neighbour {P(r)} grows {F(r)} in the garden.",
    lambda r: f"The new {F(r)} place in {PL(r)} is excellent.",
    lambda r: f"We coated the old fence with {M(r)} varnish.",
    lambda r: f"{B(r)} is building a factory near {PL(r)}.",
    lambda r: f"Have you met {P(r)} yet?",
)


def coined_texts(size: int = SIZE) -> list[str]:
    """`size` generated utterances, the same on every machine with the same text sources (a fixed string seed)."""
    return utterances(FRAMES, SEED, size)


def coined_source() -> TextSource:
    """Describe the generated `coined` utterances for the dataset card (here, not in sources.py: no import circle)."""
    return TextSource(
        name="coined",
        package="tiny-audio (tiny_audio/data/coined.py)",
        version=f"{SEED}, {SIZE} utterances",
        licence="generated by tiny-audio (its licence)",
        description="generated everyday sentences, each naming one or two invented people, places, products, "
        "companies, drugs, foods or materials (for training a model to use a context list)",
    )
