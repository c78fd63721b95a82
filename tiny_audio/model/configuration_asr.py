"""ASRConfig: what a tiny-audio model *is* (its parts and how they connect), never how it was trained.

Hub remote code: imports only transformers, torch and sibling modules.
"""

from __future__ import annotations

import math
from typing import Any

from transformers import AutoConfig, PretrainedConfig

from .context_words import with_context
from .decoding_options import DecodingOptions
from .projectors import PROJECTORS

SUPPORTED_ENCODERS = ("hubert", "wav2vec2", "whisper")
LORA_KEYS = {"r", "alpha", "dropout", "target_modules"}

# Training teaches one instruction (tiny_audio/training/trainer.py). Configs saved before 2026-12 also carry a
# "describe" prompt, which no model learned; they load as they are, and that task stays callable on them.
DEFAULT_PROMPTS = {"transcribe": "Transcribe the audio."}


class ASRConfig(PretrainedConfig):
    """Configuration of an encoder → projector → decoder speech recognizer.

    Args:
        encoder_name_or_path: Hub id or local path of the pretrained audio encoder (HuBERT, wav2vec2 or Whisper).
        decoder_name_or_path: Hub id or local path of the pretrained causal LM (needs a chat template).
        encoder_config / decoder_config: the backbone's config as a dict. When given, the backbone is built from it
            and its weights must come from this model's own checkpoint (a self-contained save).
        projector_type: a key of `PROJECTORS` ("mlp", "swiglu").
        projector_stack: k, how many consecutive encoder frames become one audio token (50 frames/s → 50/k tokens/s).
        projector_hidden_size: width of the projector's hidden layer.
        encoder_lora / decoder_lora: None (frozen) or a dict with r, alpha, dropout, target_modules.
        audio_token: the placeholder the processor expands to one token per audio embedding.
        audio_token_id: its id in the decoder's tokenizer; set by `ASRProcessor.from_config`.
        prompts: the user instruction for each task; a free prompt can be passed at call time instead.
        generation: this model's decoding defaults for `generate()`: `tiny_audio.model.decoding.DecodingOptions` fields
            (max_new_tokens, num_beams, ctc_decoding_weight, ...) and any other transformers `generate()` option.
        ctc_head_trained: whether the projector trained with the CTC loss (training records it; None: unknown). CTC
            in the search and word timestamps need a trained head.
    """

    model_type = "tiny_audio"

    def __init__(
        self,
        encoder_name_or_path: str | None = None,
        decoder_name_or_path: str | None = None,
        encoder_config: dict | None = None,
        decoder_config: dict | None = None,
        projector_type: str = "mlp",
        projector_stack: int = 4,
        projector_hidden_size: int = 2048,
        encoder_lora: dict | None = None,
        decoder_lora: dict | None = None,
        audio_token: str = "<audio>",
        audio_token_id: int | None = None,
        prompts: dict[str, str] | None = None,
        generation: dict[str, Any] | None = None,
        ctc_head_trained: bool | None = None,
        **kwargs,
    ):
        if projector_type not in PROJECTORS:
            raise ValueError(f"Unknown projector_type {projector_type!r}; supported: {sorted(PROJECTORS)}.")
        if not isinstance(projector_stack, int) or projector_stack < 1:
            raise ValueError(f"projector_stack must be a positive integer, got {projector_stack!r}.")
        for name, lora in (("encoder_lora", encoder_lora), ("decoder_lora", decoder_lora)):
            if lora is not None and set(lora) != LORA_KEYS:
                raise ValueError(f"{name} must be None or a dict with keys {sorted(LORA_KEYS)}, got {sorted(lora)}.")
        if encoder_config is not None:
            check_encoder_type(encoder_config.get("model_type"))
        self.encoder_name_or_path = encoder_name_or_path
        self.decoder_name_or_path = decoder_name_or_path
        self.encoder_config = encoder_config
        self.decoder_config = decoder_config
        self.projector_type = projector_type
        self.projector_stack = projector_stack
        self.projector_hidden_size = projector_hidden_size
        self.encoder_lora = encoder_lora
        self.decoder_lora = decoder_lora
        self.audio_token = audio_token
        self.audio_token_id = audio_token_id
        self.prompts = dict(DEFAULT_PROMPTS if prompts is None else prompts)
        DecodingOptions.resolve(generation)  # a bad value fails now, naming what is accepted
        self.generation = dict(generation or {})
        self.ctc_head_trained = ctc_head_trained
        super().__init__(**kwargs)

    def resolved_encoder_config(self, **hub_kwargs) -> PretrainedConfig:
        """The encoder's own config: the inline copy if present, else read from `encoder_name_or_path`."""
        return _resolve(self.encoder_name_or_path, self.encoder_config, "encoder", hub_kwargs)

    def resolved_decoder_config(self, **hub_kwargs) -> PretrainedConfig:
        return _resolve(self.decoder_name_or_path, self.decoder_config, "decoder", hub_kwargs)

    def instruction(
        self, task: str | None = None, prompt: str | None = None, context: str | list[str] | None = None
    ) -> str:
        """The user instruction for a call: a free `prompt` wins, else the prompt of `task` (default transcribe),
        with the `context` words appended (context_words.py). Training builds its prompts here too."""
        if prompt is not None:
            if not prompt.strip():
                raise ValueError("prompt is empty; pass some text or use task= instead.")
            return with_context(prompt, context)
        task = task or "transcribe"
        if task not in self.prompts:
            raise ValueError(f"Unknown task {task!r}; this model knows {sorted(self.prompts)} (or pass prompt=...).")
        return with_context(self.prompts[task], context)


