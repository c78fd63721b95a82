"""Small stand-ins for the named Hub speech datasets, in their published schemas, for `LocalHub.seed_dataset`.

Each repository holds a README.md whose `configs` YAML maps (config, split) to parquet shards, as dataset repositories
on the Hub do, and shards whose columns and types are those of `tiny_audio.data.source_spec.HUB_DATASETS`, with
transcripts written the way each corpus writes them (LibriSpeech upper case, People's Speech lower case, GigaSpeech
upper case with punctuation tags and garbage segments, Common Voice sentences). Audio is one short FLAC tone; each
row's audio `path` starts with the dataset's source name, so a mix can be counted by origin.
"""

from __future__ import annotations

import io
from pathlib import Path

import datasets
import numpy as np
import soundfile
import yaml

from tiny_audio.data.source_spec import HUB_DATASETS, HUB_SOURCES
from tiny_audio.training.sources import AUDIO, AUDIO_STRUCT

SECONDS = 0.8
TEXTS = {  # (source, row) -> transcript as the corpus writes it
    "loquacious": lambda row: f"THE  COURSE NUMBER {row} BEGINS",
    "librispeech": lambda row: f"CHAPTER {row} OF THE BOOK",
    "peoples_speech": lambda row: f"we talked about it   for {row} minutes",
    "gigaspeech": lambda row: "<MUSIC>" if row % 10 == 9 else f"AS THEY LEFT <COMMA> DID ROW {row} END <QUESTIONMARK>",
    "common_voice": lambda row: f"Sentence {row}, read aloud.",
}
FEATURE_TYPES = {"string": datasets.Value("string"), "float32": datasets.Value("float32")}
FEATURE_TYPES |= {"int32": datasets.Value("int32"), "int64": datasets.Value("int64")}


def _clip_bytes() -> bytes:
    time = np.arange(int(SECONDS * 16_000)) / 16_000
    clip = (0.4 * np.sin(2 * np.pi * 300 * time)).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, clip, 16_000, format="FLAC")
    return buffer.getvalue()


def _value(column: str, kind: str, source: str, row: int, audio: bytes):
    if kind == "audio":
        return {"bytes": audio, "path": f"{source}-{row}.flac"}
    if column == "duration":
        return SECONDS
    if column == "duration_ms":
        return int(SECONDS * 1000)
    if column in ("text", "sentence"):
        return TEXTS[source](row)
    return row if kind.startswith("int") else (float(row) if kind == "float32" else f"{column}-{row}")


def write_dataset_repo(folder: Path, source: str, splits: dict[str, tuple[str, int]], audio: bytes) -> str:
    """Write the repository of the Hub source `source` (a HUB_SOURCES name) with `splits` {split: (config, rows)};
    returns its Hub id."""
    hub = HUB_SOURCES[source]
    facts = HUB_DATASETS[hub["path"]]
    # Rows go in as a plain struct, then become Audio: encoding through Audio itself needs torchcodec (datasets 5.x).
    features = datasets.Features(
        {column: AUDIO_STRUCT if kind == "audio" else FEATURE_TYPES[kind] for column, kind in facts["columns"].items()}
    )
    audio_columns = [column for column, kind in facts["columns"].items() if kind == "audio"]
    configs: dict[str, list[dict[str, str]]] = {}
    for split, (config, rows) in splits.items():
        assert split in facts["configs"][config], (source, config, split)
        table = {
            column: [_value(column, kind, source, row, audio) for row in range(rows)]
            for column, kind in facts["columns"].items()
        }
        shard = f"{config}/{split}/{split}-00000-of-00001.parquet"
        (folder / shard).parent.mkdir(parents=True, exist_ok=True)
        dataset = datasets.Dataset.from_dict(table, features=features)
        for column in audio_columns:
            dataset = dataset.cast_column(column, AUDIO)
        dataset.to_parquet(str(folder / shard))
        configs.setdefault(config, []).append({"split": split, "path": shard})
    card = {"configs": [{"config_name": name, "data_files": files} for name, files in configs.items()]}
    (folder / "README.md").write_text(f"---\n{yaml.safe_dump(card, sort_keys=False)}---\n# {hub['path']} (test copy)\n")
    return hub["path"]


def seed_named_datasets(hub, root: Path, rows: int = 60) -> dict[str, str]:
    """Every HUB_SOURCES dataset into `hub` (a running LocalHub): its training split, and LoquaciousSet's dev split
    (the GPU recipes' eval source); returns {source name: Hub id}."""
    audio, seeded = _clip_bytes(), {}
    for source, spec in HUB_SOURCES.items():
        splits = {spec["split"]: (spec["name"], rows)}
        if source == "loquacious":
            splits["dev"] = (spec["name"], 6)
        repo_id = write_dataset_repo(root / source, source, splits, audio)
        hub.seed_dataset(repo_id, root / source)
        seeded[source] = repo_id
    return seeded
