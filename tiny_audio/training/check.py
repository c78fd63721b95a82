"""`tiny-audio train --config RECIPE --check`: what a recipe builds and needs, before anyone rents a GPU.

Builds the recipe's full-size model without weights (PyTorch's meta device: shapes only, no memory; LoRA injected as
in training, from the backbones' configs alone) and reports, downloading nothing:

1. parameters per part (encoder, projector, decoder) and in total: total, trainable, frozen, % trainable;
2. that every LoRA target names a Linear layer of the real architecture (else it fails, listing the names there are);
3. peak GPU memory per device for the recipe's batch on one GPU, under DDP and under FSDP, with and without
   activation checkpointing (MEMORY_FORMULA, in memory_estimate.py), and whether it fits in `--gpu-memory-gb`;
4. what the chosen launcher needs besides (DDP: unused parameters; FSDP: layer classes to shard, checkpointing);
5. the data section: sources against the named Hub datasets' configs, splits and columns (`HUB_DATASETS` in
   tiny_audio.data.source_spec), weights and filters.

Backbone configs come from the Hub (or a local path) when reachable, otherwise from the configs shipped in
`backbone_configs/` (sources in its README.md); the report says which it used.
"""

from __future__ import annotations

import glob
import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.source_spec import HUB_DATASETS, hub_schema_problems, parse_source
from ..model.backbone_loading import inline_config
from ..model.configuration_asr import ASRConfig
from ..model.constants import WHISPER_MAX_SECONDS
from .memory_estimate import GIB, MEMORY_FORMULA, estimate_memory, format_memory, layer_stack, sequence_shapes
from .recipe_sections import DataOptions, SourceOptions

logger = logging.getLogger(__name__)

SHIPPED_CONFIGS = Path(__file__).with_name("backbone_configs")
LAUNCHERS = ("single", "ddp", "fsdp")


class CheckFailed(Exception):
    """The recipe would not run as written; the message holds the report and says what to change."""


# -- backbones -------------------------------------------------------------------------------------------------


def shipped_config_path(name_or_path: str) -> Path:
    return SHIPPED_CONFIGS / f"{name_or_path.replace('/', '--')}.json"


def backbone_config(name_or_path: str) -> tuple[dict[str, Any], str]:
    """A backbone's config (a dict, as ASRConfig stores one inline) and where it came from: the Hub or a local path
    when reachable, else the config shipped in `backbone_configs/`."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(name_or_path)
        return inline_config(config), "local path" if Path(name_or_path).exists() else "Hugging Face Hub"
    except (OSError, ValueError) as error:
        shipped = shipped_config_path(name_or_path)
        if not shipped.is_file():
            available = sorted(path.stem.replace("--", "/") for path in SHIPPED_CONFIGS.glob("*.json"))
            raise CheckFailed(
                f"Cannot read the config of {name_or_path!r} ({type(error).__name__}) and none is shipped; shipped: "
                f"{available}. Run the check where the Hub is reachable, or add {shipped.name} to {SHIPPED_CONFIGS}."
            ) from error
        logger.info("config of %s not reachable (%s): using %s", name_or_path, type(error).__name__, shipped)
        return inline_config(AutoConfig.for_model(**json.loads(shipped.read_text()))), f"shipped {shipped.name}"


def linear_names(module: nn.Module) -> list[str]:
    """The distinct last names of the Linear layers in `module` (what LoRA `target_modules` name)."""
    return sorted({name.rsplit(".", 1)[-1] for name, child in module.named_modules() if isinstance(child, nn.Linear)})


def check_lora_targets(part: str, backbone: nn.Module, lora: dict | None) -> None:
    """Every target must name a Linear layer, matched as peft matches: the full name or its last dotted parts."""
    if lora is None:
        return
    names = [name for name, child in backbone.named_modules() if isinstance(child, nn.Linear)]
    for target in lora["target_modules"]:
        if not any(name == target or name.endswith("." + target) for name in names):
            raise CheckFailed(
                f"model.{part}_lora.target_modules names {target!r}, which is not a Linear layer of the "
                f"{type(backbone).__name__} {part}; its Linear layers are named {linear_names(backbone)}."
            )


def build_empty_model(model_section: dict[str, Any], backbone_dtype: str | None) -> tuple[nn.Module, dict[str, str]]:
    """The recipe's ASRModel on the meta device (no weights), and where each backbone config came from."""
    from transformers import AutoModel, AutoModelForCausalLM

    from ..model.modeling_asr import ASRModel

    class EmptyASRModel(ASRModel):
        def init_weights(self) -> None:  # sets the projector from the embeddings' values, which meta tensors lack
            pass

    section, origins, configs = dict(model_section), {}, {}
    for part in ("encoder", "decoder"):
        if section.get(f"{part}_config") is not None:
            configs[part], origins[part] = section[f"{part}_config"], "the recipe (inline)"
        elif not section.get(f"{part}_name_or_path"):
            raise CheckFailed(f"model.{part}_name_or_path is missing: a Hub id or a local path.")
        else:
            configs[part], origins[part] = backbone_config(section[f"{part}_name_or_path"])
    # The placeholder id may lie past the vocabulary: it is never looked up (ASRModel.embed_inputs).
    config = ASRConfig(
        **{**section, "encoder_config": configs["encoder"], "decoder_config": configs["decoder"]},
        audio_token_id=configs["decoder"]["vocab_size"],
    )
    with torch.device("meta"):
        encoder = AutoModel.from_config(config.resolved_encoder_config())
        check_lora_targets(
            "encoder", encoder.get_encoder() if hasattr(encoder, "get_encoder") else encoder, config.encoder_lora
        )
        check_lora_targets(
            "decoder", AutoModelForCausalLM.from_config(config.resolved_decoder_config()), config.decoder_lora
        )
        del encoder
        model = EmptyASRModel(config, dtype=getattr(torch, backbone_dtype) if backbone_dtype else torch.float32)
    return model, origins


