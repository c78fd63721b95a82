"""Turn dataset rows ({audio: {bytes, path}, text}) into model batches: decode, check, augment, then the processor
pads audio and text and builds labels. A sample that fails is logged by name and left out, never fatal. With a
recipe's `context` section on, each sample's instruction may name words to expect (context_prompts.py), appended by
the model's own `with_context`, as `ASRConfig.instruction` does at inference.

A batch whose every sample failed (at batch size 1: any bad sample) becomes a placeholder: one clip of silence with an
empty target, marked `PLACEHOLDER`, which the trainer runs with its loss multiplied by 0. Every process then still
takes each step together (DDP and FSDP need the same forward and backward on every rank) and the run keeps its step
count; the step's gradient is zero.

Skipped samples are also appended to a JSON-lines file (`skip_log`, in the run's output directory) as they happen:
the collator runs in dataloader worker processes and on every rank, whose own `skipped` the main process never sees,
and a file outlives a kill, so the run's summary names the samples skipped by every attempt.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..model.audio_input import check_waveform, load_audio
from ..model.constants import SAMPLING_RATE
from ..model.context_words import with_context
from ..model.frequency_warp import mel_band_centers
from ..model.processing_asr import ASRProcessor
from .augment import Augmentation
from .context_prompts import CONTEXT_STREAM, ContextPrompts
from .recipe_sections import DataOptions
from .replay import BatchNumbering

logger = logging.getLogger(__name__)

PLACEHOLDER = "placeholder_batch"  # batch key: True when no sample of the batch could be used


def read_skip_log(path: str | Path) -> dict[str, str]:
    """sample → why, from a collator's skip log (each sample once, however many attempts skipped it)."""
    path = Path(path)
    if not path.is_file():
        return {}
    skipped = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # a line cut short by a kill
            continue
        skipped.setdefault(entry["sample"], entry["reason"])
    return skipped


def decode_example(audio: dict[str, Any]) -> np.ndarray:
    """A row's {bytes, path} as 16 kHz float32 mono, through the one decoder; judged by the caller, not here."""
    return load_audio(audio, check=False)


def batch_audio(batch) -> torch.Tensor:
    """A processor batch's audio tensor: log-mel `input_features` (Whisper) or waveform `input_values`."""
    return batch["input_features"] if "input_features" in batch else batch["input_values"]


class ASRCollator:
    def __init__(
        self,
        processor: ASRProcessor,
        instruction: str,
        augmentation: Augmentation | None = None,
        min_seconds: float = DataOptions.min_seconds,
        max_seconds: float = DataOptions.max_seconds,
        seed: int = 0,
        skip_log: str | Path | None = None,
        rank: int = 0,
        context: ContextPrompts | None = None,
    ):
        self.processor = processor
        self.context = context if context is not None and context.options.enabled else None
        self.skip_log = Path(skip_log) if skip_log is not None else None
        self.instruction = instruction
        self.augmentation = augmentation if augmentation is not None and augmentation.enabled else None
        self.min_seconds, self.max_seconds = min_seconds, max_seconds
        # Each batch draws its augmentation from its own generator (replay.py: a resumed run replays the same draws).
        self.numbering = BatchNumbering(seed, rank)
        self.mel_centers = None
        if self.augmentation is not None and self.augmentation.changes_features:
            if not processor.is_whisper:
                raise ValueError(
                    "Frequency warp and masks work on log-mel features, which only Whisper encoders take; set the "
                    "augmentation's frequency_warp/frequency_mask/time_mask probabilities to 0 for this encoder."
                )
            extractor = processor.feature_extractor
            self.mel_centers = mel_band_centers(extractor.mel_filters, extractor.sampling_rate)
        self.skipped: dict[str, str] = {}  # sample → why, for the run summary

    @property
    def draws_randomness(self) -> bool:
        """Whether batches draw from generators that a resumed run must replay (replay.py)."""
        return self.augmentation is not None or self.context is not None

    def __call__(self, rows: list[dict[str, Any]]):
        key = self.numbering.next_key() if self.draws_randomness else None
        rng = np.random.default_rng(key) if self.augmentation is not None else None
        clips, texts, instructions = [], [], []
        for place, row in enumerate(rows):
            waveform = self.usable_audio(row["audio"])
            if waveform is None:
                continue
            if self.augmentation is not None:
                waveform = self.augmentation(waveform, rng)
            clips.append(waveform)
            texts.append(" ".join(row["text"].split()))
            instructions.append(self.instruction)
            if self.context is not None:  # seeded by the sample's place in the batch: skipped ones change nothing
                words = self.context.draw(texts[-1], [*key, CONTEXT_STREAM, place])
                instructions[-1] = with_context(self.instruction, words)
        if not clips:
            return self._placeholder(len(rows))
        batch = self.processor(audio=clips, text=texts, instruction=instructions, check_audio=False)  # checked above
        if self.mel_centers is not None:
            self._augment_features(batch, rng)
        return batch

    def usable_audio(self, audio: dict[str, Any]) -> np.ndarray | None:
        """A row's {bytes, path} decoded, or None when the clip cannot be used (undecodable, outside the length
        bounds, not finite, silent): it is then skipped and named. Training batches and the evaluation clips
        (`trainer.load_eval_examples`) are judged here alike."""
        name = audio.get("path") or "<bytes>"
        try:
            waveform = decode_example(audio)
            seconds = waveform.shape[0] / SAMPLING_RATE
            if not self.min_seconds <= seconds <= self.max_seconds:
                raise ValueError(f"{seconds:.2f} s is outside [{self.min_seconds}, {self.max_seconds}] s")
            check_waveform(waveform, SAMPLING_RATE, name)
        except Exception as error:  # one bad file must not end a long run: log it and go on
            self._skip(name, str(error))
            return None
        return waveform

    def _skip(self, name: str, reason: str) -> None:
        self.skipped[name] = reason
        logger.warning("skipping sample %s: %s", name, reason)
        if self.skip_log is not None:  # one write of one line: appends from several processes stay whole lines
            self.skip_log.parent.mkdir(parents=True, exist_ok=True)  # before the Trainer's first save makes it
            with self.skip_log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"sample": name, "reason": reason}) + "\n")

    def _placeholder(self, rows: int):
        """A batch that trains nothing (see the module's docstring): silence, an empty target, `PLACEHOLDER`."""
        logger.warning("every sample of a batch of %d failed: this step trains on nothing (its loss is 0)", rows)
        silence = np.zeros(int(self.min_seconds * SAMPLING_RATE) or SAMPLING_RATE, dtype=np.float32)
        batch = self.processor(audio=[silence], text=[""], instruction=self.instruction, check_audio=False)
        batch[PLACEHOLDER] = True
        return batch

    def _augment_features(self, batch, rng: np.random.Generator) -> None:
        """Warp and mask each clip's own frames in place; its padding stays as the processor made it."""
        features = batch["input_features"]
        for row, frames in enumerate(batch["audio_attention_mask"].sum(-1).tolist()):
            clip = features[row, :, :frames].numpy()
            augmented = self.augmentation.augment_features(clip, self.mel_centers, rng)
            features[row, :, :frames] = torch.from_numpy(np.ascontiguousarray(augmented, dtype=clip.dtype))
