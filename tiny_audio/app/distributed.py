"""`tiny-audio transcribe DIR --output-dir OUT` over several processes: `--processes N`, or under a launcher
(`torchrun --nproc-per-node N -m tiny_audio.cli transcribe ...`, `accelerate launch --multi_gpu --num_processes N
-m tiny_audio.cli transcribe ...`, which set RANK / WORLD_SIZE / LOCAL_RANK).

- Files are dealt round robin by their place in the sorted input list, so the split does not depend on what an
  earlier run did; each process skips the files OUT/results.jsonl already records and decodes the rest shortest
  first (by the length the file's header gives), so that a batch of `--batch-size` holds clips of similar length.
- Process K appends each file's line to OUT/results.rank-K.jsonl as it finishes (`transcribe_batch`, flushed and
  fsynced); when every process is done, one merges the rank files into OUT/results.jsonl (each file once) and
  deletes them. Rank files left by a killed run, whatever its process count, are merged first, so a rerun with any
  process count (one included) resumes.
- Who merges: with `--processes N` the parent that spawned the N workers, after they exit; under a launcher, rank 0
  after a barrier (a gloo process group, CPU only: no tensors move).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from .batch import RESULTS_FILE, BatchReport, read_results, result_key

__all__ = ["Part", "join", "launch", "merge_rank_results", "processes_problem", "wants_launch"]

RANK_PATTERN = "results.rank-*.jsonl"
# Set by `--processes` for its workers: the parent merges, so the workers need no process group.
PARENT_MERGES = "TINY_AUDIO_PARENT_MERGES"
# How long a process that has finished its share waits at the closing barrier for the others: shares are dealt
# evenly, but an archive's long files can still leave one process hours behind.
BARRIER_TIMEOUT = timedelta(days=7)


def rank_results_file(rank: int) -> str:
    return f"results.rank-{rank}.jsonl"


def world_from_environment(environment: Mapping[str, str] = os.environ) -> tuple[int, int, int] | None:
    """(rank, world size, local rank) set by a launcher, or None for a single process."""
    world_size = int(environment.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return None
    rank = int(environment.get("RANK", environment.get("LOCAL_RANK", "-1")))
    if not 0 <= rank < world_size:
        raise ValueError(
            f"WORLD_SIZE is {world_size} but RANK is {environment.get('RANK')!r}: launch with torchrun "
            "or accelerate launch, which set both."
        )
    return rank, world_size, int(environment.get("LOCAL_RANK", rank))


def processes_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with running this command over several processes, if anything."""
    if args.processes < 1:
        return f"--processes must be at least 1, got {args.processes}."
    try:
        several = args.processes > 1 or world_from_environment() is not None
    except ValueError as error:  # a launcher's variables that do not fit together
        return str(error)
    if several and args.output_dir is None:
        return "several processes write DIR/results.jsonl (and DIR/NAME.FORMAT per file); add --output-dir DIR."
    if several and args.stream:
        return "--stream prints one file's words as they come, which several processes would interleave; drop it."
    if args.processes > 1 and world_from_environment() is not None:
        return "--processes starts its own workers; under torchrun or accelerate launch, leave it out."
    return None


def wants_launch(args: argparse.Namespace) -> bool:
    return args.processes > 1


def merge_rank_results(output_dir: Path) -> dict[str, dict]:
    """Fold OUT/results.rank-*.jsonl into OUT/results.jsonl (each file once: a transcript wins over a failure, else
    the newest line) and delete them; returns the records by file. Only while no process writes them."""
    main = output_dir / RESULTS_FILE
    rank_files = sorted(output_dir.glob(RANK_PATTERN), key=lambda path: int(path.name.split(".")[1][5:]))
    records: dict[str, dict] = {}
    for path in [main, *rank_files]:
        for record in read_results(path):
            earlier = records.get(record["file"])
            if earlier is None or "error" in earlier or "error" not in record:
                records[record["file"]] = record
    if rank_files:
        temporary = main.with_suffix(".jsonl.tmp")
        temporary.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records.values()))
        os.replace(temporary, main)  # atomic; a kill before the deletes below leaves lines that merge again
        for path in rank_files:
            path.unlink()
    return records


@dataclass
class Part:
    """This process's share of a run over several processes."""

    rank: int
    world_size: int
    parent_merges: bool
    output_dir: Path
    files: list[Path]  # still to do, shortest first
    before: dict[str, dict] = field(default_factory=dict)  # the records when the run began (rank 0 only)

    @property
    def results_file(self) -> str:
        return rank_results_file(self.rank)

    def finish(self, report: BatchReport, output, all_files: list[Path], retry_failed: bool) -> int:
        """The exit status of this process. A worker of `--processes` says whether its own files all went well;
        under a launcher, rank 0 waits for the others, merges and gives the whole run's summary; the others end
        with 0 (a launcher stops every process once one ends with another status)."""
        if self.parent_merges:
            return 1 if report.failed else 0
        import torch.distributed as dist

        dist.barrier()
        status = 0
        if self.rank == 0:
            status = summarise(self.output_dir, all_files, self.before, retry_failed, output)
        dist.destroy_process_group()
        return status


