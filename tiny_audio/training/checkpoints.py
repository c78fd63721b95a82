"""Which checkpoint a run resumes from: the newest complete one.

A kill while a checkpoint is written leaves its folder without a `trainer_state.json`, or with one that is empty or
cut short. The Trainer writes that file last (after the weights, optimizer, scheduler and RNG states; transformers
5.25 `Trainer._save_checkpoint`), so a checkpoint whose trainer state parses is whole. transformers'
`get_last_checkpoint` takes the highest step whatever its state, and resuming from a half-written one crashes.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from transformers.trainer import TRAINER_STATE_NAME

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")  # as transformers names them (PREFIX_CHECKPOINT_DIR)


def last_complete_checkpoint(output_dir: str | Path) -> str | None:
    """The newest `checkpoint-N` folder of `output_dir` whose trainer_state.json parses, or None (a fresh start).
    Each newer one that does not is named in a warning with what is wrong; it is left in place (a resumed run
    writes that step's checkpoint over it)."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    steps = {int(m.group(1)): path for path in folder.iterdir() if (m := CHECKPOINT_NAME.match(path.name))}
    for step in sorted(steps, reverse=True):
        path = steps[step]
        if not path.is_dir():
            continue
        if (problem := _state_problem(path / TRAINER_STATE_NAME)) is None:
            return str(path)
        logger.warning(
            "not resuming from %s: its %s %s (killed while it was written?)", path, TRAINER_STATE_NAME, problem
        )
    return None


def _state_problem(path: Path) -> str | None:
    """What is wrong with a checkpoint's trainer state file, or None when it is whole."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "is missing"
    except (OSError, UnicodeDecodeError) as error:
        return f"cannot be read ({error})"
    if not text.strip():
        return "is empty"
    try:
        state = json.loads(text)
    except ValueError as error:
        return f"is not whole JSON ({error})"
    if not isinstance(state, dict) or "global_step" not in state:
        return "holds no global_step"
    return None
