"""How a checkpoint was trained: `TrainingRecord`, read from its run's files, and what the model card says of it.

The record comes from `training_summary.json` (a finished run, with the chain of runs it was warm-started from) or
`trainer_state.json`; the functions here turn it and its recipe into the card's training and data sentences. The
run's own files are all they read: the recipe's sources go through `tiny_audio.data.source_spec`, the parser that
training used, and nothing here imports the training code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..data.source_spec import SourceSpec, parse_source
from .redaction import drop_secrets


@dataclass
class TrainingRecord:
    """How a checkpoint was trained, from `training_summary.json` (a finished run) or `trainer_state.json`."""

    source: str
    recipe: dict | None = None
    global_step: int | None = None
    samples_seen: int | None = None
    wall_seconds: float | None = None
    wall_seconds_partial: bool = False  # resumed, and only the last attempt was timed (runs from before WallClock)
    resumed_from: str | None = None
    train_loss: float | None = None
    eval_wer: float | None = None  # fraction
    eval_loss: float | None = None
    epoch: float | None = None
    warm_start: TrainingRecord | None = None  # the earlier run whose trained weights this one started from
    warm_start_from: str | None = None
    averaged_with: list[str] = field(default_factory=list)  # models whose weights were averaged into this one's

    @classmethod
    def from_summary(cls, summary: dict) -> TrainingRecord:
        final = summary.get("final_eval") or {}
        resumed = summary.get("resumed_from")
        earlier = summary.get("warm_start") or {}
        return cls(
            warm_start=cls.from_summary(earlier["summary"]) if earlier.get("summary") else None,
            warm_start_from=Path(earlier["from"]).as_posix() if earlier.get("from") else None,
            source="training_summary.json",
            recipe=drop_secrets(summary.get("recipe")),
            global_step=summary.get("global_step"),
            samples_seen=summary.get("samples_seen"),
            wall_seconds=summary.get("wall_seconds") or summary.get("wall_seconds_this_run"),
            wall_seconds_partial=bool(resumed) and summary.get("wall_seconds") is None,
            resumed_from=Path(resumed).name if resumed else None,  # a local path: only its name is worth showing
            train_loss=summary.get("train_loss"),
            eval_wer=final.get("eval_wer"),
            eval_loss=final.get("eval_loss"),
            averaged_with=list(summary.get("weights_averaged_with") or []),
        )

    @classmethod
    def from_trainer_state(cls, state: dict, recipe: dict | None = None) -> TrainingRecord:
        evaluations = [entry for entry in state.get("log_history", []) if "eval_loss" in entry or "eval_wer" in entry]
        last = evaluations[-1] if evaluations else {}
        return cls(
            source="trainer_state.json",
            recipe=drop_secrets(recipe),
            global_step=state.get("global_step"),
            eval_wer=last.get("eval_wer"),
            eval_loss=last.get("eval_loss"),
            epoch=state.get("epoch"),
        )


def training_datasets(recipe: dict | None) -> list[str]:
    """Hub ids of the recipe's training sources (local corpora have none)."""
    ids = []
    for source in map(_parsed, _train_specs(recipe)):
        if source is not None and source.kind == "hub" and source.location not in ids:
            ids.append(source.location)
    return ids


def _train_specs(recipe: dict | None) -> list:
    return ((recipe or {}).get("data") or {}).get("train") or []


def _parsed(spec: Any) -> SourceSpec | None:
    """The source as training read it; None for one it could not have read (the card then names it as written)."""
    try:
        return parse_source(spec)
    except ValueError:
        return None


def objective(recipe: dict | None) -> str:
    text = (
        "Only the projector (and the LoRA weights, if any) was trained, with the decoder's own next-token loss on the "
        "transcript; the backbones' own weights stayed frozen."
    )
    training = (recipe or {}).get("training") or {}
    if training.get("ctc_weight"):
        first = int(training.get("ctc_only_steps") or 0)
        text += (
            f" Beside it, a CTC loss (weight {training['ctc_weight']}) scored each audio embedding against the "
            "decoder's own token embeddings, teaching the projector to spell the transcript in the decoder's input "
            "vocabulary."
        )
        if first:
            lora = " (and the encoder's LoRA)" if (recipe.get("model") or {}).get("encoder_lora") else ""
            text += (
                f" The first {first:,} steps trained the projector{lora} with this CTC loss alone (no decoder pass)."
            )
    return text


