"""Training data sources and their weighted mix.

Every source becomes a `datasets` dataset with two columns, `audio` ({bytes, path}, never decoded by `datasets`:
its torchcodec decoding fails on CPU-only machines) and `text`. Local sources stay map-style, so a resumed run skips
ahead by index instantly; Hub sources are streamed, and then the whole mix is streamed.

Recipe form (data.train is a list; each item names exactly one kind of source):
    - {corpus: data/synth, split: train, weight: 1.0}        # built by `tiny-audio data synth`
    - {hub: librispeech, weight: 0.5}                         # a name from HUB_SOURCES, or
    - {hub: {path: org/name, name: config, split: train, text_column: text, audio_column: audio}}
    - {audiofolder: path/to/dir, split: train}                # audio files + metadata.csv (file_name, text)
    - {parquet: "path/*.parquet", text_column: text}
"""

from __future__ import annotations

import glob
import logging
from pathlib import Path
from typing import Any

import datasets

from .filtering import filter_examples
from .recipe_sections import DataOptions, SourceOptions

logger = logging.getLogger(__name__)

# The usual English training sets, streamed from the Hub (ids, configs and columns as published there; their schemas
# are in tiny_audio.training.check.HUB_DATASETS). `text_transform` names a TEXT_TRANSFORMS entry for the transcripts.
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
GIGASPEECH_PUNCTUATION = {"<COMMA>": ",", "<PERIOD>": ".", "<QUESTIONMARK>": "?", "<EXCLAMATIONPOINT>": "!"}
GIGASPEECH_GARBAGE = ("<SIL>", "<MUSIC>", "<NOISE>", "<OTHER>")


def gigaspeech_text(text: str) -> str:
    """GigaSpeech spells punctuation as tags ("HELLO <COMMA> WORLD <PERIOD>") and marks segments without speech with
    garbage tags, which its authors say to leave out of training: tags become punctuation, a garbage segment becomes
    empty (and `filter_examples` drops it)."""
    if any(tag in text for tag in GIGASPEECH_GARBAGE):
        return ""
    for tag, mark in GIGASPEECH_PUNCTUATION.items():
        text = text.replace(" " + tag, mark).replace(tag, mark)
    return text


TEXT_TRANSFORMS = {"gigaspeech": gigaspeech_text}
SOURCE_KINDS = ("corpus", "hub", "audiofolder", "parquet")
AUDIO = datasets.Audio(sampling_rate=16_000, decode=False)
# Rows are built with a plain struct and then cast: encoding through `Audio` itself needs torchcodec (datasets 5.x).
AUDIO_STRUCT = {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}


def load_source(spec: dict[str, Any], default_split: str = "train") -> datasets.Dataset | datasets.IterableDataset:
    kinds = [kind for kind in SOURCE_KINDS if kind in spec]
    if len(kinds) != 1:
        raise ValueError(f"A data source names exactly one of {list(SOURCE_KINDS)}; got {spec}.")
    kind, split = kinds[0], spec.get("split") or default_split
    defaults = SourceOptions()
    text_column = spec.get("text_column", defaults.text_column)
    audio_column = spec.get("audio_column", defaults.audio_column)
    if kind == "corpus":
        from ..data import load_corpus

        dataset = load_corpus(spec["corpus"], split=split)
    elif kind == "hub":
        hub = spec["hub"]
        if isinstance(hub, str):
            if hub not in HUB_SOURCES:
                raise ValueError(f"Unknown Hub source {hub!r}; known: {sorted(HUB_SOURCES)} (or give a dict).")
            hub = HUB_SOURCES[hub]
        text_column, audio_column = hub.get("text_column", text_column), hub.get("audio_column", audio_column)
        if hub.get("text_transform") not in (None, *TEXT_TRANSFORMS):
            raise ValueError(f"Unknown text_transform {hub['text_transform']!r}; known: {sorted(TEXT_TRANSFORMS)}.")
        dataset = datasets.load_dataset(hub["path"], hub.get("name"), split=hub.get("split", split), streaming=True)
        if hub.get("text_transform"):
            transform = TEXT_TRANSFORMS[hub["text_transform"]]
            dataset = _standardise(dataset, audio_column, text_column, spec)
            return dataset.map(
                lambda text: {"text": transform(text)}, input_columns=["text"], features=dataset.features
            )
    elif kind == "audiofolder":
        dataset = datasets.load_dataset("audiofolder", data_dir=spec["audiofolder"], split=split, drop_labels=True)
    else:
        dataset = datasets.load_dataset("parquet", data_files={split: spec["parquet"]}, split=split)
    return _standardise(dataset, audio_column, text_column, spec)


def _standardise(dataset, audio_column: str, text_column: str, spec: dict):
    columns = dataset.column_names or []
    for needed in (audio_column, text_column):
        if columns and needed not in columns:
            raise ValueError(f"Source {spec} has no column {needed!r}; its columns are {columns}.")
    # A streamed source keeps its audio a plain {bytes, path} struct: once a streamed column is renamed, each row is
    # re-encoded through the features, and encoding `Audio` needs torchcodec (datasets 5.2): LoquaciousSet's `wav`
    # and Common Voice's `sentence` failed so.
    streamed = isinstance(dataset, datasets.IterableDataset)
    dataset = dataset.cast_column(audio_column, AUDIO_STRUCT if streamed else AUDIO)
    keep = [audio_column, text_column] + (["duration"] if "duration" in columns else [])
    dataset = dataset.select_columns(keep)
    renames = {old: new for old, new in ((audio_column, "audio"), (text_column, "text")) if old != new}
    return dataset.rename_columns(renames) if renames else dataset


