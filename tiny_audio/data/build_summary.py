"""`BuildSummary`: what a corpus build produced, saved as `.build/summary.json` by the builder (build.py) and told
in the dataset card (card.py). A leaf module, so that the builder and the card read one definition and neither
imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BuildSummary"]


@dataclass
class BuildSummary:
    """What a build produced; also saved as `.build/summary.json` and summarised in the README card."""

    output_dir: str
    seed: int
    hours_requested: float
    text_sources: list[dict[str, str]]
    sentences_available: int
    sentences_dropped: dict[str, int]
    voices_available: int
    splits: dict[str, dict[str, float]] = field(default_factory=dict)
    clips: int = 0
    hours: float = 0.0
    voices: int = 0
    timbres: int = 0
    sentences: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    shards_built: int = 0
    shards_resumed: int = 0
    shards_planned: int = 0  # more than built + resumed when `splits` or `shard_range` chose a part of the plan
    wall_seconds: float = 0.0
    prepare_seconds: float = 0.0  # text cleaning, voice discovery and planning, before any audio
    # Worker seconds per stage (synthesis, resample, encode, write), summed over every shard of the corpus, including
    # shards a previous run made: where the time to make this corpus went.
    worker_seconds: dict[str, float] = field(default_factory=dict)
    disk_bytes: int = 0
    checks: dict[str, bool] = field(default_factory=dict)
    test_timbres: list[str] = field(default_factory=list)  # the held-out speakers, e.g. "espeak-ng/m3"
