"""Decoding settings of the embedded model against each other and stock Whisper tiny.en, on real speech, in one run.

    python benchmarks/decoding_speed.py [--sets dev-real,ivr-dev] [--max-clips N] [--model DIR] [--output-dir DIR]

Every row transcribes the same clips one at a time, as `tiny-audio transcribe` does, through `tiny-audio eval`'s own
runner (warm-up clip excluded from the timing). For each set it prints the corpus WER, the difference from the
first row with its 95% paired-bootstrap interval (`tiny-audio compare`), RTFx, the decoder's forward passes per
output token (plain greedy search: 1.0; a beam search counts one pass per step for all its beams), and the share of
output tokens that came from the CTC draft and were only checked (`ctc_draft`). The first row is the embedded
model's default decoding: 4 beams with CTC prefix scoring and 3 frequency warps.

Each row's per-clip results go to OUTPUT_DIR/<set>-<clips>/<model>/<row>/ (results.json, results.txt and
decoding.json with its pass and token counts, a hash of the model's weights and config, and the dtype asked for) as
soon as the row is done; a rerun with the same model, sets and number of clips reads the rows found there instead of
decoding them again, so a killed run resumes at its row. A row measured on other weights (a new embedded model at
the same path) or in another dtype is measured again. Delete the folder (or give another) to measure again after a
change to the decoding code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from functools import partial
from pathlib import Path

import torch

from tiny_audio.app.transcribe import default_model
from tiny_audio.evaluation.compare import compare
from tiny_audio.evaluation.datasets import DatasetSource, resolve_dataset
from tiny_audio.evaluation.loaders import iter_samples
from tiny_audio.evaluation.results import EvalResult, sanitize
from tiny_audio.evaluation.runner import run_evaluation
from tiny_audio.evaluation.systems import System, SystemSpec, TinyAudioSystem, detect_system, load_system

WARPS = [0.9, 1.0, 1.1]
GREEDY = {"num_beams": 1, "ctc_decoding_weight": 0.0, "no_repeat_ngram_size": 4}
ROWS = [  # (label, generate() options beyond the model's config)
    (
        "4 beams + CTC prefix 0.2 + 3 warps (default)",
        {"num_beams": 4, "ctc_decoding_weight": 0.2, "no_repeat_ngram_size": 4, "frequency_warps": WARPS},
    ),
    ("greedy, token by token", {**GREEDY, "frequency_warps": [1.0], "ctc_draft": False}),
    ("greedy + CTC draft", {**GREEDY, "frequency_warps": [1.0], "ctc_draft": True}),
    ("greedy + CTC draft + 3 warps", {**GREEDY, "frequency_warps": WARPS, "ctc_draft": True}),
    ("greedy + CTC prefix 0.2 + 3 warps", {**GREEDY, "ctc_decoding_weight": 0.2, "frequency_warps": WARPS}),
]
PEER = "openai/whisper-tiny.en"


class CountingSystem(TinyAudioSystem):
    """The tiny-audio pipeline with fixed generate() options, counting decoder passes and output tokens."""

    def __init__(self, shared: TinyAudioSystem, label: str, options: dict):  # the shared pipeline, not a new one
        System.__init__(self, SystemSpec(shared.spec.kind, shared.spec.model, label))
        self.pipe, self.revision, self.options = shared.pipe, shared.revision, options
        self.passes = self.tokens = 0

    def transcribe(self, clips):
        outputs = self.pipe(list(clips), batch_size=len(clips), generate_kwargs=dict(self.options))
        return [output["text"] for output in outputs]


def measure(system: CountingSystem):
    """Wraps the model's decoder and generate() so that `system` counts what its clips cost."""
    model = system.pipe.model
    end_ids = model.decoder.generation_config.eos_token_id
    end_ids = {end_ids} if isinstance(end_ids, int) else set(end_ids)
    generate = model.generate

    def counted_generate(*args, **kwargs):
        tokens = generate(*args, **kwargs)
        for row in tokens.tolist():
            ends = [place for place, token in enumerate(row) if token in end_ids]
            system.tokens += ends[0] + 1 if ends else len(row)
        return tokens

    def count_pass(*_):
        system.passes += 1

    model.generate = counted_generate
    hook = model.decoder.register_forward_pre_hook(count_pass)
    return lambda: (hook.remove(), setattr(model, "generate", generate))


def _quiet(line: str) -> None:
    """The runner's per-sample and checkpoint lines: the table below says it all."""


