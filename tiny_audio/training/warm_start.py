"""Warm starts (`training.init_from`): a run that begins from a saved model's trained weights, and the record of
where they came from that goes into the run's summary and model card."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..model.modeling_asr import ASRModel

logger = logging.getLogger(__name__)


def warm_start(model: ASRModel, saved_model: str | Path, ignore_mismatched_sizes: bool = False) -> None:
    """Load the projector / LoRA weights of a saved tiny-audio model (a directory) into `model`; the optimizer and
    schedule start fresh. The architecture must match (same recipe model section), except that the recipe may add
    LoRA to a backbone the saved model had none on: a new adapter starts as the identity (its B matrix is zero).

    With `ignore_mismatched_sizes` (as in transformers' from_pretrained), a tensor whose name or shape the model lacks
    is skipped and the model keeps its fresh one: e.g. a new encoder reuses the saved decoder LoRA and the projector
    layers past its input layer. What was kept fresh is logged.
    """
    from safetensors.torch import load_file

    weights_file = Path(saved_model) / "model.safetensors"
    if not weights_file.is_file():
        raise FileNotFoundError(
            f"training.init_from: no model.safetensors in {saved_model}; give a saved model directory."
        )
    weights = load_file(weights_file)
    current = model.trained_state_dict()
    if ignore_mismatched_sizes:
        fitting = {name: w for name, w in weights.items() if name in current and w.shape == current[name].shape}
        fresh = sorted(set(current) - set(fitting))
        kept_fresh = f"{len(fresh)} keep their fresh values (e.g. {fresh[:3]})" if fresh else "none kept fresh"
        logger.info(
            "warm start: %d of %d tensors loaded from %s; %s; %d saved ones skipped",
            len(fitting),
            len(current),
            saved_model,
            kept_fresh,
            len(weights) - len(fitting),
        )
        weights = {**current, **fitting}
    for part in ("encoder.", "decoder."):
        saved_lora = any(name.startswith(part) and "lora_" in name for name in weights)
        new_lora = [name for name in current if name.startswith(part) and "lora_" in name]
        if new_lora and not saved_lora:
            logger.info("warm start: new %s LoRA (%d tensors) starts as the identity", part.rstrip("."), len(new_lora))
            weights.update({name: current[name] for name in new_lora})
    model.load_saved_weights(weights, self_contained=False)
    logger.info("warm start from %s", saved_model)


def warm_start_record(saved_model: str | Path) -> dict[str, Any]:
    """Where a warm-started run's weights came from, with that run's own summary (steps, samples, time, recipe)
    when it has one, so the final model's record covers its whole training."""
    record: dict[str, Any] = {"from": str(saved_model)}
    earlier = Path(saved_model) / "training_summary.json"
    if earlier.is_file():
        record["summary"] = json.loads(earlier.read_text())
    return record
