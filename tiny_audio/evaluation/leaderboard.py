"""`tiny-audio leaderboard [DIR...]`: rank every results.json under DIRs into a markdown table and bar charts.

`leaderboard_rows()` is the one reader of results for tables: the CLI prints it, and a model card can call it to
show the same numbers (e.g. `leaderboard_rows(["outputs"], model="me/tiny-audio")`).

Rows are ranked by corpus WER within each dataset and split. Runs over different numbers of samples (a 100-sample
smoke test next to a full test set) are not comparable; the samples column is there to make that visible.
When the same model (same commit) was evaluated on the same data more than once, one run is kept: the one over the
most samples, the newest among those. A quick `--max-samples 2` check never hides the full run before it; a newer,
smaller run that is left out is named on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tiny_audio.evaluation.results import RESULTS_JSON, EvalResult, sanitize

__all__ = ["LeaderboardRow", "collect_results", "leaderboard_rows", "plot_leaderboard", "register", "render_markdown"]


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int  # 1 = lowest WER within (dataset, split)
    model: str
    system: str
    dataset: str
    config: str | None
    split: str | None
    wer: float  # fraction
    rtfx: float | None
    samples: int
    date: str
    commit: str | None
    path: str  # the results.json this row comes from

    @property
    def dataset_label(self) -> str:
        return f"{self.dataset} [{self.split}]" if self.split else self.dataset


def collect_results(paths: Iterable[str | Path], warn=None) -> list[tuple[Path, EvalResult]]:
    """Every readable results.json under `paths` (files or directories, searched recursively)."""
    warn = warn or (lambda message: print(message, file=sys.stderr))
    found: list[tuple[Path, EvalResult]] = []
    for base in paths:
        base = Path(base)
        if base.is_file():
            files = [base]
        elif base.is_dir():
            files = sorted(base.rglob(RESULTS_JSON))
        else:
            raise FileNotFoundError(f"no results directory or file {base} (run `tiny-audio eval` first)")
        for file in files:
            try:
                found.append((file, EvalResult.load(file)))
            except (ValueError, OSError, TypeError) as err:  # a foreign or truncated results.json: skip, say so
                warn(f"skipping {file}: {err}")
    return found


def attempted_samples(result: EvalResult) -> int:
    """How many samples the run read: scored, skipped (empty reference) and those whose audio could not be decoded."""
    undecoded = sum(1 for failure in result.failed if failure.get("stage") == "decode")
    return result.samples + result.skipped + undecoded


def leaderboard_rows(
    paths: Iterable[str | Path] = ("outputs",), model: str | None = None, warn=None
) -> list[LeaderboardRow]:
    """Ranked rows from the results under `paths`, optionally only those of `model`, sorted by dataset then WER.
    Of one model's runs on the same data, the run over the most samples is kept (the newest among those)."""
    warn = warn or (lambda message: print(message, file=sys.stderr))
    runs: dict[tuple, list[tuple[Path, EvalResult]]] = {}
    for file, result in collect_results(paths, warn):
        runs.setdefault((result.model, result.commit, result.dataset, result.config, result.split), []).append(
            (file, result)
        )
    kept: list[tuple[Path, EvalResult]] = []
    for same_data in runs.values():
        best_file, best = max(same_data, key=lambda item: (attempted_samples(item[1]), item[1].date))
        kept.append((best_file, best))
        for file, result in same_data:
            if result.date > best.date and attempted_samples(result) < attempted_samples(best):
                warn(
                    f"leaderboard: {result.model} on {result.dataset}: the newer run over {attempted_samples(result)} "
                    f"samples ({file}) is not shown; its run over {attempted_samples(best)} samples ({best_file}) is"
                )
    groups: dict[tuple, list[tuple[Path, EvalResult]]] = {}
    for file, result in kept:
        groups.setdefault((result.dataset, result.split or ""), []).append((file, result))
    rows: list[LeaderboardRow] = []
    for group in sorted(groups):
        ranked = sorted(groups[group], key=lambda item: (item[1].wer, -(item[1].rtfx or 0.0)))
        for rank, (file, result) in enumerate(ranked, 1):
            if model is not None and result.model != model:
                continue
            rows.append(
                LeaderboardRow(
                    rank=rank,
                    model=result.model,
                    system=result.system,
                    dataset=result.dataset,
                    config=result.config,
                    split=result.split,
                    wer=result.wer,
                    rtfx=result.rtfx,
                    samples=result.samples,
                    date=result.date,
                    commit=result.commit or result.model_version,
                    path=str(file),
                )
            )
    return rows


def render_markdown(rows: list[LeaderboardRow]) -> str:
    lines = [
        "| rank | model | dataset | corpus WER | RTFx | samples | date | commit |",
        "| ---: | --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        rtfx = f"{row.rtfx:.1f}" if row.rtfx is not None else "n/a"
        commit = (row.commit or "")[:12]
        lines.append(
            f"| {row.rank} | {row.model} | {row.dataset_label} | {100 * row.wer:.2f}% | {rtfx} | {row.samples} | "
            f"{row.date[:10]} | {commit} |"
        )
    return "\n".join(lines)


def plot_leaderboard(rows: list[LeaderboardRow], directory: str | Path) -> list[Path]:
    """One horizontal bar chart of WER per model for each dataset; returns the PNG paths."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[LeaderboardRow]] = {}
    for row in rows:
        groups.setdefault(row.dataset_label, []).append(row)
    written = []
    for label, group in groups.items():
        group = sorted(group, key=lambda row: row.wer, reverse=True)  # best ends up on top of a barh chart
        names = [f"{row.model} ({row.commit[:7]})" if row.commit else row.model for row in group]
        values = [100 * row.wer for row in group]
        figure, axes = plt.subplots(figsize=(8, 1.2 + 0.45 * len(group)))
        bars = axes.barh(names, values, color="#4c72b0")
        axes.bar_label(bars, labels=[f"{value:.2f}%" for value in values], padding=3)
        axes.set_xlabel("corpus WER (%)")
        axes.set_title(f"{label}: {group[0].samples} samples" if len({r.samples for r in group}) == 1 else label)
        axes.set_xlim(0, max(values + [1.0]) * 1.2)
        figure.tight_layout()
        path = directory / f"leaderboard_{sanitize(label)}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "leaderboard",
        help="rank evaluation results into a table and chart",
        description="Gather results.json files (from `tiny-audio eval`) into a ranked markdown table and PNG charts.",
    )
    parser.add_argument("dirs", nargs="*", default=["outputs"], metavar="DIR", help="where to look (default: outputs)")
    parser.add_argument("--output", help="markdown file to write (default: <first DIR>/leaderboard.md)")
    parser.add_argument("--model", help="only this model's rows")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG charts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        rows = leaderboard_rows(args.dirs, model=args.model)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not rows:
        print(
            f"error: no results.json under {', '.join(map(str, args.dirs))} (run `tiny-audio eval` first)",
            file=sys.stderr,
        )
        return 1
    table = render_markdown(rows)
    first = Path(args.dirs[0])
    output = Path(args.output) if args.output else (first if first.is_dir() else first.parent) / "leaderboard.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(f"# Leaderboard\n\n{table}\n", encoding="utf-8")
    print(table)
    print(f"\n(written to {output})")
    if not args.no_plot:
        try:
            charts = plot_leaderboard(rows, output.parent)
        except ImportError:
            print("(no charts: matplotlib is not installed; pip install matplotlib)", file=sys.stderr)
            charts = []
        for path in charts:
            print(f"(chart: {path})")
    return 0
