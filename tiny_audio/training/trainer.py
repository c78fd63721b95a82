"""Train a tiny-audio model from a recipe on the Hugging Face Trainer.

`train(recipe)` builds the model and processor from `recipe["model"]`, the data mix from `recipe["data"]`, and
TrainingArguments from `recipe["training"]`; evaluates by generating text and scoring word error rate; writes
loss/WER curves (PNG); resumes from the last checkpoint in the output directory; saves the final model to
`<output_dir>/model` with a `training_summary.json` beside it.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed

from ..data.source_spec import parse_source
from ..model.backbone_loading import cpu_lacks_fast_half_precision
from ..model.configuration_asr import ASRConfig
from ..model.ctc_head import ctc_greedy_decode
from ..model.modeling_asr import ASRModel
from ..model.processing_asr import ASRProcessor
from .augment import Augmentation
from .checkpoints import last_complete_checkpoint
from .collator import PLACEHOLDER, ASRCollator, batch_audio, read_skip_log
from .context_prompts import ContextPrompts, first_texts
from .curves import plot_curves
from .encoder_cache import EncoderCache
from .recipe_sections import ContextOptions, DataOptions, OwnTrainingOptions, SourceOptions, field_names
from .replay import ReplayableRandomness
from .sources import build_training_mix, check_local_sources, load_source
from .wall_clock import WallClock
from .warm_start import warm_start, warm_start_record

logger = logging.getLogger(__name__)

SKIP_LOG = "skipped_samples.jsonl"  # in the output directory: the samples every attempt skipped (collator.py)
# TrainingArguments that tiny-audio sets itself: the collator needs the raw columns, and labels are named "labels".
FIXED_ARGUMENTS = {"remove_unused_columns": False, "label_names": ["labels"]}
OUR_TRAINING_KEYS = field_names(OwnTrainingOptions)  # the rest of a recipe's `training` section is TrainingArguments


class ASRTrainer(Trainer):
    """Trainer whose evaluation generates text and reports word error rate next to the loss.

    `eval_dataset` is a list of decoded (waveform, transcript) pairs; `eval_collator` holds the processor and the
    instruction, without augmentation.
    """

    def __init__(self, *args, eval_collator: ASRCollator, ctc_weight: float = 0.0, ctc_only_steps: int = 0, **kwargs):
        if ctc_only_steps and not ctc_weight:
            raise ValueError("training.ctc_only_steps needs training.ctc_weight > 0 (the loss those steps train).")
        super().__init__(*args, **kwargs)
        self.eval_collator = eval_collator
        # The model computes the CTC loss inside its forward (`ASRModel.use_ctc_loss`), so every process's DDP or
        # FSDP wrapper sees it and averages its gradients like the decoder loss's.
        self.model.use_ctc_loss(float(ctc_weight), eval_collator.processor.tokenizer.eos_token_id)
        if ctc_only_steps:
            self.add_callback(CTCOnlySteps(int(ctc_only_steps)))
        drawing = getattr(self.data_collator, "draws_randomness", False)  # augmentation or context words
        self.replay = ReplayableRandomness(self.data_collator.numbering if drawing else None, self.args.seed)
        self.add_callback(self.replay)
        self._ctc_losses: list[float] = []

    def _get_train_sampler(self, train_dataset=None):
        """The Trainer's sampler, drawing each epoch's order from a generator seeded by (seed, epoch) rather than
        from torch's global one, so that a run resumed in a later epoch reads the same batches (replay.py)."""
        sampler = super()._get_train_sampler(train_dataset)
        if sampler is not None and getattr(sampler, "generator", False) is None:
            sampler.generator = self.replay.order
        return sampler

    def get_resumed_dataloader(self, dataloader, num_batches: int):
        """A resumed epoch's sampler starts past the batches already trained on, which are never collated: the
        collator numbers its first batch accordingly (replay.py). A stream is read again from its start."""
        if not isinstance(dataloader.dataset, torch.utils.data.IterableDataset):
            self.data_collator.numbering.first_batch = num_batches
        return super().get_resumed_dataloader(dataloader, num_batches)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The model's loss (decoder + CTC when opted in); the CTC part is kept aside for the logs. The collator's
        placeholder (a batch whose every sample failed) still runs forward and backward, as every rank must, at 0."""
        placeholder = inputs.pop(PLACEHOLDER, False)
        loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        if placeholder:
            loss = loss * 0.0
        elif outputs.get("ctc_loss") is not None:
            self._ctc_losses.append(float(outputs["ctc_loss"]))
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if self._ctc_losses and "loss" in logs:  # the CTC part of the training loss, averaged since the last log
            logs["ctc_loss"] = float(np.mean(self._ctc_losses))
            self._ctc_losses.clear()
        super().log(logs, *args, **kwargs)

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        from ..evaluation import load_wer_metric

        model, processor = self.model, self.eval_collator.processor
        wer_metric = load_wer_metric()  # tiny-audio's WER (Whisper normaliser, corpus WER) through `evaluate`
        was_training = model.training
        model.eval()
        start, losses, hypotheses, ctc_hypotheses = time.perf_counter(), [], [], []
        batch_size = self.args.per_device_eval_batch_size
        with torch.no_grad():
            for first in range(0, len(self.eval_dataset), batch_size):
                chunk = self.eval_dataset[first : first + batch_size]
                clips, texts = [clip for clip, _ in chunk], [text for _, text in chunk]
                batch = processor(audio=clips, text=texts, instruction=self.eval_collator.instruction).to(model.device)
                losses.append(float(model(**batch).loss))
                prompt = processor(audio=clips, instruction=self.eval_collator.instruction).to(model.device)
                hypotheses += processor.batch_decode(model.generate(**prompt))
                if model.ctc_loss is not None:  # what the projector alone spells (its best CTC path)
                    features = model.get_audio_features(batch_audio(prompt), prompt["audio_attention_mask"])
                    ctc_hypotheses += processor.batch_decode(ctc_greedy_decode(*features, model.ctc_head_classes()))
        references = [text for _, text in self.eval_dataset]
        metrics = {
            f"{metric_key_prefix}_loss": float(np.mean(losses)),
            f"{metric_key_prefix}_wer": wer_metric.compute(predictions=hypotheses, references=references)["wer"],
            f"{metric_key_prefix}_runtime": time.perf_counter() - start,
        }
        if ctc_hypotheses:
            metrics[f"{metric_key_prefix}_ctc_wer"] = wer_metric.compute(
                predictions=ctc_hypotheses, references=references
            )["wer"]
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        plot_curves(self.state.log_history, Path(self.args.output_dir) / "curves.png")
        for reference, hypothesis in list(zip([t for _, t in self.eval_dataset], hypotheses, strict=True))[:3]:
            logger.info("eval sample | ref: %s | hyp: %s", reference, hypothesis)
        model.train(was_training)
        return metrics


class CTCOnlySteps(TrainerCallback):
    """The first `steps` optimizer steps train on the CTC loss alone, without running the decoder."""

    def __init__(self, steps: int):
        self.steps = steps

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        model.ctc_loss_only = state.global_step < self.steps


def check_length_column(train_dataset, args: TrainingArguments) -> None:
    """Length-grouped batches (less padding: about 1.4x fewer decoder positions on the synthetic corpus) need each
    clip's length up front; without the column the Trainer would decode every clip of the dataset to measure it."""
    if args.train_sampling_strategy != "group_by_length" or not isinstance(train_dataset, datasets.Dataset):
        return  # streamed mixes are read in their own order (the Trainer says so)
    if args.length_column_name not in train_dataset.column_names:
        raise ValueError(
            f"training.train_sampling_strategy=group_by_length needs a {args.length_column_name!r} column (seconds) in "
            f"every training source; the mix has {train_dataset.column_names}. Local corpora from `tiny-audio data "
            "synth` record `duration` (set training.length_column_name=duration), or use the default 'random'."
        )


