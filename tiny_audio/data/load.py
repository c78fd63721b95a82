"""Open a built corpus (or "dev-real") as a `datasets` Dataset, and decode its audio without torchcodec."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import soundfile as sf
import soxr

from .dev_real import load_dev_real
from .plan import SPLITS
from .synth import SAMPLE_RATE

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

    Audio stays encoded ({bytes, path}); decode with `decode_audio`. `streaming=True` reads shards lazily, which
    is what a training loop over tens of hours should use; otherwise `datasets` converts the shards to its Arrow
    cache first (as large as the corpus).
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


def decode_audio(audio: dict[str, Any], sampling_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode an `{bytes, path}` audio value to float32 mono at `sampling_rate` with soundfile (+ soxr)."""
    if audio.get("bytes") is not None:
        data, rate = sf.read(io.BytesIO(audio["bytes"]), dtype="float32", always_2d=True)
    elif audio.get("path"):
        data, rate = sf.read(audio["path"], dtype="float32", always_2d=True)
    else:
        raise ValueError("audio value has neither bytes nor a path; expected {'bytes': ..., 'path': ...}")
    mono = data.mean(axis=1)
    if rate != sampling_rate:
        mono = soxr.resample(mono, rate, sampling_rate, quality="HQ")
    return mono.astype(np.float32)
