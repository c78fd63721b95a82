"""Projectors: the small trained bridge from encoder frames to decoder embeddings.

Every projector first stacks k consecutive frames (fewer, wider tokens: the decoder's cost grows with sequence
length), then maps them to the decoder's width, and ends with an RMSNorm (`output_norm`) whose gain starts at the
decoder's embedding scale: without it, audio embeddings arrived ~20x larger than text embeddings (norm 65 vs 3.2
for Whisper tiny.en → SmolLM2), and the decoder's layers barely changed them. A new projector is one class
decorated with `@register_projector` that has an `output_norm`.

Hub remote code: imports only torch.
"""

from __future__ import annotations

import torch
from torch import nn

PROJECTORS: dict[str, type[nn.Module]] = {}


def register_projector(name: str):
    def add(cls: type[nn.Module]) -> type[nn.Module]:
        PROJECTORS[name] = cls
        return cls

    return add


def stack_frames(hidden_states: torch.Tensor, stack: int) -> torch.Tensor:
    """(B, T, E) → (B, ceil(T/k), k·E); the last partial stack is zero-padded (callers zero padded frames too)."""
    batch, frames, width = hidden_states.shape
    remainder = (-frames) % stack
    if remainder:
        hidden_states = nn.functional.pad(hidden_states, (0, 0, 0, remainder))
    return hidden_states.reshape(batch, (frames + remainder) // stack, stack * width)


@register_projector("mlp")
class StackingMLPProjector(nn.Module):
    """Stack k frames → LayerNorm → Linear → GELU → Linear. The norm tames encoder outputs whose scale varies."""

    def __init__(self, encoder_width: int, decoder_width: int, hidden_size: int, stack: int):
        super().__init__()
        self.stack = stack
        self.norm = nn.LayerNorm(stack * encoder_width)
        self.linear_in = nn.Linear(stack * encoder_width, hidden_size)
        self.activation = nn.GELU()
        self.linear_out = nn.Linear(hidden_size, decoder_width)
        self.output_norm = nn.RMSNorm(decoder_width)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        stacked = self.norm(stack_frames(hidden_states, self.stack))  # (B, N, k·E)
        return self.output_norm(self.linear_out(self.activation(self.linear_in(stacked))))  # (B, N, D)


@register_projector("swiglu")
class StackingSwiGLUProjector(nn.Module):
    """Stack k frames → LayerNorm → SwiGLU (silu(gate) · up) → Linear: the gated MLP of Llama-family decoders."""

    def __init__(self, encoder_width: int, decoder_width: int, hidden_size: int, stack: int):
        super().__init__()
        self.stack = stack
        self.norm = nn.LayerNorm(stack * encoder_width)
        self.gate = nn.Linear(stack * encoder_width, hidden_size)
        self.up = nn.Linear(stack * encoder_width, hidden_size)
        self.down = nn.Linear(hidden_size, decoder_width)
        self.output_norm = nn.RMSNorm(decoder_width)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        stacked = self.norm(stack_frames(hidden_states, self.stack))  # (B, N, k·E)
        return self.output_norm(self.down(nn.functional.silu(self.gate(stacked)) * self.up(stacked)))  # (B, N, D)
