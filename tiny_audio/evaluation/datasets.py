"""Which test set a name means: the registry of standard English test sets, and local datasets by path.

`resolve_dataset(name_or_path, split, config)` only decides *what* to read (Hub id, config, split, columns, or a
local path and its layout); it reads nothing and needs no network, so a typo fails in milliseconds and tests can
check the mapping offline. `tiny_audio.evaluation.loaders` does the reading.

Hub sets follow the Open ASR Leaderboard: its evaluation scripts stream `hf-audio/esb-datasets-test-only-sorted`
(one config per corpus, transcripts in "text", test clips sorted by length), so our WERs are on the same clips. The
original repositories are named in `original` for reference. LoquaciousSet (the course's benchmark) and Common Voice
are not in that collection and come from their own repositories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .ivr_dev import DESCRIPTION as IVR_DEV_DESCRIPTION
from .ivr_dev import IVR_DEV, ivr_dev_manifest

__all__ = [
    "DATASETS",
    "DatasetSource",
    "HubDataset",
    "MANIFEST_SUFFIXES",
    "available_datasets",
    "resolve_dataset",
]

ESB = "hf-audio/esb-datasets-test-only-sorted"
DEV_REAL = "dev-real"
CORPUS_SPLITS = ("train", "validation", "test")  # the splits `tiny_audio.data.load_corpus` reads
MANIFEST_SUFFIXES = (".tsv", ".csv", ".jsonl")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".webm")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class HubDataset:
    """One registry entry: where a standard test set lives on the Hugging Face Hub and how to read it.

    `splits` maps the split names a user may type to the Hub's split name (LibriSpeech's "test" is "test.clean" in
    the ESB collection); `configs` lists the configs a user may choose, the first being the default.
    """

    name: str
    hub_id: str
    configs: tuple[str, ...]
    splits: dict[str, str]
    default_split: str
    audio_column: str = "audio"
    text_column: str = "text"
    id_column: str | None = "id"
    description: str = ""
    original: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def default_config(self) -> str | None:
        return self.configs[0] if self.configs else None


def _esb(name: str, config: str, description: str, original: str, split: str = "test", **kwargs) -> HubDataset:
    return HubDataset(
        name=name,
        hub_id=ESB,
        configs=(config,),
        splits={"test": split, split: split},
        default_split=split,
        description=description,
        original=original,
        **kwargs,
    )


_ENTRIES = (
    HubDataset(
        name="loquacious",
        hub_id="speechbrain/LoquaciousSet",
        # small/medium/large/clean differ in their training data; dev and test are the same clips in every config.
        configs=("small", "medium", "large", "clean"),
        splits={"test": "test", "dev": "dev", "validation": "dev", "train": "train"},
        default_split="test",
        audio_column="wav",
        id_column="ID",
        description="LoquaciousSet: 25k h of English (read, spontaneous, accented, noisy); the course's benchmark",
        original="speechbrain/LoquaciousSet",
    ),
    _esb(
        "librispeech-clean",
        "librispeech",
        "LibriSpeech test-clean: read audiobooks, clean speakers",
        "openslr/librispeech_asr (clean, test)",
        split="test.clean",
        aliases=("librispeech", "librispeech-test-clean", "test-clean"),
    ),
    _esb(
        "librispeech-other",
        "librispeech",
        "LibriSpeech test-other: read audiobooks, harder speakers",
        "openslr/librispeech_asr (other, test)",
        split="test.other",
        aliases=("librispeech-test-other", "test-other"),
    ),
    _esb("tedlium", "tedlium", "TED-LIUM 3: TED talks", "LIUM/tedlium (release3)", aliases=("ted-lium",)),
    _esb("gigaspeech", "gigaspeech", "GigaSpeech: podcasts, YouTube, audiobooks", "speechcolab/gigaspeech"),
    _esb("spgispeech", "spgispeech", "SPGISpeech: earnings calls, formatted text", "kensho/spgispeech"),
    _esb(
        "earnings22",
        "earnings22",
        "Earnings-22: accented earnings calls",
        "revdotcom/earnings22",
        aliases=("earnings-22",),
    ),
    _esb("ami", "ami", "AMI: meetings, individual headset microphones", "edinburghcstr/ami (ihm)"),
    _esb("voxpopuli", "voxpopuli", "VoxPopuli: European Parliament speeches (English)", "facebook/voxpopuli (en)"),
    HubDataset(
        name="common-voice",
        # Not in the ESB test-only collection any more (the leaderboard dropped it); the mozilla-foundation
        # repositories are gated, this is an ungated copy of Common Voice 17.0 with the same splits and columns.
        hub_id="fixie-ai/common_voice_17_0",
        configs=("en",),
        splits={"test": "test", "validation": "validation", "dev": "validation"},
        default_split="test",
        text_column="sentence",
        id_column="path",
        description="Common Voice 17.0 English: crowd-sourced read sentences, many accents",
        original="mozilla-foundation/common_voice_17_0 (en)",
        aliases=("commonvoice", "common_voice", "cv"),
    ),
)

DATASETS: dict[str, HubDataset] = {entry.name: entry for entry in _ENTRIES}
_ALIASES: dict[str, str] = {alias: entry.name for entry in _ENTRIES for alias in (entry.name, *entry.aliases)}


@dataclass(frozen=True)
class DatasetSource:
    """A resolved dataset: enough to open it and to label results.

    kind: "hub" (a registry entry or any Hub dataset id), "corpus" (a directory built by `tiny-audio data synth`),
    "dev-real", "parquet", "audiofolder" or "manifest" (TSV/CSV/JSONL of audio path + text; ivr-dev is one).
    Column names that are None are detected from the data when it is opened.
    """

    name: str
    kind: str
    location: str
    split: str | None
    config: str | None = None
    audio_column: str | None = None
    text_column: str | None = None
    id_column: str | None = None
    description: str = ""

    @property
    def is_hub(self) -> bool:
        return self.kind == "hub"

    def describe(self) -> str:
        parts = [self.location]
        if self.config:
            parts.append(f"config {self.config}")
        if self.split:
            parts.append(f"split {self.split}")
        return f"{self.name} ({', '.join(parts)})"


def available_datasets() -> str:
    """The registry as text lines (for `--list-datasets` and error messages)."""
    lines = []
    for entry in DATASETS.values():
        configs = f" configs: {'/'.join(entry.configs)};" if len(entry.configs) > 1 else ""
        aliases = f" (also: {', '.join(entry.aliases)})" if entry.aliases else ""
        lines.append(
            f"  {entry.name:<18} {entry.hub_id} [{entry.default_config}] split {entry.default_split};{configs} "
            f"{entry.description}{aliases}"
        )
    return "\n".join(lines)


def _accepted() -> str:
    return (
        f"a registry name:\n{available_datasets()}\n"
        f"or '{DEV_REAL}' or '{IVR_DEV}' (the real-speech development sets), a corpus directory built by "
        "`tiny-audio data synth`, a parquet file or directory, an audiofolder directory (audio files + "
        f"metadata.csv/jsonl), a manifest ({'/'.join(MANIFEST_SUFFIXES)}) of audio path and text or a folder "
        "holding one named manifest.*, or any Hub dataset id 'owner/name'"
    )


def _hub_entry(entry: HubDataset, split: str | None, config: str | None) -> DatasetSource:
    if config is not None and config not in entry.configs:
        raise ValueError(f"dataset {entry.name!r} has no config {config!r}; accepted: {', '.join(entry.configs)}")
    requested = split or entry.default_split
    if requested not in entry.splits:
        raise ValueError(
            f"dataset {entry.name!r} has no split {requested!r}; accepted: {', '.join(sorted(entry.splits))}"
        )
    return DatasetSource(
        name=entry.name,
        kind="hub",
        location=entry.hub_id,
        split=entry.splits[requested],
        config=config or entry.default_config,
        audio_column=entry.audio_column,
        text_column=entry.text_column,
        id_column=entry.id_column,
        description=entry.description,
    )


def _folder_manifest(path: Path) -> Path | None:
    """A folder's own manifest.tsv/csv/jsonl (audio paths relative to the folder), as ivr-dev has; None for a folder
    that is an audiofolder (metadata.csv/jsonl) or holds no such file."""
    if any((path / name).is_file() for name in ("metadata.csv", "metadata.jsonl")):
        return None
    found = [path / f"manifest{suffix}" for suffix in MANIFEST_SUFFIXES if (path / f"manifest{suffix}").is_file()]
    return found[0] if found else None


def _local_kind(path: Path) -> str:
    """Which local layout `path` is; raises naming the layouts accepted."""
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            return "parquet"
        if suffix in MANIFEST_SUFFIXES:
            return "manifest"
        raise ValueError(
            f"{path} is a {suffix or 'suffix-less'} file; a dataset file must be .parquet or a manifest "
            f"({', '.join(MANIFEST_SUFFIXES)}) of audio path and text"
        )
    shards = list((path / "data").glob("*-*.parquet")) if (path / "data").is_dir() else []
    if shards and {shard.name.split("-")[0] for shard in shards} <= set(CORPUS_SPLITS):
        # data/<split>-NNNNN-of-NNNNN.parquet: what `tiny-audio data synth` writes (and the Hub's own layout).
        return "corpus"
    if any(path.rglob("*.parquet")):
        return "parquet"
    if any(p.suffix.lower() in AUDIO_SUFFIXES for p in path.rglob("*") if p.is_file()):
        return "audiofolder"
    raise ValueError(
        f"{path} holds no dataset: expected data/<split>-*.parquet (a synthetic corpus), parquet files, or audio "
        "files with a metadata.csv/metadata.jsonl (audiofolder)"
    )


def _label(path: Path) -> str:
    # The directory or file name without its suffix: "my_corpus", "test_manifest".
    return path.stem if path.is_file() else path.resolve().name


def resolve_dataset(name_or_path: str, split: str | None = None, config: str | None = None) -> DatasetSource:
    """Map a name or path to a `DatasetSource` without reading any data.

    Order: "dev-real"; "ivr-dev"; an existing local path (a folder of audio files with a manifest.* reads as that
    manifest); a registry name or alias (case-insensitive); a Hub id "owner/name" (columns detected when opened).
    `split=None` means the dataset's default ("test" for registry sets and corpora, the only split of single-split
    local data).
    """
    text = str(name_or_path).strip()
    if text == DEV_REAL:
        if config is not None:
            raise ValueError(f"{DEV_REAL!r} has no configs; leave out --config")
        return DatasetSource(
            name=DEV_REAL,
            kind="dev-real",
            location=DEV_REAL,
            split=None,
            audio_column="audio",
            text_column="text",
            id_column="id",
            description="10 real-speech clips from Debian's pocketsphinx-testdata",
        )
    if text == IVR_DEV:
        if config is not None:
            raise ValueError(f"{IVR_DEV!r} has no configs; leave out --config")
        return DatasetSource(
            name=IVR_DEV,
            kind="manifest",
            location=str(ivr_dev_manifest()),
            split=None,
            audio_column="file",
            text_column="text",
            description=IVR_DEV_DESCRIPTION,
        )
    path = Path(text).expanduser()
    if path.exists():
        kind, label = _local_kind(path), _label(path)
        manifest = _folder_manifest(path) if kind == "audiofolder" else None
        if manifest is not None:  # audio files and their manifest (ivr-dev given by path): named after the folder
            kind, path = "manifest", manifest
        if config is not None:
            raise ValueError(f"--config applies to Hub datasets only; {path} is a local {kind}")
        if kind == "manifest" or (kind == "parquet" and path.is_file()):
            split = None  # one table, no splits: `--split test` (the course's spelling) must not break it
        elif kind == "corpus":
            split = split or "test"
        return DatasetSource(name=label, kind=kind, location=str(path), split=split)
    entry = _ALIASES.get(text.lower())
    if entry is not None:
        return _hub_entry(DATASETS[entry], split, config)
    if _HUB_ID.match(text):
        return DatasetSource(name=text, kind="hub", location=text, split=split or "test", config=config)
    raise ValueError(
        f"unknown dataset {text!r} (not a registry name, and no such file or directory); accepted: {_accepted()}"
    )
