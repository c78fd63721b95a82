"""Open a built corpus (or "dev-real") as a `datasets` Dataset; its audio decodes without torchcodec through
`decode_audio`, the data card's name for tiny-audio's one decoder (`tiny_audio.model.audio_input.load_audio`)."""

from __future__ import annotations

from pathlib import Path

import datasets

from ..model.audio_input import load_audio as decode_audio  # noqa: F401  (re-exported: the data card's snippet uses it)
from .dev_real import load_dev_real
from .plan import SPLITS

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