# -- parameters ------------------------------------------------------------------------------------------------


def parameter_table(model: nn.Module) -> list[dict[str, Any]]:
    """Rows {part, total, trainable, frozen} for the encoder, projector, decoder and their total."""
    rows = []
    for part in ("encoder", "projector", "decoder"):
        parameters = list(getattr(model, part).parameters())
        total = sum(p.numel() for p in parameters)
        trainable = sum(p.numel() for p in parameters if p.requires_grad)
        rows.append({"part": part, "total": total, "trainable": trainable, "frozen": total - trainable})
    rows.append({"part": "total", **{key: sum(row[key] for row in rows) for key in ("total", "trainable", "frozen")}})
    return rows


def format_parameter_table(rows: list[dict[str, Any]], labels: dict[str, str]) -> str:
    width = max(len(labels.get(row["part"], row["part"])) for row in rows)
    lines = [
        f"| {'part':<{width}} | {'total':>13} | {'trainable':>11} | {'frozen':>13} | % trainable |",
        f"|{'-' * (width + 2)}|{'-' * 14}:|{'-' * 12}:|{'-' * 14}:|{'-' * 12}:|",
    ]
    for row in rows:
        share = 100 * row["trainable"] / row["total"] if row["total"] else 0.0
        label = labels.get(row["part"], row["part"])
        lines.append(
            f"| {label:<{width}} | {row['total']:>13,} | {row['trainable']:>11,} | {row['frozen']:>13,} | "
            f"{share:>10.2f}% |"
        )
    return "\n".join(lines)


# -- launchers -------------------------------------------------------------------------------------------------


