"""Build the folder that becomes a Hub repository, from a trained checkpoint and the `hub_repo/` template.

A checkpoint is any of:
    a saved model directory      config.json (model_type tiny_audio) + model.safetensors + processor files
    a Trainer checkpoint         the same, plus trainer_state.json, optimizer.pt, ... (checkpoint-N/)
    a run's output directory     holding model/ (what `tiny-audio train` saves at the end)

The folder gets the model's own files (config.json with auto_map and custom_pipelines, weights, tokenizer and
processor files, the remote-code .py files), the template's extra files (.gitattributes) and a
README.md model card. Optimizer, scheduler and RNG state, trainer_state.json and pickles are never published.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .model_card import HUB_ID, render_model_card, select_results
from .redaction import drop_secrets
from .training_record import TrainingRecord

# The template of a published repository. It ships inside the package, so that push works from an installed wheel;
# the checkout's top-level hub_repo/ is a link to it.
TEMPLATE_DIR = Path(__file__).resolve().parent / "hub_repo"
CARD_TEMPLATE = "README.md.tmpl"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
SUMMARY_NAME = "training_summary.json"
TRAINER_STATE_NAME = "trainer_state.json"
# What a model directory may hold that belongs in the repository: configs, weights, code, tokenizer files.
PUBLISHED_SUFFIXES = (".json", ".safetensors", ".py", ".jinja", ".txt", ".model", ".tiktoken")
# Trainer bookkeeping: needed to resume training, useless (or pickled, or private) for someone using the model.
NEVER_PUBLISHED = {TRAINER_STATE_NAME, "training_args.bin", "optimizer.pt", "scheduler.pt", "scaler.pt"}


@dataclass
class Checkpoint:
    path: Path  # what the user named
    model_dir: Path  # the directory holding config.json and the weights
    kind: str  # "model", "trainer checkpoint" or "run"
    config: dict
    record: TrainingRecord | None  # how it was trained, when the directory says


@dataclass
class AssembledRepo:
    folder: Path
    files: list[str]  # relative paths, sorted: exactly what an upload sends
    not_published: list[str] = field(default_factory=list)  # files of the checkpoint left out, with no secret in them
    card: str = ""
    results: list = field(default_factory=list)  # this model's LeaderboardRows in the card's model-index

    def sizes(self) -> dict[str, int]:
        return {name: (self.folder / name).stat().st_size for name in self.files}


def find_checkpoint(path: str | Path) -> Checkpoint:
    """Which model directory `path` means (a saved model, a Trainer checkpoint, or a run's output directory)."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(
            f"No checkpoint directory at {path}: give a saved model, checkpoint-N or run output directory."
        )
    if (path / CONFIG_NAME).is_file():
        model_dir, kind = path, "trainer checkpoint" if (path / TRAINER_STATE_NAME).is_file() else "model"
    elif (path / "model" / CONFIG_NAME).is_file():
        model_dir, kind = path / "model", "run"
    else:
        checkpoints = sorted(path.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1] or 0))
        hint = f"; the newest checkpoint is {checkpoints[-1]}" if checkpoints else ""
        raise FileNotFoundError(
            f"{path} holds no {CONFIG_NAME} and no model/{CONFIG_NAME}: expected a saved tiny-audio model, a Trainer "
            f"checkpoint-N directory or a finished run's output directory{hint}."
        )
    config = json.loads((model_dir / CONFIG_NAME).read_text())
    if config.get("model_type") != "tiny_audio":
        raise ValueError(
            f"{model_dir / CONFIG_NAME} has model_type {config.get('model_type')!r}, not 'tiny_audio': "
            "push publishes models built with tiny-audio."
        )
    if not (model_dir / WEIGHTS_NAME).is_file():
        raise FileNotFoundError(f"{model_dir} has no {WEIGHTS_NAME}; save the model with save_pretrained first.")
    return Checkpoint(path=path, model_dir=model_dir, kind=kind, config=config, record=_training_record(model_dir))


def _training_record(model_dir: Path) -> TrainingRecord | None:
    if (model_dir / SUMMARY_NAME).is_file():
        return TrainingRecord.from_summary(json.loads((model_dir / SUMMARY_NAME).read_text()))
    if (model_dir / TRAINER_STATE_NAME).is_file():
        return TrainingRecord.from_trainer_state(json.loads((model_dir / TRAINER_STATE_NAME).read_text()))
    return None