def nonspeech_dataset(count: int, seed: int) -> datasets.Dataset:
    """`count` clips of noise, hum or near-silence (FLAC, generated from seeds) whose target is empty."""
    import io

    import soundfile

    from .nonspeech import nonspeech_clip

    audio, durations = [], []
    for index in range(count):
        clip = nonspeech_clip(seed * 1_000_003 + index)
        buffer = io.BytesIO()
        soundfile.write(buffer, clip, 16_000, format="FLAC")
        audio.append({"bytes": buffer.getvalue(), "path": f"nonspeech-{seed}-{index}.flac"})
        durations.append(len(clip) / 16_000)
    features = datasets.Features(
        {"audio": AUDIO_STRUCT, "text": datasets.Value("string"), "duration": datasets.Value("float32")}
    )
    dataset = datasets.Dataset.from_dict({"audio": audio, "text": [""] * count, "duration": durations}, features)
    return dataset.cast_column("audio", AUDIO)


def _common_columns(parts: list) -> list:
    """Drop `duration` unless every part has it: interleaving and concatenating need one set of columns."""
    if all("duration" in (part.column_names or []) for part in parts):
        return parts
    return [part.remove_columns("duration") if "duration" in (part.column_names or []) else part for part in parts]


def _streamed(dataset):
    dataset = dataset if isinstance(dataset, datasets.IterableDataset) else dataset.to_iterable_dataset()
    return dataset.cast_column("audio", AUDIO_STRUCT)


def source_name(spec: dict[str, Any]) -> str:
    """A source as the logs name it: its kind and where it is (e.g. "parquet data/train.parquet")."""
    kind = next((kind for kind in SOURCE_KINDS if kind in spec), "source")
    where = spec.get(kind)
    return f"{kind} {where.get('path') if isinstance(where, dict) else where}"


def build_training_mix(data: dict[str, Any], seed: int):
    """The weighted mix of `data.train` sources, filtered, plus the non-speech share."""
    options = DataOptions.from_section(data)
    specs = options.train
    if not specs:
        raise ValueError("data.train lists no sources; see tiny_audio/training/sources.py for the accepted forms.")
    bounds = (options.min_seconds, options.max_seconds, options.max_words)
    parts = [filter_examples(load_source(spec), *bounds, source_name(spec)) for spec in specs]
    parts = _common_columns(parts)
    weights = [float(spec.get("weight", SourceOptions.weight)) for spec in specs]
    streaming = any(isinstance(part, datasets.IterableDataset) for part in parts)
    if streaming:  # one audio type for every part: the plain struct of streamed sources (see _standardise)
        parts = [_streamed(part) for part in parts]
    if len(parts) == 1:
        mix = parts[0]
    else:
        probabilities = [w / sum(weights) for w in weights]
        mix = datasets.interleave_datasets(parts, probabilities, seed=seed, stopping_strategy="all_exhausted")
    share = float(options.nonspeech_fraction)
    if not 0 <= share < 1:
        raise ValueError(f"data.nonspeech_fraction must be in [0, 1), got {share}.")
    if share > 0 and streaming:  # endless streams: a fixed pool of clips, drawn with probability `share`
        pool = _streamed(nonspeech_dataset(int(options.nonspeech_pool), seed))
        mix = datasets.interleave_datasets(
            _common_columns([mix, pool]), [1 - share, share], seed=seed, stopping_strategy="all_exhausted"
        )
    elif share > 0:
        count = max(1, round(len(mix) * share / (1 - share)))
        mix = datasets.concatenate_datasets(_common_columns([mix, nonspeech_dataset(count, seed)]))
        logger.info("training mix: %d speech + %d non-speech examples", len(mix) - count, count)
    return mix


class MissingSource(FileNotFoundError):
    """A local data source that is not on this machine; the message is one line that says what to build."""


def check_local_sources(data: dict[str, Any]) -> None:
    """Raise MissingSource, one line that says what to build, for a local source (corpus, audiofolder, parquet)
    of `data.train` or `data.eval` that is not on this machine: checked before a model is loaded."""
    from ..data.load import DEV_REAL, split_files

    options = DataOptions.from_section(data)
    named = [(f"data.train[{index}]", spec, "train") for index, spec in enumerate(options.train)]
    named += [("data.eval", options.eval, "validation")] if options.eval else []
    for where, spec, default_split in named:
        if spec.get("corpus") not in (None, DEV_REAL):
            try:
                split_files(spec["corpus"], spec.get("split") or default_split)
            except FileNotFoundError as error:
                raise MissingSource(f"{where}: {error}") from None
        elif spec.get("audiofolder") is not None and not Path(spec["audiofolder"]).is_dir():
            raise MissingSource(
                f"{where}: no folder {spec['audiofolder']}; an audiofolder source is a folder of audio files with a "
                "metadata.csv (file_name, text)."
            )
        elif spec.get("parquet") is not None:
            patterns = spec["parquet"] if isinstance(spec["parquet"], list) else [spec["parquet"]]
            if missing := [pattern for pattern in patterns if not glob.glob(str(pattern))]:
                raise MissingSource(f"{where}: no parquet file matches {missing[0]}.")
