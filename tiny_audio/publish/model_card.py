"""The README.md model card of a published model: Hub metadata (YAML) and what a user needs to know.

Metadata goes through huggingface_hub's `ModelCardData`, so `model-index` is in the Hub's own format (one result
per dataset, WER in percent). Results come from `leaderboard_rows`, the same reader as `tiny-audio leaderboard`.
The prose lives in `tiny_audio/publish/hub_repo/README.md.tmpl` (a `string.Template`: `$name` placeholders; the
checkout's top-level `hub_repo/` links there). How the model was trained is `training_record`'s to say.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from ..model.alignment import ctc_head_is_trained
from ..model.constants import DEFAULT_CHUNK_SECONDS, WHISPER_MAX_SECONDS
from ..model.decoding_options import DecodingOptions
from .training_record import TrainingRecord, data_limitation, objective, training_datasets, training_section

PIPELINE_TAG = "automatic-speech-recognition"
TAGS = ["tiny-audio", "speech", "asr", "audio", "custom_code"]
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")  # "gpt2", "openai/whisper-tiny.en"


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
        "objective": objective(recipe),
        "training": training_section(record),
        "data_limitation": data_limitation(recipe),
        "length_limitation": _length_limitation(recipe, config),
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
        if options.ctc_draft and not options.ctc_decoding_weight:
            note += (
                "; the decoder checks the projector's CTC transcript as a draft, several tokens a pass, and writes its "
                "own token where it disagrees (`ctc_draft`: the same text as token-by-token greedy search, faster)"
            )
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


def human_size(num_bytes: float) -> str:
    """1536 -> "1.5 KB" (powers of 1000, as the Hub shows file sizes)."""
    size = float(num_bytes)
    for unit in ("B", "KB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _length_limitation(recipe: dict | None, config: dict) -> str:
    max_seconds = ((recipe or {}).get("data") or {}).get("max_seconds")
    trained = f" It was trained on clips of up to {max_seconds} s." if max_seconds else ""
    return (
        "**Long audio.** The pipeline takes audio of any length: it cuts a clip longer than `chunk_length_s` "
        f"(default {DEFAULT_CHUNK_SECONDS:g} s; at most {WHISPER_MAX_SECONDS} s with a Whisper encoder) at pauses into "
        f"pieces of at most that length and joins their texts. {_timestamps_sentence(config)} There are no speaker "
        f"labels.{trained} Called directly, the processor and `generate` take each clip whole."
    )


def _timestamps_sentence(config: dict) -> str:
    """What the pipeline's `return_timestamps` gives for this model: the model's own rule (alignment.py) decides."""
    if ctc_head_is_trained(SimpleNamespace(**config)):
        return (
            'Word timestamps (`return_timestamps="word"`) and segment timestamps (`return_timestamps=True`) come '
            "from aligning the transcript with the projector's CTC head."
        )
    return "There are no timestamps: they need a projector trained with the CTC loss, and this one was not."


def front_matter(card: str) -> dict:
    """The YAML metadata at the top of a model card, parsed."""
    if not card.startswith("---\n"):
        raise ValueError("The model card does not start with YAML front matter (---).")
    return yaml.safe_load(card[4:].split("\n---\n", 1)[0]) or {}