def build_model(model_section: dict[str, Any], backbone_dtype: str | None = None) -> tuple[ASRModel, ASRProcessor]:
    """Model and processor for a recipe's model section. `backbone_dtype` ("bfloat16", ...) loads the frozen backbones
    in that type; the projector and LoRA weights stay float32 (on a CPU this ran a step 6x faster than autocast,
    which re-casts every frozen weight on every call)."""
    config = ASRConfig(**model_section)
    processor = ASRProcessor.from_config(config)
    dtype = getattr(torch, backbone_dtype) if backbone_dtype else None
    if dtype is not None and not isinstance(dtype, torch.dtype):
        raise ValueError(f"training.backbone_dtype {backbone_dtype!r} is not a torch dtype (e.g. bfloat16, float32).")
    if dtype in (torch.bfloat16, torch.float16) and cpu_lacks_fast_half_precision(device_map=None):
        logger.warning(
            "training.backbone_dtype=%s on a CPU without native half-precision matrix products: steps will run many "
            "times slower than in float32 (on an AVX2-only CPU, torch multiplies bf16 matrices ~300x more slowly). "
            "Set training.backbone_dtype=float32 on this machine.",
            backbone_dtype,
        )
    model = ASRModel(config, dtype=dtype)
    # peft makes LoRA weights in the backbone's dtype; trained weights stay float32 (Adam's steps vanish in bf16). Only
    # here: a saved model decodes with its LoRA in the backbones' dtype, as it was trained until this cast existed.
    for parameter in (p for p in model.parameters() if p.requires_grad):
        parameter.data = parameter.data.float()
    return model, processor


