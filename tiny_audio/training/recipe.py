"""Training recipes: one YAML file per experiment under configs/, with `section.key=value` overrides.

A recipe has four sections:
    model         ASRConfig fields: what the model is
    data          train sources (weighted mix), eval source, filters, non-speech share, text normalisation
    augmentation  on-the-fly speed / noise / gain for training batches (never in evaluation)
    training      Hugging Face TrainingArguments fields, plus encoder_cache
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SECTIONS = ("model", "data", "augmentation", "training")


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Read a recipe and apply `section.key=value` overrides (values parsed as YAML: 1e-3, true, [a, b])."""
    path = Path(path)
    if not path.is_file():
        available = sorted(p.stem for p in Path("configs").glob("*.yaml")) if Path("configs").is_dir() else []
        raise FileNotFoundError(f"No recipe at {path}; recipes in configs/: {available or 'none found'}.")
    recipe = yaml.safe_load(path.read_text()) or {}
    unknown = set(recipe) - set(SECTIONS)
    if unknown:
        raise ValueError(f"{path}: unknown sections {sorted(unknown)}; a recipe has {list(SECTIONS)}.")
    recipe = {section: copy.deepcopy(recipe.get(section) or {}) for section in SECTIONS}
    for override in overrides or []:
        apply_override(recipe, override)
    return recipe


def apply_override(recipe: dict[str, Any], override: str) -> None:
    """Set one nested value, e.g. `training.learning_rate=3e-4` or `model.decoder_lora.r=16`."""
    key, separator, raw_value = override.partition("=")
    keys = key.strip().split(".")
    if not separator or len(keys) < 2 or keys[0] not in SECTIONS:
        raise ValueError(f"Override {override!r} must look like section.key=value with section in {list(SECTIONS)}.")
    target = recipe
    for part in keys[:-1]:
        if target.get(part) is None:
            target[part] = {}
        if not isinstance(target[part], dict):
            raise ValueError(f"Override {override!r}: {part!r} is not a section of nested keys.")
        target = target[part]
    target[keys[-1]] = yaml.safe_load(raw_value)