def launcher_notes(model: nn.Module, training: dict[str, Any], launcher: str) -> tuple[list[str], list[str]]:
    """(notes, problems) for running the recipe under DDP or FSDP (accelerate 1.16, transformers 5.25)."""
    notes, problems = [], []
    checkpointing = bool(training.get("activation_checkpointing", training.get("gradient_checkpointing", False)))
    # LayerDrop skips random encoder layers per process; with activation checkpointing the Trainer builds DDP with
    # find_unused_parameters=False, so a skipped layer's LoRA weights hang the gradient all-reduce.
    layerdrop = getattr(model.encoder.config, "layerdrop", 0.0) or getattr(model.encoder.config, "encoder_layerdrop", 0)
    encoder_trains = any(p.requires_grad for p in model.encoder.parameters())
    if encoder_trains and layerdrop and checkpointing and not training.get("ddp_find_unused_parameters"):
        message = (
            f"DDP: the encoder drops layers in training (layerdrop {layerdrop}) and has LoRA weights: set "
            "training.ddp_find_unused_parameters=true, or processes wait forever on the skipped layers' gradients"
        )
        (problems if launcher == "ddp" else notes).append(message)
    if training.get("ctc_only_steps") and checkpointing and not training.get("ddp_find_unused_parameters"):
        message = (
            "DDP: the CTC-only steps leave the decoder unused: set training.ddp_find_unused_parameters=true, or "
            "processes wait forever on its LoRA gradients"
        )
        (problems if launcher == "ddp" else notes).append(message)
    # accelerate's TRANSFORMER_BASED_WRAP shards (and checkpoints) the classes in `_no_split_modules`.
    classes = [type(layer_stack(backbone)[0]).__name__ for backbone in (model.encoder, model.decoder)]
    unwrapped = [name for name in classes if name not in (model._no_split_modules or ())]
    if unwrapped:
        # A note, not a failure: the launch command can name the classes, and this check cannot see it.
        notes.append(
            f"FSDP: {', '.join(unwrapped)} is missing from the model's _no_split_modules, so TRANSFORMER_BASED_WRAP "
            "would neither shard nor checkpoint those layers (the estimate assumes they are); launch with "
            f"--fsdp_transformer_layer_cls_to_wrap {','.join(classes)}"
        )
    if launcher == "fsdp" and checkpointing:
        problems.append(
            "FSDP: configs/accelerate/fsdp.yaml checkpoints activations itself and transformers refuses both: set "
            "training.activation_checkpointing=false"
        )
    return notes, problems


# -- data ------------------------------------------------------------------------------------------------------


def check_source(spec: Any, default_split: str, encoder_type: str) -> tuple[str, list[str]]:
    """(a one-line description, problems) for one data source, checked against HUB_DATASETS for Hub sources."""
    try:
        source = parse_source(spec, default_split)
    except ValueError as err:
        return repr(spec), [str(err)]
    if source.kind != "hub":
        exists = glob.glob(source.location) if source.kind == "parquet" else Path(source.location).exists()
        problems = [] if exists else [f"{source.kind} source {source.location!r} does not exist on this machine"]
        return source.name, problems
    label = (
        f"{source.alias or 'hub'}: {source.location} [{source.config}] {source.split}, "
        f"columns {source.audio_column} + {source.text_column}"
    )
    facts = HUB_DATASETS.get(source.location)
    if facts is None:
        return f"{label} (unknown here: its columns are checked when streaming starts)", []
    if source.text_transform:
        label += f", text {source.text_transform}"
    if facts["gated"]:
        label += " (gated: accept its terms on the Hub, set HF_TOKEN)"
    return label, hub_schema_problems(source)


def check_data(data: dict[str, Any], encoder_type: str) -> tuple[list[str], list[str]]:
    """(report lines, problems) for the recipe's data section."""
    lines, problems = [], []
    specs = data.get("train") or []
    if not specs:
        problems.append("data.train lists no sources")
    weights = [spec.get("weight", 1.0) if isinstance(spec, dict) else None for spec in specs]
    total = sum(w for w in weights if isinstance(w, (int, float)) and w > 0) or 1.0
    for spec, weight in zip(specs, weights, strict=True):
        label, found = check_source(spec, "train", encoder_type)
        if not isinstance(weight, (int, float)) or weight <= 0:
            found.append(f"weight {weight!r} must be a positive number")
        share = f"{100 * weight / total:4.1f}%" if not found else "  -  "
        lines.append(f"  train {share} {label}" + ("" if not found else "  <-- " + "; ".join(found)))
        problems += found
    if data.get("eval"):
        label, found = check_source(data["eval"], "validation", encoder_type)
        clips = data["eval"].get("max_samples", SourceOptions.max_samples) if isinstance(data["eval"], dict) else "?"
        lines.append(f"  eval ({clips} clips) {label}" + ("  <-- " + "; ".join(found) if found else ""))
        problems += found
    options = DataOptions.from_section(data)
    low, high = float(options.min_seconds), float(options.max_seconds)
    if not 0 <= low < high:
        problems.append(f"data.min_seconds {low} must be >= 0 and below data.max_seconds {high}")
    if encoder_type == "whisper" and high > WHISPER_MAX_SECONDS:
        problems.append(f"data.max_seconds {high} exceeds what a Whisper encoder takes ({WHISPER_MAX_SECONDS} s)")
    share = float(options.nonspeech_fraction)
    if not 0 <= share < 1:
        problems.append(f"data.nonspeech_fraction {share} must be in [0, 1)")
    lines.append(f"  filters: clips {low:g}-{high:g} s, at most {options.max_words} words; non-speech {share:g}")
    return lines, problems