def load_eval_examples(spec: dict[str, Any] | None, seed: int, collator: ASRCollator) -> list[tuple[np.ndarray, str]]:
    """The held-out clips used for WER during training, decoded once. A clip `collator` cannot use is skipped and
    named as a training clip would be (`ASRCollator.usable_audio`), so one corrupt file does not stop the run."""
    if not spec:
        return []
    dataset = load_source(spec, default_split="validation")
    limit = int(spec.get("max_samples", SourceOptions.max_samples))
    if hasattr(dataset, "__len__") and len(dataset) > limit:
        dataset = dataset.shuffle(seed=seed).select(range(limit))
    examples = []
    for row in dataset.take(limit) if not hasattr(dataset, "__len__") else dataset:
        if row["text"].strip() and (waveform := collator.usable_audio(row["audio"])) is not None:
            examples.append((waveform, row["text"]))
    if not examples:
        logger.warning(
            "data.eval: no usable clip in %s; the run will not evaluate", parse_source(spec, "validation").name
        )
    return examples


def training_arguments(section: dict[str, Any]) -> TrainingArguments:
    arguments = {key: value for key, value in section.items() if key not in OUR_TRAINING_KEYS}
    clashes = {key for key in FIXED_ARGUMENTS if key in arguments}
    if clashes:
        raise ValueError(f"training.{sorted(clashes)} are set by tiny-audio itself; remove them from the recipe.")
    if "output_dir" not in arguments:
        raise ValueError("training.output_dir is required (where checkpoints, curves and the model go).")
    return TrainingArguments(**arguments, **FIXED_ARGUMENTS)


def train(recipe: dict[str, Any]) -> Path:
    """Run (or resume) the recipe; returns the directory of the saved model."""
    started = time.time()
    args = training_arguments(recipe["training"])
    ours = OwnTrainingOptions.from_section(recipe["training"])
    data = recipe["data"]
    augmentation = Augmentation.from_recipe(recipe.get("augmentation") or {})
    context_options = ContextOptions.from_section(recipe.get("context"))
    drawing = augmentation.enabled or context_options.enabled
    if drawing and args.dataloader_persistent_workers and args.dataloader_num_workers > 0:
        raise ValueError(
            "training.dataloader_persistent_workers keeps each worker's collator from one epoch to the next, so a "
            "resumed run could not replay the augmentation or context draws (tiny_audio/training/replay.py); set it "
            "to false."
        )
    check_local_sources(data)  # a missing corpus is named before the backbones load
    set_seed(args.seed)  # the fresh weights (projector, LoRA) too come from the run's seed
    model, processor = build_model(recipe["model"], ours.backbone_dtype)
    if ours.init_from:  # warm start: continue from a saved model's trained weights
        warm_start(model, ours.init_from, ours.init_ignore_mismatched_sizes)
    instruction = model.config.instruction(task="transcribe")
    if ours.encoder_cache:
        if augmentation.enabled or model.config.encoder_lora is not None:
            raise ValueError(
                "training.encoder_cache needs a frozen encoder and augmentation off (outputs must repeat)."
            )
        model.encoder_cache = EncoderCache()
    data_options = DataOptions.from_section(data)
    bounds = {"min_seconds": data_options.min_seconds, "max_seconds": data_options.max_seconds}
    last_checkpoint = last_complete_checkpoint(args.output_dir)
    skip_log = Path(args.output_dir) / SKIP_LOG
    if last_checkpoint is None:  # a fresh start: samples skipped by an attempt that saved nothing are skipped anew
        skip_log.unlink(missing_ok=True)
    clock = WallClock.from_checkpoint(last_checkpoint, started)
    # A checkpoint from before the clock has no time recorded: the run's total is then unknown, and stays so.
    callbacks = [clock] if clock else []
    # Trainer's own Hub push (push_to_hub=True) uploads the weights and processor but not the model and pipeline
    # code (transformers 5.23); the callback completes each pushed folder with the code and a model card.
    if args.push_to_hub:
        from ..publish.callback import HubRepoCallback

        callbacks.append(HubRepoCallback(recipe))
    train_dataset = build_training_mix(data, seed=args.seed)
    check_length_column(train_dataset, args)
    context = None
    if context_options.enabled:  # word counts and distractors from the mix's own transcripts (context_prompts.py)
        context = ContextPrompts.from_texts(context_options, first_texts(train_dataset, context_options.pool_texts))
    eval_collator = ASRCollator(processor, instruction, None, skip_log=skip_log, **bounds)
    trainer = ASRTrainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        data_collator=ASRCollator(
            processor,
            instruction,
            augmentation,
            seed=args.seed,
            skip_log=skip_log,
            rank=args.process_index,
            context=context,
            **bounds,
        ),
        processing_class=processor,  # checkpoints then hold the processor too: each is a loadable model directory
        callbacks=callbacks,
        eval_dataset=load_eval_examples(data.get("eval"), args.seed, eval_collator) or None,
        eval_collator=eval_collator,
        ctc_weight=ours.ctc_weight,
        ctc_only_steps=ours.ctc_only_steps,
    )
    if last_checkpoint:
        logger.info("resuming from %s", last_checkpoint)
    output = trainer.train(resume_from_checkpoint=last_checkpoint)
    final_metrics = final_evaluation(trainer)
    model_dir = Path(args.output_dir) / "model"
    if trainer.is_world_process_zero():  # one process writes
        run = {"started": started, "resumed_from": last_checkpoint, "final_eval": final_metrics, "clock": clock}
        run["skipped"] = read_skip_log(skip_log)  # every attempt's, from every worker and rank
        log_skipped(run["skipped"])
        save_final_model(trainer, recipe, model_dir, output.training_loss, run)
    # Every process waits for the writer, then leaves the process group: a rank that exited while another still
    # worked was killed at exit by the group's background thread ("terminate called without an active exception").
    trainer.accelerator.wait_for_everyone()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # The DDP wrapper goes first: freed after the group, its gradient reducer held the group's last reference and
        # tore its gloo threads down holding the GIL, which a gloo thread still needed: a rank hung at exit (seen once
        # under load; torch issue 190489). The group's own destructor lets the GIL go.
        trainer.model_wrapped = trainer.model
        trainer.accelerator.free_memory()
        torch.distributed.destroy_process_group()
    return model_dir


