"""A run's wall time summed over its attempts: a killed and resumed run still reports what it cost."""

from __future__ import annotations

import json
import time
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_callback import ExportableState


class WallClock(TrainerCallback, ExportableState):
    """Seconds spent on a run, carried in each checkpoint's `trainer_state.json` (`stateful_callbacks`).

    The Trainer saves `state()` with every checkpoint; a resumed attempt reads it back with `from_checkpoint`, so the
    total counts every attempt up to the checkpoint it resumed from. Work after an attempt's last checkpoint was
    lost and is redone, so it is not counted.
    """

    def __init__(self, earlier_seconds: float = 0.0, started: float | None = None):
        self.earlier_seconds = float(earlier_seconds)
        self.started = time.time() if started is None else started

    def seconds(self) -> float:
        return self.earlier_seconds + time.time() - self.started

    def state(self) -> dict:
        return {"args": {}, "attributes": {"earlier_seconds": round(self.seconds(), 1)}}

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path | None, started: float) -> WallClock | None:
        """The clock continued from `checkpoint`; None when that checkpoint has no time recorded (an older run)."""
        if checkpoint is None:
            return cls(started=started)
        state = json.loads((Path(checkpoint) / TRAINER_STATE_NAME).read_text())
        saved = (state.get("stateful_callbacks") or {}).get(cls.__name__)
        if not saved:
            return None
        return cls(saved["attributes"]["earlier_seconds"], started=started)
