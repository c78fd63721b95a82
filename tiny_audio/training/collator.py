"""Turn dataset rows ({audio: {bytes, path}, text}) into model batches: decode, check, augment, then the processor
pads audio and text and builds labels. A sample that fails is logged by name and left out, never fatal."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from ..audio_input import SAMPLING_RATE, check_waveform, load_audio
from ..frequency_warp import mel_band_centers
from ..processing_asr import ASRProcessor
from .augment import Augmentation

logger = logging.getLogger(__name__)


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
        min_seconds: float = 0.3,
        max_seconds: float = 30.0,
        seed: int = 0,
    ):
        self.processor = processor
        self.instruction = instruction
        self.augmentation = augmentation if augmentation is not None and augmentation.enabled else None
        self.min_seconds, self.max_seconds = min_seconds, max_seconds
        self.rng = np.random.default_rng(seed)
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

    def __call__(self, rows: list[dict[str, Any]]):
        clips, texts = [], []
        for row in rows:
            name = row["audio"].get("path") or "<bytes>"
            try:
                waveform = decode_example(row["audio"])
                seconds = waveform.shape[0] / SAMPLING_RATE
                if not self.min_seconds <= seconds <= self.max_seconds:
                    raise ValueError(f"{seconds:.2f} s is outside [{self.min_seconds}, {self.max_seconds}] s")
                check_waveform(waveform, SAMPLING_RATE, name)
            except Exception as error:  # one bad file must not end a long run: log it and go on
                self.skipped[name] = str(error)
                logger.warning("skipping sample %s: %s", name, error)
                continue
            if self.augmentation is not None:
                waveform = self.augmentation(waveform, self.rng)
            clips.append(waveform)
            texts.append(" ".join(row["text"].split()))
        if not clips:
            raise RuntimeError(f"Every sample of a batch failed: {dict(list(self.skipped.items())[-len(rows) :])}")
        batch = self.processor(
            audio=clips, text=texts, instruction=self.instruction, check_audio=False
        )  # checked above
        if self.mel_centers is not None:
            self._augment_features(batch)
        return batch

    def _augment_features(self, batch) -> None:
        """Warp and mask each clip's own frames in place; its padding stays as the processor made it."""
        features = batch["input_features"]
        for row, frames in enumerate(batch["audio_attention_mask"].sum(-1).tolist()):
            clip = features[row, :, :frames].numpy()
            augmented = self.augmentation.augment_features(clip, self.mel_centers, self.rng)
            features[row, :, :frames] = torch.from_numpy(np.ascontiguousarray(augmented, dtype=clip.dtype))
