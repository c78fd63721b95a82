"""Whisper's encoder on a clip's own length, or on a shorter window than its 30 s, instead of 30 s of padding.

transformers' WhisperEncoder.forward insists on exactly 3000 mel frames (transformers 5.x), so a 3 s clip would pay
for 30 s of attention (~12x slower; `benchmarks/whisper_encoder_padding.py`). The encoder's parts are run here in
the same order, with the position table cut to the input and padded frames masked out of attention, so a clip
encodes the same alone or in a batch.

Cut to the clip alone, the encoder's frames lose detail: it only ever saw speech followed by silence up to 30 s.
`window_mel_frames` gives it that silence again, up to a shorter window (the model config's
`encoder_window_seconds`); the frames past the clip are computed, attended to, and dropped. Whisper tiny.en's own
decoder on 120 `ivr-dev` clips (docs/design-choices.md): 8.1% WER from 30 s windows, 8.3% from 10 s, 16.6% from the
clip alone.

Hub remote code: imports only torch.
"""

from __future__ import annotations

import torch
from torch import nn

from .constants import WHISPER_MAX_SECONDS


def whisper_encode(
    encoder: nn.Module,
    input_features: torch.Tensor,
    mel_mask: torch.Tensor,
    frame_lengths: torch.Tensor,
    window_mel_frames: int = 0,
) -> torch.Tensor:
    """Encoder outputs (B, T, E) of log-mel `input_features` (B, M, F); `mel_mask` (B, F) marks real frames and
    `frame_lengths` (B,) the encoder frames each clip gives. With `window_mel_frames`, each clip is read followed by
    silence up to that many mel frames; T still covers the clips' own frames only."""
    attention_lengths = frame_lengths
    if window_mel_frames:
        input_features, mel_mask = _followed_by_silence(
            input_features, mel_mask, window_mel_frames, 2 * encoder.embed_positions.num_embeddings
        )
        attention_lengths = (mel_mask.sum(-1) + 1) // 2  # conv2 has stride 2 and padding 1
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
    padded = torch.arange(frames, device=hidden_states.device)[None] >= attention_lengths[:, None]  # (B, T)
    attention_mask = None
    if padded.any():
        attention_mask = torch.zeros(padded.shape, dtype=hidden_states.dtype, device=hidden_states.device)
        attention_mask = attention_mask.masked_fill(padded, torch.finfo(hidden_states.dtype).min)[:, None, None, :]
    for layer in encoder.layers:
        hidden_states = layer(hidden_states, attention_mask)
    return encoder.layer_norm(hidden_states)[:, : int(frame_lengths.max())]


def _followed_by_silence(
    features: torch.Tensor, mel_mask: torch.Tensor, window: int, most: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each clip's features, then silence up to `window` frames (at most `most`; a longer clip keeps its length).

    Silence is what Whisper's feature extractor writes for zero samples after a clip: log10 of its floor, raised to
    the clip's loudest value minus 8, then scaled as (x + 4) / 4, so in scaled units max(loudest - 2, -1.5)."""
    real_lengths = mel_mask.sum(-1).long()  # (B,)
    windows = real_lengths.clamp(min=min(window, most))
    total = max(features.shape[-1], int(windows.max()))
    features = nn.functional.pad(features, (0, total - features.shape[-1]))
    positions = torch.arange(total, device=features.device)[None]  # (1, F)
    real = positions < real_lengths[:, None]  # (B, F)
    loudest = features.masked_fill(~real[:, None, :], float("-inf")).amax(dim=(1, 2))  # (B,)
    silence = (loudest - 2.0).clamp(min=-1.5).to(features.dtype)
    in_window = positions < windows[:, None]
    filled = torch.where(real[:, None, :], features, silence[:, None, None])
    return filled * in_window[:, None, :].to(features.dtype), in_window.to(mel_mask.dtype)
