"""Local tables of (audio path, text): manifests (TSV/CSV/JSONL) and audiofolders (audio files with a metadata.csv or
metadata.jsonl), read without `datasets`' audiofolder builder, which needs torchcodec even to pass file paths through
(datasets 5.x; torchcodec's PyPI builds fail to load without CUDA). The evaluation loaders and the training sources
both read them here; audio is decoded later by tiny-audio's one decoder (`model.audio_input.load_audio`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

AUDIO_COLUMNS = ("audio", "wav", "flac", "speech", "audio_filepath", "audio_path", "file_name", "file", "path")
TEXT_COLUMNS = ("text", "sentence", "transcript", "transcription", "normalized_text", "raw_text", "label_text")
UNNAMED = ""  # the split of data that names none (a single file, a folder with one metadata file)
ID_COLUMNS = ("id", "segment_id", "utt_id", "utterance_id", "audio_id", "key")


def pick_column(columns: Iterable[str], wanted: str | None, candidates: tuple[str, ...], what: str, where: str) -> str:
    """The column to use: `wanted` if given, else the first candidate present (case-insensitive)."""
    columns = list(columns)
    by_lower = {c.lower(): c for c in columns}
    if wanted is not None:
        if wanted in columns:
            return wanted
        if wanted.lower() in by_lower:
            return by_lower[wanted.lower()]
        raise ValueError(f"{where} has no {what} column {wanted!r}; columns present: {', '.join(columns)}")
    for candidate in candidates:
        if candidate in by_lower:
            return by_lower[candidate]
    raise ValueError(
        f"{where}: cannot tell which column holds the {what}; columns present: {', '.join(columns)}; "
        f"expected one of: {', '.join(candidates)}"
    )


def read_table(path: Path) -> Iterator[dict]:
    """Rows of a TSV/CSV (with or without a header) or JSONL manifest, as dicts."""
    if path.suffix.lower() == ".jsonl" or path.name == "metadata.jsonl":
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as err:
                        raise ValueError(f"{path}:{number}: not a JSON object ({err})") from err
        return
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        known = {c.lower() for c in AUDIO_COLUMNS + TEXT_COLUMNS + ID_COLUMNS}
        if not any(cell.strip().lower() in known for cell in header):
            # No header: the common "path<TAB>text" manifest. The first line is data.
            if len(header) < 2:
                raise ValueError(f"{path}: expected a header or 2 columns (audio path, text), got {header!r}")
            yield {"path": header[0], "text": delimiter.join(header[1:])}
            for cells in reader:
                if cells:
                    yield {"path": cells[0], "text": delimiter.join(cells[1:])}
            return
        names = [cell.strip() for cell in header]
        for cells in reader:
            if cells:
                yield dict(zip(names, cells, strict=False))


def audiofolder_tables(root: Path) -> dict[str, Path]:
    """metadata files per split: root/metadata.* is the unnamed split, root/<split>/metadata.* one per folder."""
    tables: dict[str, Path] = {}
    for name in ("metadata.jsonl", "metadata.csv"):
        if (root / name).is_file():
            tables.setdefault(UNNAMED, root / name)
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        for name in ("metadata.jsonl", "metadata.csv"):
            if (sub / name).is_file():
                tables.setdefault(sub.name, sub / name)
    if not tables:
        raise FileNotFoundError(
            f"{root} has audio files but no metadata.csv or metadata.jsonl with their transcripts (columns file_name "
            "and text/transcription), at its top or in one folder per split"
        )
    return tables


def pick_split(available: list[str], requested: str | None, where: str) -> str:
    """The split to read. Data without named splits is read whatever split was asked for: the course's
    `--split test` must work on a plain folder or file."""
    if available == [UNNAMED]:
        return UNNAMED
    if requested in available:
        return requested
    aliases = {"validation": "dev", "dev": "validation"}
    if requested in aliases and aliases[requested] in available:
        return aliases[requested]
    if requested is None and len(available) == 1:
        return available[0]
    if requested is None and "test" in available:
        return "test"
    names = ", ".join(name or "(unnamed)" for name in available)
    raise ValueError(
        f"{where} has no split {requested!r}; splits present: {names} "
        "(name one: --split, or split: in a training source)"
    )
