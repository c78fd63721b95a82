"""Which training examples are dropped before training, and a log of what was dropped.

An example is dropped for an empty transcript (nothing to learn; non-speech clips with empty targets are added after
this filter, on purpose), a transcript over `max_words`, or, when the source records durations, a clip outside
[min_seconds, max_seconds] (otherwise the collator checks the length after decoding). A local source is counted up
front: one log line per reason, with how many and the first few by row and audio path. A streamed one is read lazily,
so each of its first `STREAMED_DROPS_LOGGED` drops is logged as it is met.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import datasets

logger = logging.getLogger(__name__)

EXAMPLES_NAMED = 5  # per reason, in the log line of a local source
STREAMED_DROPS_LOGGED = 20  # per streamed source (and per dataloader worker, which each read part of it)


def drop_reason(
    text: str | None, duration: float | None, min_seconds: float, max_seconds: float, max_words: int
) -> str | None:
    """Why an example is dropped, or None when it is kept."""
    if not (text and text.strip()):
        return "empty transcript"
    if len(text.split()) > max_words:
        return f"transcript over {max_words} words"
    if duration is not None and not min_seconds <= duration <= max_seconds:
        return f"duration outside [{min_seconds}, {max_seconds}] s"
    return None


def filter_examples(dataset, min_seconds: float, max_seconds: float, max_words: int, source: str = "source"):
    """`dataset` without the examples `drop_reason` drops, which are logged (see the module's docstring); `source`
    names the dataset in the log."""
    timed = "duration" in (dataset.column_names or [])  # kept: length-grouped batches read it (length_column_name)
    bounds = (min_seconds, max_seconds, max_words)
    if isinstance(dataset, datasets.Dataset):
        durations = dataset["duration"] if timed else [None] * len(dataset)
        dropped: dict[str, list[int]] = defaultdict(list)
        for row, (text, duration) in enumerate(zip(dataset["text"], durations, strict=True)):
            if reason := drop_reason(text, duration, *bounds):
                dropped[reason].append(row)
        for reason, rows in dropped.items():
            named = dataset.select(rows[:EXAMPLES_NAMED])["audio"]
            examples = ", ".join(
                f"row {row} ({audio.get('path') or 'no path'})"
                for row, audio in zip(rows[:EXAMPLES_NAMED], named, strict=True)
            )
            more = ", ..." if len(rows) > EXAMPLES_NAMED else ""
            logger.info(
                "%s: dropped %d of %d examples for %s: %s%s", source, len(rows), len(dataset), reason, examples, more
            )
        if not dropped:
            return dataset
        gone = {row for rows in dropped.values() for row in rows}
        return dataset.select([row for row in range(len(dataset)) if row not in gone])
    keep = _LoggingFilter(source, bounds)
    return dataset.filter(keep, input_columns=["text", "audio", *(["duration"] if timed else [])])


class _LoggingFilter:
    """The predicate of a streamed source: logs the first drops it meets (a counter per process that runs it)."""

    def __init__(self, source: str, bounds: tuple[float, float, int]):
        self.source, self.bounds, self.logged = source, bounds, 0

    def __call__(self, text: str, audio: dict | None, duration: float | None = None) -> bool:
        reason = drop_reason(text, duration, *self.bounds)
        if reason and self.logged < STREAMED_DROPS_LOGGED:
            self.logged += 1
            path = (audio or {}).get("path") or "no path"
            last = " (further drops are not logged)" if self.logged == STREAMED_DROPS_LOGGED else ""
            logger.info("%s: dropped a streamed example (%s) for %s%s", self.source, path, reason, last)
        return reason is None
