"""Copy a trained model into the package as the embedded default (`tiny_audio/default_model/`).

    python scripts/embed_default_model.py runs/default/model

Weights, config, tokenizer/processor files, model card and training summary are copied. The remote-code files become
symlinks to the library's own modules, so the repository keeps one copy of them (a wheel stores the files they point
to, and `pipeline(model=DIR, trust_remote_code=True)` reads through the links).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tiny_audio"
TARGET = PACKAGE / "default_model"


def embed(model_dir: Path, target: Path = TARGET) -> list[Path]:
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir} is not a saved tiny-audio model (no config.json).")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for source in sorted(model_dir.iterdir()):
        destination = target / source.name
        if source.suffix == ".py":
            if not (PACKAGE / source.name).is_file():
                raise FileNotFoundError(
                    f"{source.name} is not a tiny_audio module; was the model saved by this version?"
                )
            destination.symlink_to(Path("..") / source.name)
        elif source.is_file():
            shutil.copy2(source, destination)
    return sorted(target.iterdir())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    for path in embed(parser.parse_args().model_dir):
        print(f"{path.name:32s} {path.stat().st_size:>12,} {'-> ' + str(path.readlink()) if path.is_symlink() else ''}")
