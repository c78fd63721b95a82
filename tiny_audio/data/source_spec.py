"""A training data source as a recipe names it, parsed once (`parse_source`), with the Hub datasets it may name.

Recipe form (`data.train` is a list; `data.eval` is one source; each names exactly one kind of source):
    - {corpus: data/synth, split: train, weight: 1.0}        # built by `tiny-audio data synth`
    - {hub: librispeech, weight: 0.5}                         # a name from HUB_SOURCES, or
    - {hub: {path: org/name, name: config, split: train, text_column: text, audio_column: audio}}
    - {audiofolder: path/to/dir, split: train}                # audio files + metadata.csv (file_name, text)
    - {parquet: "path/*.parquet", text_column: text}

The training loader (`tiny_audio.training.sources`), the recipe check (`tiny-audio train --check`) and the model
card (`tiny_audio.publish`, from the recipe a run saved) all read a source through `parse_source`. Beside the Hub
names (`HUB_SOURCES`) sit those datasets' schemas as published (`HUB_DATASETS`), which `hub_schema_problems` checks
a source against. Nothing here imports `datasets`: the check and the card run without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["HUB_DATASETS", "HUB_SOURCES", "SOURCE_KINDS", "SourceSpec", "hub_schema_problems", "parse_source"]

SOURCE_KINDS = ("corpus", "hub", "audiofolder", "parquet")

# The usual English training sets, streamed from the Hub (ids, configs and columns as published there; their schemas
# are in HUB_DATASETS). `text_transform` names a tiny_audio.training.sources.TEXT_TRANSFORMS entry for the transcripts.
HUB_SOURCES: dict[str, dict[str, str]] = {
    "loquacious": {
        "path": "speechbrain/LoquaciousSet",
        "name": "small",
        "split": "train",
        "text_column": "text",
        "audio_column": "wav",
    },
    "librispeech": {"path": "openslr/librispeech_asr", "name": "clean", "split": "train.100", "text_column": "text"},
    "peoples_speech": {"path": "MLCommons/peoples_speech", "name": "clean", "split": "train", "text_column": "text"},
    "gigaspeech": {
        "path": "speechcolab/gigaspeech",
        "name": "xs",
        "split": "train",
        "text_column": "text",
        "text_transform": "gigaspeech",
    },
    # mozilla-foundation/common_voice_17_0 is a loading script, which datasets 4+ no longer runs; this ungated copy
    # has the same splits and columns (as in tiny_audio.evaluation.datasets).
    "common_voice": {"path": "fixie-ai/common_voice_17_0", "name": "en", "split": "train", "text_column": "sentence"},
}

# The named Hub datasets as published (dataset cards and viewers, 2025): config -> splits, and columns. `gated`:
# accept the terms on the dataset's page and set HF_TOKEN before streaming. tests/hub_datasets.py serves them.
HUB_DATASETS: dict[str, dict[str, Any]] = {
    "speechbrain/LoquaciousSet": {
        "configs": {name: ("train", "dev", "test") for name in ("small", "medium", "large", "clean")},
        "columns": {"ID": "string", "duration": "float32", "wav": "audio", "spk_id": "string", "sex": "string"}
        | {"text": "string"},
        "gated": False,
    },
    "openslr/librispeech_asr": {
        "configs": {
            "clean": ("train.100", "train.360", "validation", "test"),
            "other": ("train.500", "validation", "test"),
            "all": ("train.clean.100", "train.clean.360", "train.other.500", "validation.clean", "validation.other")
            + ("test.clean", "test.other"),
        },
        "columns": {"file": "string", "audio": "audio", "text": "string", "speaker_id": "int64", "chapter_id": "int64"}
        | {"id": "string"},
        "gated": False,
    },
    "MLCommons/peoples_speech": {
        "configs": {name: ("train",) for name in ("clean", "clean_sa", "dirty", "dirty_sa", "microset")}
        | {"validation": ("validation",), "test": ("test",)},
        "columns": {"id": "string", "audio": "audio", "duration_ms": "int32", "text": "string"},
        "gated": False,
    },
    "speechcolab/gigaspeech": {
        "configs": {name: ("train", "validation", "test") for name in ("xs", "s", "m", "l", "xl")}
        | {"dev": ("validation",), "test": ("test",)},
        "columns": {"segment_id": "string", "speaker": "string", "text": "string", "audio": "audio"}
        | {"begin_time": "float32", "end_time": "float32", "audio_id": "string", "title": "string", "url": "string"}
        | {"source": "int64", "category": "int64", "original_full_path": "string"},
        "gated": True,
    },
    "fixie-ai/common_voice_17_0": {
        "configs": {"en": ("train", "validation", "test")},
        "columns": {"client_id": "string", "path": "string", "audio": "audio", "sentence": "string"}
        | {"up_votes": "int64", "down_votes": "int64", "age": "string", "gender": "string", "accent": "string"}
        | {"locale": "string", "segment": "string", "variant": "string"},
        "gated": False,
    },
}


@dataclass(frozen=True)
class SourceSpec:
    """One source of a recipe, resolved: a Hub name replaced by what it stands for, columns and split settled."""

    kind: str  # one of SOURCE_KINDS
    location: str  # the corpus or audio folder, the parquet files (a glob), or the Hub dataset id
    split: str
    audio_column: str = "audio"
    text_column: str = "text"
    config: str | None = None  # Hub sources: the dataset's config ("name" in the recipe)
    alias: str | None = None  # Hub sources named from HUB_SOURCES: that name
    text_transform: str | None = None  # Hub sources: a TEXT_TRANSFORMS name

    @property
    def name(self) -> str:
        """The source as the logs name it: its kind and where it is (e.g. "parquet data/train.parquet")."""
        return f"{self.kind} {self.alias or self.location}"

    @property
    def where(self) -> str:
        """Where the data is, as the model card names it: a Hub source by its name or by "id/config"."""
        if self.kind != "hub" or self.alias:
            return self.alias or self.location
        return "/".join(part for part in (self.location, self.config) if part)


def parse_source(spec: Any, default_split: str = "train") -> SourceSpec:
    """One recipe source (a mapping, module docstring) as a `SourceSpec`; ValueError says what is accepted."""
    if not isinstance(spec, dict):
        raise ValueError(f"a data source is a mapping naming one of {list(SOURCE_KINDS)}, not {spec!r}")
    kinds = [kind for kind in SOURCE_KINDS if kind in spec]
    if len(kinds) != 1:
        raise ValueError(f"a data source names exactly one of {list(SOURCE_KINDS)}; got {sorted(spec)}")
    kind, split = kinds[0], spec.get("split") or default_split  # split: null is the default split too
    audio_column = spec.get("audio_column", SourceSpec.audio_column)
    text_column = spec.get("text_column", SourceSpec.text_column)
    if kind != "hub":
        return SourceSpec(kind, str(spec[kind]), split, audio_column, text_column)
    hub, alias = spec["hub"], None
    if isinstance(hub, str):
        if hub not in HUB_SOURCES:
            raise ValueError(f"unknown Hub source {hub!r}; known: {sorted(HUB_SOURCES)} (or give a mapping)")
        hub, alias = HUB_SOURCES[hub], hub
    if not isinstance(hub, dict) or not hub.get("path"):
        raise ValueError(f"a Hub source is a name from {sorted(HUB_SOURCES)} or a mapping with a 'path'; got {hub!r}")
    return SourceSpec(
        kind="hub",
        location=hub["path"],
        split=hub.get("split", split),
        audio_column=hub.get("audio_column", audio_column),
        text_column=hub.get("text_column", text_column),
        config=hub.get("name"),
        alias=alias,
        text_transform=hub.get("text_transform"),
    )


def hub_schema_problems(source: SourceSpec) -> list[str]:
    """What a Hub source asks for that its dataset does not have (config, split, columns), per HUB_DATASETS; empty
    when all is there or the dataset is not one of HUB_DATASETS (then streaming checks the columns)."""
    facts = HUB_DATASETS.get(source.location)
    if source.kind != "hub" or facts is None:
        return []
    path, config, split, problems = source.location, source.config, source.split, []
    if config not in facts["configs"]:
        problems.append(f"{path} has no config {config!r}; its configs: {sorted(facts['configs'])}")
    elif split not in facts["configs"][config]:
        problems.append(f"{path} [{config}] has no split {split!r}; its splits: {list(facts['configs'][config])}")
    for role, column in (("audio", source.audio_column), ("text", source.text_column)):
        if column not in facts["columns"]:
            problems.append(f"{path} has no {role} column {column!r}; its columns: {list(facts['columns'])}")
    return problems
