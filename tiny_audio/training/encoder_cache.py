"""Reuse a frozen encoder's outputs across epochs.

With the encoder frozen and augmentation off, the same clip always gives the same features, so its encoder output
can be computed once. Rows are keyed by a hash of their real (unpadded) features; the cache is consulted by
`ASRModel.get_audio_features` through `model.encoder_cache` and holds tensors in memory (float16 to halve it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch


class EncoderCache:
    def __init__(self, max_items: int = 200_000):
        self.max_items = max_items
        self.store: dict[bytes, torch.Tensor] = {}
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self.store)

    def encode(
        self,
        audio: torch.Tensor,
        audio_attention_mask: torch.Tensor,
        frame_lengths: torch.Tensor,
        encode: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """Encoder outputs (B, T, E) for the batch, computing only the rows not seen before."""
        input_lengths = audio_attention_mask.sum(-1).tolist()
        keys = [_row_key(audio[row], length) for row, length in enumerate(input_lengths)]
        missing = [row for row, key in enumerate(keys) if key not in self.store]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            index = torch.tensor(missing, device=audio.device)
            computed = encode(audio[index], audio_attention_mask[index], frame_lengths[index])
            for position, row in enumerate(missing):
                if len(self.store) < self.max_items:
                    self.store[keys[row]] = computed[position, : int(frame_lengths[row])].to(torch.float16).cpu()
        if len(missing) == len(keys):
            return computed
        width = next(iter(self.store.values())).shape[-1] if not missing else computed.shape[-1]
        frames = int(frame_lengths.max())
        output = torch.zeros(audio.shape[0], frames, width, device=audio.device)
        for row, key in enumerate(keys):
            if key in self.store:
                cached = self.store[key]
                output[row, : cached.shape[0]] = cached.to(output.device, torch.float32)
            else:
                position = missing.index(row)
                output[row] = computed[position, :frames]
        return output


def _row_key(features: torch.Tensor, length: int) -> bytes:
    real = features[..., :length].float().contiguous().cpu().numpy()  # numpy has no bfloat16 (backbone_dtype)
    return hashlib.blake2b(real.tobytes(), digest_size=16).digest() + length.to_bytes(4, "little")
