"""What a recipe may say, read from the code that takes each section, so that no list of keys is kept by hand:

    model         ASRConfig's constructor (its LoRA dicts: LORA_KEYS; `generation`: DecodingOptions and transformers'
                  GenerationConfig and generate())
    data          DataOptions, and SourceOptions for each source (a Hub source's dict: the keys HUB_SOURCES use)
    augmentation  Augmentation's fields
    context       ContextOptions' fields (training prompts that name words to expect)
    training      TrainingArguments' fields and OwnTrainingOptions'

A key that nothing takes, or a value of a type its code does not accept, is a `RecipeError`: one line that names the
nearest valid key (difflib) or what is accepted. `tiny-audio train` prints it and exits 2.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import inspect
import types
import typing
from collections.abc import Callable
from functools import lru_cache
from typing import Any

MANY_KEYS = 12  # an error lists the accepted keys of a mapping with at most this many; beyond, it names their home


class RecipeError(ValueError):
    """A recipe key or value that the code would not take; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Schema:
    """The keys one mapping of a recipe may hold: each key's type hint (Any: unchecked) and, for keys whose value is
    a mapping (or a list of mappings) with keys of its own, that mapping's schema."""

    hints: dict[str, Any]
    home: str  # where the keys come from, named when there are too many to list
    nested: dict[str, Callable[[], Schema]] = dataclasses.field(default_factory=dict)
    check_value: Callable[[str, Any], Any] | None = None  # a finer check of known keys' values (raises ValueError)


def dataclass_hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {item.name: hints[item.name] for item in dataclasses.fields(cls) if item.init}


