"""`tiny-audio eval MODEL [MODEL...] --dataset NAME_OR_PATH`: WER and speed of one or more systems on one dataset.

Each model's run prints the course's per-sample lines and checkpoints and writes
`<output-dir>/eval_<dataset>_<model>/results.{txt,json}`. With several models, they run one after another on the
same clips (decoded once, replayed from memory when they fit) and a side-by-side markdown table ends the output
(also written to `<output-dir>/eval_<dataset>_comparison.md`).

A sample that cannot be decoded or that the model fails on is named in one line and the run goes on (see
`runner.py` for how each is scored); it is listed under "failed" in results.json/txt, and the exit status is then 1,
with a count of the failures at the end.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import traceback
from pathlib import Path

from tiny_audio.cli_options import (
    add_context_arguments,
    add_device_argument,
    argument_type,
    at_least_one,
    option_type,
)
from tiny_audio.model.decoding_options import MAX_BATCH_SIZE

__all__ = ["main", "register", "run"]

DTYPES = ("auto", "float32", "bfloat16")
# What works without the Hub, said when a MODEL cannot be had.
OFFLINE_MODELS_HINT = (
    "Offline, evaluate tiny_audio/default_model (the embedded default model), openai/whisper-tiny.en or "
    "openai/whisper-base (converted by `tiny-audio backbones`), or pocketsphinx."
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="word error rate and speed of a model on a dataset",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "MODEL: a tiny-audio model directory or Hub id; a Whisper checkpoint (openai/whisper-tiny.en, or "
            "whisper:ID); transformers:ID for another ASR checkpoint; or pocketsphinx.\n"
            "Set HF_HUB_OFFLINE=1 to use only the local Hugging Face cache (otherwise an unreachable Hub is "
            "detected in a few seconds and offline mode is switched on for the run).\n"
            "Example: tiny-audio eval mazesmazes/tiny-audio --dataset loquacious --config medium --max-samples 100"
        ),
    )
    parser.add_argument("models", nargs="*", metavar="MODEL", help="one or more systems to evaluate")
    parser.add_argument(
        "--dataset",
        help="registry name (see --list-datasets), dev-real, ivr-dev, a corpus directory, parquet, audiofolder, "
        "a TSV/CSV/JSONL manifest (audio path + text), or a Hub dataset id",
    )
    parser.add_argument("--split", help="split to evaluate (default: the dataset's test split)")
    parser.add_argument("--config", help="dataset config, e.g. small/medium/large for loquacious")
    parser.add_argument(
        "--max-samples",
        type=argument_type(at_least_one, "max_samples"),
        help="evaluate only the first N samples (default: all)",
    )
    parser.add_argument(
        "--batch-size",
        type=option_type("batch_size", int),
        default=1,
        help=f"clips per model call, 1 to {MAX_BATCH_SIZE} (default: %(default)s)",
    )
    add_device_argument(parser)
    add_context_arguments(parser)
    parser.add_argument(
        "--no-clip-context",
        action="store_true",
        help="leave out the dataset's own per-clip context (a `context` column), e.g. to score the same clips without",
    )
    parser.add_argument(
        "--dtype",
        choices=DTYPES,
        default="auto",
        help="dtype to load the model's weights in (default: %(default)s; the model's own choice: a tiny-audio model "
        "keeps its checkpoints' dtypes, bf16 for SmolLM2, on a GPU or a CPU with native bf16, else float32). Written "
        "to results.txt/json: WERs move by a point or so between bfloat16 and float32",
    )
    parser.add_argument(
        "--output-dir", default="outputs", help="where eval_<dataset>_<model>/ goes (default: %(default)s)"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=argument_type(at_least_one, "checkpoint_every"),
        default=100,
        help="print a corpus-WER checkpoint every N samples (default: %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-sample lines (checkpoints and summary only)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-streaming", action="store_true", help="download/prepare the whole split first instead of streaming"
    )
    parser.add_argument("--list-datasets", action="store_true", help="print the dataset registry and exit")
    parser.add_argument(
        "--verbose", action="store_true", help="when a model cannot be loaded, also print the full error"
    )
    parser.set_defaults(func=run)


def _default_device(specs) -> str | None:
    if all(spec.kind == "pocketsphinx" for spec in specs):
        return None
    import torch

    return "cuda" if torch.cuda.is_available() else None


def run(args: argparse.Namespace) -> int:
    from tiny_audio.evaluation.datasets import available_datasets, resolve_dataset
    from tiny_audio.evaluation.hub import ensure_hub_or_offline, explain_model_errors
    from tiny_audio.evaluation.ivr_dev import development_sets
    from tiny_audio.evaluation.loaders import ReplayableSamples, count_samples, iter_samples
    from tiny_audio.evaluation.results import comparison_table, output_dir, sanitize
    from tiny_audio.evaluation.runner import run_evaluation
    from tiny_audio.evaluation.systems import detect_system, load_system

    if args.list_datasets:
        print("Registered datasets (Hub, streamed):")
        print(available_datasets())
        print("Real-speech development sets (local; never trained on):")
        print(development_sets())
        print("Local: a corpus directory, parquet, audiofolder, a TSV/CSV/JSONL manifest, or a folder holding one.")
        return 0
    if not args.models:
        print("error: name at least one MODEL to evaluate (e.g. pocketsphinx)", file=sys.stderr)
        return 2
    if not args.dataset:
        print("error: --dataset is required (see --list-datasets)", file=sys.stderr)
        return 2

    try:
        source = resolve_dataset(args.dataset, split=args.split, config=args.config)
    except (ValueError, FileNotFoundError, RuntimeError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # Every MODEL is identified before anything runs, so a typo in the last one does not surface an hour in.
    specs = []
    for model in args.models:
        try:
            specs.append(detect_system(model))
        except (ValueError, FileNotFoundError, RuntimeError, ImportError) as err:
            print(f"error: {_model_error(model, err)}", file=sys.stderr)
            return 2
    if source.is_hub:
        ensure_hub_or_offline(f"needed for dataset {source.location}")
    device = args.device or _default_device(specs)
    # A split other than the default one is named in the output directory, so runs on two splits do not collide.
    split_label = source.split if source.split != resolve_dataset(args.dataset, config=args.config).split else None

    total = count_samples(source)
    if args.max_samples is not None:
        total = min(total, args.max_samples) if total is not None else args.max_samples

    def open_samples():
        return iter_samples(source, max_samples=args.max_samples, streaming=not args.no_streaming)

    # Read the first sample before loading any model: an unreachable Hub set or a bad column fails in seconds,
    # not after minutes of loading weights, and once rather than once per model.
    try:
        stream = open_samples()
        first = next(stream)
    except StopIteration:
        print(f"error: {source.describe()} has no samples", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    started = [itertools.chain([first], stream)]

    def samples_source():
        return started.pop() if started else open_samples()

    samples = ReplayableSamples(samples_source) if len(specs) > 1 else None
    dtype_option = {} if args.dtype == "auto" else {"dtype": args.dtype}  # auto: each system's own default
    results, failures = [], []
    for spec in specs:
        print(f"Evaluating {spec.label} ({spec.kind}) on {source.describe()}", flush=True)
        try:
            with explain_model_errors(spec.model or spec.label, OFFLINE_MODELS_HINT):
                system = load_system(spec, device=device, **dtype_option)
            result = run_evaluation(
                system,
                samples if samples is not None else samples_source(),
                source,
                batch_size=args.batch_size,
                checkpoint_every=args.checkpoint_every,
                show_samples=not args.quiet,
                progress=not args.no_progress,
                total=total,
                device=device or "cpu",
                context=args.context or (),
                clip_context=not args.no_clip_context,
            )
        except (ValueError, FileNotFoundError, RuntimeError, ImportError, OSError) as err:
            print(f"error: {spec.label}: {err}", file=sys.stderr)
            if args.verbose:
                traceback.print_exception(err, file=sys.stderr)
            failures.append(spec.label)
            continue
        directory = result.write(output_dir(args.output_dir, source.name, spec.label, split_label))
        print("\n".join(result.summary_lines()))
        print(f"Results written to {directory}/\n", flush=True)
        results.append(result)

    if len(results) > 1:
        table = comparison_table(results)
        path = Path(args.output_dir) / f"eval_{sanitize(source.name)}_comparison.md"
        path.write_text(f"# {source.describe()}\n\n{table}\n", encoding="utf-8")
        print(table)
        print(f"\n(table written to {path})")
    failed_samples = [f"{len(result.failed)} in {result.model}" for result in results if result.failed]
    if failed_samples:
        print(
            f"error: samples failed ({', '.join(failed_samples)}); each is named above (FAILED sample ...) and listed "
            'under "failed" in results.json',
            file=sys.stderr,
        )
    if failures:
        print(f"error: failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures or failed_samples else 0


def _model_error(model: str, error: Exception) -> str:
    """One line for a MODEL that could not be identified: a Hub fetch that failed says what works offline."""
    from tiny_audio.evaluation.hub import model_unavailable_message

    cause = error.__cause__
    if isinstance(error, RuntimeError) and isinstance(cause, OSError) and not Path(model).expanduser().exists():
        return model_unavailable_message(model, cause, OFFLINE_MODELS_HINT)
    return str(error)


def main(argv: list[str] | None = None) -> int:
    """Run `eval` with these arguments (what scripts/eval.py calls)."""
    parser = argparse.ArgumentParser(prog="tiny-audio")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)