def local_backbones(config: dict) -> list[str]:
    """Backbones named by a local path instead of a Hub id (they would not load anywhere else)."""
    found = []
    for part in ("encoder", "decoder"):
        name = config.get(f"{part}_name_or_path")
        if config.get(f"{part}_config") is None and name and (not HUB_ID.match(name) or Path(name).is_dir()):
            found.append(f"{part}_name_or_path={name!r}")
    return found


def assemble_repo(
    checkpoint: Checkpoint,
    folder: str | Path,
    repo_id: str,
    results: list[str | Path] = (),
    results_model: str | None = None,
    self_contained: bool = False,
    license: str = "mit",
    log=print,
) -> AssembledRepo:
    """Write the repository for `checkpoint` into `folder` (emptied first) and say what is in it."""
    local = local_backbones(checkpoint.config)
    if local and not self_contained:
        raise ValueError(
            f"The model names its backbones by local path ({', '.join(local)}), so the pushed repository would not "
            "load anywhere else. Build it from Hub ids, or push with --self-contained to include every weight."
        )
    if local:
        log(f"note: config.json keeps {', '.join(local)}; unused by a self-contained model, but visible")
    folder = _fresh_folder(Path(folder))
    not_published = []
    for source in sorted(checkpoint.model_dir.iterdir()):
        if not source.is_file() or source.name == "README.md":
            continue
        if source.name in NEVER_PUBLISHED or not source.name.endswith(PUBLISHED_SUFFIXES):
            not_published.append(source.name)
        elif source.name == SUMMARY_NAME:  # a recipe may carry a hub_token: keep the record, drop its secrets
            summary = drop_secrets(json.loads(source.read_text()))
            if summary.get("resumed_from"):  # a local path; its name is all a reader needs
                summary["resumed_from"] = Path(summary["resumed_from"]).name
            (folder / SUMMARY_NAME).write_text(json.dumps(summary, indent=2) + "\n")
        else:
            shutil.copyfile(source, folder / source.name)  # follows symlinks (the default model links its .py files)
    if self_contained:
        _save_self_contained(checkpoint.model_dir, folder, log)
    for source in sorted(template_dir().iterdir()):
        if source.is_file() and source.name != CARD_TEMPLATE:
            shutil.copyfile(source, folder / source.name)
    config = json.loads((folder / CONFIG_NAME).read_text())
    identities = [repo_id, str(checkpoint.path), str(checkpoint.model_dir)] + ([results_model] if results_model else [])
    mine, others = select_results(results, identities) if results else ([], [])
    if results and not mine:
        found = sorted({row.model for row in others})
        log(
            f"note: no results for this model under {', '.join(map(str, results))} (found: {found or 'none'}); "
            "the card has no model-index. Pass --results-model NAME if the model was evaluated under another name."
        )
    card = render_model_card(
        repo_id=repo_id,
        config=config,
        record=checkpoint.record,
        results=mine,
        comparison=others,
        weights=folder / WEIGHTS_NAME,
        license=license,
        template=(template_dir() / CARD_TEMPLATE).read_text(encoding="utf-8"),
    )
    (folder / "README.md").write_text(card, encoding="utf-8")
    files = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())
    return AssembledRepo(folder=folder, files=files, not_published=not_published, card=card, results=mine)


def template_dir() -> Path:
    if not (TEMPLATE_DIR / CARD_TEMPLATE).is_file():
        raise FileNotFoundError(
            f"The Hub repository template is missing ({TEMPLATE_DIR / CARD_TEMPLATE}); reinstall tiny-audio "
            "(pip install -e . from a checkout, or its built wheel): the package ships it."
        )
    return TEMPLATE_DIR


def _fresh_folder(folder: Path) -> Path:
    """`folder`, empty. An existing one is cleared only if it holds nothing but files a push could have written."""
    if folder.exists():
        foreign = [
            path.name
            for path in folder.iterdir()
            if not path.is_file()
            or not (path.name.endswith(PUBLISHED_SUFFIXES) or path.name in ("README.md", ".gitattributes"))
        ]
        if foreign:
            raise FileExistsError(
                f"{folder} exists and holds files a push does not write ({', '.join(sorted(foreign)[:5])}); "
                "choose another --folder or remove it."
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _save_self_contained(model_dir: Path, folder: Path, log) -> None:
    """Re-save with every weight and the backbones' configs inline, so the repo needs no other repository."""
    from ..model.modeling_asr import ASRModel

    log(f"loading {model_dir} to save every weight (--self-contained)")
    model = ASRModel.from_pretrained(model_dir)
    model.save_pretrained(folder, self_contained=True)
