"""The course's encoder exercise on any encoder, offline included: audio in, one vector per ~20 ms frame out.

Class 2 explores HuBERT-XLarge (`facebook/hubert-xlarge-ls960-ft`), whose weights only the Hugging Face Hub has; no
PyPI or Debian package ships HuBERT or wav2vec2 weights. `AudioEncoder` runs whichever encoder a learner can load,
each with its own feature extractor, and returns the frames:

    encoder = AudioEncoder.from_pretrained("openai/whisper-tiny.en")  # or facebook/hubert-xlarge-ls960-ft online
    inputs = encoder.extract_features(waveform, sampling_rate=16000)
    outputs = encoder(**inputs)
    outputs.last_hidden_state  # (1, T, E): about 50 frames per second of audio

- HuBERT / wav2vec2 (any Hub id or directory): the waveform, z-normalised by `Wav2Vec2FeatureExtractor`, goes through
  7 convolutions whose strides multiply to 320: 48,000 samples (3 s) -> 149 frames of 20 ms.
- Whisper (offline: `openai/whisper-tiny.en` and `openai/whisper-base`, converted by `tiny-audio backbones`): a
  log-mel spectrogram of 100 frames a second (hop 160 samples), then two convolutions, the second with stride 2:
  48,000 samples -> 300 mel frames -> 150 frames, the same 320 samples (20 ms) a frame. The encoder runs on the
  clip's own length, as tiny-audio runs it (`tiny_audio.model.whisper_encoder`); transformers' WhisperEncoder would pad
  every clip to 30 s and return 1,500 frames.
- A saved tiny-audio model (e.g. `tiny_audio/default_model`): the encoder inside it, LoRA included, with the model's
  own feature extractor.

`input_values` (1, S) is in every output of `extract_features`, so the samples-to-frames ratio can be read the same
way for every encoder. Weights load in float32 unless asked otherwise: the printed statistics then do not depend on
whether the CPU computes in bf16.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import BatchFeature
from transformers.modeling_outputs import BaseModelOutput

from ..evaluation.hub import explain_model_errors
from ..model.audio_input import load_audio
from ..model.configuration_asr import audio_layout, count_encoder_frames
from ..model.constants import SAMPLING_RATE
from ..model.whisper_encoder import whisper_encode

__all__ = ["HUBERT_ID", "OFFLINE_ENCODER_ID", "OFFLINE_ENCODERS_HINT", "AudioEncoder"]

HUBERT_ID = "facebook/hubert-xlarge-ls960-ft"  # the course's encoder (Hub only)
OFFLINE_ENCODER_ID = "openai/whisper-tiny.en"  # the encoder of the embedded default model, converted offline
OFFLINE_ENCODERS_HINT = (
    "Encoders that work offline: openai/whisper-tiny.en and openai/whisper-base (converted by `tiny-audio backbones`), "
    "or a saved tiny-audio model such as tiny_audio/default_model."
)


@dataclass
class AudioEncoder:
    """An audio encoder with its own feature extractor. Call it with the output of `extract_features`."""

    encoder: nn.Module  # HubertModel / Wav2Vec2Model / WhisperEncoder (with LoRA when taken from a tiny-audio model)
    feature_extractor: object  # Wav2Vec2FeatureExtractor (raw samples) or WhisperFeatureExtractor (log-mel)
    name: str

    @classmethod
    def from_pretrained(cls, name_or_path: str, dtype: torch.dtype = torch.float32) -> AudioEncoder:
        """The encoder of a Hub id or directory: HuBERT, wav2vec2, Whisper, or a saved tiny-audio model.

        A Hub id that cannot be had raises `ModelUnavailableError` with one line naming the offline choices."""
        from transformers import AutoConfig, AutoFeatureExtractor, AutoModel

        with explain_model_errors(name_or_path, OFFLINE_ENCODERS_HINT):
            config = AutoConfig.from_pretrained(name_or_path)
            if config.model_type == "tiny_audio":
                from ..model.modeling_asr import ASRModel
                from ..model.processing_asr import ASRProcessor

                model = ASRModel.from_pretrained(name_or_path, dtype=dtype)
                feature_extractor = ASRProcessor.from_pretrained(name_or_path).feature_extractor
                encoder = model.encoder
            else:
                feature_extractor = AutoFeatureExtractor.from_pretrained(name_or_path)
                encoder = AutoModel.from_pretrained(name_or_path, dtype=dtype)
                if config.model_type == "whisper":
                    encoder = encoder.get_encoder()  # the decoder is not needed to look at audio frames
        return cls(encoder.eval(), feature_extractor, str(name_or_path))

    @property
    def is_whisper(self) -> bool:
        return self.encoder.config.model_type == "whisper"

    def extract_features(self, waveform: np.ndarray, sampling_rate: int = SAMPLING_RATE) -> BatchFeature:
        """The encoder's inputs for one 16 kHz mono clip, as tensors with a batch of 1.

        `input_values` (1, S): the samples as the encoder's feature extractor leaves them (z-normalised for HuBERT and
        wav2vec2, unchanged for Whisper); Whisper's also hold `input_features` (1, 80, F), its log-mel frames.
        """
        waveform = np.asarray(waveform, dtype=np.float32)
        if waveform.ndim != 1:
            raise ValueError(f"Expected one mono clip, an array of shape (samples,); got shape {waveform.shape}.")
        if sampling_rate != SAMPLING_RATE:
            raise ValueError(
                f"The encoders take {SAMPLING_RATE} Hz audio; got {sampling_rate} Hz. Resample first, e.g. "
                f"librosa.load(path, sr={SAMPLING_RATE})."
            )
        if self.is_whisper:
            # padding="longest": the clip's own length, not Whisper's 30 s window (see the module docstring).
            features = self.feature_extractor(
                waveform, sampling_rate=sampling_rate, padding="longest", return_tensors="pt"
            )
            return BatchFeature(
                {"input_values": torch.from_numpy(waveform)[None], "input_features": features["input_features"]}
            )
        inputs = self.feature_extractor(waveform, sampling_rate=sampling_rate, return_tensors="pt")
        return BatchFeature({key: inputs[key] for key in ("input_values", "attention_mask") if key in inputs})

    @torch.no_grad()
    def __call__(
        self,
        input_values: torch.Tensor,
        input_features: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> BaseModelOutput:
        """`last_hidden_state` (1, T, E): one E-dimensional vector per ~20 ms of audio."""
        parameter = next(self.encoder.parameters())
        if self.is_whisper:
            if input_features is None:
                raise ValueError("A Whisper encoder reads log-mel input_features; pass the output of extract_features.")
            mel = input_features.to(parameter.device, parameter.dtype)  # (1, 80, F)
            mel_mask = torch.ones(mel.shape[0], mel.shape[-1], dtype=torch.long, device=mel.device)  # (1, F)
            layout = audio_layout(self.encoder.config, projector_stack=1)
            frame_lengths = count_encoder_frames(mel_mask.sum(-1), layout)  # (1,)
            return BaseModelOutput(last_hidden_state=whisper_encode(self.encoder, mel, mel_mask, frame_lengths))
        if attention_mask is not None:
            attention_mask = attention_mask.to(parameter.device)
        output = self.encoder(input_values.to(parameter.device, parameter.dtype), attention_mask=attention_mask)
        return BaseModelOutput(last_hidden_state=output.last_hidden_state)  # (1, T, E)

    def encode(self, audio: str | Path | np.ndarray, sampling_rate: int = SAMPLING_RATE) -> BaseModelOutput:
        """Frames of a file (any format and rate tiny-audio reads) or of an array at `sampling_rate`, in one call."""
        waveform = load_audio(audio, array_sampling_rate=sampling_rate)  # 16 kHz mono float32
        return self(**self.extract_features(waveform))
