"""`tiny-audio train --config configs/default.yaml [section.key=value ...]` (also `python train.py ...`).

`--check` trains nothing: it builds the recipe's full-size model without weights and reports parameters, LoRA
targets, the GPU memory the recipe needs and its data sources (`tiny_audio.training.check`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ..cli_options import argument_type, at_least_one, positive_number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="configs/default.yaml", help="recipe YAML (default: %(default)s)")
    parser.add_argument("overrides", nargs="*", help="section.key=value, e.g. training.max_steps=100")
    check = parser.add_argument_group("checking a recipe before renting GPUs")
    check.add_argument(
        "--check",
        action="store_true",
        help="train nothing: build the full-size model without weights and report parameters, LoRA targets, "
        "peak GPU memory and data sources; exit 1 if the recipe would not run",
    )
    check.add_argument(
        "--gpu-memory-gb",
        type=argument_type(positive_number, "gpu_memory_gb"),
        default=80.0,
        help="memory of one GPU in GiB (default: %(default)g)",
    )
    check.add_argument(
        "--gpus",
        type=argument_type(at_least_one, "gpus"),
        default=8,
        help="GPUs for the DDP and FSDP estimates (default: %(default)s)",
    )
    check.add_argument(
        "--launcher",
        choices=("single", "ddp", "fsdp"),
        default="single",
        help="the setup whose estimate must fit (default: %(default)s; single is `python train.py`)",
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a model from a recipe; rerun the same command to resume")
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0: trained (or checked); 1: `--check` found the recipe would not run; 2: a recipe error (an unknown key, a
    value of the wrong type) or a missing recipe or corpus, in one line on stderr before any model loads."""
    from .recipe import load_recipe

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:  # the recipe and its overrides are judged before any model or data is loaded
        recipe = load_recipe(args.config, args.overrides)
    except (ValueError, FileNotFoundError) as error:  # no such recipe, a malformed override, a RecipeError (a typo)
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        from .check import CheckFailed, run_check

        try:
            print(run_check(recipe, args.gpu_memory_gb, args.gpus, args.launcher))
        except CheckFailed as failure:
            print(failure, file=sys.stderr)
            return 1
        return 0
    from .sources import MissingSource
    from .trainer import train

    try:
        model_dir = train(recipe)  # checks the local data sources before it loads a model
    except MissingSource as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if (model_dir / "training_summary.json").is_file():
        print(closing_line(model_dir))
    return 0


def closing_line(model_dir: Path) -> str:
    """Where the model went, how long it took and its last WER, from the summary the run saved beside it."""
    summary = json.loads((model_dir / "training_summary.json").read_text())
    seconds = summary.get("wall_seconds") or summary["wall_seconds_this_run"]  # all attempts when known
    minutes, rest = divmod(round(seconds), 60)
    wer = (summary.get("final_eval") or {}).get("eval_wer")
    scored = f", eval WER {100 * wer:.1f}%" if wer is not None else ""
    return f"saved model: {model_dir} ({summary['global_step']} steps in {minutes} min {rest:02d} s{scored})"
