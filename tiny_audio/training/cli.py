"""`tiny-audio train --config configs/default.yaml [section.key=value ...]` (also `python train.py ...`)."""

from __future__ import annotations

import argparse
import logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="configs/default.yaml", help="recipe YAML (default: configs/default.yaml)")
    parser.add_argument("overrides", nargs="*", help="section.key=value, e.g. training.max_steps=100")


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a model from a recipe; rerun the same command to resume")
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .recipe import load_recipe
    from .trainer import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    model_dir = train(load_recipe(args.config, args.overrides))
    if (model_dir / "training_summary.json").is_file():
        print(f"saved model: {model_dir}")
    return 0
