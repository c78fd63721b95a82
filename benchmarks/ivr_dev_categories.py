"""Where a model's errors on `ivr-dev` sit: WER per kind of prompt, from the results.json of `tiny-audio eval`.

    python benchmarks/ivr_dev_categories.py OUTPUT_DIR [OUTPUT_DIR ...]

Each OUTPUT_DIR is an `eval_ivr-dev_<model>` directory (or a folder of them, as `tiny-audio eval --output-dir`
writes). The kinds come from the clip names of the Asterisk prompts: `digits__7` (a number), `digits__h-7`
("seventh"), the other `digits__*` (days, months, "o'clock", "million"), `letters__x` (a letter) and
`letters__ascii*`/`asterisk` (a symbol's name), `phonetic__*` ("alpha", "bravo"), and the sentences of every other
prompt. Prints one markdown table, one column per model; kinds no result reached are left out.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from tiny_audio.evaluation.results import RESULTS_JSON, EvalResult

CATEGORIES = (
    ("numbers (`digits__7`)", re.compile(r"^digits__\d+$")),
    ("ordinals (`digits__h-7`)", re.compile(r"^digits__h-")),
    ("days, months, units (other `digits__*`)", re.compile(r"^digits__")),
    ("single letters (`letters__x`)", re.compile(r"^letters__[a-z]$")),
    ("symbol names (`letters__ascii*`)", re.compile(r"^letters__")),
    ("NATO alphabet (`phonetic__*`)", re.compile(r"^phonetic__")),
    ("prompts (every other clip)", re.compile(r".")),
)


def category(clip_id: str) -> str:
    """The first category whose pattern matches the clip's name (the last one matches every name)."""
    return next(name for name, pattern in CATEGORIES if pattern.search(clip_id))


def results_in(paths: list[str]) -> list[EvalResult]:
    found = []
    for path in map(Path, paths):
        files = [path / RESULTS_JSON] if (path / RESULTS_JSON).is_file() else sorted(path.glob(f"*/{RESULTS_JSON}"))
        found += [EvalResult.load(file.parent) for file in files]
    if not found:
        raise SystemExit(f"no {RESULTS_JSON} in {', '.join(paths)}: pass eval_ivr-dev_<model> directories")
    return found


def table(results: list[EvalResult]) -> str:
    lines = [
        "| kind of clip | clips | words | " + " | ".join(result.model for result in results) + " |",
        "| --- | ---: | ---: |" + " ---: |" * len(results),
    ]
    names = [name for name, _ in CATEGORIES] + ["all"]
    for name in names:
        totals = []
        for result in results:
            rows = [row for row in result.rows if not row.skipped and name in ("all", category(row.id))]
            totals.append((len(rows), sum(r.reference_words for r in rows), sum(r.errors for r in rows)))
        clips, words, _ = totals[0]
        if clips == 0:
            continue  # a kind these results do not reach (a --max-samples run)
        cells = [f"{100 * errors / max(words, 1):.1f}% ({errors})" for _, _, errors in totals]
        lines.append(f"| {name} | {clips} | {words} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outputs", nargs="+", help="eval_ivr-dev_<model> directories or folders of them")
    results = [r for r in results_in(parser.parse_args().outputs) if r.dataset == "ivr-dev"]
    print(table(results))


if __name__ == "__main__":
    main()
