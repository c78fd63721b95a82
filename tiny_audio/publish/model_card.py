"""The README.md model card of a published model: Hub metadata (YAML) and what a user needs to know.

Metadata goes through huggingface_hub's `ModelCardData`, so `model-index` is in the Hub's own format (one result
per dataset, WER in percent). Results come from `leaderboard_rows`, the same reader as `tiny-audio leaderboard`.
The prose lives in `tiny_audio/publish/hub_repo/README.md.tmpl` (a `string.Template`: `$name` placeholders; the
checkout's top-level `hub_repo/` links there).
"""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..decoding import DecodingOptions
from ..pipeline_asr import DEFAULT_CHUNK_SECONDS
from ..processing_asr import WHISPER_MAX_SECONDS
from .redaction import drop_secrets

PIPELINE_TAG = "automatic-speech-recognition"
TAGS = ["tiny-audio", "speech", "asr", "audio", "custom_code"]
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")  # "gpt2", "openai/whisper-tiny.en"


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


# -- results -------------------------------------------------------------------------------------------------


def select_results(result_dirs: Iterable[str | Path], identities: Iterable[str]) -> tuple[list, list]:
    """(this model's rows, every other row) of the leaderboard over `result_dirs`.

    A row is this model's when its `model` is one of `identities` (the repo id, or the checkpoint's path however
    it was spelled when evaluated). Of several runs on the same data, the newest is kept.
    """
    from ..evaluation.leaderboard import leaderboard_rows

    names = {name for name in identities if name}
    paths = {_resolved(name) for name in names} - {None}
    mine, others = [], []
    for row in leaderboard_rows(list(result_dirs)):
        is_mine = row.model in names or (_resolved(row.model) or "") in paths
        (mine if is_mine else others).append(row)
    newest: dict[tuple, Any] = {}
    for row in mine:
        key = (row.dataset, row.config, row.split)
        if key not in newest or row.date > newest[key].date:
            newest[key] = row
    return list(newest.values()), others


def _resolved(name: str) -> str | None:
    try:
        return str(Path(name).expanduser().resolve()) if not HUB_ID.match(name) or Path(name).exists() else None
    except (OSError, RuntimeError):
        return None


def _dataset_id(row) -> str:
    """The Hub dataset id behind a result when there is one (model-index `dataset.type`), else its name."""
    from ..evaluation.results import EvalResult

    dataset_id = EvalResult.load(row.path).dataset_id or ""  # the file the leaderboard row was read from
    return dataset_id if "/" in dataset_id and HUB_ID.match(dataset_id) else row.dataset


# -- metadata ------------------------------------------------------------------------------------------------


def card_metadata(repo_id: str, config: dict, record: TrainingRecord | None, results: list, license: str):
    from huggingface_hub import EvalResult, ModelCardData

    eval_results = [
        EvalResult(
            task_type=PIPELINE_TAG,
            task_name="Automatic Speech Recognition",
            dataset_type=_dataset_id(row),
            dataset_name=row.dataset,
            dataset_config=row.config,
            dataset_split=row.split,
            metric_type="wer",
            metric_value=round(100 * row.wer, 2),
            metric_name="WER (%)",
        )
        for row in results
    ]
    base_models = [config.get(f"{part}_name_or_path") for part in ("encoder", "decoder")]
    return ModelCardData(
        model_name=repo_id.split("/")[-1],
        license=license,
        language=["en"],
        base_model=[name for name in base_models if name and HUB_ID.match(name)] or None,
        datasets=training_datasets(record.recipe if record else None) or None,
        pipeline_tag=PIPELINE_TAG,
        library_name="transformers",
        tags=list(TAGS),
        eval_results=eval_results or None,
    )


def training_datasets(recipe: dict | None) -> list[str]:
    """Hub ids of the recipe's training sources (local corpora have none)."""
    ids = []
    for source in ((recipe or {}).get("data") or {}).get("train") or []:
        hub = source.get("hub") if isinstance(source, dict) else None
        if isinstance(hub, str):
            from ..training.sources import HUB_SOURCES  # the names a recipe may use

            hub = HUB_SOURCES.get(hub, {})
        if isinstance(hub, dict) and hub.get("path") and hub["path"] not in ids:
            ids.append(hub["path"])
    return ids


# -- prose ---------------------------------------------------------------------------------------------------


def render_model_card(
    repo_id: str,
    config: dict,
    record: TrainingRecord | None,
    results: list,
    comparison: list,
    weights: Path,
    license: str,
    template: str,
) -> str:
    metadata = card_metadata(repo_id, config, record, results, license).to_yaml().strip("\n")
    recipe = record.recipe if record else None
    values = {
        "metadata": metadata,
        "title": repo_id.split("/")[-1],
        "repo_id": repo_id,
        "architecture": _architecture(config),
        "weights": _weights_sentence(config, weights),
        "results": _results_section(results, comparison),
        "objective": _objective(recipe),
        "training": _training_section(record),
        "data_limitation": _data_limitation(recipe),
        "length_limitation": _length_limitation(recipe),
    }
    return string.Template(template).substitute(values)


def _architecture(config: dict) -> str:
    encoder, decoder = config.get("encoder_name_or_path"), config.get("decoder_name_or_path")
    stack = config.get("projector_stack")
    lines = [
        f"- **Encoder** (pretrained, frozen{_lora_note(config.get('encoder_lora'))}): `{encoder}`",
        f"- **Projector** (trained): `{config.get('projector_type')}`, {stack} encoder frames per audio token, "
        f"hidden width {config.get('projector_hidden_size')}",
        f"- **Decoder** (pretrained causal LM, frozen{_lora_note(config.get('decoder_lora'))}): `{decoder}`",
        f"- **Decoding**: {_decoding_note(config.get('generation') or {})}",
    ]
    return "\n".join(lines)


