"""tiny-audio's WER as a Hugging Face `evaluate` metric, loaded by path: offline, no Hub script.

    import evaluate
    from tiny_audio.evaluation import WER_METRIC, load_wer_metric

    wer = load_wer_metric()  # or evaluate.load(WER_METRIC)
    wer.compute(predictions=hypotheses, references=references)
    # {"wer": 0.0833, "substitutions": ..., "deletions": ..., "insertions": ..., "hits": ..., "reference_words": ...,
    #  "skipped_empty": ..., "samples": ...}

`wer_metric.py` in this folder is the script that `evaluate.load` reads (a metric folder holds a script of the same
name); its figures come from `tiny_audio.evaluation.scoring.score`. This folder is a package only so that setuptools
ships the script in the wheel. Importing it needs nothing but the standard library: `evaluate` is imported by
`load_wer_metric` when called.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["WER_METRIC", "load_wer_metric"]

# The folder, as a str: evaluate.load() takes str paths only (it splits them on "/").
WER_METRIC = os.path.dirname(os.path.abspath(__file__))

MISSING_EVALUATE = (
    "tiny-audio's WER metric runs through Hugging Face `evaluate`, which is not installed: "
    "pip install 'tiny-audio[eval]' (or pip install evaluate)"
)


def load_wer_metric(**kwargs: Any):
    """`evaluate.load(WER_METRIC, **kwargs)`: tiny-audio's corpus WER as an `evaluate.Metric`, offline.

    Loading a metric by path reads no Hub script and opens no connection (tens of milliseconds once `evaluate` is
    imported). Each call returns a fresh metric (they collect `add_batch` inputs). Predictions and references are
    kept in memory unless told otherwise (`keep_in_memory=False`, or a distributed `num_process > 1`): transcripts are
    small, and it spares the on-disk Arrow cache and its file locks, which two runs in parallel would otherwise share.
    Raises ImportError naming the install command when `evaluate` is missing.
    """
    try:
        import evaluate
    except ImportError as err:
        raise ImportError(MISSING_EVALUATE) from err
    if kwargs.get("num_process", 1) == 1:
        kwargs.setdefault("keep_in_memory", True)
    return evaluate.load(WER_METRIC, **kwargs)