def final_evaluation(trainer: Trainer) -> dict[str, float]:
    """The evaluation of the trained model: the Trainer's own when it evaluated at the last step (eval_steps divides
    max_steps, as in the recipes), else one evaluation now. Before, a finished run scored the same clips twice."""
    if not trainer.eval_dataset:
        return {}
    for entry in reversed(trainer.state.log_history):
        if entry.get("step") == trainer.state.global_step and "eval_wer" in entry:
            return {key: value for key, value in entry.items() if key.startswith("eval_")}
    return trainer.evaluate()


def log_skipped(skipped: dict[str, str], shown: int = 50) -> None:
    """The closing line that names the samples the run skipped (over all its attempts)."""
    if not skipped:
        return
    names = list(skipped)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    logger.warning(
        "%d samples were skipped (all attempts; reasons in training_summary.json): %s%s",
        len(names),
        ", ".join(names[:shown]),
        more,
    )


def save_final_model(trainer: ASRTrainer, recipe: dict[str, Any], model_dir: Path, train_loss: float, run: dict):
    """Model, processor, `training_summary.json` and curves of a finished run; the final Hub push if asked."""
    args, model = trainer.args, trainer.model
    cache, model.encoder_cache = model.encoder_cache, None
    model.config.ctc_head_trained = (
        model.ctc_loss is not None
    )  # word timestamps read the head (tiny_audio.model.alignment)
    model.save_pretrained(model_dir)
    trainer.processing_class.save_pretrained(model_dir)
    summary = {
        "recipe": recipe,
        "global_step": trainer.state.global_step,
        "world_size": args.world_size,
        "samples_seen": trainer.state.global_step
        * args.train_batch_size
        * args.gradient_accumulation_steps
        * args.world_size,
        "train_loss": train_loss,
        "wall_seconds_this_run": round(time.time() - run["started"], 1),
        "wall_seconds": round(run["clock"].seconds(), 1) if run["clock"] else None,  # all attempts
        "resumed_from": run["resumed_from"],
        "final_eval": run["final_eval"],
        "skipped_samples": run["skipped"],  # every attempt's (the skip log), not only this one's
    }
    if cache is not None:
        summary["encoder_cache"] = {"hits": cache.hits, "misses": cache.misses}
    if recipe["training"].get("init_from"):
        summary["warm_start"] = warm_start_record(recipe["training"]["init_from"])
    (model_dir / "training_summary.json").write_text(json.dumps(summary, indent=2, default=_jsonable))
    plot_curves(trainer.state.log_history, Path(args.output_dir) / "curves.png")
    if args.push_to_hub:  # the final model with its full card; only changed files are uploaded
        from ..publish.push import push

        trainer._finish_current_push()
        push(model_dir, trainer.hub_model_id, revision=args.hub_revision, private=bool(args.hub_private_repo))


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)
