"""ASRProcessor: audio → encoder features, and instruction (+ target text) → chat prompt with audio placeholders.

Batch contents (dimension symbols: B clips, S samples, M mel bins, F mel frames, L tokens):
    input_values        (B, S)     z-normalised waveform, zero-padded on the right   [HuBERT, wav2vec2]
    input_features      (B, M, F)  log-mel spectrogram, zero-padded on the right     [Whisper]
    audio_attention_mask(B, S|F)   1 on real samples/frames
    input_ids           (B, L)     chat prompt, left-padded; the audio token repeated once per audio embedding
    attention_mask      (B, L)
    labels              (B, L)     target ids + end-of-turn, -100 on prompt, audio and padding   [when text given]

Each clip's features are computed on its own and only then padded, so a clip gets the same features alone as in
any batch. Hub remote code: imports only transformers, torch, numpy and sibling modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from transformers import AutoFeatureExtractor, AutoTokenizer, BatchFeature, ProcessorMixin
from transformers.tokenization_utils_base import AddedToken

from .audio_input import load_audio
from .configuration_asr import ASRConfig, audio_layout, count_audio_tokens
from .constants import IGNORE_INDEX, SAMPLING_RATE, WHISPER_MAX_SECONDS

# Rendered prompts kept for reuse (tokenising the chat template costs more than a short clip's features). Each
# context makes its own instruction, and training draws a context per sample: the oldest are dropped past this.
PROMPT_CACHE_SIZE = 256


class ASRProcessor(ProcessorMixin):
    """Feature extractor of the encoder + tokenizer of the decoder, and the prompt layout that joins them."""

    def __init__(self, feature_extractor, tokenizer, audio_token: str = "<audio>", audio_layout: dict | None = None):
        if audio_layout is None:
            raise ValueError("ASRProcessor needs audio_layout; build one with ASRProcessor.from_config(config).")
        self.audio_token = audio_token
        self.audio_layout = audio_layout
        super().__init__(feature_extractor, tokenizer)
        if tokenizer.convert_tokens_to_ids(audio_token) in (None, tokenizer.unk_token_id):
            tokenizer.add_tokens([AddedToken(audio_token, special=True, normalized=False)], special_tokens=True)
        self.audio_token_id = tokenizer.convert_tokens_to_ids(audio_token)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token  # only ever masked out, never predicted
        tokenizer.padding_side = "left"  # generation appends on the right
        self._prompt_cache: dict[str, tuple[list[int], list[int]]] = {}

    @classmethod
    def from_config(cls, config: ASRConfig, **hub_kwargs) -> ASRProcessor:
        """Build from the backbones a config names, and record the audio token's id in `config`."""
        encoder_source = config.encoder_name_or_path or _missing("encoder_name_or_path")
        decoder_source = config.decoder_name_or_path or _missing("decoder_name_or_path")
        feature_extractor = AutoFeatureExtractor.from_pretrained(encoder_source, **hub_kwargs)
        tokenizer = AutoTokenizer.from_pretrained(decoder_source, **hub_kwargs)
        if tokenizer.chat_template is None:
            raise ValueError(
                f"The decoder tokenizer of {decoder_source!r} has no chat template; use an instruct model."
            )
        layout = audio_layout(config.resolved_encoder_config(**hub_kwargs), config.projector_stack)
        processor = cls(feature_extractor, tokenizer, audio_token=config.audio_token, audio_layout=layout)
        config.audio_token_id = processor.audio_token_id
        return processor

    @property
    def is_whisper(self) -> bool:
        return self.feature_extractor.model_input_names[0] == "input_features"

    def __call__(
        self,
        audio: list | np.ndarray,
        instruction: str | list[str] = "Transcribe the audio.",
        text: list[str] | str | None = None,
        sampling_rate: int = SAMPLING_RATE,
        return_tensors: str = "pt",
        check_audio: bool = True,
        **kwargs,
    ) -> BatchFeature:
        """Prepare a batch. `audio`: one clip or a list of clips (arrays at `sampling_rate`, or anything
        `load_audio` accepts); `text`: target transcripts for training (adds `labels`); `instruction`: one for every
        clip, or a list of one per clip (training's prompts with context). `check_audio=False` skips `load_audio`'s
        checks for clips the caller has decoded and checked already (the pipeline, the collator)."""
        clips = [audio] if _is_single_clip(audio) else list(audio)
        targets = None if text is None else ([text] if isinstance(text, str) else list(text))
        if targets is not None and len(targets) != len(clips):
            raise ValueError(f"Got {len(clips)} audio clips but {len(targets)} texts; pass one text per clip.")
        instructions = [instruction] * len(clips) if isinstance(instruction, str) else list(instruction)
        if len(instructions) != len(clips):
            raise ValueError(f"Got {len(clips)} audio clips but {len(instructions)} instructions; pass one per clip.")
        features = [self._clip_features(clip, sampling_rate, check_audio) for clip in clips]
        batch = _pad_features(features, self.feature_extractor.model_input_names[0])
        lengths = batch["audio_attention_mask"].sum(-1).tolist()
        sequences = [
            self._prompt_ids(clip_instruction, count_audio_tokens(n, self.audio_layout))
            for clip_instruction, n in zip(instructions, lengths, strict=True)
        ]
        label_sequences = None
        if targets is not None:
            label_sequences = []
            for index, target in enumerate(targets):
                target_ids = self._target_ids(target)
                label_sequences.append([IGNORE_INDEX] * len(sequences[index]) + target_ids)
                sequences[index] = sequences[index] + target_ids
        batch.update(self._pad_text(sequences, label_sequences))
        return BatchFeature(batch, tensor_type=return_tensors)

    def _clip_features(self, clip: Any, sampling_rate: int, check: bool = True) -> np.ndarray:
        waveform = load_audio(clip, array_sampling_rate=sampling_rate, check=check)
        if self.is_whisper and waveform.shape[0] > WHISPER_MAX_SECONDS * SAMPLING_RATE:
            raise ValueError(
                f"Clip is {waveform.shape[0] / SAMPLING_RATE:.1f} s; a Whisper encoder takes at most "
                f"{WHISPER_MAX_SECONDS} s. Split long audio into shorter segments."
            )
        if self.is_whisper:  # no padding to 30 s: the model runs the encoder on the clip's own length
            out = self.feature_extractor(waveform, sampling_rate=SAMPLING_RATE, padding="longest", return_tensors="np")
            return out["input_features"][0]  # (M, F)
        out = self.feature_extractor(waveform, sampling_rate=SAMPLING_RATE, return_tensors="np")
        return out["input_values"][0]  # (S,)

    def _prompt_ids(self, instruction: str, num_audio_tokens: int) -> list[int]:
        if instruction not in self._prompt_cache:
            messages = [{"role": "user", "content": f"{instruction}\n{self.audio_token}"}]
            rendered = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
            )
            before, placeholder, after = rendered.partition(self.audio_token)
            if not placeholder:
                raise ValueError(f"The chat template dropped the audio placeholder {self.audio_token!r}.")
            encode = self.tokenizer.encode
            if len(self._prompt_cache) >= PROMPT_CACHE_SIZE:
                del self._prompt_cache[next(iter(self._prompt_cache))]  # the oldest (dicts keep insertion order)
            self._prompt_cache[instruction] = (
                encode(before, add_special_tokens=False),
                encode(after, add_special_tokens=False),
            )
        before_ids, after_ids = self._prompt_cache[instruction]
        return before_ids + [self.audio_token_id] * num_audio_tokens + after_ids

    def _target_ids(self, target: str) -> list[int]:
        if self.tokenizer.eos_token_id is None:
            raise ValueError("The decoder tokenizer has no eos token to end the transcript with.")
        return self.tokenizer.encode(target, add_special_tokens=False) + [self.tokenizer.eos_token_id]

    def _pad_text(self, sequences: list[list[int]], label_sequences: list[list[int]] | None) -> dict[str, np.ndarray]:
        longest = max(len(ids) for ids in sequences)
        input_ids = np.full((len(sequences), longest), self.tokenizer.pad_token_id, dtype=np.int64)
        attention_mask = np.zeros((len(sequences), longest), dtype=np.int64)
        for row, ids in enumerate(sequences):
            input_ids[row, longest - len(ids) :] = ids
            attention_mask[row, longest - len(ids) :] = 1
        padded = {"input_ids": input_ids, "attention_mask": attention_mask}
        if label_sequences is not None:
            labels = np.full((len(sequences), longest), IGNORE_INDEX, dtype=np.int64)
            for row, ids in enumerate(label_sequences):
                labels[row, longest - len(ids) :] = ids
            padded["labels"] = labels
        return padded

    def batch_decode(self, token_ids, **kwargs) -> list[str]:
        kwargs.setdefault("skip_special_tokens", True)
        return [text.strip() for text in self.tokenizer.batch_decode(token_ids, **kwargs)]

    def decode(self, token_ids, **kwargs) -> str:
        kwargs.setdefault("skip_special_tokens", True)
        return self.tokenizer.decode(token_ids, **kwargs).strip()


def _is_single_clip(audio: Any) -> bool:
    if isinstance(audio, (list, tuple)):
        return len(audio) > 0 and isinstance(audio[0], (int, float, np.number))
    return not isinstance(audio, (list, tuple))


def _pad_features(features: list[np.ndarray], input_name: str) -> dict[str, np.ndarray]:
    """Right-pad per-clip features with zeros along time (last axis) and mark real positions."""
    longest = max(feature.shape[-1] for feature in features)
    padded = np.zeros((len(features), *features[0].shape[:-1], longest), dtype=np.float32)
    mask = np.zeros((len(features), longest), dtype=np.int64)
    for row, feature in enumerate(features):
        padded[row, ..., : feature.shape[-1]] = feature
        mask[row, : feature.shape[-1]] = 1
    return {input_name: padded, "audio_attention_mask": mask}


def _missing(part: str):
    raise ValueError(f"ASRProcessor.from_config needs config.{part} (a Hub id or local path).")


ASRProcessor.register_for_auto_class()
