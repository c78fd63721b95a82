"""`tiny-audio transcribe DIR --output-dir OUT` over several processes (issue 45, item 3): each process takes its
share, shortest first, and records it in its own file; the files merge into one results.jsonl with each file once;
bad files are named; a killed run (its rank files left behind, a line cut short) resumes with any process count."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
import tiny_backbones
import torch
from test_reliability import tiny_model_dir, write_tone  # noqa: F401  (the tiny random model, saved)

from tiny_audio.app import distributed
from tiny_audio.app.batch import RESULTS_FILE, read_results
from tiny_audio.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
# Seconds of each good clip. Dealt round robin in sorted order (a, b, bad, c, d, e, f), rank 0 gets a, bad, d, f
# and rank 1 gets b, c, e.
LENGTHS = {"a": 0.9, "b": 0.3, "c": 0.5, "d": 0.7, "e": 0.3, "f": 0.5}


def make_folder(root: Path) -> tuple[dict[str, Path], Path]:
    good = {name: root / f"{name}.wav" for name in LENGTHS}
    for index, (name, path) in enumerate(good.items()):
        root.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, tiny_backbones.tone(LENGTHS[name], 220 + 40 * index, seed=index), 16_000)
    bad = root / "bad.wav"
    bad.write_text("not audio\n")
    return good, bad


def record(path: Path, text: str = "earlier") -> str:
    return json.dumps({"file": str(path.resolve()), "seconds": 0.5, "text": text}) + "\n"


def leave_a_killed_run(out: Path, good: dict[str, Path]) -> None:
    """What three processes leave when killed: rank files, one ending in a line cut short (its file is redone)."""
    out.mkdir(parents=True)
    (out / "results.rank-0.jsonl").write_text(record(good["a"]) + record(good["d"]))
    (out / "results.rank-2.jsonl").write_text(record(good["f"]) + '{"file": "' + str(good["b"].resolve()) + '", "se')


def transcribe_args(folder: Path, out: Path, model: Path, *more: str):
    return build_parser("transcribe").parse_args(
        ["transcribe", str(folder), "--output-dir", str(out), "--model", str(model), "--batch-size", "2", *more]
    )


def test_each_process_takes_its_share_shortest_first_without_the_files_done(tmp_path, monkeypatch):
    good, bad = make_folder(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / RESULTS_FILE).write_text(record(good["e"]))
    args = transcribe_args(tmp_path / "in", out, tmp_path / "unused")
    files = sorted([*good.values(), bad])
    monkeypatch.setenv(distributed.PARENT_MERGES, "1")  # no process group: the shares alone
    monkeypatch.setenv("WORLD_SIZE", "2")
    shares = {}
    threads = torch.get_num_threads()
    try:
        for rank in (0, 1):
            monkeypatch.setenv("RANK", str(rank))
            part = distributed.join(args, files)
            assert (part.rank, part.world_size, part.results_file) == (rank, 2, f"results.rank-{rank}.jsonl")
            shares[rank] = [path.name for path in part.files]
            assert torch.get_num_threads() == max(1, len(os.sched_getaffinity(0)) // 2)
    finally:
        torch.set_num_threads(threads)
    # Shortest first by the header; a file soundfile cannot read comes last; e (rank 1's) is done already.
    assert shares == {0: ["f.wav", "d.wav", "a.wav", "bad.wav"], 1: ["b.wav", "c.wav"]}


def test_rank_files_merge_with_each_file_once_and_a_transcript_beating_a_failure(tmp_path, monkeypatch):
    out = tmp_path / "out"
    a, b, c = (tmp_path / name for name in ("a.wav", "b.wav", "c.wav"))
    failed = json.dumps({"file": str(b), "stage": "decode", "error": "empty"}) + "\n"
    failed_again = json.dumps({"file": str(c), "stage": "decode", "error": "still empty"}) + "\n"
    out.mkdir()
    (out / RESULTS_FILE).write_text(record(a) + failed + failed_again.replace("still empty", "empty"))
    (out / "results.rank-10.jsonl").write_text(record(b, "retried") + failed_again + '{"file": "x')
    (out / "results.rank-2.jsonl").write_text(failed)  # an older failure of b, merged before rank 10's transcript
    merged = distributed.merge_rank_results(out)
    assert sorted(path.name for path in out.iterdir()) == [RESULTS_FILE]
    assert [
        (Path(entry["file"]).name, entry.get("text", entry.get("error"))) for entry in read_results(out / RESULTS_FILE)
    ] == [("a.wav", "earlier"), ("b.wav", "retried"), ("c.wav", "still empty")]
    assert set(merged) == {str(a), str(b), str(c)}
    # A single process merges what a killed run over several left before it resumes.
    (out / "results.rank-1.jsonl").write_text(record(tmp_path / "d.wav"))
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    args = transcribe_args(tmp_path, out, tmp_path / "unused")
    assert distributed.join(args, []) is None
    assert len(read_results(out / RESULTS_FILE)) == 4 and not list(out.glob("results.rank-*"))


def test_two_shares_in_one_process_then_the_summary_of_the_whole_run(tiny_model_dir, tmp_path, monkeypatch, capsys):  # noqa: F811
    """What each `--processes` worker runs, in turn, then what the parent does: fast, no processes started."""
    good, bad = make_folder(tmp_path / "in")
    out = tmp_path / "out"
    leave_a_killed_run(out, good)
    args = transcribe_args(tmp_path / "in", out, tiny_model_dir)
    before = distributed.merge_rank_results(out)
    monkeypatch.setenv(distributed.PARENT_MERGES, "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    threads = torch.get_num_threads()
    statuses = []
    try:
        for rank in (0, 1):
            monkeypatch.setenv("RANK", str(rank))
            statuses.append(main(["transcribe", *args_to_argv(tmp_path / "in", out, tiny_model_dir)]))
    finally:
        torch.set_num_threads(threads)
    assert statuses == [1, 0]  # the bad file is in rank 0's share
    written = capsys.readouterr()
    assert sorted(Path(line).name for line in written.out.splitlines()) == ["b.txt", "c.txt", "e.txt"]
    assert [line for line in written.err.splitlines() if line.startswith("error:")] == [
        f"error: {bad}: Cannot decode {bad} as audio: soundfile cannot read it (Format not recognised.), and ffmpeg "
        "cannot read it either."
    ]
    monkeypatch.delenv("WORLD_SIZE")
    from tiny_audio.app.transcribe import FileOutput

    files = sorted([*good.values(), bad])
    assert distributed.summarise(out, files, before, False, FileOutput(args, len(files))) == 1
    err = capsys.readouterr().err
    assert "3 of 7 files already in" in err and err.splitlines()[-1] == "error: 1 of 7 files failed"
    assert_each_file_once(out, good, bad)


def args_to_argv(folder: Path, out: Path, model: Path) -> list[str]:
    return [str(folder), "--output-dir", str(out), "--model", str(model), "--batch-size", "2", "--num-beams", "1"]


def assert_each_file_once(out: Path, good: dict[str, Path], bad: Path) -> None:
    records = read_results(out / RESULTS_FILE)
    assert sorted(Path(entry["file"]).name for entry in records) == sorted(
        [*(f"{name}.wav" for name in good), "bad.wav"]
    )
    texts = {Path(entry["file"]).stem: entry.get("text") for entry in records}
    assert [texts[name] for name in ("a", "d", "f")] == ["earlier"] * 3  # kept from the killed run, not redone
    assert texts["b"] != "earlier" and texts["bad"] is None  # b's line was cut short by the kill: done again
    assert not list(out.glob("results.rank-*")) and all((out / f"{name}.txt").is_file() for name in "bce")


def free_port() -> int:
    with socket.socket() as probe:  # other test runs on this machine may hold accelerate's default, 29500
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900, env=environment)


@pytest.mark.slow
def test_processes_2_resumes_a_killed_run_names_the_bad_file_and_merges(tiny_model_dir, tmp_path):  # noqa: F811
    good, bad = make_folder(tmp_path / "in")
    out = tmp_path / "out"
    leave_a_killed_run(out, good)
    command = [
        sys.executable,
        "-m",
        "tiny_audio.cli",
        "transcribe",
        *args_to_argv(tmp_path / "in", out, tiny_model_dir),
    ]
    result = run_cli([*command, "--processes", "2"], tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert sorted(Path(line).name for line in result.stdout.splitlines()) == ["b.txt", "c.txt", "e.txt"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors[0].startswith(f"error: {bad}: Cannot decode") and errors[1:] == ["error: 1 of 7 files failed"]
    assert "Traceback" not in result.stderr
    assert_each_file_once(out, good, bad)


@pytest.mark.slow
def test_accelerate_launch_with_2_processes_merges_every_file_once(tiny_model_dir, tmp_path):  # noqa: F811
    """On a machine without GPUs accelerate starts several processes only with --multi_gpu (torchrun underneath)."""
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    if accelerate is None:
        pytest.skip("accelerate (the train extra) is not installed")
    good, bad = make_folder(tmp_path / "in")
    out = tmp_path / "out"
    leave_a_killed_run(out, good)
    launch = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    launch += ["--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port())]
    result = run_cli(
        [*launch, "-m", "tiny_audio.cli", "transcribe", *args_to_argv(tmp_path / "in", out, tiny_model_dir)], tmp_path
    )
    assert result.returncode == 1, result.stderr[-3000:]  # rank 0 ends with 1: a file failed
    assert f"error: {bad}: Cannot decode" in result.stderr and "error: 1 of 7 files failed" in result.stderr
    assert_each_file_once(out, good, bad)


def test_processes_need_an_output_dir_and_at_least_one(tmp_path, capsys):
    clip = write_tone(tmp_path / "a.wav")
    assert main(["transcribe", str(clip), "--processes", "2"]) == 2
    assert "several processes write DIR/results.jsonl" in capsys.readouterr().err
    assert main(["transcribe", str(clip), "--processes", "0", "--output-dir", str(tmp_path / "out")]) == 2
    assert "--processes must be at least 1, got 0." in capsys.readouterr().err
    stream = ["--processes", "2", "--output-dir", str(tmp_path / "out"), "--stream"]
    assert main(["transcribe", str(clip), *stream]) == 2
    assert "drop it" in capsys.readouterr().err and not (tmp_path / "out").exists()
