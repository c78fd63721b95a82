"""Training recipes: one YAML file per experiment under configs/, with `section.key=value` overrides.

A recipe has five sections:
    model         ASRConfig fields: what the model is
    data          train sources (weighted mix), eval source, filters, non-speech share, text normalisation
    augmentation  on-the-fly speed / reverb / noise / gain for training batches (never in evaluation)
    context       training prompts that name words to expect (recipe_sections.ContextOptions; off by default)
    training      Hugging Face TrainingArguments fields, plus tiny-audio's own (recipe_sections.OwnTrainingOptions)

Every key and value is checked against the code that takes it (`recipe_schema.py`): a typo is an error that names the
nearest valid key, not a setting silently ignored.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from .recipe_schema import SECTION_SCHEMAS, RecipeError, check_recipe

SECTIONS = tuple(SECTION_SCHEMAS)


class RecipeLoader(yaml.SafeLoader):
    """YAML 1.2 booleans and floats. YAML 1.1 reads no/yes/on/off as booleans, which turned
    `training.eval_strategy=no` (a TrainingArguments value) into False."""


RecipeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# YAML 1.1 floats need a dot: without this, `training.learning_rate=1e-3` stayed the string "1e-3".
RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$"), list("-+0123456789.")
)


def parse_value(text: str) -> Any:
    return yaml.load(text, Loader=RecipeLoader)


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Read a recipe and apply `section.key=value` overrides (values parsed as YAML: 1e-3, true, [a, b]); raises
    `RecipeError` (a ValueError) for a key that nothing takes or a value of the wrong type."""
    path = Path(path)
    if not path.is_file():
        available = sorted(p.stem for p in Path("configs").glob("*.yaml")) if Path("configs").is_dir() else []
        raise FileNotFoundError(f"No recipe at {path}; recipes in configs/: {available or 'none found'}.")
    recipe = parse_value(path.read_text()) or {}
    if not isinstance(recipe, dict):
        raise RecipeError(f"{path} is not a recipe: a recipe is a mapping of the sections {list(SECTIONS)}.")
    check_recipe(recipe, lambda key: f" (in {path})")  # before the overrides: a typo is named where it was made
    recipe = {section: copy.deepcopy(recipe.get(section) or {}) for section in SECTIONS}
    for override in overrides or []:
        apply_override(recipe, override)
        check_recipe(recipe, lambda key, override=override: f" (override {override})")
    return recipe


def apply_override(recipe: dict[str, Any], override: str) -> None:
    """Set one nested value, e.g. `training.learning_rate=3e-4` or `model.decoder_lora.r=16`."""
    key, separator, raw_value = override.partition("=")
    keys = key.strip().split(".")
    if not separator or len(keys) < 2 or keys[0] not in SECTIONS:
        raise RecipeError(f"Override {override!r} must look like section.key=value with section in {list(SECTIONS)}.")
    target = recipe
    for part in keys[:-1]:
        if target.get(part) is None:
            target[part] = {}
        if not isinstance(target[part], dict):
            raise RecipeError(f"Override {override!r}: {part!r} is not a mapping of nested keys.")
        target = target[part]
    target[keys[-1]] = parse_value(raw_value)
