"""Signal processing over a stream of sample blocks: resampling and cutting at pauses, each the same whatever the
blocks, so a recording read block by block gives exactly the samples and pieces it gives read whole.

`Resampler` turns blocks at one rate into blocks at another (a Hann-windowed sinc low-pass at each output phase,
computed in fixed groups of output frames, so the block sizes never change a sample); `resample` is it applied to
one array. `cut_at_pauses` cuts a stream into pieces of at most `max_seconds`, each cut in a pause, holding at most
one piece and one block; `split_at_pauses` is it applied to one array (its pieces are views). Hub remote code:
imports only numpy and torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from functools import lru_cache

import numpy as np
import torch

from .constants import SAMPLING_RATE

GROUP_SECONDS = 4  # the resampler computes this much output per convolution: bounded memory, few calls


class Resampler:
    """Band-limited resampling of a stream: `push` blocks at `source_rate`, get back what can be computed so far at
    `target_rate`; `finish` returns the rest. The output is the same for any cutting of the input into blocks."""

    def __init__(self, source_rate: int, target_rate: int):
        divisor = math.gcd(source_rate, target_rate)
        self.down, self.up = source_rate // divisor, target_rate // divisor
        self.kernel, self.width = _sinc_kernel(self.down, self.up)
        self.span = self.kernel.shape[-1]  # input samples under one output frame (a frame: `up` output samples)
        self.group = max(1, GROUP_SECONDS * target_rate // self.up)  # output frames per convolution
        # The input from the first frame not yet computed onward, led by `width` zeros (the signal's left padding).
        self.pending = np.zeros(self.width, dtype=np.float32)
        self.samples_in = self.samples_out = 0

    def push(self, block: np.ndarray) -> np.ndarray:
        self.samples_in += block.shape[0]
        self.pending = np.concatenate([self.pending, np.asarray(block, dtype=np.float32)])
        return self._frames(final=False)

    def finish(self) -> np.ndarray:
        """The last samples: the input is over (right padding), and the output is cut to ceil(T * up / down)."""
        self.pending = np.concatenate([self.pending, np.zeros(self.width + self.down, dtype=np.float32)])
        output = self._frames(final=True)
        return output[: max(0, math.ceil(self.up * self.samples_in / self.down) - (self.samples_out - output.size))]

    def _frames(self, final: bool) -> np.ndarray:
        outputs = []
        while True:
            ready = (self.pending.shape[0] - self.span) // self.down + 1 if self.pending.shape[0] >= self.span else 0
            count = self.group if ready >= self.group else (ready if final else 0)
            if count == 0:
                break
            used = (count - 1) * self.down + self.span
            signal = torch.from_numpy(self.pending[:used])[None, None]  # (1, 1, used)
            phases = torch.nn.functional.conv1d(signal, self.kernel, stride=self.down)  # (1, up, count)
            outputs.append(phases[0].t().reshape(-1).numpy())  # the phases interleaved
            self.pending = self.pending[count * self.down :]
        output = np.concatenate(outputs) if outputs else np.zeros(0, dtype=np.float32)
        self.samples_out += output.size
        return output


def resample(waveform: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """`waveform` at `target_rate` (a `Resampler` over one block)."""
    if source_rate == target_rate:
        return waveform
    resampler = Resampler(source_rate, target_rate)
    return np.concatenate([resampler.push(waveform), resampler.finish()])


def resampled(blocks: Iterable[np.ndarray], source_rate: int, target_rate: int) -> Iterator[np.ndarray]:
    """The blocks of a stream at `target_rate` (non-empty blocks only)."""
    if source_rate == target_rate:
        yield from blocks
        return
    resampler = Resampler(source_rate, target_rate)
    for block in blocks:
        if (output := resampler.push(block)).size:
            yield output
    if (output := resampler.finish()).size:
        yield output


@lru_cache(maxsize=8)
def _sinc_kernel(down: int, up: int, zero_crossings: int = 6, rolloff: float = 0.99) -> tuple[torch.Tensor, int]:
    cutoff = min(down, up) * rolloff  # below both Nyquist frequencies, in units of the reduced rates
    width = math.ceil(zero_crossings * down / cutoff)
    taps = torch.arange(-width, width + down, dtype=torch.float64)[None, :] / down  # input positions, (1, K)
    phase_offsets = torch.arange(up, dtype=torch.float64)[:, None] / up  # where each output phase sits, (up, 1)
    time = (taps - phase_offsets) * cutoff  # in zero crossings of the low-pass
    window = torch.cos(time.clamp(-zero_crossings, zero_crossings) * math.pi / zero_crossings / 2) ** 2
    kernel = torch.special.sinc(time) * window * cutoff / down
    return kernel.to(torch.float32)[:, None, :], width  # (up, 1, K)


def cut_at_pauses(
    blocks: Iterable[np.ndarray], max_seconds: float, sampling_rate: int = SAMPLING_RATE
) -> Iterator[np.ndarray]:
    """Consecutive pieces of a stream of blocks, each at most `max_seconds` long and each cut made in the middle of
    the quietest stretch of the last 40% of its piece (most likely a pause between words, so no word is split); a
    stream no longer than that comes back whole. No sample is dropped or repeated. Holds one piece and one block."""
    if not max_seconds >= 1:
        raise ValueError(f"Pieces of long audio must be allowed at least 1 s; got max_seconds={max_seconds}.")
    limit = int(max_seconds * sampling_rate)
    hop = sampling_rate // 100  # 10 ms frames
    window = 10  # frames: 100 ms, about the shortest pause between words
    buffer = np.zeros(0, dtype=np.float32)
    for block in blocks:
        buffer = np.concatenate([buffer, block]) if buffer.size else block
        while buffer.shape[0] > limit:  # more than a piece's worth: the cut can be placed
            search = buffer[int(0.6 * limit) : limit]
            frames = search[: search.shape[0] // hop * hop].reshape(-1, hop)
            energy = np.convolve((frames.astype(np.float64) ** 2).mean(1), np.ones(window), mode="valid")
            cut = int(0.6 * limit) + (_middle_of_longest_quiet_run(energy) + window // 2) * hop
            yield buffer[:cut]
            buffer = buffer[cut:]
    if buffer.size:
        yield buffer


def split_at_pauses(waveform: np.ndarray, max_seconds: float, sampling_rate: int = SAMPLING_RATE) -> list[np.ndarray]:
    """`cut_at_pauses` of one clip: its pieces in order, views of `waveform`; a short clip comes back whole."""
    return list(cut_at_pauses([waveform], max_seconds, sampling_rate)) or [waveform]


def _middle_of_longest_quiet_run(energy: np.ndarray) -> int:
    """Index in the middle of the longest run of values within 3 dB of the lowest (a pause's middle, not its edge)."""
    quiet = np.concatenate([[False], energy <= 2 * energy.min() + 1e-12, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))  # alternating run starts and ends
    starts, ends = edges[0::2], edges[1::2]
    longest = int(np.argmax(ends - starts))
    return int((starts[longest] + ends[longest] - 1) // 2)
