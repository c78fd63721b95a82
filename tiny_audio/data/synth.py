"""Render one planned shard to a parquet file: synthesise, resample to 16 kHz, encode FLAC, write atomically.

Runs inside worker processes. A clip that fails (engine error, silence, timeout) is recorded and skipped; the shard
is still written. Completion is marked by two renames: the parquet file, then its `.build/shards/NAME.json` record.
A shard counts as done only when both exist, so a kill at any point leaves either a finished shard or one that a
rerun redoes from scratch; half-written files only ever carry a `.tmp` name.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf
import soxr

from ..model.constants import SAMPLING_RATE
from .channels import apply_channel
from .engines import synthesize
from .plan import Shard, Utterance

MIN_ENGINE_SECONDS = 0.3  # shorter output for a >= 3-word sentence means the engine said nothing useful
SILENCE_PEAK = 1e-3  # a peak below this (-60 dBFS) is silence, not speech
ROW_GROUP_SIZE = 64  # rows per parquet row group: ~5 MB, so streaming readers hold little in memory


@dataclass
class ShardResult:
    """What one shard produced: saved next to it so a resumed build can report it without reading audio."""

    name: str
    split: str
    clips: int = 0
    seconds: float = 0.0
    failed: list[dict[str, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: {"synthesis": 0.0, "resample": 0.0, "encode": 0.0})
    planned: int = 0


def render(utterance: Utterance, timings: dict[str, float]) -> tuple[bytes, float]:
    """Return (FLAC bytes at 16 kHz mono 16-bit, duration in seconds); raises on unusable audio."""
    start = time.perf_counter()
    audio, rate = synthesize(utterance.voice, utterance.text, utterance.speed, utterance.pitch)
    resampled = time.perf_counter()
    timings["synthesis"] += resampled - start
    if round(rate) != SAMPLING_RATE:
        audio = soxr.resample(audio, rate, SAMPLING_RATE, quality="HQ")
    audio = apply_channel(audio, utterance.channel)
    encoded = time.perf_counter()
    timings["resample"] += encoded - resampled  # the channel's codec round trip included
    seconds = len(audio) / SAMPLING_RATE
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if seconds < MIN_ENGINE_SECONDS or peak < SILENCE_PEAK:
        raise ValueError(f"engine output is empty or silent ({seconds:.2f} s, peak {peak:.1e})")
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, pcm, SAMPLING_RATE, format="FLAC", subtype="PCM_16")
    timings["encode"] += time.perf_counter() - encoded
    return buffer.getvalue(), seconds


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def build_shard(
    shard: Shard, output_dir: Path, schema: pa.Schema, on_clip: Callable[[], None] | None = None
) -> ShardResult:
    """Render every clip of `shard` into `output_dir/data/NAME.parquet` and record the outcome. `on_clip` is called
    after each clip, rendered or failed: a shard can take many minutes, and progress is shown clip by clip."""
    result = ShardResult(shard.name, shard.split, planned=len(shard.utterances))
    columns: dict[str, list] = {name: [] for name in schema.names}
    for u in shard.utterances:
        try:
            flac, seconds = render(u, result.timings)
        except Exception as error:  # any engine failure skips this clip only; it is reported at the end
            result.failed.append({"id": u.id, "voice": u.voice.id, "text": u.text, "error": str(error)[:300]})
        else:
            row = {
                "audio": {"bytes": flac, "path": f"{u.id}.flac"},
                "text": u.text,
                "id": u.id,
                "speaker": u.voice.id,
                "engine": u.voice.engine,
                "accent": u.voice.accent,
                "speed": u.speed,
                "pitch": u.pitch,
                "duration": round(seconds, 3),
                "source": u.source,
                "channel": u.channel,
            }
            for name in schema.names:
                columns[name].append(row[name])
            result.clips += 1
            result.seconds += seconds
        if on_clip is not None:
            on_clip()
    start = time.perf_counter()
    table = pa.Table.from_pydict(columns, schema=schema)
    data_path = output_dir / "data" / f"{shard.name}.parquet"
    _atomic_write(data_path, lambda tmp: pq.write_table(table, tmp, row_group_size=ROW_GROUP_SIZE))
    result.timings["write"] = time.perf_counter() - start
    record = output_dir / ".build" / "shards" / f"{shard.name}.json"
    _atomic_write(record, lambda tmp: tmp.write_text(json.dumps(result.__dict__, indent=1), encoding="utf-8"))
    return result


def exit_with_parent(parent_pid: int) -> None:
    """In a pool worker: exit within a second of the parent build dying.

    A build killed with SIGTERM or SIGKILL cannot stop its pool, and its workers would otherwise go on rendering the
    shards already queued to them, for no one, at full CPU (seen: two orphans running on for 15 minutes).
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)  # a shard being written keeps its .tmp name, which the next build removes

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# This worker's share of the build's clip counter (a shared integer the parent reads for its progress bar).
_clips_rendered: Synchronized | None = None


def init_worker(parent_pid: int, clips_rendered: Synchronized) -> None:
    """Pool initializer: exit with the parent, and count rendered clips into the parent's shared counter."""
    global _clips_rendered
    _clips_rendered = clips_rendered
    exit_with_parent(parent_pid)


def _count_clip() -> None:
    if _clips_rendered is not None:
        with _clips_rendered.get_lock():
            _clips_rendered.value += 1


def run_shard_job(job: tuple[Shard, Path, pa.Schema]) -> ShardResult:
    """Pool entry point (one picklable argument)."""
    return build_shard(*job, on_clip=_count_clip)


def load_shard_result(output_dir: Path, shard: Shard) -> ShardResult | None:
    """The saved outcome of a finished shard, or None when the shard must be (re)built."""
    record = output_dir / ".build" / "shards" / f"{shard.name}.json"
    if not record.exists() or not (output_dir / "data" / f"{shard.name}.parquet").exists():
        return None
    try:
        return ShardResult(**json.loads(record.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        return None  # a record from another version or a damaged file: rebuild the shard
