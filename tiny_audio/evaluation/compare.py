"""`tiny-audio compare BASELINE CANDIDATE`: is one model's WER really lower than another's on the same clips?

A paired bootstrap over clips: draw the clips again with replacement many times, recompute both corpus WERs on each
draw, and report the difference with a 95% interval and how often the candidate came out lower. On a few hundred
words one word moves the WER by a point or more; the interval says whether a difference is larger than that luck.
BASELINE and CANDIDATE are each a results.json, an eval directory, or a folder of eval directories (as
`tiny-audio eval --output-dir` writes them); results on the same dataset and split are paired clip by clip, and
several datasets are pooled (each drawn on its own, so each keeps its number of clips).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .results import RESULTS_JSON, EvalResult

__all__ = ["Comparison", "compare", "load_results", "register"]


@dataclass(frozen=True)
class Comparison:
    datasets: list[str]  # the datasets both sides were evaluated on
    unpaired: list[str]  # datasets only one side was evaluated on: left out
    clips: int
    reference_words: int
    baseline_errors: int
    candidate_errors: int
    resamples: int
    interval: tuple[float, float]  # 95% interval of candidate WER - baseline WER, in points
    candidate_lower: float  # share of resamples where the candidate's WER was lower
    tied: float  # share of resamples where both WERs were equal

    @property
    def difference(self) -> float:
        """Candidate WER minus baseline WER, in percentage points (negative: the candidate is better)."""
        return 100 * (self.candidate_errors - self.baseline_errors) / self.reference_words


def load_results(path: str | Path) -> list[EvalResult]:
    """The results at `path`: a results.json, a directory holding one, or a folder of such directories."""
    path = Path(path)
    if path.is_file() or (path / RESULTS_JSON).is_file():
        return [EvalResult.load(path)]
    found = sorted(path.glob(f"*/{RESULTS_JSON}")) if path.is_dir() else []
    if not found:
        raise FileNotFoundError(
            f"{path}: no {RESULTS_JSON} there or in its subfolders; give a results.json, an eval directory "
            "(outputs/eval_<dataset>_<model>) or a folder of them"
        )
    return [EvalResult.load(file) for file in found]


def _dataset_key(result: EvalResult) -> tuple:
    return (result.dataset_id, result.config, result.split)


def _paired_counts(baseline: EvalResult, candidate: EvalResult) -> np.ndarray:
    """Rows of (baseline errors, candidate errors, reference words), one per clip scored on both sides."""
    mine = {row.id: row for row in baseline.rows if not row.skipped}
    theirs = {row.id: row for row in candidate.rows if not row.skipped}
    if mine.keys() != theirs.keys():
        only = sorted(mine.keys() ^ theirs.keys())
        raise ValueError(
            f"{baseline.dataset}: the two results scored different clips ({len(only)} on one side only, e.g. "
            f"{only[:3]}); evaluate both models with the same --split and --max-samples"
        )
    for clip, row in mine.items():
        if row.reference_words != theirs[clip].reference_words:
            raise ValueError(f"{baseline.dataset}: clip {clip} has different references on the two sides")
    return np.array([(row.errors, theirs[clip].errors, row.reference_words) for clip, row in mine.items()])


def compare(
    baseline: list[EvalResult], candidate: list[EvalResult], resamples: int = 10_000, seed: int = 0
) -> Comparison:
    """Paired bootstrap of corpus WER over the datasets both sides were evaluated on."""
    theirs = {_dataset_key(result): result for result in candidate}
    pairs = [(result, theirs[_dataset_key(result)]) for result in baseline if _dataset_key(result) in theirs]
    if not pairs:
        raise ValueError("the two sides share no dataset (same dataset, config and split) to compare on")
    paired = {_dataset_key(result) for result, _ in pairs}
    unpaired = [result.dataset for result in baseline + candidate if _dataset_key(result) not in paired]
    rng = np.random.default_rng(seed)
    totals = np.zeros((resamples, 3))  # per resample: baseline errors, candidate errors, reference words
    observed, clips = np.zeros(3, dtype=np.int64), 0
    for pair in pairs:
        counts = _paired_counts(*pair)
        if not len(counts):  # every reference empty after normalisation: nothing to score
            continue
        observed, clips = observed + counts.sum(axis=0), clips + len(counts)
        for start in range(0, resamples, 1000):  # in blocks: a draw holds resamples x clips indices
            block = rng.integers(0, len(counts), size=(min(1000, resamples - start), len(counts)))
            totals[start : start + len(block)] += counts[block].sum(axis=1)
    differences = 100 * (totals[:, 1] - totals[:, 0]) / np.maximum(totals[:, 2], 1)
    low, high = np.percentile(differences, [2.5, 97.5])
    return Comparison(
        datasets=[pair[0].dataset for pair in pairs],
        unpaired=unpaired,
        clips=clips,
        reference_words=int(observed[2]),
        baseline_errors=int(observed[0]),
        candidate_errors=int(observed[1]),
        resamples=resamples,
        interval=(float(low), float(high)),
        candidate_lower=float(np.mean(differences < 0)),
        tied=float(np.mean(differences == 0)),
    )


def report(comparison: Comparison, baseline: str, candidate: str) -> str:
    words = comparison.reference_words
    low, high = comparison.interval
    return "\n".join(
        [
            f"Paired bootstrap: {comparison.resamples:,} resamples of {comparison.clips} clips "
            f"({', '.join(comparison.datasets)}; {words:,} reference words)",
            f"baseline  {baseline}: WER {100 * comparison.baseline_errors / words:.2f}% "
            f"({comparison.baseline_errors} errors)",
            f"candidate {candidate}: WER {100 * comparison.candidate_errors / words:.2f}% "
            f"({comparison.candidate_errors} errors)",
            f"difference (candidate - baseline): {comparison.difference:+.2f} points, "
            f"95% interval [{low:+.2f}, {high:+.2f}]",
            f"the candidate's WER was lower in {100 * comparison.candidate_lower:.1f}% of resamples "
            f"(equal in {100 * comparison.tied:.1f}%)",
        ]
        + ([f"left out (on one side only): {', '.join(comparison.unpaired)}"] if comparison.unpaired else [])
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="is one model's WER really lower than another's (paired bootstrap over clips)",
        description=__doc__.split("\n\n")[0],
        epilog="Example: tiny-audio compare outputs/old outputs/new   (each holding eval_<dataset>_<model>/ folders)",
    )
    parser.add_argument("baseline", help="results.json, eval directory, or folder of eval directories")
    parser.add_argument("candidate", help="the same, for the model compared with the baseline")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default: 10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the resampling (default: 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.resamples < 100:
        raise SystemExit("--resamples must be at least 100 for a 95% interval")
    try:
        comparison = compare(load_results(args.baseline), load_results(args.candidate), args.resamples, args.seed)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f"tiny-audio compare: {err}") from None
    print(report(comparison, args.baseline, args.candidate))
    return 0