def weights_hash(model: str) -> str:
    """What identifies the model measured: a hash of a local directory's weights and config.json, else the Hub id."""
    files = [Path(model) / name for name in ("model.safetensors", "config.json")]
    if not all(path.is_file() for path in files):
        return model
    digest = hashlib.sha256()
    for path in files:
        with path.open("rb") as handle:
            for block in iter(lambda handle=handle: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def measured_row(folder: Path, evaluate, measured_on: dict) -> tuple[EvalResult, float | None]:
    """The row's result and decoder passes per output token, read from `folder` when it was measured on
    `measured_on` (weights, dtype), else measured with `evaluate()` (which returns the result and its pass and token
    counts, or None for a system without them) and written."""
    counts = folder / "decoding.json"
    if counts.exists():
        kept = json.loads(counts.read_text())
        if all(kept.get(key) == value for key, value in measured_on.items()):
            return EvalResult.load(folder), kept["passes_per_token"]
        print(f"{folder}: measured on other weights or dtype; measuring again")
    result, passes = evaluate()
    result.write(folder)
    counts.write_text(json.dumps({"passes_per_token": passes, **measured_on}) + "\n")
    return result, passes


def decode_row(system: System, samples: list, source: DatasetSource) -> tuple[EvalResult, float | None]:
    """Transcribe `samples` with `system`; a CountingSystem also gives its decoder passes per output token."""
    if not isinstance(system, CountingSystem):
        return run_evaluation(system, samples, source, show_samples=False, progress=False, write=_quiet), None
    restore = measure(system)
    try:
        result = run_evaluation(system, samples, source, show_samples=False, progress=False, write=_quiet)
    finally:
        restore()
    return result, system.passes / max(system.tokens, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="saved model directory (default: the embedded default model)")
    parser.add_argument("--sets", default="dev-real,ivr-dev", help="comma-separated `tiny-audio eval` datasets")
    parser.add_argument("--max-clips", type=int, default=None, help="the first N clips of each set (default: all)")
    parser.add_argument("--dtype", default=None, help="backbone dtype, e.g. float32 (default: the model's own choice)")
    parser.add_argument("--output-dir", default="outputs/decoding_speed", help="where each row's results are kept")
    args = parser.parse_args()
    model_path = str(args.model or default_model())
    shared = TinyAudioSystem(detect_system(model_path), dtype=args.dtype)
    measured_on = {"weights": weights_hash(model_path), "dtype": args.dtype}
    peer = load_system(PEER)
    print(f"{torch.get_num_threads()} threads; backbones in {next(shared.pipe.model.decoder.parameters()).dtype}")
    for name in args.sets.split(","):
        source = resolve_dataset(name)
        samples = list(iter_samples(source, max_samples=args.max_clips))
        seconds = sum(sample.seconds for sample in samples)
        print(f"\n{name}: {len(samples)} clips, {seconds / 60:.1f} min of audio")
        where = Path(args.output_dir) / f"{sanitize(name)}-{len(samples)}"
        rows = []
        for label, options in ROWS:
            row = partial(decode_row, CountingSystem(shared, label, options), samples, source)
            rows.append((label, *measured_row(where / sanitize(model_path) / sanitize(label), row, measured_on)))
        peer_row = partial(decode_row, peer, samples, source)
        peer_result, _ = measured_row(where / sanitize(PEER), peer_row, {"weights": PEER})
        first = rows[0][1]
        print(
            f"{'setting':44s} {'WER':>7s} {'vs first row [95% interval]':>30s} {'RTFx':>6s} {'passes/token':>12s} "
            f"{'from draft':>10s}"
        )
        for label, result, passes_per_token in [*rows, (PEER, peer_result, None)]:
            versus = ""
            if result is not first:
                comparison = compare([first], [result])
                low, high = comparison.interval
                versus = f"{comparison.difference:+.2f} [{low:+.2f}, {high:+.2f}]"
            per_token = "" if passes_per_token is None else f"{passes_per_token:.2f}"
            # With the draft, each pass writes one token of the decoder's own; the rest were the draft's, checked.
            drafted = f"{1 - passes_per_token:.0%}" if "draft" in label else ""
            print(
                f"{label:44s} {100 * result.wer:6.2f}% {versus:>30s} {result.rtfx:6.2f} {per_token:>12s} {drafted:>10s}"
            )
        print(
            f"RTFx against {PEER}: " + ", ".join(f"{label}: {r.rtfx / peer_result.rtfx:.2f}x" for label, r, _ in rows)
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