# -- the check -------------------------------------------------------------------------------------------------


def run_check(recipe: dict[str, Any], gpu_memory_gb: float, gpus: int, launcher: str) -> str:
    """The report for a loaded recipe; raises CheckFailed, holding the report, when the recipe would not run."""
    if launcher not in LAUNCHERS:
        raise ValueError(f"launcher {launcher!r} is not one of {list(LAUNCHERS)}.")
    training, section = recipe["training"], recipe["model"]
    model, origins = build_empty_model(section, training.get("backbone_dtype"))
    labels = {"projector": f"projector ({model.config.projector_type}, stack {model.config.projector_stack})"}
    targets = {}
    for part in ("encoder", "decoder"):
        lora = getattr(model.config, f"{part}_lora")
        labels[part] = f"{part} ({section.get(f'{part}_name_or_path')}{' + LoRA' if lora else ''})"
        targets[part] = lora["target_modules"] if lora else None
    shapes = sequence_shapes(model, recipe)
    memory = estimate_memory(model, shapes, gpus)
    checkpointing = bool(training.get("activation_checkpointing", training.get("gradient_checkpointing", False)))
    checkpointing = checkpointing or launcher == "fsdp"  # configs/accelerate/fsdp.yaml checkpoints activations itself
    notes, problems = launcher_notes(model, training, launcher)
    data_lines, data_problems = check_data(recipe["data"], model.encoder.config.model_type)
    unit = "mel frames" if model.encoder.config.model_type == "whisper" else "samples"
    report = [
        "backbone configs: " + "; ".join(f"{part} from {origin}" for part, origin in origins.items()),
        "",
        format_parameter_table(parameter_table(model), labels),
        f"LoRA targets found: encoder {targets['encoder']}, decoder {targets['decoder']}",
        "",
        f"longest batch: {shapes.batch} clips x {shapes.seconds:g} s = {shapes.encoder_input} {unit} -> "
        f"{shapes.encoder_frames} encoder frames -> {shapes.audio_tokens} audio tokens (stack "
        f"{model.config.projector_stack}) + {shapes.prompt_tokens} prompt + {shapes.transcript_tokens} transcript = "
        f"{shapes.decoder_tokens} decoder tokens; backbones in {training.get('backbone_dtype', 'float32')}",
        "",
        "peak GPU memory per device (estimate)",
        format_memory(memory, gpu_memory_gb, checkpointing),
        MEMORY_FORMULA,
        "",
        *(["launchers", *(f"  - {note}" for note in notes), ""] if notes else []),
        "data (as published on the Hub; nothing downloaded)",
        *data_lines,
    ]
    problems += data_problems
    setup = {"single": "one GPU", "ddp": f"DDP, {gpus} GPUs", "fsdp": f"FSDP, {gpus} GPUs"}[launcher]
    peak = memory["peaks"][setup]["checkpointing" if checkpointing else "no checkpointing"]
    if peak > gpu_memory_gb * GIB:
        fitting = [
            f"{name} {'with' if key == 'checkpointing' else 'without'} activation checkpointing"
            for name, by_key in memory["peaks"].items()
            for key, value in by_key.items()
            if value <= gpu_memory_gb * GIB
        ]
        advice = f"it fits {'; '.join(fitting)}" if fitting else "no setup fits: lower the batch or data.max_seconds"
        problems.append(
            f"the estimated peak of {peak / GIB:.1f} GiB per device ({setup}) does not fit in {gpu_memory_gb:g} GiB "
            f"(--gpu-memory-gb); {advice}"
        )
    text = "\n".join(report)
    if problems:
        raise CheckFailed(f"{text}\n\ncheck failed ({launcher}):\n" + "\n".join(f"  - {p}" for p in problems))
    return f"{text}\n\ncheck passed ({launcher}: {peak / GIB:.1f} GiB of {gpu_memory_gb:g} GiB per device)"