def training_section(record: TrainingRecord | None) -> str:
    if record is None:
        return "Not recorded: the checkpoint has neither `training_summary.json` nor `trainer_state.json`."
    facts = []
    if record.global_step is not None:
        facts.append(f"- Optimizer steps: {record.global_step:,}")
    if record.samples_seen is not None:
        facts.append(f"- Training samples seen: {record.samples_seen:,}")
    if record.epoch is not None:
        facts.append(f"- Epochs: {record.epoch:.2f}")
    if record.wall_seconds is not None:
        resumed = ""
        if record.resumed_from:
            attempts = "the attempt that finished it" if record.wall_seconds_partial else "all attempts"
            resumed = f" ({attempts}; resumed from {record.resumed_from})"
        facts.append(f"- Wall time: {_duration(record.wall_seconds)}{resumed}")
    if record.train_loss is not None:
        facts.append(f"- Mean training loss: {record.train_loss:.4f}")
    if record.eval_wer is not None or record.eval_loss is not None:
        wer = f"WER {100 * record.eval_wer:.2f}%" if record.eval_wer is not None else ""
        loss = f"loss {record.eval_loss:.4f}" if record.eval_loss is not None else ""
        facts.append(f"- Held-out evaluation at the end of training: {', '.join(p for p in (wer, loss) if p)}")
    facts += _warm_start_facts(record)
    if record.averaged_with:
        others = ", ".join(f"`{path}`" for path in record.averaged_with)
        facts.append(
            f"- Weights: the element-wise mean of this run's trained weights and those of {others} "
            "(`scripts/average_weights.py`); the held-out figure above is this run's own, before averaging"
        )
    recipe = record.recipe
    if recipe:
        sources = _train_specs(recipe)
        if sources:
            facts.append("- Training data: " + "; ".join(_describe_source(source) for source in sources))
    text = "\n".join(facts) or "No figures recorded."
    if recipe:
        text += (
            "\n\nThe recipe (`tiny-audio train --config recipe.yaml` reproduces the run):\n\n```yaml\n"
            + yaml.safe_dump(recipe, sort_keys=False).rstrip()
            + "\n```"
        )
    return text + f"\n\n(From `{record.source}`.)"


def _describe_source(spec: Any) -> str:
    source = _parsed(spec)
    if source is None:
        return str(spec)
    weight = f", weight {spec['weight']}" if "weight" in spec else ""
    return f"{source.kind} `{source.where}`{weight}"


def _warm_start_facts(record: TrainingRecord) -> list[str]:
    """One line per earlier run of the warm-start chain (newest first), then the whole chain's cost."""
    facts, runs, current = [], [record], record
    while current.warm_start_from:
        lead = "Started from the trained weights of" if current is record else "That run started from"
        earlier = current.warm_start
        if earlier is None:
            facts.append(f"- {lead} `{current.warm_start_from}` (no record of that run)")
            break
        figures = [f"{earlier.global_step:,} steps" if earlier.global_step is not None else None]
        figures.append(f"{earlier.samples_seen:,} samples" if earlier.samples_seen is not None else None)
        figures.append(_duration(earlier.wall_seconds) if earlier.wall_seconds is not None else None)
        if earlier.averaged_with:  # the figures are that run's own; its saved weights were a mean
            figures.append("then averaged with " + ", ".join(f"`{path}`" for path in earlier.averaged_with))
        facts.append(f"- {lead} an earlier run (`{current.warm_start_from}`: {', '.join(f for f in figures if f)})")
        runs.append(earlier)
        current = earlier
    if len(runs) == 1:
        return facts
    facts.append(
        "- The figures above are this run's alone; the earlier runs' recipes are under `warm_start` in "
        "`training_summary.json`"
    )
    partial = " (of a resumed run from before attempts were summed, only the last is timed)"
    partial = partial if any(run.wall_seconds_partial for run in runs) else ""
    if all(None not in (run.global_step, run.samples_seen, run.wall_seconds) for run in runs):
        facts.append(
            f"- All {len(runs)} runs together: {sum(run.global_step for run in runs):,} steps, "
            f"{sum(run.samples_seen for run in runs):,} samples, {_duration(sum(run.wall_seconds for run in runs))}"
            + partial
        )
    return facts


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def data_limitation(recipe: dict | None) -> str:
    sources = _train_specs(recipe)
    if sources and all(getattr(_parsed(source), "kind", None) == "corpus" for source in sources):
        return (
            "**Synthetic training speech.** It learned from text-to-speech voices only (tiny-audio's synthetic "
            "corpus): expect many more errors on real recordings, accents, spontaneous or noisy speech than on "
            "clean synthetic audio. Judge it by results on real speech, not by its training loss."
        )
    if sources:
        return (
            "**Training data.** It knows the speech of its training data (above); accents, recording conditions "
            "and vocabulary that data lacks will give more errors."
        )
    return "**Training data unknown.** No recipe was recorded with this checkpoint; treat its accuracy as untested."
