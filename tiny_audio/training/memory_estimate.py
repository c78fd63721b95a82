"""Estimating the per-GPU training memory of a full-size model built without weights (on the meta device).

The peak per device for the longest batch a recipe allows, on one GPU, under DDP and under FSDP, with and without
activation checkpointing (MEMORY_FORMULA); `tiny-audio train --check` (check.py) reports it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from torch import nn

from ..model.configuration_asr import audio_layout, count_encoder_frames
from ..model.constants import SAMPLING_RATE
from .context_prompts import longest_context_tokens
from .recipe_sections import ContextOptions, DataOptions

MEL_FRAMES_PER_SECOND = 100  # Whisper's feature extractor: 10 ms hop
PROMPT_TOKENS = 64  # chat template + instruction around the audio; SmolLM3's template adds a ~40-token system block
TOKENS_PER_WORD = 1.5  # BPE tokens per English word for 50k-150k vocabularies, rounded up: transcripts stay below it
CUDA_OVERHEAD_GIB = 1.0  # CUDA context, cuBLAS and attention workspaces
GIB = 2**30

MEMORY_FORMULA = """\
peak per device = static + kept encoder activations + max(encoder pass, decoder activations + logits) + 1 GiB CUDA
  static       P_frozen x b + P_trained x 16 (float32 weights 4 + gradients 4 + Adam moments 8);
               DDP adds P_trained x 4 (gradient buckets); FSDP divides static by the GPUs and adds the largest
               layer gathered twice (current + prefetched)
  activations  per layer: S x B x (18 h + 4 i) bytes for a GELU MLP, (18 h + 6 i) for a gated (SwiGLU) MLP, x b/2
               (Korthikanti et al. 2022, arXiv:2205.05198, with memory-efficient attention: no S^2 term; an upper
               bound, frozen projections save less), over the layers gradients flow through (a frozen encoder
               runs without gradients and keeps none); with activation checkpointing S x B x h x b per layer (its
               input) + one layer recomputed
  encoder pass the front end's first convolution (output + norm) or one layer, whichever is larger
  logits       B x T x V x 10 bytes (bf16 logits, their float32 copy for the loss, its gradient): only the T
               transcript positions are computed (`logits_to_keep`)
  B batch per device, S positions (encoder frames; decoder tokens = audio tokens + prompt + transcript), h hidden
  size, i MLP width, V vocabulary, b bytes per backbone element (2 for bf16); every clip data.max_seconds long"""


@dataclasses.dataclass(frozen=True)
class Shapes:
    """The longest training batch the recipe allows: every clip `seconds` long, every transcript `max_words` long."""

    batch: int
    seconds: float
    encoder_input: int  # samples (HuBERT, wav2vec2) or mel frames (Whisper)
    encoder_frames: int
    audio_tokens: int
    prompt_tokens: int
    transcript_tokens: int

    @property
    def decoder_tokens(self) -> int:
        return self.audio_tokens + self.prompt_tokens + self.transcript_tokens


def sequence_shapes(model: nn.Module, recipe: dict[str, Any]) -> Shapes:
    """Audio seconds -> encoder input -> encoder frames -> audio tokens, plus prompt and longest transcript."""
    data, training = DataOptions.from_section(recipe["data"]), recipe["training"]
    seconds = float(data.max_seconds)
    per_second = MEL_FRAMES_PER_SECOND if model.encoder.config.model_type == "whisper" else SAMPLING_RATE
    encoder_input = round(seconds * per_second)
    layout = audio_layout(model.encoder.config, model.config.projector_stack)
    frames = int(count_encoder_frames(encoder_input, layout))
    return Shapes(
        batch=int(training.get("per_device_train_batch_size", 8)),
        seconds=seconds,
        encoder_input=encoder_input,
        encoder_frames=frames,
        audio_tokens=math.ceil(frames / layout["stack"]),
        prompt_tokens=PROMPT_TOKENS + longest_context_tokens(ContextOptions.from_section(recipe.get("context"))),
        transcript_tokens=math.ceil(int(data.max_words) * TOKENS_PER_WORD) + 1,  # + end of turn
    )


def layer_stack(backbone: nn.Module) -> nn.ModuleList:
    """The backbone's stack of transformer layers: its ModuleList named `layers` (HuBERT's convolutions are in
    `conv_layers`)."""
    for name, module in backbone.named_modules():
        if name.rsplit(".", 1)[-1] == "layers" and isinstance(module, nn.ModuleList):
            return module
    raise ValueError(f"{type(backbone).__name__} has no ModuleList named 'layers'.")


def _layer_activation_bytes(positions: int, hidden: int, width: int, gated: bool, element_bytes: int) -> float:
    """One layer's saved activations in training (MEMORY_FORMULA)."""
    return positions * (18 * hidden + (6 if gated else 4) * width) * element_bytes / 2