def _decoding_note(generation: dict) -> str:
    options, _ = DecodingOptions.resolve(generation)
    beams = options.num_beams
    if beams > 1:
        note = (
            f"beam search with {beams} beams (config `generation`; the results below use it); "
            '`generate_kwargs={"num_beams": 1}` decodes greedily, faster'
        )
    else:
        note = 'greedy (config `generation`); `generate_kwargs={"num_beams": 4}` searches 4 beams, slower'
    if ngram := options.no_repeat_ngram_size:
        note += f"; no {ngram} tokens in a row are written twice (`no_repeat_ngram_size`), which ends repetition loops"
    if weight := options.ctc_decoding_weight:
        note += (
            f"; each step weighs the next tokens by {1 - weight:g} x the decoder's log-probability + {weight:g} x the "
            "projector's CTC prefix score (`ctc_decoding_weight`; 0 decodes with the decoder alone)"
        )
    if warps := options.warps:
        note += (
            f"; each clip is encoded with its log-mel frequency axis warped by {', '.join(f'{w:g}' for w in warps)} "
            "and decoded from the warp the projector's CTC head reads most confidently (`frequency_warps`; "
            "`[1.0]` turns it off)"
        )
    return note


def _lora_note(lora: dict | None) -> str:
    if not lora:
        return ""
    return f", with trained LoRA r={lora['r']}, alpha={lora['alpha']} on {', '.join(lora['target_modules'])}"


def _weights_sentence(config: dict, weights: Path) -> str:
    shapes = _safetensors_shapes(weights)
    total = sum(math.prod(shape) for shape in shapes.values())
    trained = sum(math.prod(shape) for name, shape in shapes.items() if _is_trained(name))
    size = human_size(weights.stat().st_size)
    if config.get("encoder_config") is not None:
        return (
            f"This repository is self-contained: `model.safetensors` ({size}) holds every weight ({total:,}, of which "
            f"{trained:,} were trained), and the backbones' configs are inline, so no other repository is needed."
        )
    return (
        f"This repository holds only what training changed: {trained:,} parameters in `model.safetensors` ({size}). "
        "The backbones are downloaded from their own repositories (above) the first time the model loads."
    )


def _is_trained(name: str) -> bool:
    return name.startswith("projector.") or "lora_" in name  # as ASRModel.trained_state_dict decides


def _safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor shapes from a safetensors header (8-byte little-endian length, then JSON), without loading data."""
    with open(path, "rb") as file:
        length = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(length))
    return {name: info["shape"] for name, info in header.items() if name != "__metadata__"}


def _results_section(results: list, comparison: list) -> str:
    if not results:
        return "No evaluation results were published with this model (`tiny-audio eval`, then push with `--results`)."
    datasets = {(row.dataset, row.split) for row in results}
    rows = sorted(
        list(results) + [row for row in comparison if (row.dataset, row.split) in datasets],
        key=lambda row: (row.dataset_label, row.rank),
    )
    lines = [
        "Corpus word error rate (lower is better) and speed (RTFx: seconds of audio per second of compute), "
        "measured with `tiny-audio eval`; other systems on the same data for comparison.",
        "",
        "| dataset | model | corpus WER | RTFx | samples | date |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        rtfx = f"{row.rtfx:.1f}" if row.rtfx is not None else "n/a"
        name = "**this model**" if row in results else row.model
        lines.append(
            f"| {row.dataset_label} | {name} | {100 * row.wer:.2f}% | {rtfx} | {row.samples} | {row.date[:10]} |"
        )
    return "\n".join(lines)


def _objective(recipe: dict | None) -> str:
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


def _training_section(record: TrainingRecord | None) -> str:
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
        sources = ((recipe.get("data") or {}).get("train")) or []
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


def _describe_source(source: Any) -> str:
    if not isinstance(source, dict):
        return str(source)
    kind = next((key for key in ("corpus", "hub", "audiofolder", "parquet") if key in source), None)
    where = source.get(kind) if kind else source
    if isinstance(where, dict):
        where = "/".join(str(part) for part in (where.get("path"), where.get("name")) if part)
    weight = f", weight {source['weight']}" if "weight" in source else ""
    return f"{kind or 'source'} `{where}`{weight}"


def human_size(num_bytes: float) -> str:
    """1536 -> "1.5 KB" (powers of 1000, as the Hub shows file sizes)."""
    size = float(num_bytes)
    for unit in ("B", "KB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


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


def _data_limitation(recipe: dict | None) -> str:
    sources = ((recipe or {}).get("data") or {}).get("train") or []
    if sources and all(isinstance(source, dict) and "corpus" in source for source in sources):
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


def _length_limitation(recipe: dict | None) -> str:
    max_seconds = ((recipe or {}).get("data") or {}).get("max_seconds")
    trained = f" It was trained on clips of up to {max_seconds} s." if max_seconds else ""
    return (
        "**Long audio.** The pipeline takes audio of any length: it cuts a clip longer than `chunk_length_s` "
        f"(default {DEFAULT_CHUNK_SECONDS:g} s; at most {WHISPER_MAX_SECONDS} s with a Whisper encoder) at pauses into "
        "pieces of at most that length and joins their texts. There are no timestamps and no speaker labels."
        f"{trained} Called directly, the processor and `generate` take each clip whole."
    )


def front_matter(card: str) -> dict:
    """The YAML metadata at the top of a model card, parsed."""
    if not card.startswith("---\n"):
        raise ValueError("The model card does not start with YAML front matter (---).")
    return yaml.safe_load(card[4:].split("\n---\n", 1)[0]) or {}
