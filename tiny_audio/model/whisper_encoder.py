"""Whisper's encoder on a clip's own length instead of 30 s of padding.

transformers' WhisperEncoder.forward insists on exactly 3000 mel frames (transformers 5.x), so a 3 s clip would pay
for 30 s of attention (~12x slower; `benchmarks/whisper_encoder_padding.py`). The encoder's parts are run here in
the same order, with the position table cut to the clip and padded frames masked out of attention, so a clip encodes
the same alone or in a batch.

Hub remote code: imports only torch.
"""

from __future__ import annotations

import torch
from torch import nn

from .constants import WHISPER_MAX_SECONDS


def whisper_encode(
    encoder: nn.Module, input_features: torch.Tensor, mel_mask: torch.Tensor, frame_lengths: torch.Tensor
) -> torch.Tensor:
    """Encoder outputs (B, T, E) of log-mel `input_features` (B, M, F); `mel_mask` (B, F) marks real frames."""
    hidden_states = nn.functional.gelu(encoder.conv1(input_features))  # (B, E, F)
    # Zero past each clip's end, as conv2's own padding would be for the clip alone.
    hidden_states = hidden_states * mel_mask[:, None, :].to(hidden_states.dtype)
    hidden_states = nn.functional.gelu(encoder.conv2(hidden_states)).transpose(1, 2)  # (B, T, E)
    frames = hidden_states.shape[1]
    if frames > encoder.embed_positions.num_embeddings:
        raise ValueError(
            f"Audio gives {frames} Whisper frames; the encoder takes at most {WHISPER_MAX_SECONDS} s "
            f"({encoder.embed_positions.num_embeddings} frames)."
        )
    hidden_states = hidden_states + encoder.embed_positions.weight[:frames]
    hidden_states = nn.functional.dropout(hidden_states, p=encoder.dropout, training=encoder.training)
    padded = torch.arange(frames, device=hidden_states.device)[None] >= frame_lengths[:, None]  # (B, T)
    attention_mask = None
    if padded.any():
        attention_mask = torch.zeros(padded.shape, dtype=hidden_states.dtype, device=hidden_states.device)
        attention_mask = attention_mask.masked_fill(padded, torch.finfo(hidden_states.dtype).min)[:, None, None, :]
    for layer in encoder.layers:
        hidden_states = layer(hidden_states, attention_mask)
    return encoder.layer_norm(hidden_states)
