"""Copy a trained model into the package as the embedded default (`tiny_audio/default_model/`).

    python scripts/embed_default_model.py runs/default/model [--generation num_beams=4 no_repeat_ngram_size=4]

Weights, config, tokenizer/processor files, model card and training summary are copied. The remote code becomes
symlinks to every module of the model folder (`tiny_audio/model/`), so the repository keeps one copy of them (a wheel
stores the files they point to, and `pipeline(model=DIR, trust_remote_code=True)` reads through the links).
`--generation KEY=VALUE ...` sets the embedded config's decoding (`generation`; values are read as YAML, as in recipe
overrides) for a model whose run decoded otherwise, e.g. greedily for quick validation.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from tiny_audio.model import MODEL_DIR, remote_code_files
from tiny_audio.training.recipe import parse_value

TARGET = MODEL_DIR.parent / "default_model"


def embed(model_dir: Path, target: Path = TARGET, generation: dict[str, Any] | None = None) -> list[Path]:
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir} is not a saved tiny-audio model (no config.json).")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for source in sorted(model_dir.iterdir()):
        if source.is_file() and source.suffix != ".py":  # the saved code is this version's: linked below
            shutil.copy2(source, target / source.name)
    for module in remote_code_files():
        (target / module.name).symlink_to(Path("..") / MODEL_DIR.name / module.name)
    if generation:
        config_path = target / "config.json"
        config = json.loads(config_path.read_text())
        config.setdefault("generation", {}).update(generation)
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return sorted(target.iterdir())


def parse_setting(text: str) -> tuple[str, Any]:
    """`num_beams=4` -> ("num_beams", 4): the value is read as a recipe override's is (YAML)."""
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise SystemExit(f"--generation takes KEY=VALUE pairs such as num_beams=4, not {text!r}")
    return key, parse_value(value)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument(
        "--generation",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="decoding settings to store, e.g. num_beams=4 (default: as the model was saved)",
    )
    args = parser.parse_args()
    for path in embed(args.model_dir, generation=dict(parse_setting(text) for text in args.generation)):
        print(f"{path.name:32s} {path.stat().st_size:>12,} {'-> ' + str(path.readlink()) if path.is_symlink() else ''}")