def estimate_memory(model: nn.Module, shapes: Shapes, gpus: int) -> dict[str, Any]:
    """Peak bytes per device, {"peaks": {setup: {"checkpointing" | "no checkpointing": bytes}}, "parts": {...}}."""
    encoder, decoder = model.encoder, model.decoder
    element_bytes = next(p for p in decoder.parameters() if not p.requires_grad).element_size()
    frozen = sum(p.numel() * p.element_size() for p in model.parameters() if not p.requires_grad)
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    batch, is_whisper = shapes.batch, encoder.config.model_type == "whisper"

    encoder_hidden = encoder.config.d_model if is_whisper else encoder.config.hidden_size
    encoder_width = encoder.config.encoder_ffn_dim if is_whisper else encoder.config.intermediate_size
    encoder_positions = batch * shapes.encoder_frames
    encoder_layer = _layer_activation_bytes(encoder_positions, encoder_hidden, encoder_width, False, element_bytes)
    gated = any(name.endswith("gate_proj") for name, _ in decoder.named_modules())
    decoder_positions = batch * shapes.decoder_tokens
    decoder_hidden, decoder_width = decoder.config.hidden_size, decoder.config.intermediate_size
    decoder_layer = _layer_activation_bytes(decoder_positions, decoder_hidden, decoder_width, gated, element_bytes)
    encoder_trains = any(p.requires_grad for p in encoder.parameters())
    if is_whisper:  # conv1 over the mel frames, then GELU
        front_end = 2 * batch * encoder_hidden * shapes.encoder_input * element_bytes
    else:  # the first convolution over the samples, then its layer norm
        first = (shapes.encoder_input - encoder.config.conv_kernel[0]) // encoder.config.conv_stride[0] + 1
        front_end = 2 * batch * encoder.config.conv_dim[0] * first * element_bytes
    encoder_pass = max(front_end, encoder_layer)
    logits = batch * shapes.transcript_tokens * decoder.config.vocab_size * 10

    def activations(checkpointing: bool) -> tuple[float, float]:
        """(encoder activations kept until the backward pass, decoder activations)."""
        encoder_layers, decoder_layers = len(layer_stack(encoder)), len(layer_stack(decoder))
        if checkpointing:
            kept = encoder_layers * encoder_positions * encoder_hidden * element_bytes + encoder_layer
            return kept if encoder_trains else 0.0, (
                decoder_layers * decoder_positions * decoder_hidden * element_bytes + decoder_layer
            )
        return encoder_layers * encoder_layer if encoder_trains else 0.0, decoder_layers * decoder_layer

    largest_layer = max(
        sum(p.numel() * p.element_size() for p in layer.parameters())
        for backbone in (encoder, decoder)
        for layer in layer_stack(backbone)
    )
    static = {
        "one GPU": frozen + 16 * trained,
        f"DDP, {gpus} GPUs": frozen + 20 * trained,
        f"FSDP, {gpus} GPUs": (frozen + 16 * trained) / gpus + 2 * largest_layer,
    }
    peaks = {}
    for setup, static_bytes in static.items():
        peaks[setup] = {}
        for checkpointing in (True, False):
            kept, decoder_activations = activations(checkpointing)
            peak = static_bytes + kept + max(encoder_pass, decoder_activations + logits) + CUDA_OVERHEAD_GIB * GIB
            peaks[setup]["checkpointing" if checkpointing else "no checkpointing"] = peak
    parts = {
        "frozen weights": frozen,
        "trained weights + gradients + Adam": 16 * trained,
        "encoder activations": activations(False)[0],
        "encoder activations checkpointed": activations(True)[0],
        "decoder activations": activations(False)[1],
        "decoder activations checkpointed": activations(True)[1],
        "logits": logits,
        "encoder pass": encoder_pass,
    }
    return {"peaks": peaks, "parts": parts}


def format_memory(memory: dict[str, Any], gpu_memory_gb: float, checkpointing: bool) -> str:
    used = "checkpointing" if checkpointing else "no checkpointing"
    lines = [
        f"| {'setup':<13} | with activation checkpointing | {'without':>9} | fits {gpu_memory_gb:g} GiB |",
        f"|{'-' * 15}|{'-' * 30}:|{'-' * 10}:|{'-' * 13}|",
    ]
    for setup, peak in memory["peaks"].items():
        fits = "yes" if peak[used] <= gpu_memory_gb * GIB else "no"
        lines.append(
            f"| {setup:<13} | {peak['checkpointing'] / GIB:>25.1f} GiB | {peak['no checkpointing'] / GIB:>5.1f} GiB "
            f"| {fits:<11} |"
        )
    parts = ", ".join(f"{name} {size / GIB:.1f}" for name, size in memory["parts"].items())
    return (
        "\n".join(lines)
        + f"\nparts (GiB): {parts}\n'fits' is with activation checkpointing {'on' if checkpointing else 'off'}, "
        "as the recipe (or, under FSDP, configs/accelerate/fsdp.yaml) sets it"
    )
