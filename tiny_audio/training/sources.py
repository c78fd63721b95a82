"""Training data sources and their weighted mix.

Every source becomes a `datasets` dataset with two columns, `audio` ({bytes, path}, never decoded by `datasets`:
its torchcodec decoding fails on CPU-only machines) and `text`. Local sources stay map-style, so a resumed run skips
ahead by index instantly; Hub sources are streamed, and then the whole mix is streamed.

The recipe's forms of a source, and the Hub names it may use, are in `tiny_audio.data.source_spec`, which parses each
source once for the loader here, the recipe check and the model card.
"""

from __future__ import annotations

import glob
import logging
from pathlib import Path
from typing import Any

import datasets

from ..data.source_spec import parse_source
from .filtering import filter_examples
from .recipe_sections import DataOptions, SourceOptions

logger = logging.getLogger(__name__)

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
AUDIO = datasets.Audio(sampling_rate=16_000, decode=False)
# Rows are built with a plain struct and then cast: encoding through `Audio` itself needs torchcodec (datasets 5.x).
AUDIO_STRUCT = {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}


def load_source(spec: dict[str, Any], default_split: str = "train") -> datasets.Dataset | datasets.IterableDataset:
    source = parse_source(spec, default_split)
    kind, split, location = source.kind, source.split, source.location
    text_column, audio_column = source.text_column, source.audio_column
    if kind == "corpus":
        from ..data import load_corpus

        dataset = load_corpus(location, split=split)
    elif kind == "hub":
        if source.text_transform not in (None, *TEXT_TRANSFORMS):
            raise ValueError(f"Unknown text_transform {source.text_transform!r}; known: {sorted(TEXT_TRANSFORMS)}.")
        dataset = datasets.load_dataset(location, source.config, split=split, streaming=True)
        if source.text_transform:
            transform = TEXT_TRANSFORMS[source.text_transform]
            dataset = _standardise(dataset, audio_column, text_column, spec)
            return dataset.map(
                lambda text: {"text": transform(text)}, input_columns=["text"], features=dataset.features
            )
    elif kind == "audiofolder":  # read by tiny-audio: `datasets`' audiofolder builder needs torchcodec
        from ..data import load_audiofolder

        # Only columns the recipe names: an audiofolder's metadata calls its audio column file_name.
        dataset = load_audiofolder(location, split, spec.get("audio_column"), spec.get("text_column"))
        text_column, audio_column = "text", "audio"
    else:
        # The recipe's value as written: a path, a glob or a list of them (`location` is it as one string).
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


def build_training_mix(data: dict[str, Any], seed: int):
    """The weighted mix of `data.train` sources, filtered, plus the non-speech share."""
    options = DataOptions.from_section(data)
    specs = options.train
    if not specs:
        raise ValueError("data.train lists no sources; see tiny_audio/data/source_spec.py for the accepted forms.")
    bounds = (options.min_seconds, options.max_seconds, options.max_words)
    parts = [filter_examples(load_source(spec), *bounds, parse_source(spec).name) for spec in specs]
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
        source = parse_source(spec, default_split)
        if source.kind == "corpus" and source.location != DEV_REAL:
            try:
                split_files(source.location, source.split)
            except FileNotFoundError as error:
                raise MissingSource(f"{where}: {error}") from None
        elif source.kind == "audiofolder" and not Path(source.location).is_dir():
            raise MissingSource(
                f"{where}: no folder {source.location}; an audiofolder source is a folder of audio files with a "
                "metadata.csv (file_name, text)."
            )
        elif source.kind == "parquet":
            patterns = spec["parquet"] if isinstance(spec["parquet"], list) else [spec["parquet"]]
            if missing := [pattern for pattern in patterns if not glob.glob(str(pattern))]:
                raise MissingSource(f"{where}: no parquet file matches {missing[0]}.")
