"""A resumed run is the run it resumed: every random draw of training is either restored from the checkpoint or
derived from the seed and where the run is, never from how the run got there.

- Dropout and everything else on torch/numpy/python's global generators: the Trainer saves their states in each
  checkpoint (`rng_state.pth`) and restores them on resume, once the resumed epoch's first batch is read.
- Data order: the Trainer's samplers draw each epoch's order from torch's global generator when the epoch begins,
  which a run resumed in a later epoch does before the states are restored (transformers 5.25): that epoch's
  batches differed from the uninterrupted run's. The sampler draws instead from a generator seeded by (seed, epoch)
  (`ReplayableRandomness.order`); the Trainer then skips the batches already trained on.
- Augmentation: the collator runs in dataloader worker processes, forked anew at each epoch from the main process's
  collator, and the batches a resumed run skips are never collated, so a generator carried along by the collator
  restarts elsewhere on every resume. Each batch draws instead from its own generator, seeded by (seed, rank,
  epoch, batch of the epoch) (`BatchNumbering`); each sample's context words (context_prompts.py) from a generator
  seeded by that key, a stream number of their own and the sample's place in the batch.
- The CTC loss's random negatives (`ProjectorCTCLoss.generator`): reseeded at every optimizer step from (seed, step).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from transformers import TrainerCallback


def derived_seed(*numbers: int) -> int:
    """A 63-bit seed derived from `numbers` (e.g. the run's seed and a step): distinct tuples give unrelated streams."""
    return int(np.random.SeedSequence([int(n) for n in numbers]).generate_state(2, np.uint64)[0] >> np.uint64(1))


class BatchNumbering:
    """Which batch of the epoch a collator call is, in the process that collates it, so that its random draws can
    be derived from it.

    A dataloader hands a map-style dataset's batches to its workers in turn: worker w of W collates batches w, w+W,
    w+2W, ... of what the sampler yields. A resumed epoch's sampler starts past the batches already trained on
    (`first_batch`); a streamed one reads and collates them again, so its numbering starts at 0.
    """

    def __init__(self, seed: int, rank: int = 0):
        self.seed, self.rank = seed, rank
        self.epoch, self.first_batch, self.calls = 0, 0, 0

    def start_epoch(self, epoch: int, first_batch: int = 0) -> None:
        """Before the epoch's dataloader iterator exists (its workers copy this state when they are forked)."""
        self.epoch, self.first_batch, self.calls = epoch, first_batch, 0

    def next_key(self) -> list[int]:
        """(seed, rank, epoch, batch of the epoch) of the batch this call collates: its random draws derive from it."""
        worker = torch.utils.data.get_worker_info()
        worker_id, workers = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        batch = self.first_batch + worker_id + self.calls * workers
        self.calls += 1
        return [self.seed, self.rank, self.epoch, batch]

    def next_generator(self) -> np.random.Generator:
        """The generator of the batch this call collates."""
        return np.random.default_rng(self.next_key())


class ReplayableRandomness(TrainerCallback):
    """Reseeds the sampler's generator (`order`) and keeps the collator's batch numbering at each epoch, and the CTC
    negatives at every step."""

    def __init__(self, numbering: BatchNumbering | None, seed: int):
        self.numbering, self.seed = numbering, seed
        self.order = torch.Generator()

    def on_epoch_begin(self, args, state, control, **kwargs):
        epoch = math.floor(state.epoch + 1e-9)  # a resumed run begins inside an epoch: state.epoch is fractional
        self.order.manual_seed(derived_seed(self.seed, epoch))
        if self.numbering is not None:
            self.numbering.start_epoch(epoch)

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        ctc_loss = getattr(model, "ctc_loss", None)
        if ctc_loss is not None:
            ctc_loss.generator.manual_seed(derived_seed(self.seed, state.global_step))
