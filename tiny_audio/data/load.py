"""Open a built corpus (or "dev-real"), or an audiofolder, as a `datasets` Dataset; its audio decodes without
torchcodec through `decode_audio`, the data card's name for tiny-audio's one decoder
(`tiny_audio.model.audio_input.load_audio`)."""

from __future__ import annotations

from pathlib import Path

import datasets

from ..model.audio_input import load_audio as decode_audio  # noqa: F401  (re-exported: the data card's snippet uses it)
from ..model.constants import SAMPLING_RATE
from .dev_real import load_dev_real
from .plan import SPLITS
from .tables import AUDIO_COLUMNS, TEXT_COLUMNS, audiofolder_tables, pick_column, pick_split, read_table

DEV_REAL = "dev-real"  # the name `load_corpus` accepts for the real-speech development set


def split_files(path: str | Path, split: str) -> list[str]:
    """The parquet shards of one split, sorted; raises naming the splits that exist when none match."""
    data = Path(path) / "data"
    files = sorted(str(p) for p in data.glob(f"{split}-*.parquet"))
    if not files:
        present = sorted({p.name.split("-")[0] for p in data.glob("*.parquet")}) if data.is_dir() else []
        raise FileNotFoundError(
            f"no '{split}' shards under {data}; splits present: {present or 'none'} "
            f"(build one with `tiny-audio data synth --output {path}`)"
        )
    return files


def load_corpus(
    path: str | Path, split: str = "train", streaming: bool = False, cache_dir: str | None = None
) -> datasets.Dataset | datasets.IterableDataset:
    """Load one split of a corpus built by `build_corpus`, or the development set when `path` is "dev-real".

    Audio stays encoded ({bytes, path}); decode with `decode_audio` (= `audio_input.load_audio`). `streaming=True`
    reads shards lazily, which is what a training loop over tens of hours should use; otherwise `datasets` converts
    the shards to its Arrow cache first (as large as the corpus).
    """
    if str(path) == DEV_REAL:
        dev = load_dev_real()
        return dev.to_iterable_dataset() if streaming else dev
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; accepted: {', '.join(SPLITS)}")
    files = split_files(path, split)
    return datasets.load_dataset(
        "parquet", data_files={split: files}, split=split, streaming=streaming, cache_dir=cache_dir
    )


def load_audiofolder(
    path: str | Path, split: str = "train", audio_column: str | None = None, text_column: str | None = None
) -> datasets.Dataset:
    """An audiofolder (audio files with a metadata.csv or metadata.jsonl naming each file and its transcript, at the
    folder's top or in one sub-folder per split) as a Dataset of `audio` ({bytes: None, path}, decoded later by
    `decode_audio`), `text`, and `duration` (seconds) when the metadata has that column.

    `datasets`' own audiofolder builder needs torchcodec even with `Audio(decode=False)` (datasets 5.2), so the
    metadata is read here (`tables.py`, as `tiny-audio eval` reads it). A file that is missing or corrupt stays a row:
    the training collator skips and names it when it meets it. Columns are found by name (file_name, text, ...)
    unless `audio_column` / `text_column` say which.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"audiofolder {root} is not a directory (expected audio files with a metadata.csv)")
    tables = audiofolder_tables(root)
    table = tables[pick_split(sorted(tables), split, f"audiofolder {root}")]
    rows = list(read_table(table))
    if not rows:
        raise ValueError(f"{table} lists no audio files; expected a header (file_name,text) and one row per file")
    audio = pick_column(rows[0], audio_column, AUDIO_COLUMNS, "audio", str(table))
    text = pick_column(rows[0], text_column, TEXT_COLUMNS, "text", str(table))
    columns = {
        "audio": [{"bytes": None, "path": str(table.parent / row[audio])} for row in rows],
        "text": ["" if row[text] is None else str(row[text]) for row in rows],
    }
    features = {"audio": {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}}
    features["text"] = datasets.Value("string")
    if "duration" in rows[0]:  # kept for length-grouped batches and the length filter
        columns["duration"] = [float(row["duration"]) for row in rows]
        features["duration"] = datasets.Value("float32")
    dataset = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
    return dataset.cast_column("audio", datasets.Audio(sampling_rate=SAMPLING_RATE, decode=False))