def parameter_names(function: Callable) -> list[str]:
    """The named parameters of a function, without self, *args and **kwargs."""
    parameters = inspect.signature(function).parameters.values()
    return [p.name for p in parameters if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def signature_hints(function: Callable) -> dict[str, Any]:
    hints = typing.get_type_hints(function)
    return {name: hints.get(name, Any) for name in parameter_names(function)}


def recipe_schema() -> Schema:
    """The schema of a whole recipe: one mapping per section."""
    return Schema(dict.fromkeys(SECTION_SCHEMAS, dict), "the recipe sections", nested=SECTION_SCHEMAS)


@lru_cache(maxsize=1)
def model_schema() -> Schema:
    from ..model.configuration_asr import LORA_KEYS, ASRConfig

    def lora() -> Schema:
        return Schema(dict.fromkeys(sorted(LORA_KEYS), Any), "LoRA settings")

    nested = {"encoder_lora": lora, "decoder_lora": lora, "generation": generation_schema}
    return Schema(signature_hints(ASRConfig.__init__), "ASRConfig's arguments", nested)


@lru_cache(maxsize=1)
def generation_schema() -> Schema:
    """tiny-audio's decoding options, then any option transformers' generate() takes."""
    from transformers import GenerationConfig, GenerationMixin

    from ..model.decoding_options import DecodingOptions, check_option

    ours = set(dataclass_hints(DecodingOptions))  # their values are judged by check_option, which names the range
    transformers_keys = [key for key in GenerationConfig().to_dict() if not key.startswith("_")]
    transformers_keys += parameter_names(GenerationMixin.generate)[1:]  # after `inputs`
    hints = dict.fromkeys([*transformers_keys, *ours], Any)

    def check(key: str, value: Any) -> Any:
        return check_option(key, value) if key in ours else value

    return Schema(hints, "DecodingOptions and transformers' GenerationConfig", check_value=check)


@lru_cache(maxsize=1)
def data_schema() -> Schema:
    from .recipe_sections import DataOptions

    return Schema(dataclass_hints(DataOptions), "DataOptions", {"train": source_schema, "eval": source_schema})


@lru_cache(maxsize=1)
def source_schema() -> Schema:
    from ..data.source_spec import HUB_SOURCES
    from .recipe_sections import SourceOptions

    def hub() -> Schema:  # the keys that the named Hub sources use
        keys = sorted({key for source in HUB_SOURCES.values() for key in source})
        return Schema(dict.fromkeys(keys, str), "a Hub source's keys")

    return Schema(dataclass_hints(SourceOptions), "SourceOptions", {"hub": hub})


@lru_cache(maxsize=1)
def augmentation_schema() -> Schema:
    from .augment import Augmentation

    return Schema(dataclass_hints(Augmentation), "Augmentation")


@lru_cache(maxsize=1)
def context_schema() -> Schema:
    from .recipe_sections import ContextOptions

    # Each value alone; how they combine is judged when the run builds its ContextOptions.
    return Schema(dataclass_hints(ContextOptions), "ContextOptions", check_value=ContextOptions.check_value)


@lru_cache(maxsize=1)
def training_schema() -> Schema:
    from transformers import TrainingArguments

    from .recipe_sections import OwnTrainingOptions

    hints = {**dataclass_hints(TrainingArguments), **dataclass_hints(OwnTrainingOptions)}
    return Schema(hints, "Hugging Face TrainingArguments and tiny-audio's OwnTrainingOptions")


# The sections of a recipe, in the order a recipe file gives them, each with the schema of its keys.
SECTION_SCHEMAS: dict[str, Callable[[], Schema]] = {
    "model": model_schema,
    "data": data_schema,
    "augmentation": augmentation_schema,
    "context": context_schema,
    "training": training_schema,
}


def check_recipe(recipe: dict[str, Any], origin: Callable[[str], str] = lambda path: "") -> None:
    """Raise `RecipeError` for the first unknown key or wrongly typed value; `origin(path)` says where a key was set
    (e.g. " (override model.projecter_type=swiglu)")."""
    check_mapping(recipe, recipe_schema(), "", origin)


def check_mapping(mapping: dict, schema: Schema, prefix: str, origin: Callable[[str], str]) -> None:
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if key not in schema.hints:
            raise RecipeError(f"{path} is not a recipe key{origin(path)}; {suggestion(key, schema, prefix)}")
        hint = schema.hints[key]
        if not accepts(hint, value):
            raise RecipeError(f"{path}={value!r} is not accepted{origin(path)}; give {describe(hint)}.")
        if schema.check_value is not None and value is not None:
            try:
                schema.check_value(key, value)
            except ValueError as error:
                raise RecipeError(f"{prefix}{str(error).rstrip('.')}{origin(path)}.") from None
        if key in schema.nested and isinstance(value, dict):
            check_mapping(value, schema.nested[key](), f"{path}.", origin)
        elif key in schema.nested and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    check_mapping(item, schema.nested[key](), f"{path}[{index}].", origin)


def suggestion(key: str, schema: Schema, prefix: str) -> str:
    """ "did you mean X?" for the nearest valid key, else the accepted keys (or their home when there are many)."""
    valid = sorted(schema.hints)
    nearest = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if nearest:
        return f"did you mean {prefix}{nearest[0]}?"
    if len(valid) <= MANY_KEYS:
        return f"accepted: {', '.join(valid)}."
    return f"accepted: the fields of {schema.home}."


def accepts(hint: Any, value: Any) -> bool:
    """Whether a recipe value (as YAML reads it) fits a type hint. Hints this does not know accept anything."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(accepts(argument, value) for argument in _without_enum_text(arguments))
    if origin is typing.Literal:
        return value in arguments
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if _is_enum(hint):
        return isinstance(value, hint) or value in {member.value for member in hint}
    if hint in (list, tuple) or origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        item_hint = arguments[0] if arguments else Any
        return all(accepts(item_hint, item) for item in value)
    if hint is dict or origin is dict:
        return isinstance(value, dict)
    return True


def describe(hint: Any) -> str:
    """What a type hint accepts, in words."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(describe(argument) for argument in _without_enum_text(arguments)))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(argument) for argument in arguments)
    words = {bool: "true or false", int: "a whole number", float: "a number", str: "text", type(None): "null"}
    if hint in words:
        return words[hint]
    if _is_enum(hint):
        return "one of " + ", ".join(str(member.value) for member in hint)
    if hint in (list, tuple) or origin in (list, tuple):
        items = {bool: "true/false values", int: "whole numbers", float: "numbers", str: "texts", dict: "mappings"}
        item = typing.get_origin(arguments[0]) or arguments[0] if arguments else None
        return f"a list of {items[item]}" if item in items else "a list"
    if hint is dict or origin is dict:
        return "a mapping"
    return getattr(hint, "__name__", str(hint))


def _is_enum(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, enum.Enum)


def _without_enum_text(arguments: tuple) -> list:
    """A union's members, less `str` beside an enum: TrainingArguments types its strategies "SomeEnum | str", where
    the text must be one of the enum's values (eval_strategy=step fails in TrainingArguments, after the model loads)."""
    has_enum = any(_is_enum(argument) for argument in arguments)
    return [argument for argument in arguments if not (has_enum and argument is str)]