def check_encoder_type(model_type: str | None) -> str:
    if model_type not in SUPPORTED_ENCODERS:
        raise ValueError(f"Unsupported encoder type {model_type!r}; supported: {list(SUPPORTED_ENCODERS)}.")
    return model_type


def _resolve(name_or_path: str | None, inline: dict | None, part: str, hub_kwargs: dict) -> PretrainedConfig:
    if inline is not None:
        inline = dict(inline)
        return AutoConfig.for_model(inline.pop("model_type"), **inline)
    if not name_or_path:
        raise ValueError(f"ASRConfig needs `{part}_name_or_path` (a Hub id or local path) or `{part}_config`.")
    return AutoConfig.from_pretrained(name_or_path, **hub_kwargs)


def audio_layout(encoder_config: PretrainedConfig, projector_stack: int) -> dict[str, Any]:
    """How the encoder's input length maps to a number of audio tokens: its strided convolutions, then stacking.

    HuBERT/wav2vec2 take raw samples through a conv stack (320x fewer frames); Whisper takes 100 mel frames/s
    through two convs, the second with stride 2. Either way about 50 encoder frames per second.
    """
    model_type = check_encoder_type(encoder_config.model_type)
    if model_type == "whisper":
        kernels, strides, paddings = [3, 3], [1, 2], [1, 1]
    else:
        kernels, strides = list(encoder_config.conv_kernel), list(encoder_config.conv_stride)
        paddings = [0] * len(kernels)
    return {"kernels": kernels, "strides": strides, "paddings": paddings, "stack": projector_stack}


def count_encoder_frames(input_length, layout: dict[str, Any]):
    """Encoder frames for an input of `input_length` samples (or mel frames); works on ints and tensors."""
    for kernel, stride, padding in zip(layout["kernels"], layout["strides"], layout["paddings"], strict=True):
        input_length = (input_length + 2 * padding - kernel) // stride + 1
    return input_length


def count_audio_tokens(input_length, layout: dict[str, Any]):
    """Audio tokens the projector emits: ceil(frames / k), the last partial stack zero-padded."""
    frames = count_encoder_frames(input_length, layout)
    if isinstance(frames, int):
        return max(0, math.ceil(frames / layout["stack"]))
    return (frames.clamp(min=0) + layout["stack"] - 1) // layout["stack"]


ASRConfig.register_for_auto_class()
