"""Average the trained weights of saved models of one architecture into a new model directory.

    python scripts/average_weights.py runs/default-11/model runs/default-10/model --output runs/default-11-avg

Averaging a run with the run it continued from (a "model soup" along one training path) often generalises better
than either end point. The output is a copy of the first model with `model.safetensors` replaced by the element-wise
mean; its `training_summary.json` lists the other models under `weights_averaged_with`, so the model card says so.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

from tiny_audio.publish.assemble import SUMMARY_NAME as SUMMARY
from tiny_audio.publish.assemble import WEIGHTS_NAME as WEIGHTS


def average_weights(models: list[Path], output: Path) -> Path:
    if len(models) < 2:
        raise ValueError("give at least two saved model directories to average.")
    for model in models:
        if not (model / WEIGHTS).is_file():
            raise FileNotFoundError(f"{model} has no {WEIGHTS}; give saved model directories (runs/NAME/model).")
    if any(output.resolve() == model.resolve() for model in models):
        raise ValueError(f"--output {output} is one of the models to average; give a new directory.")
    weights = [load_file(model / WEIGHTS) for model in models]
    first = weights[0]
    for model, other in zip(models[1:], weights[1:], strict=True):
        mismatched = sorted(
            name
            for name in first.keys() | other.keys()
            if name not in first or name not in other or first[name].shape != other[name].shape
        )
        if mismatched:
            raise ValueError(
                f"{model} does not match {models[0]}: {len(mismatched)} tensors differ, e.g. {mismatched[0]}"
            )
    mean = {
        name: (sum(w[name].float() for w in weights) / len(weights)).to(first[name].dtype).contiguous()
        for name in first
    }
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(models[0], output, symlinks=False)
    save_file(mean, output / WEIGHTS, metadata={"format": "pt"})
    summary_path = output / SUMMARY
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    summary["weights_averaged_with"] = [model.as_posix() for model in models[1:]]
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    return output


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="saved model directories; the first one's files are kept")
    parser.add_argument("--output", type=Path, required=True, help="new model directory (replaced if it exists)")
    args = parser.parse_args()
    print(f"averaged {len(args.models)} models into {average_weights(args.models, args.output)}")
