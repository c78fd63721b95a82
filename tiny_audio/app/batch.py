"""Many files through the ASR pipeline without one bad file costing the others, resumable after a kill.

`transcribe_batch(asr, inputs, output_dir=...)` expands directories (recursively, sorted), decodes each file with
`load_audio` before it reaches the model (an unreadable, empty or silent file is reported with its reason and never
joins a batch), transcribes the good ones in order, and appends one JSON line per file to `output_dir/results.jsonl`
as soon as it is done (flushed and fsynced). A rerun with the same `output_dir` skips every file already in that file,
so a killed run resumes where it stopped and no file gets two lines.

The pipeline itself keeps transformers' behaviour: `asr([good, "missing.wav", good])` raises and returns nothing. A
caller who would rather go on past bad files asks for it by calling `transcribe_batch` instead.

results.jsonl, one object per line:
    {"file": "/abs/a.wav", "seconds": 4.11, "text": "...", ...}       the pipeline's result (e.g. "chunks" with times);
                                                                      text stripped (stock Whisper starts with a space)
    {"file": "/abs/b.wav", "stage": "decode", "error": "..."}          "decode": the file; "transcribe": the model
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..evaluation.failures import one_line
from ..model.audio_input import is_url, load_audio
from ..model.constants import SAMPLING_RATE
from ..model.decoding_options import check_option

__all__ = [
    "AUDIO_SUFFIXES",
    "RESULTS_FILE",
    "BatchReport",
    "expand_inputs",
    "read_results",
    "result_key",
    "transcribe_batch",
]

RESULTS_FILE = "results.jsonl"
# What a directory is searched for (soundfile or ffmpeg read all of these); a file named directly is tried whatever
# its suffix. Names starting with "." are left out: macOS leaves "._name.wav" resource forks beside real audio.
AUDIO_SUFFIXES = (".aac", ".aif", ".aiff", ".flac", ".m4a", ".mp3", ".oga", ".ogg", ".opus", ".wav", ".webm", ".wma")
ABORT_AFTER = 5  # this many model failures in a row before any success: a broken set-up, not bad files


@dataclass
class BatchReport:
    """What one call did. `failed` holds (file, reason) for the files that failed in this call; `failed_earlier` for
    those that results.jsonl records as failed by an earlier run (not tried again without `retry_failed`), so that a
    resumed run still ends by saying how many of all its files failed."""

    results_path: Path | None
    transcribed: int = 0  # files transcribed in this call
    failed: list[tuple[str, str]] = field(default_factory=list)
    already_done: int = 0  # files found in results.jsonl from an earlier run, not redone (failed ones included)
    failed_earlier: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.failed_earlier)


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path | str]:
    """Files to transcribe, in order: a file as given; an http(s) URL as given (a str: a Path would merge its two
    slashes; `load_audio` fetches it, as the pipeline does); a directory's audio files (`AUDIO_SUFFIXES`, any depth,
    hidden names left out) sorted by path. Each file once, at its first mention. A missing path or an unreachable URL
    is kept: it fails on its own when decoded. Raises ValueError for a directory that holds no audio file."""
    files: list[Path | str] = []
    for item in inputs:
        if is_url(item):
            files.append(str(item))
            continue
        path = Path(item)
        if not path.is_dir():
            files.append(path)
            continue
        found = []
        for folder, subfolders, names in os.walk(path):
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
            found += [
                Path(folder) / name
                for name in names
                if not name.startswith(".") and name.lower().endswith(AUDIO_SUFFIXES)
            ]
        if not found:
            raise ValueError(f"{path} holds no audio file (looked for {', '.join(AUDIO_SUFFIXES)} at any depth).")
        files += sorted(found)
    unique: dict[str, Path] = {}  # in order of first mention
    for file in files:
        unique.setdefault(result_key(file), file)
    return list(unique.values())


def result_key(path: str | os.PathLike) -> str:
    """How a file is recognised in results.jsonl: its absolute path (a rerun may start from another folder); a URL
    as given."""
    return path if is_url(path) else os.path.abspath(path)


def read_results(path: str | os.PathLike) -> list[dict]:
    """The records of a results.jsonl. A last line cut short by a kill (no newline, or not JSON) is cut off the file,
    so that appends stay whole lines and its file is done again; a bad line before the last is an error."""
    path = Path(path)
    if not path.is_file():
        return []
    lines = path.read_bytes().splitlines(keepends=True)
    records = []
    for number, line in enumerate(lines, 1):
        try:
            if not line.endswith(b"\n"):
                raise ValueError("no newline")
            records.append(json.loads(line))
        except ValueError as error:
            if number < len(lines):  # each line is written whole, then fsynced: only the last can be partial
                raise ValueError(f"{path}:{number} is not a JSON line ({error}); fix or remove it.") from error
            with path.open("r+b") as handle:
                handle.truncate(path.stat().st_size - len(line))
    return records


def transcribe_batch(
    asr: Callable[..., Any],
    inputs: Iterable[str | os.PathLike],
    output_dir: str | os.PathLike | None = None,
    batch_size: int = 1,
    on_result: Callable[[str, dict], None] | None = None,
    on_failure: Callable[[str, str], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    results_file: str = RESULTS_FILE,
    **call_options,
) -> BatchReport:
    """Transcribe every file of `inputs` (files and directories) with `asr`, going on past files that fail.

    asr: the tiny-audio pipeline (`transcribe.load_pipeline()`), or any callable taking `(clips, batch_size=...,
        **call_options)` and returning one result dict per clip.
    output_dir: where results.jsonl is appended to; files already in it are skipped (resume). None: no record.
    on_result(file, result) / on_failure(file, reason): called as each file finishes (in input order at batch_size
        1; above, a file that cannot be decoded is reported at once, before the group it would have joined); `file`
        is the path as given or found; `reason` is one line. A record is written only after the callback returns.
    on_start(file): called for each decoded file just before its group goes to the model. With batch_size 1 and
        `generate_kwargs={"streamer": TextStreamer(...)}` (one streamer serves every file), it can print the file's
        name before the streamed text.
    retry_failed: try again the files that failed in an earlier run (their old lines are dropped first).
    results_file: the record's name inside `output_dir` (each process of a run over several has its own,
        `distributed.py`).
    call_options: the pipeline's call arguments (task, return_timestamps, generate_kwargs, ...), checked before any
        file is read, so a bad option fails at once instead of failing every file.
    """
    check_option("batch_size", batch_size)
    if sanitize := getattr(asr, "_sanitize_parameters", None):  # what transformers' Pipeline.__call__ does first
        sanitize(**call_options)
    files = expand_inputs(inputs)
    record = _Record(Path(output_dir) / results_file, retry_failed) if output_dir is not None else None
    report = BatchReport(results_path=record.path if record else None)
    pending = [file for file in files if not (record and result_key(file) in record.done)]
    report.already_done = len(files) - len(pending)
    if record:
        earlier = [
            (str(file), record.done[result_key(file)].get("error")) for file in files if result_key(file) in record.done
        ]
        report.failed_earlier = [(file, reason) for file, reason in earlier if reason is not None]

    from tqdm.auto import tqdm

    # disable=None: no bar when stderr is not a terminal (logs, pipes).
    bar = tqdm(total=len(pending), unit="file", disable=None if progress else True, leave=False)

    def finish(file: Path | str, result: dict | None, stage: str = "", reason: str = "") -> None:
        if result is not None:
            report.transcribed += 1
            if on_result:
                on_result(str(file), result)
            entry = {"file": result_key(file), **result}
        else:
            report.failed.append((str(file), reason))
            if on_failure:
                on_failure(str(file), reason)
            entry = {"file": result_key(file), "stage": stage, "error": reason}
        if record:
            record.append(entry)
        bar.update(1)

    failures_before_success = 0
    try:
        for group in _decoded_groups(pending, batch_size, finish):
            if on_start:
                for file, *_ in group:
                    on_start(str(file))
            for (file, seconds, _), (result, reason) in zip(group, _run(asr, group, call_options), strict=True):
                if reason is None:
                    failures_before_success = -1  # something worked: later model failures belong to their files
                    finish(file, {"seconds": seconds, **result, "text": result["text"].strip()})
                    continue
                finish(file, None, "transcribe", reason)
                if failures_before_success >= 0:
                    failures_before_success += 1
                    if failures_before_success == ABORT_AFTER:
                        raise RuntimeError(
                            f"the model failed on each of the first {ABORT_AFTER} files ({reason}); fix the set-up "
                            "and rerun with retry_failed (`--retry-failed`)."
                        )
    finally:
        bar.close()
        if record:
            record.close()
    return report


def _decoded_groups(
    files: list[Path | str], size: int, finish: Callable
) -> Iterator[list[tuple[Path | str, float, Any]]]:
    """Groups of up to `size` decoded clips (file, seconds, waveform); a file that cannot be decoded is `finish`ed
    as a failure on the spot and never joins a group. One group is held in memory at a time."""
    group = []
    for file in files:
        try:
            waveform = load_audio(file)  # checked: an empty, too short or silent file fails here, with its reason
        except ValueError as error:
            finish(file, None, "decode", _one_line(error))
            continue
        group.append((file, round(waveform.shape[0] / SAMPLING_RATE, 3), waveform))
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _run(asr: Callable, group: list, call_options: dict) -> list[tuple[dict | None, str | None]]:
    """(result, None) or (None, reason) per clip: the group in one call, or clip by clip when that call fails (so
    only the clip at fault fails)."""
    clips = [waveform for *_, waveform in group]
    try:
        return [(result, None) for result in asr(clips, batch_size=len(clips), **call_options)]
    except Exception as error:  # any model failure; below, the guilty clip is found by trying each alone
        if len(clips) == 1:
            return [(None, _one_line(error))]
    outcomes = []
    for clip in clips:
        try:
            outcomes.append((asr([clip], batch_size=1, **call_options)[0], None))
        except Exception as error:  # recorded against this file only
            outcomes.append((None, _one_line(error)))
    return outcomes


def _one_line(error: BaseException) -> str:
    text = one_line(str(error))
    return text if isinstance(error, ValueError) else f"{type(error).__name__}: {text}"


class _Record:
    """results.jsonl: the files already done, and appends that survive a kill (one write, flush, fsync per line)."""

    def __init__(self, path: Path, retry_failed: bool):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        records = read_results(path)
        if retry_failed and any("error" in entry for entry in records):
            records = [entry for entry in records if "error" not in entry]
            temporary = path.with_suffix(".jsonl.tmp")
            temporary.write_text("".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in records))
            os.replace(temporary, path)  # atomic: a kill leaves the old file or the new one, never half of each
        self.done = {entry.get("file"): entry for entry in records}  # file -> its record
        self.handle = path.open("a", encoding="utf-8")

    def append(self, entry: dict) -> None:
        self.handle.write(json.dumps(entry, ensure_ascii=False, default=_jsonable) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.handle.close()


def _jsonable(value: Any) -> Any:
    """Timestamps come as tuples of floats and may be numpy scalars."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