def join(args: argparse.Namespace, files: list[Path]) -> Part | None:
    """This process's part of a run over several processes, or None when it is the only one. Sets the device and
    the number of threads for this process; under a launcher, joins the others (a process group, for barriers)."""
    world = world_from_environment()
    if world is None:
        if args.output_dir is not None and args.output_dir.is_dir():
            merge_rank_results(args.output_dir)  # left by a killed run over several processes: resume from them
        return None
    rank, world_size, local_rank = world
    if args.device in (None, "cpu"):
        import torch

        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // world_size))  # the cores, shared out
    elif ":" not in args.device:
        args.device = f"{args.device}:{local_rank}"  # "cuda": one GPU per process of this machine
    parent_merges = os.environ.get(PARENT_MERGES) == "1"
    before = {}
    if not parent_merges:
        import torch.distributed as dist

        dist.init_process_group("gloo", rank=rank, world_size=world_size, timeout=BARRIER_TIMEOUT)
        if rank == 0:
            before = merge_rank_results(args.output_dir)  # what a killed run left
        dist.barrier()  # nobody reads results.jsonl before rank 0 has folded in the leftovers
    done = _done(read_results(args.output_dir / RESULTS_FILE), args.retry_failed)
    mine = [file for file in files[rank::world_size] if result_key(file) not in done]
    return Part(rank, world_size, parent_merges, args.output_dir, sorted(mine, key=_length_order), before)


def launch(args: argparse.Namespace, files: list[Path], run: Callable[[argparse.Namespace], int], output) -> int:
    """Run `run(args)` (the transcribe command, handed in so that this module does not import it back) in
    `args.processes` worker processes, then merge their results and give the summary through `output` (the command's
    `FileOutput`)."""
    args.output_dir.mkdir(parents=True, exist_ok=True)
    before = merge_rank_results(args.output_dir)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no torch threads or state inherited
    workers = [context.Process(target=_worker, args=(run, args, rank)) for rank in range(args.processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    statuses = [worker.exitcode for worker in workers]
    if 2 in statuses:  # an option or model error, named by each worker: nothing was transcribed
        merge_rank_results(args.output_dir)
        return 2
    status = summarise(args.output_dir, files, before, args.retry_failed, output)
    for rank, code in enumerate(statuses):
        if code not in (0, 1):
            print(
                f"error: process {rank} of {args.processes} stopped (exit status {code}); the same command resumes",
                file=sys.stderr,
            )
    return max([status, *[1 for code in statuses if code not in (0, 1)]])


def summarise(output_dir: Path, files: list[Path], before: dict[str, dict], retry_failed: bool, output) -> int:
    """Merge the rank files, print the run's closing lines (`FileOutput.summary`) and return the exit status."""
    records = merge_rank_results(output_dir)
    earlier = _done(before, retry_failed)
    report = BatchReport(results_path=output_dir / RESULTS_FILE)
    missing = 0
    for file in files:
        record = records.get(result_key(file))
        if record is None:
            missing += 1
        elif result_key(file) in earlier:
            report.already_done += 1
            if "error" in record:
                report.failed_earlier.append((str(file), record["error"]))
        elif "error" in record:
            report.failed.append((str(file), record["error"]))  # named on stderr by its process as it failed
        else:
            report.transcribed += 1
    status = output.summary(report, len(files))
    if missing:
        print(
            f"error: {missing} of {len(files)} files have no result (a process stopped before them); run the "
            "same command again to do them",
            file=sys.stderr,
        )
        return 1
    return status


def _worker(run: Callable[[argparse.Namespace], int], args: argparse.Namespace, rank: int) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(args.processes), **{PARENT_MERGES: "1"})
    args.processes = 1
    sys.exit(run(args))


def _done(records: dict[str, dict] | list[dict], retry_failed: bool) -> dict[str, dict]:
    """The records by file that count as done: all, or with `retry_failed` only the transcripts."""
    if isinstance(records, list):
        records = {record["file"]: record for record in records}
    return {file: record for file, record in records.items() if not (retry_failed and "error" in record)}


def _length_order(path: Path) -> tuple[int, float]:
    """Shortest first by the header's duration; files whose header soundfile cannot read (compressed formats that
    need ffmpeg, broken files) come after, smallest first."""
    import soundfile

    try:
        return 0, soundfile.info(str(path)).duration
    except Exception:  # unreadable here: decoded (or reported as bad) later, when its turn comes
        return 1, path.stat().st_size if path.is_file() else 0
