"""Read a resolved dataset as a stream of `EvalSample`s (16 kHz float32 audio + reference text).

Audio is always read encoded (`Audio(decode=False)`: {bytes, path}) and decoded here by tiny-audio's one decoder
(`tiny_audio.model.audio_input.load_audio`, which reads through soundfile), because `datasets` 5.x decodes through
torchcodec, whose PyPI builds fail to load without CUDA. For the same reason audiofolders and manifests are read by
this module rather than by `datasets`' audiofolder builder, which needs torchcodec even to pass file paths through.

Everything streams: a sample is decoded only when the evaluation loop asks for it, so `--max-samples 100` of a Hub
test set downloads about 100 clips, and a long manifest costs no memory. A row whose audio cannot be decoded (a
corrupt or missing file) comes through as a sample with no audio and its `error`, so one bad row does not end the
stream: the evaluation names it and goes on.

A `context` column, when a table has one (a manifest's, an audiofolder's metadata, a parquet file's), gives each clip
the names and words it may hold (docs/context.md): a comma-separated string or, in JSONL, a list. The evaluation judges
it by the model's own rules (`context_words.check_context`) when it uses it (runner.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tiny_audio.data.tables import (
    AUDIO_COLUMNS,
    ID_COLUMNS,
    TEXT_COLUMNS,
    UNNAMED,
    audiofolder_tables,
    pick_column,
    pick_split,
    read_table,
)
from tiny_audio.evaluation.datasets import DatasetSource
from tiny_audio.model.audio_input import load_audio
from tiny_audio.model.constants import SAMPLING_RATE

__all__ = ["EvalSample", "ReplayableSamples", "count_samples", "iter_samples"]

_SHARD = re.compile(r"^(?P<split>[\w.]+)-\d+-of-\d+\.parquet$")
SPEAKER_COLUMNS = ("speaker", "speaker_id", "client_id")  # tiny-audio's corpora, LibriSpeech, Common Voice
CONTEXT_COLUMNS = ("context",)


@dataclass(frozen=True)
class EvalSample:
    id: str
    text: str
    audio: np.ndarray  # float32, mono, 16 kHz; empty when `error` is set
    speaker: str | None = None  # when the dataset names one: results then give WER by speaker
    error: str | None = None  # why the row's audio could not be decoded (the row's name and the decoder's reason)
    context: str | list[str] | None = None  # the row's own names and words to expect (a `context` column), as read

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLING_RATE


def _optional(columns: Iterable[str], wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    by_lower = {c.lower(): c for c in columns}
    for candidate in (wanted, *candidates) if wanted else candidates:
        if candidate.lower() in by_lower:
            return by_lower[candidate.lower()]
    return None


def _decode(value: Any, base_dir: Path | None, where: str) -> np.ndarray:
    """16 kHz float32 mono audio of a row's audio value: a path (relative to `base_dir`), {bytes, path}, or
    {array, sampling_rate} (already decoded by someone else's pipeline). Clips are not judged here (silent or very
    short ones are the system's to handle, and recorded per row); undecodable ones raise ValueError naming the row."""
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        value = {"bytes": None, "path": str(path if path.is_absolute() or base_dir is None else base_dir / path)}
    elif not isinstance(value, dict):
        raise ValueError(
            f"{where}: unsupported audio value of type {type(value).__name__}; expected a path, "
            "{'bytes', 'path'} or {'array', 'sampling_rate'}"
        )
    elif value.get("array") is None and value.get("bytes") is None and value.get("path") and base_dir is not None:
        path = Path(value["path"])
        value = {"bytes": None, "path": str(path if path.is_absolute() else base_dir / path)}
    try:
        return load_audio(value, check=False)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from err


def _samples_from_rows(
    rows: Iterable[dict], source: DatasetSource, base_dir: Path | None, where: str
) -> Iterator[EvalSample]:
    """Decode rows lazily; columns are picked from the first row (names given in `source` win)."""
    columns: tuple[str, str, str | None, str | None] | None = None
    for index, row in enumerate(rows):
        if columns is None:
            columns = (
                pick_column(row, source.audio_column, AUDIO_COLUMNS, "audio", where),
                pick_column(row, source.text_column, TEXT_COLUMNS, "text", where),
                _optional(row, source.id_column, ID_COLUMNS),
                _optional(row, None, SPEAKER_COLUMNS),
            )
        audio_col, text_col, id_col, speaker_col = columns
        context_col = _optional(row, None, CONTEXT_COLUMNS)  # per row: a JSONL row without one leaves the key out
        try:
            audio, error = _decode(row[audio_col], base_dir, f"{where} row {index}"), None
        except ValueError as err:  # this row's file, not the dataset: reported by the evaluation, which goes on
            audio, error = np.zeros(0, dtype=np.float32), str(err)
        sample_id = row.get(id_col) if id_col else None
        if sample_id is None:
            value = row[audio_col]
            path = value.get("path") if isinstance(value, dict) else value
            sample_id = Path(str(path)).stem if path else str(index)
        text = row[text_col]
        speaker = row.get(speaker_col) if speaker_col else None
        yield EvalSample(
            id=str(sample_id),
            text="" if text is None else str(text),
            audio=audio,
            speaker=None if speaker is None else str(speaker),
            error=error,
            context=row.get(context_col) if context_col else None,
        )


# ---------------------------------------------------------------------------------------------------------------
# datasets-backed sources


def _no_decode(dataset, audio_column: str | None):
    """Switch an Audio column to {bytes, path} so that reading never needs torchcodec."""
    import datasets

    features = getattr(dataset, "features", None) or {}
    columns = [audio_column] if audio_column else [c for c in AUDIO_COLUMNS if c in features]
    for column in columns:
        if column in features and isinstance(features[column], datasets.Audio):
            dataset = dataset.cast_column(column, datasets.Audio(decode=False))
    return dataset


def _open_hub(source: DatasetSource, streaming: bool):
    import datasets

    from tiny_audio.evaluation.hub import hub_failure_hint

    try:
        dataset = datasets.load_dataset(source.location, source.config, split=source.split, streaming=streaming)
    except Exception as err:  # datasets raises many types (connection, missing config/split, gated repo)
        raise RuntimeError(
            f"could not open Hub dataset {source.describe()}: {type(err).__name__}: {err}{hub_failure_hint()}"
        ) from err
    return _no_decode(dataset, source.audio_column)


def _open_parquet(source: DatasetSource, streaming: bool):
    import datasets

    path = Path(source.location)
    files: dict[str, list[str]] = {}
    for shard in [path] if path.is_file() else sorted(path.rglob("*.parquet")):
        # "<split>-00000-of-00001.parquet" (the Hub's shard names) groups into splits; other names are unnamed.
        match = _SHARD.match(shard.name)
        files.setdefault(match.group("split") if match else UNNAMED, []).append(str(shard))
    split = pick_split(sorted(files), source.split, str(path))
    name = split or "train"  # `datasets` needs a split name; "train" is what it calls unnamed data
    dataset = datasets.load_dataset("parquet", data_files={name: files[split]}, split=name, streaming=streaming)
    return _no_decode(dataset, source.audio_column), split


def iter_samples(source: DatasetSource, max_samples: int | None = None, streaming: bool = True) -> Iterator[EvalSample]:
    """Yield decoded samples of `source`, at most `max_samples` (all when None), in the dataset's order.

    The order is the dataset's own (the ESB test sets are sorted by length), never shuffled, so two runs and two
    models see the same clips.
    """
    if max_samples is not None and max_samples <= 0:
        return
    where = source.describe()
    base_dir: Path | None = None
    if source.kind == "dev-real":
        from tiny_audio.data import load_corpus

        rows = load_corpus("dev-real", streaming=streaming)
    elif source.kind == "corpus":
        from tiny_audio.data import load_corpus

        rows = load_corpus(source.location, split=source.split or "test", streaming=streaming)
    elif source.kind == "hub":
        rows = _open_hub(source, streaming)
    elif source.kind == "parquet":
        rows, _ = _open_parquet(source, streaming)
        base_dir = Path(source.location) if Path(source.location).is_dir() else Path(source.location).parent
    elif source.kind == "manifest":
        rows = read_table(Path(source.location))
        base_dir = Path(source.location).parent
    elif source.kind == "audiofolder":
        tables = audiofolder_tables(Path(source.location))
        table = tables[pick_split(sorted(tables), source.split, where)]
        rows = read_table(table)
        base_dir = table.parent
    else:
        raise ValueError(f"unknown dataset kind {source.kind!r}")
    for count, sample in enumerate(_samples_from_rows(rows, source, base_dir, where), 1):
        yield sample
        if max_samples is not None and count >= max_samples:
            return


def count_samples(source: DatasetSource) -> int | None:
    """How many samples `source` has, when that is known without reading it (for the progress bar)."""
    try:
        if source.kind == "dev-real":
            from tiny_audio.data.dev_real import dev_clips

            return len(dev_clips())
        if source.kind == "manifest":
            return sum(1 for _ in read_table(Path(source.location)))
        if source.kind == "audiofolder":
            tables = audiofolder_tables(Path(source.location))
            return sum(1 for _ in read_table(tables[pick_split(sorted(tables), source.split, source.name)]))
        if source.kind in ("corpus", "parquet"):
            import pyarrow.parquet as pq

            if source.kind == "corpus":
                from tiny_audio.data.load import split_files

                files = split_files(source.location, source.split or "test")
            else:
                path = Path(source.location)
                files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
                if len(files) > 1:
                    return None  # several splits may be mixed in; not worth guessing
            return sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    except (OSError, ValueError):
        return None
    return None  # Hub: only known after a metadata request, which costs a round trip


class ReplayableSamples:
    """The same samples for several models, decoded once while they fit in `budget_bytes` of memory.

    The first pass reads from `open_samples()`; if every sample fit in the budget, later passes replay them from
    memory (no second download, identical audio by construction); otherwise later passes re-open the source,
    which in dataset order gives the same clips.
    """

    def __init__(self, open_samples: Callable[[], Iterator[EvalSample]], budget_bytes: int = 512 * 2**20):
        self._open = open_samples
        self._budget = budget_bytes
        self._cache: list[EvalSample] | None = None

    def __iter__(self) -> Iterator[EvalSample]:
        if self._cache is not None:
            yield from self._cache
            return
        kept: list[EvalSample] | None = []
        size = 0
        for sample in self._open():
            if kept is not None:
                size += sample.audio.nbytes
                if size <= self._budget:
                    kept.append(sample)
                else:
                    kept = None  # over budget: stop caching, later passes re-read the source
            yield sample
        if kept is not None:
            self._cache = kept  # only once a pass finished: an interrupted pass must not look complete
