"""The recipe keys that tiny-audio defines itself, with their types and defaults, in one home: the `data` section, each
data source in it, the `context` section, and tiny-audio's own keys in the `training` section. Training, `--check`
and the memory estimate read their values here; recipe checking (`recipe_schema.py`) takes the valid keys and types
from these dataclasses. (The `model` section is ASRConfig's, `augmentation` is `Augmentation`'s, the rest of
`training` TrainingArguments'.) A leaf: imports only the model's constants and context bounds, and the data layer's
source form (`SourceSpec`, which the loader, the recipe check and the model card parse every source into, holds the
column defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..data.source_spec import SourceSpec
from ..model.constants import WHISPER_MAX_SECONDS
from ..model.context_words import MAX_ENTRIES


@dataclass(frozen=True)
class DataOptions:
    """A recipe's `data` section."""

    train: list[dict[str, Any]] = field(default_factory=list)  # sources (`SourceOptions`), mixed by their weights
    eval: dict[str, Any] | None = None  # one source whose clips are scored (WER) during training
    min_seconds: float = 0.3  # shorter clips are dropped
    max_seconds: float = float(WHISPER_MAX_SECONDS)  # longer clips are dropped (Whisper's encoder takes no more)
    max_words: int = 200  # transcripts with more words are dropped
    nonspeech_fraction: float = 0.0  # share of noise / hum / near-silence clips with an empty transcript
    nonspeech_pool: int = 2000  # streamed mixes: how many distinct non-speech clips are drawn from

    @classmethod
    def from_section(cls, section: dict[str, Any] | None) -> DataOptions:
        """The section's values over the defaults (keys are checked by `recipe_schema.check_recipe`)."""
        return cls(**{key: value for key, value in (section or {}).items() if key in field_names(cls)})


@dataclass(frozen=True)
class SourceOptions:
    """One data source: exactly one of corpus, hub, audiofolder, parquet (SOURCE_KINDS) says where it is; parsed by
    `tiny_audio.data.source_spec.parse_source`."""

    corpus: str | None = None  # a directory built by `tiny-audio data synth` (or "dev-real")
    hub: str | dict[str, Any] | None = None  # a HUB_SOURCES name, or {path, name, split, text_column, ...}
    audiofolder: str | None = None  # audio files + metadata.csv (file_name, text)
    parquet: str | list[str] | None = None  # a path or glob of parquet files
    split: str | None = None  # default: train for training sources, validation for data.eval
    weight: float = 1.0  # share in the training mix (weights are normalised)
    text_column: str = SourceSpec.text_column
    audio_column: str = SourceSpec.audio_column
    max_samples: int = 64  # data.eval only: how many clips are scored at each evaluation


@dataclass(frozen=True)
class OwnTrainingOptions:
    """tiny-audio's keys in a recipe's `training` section; every other key there is a Hugging Face TrainingArguments
    field (docs/training.md says what each of these does)."""

    backbone_dtype: str | None = None  # e.g. bfloat16: the frozen backbones' dtype (trained weights stay float32)
    ctc_weight: float = 0.0  # weight of the projector's CTC loss beside the decoder's
    ctc_only_steps: int = 0  # the first N steps train the CTC loss alone (needs ctc_weight > 0)
    encoder_cache: bool = False  # reuse frozen-encoder outputs across epochs
    init_from: str | None = None  # warm start from a saved model directory's trained weights
    init_ignore_mismatched_sizes: bool = False  # with init_from: skip tensors whose name or shape differ

    @classmethod
    def from_section(cls, section: dict[str, Any] | None) -> OwnTrainingOptions:
        """Our keys of a `training` section over the defaults; the TrainingArguments keys are left out."""
        return cls(**{key: value for key, value in (section or {}).items() if key in field_names(cls)})


@dataclass(frozen=True)
class ContextOptions:
    """A recipe's `context` section: how many training prompts name words to expect (context_prompts.py,
    docs/context.md). The defaults train no context: the prompts are the plain transcribe instruction."""

    share: float = 0.0  # the share of samples whose prompt has a context (0: off)
    distractor_only_share: float = 0.25  # of those, the share given only words the clip does not say
    max_words: int = 3  # at most this many of the clip's own words (its rarest) in a context
    max_distractors: int = 5  # at most this many words from other transcripts
    pool_texts: int = 20000  # the training transcripts (the mix's first) that word counts and distractors come from

    def __post_init__(self):
        try:
            for item in fields(self):
                self.check_value(item.name, getattr(self, item.name))
        except ValueError as error:
            raise ValueError(f"context.{error}") from None
        if self.max_words + self.max_distractors > MAX_ENTRIES:
            raise ValueError(
                f"context.max_words + context.max_distractors is {self.max_words + self.max_distractors}; a context "
                f"holds at most {MAX_ENTRIES} entries."
            )
        if self.distractor_only_share > 0 and self.max_distractors < 1:
            raise ValueError("context.distractor_only_share > 0 needs context.max_distractors of 1 or more.")

    @staticmethod
    def check_value(name: str, value: Any) -> Any:
        """One key's value judged alone (the recipe check's `check_value`); a ValueError says what is accepted."""
        if name in ("share", "distractor_only_share") and not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}={value!r} is not accepted; give a share from 0 to 1.")
        lowest = {"max_words": 1, "max_distractors": 0, "pool_texts": 1}.get(name)
        if lowest is not None and value < lowest:
            raise ValueError(f"{name}={value!r} is not accepted; give a whole number of {lowest} or more.")
        return value

    @property
    def enabled(self) -> bool:
        return self.share > 0

    @classmethod
    def from_section(cls, section: dict[str, Any] | None) -> ContextOptions:
        """The section's values over the defaults (keys are checked by `recipe_schema.check_recipe`)."""
        return cls(**{key: value for key, value in (section or {}).items() if key in field_names(cls)})


def field_names(options: type) -> set[str]:
    """The field names of one of these dataclasses."""
    return {item.name for item in fields(options)}
