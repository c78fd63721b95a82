"""`HubRepoCallback`: makes the Trainer's own Hub pushes publish the same repository layout as `tiny-audio push`.

With `push_to_hub=True` (any `hub_strategy` but "end"), transformers 5.23's `Trainer._push_from_checkpoint` runs at
every save: it calls `on_push_begin`, copies only config.json, generation_config.json (tiny-audio writes none) and the
weights from checkpoint-N into `output_dir`, re-saves the processor there (which brings processing_asr.py and the
modules it imports), writes training_args.bin, and uploads `output_dir` (minus checkpoint-* and _*). modeling_asr.py
and pipeline_asr.py, which config.json's auto_map and custom_pipelines name, are never copied, so the pushed
repository does not load; and there is no model card. At `on_push_begin` this callback copies every remote-code file
of the new checkpoint into `output_dir` and writes the README.md model card and .gitattributes there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from transformers import TrainerCallback

from .assemble import CARD_TEMPLATE, CONFIG_NAME, WEIGHTS_NAME, template_dir
from .model_card import render_model_card
from .training_record import TrainingRecord

CHECKPOINT_PREFIX = "checkpoint"  # transformers.trainer_utils.PREFIX_CHECKPOINT_DIR


class HubRepoCallback(TrainerCallback):
    """Pass `callbacks=[HubRepoCallback(recipe)]` to a Trainer that pushes to the Hub."""

    def __init__(self, recipe: dict | None = None, license: str = "mit"):
        self.recipe = recipe
        self.license = license

    def on_push_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        output_dir = Path(args.output_dir)
        checkpoint = output_dir / f"{CHECKPOINT_PREFIX}-{state.global_step}"
        # Trainer.push_to_hub (end of training) saves the model into output_dir itself, remote code included.
        model_dir = checkpoint if (checkpoint / CONFIG_NAME).is_file() else output_dir
        if not (model_dir / CONFIG_NAME).is_file():
            return
        if model_dir != output_dir:
            for source in model_dir.glob("*.py"):
                shutil.copyfile(source, output_dir / source.name)
        for source in template_dir().iterdir():
            if source.is_file() and source.name != CARD_TEMPLATE:
                shutil.copyfile(source, output_dir / source.name)
        trainer_state = {"global_step": state.global_step, "epoch": state.epoch, "log_history": state.log_history}
        card = render_model_card(
            repo_id=args.hub_model_id or output_dir.resolve().name,
            config=json.loads((model_dir / CONFIG_NAME).read_text()),
            record=TrainingRecord.from_trainer_state(trainer_state, recipe=self.recipe),
            results=[],
            comparison=[],
            weights=model_dir / WEIGHTS_NAME,
            license=self.license,
            template=(template_dir() / CARD_TEMPLATE).read_text(encoding="utf-8"),
        )
        (output_dir / "README.md").write_text(card, encoding="utf-8")
