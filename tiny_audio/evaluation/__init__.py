"""Evaluation: WER scoring, test-set registry, systems under test, runner, results files and leaderboard.

| module | job |
| --- | --- |
| `scoring` | Whisper-normalised WER: `normalize`, `score` (corpus WER with S/D/I), `sample_wer`, `count_words` |
| `wer_metric` | the same WER as an `evaluate` metric, offline: `evaluate.load(WER_METRIC)`, `load_wer_metric()` |
| `datasets` | the registry of standard test sets and `resolve_dataset` (name or path -> what to read; no I/O) |
| `loaders` | `iter_samples`: a resolved dataset as a stream of decoded 16 kHz samples |
| `systems` | tiny-audio / Whisper / transformers / pocketsphinx behind `System.transcribe` |
| `runner` | `run_evaluation`: the loop, timing (RTFx), per-sample lines and checkpoints |
| `results` | `EvalResult` and its results.txt / results.json files; `format_sample`, `format_failure` (their lines) |
| `failures` | `one_line`: a failure's message as one line (also for batch transcription's results.jsonl) |
| `leaderboard` | `leaderboard_rows` and the `tiny-audio leaderboard` command |
| `cli` | the `tiny-audio eval` command (also `scripts/eval.py`) |

Import-light on purpose: `from tiny_audio.evaluation import score` loads only the scoring module (training code calls
it every validation step); the other names are imported on first use. `WER_METRIC` (the metric folder's path) and
`load_wer_metric` cost nothing to import: `evaluate` is imported when the metric is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tiny_audio.evaluation.scoring import WerResult, count_words, normalize, sample_wer, score
from tiny_audio.evaluation.wer_metric import WER_METRIC, load_wer_metric

_LAZY = {
    "resolve_dataset": "datasets",
    "DATASETS": "datasets",
    "iter_samples": "loaders",
    "load_system": "systems",
    "run_evaluation": "runner",
    "EvalResult": "results",
    "leaderboard_rows": "leaderboard",
}

__all__ = [
    "DATASETS",
    "EvalResult",
    "WER_METRIC",
    "WerResult",
    "count_words",
    "iter_samples",
    "leaderboard_rows",
    "load_system",
    "load_wer_metric",
    "normalize",
    "resolve_dataset",
    "run_evaluation",
    "sample_wer",
    "score",
]

if TYPE_CHECKING:
    from tiny_audio.evaluation.datasets import DATASETS, resolve_dataset
    from tiny_audio.evaluation.leaderboard import leaderboard_rows
    from tiny_audio.evaluation.loaders import iter_samples
    from tiny_audio.evaluation.results import EvalResult
    from tiny_audio.evaluation.runner import run_evaluation
    from tiny_audio.evaluation.systems import load_system


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'tiny_audio.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
