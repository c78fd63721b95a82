"""Decide, before any audio exists, which sentence each clip says, with which voice, speed and pitch.

Everything here is a pure function of (sentences, voices, settings, seed): the same inputs give the same plan on any
machine, which is what makes a killed build resumable (a rerun recomputes the plan and finds its finished shards)
and a corpus reproducible. Random draws use `random.Random` seeded with strings, whose seeding does not depend on
PYTHONHASHSEED.

Splits:
- sentences are split three ways, disjointly (they were de-duplicated on normalised text first);
- voices: test gets whole held-out timbres (espeak-ng variants, one flite voice), so a test speaker is never heard in
  training, under any accent; validation uses the train voices. Validation thus measures new sentences from known
  speakers, test measures new sentences from new speakers. An engine with a single timbre (Piper) stays in train.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .text import Sentence
from .voices import Voice

SPLITS = ("train", "validation", "test")
# Share of sentences and of hours per split. Small held-out splits are enough to estimate WER (1,000+ clips each
# at 24 h), and every held-out sentence is one the model cannot train on.
DEFAULT_SPLIT_FRACTIONS = {"validation": 0.05, "test": 0.05}
TEST_TIMBRE_FRACTION = 0.15  # of each engine's timbres (at least one when it has two or more)
# Share of clips per engine. espeak-ng has ~100 timbres but sounds robotic; flite's 5 voices and Piper's neural
# voice sound closer to people, so they get more clips than their voice count would give them. Piper is ~15x
# slower than espeak-ng, which caps its share; Kokoro (28 neural speakers) is ~50x slower than espeak-ng, so 0.08 of
# the clips already doubles a build's time. Weights are relative: missing engines' shares go to the others, so a
# build without Kokoro plans exactly what it did before Kokoro was added.
ENGINE_WEIGHTS = {"espeak-ng": 0.72, "flite": 0.24, "piper": 0.04, "kokoro": 0.08, "espeak-ng-random": 0.72,
                  "espeak-ng-random-2": 0.72, "flite-shifted": 0.24}  # fmt: skip
SPEED_RANGE = (0.85, 1.2)  # x the engine's normal rate; outside this, espeak-ng and flite start to slur
PITCH_RANGE = (-1.0, 1.0)  # engine-neutral, mapped by `engines.py`
# Seconds of audio per character of text at speed 1, measured over espeak-ng and flite voices (~18 characters
# per second), plus the silence engines put around a sentence. Used only to size the plan to the hours asked.
SECONDS_PER_CHAR = 1 / 18
SECONDS_PER_CLIP = 0.15
SHARD_SIZE = 250  # clips per parquet shard: ~20 MB of FLAC, ~10 s of work; a kill loses at most that much


@dataclass(frozen=True)
class Utterance:
    """One planned clip."""

    id: str
    split: str
    text: str
    source: str
    voice: Voice
    speed: float
    pitch: float
    channel: str = "clean"  # the codec it is heard through (channels.py)


@dataclass(frozen=True)
class Shard:
    """A group of clips written as one parquet file, the unit of work and of resumption."""

    split: str
    index: int
    count: int
    utterances: tuple[Utterance, ...]

    @property
    def name(self) -> str:
        # The "-of-" form is the Hub's convention and `datasets` recognises the split from the "train-" prefix.
        return f"{self.split}-{self.index:05d}-of-{self.count:05d}"


def estimate_seconds(text: str, speed: float) -> float:
    return SECONDS_PER_CLIP + len(text) * SECONDS_PER_CHAR / speed


def split_sentences(sentences: Sequence[Sentence], fractions: dict[str, float], seed: int) -> dict[str, list[Sentence]]:
    """Shuffle, then cut into disjoint train/validation/test lists (held-out sizes rounded up, at least one)."""
    order = list(sentences)
    random.Random(f"{seed}/sentences").shuffle(order)
    result, start = {}, 0
    for split in ("test", "validation"):
        size = min(len(order) - start, max(1, math.ceil(fractions.get(split, 0.0) * len(order))))
        result[split], start = order[start : start + size], start + size
    result["train"] = order[start:]
    return result


def split_voices(voices: Sequence[Voice], seed: int) -> dict[str, list[Voice]]:
    """Hold out whole timbres per engine for test; train and validation share the rest."""
    test_timbres: set[str] = set()
    for engine in sorted({v.engine for v in voices}):
        timbres = sorted({v.timbre_id for v in voices if v.engine == engine})
        if len(timbres) < 2:
            continue
        random.Random(f"{seed}/voices/{engine}").shuffle(timbres)
        test_timbres.update(timbres[: max(1, round(TEST_TIMBRE_FRACTION * len(timbres)))])
    train = [v for v in voices if v.timbre_id not in test_timbres]
    test = [v for v in voices if v.timbre_id in test_timbres]
    return {"train": train, "validation": train, "test": test}


def _engine_weights(voices: Sequence[Voice]) -> tuple[list[str], list[float]]:
    engines = sorted({v.engine for v in voices})
    weights = [ENGINE_WEIGHTS.get(engine, min(ENGINE_WEIGHTS.values())) for engine in engines]
    return engines, weights


def plan_split(
    split: str,
    sentences: Sequence[Sentence],
    voices: Sequence[Voice],
    seconds: float,
    seed: int,
    channels: Sequence[str] = ("clean",),
) -> list[Utterance]:
    """Assign voices, speeds and pitches to the split's sentences in order until `seconds` of audio is planned.

    Each sentence is used once before any is reused; reuse (another voice, speed, pitch) only happens when the
    hours asked exceed what the split's sentences give in one pass.
    """
    if not sentences or not voices or seconds <= 0:
        return []
    rng = random.Random(f"{seed}/plan/{split}")
    engines, weights = _engine_weights(voices)
    by_engine = {engine: [v for v in voices if v.engine == engine] for engine in engines}
    planned, total, i = [], 0.0, 0
    while total < seconds:
        sentence = sentences[i % len(sentences)]
        engine = rng.choices(engines, weights)[0]
        voice = rng.choice(by_engine[engine])
        speed = round(rng.uniform(*SPEED_RANGE), 3)
        pitch = round(rng.uniform(*PITCH_RANGE), 3)
        # Drawn only when there is a choice, so a plan without channels is the plan made before they existed.
        channel = rng.choice(channels) if len(channels) > 1 else channels[0]
        planned.append(
            Utterance(f"{split}-{i:06d}", split, sentence.text, sentence.source, voice, speed, pitch, channel)
        )
        total += estimate_seconds(sentence.text, speed)
        i += 1
    return planned


def make_plan(
    sentences: Sequence[Sentence],
    voices: Sequence[Voice],
    hours: float,
    seed: int,
    fractions: dict[str, float] | None = None,
    shard_size: int = SHARD_SIZE,
    channels: Sequence[str] = ("clean",),
) -> list[Shard]:
    """The whole corpus as shards: sentences and voices split, clips assigned, grouped `shard_size` per file; each
    clip heard through one of `channels` (`channels.py`), drawn uniformly."""
    if hours <= 0:
        raise ValueError(f"hours must be > 0, got {hours}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    fractions = dict(DEFAULT_SPLIT_FRACTIONS if fractions is None else fractions)
    if any(f < 0 for f in fractions.values()) or sum(fractions.values()) >= 1 or set(fractions) - set(SPLITS[1:]):
        raise ValueError(f"split fractions must be validation/test shares >= 0 summing below 1, got {fractions}")
    if len(sentences) < 3:
        raise ValueError(f"need at least 3 sentences (one per split), got {len(sentences)}")
    sentence_splits = split_sentences(sentences, fractions, seed)
    voice_splits = split_voices(voices, seed)
    if not voice_splits["test"]:
        raise ValueError("need voices from at least two timbres so that test voices differ from train voices")
    shards = []
    for split in SPLITS:
        share = 1.0 - sum(fractions.values()) if split == "train" else fractions.get(split, 0.0)
        utterances = plan_split(
            split, sentence_splits[split], voice_splits[split], hours * 3600 * share, seed, channels
        )
        count = math.ceil(len(utterances) / shard_size)
        for index in range(count):
            chunk = tuple(utterances[index * shard_size : (index + 1) * shard_size])
            shards.append(Shard(split, index, count, chunk))
    return shards


def plan_fingerprint(shards: Sequence[Shard]) -> str:
    """A hash of every planned clip: a rerun resumes only a build whose plan is identical."""
    digest = hashlib.sha256()
    for shard in shards:
        for u in shard.utterances:
            record = asdict(u) | {"voice": u.voice.id}
            if u.channel == "clean":  # absent from plans made before channels existed: they still resume
                del record["channel"]
            digest.update(json.dumps(record, sort_keys=True).encode())
    return digest.hexdigest()
