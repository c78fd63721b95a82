"""Reliability under real workloads (issue 38): one bad file never costs the others, and a killed run resumes.

    python benchmarks/reliability.py [--clips 200] [--broken 10] [--minutes 60] [--demo-seconds 120] [--clients 8]
                                     [--only folder,long,demo,training,options] [--output docs/reliability.md]

Five checks on this machine's CPU with the embedded default model and greedy decoding (num_beams 1), printed as one
markdown table and written to `--output`:

- folder: `--clips` files of real speech (hello.wav and the short clips of Debian's pocketsphinx-testdata, copied
  under new names into two levels of folders) with `--broken` corrupt, empty, silent or truncated ones mixed in, run
  through `tiny_audio.app.batch.transcribe_batch` in a child process that is killed (SIGKILL) at a random point and then
  rerun: every good file transcribed, every broken one reported in one line, none lost, each once in results.jsonl.
- long: one recording of `--minutes` minutes (a real clip every minute, digital silence between) through the
  pipeline: wall time, peak RSS, and RSS once 10, 30 and 60 minutes of it are transcribed.
- demo: `tiny-audio demo` on 127.0.0.1 under `--clients` concurrent clients (gradio_client) for `--demo-seconds`,
  each sending real clips and, as its 3rd, 13th, 23rd, ... request, a corrupt file: every request answered (the
  corrupt ones with the decoder's message), p50/p95 latency.
- training: a tiny CPU training run (the random backbones of tests/tiny_backbones.py, with the default recipe's
  augmentation, non-speech clips, CTC loss and length-grouped batches in a dataloader worker) whose data holds a
  corrupt clip and an empty transcript, and whose evaluation clips a corrupt one, once straight through and once
  killed (SIGKILL) after its first checkpoint and rerun: the rerun must log the straight run's losses. Then each kind
  of training source (corpus, parquet, audiofolder, a Hub dataset's layout on disk) loaded and collated.
- options: bad options, URLs and a pickle-only model on the command line, 1,000 beams in Python, loud float audio
  (benchmarks/reliability_options.py).

`python benchmarks/reliability.py worker --output-dir DIR [--model M] [--batch-size N] PATH...` is the child of the
folder check (and of tests/test_reliability.py): the folder loop a `tiny-audio transcribe PATH... --output-dir DIR`
runs, printing "FILE<TAB>text" per file, "error: FILE: reason" per failure and a count at the end (exit 1).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np
from reliability_options import check_options  # benchmarks/: the options check, in a file of its own

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tiny_audio" / "samples" / "hello.wav"
DEFAULT_MODEL = ROOT / "tiny_audio" / "default_model"
GREEDY = {"generate_kwargs": {"num_beams": 1}}
SAMPLING_RATE = 16_000
LONGEST_CLIP_SECONDS = 4.2  # the short real clips keep the folder check fast: the cards, two LibriVox lines, hello
MEMORY_NOISE_MB = 100  # RSS moves this much between pieces (allocator caches); growth beyond it is not noise
# Enough tiny steps (~0.1 s each) that a kill at the first checkpoint lands while the run is still going.
TRAINING_STEPS = 40
CHILD_ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}


# ---------------------------------------------------------------------------------------------------------------
# inputs


def speech_clips() -> list[Path]:
    """Short real speech: hello.wav and the dev-real clips of at most LONGEST_CLIP_SECONDS."""
    import soundfile

    from tiny_audio.data.dev_real import dev_clips

    clips = [clip.path for clip in dev_clips() if soundfile.info(str(clip.path)).duration <= LONGEST_CLIP_SECONDS]
    return [SAMPLE, *clips]


def _wav(samples: np.ndarray, sampling_rate: int = SAMPLING_RATE) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sampling_rate)
        writer.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def broken_files() -> dict[str, bytes]:
    """Ten kinds of file a real folder holds by mistake, by name: none of them can be transcribed."""
    speech = SAMPLE.read_bytes()
    nan_wav = io.BytesIO()
    import soundfile

    nans = np.full(SAMPLING_RATE, np.nan, dtype=np.float32)
    soundfile.write(nan_wav, nans, SAMPLING_RATE, format="WAV", subtype="FLOAT")
    return {
        "not-audio.wav": b"this is a text file with a .wav name\n" * 20,
        "empty.wav": b"",
        "header-only.wav": speech[:44],  # a RIFF header and nothing after it
        "cut-short.wav": speech[:1500],  # an upload that stopped after 0.05 s
        "silence.wav": _wav(np.zeros(2 * SAMPLING_RATE)),
        "too-short.wav": _wav(0.3 * np.sin(np.arange(800) / 5)),  # 50 ms
        "random-bytes.flac": random.Random(0).randbytes(4096),
        "html-error-page.mp3": b"<html><body>404 Not Found</body></html>",
        "garbage-body.wav": speech[:44] + random.Random(1).randbytes(64),
        "not-a-number.wav": nan_wav.getvalue(),
    }


def build_folder(folder: Path, clips: int, broken: int) -> tuple[list[Path], list[Path]]:
    """`clips - broken` copies of real speech and `broken` broken files spread among them, in two levels of folders;
    returns (good, broken) paths."""
    sources = speech_clips()
    bad = list(broken_files().items())
    good_paths, bad_paths = [], []
    spacing = clips // max(broken, 1)
    for index in range(clips):
        place = folder / f"part-{index % 2}" / ("deeper" if index % 4 == 3 else "")
        place.mkdir(parents=True, exist_ok=True)
        if len(bad_paths) < broken and index % spacing == spacing // 2:
            name, data = bad[len(bad_paths) % len(bad)]
            path = place / f"{index:04d}-{name}"
            path.write_bytes(data)
            bad_paths.append(path)
        else:
            source = sources[index % len(sources)]
            path = place / f"{index:04d}-{source.stem}.wav"
            shutil.copyfile(source, path)
            good_paths.append(path)
    return good_paths, bad_paths


# ---------------------------------------------------------------------------------------------------------------
# the folder check


def worker(argv: list[str]) -> int:
    """The child process of the folder check: transcribe PATH... into DIR/results.jsonl, going on past failures."""
    parser = argparse.ArgumentParser(prog="reliability.py worker")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--model")
    parser.add_argument("--batch-size", type=int, default=1)
    args = parser.parse_args(argv)
    from tiny_audio.app.batch import transcribe_batch
    from tiny_audio.app.transcribe import load_pipeline

    asr = load_pipeline(args.model)
    report = transcribe_batch(
        asr,
        args.paths,
        output_dir=args.output_dir,
        batch_size=args.batch_size,
        on_result=lambda file, result: print(f"{file}\t{result['text']}", flush=True),
        on_failure=lambda file, reason: print(f"error: {file}: {reason}", file=sys.stderr, flush=True),
        progress=False,
        **GREEDY,
    )
    done = f"{report.transcribed} transcribed, {report.already_done} already in {report.results_path}"
    if report.failed_earlier:
        print(f"{len(report.failed_earlier)} files failed in an earlier run (see results.jsonl)", file=sys.stderr)
    if not report.ok:
        failed = len(report.failed) + len(report.failed_earlier)
        print(f"error: {failed} files failed ({done}); each is named above or in results.jsonl", file=sys.stderr)
        return 1
    print(done, file=sys.stderr)
    return 0


def worker_command(folder: Path, output_dir: Path, model: str | None, batch_size: int) -> list[str]:
    command = [sys.executable, str(Path(__file__).resolve()), "worker", str(folder), "--output-dir", str(output_dir)]
    return command + ["--batch-size", str(batch_size)] + (["--model", model] if model else [])


def count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.is_file() else 0


def run_killed_then_resumed(command: list[str], results: Path, kill_after: int, timeout: float = 1800) -> dict:
    """Run `command` until results.jsonl holds `kill_after` lines, SIGKILL it, then rerun it to the end; returns
    both attempts' output, times and the lines there were at the kill."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        first = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=CHILD_ENV)
        while count_lines(results) < kill_after:
            if first.poll() is not None:
                break  # finished (or crashed) before the chosen point: still rerun, which must then do nothing
            if time.perf_counter() - started > timeout:
                first.kill()
                raise TimeoutError(f"{command} wrote {count_lines(results)} of {kill_after} lines in {timeout} s")
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_seconds = time.perf_counter() - started
        lines_at_kill = count_lines(results)
        out.seek(0)
        err.seek(0)
        first_out, first_err = out.read(), err.read()
    started = time.perf_counter()
    second = subprocess.run(command, capture_output=True, text=True, env=CHILD_ENV, timeout=timeout)
    return {
        "killed_seconds": killed_seconds,
        "lines_at_kill": lines_at_kill,
        "first_returncode": first.returncode,
        "rerun_seconds": time.perf_counter() - started,
        "rerun_returncode": second.returncode,
        "stdout": first_out + second.stdout,
        "stderr": first_err + second.stderr,
    }


def tally(results: Path, good: list[Path], bad: list[Path], stderr: str) -> dict:
    """What results.jsonl and the error lines say about each file."""
    from tiny_audio.app.batch import read_results

    records = read_results(results)
    lines_per_file: dict[str, int] = {}
    for record in records:
        lines_per_file[record["file"]] = lines_per_file.get(record["file"], 0) + 1
    transcribed = {record["file"] for record in records if "text" in record}
    failed = {record["file"] for record in records if "error" in record}
    good_keys = {os.path.abspath(path) for path in good}
    bad_keys = {os.path.abspath(path) for path in bad}
    error_lines = [line for line in stderr.splitlines() if line.startswith("error: ") and "files failed" not in line]
    return {
        "transcribed": len(transcribed & good_keys),
        "reported": sum(1 for path in bad if any(line.startswith(f"error: {path}: ") for line in error_lines)),
        "recorded_failed": len(failed & bad_keys),
        "lost": len((good_keys | bad_keys) - set(lines_per_file)),
        "wrong": len(transcribed & bad_keys) + len(failed & good_keys),
        "twice": sum(1 for count in lines_per_file.values() if count > 1),
        "tracebacks": stderr.count("Traceback"),
    }


def check_folder(args, work: Path) -> list[tuple[str, str, bool]]:
    folder, output = work / "recordings", work / "transcripts"
    good, bad = build_folder(folder, args.clips, args.broken)
    kill_after = random.Random(args.seed).randint(len(good) // 10, len(good) * 3 // 4)
    print(f"folder: {len(good)} speech + {len(bad)} broken files; SIGKILL after {kill_after} records", flush=True)
    command = worker_command(folder, output, args.model, args.batch_size)
    run = run_killed_then_resumed(command, output / "results.jsonl", kill_after)
    counts = tally(output / "results.jsonl", good, bad, run["stderr"])
    total = len(good) + len(bad)
    seconds = run["killed_seconds"] + run["rerun_seconds"]
    return [
        (
            f"folder of {total} files: {len(good)} speech, {len(bad)} broken (corrupt, empty, silent, truncated, NaN)",
            f"{counts['transcribed']} transcribed, {counts['reported']} reported in one line each "
            f"({counts['tracebacks']} tracebacks), {counts['lost']} lost; exit status {run['rerun_returncode']} "
            f"(1: some failed)",
            counts["transcribed"] == len(good)
            and counts["reported"] == counts["recorded_failed"] == len(bad)
            and counts["lost"] == counts["tracebacks"] == 0
            and run["rerun_returncode"] == 1,
        ),
        (
            f"same folder, SIGKILL after {kill_after} results, then rerun",
            f"killed with {run['lines_at_kill']} lines in results.jsonl; the rerun did the other "
            f"{total - run['lines_at_kill']}; every file in results.jsonl exactly once ({counts['twice']} twice, "
            f"{counts['wrong']} wrong)",
            run["first_returncode"] == -signal.SIGKILL and counts["twice"] == counts["lost"] == counts["wrong"] == 0,
        ),
        (
            f"folder wall time (batch size {args.batch_size}, greedy, 2 model loads)",
            f"{seconds:.0f} s: {run['killed_seconds']:.0f} s until the kill + {run['rerun_seconds']:.0f} s rerun; "
            f"{total / seconds:.2f} files/s",
            True,
        ),
    ]


# ---------------------------------------------------------------------------------------------------------------
# the long recording


def rss_mb() -> float:
    """This process's resident memory now (Linux /proc), in MiB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def long_recording(minutes: float) -> tuple[np.ndarray, int]:
    """`minutes` of audio: one real clip at the end of every minute, digital silence before it (the pipeline skips
    pieces that are all silence); returns (int16 samples, seconds of speech)."""
    from tiny_audio.model.audio_input import load_audio

    clips = [load_audio(path) for path in speech_clips()]
    minute = 60 * SAMPLING_RATE
    recording = np.zeros(int(minutes * minute), dtype=np.int16)
    speech = 0
    for index, end in enumerate(range(minute, recording.shape[0] + 1, minute)):
        clip = clips[index % len(clips)]
        recording[end - clip.shape[0] - SAMPLING_RATE // 2 : end - SAMPLING_RATE // 2] = clip * 32767
        speech += clip.shape[0]
    return recording, round(speech / SAMPLING_RATE)


def long_worker(argv: list[str]) -> int:
    """Child of the long check: transcribe one WAV file, printing JSON with the RSS after each decoded piece."""
    path, model = argv[0], argv[1] if len(argv) > 1 else None
    from tiny_audio.app.transcribe import load_pipeline
    from tiny_audio.model.audio_input import load_audio, split_at_pauses
    from tiny_audio.model.constants import DEFAULT_CHUNK_SECONDS, MIN_SECONDS

    asr = load_pipeline(model)
    asr(str(SAMPLE), **GREEDY)  # warm: the first call's one-off allocations are not the recording's
    loaded_rss = rss_mb()
    # Where each decoded piece ends, by the pipeline's own cutting and its rule for skipping silent pieces.
    waveform = load_audio(path)
    ends, start = [], 0
    for piece in split_at_pauses(waveform, DEFAULT_CHUNK_SECONDS):
        start += piece.shape[0]
        if piece.shape[0] >= MIN_SECONDS * SAMPLING_RATE and np.abs(piece).max() > 0:
            ends.append(start / SAMPLING_RATE)
    del waveform, piece
    samples: list[tuple[float, float]] = []  # (audio seconds transcribed, RSS MiB) after each piece
    generate = asr.model.generate

    def measured_generate(*args, **kwargs):  # the benchmark's probe on this one instance; the library is untouched
        output = generate(*args, **kwargs)
        samples.append((ends[len(samples)], rss_mb()))
        return output

    asr.model.generate = measured_generate
    started = time.perf_counter()
    text = asr(path, **GREEDY)["text"]
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "loaded_rss": loaded_rss, "peak_rss": peak, "samples": samples}))
    print(f"{len(text.split())} words", file=sys.stderr)
    return 0


def check_long(args, work: Path) -> list[tuple[str, str, bool]]:
    recording, speech_seconds = long_recording(args.minutes)
    path = work / "long.wav"
    path.write_bytes(_wav(recording.astype(np.float32) / 32767))
    del recording
    print(f"long: {args.minutes} min recording ({speech_seconds} s of speech)", flush=True)
    command = [sys.executable, str(Path(__file__).resolve()), "long-worker", str(path)]
    done = subprocess.run(command + ([args.model] if args.model else []), capture_output=True, text=True, env=CHILD_ENV)
    if done.returncode != 0:
        return [(f"{args.minutes}-minute recording", f"failed: {done.stderr.strip().splitlines()[-1]}", False)]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    points = []
    for minutes in (10, 30, 60):
        if minutes <= args.minutes:
            after = [rss for position, rss in measured["samples"] if position >= minutes * 60 - 60]
            points.append((minutes, after[0] if after else measured["samples"][-1][1]))
    growth = points[-1][1] - points[0][1]
    waveform_mb = args.minutes * 60 * SAMPLING_RATE * 4 / 2**20
    rss_text = ", ".join(f"{minutes} min: {rss:.0f} MiB" for minutes, rss in points)
    return [
        (
            f"{args.minutes}-minute recording (a real clip each minute, {speech_seconds} s of speech, silence "
            "between), greedy",
            f"{measured['seconds']:.0f} s wall ({args.minutes * 60 / measured['seconds']:.0f}x real time, "
            f"{len(measured['samples'])} pieces decoded)",
            True,
        ),
        (
            "memory while it is transcribed (RSS)",
            f"model loaded: {measured['loaded_rss']:.0f} MiB; {rss_text} ({growth:+.0f} MiB from the first point to "
            f"the last); peak {measured['peak_rss']:.0f} MiB, while the file is decoded (the decoded recording alone "
            f"is {waveform_mb:.0f} MiB of float32)",
            # Flat once the recording is decoded: nothing piles up per piece (the allocator moves RSS by ~100 MiB).
            growth < MEMORY_NOISE_MB,
        ),
    ]


# ---------------------------------------------------------------------------------------------------------------
# the demo under load


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_demo(args, work: Path) -> list[tuple[str, str, bool]]:
    from gradio_client import Client, handle_file

    port = free_port()
    log_path = work / "demo.log"
    command = [sys.executable, "-m", "tiny_audio.cli", "demo", "--port", str(port)]
    with log_path.open("w") as log:
        server = subprocess.Popen(
            command + (["--model", args.model] if args.model else []),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**CHILD_ENV, "GRADIO_ANALYTICS_ENABLED": "False"},
        )
    try:
        deadline = time.monotonic() + 300
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                return [("demo under load", f"the demo did not start: {log_path.read_text()[-500:]}", False)]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        corrupt = work / "corrupt-upload.wav"
        corrupt.write_bytes(broken_files()["not-audio.wav"])
        clips = speech_clips()
        outcomes: list[tuple[float, str]] = []  # (latency s, "ok" / "refused" / what went wrong)
        stop = time.monotonic() + args.demo_seconds

        def client(number: int) -> None:
            api = Client(f"http://127.0.0.1:{port}/", verbose=False, analytics_enabled=False)
            request = 0
            while time.monotonic() < stop:
                request += 1
                bad = request % 10 == 3
                audio = corrupt if bad else clips[(number + request) % len(clips)]
                started = time.perf_counter()
                try:
                    text, _ = api.predict(handle_file(str(audio)), "transcribe", "", False, api_name="/run")
                    outcome = "ok" if text and not bad else f"unexpected answer {text!r}"
                except Exception as error:  # gradio_client raises AppError for a gr.Error; anything else is a fault
                    outcome = "refused" if bad and "decode" in str(error).lower() else f"{type(error).__name__}"
                    outcome = outcome if outcome == "refused" else f"{outcome}: {error}"
                outcomes.append((time.perf_counter() - started, outcome))

        threads = [threading.Thread(target=client, args=(number,)) for number in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        alive = server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=60)
    served = [latency for latency, outcome in outcomes if outcome == "ok"]
    refused = sum(1 for _, outcome in outcomes if outcome == "refused")
    faults = [outcome for _, outcome in outcomes if outcome not in ("ok", "refused")]
    log = log_path.read_text()
    quantiles = statistics.quantiles(served, n=20) if len(served) > 1 else [float("nan")] * 19
    return [
        (
            f"demo, {args.clients} concurrent clients for {args.demo_seconds} s (each one's 3rd, 13th, ... upload "
            "corrupt)",
            f"{len(outcomes)} requests: {len(served)} transcribed, {refused} corrupt uploads refused with a message, "
            f"{len(faults)} faults{f' ({faults[0]})' if faults else ''}; {log.count('Traceback')} tracebacks in the "
            f"server log; server {'up' if alive else 'DOWN'} at the end",
            not faults and alive and "Traceback" not in log and len(served) > 0,
        ),
        (
            "demo latency of a transcription (queued behind the others; the model's default beam search)",
            f"p50 {statistics.median(served) if served else float('nan'):.1f} s, p95 {quantiles[18]:.1f} s",
            True,
        ),
    ]


# ---------------------------------------------------------------------------------------------------------------
# training with bad data, killed and resumed


def training_recipe(work: Path, backbones: dict, batch_size: int) -> Path:
    """A tiny CPU recipe (tests/test_training.py's) on 20 tone clips, a corrupt clip and an empty transcript:
    `filter_examples` drops the empty transcript, which leaves 21 rows, 20 in full batches of 4 with the corrupt
    one always beside 3 good ones at batch size 4."""
    import datasets
    import soundfile
    import tiny_backbones
    import yaml

    from tiny_audio.training.sources import AUDIO, AUDIO_STRUCT

    rows: dict[str, list] = {"audio": [], "text": [], "duration": []}
    words = ["hello", "hi there", "good day", "yes"]
    for index in range(19):
        buffer = io.BytesIO()
        clip = tiny_backbones.tone(0.5 + 0.1 * (index % 4), 200 + 150 * (index % 4), seed=index)
        soundfile.write(buffer, clip, SAMPLING_RATE, format="FLAC")
        rows["audio"].append({"bytes": buffer.getvalue(), "path": f"clip{index}.flac"})
        rows["text"].append(words[index % 4])
        rows["duration"].append(len(clip) / SAMPLING_RATE)
    evaluation = {name: values[:3] for name, values in rows.items()}  # 3 good clips and a corrupt one
    evaluation["audio"] = evaluation["audio"] + [{"bytes": b"not audio either", "path": "corrupt-eval.flac"}]
    evaluation["text"] = evaluation["text"] + ["corrupt evaluation clip"]
    evaluation["duration"] = evaluation["duration"] + [0.5]
    rows["audio"] += [{"bytes": b"not audio at all", "path": "corrupt.flac"}, rows["audio"][0] | {"path": "empty.flac"}]
    rows["text"] += ["corrupt clip", ""]
    rows["duration"] += [0.5, 0.5]
    features = datasets.Features(
        {"audio": AUDIO_STRUCT, "text": datasets.Value("string"), "duration": datasets.Value("float32")}
    )
    corpus, eval_corpus = work / "corpus" / "train.parquet", work / "corpus" / "eval.parquet"
    corpus.parent.mkdir(parents=True, exist_ok=True)
    for table, path in ((rows, corpus), (evaluation, eval_corpus)):
        datasets.Dataset.from_dict(table, features=features).cast_column("audio", AUDIO).to_parquet(str(path))
    recipe = {
        "model": {
            "encoder_name_or_path": str(backbones["whisper"]),
            "decoder_name_or_path": str(backbones["llama"]),
            "projector_stack": 2,
            "projector_hidden_size": 64,
            "decoder_lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]},
            "generation": {"max_new_tokens": 8},
        },
        "data": {"train": [{"parquet": str(corpus)}], "eval": {"parquet": str(eval_corpus)}, "nonspeech_fraction": 0.1},
        # The default recipe's sources of randomness, which a resumed run must replay.
        "augmentation": {"speed_probability": 0.3, "noise_probability": 0.3, "gain_probability": 0.3},
        "training": {
            "output_dir": str(work / "run"),
            "max_steps": TRAINING_STEPS,
            "per_device_train_batch_size": batch_size,
            "ctc_weight": 0.5,
            "train_sampling_strategy": "group_by_length",
            "length_column_name": "duration",
            "dataloader_num_workers": 1,
            "eval_strategy": "no",  # the final evaluation only
            "learning_rate": 3e-3,
            "logging_steps": 1,
            "save_strategy": "steps",
            "save_steps": TRAINING_STEPS // 4,
            "report_to": "none",
            "use_cpu": True,
            "seed": 0,
        },
    }
    path = work / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def train_run(work: Path, backbones: dict, batch_size: int = 4, kill: bool = False) -> dict:
    """`train.py` on `training_recipe`; with `kill`, SIGKILLed once its first checkpoint is written, then rerun."""
    recipe = training_recipe(work, backbones, batch_size)
    command = [sys.executable, str(ROOT / "train.py"), "--config", str(recipe)]
    env = {**CHILD_ENV, "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    logs, killed_at = "", None
    if kill:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        first_checkpoint = work / "run" / f"checkpoint-{TRAINING_STEPS // 4}" / "trainer_state.json"
        while not first_checkpoint.exists() and child.poll() is None and time.perf_counter() - started < 600:
            time.sleep(0.02)
        if child.poll() is None:  # still training: the kill lands mid-run
            child.send_signal(signal.SIGKILL)
            killed_at = max(int(path.name.split("-")[1]) for path in (work / "run").glob("checkpoint-*"))
        logs += child.communicate()[0]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    logs += done.stdout + done.stderr
    summary_path = work / "run" / "model" / "training_summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    last_state = work / "run" / f"checkpoint-{TRAINING_STEPS}" / "trainer_state.json"
    history = json.loads(last_state.read_text())["log_history"] if last_state.is_file() else []
    errors = [line for line in logs.splitlines() if line.startswith(("RuntimeError", "ValueError"))]
    dropped = [line for line in logs.splitlines() if "for empty transcript:" in line]  # filter_examples' line
    return {
        "seconds": time.perf_counter() - started,
        "returncode": done.returncode,
        "steps": summary.get("global_step"),
        "named": sorted(summary.get("skipped_samples", {})),
        "logged": [
            name
            for name in ("corrupt.flac", "corrupt-eval.flac", "empty.flac")
            if f"skipping sample {name}" in logs or any(f"({name})" in line for line in dropped)
        ],
        "losses": {entry["step"]: entry["loss"] for entry in history if "loss" in entry},
        "eval_wer": summary.get("final_eval", {}).get("eval_wer"),
        "resumed": summary.get("resumed_from"),
        "tracebacks": logs.count("Traceback"),
        "killed_at": killed_at,
        "error": errors[-1][:70] + "..." if errors else "",
    }


def check_training(args, work: Path) -> list[tuple[str, str, bool]]:
    sys.path.insert(0, str(ROOT / "tests"))
    import tiny_backbones

    backbones = tiny_backbones.save_all(work / "backbones")
    straight = train_run(work / "straight", backbones)
    killed = train_run(work / "killed", backbones, kill=True)
    alone = train_run(work / "batch-size-1", backbones, batch_size=1)

    def outcome(run: dict) -> str:
        ended = f"exit {run['returncode']}, {run['steps']} steps, {run['tracebacks']} tracebacks"
        ended += f" ({run['error']})" if run["error"] else ""
        return f"{ended}; summary names {', '.join(run['named']) or 'none'}, log {', '.join(run['logged']) or 'none'}"

    return [
        (
            f"training on 19 clips, a corrupt clip and an empty transcript (tiny backbones, {TRAINING_STEPS} steps "
            "of 4 clips)",
            f"straight through: {outcome(straight)}; {straight['seconds']:.0f} s. The empty transcript is dropped "
            "before training (filter_examples), which logs it",
            straight["returncode"] == 0 and straight["steps"] == TRAINING_STEPS and "corrupt.flac" in straight["named"],
        ),
        (
            f"the same run killed (SIGKILL) once checkpoint-{TRAINING_STEPS // 4} was written, then rerun",
            f"killed mid-run (latest checkpoint {killed['killed_at']}); the rerun resumed from "
            f"{Path(killed['resumed'] or 'nothing').name}: {outcome(killed)} ({straight['steps']} straight through); "
            f"{killed['seconds']:.0f} s for both attempts",
            killed["returncode"] == 0
            and killed["killed_at"] is not None
            and bool(killed["resumed"])
            and killed["steps"] == straight["steps"],
        ),
        (
            "the same data at batch size 1 (a batch holding only the corrupt clip)",
            f"{outcome(alone)}",
            alone["returncode"] == 0 and alone["steps"] == TRAINING_STEPS,
        ),
        (
            "a corrupt clip among the 4 evaluation clips (`data.eval`)",
            f"skipped and named (summary: {'yes' if 'corrupt-eval.flac' in straight['named'] else 'no'}); the final "
            f"evaluation ran on the other 3 (WER {straight['eval_wer']})",
            straight["returncode"] == 0
            and "corrupt-eval.flac" in straight["named"]
            and straight["eval_wer"] is not None,
        ),
        replay_row(straight, killed),
        source_kinds_row(work / "sources", backbones),
    ]


def replay_row(straight: dict, killed: dict) -> tuple[str, str, bool]:
    """The losses the killed-and-resumed run logged against those of the run straight through."""
    replayed = sorted(step for step in killed["losses"] if step > (killed["killed_at"] or TRAINING_STEPS))
    common = [step for step in replayed if step in straight["losses"]]
    gap = max((abs(killed["losses"][step] - straight["losses"][step]) for step in common), default=float("nan"))
    first = f"step {common[0]}: {straight['losses'][common[0]]:.4f} straight, {killed['losses'][common[0]]:.4f} resumed"
    return (
        "the killed run's losses after the checkpoint it resumed from, against the straight run's (augmentation, "
        "non-speech clips, CTC loss, length-grouped batches in a dataloader worker)",
        f"{len(common)} steps replayed: largest difference {gap:.1e} ({first if common else 'none compared'})",
        len(common) == len(replayed) > 0 and gap <= 1e-5,
    )


def source_kinds_row(work: Path, backbones: dict) -> tuple[str, str, bool]:
    """Each kind of training source made from files here, loaded and collated; one audiofolder file is corrupt."""
    import numpy as np
    import soundfile
    import yaml
    from hub_datasets import write_dataset_repo

    from tiny_audio.training.collator import PLACEHOLDER, ASRCollator
    from tiny_audio.training.sources import build_training_mix
    from tiny_audio.training.trainer import build_model

    recipe = yaml.safe_load(training_recipe(work, backbones, batch_size=4).read_text())
    corpus = Path(recipe["data"]["train"][0]["parquet"])
    (work / "synth" / "data").mkdir(parents=True)
    (work / "synth" / "data" / "train-00000-of-00001.parquet").write_bytes(corpus.read_bytes())
    folder = work / "folder"
    folder.mkdir()
    tone = (0.3 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    for index in range(3):
        soundfile.write(folder / f"clip{index}.wav", tone * (index + 1) / 3, SAMPLING_RATE)
    (folder / "broken.wav").write_bytes(b"RIFF, but not audio")
    names = ["clip0.wav", "clip1.wav", "broken.wav", "clip2.wav"]
    (folder / "metadata.csv").write_text("file_name,text\n" + "".join(f"{name},hello\n" for name in names))
    buffer = io.BytesIO()
    soundfile.write(buffer, tone, SAMPLING_RATE, format="FLAC")
    write_dataset_repo(work / "hub", "librispeech", {"train.100": ("clean", 8)}, buffer.getvalue())
    specs = {
        "corpus": {"corpus": str(work / "synth")},
        "parquet": {"parquet": str(corpus)},
        "audiofolder": {"audiofolder": str(folder)},
        "Hub layout": {"hub": {"path": str(work / "hub"), "name": "clean", "split": "train.100"}},
    }
    _, processor = build_model(recipe["model"])
    collator = ASRCollator(processor, "Transcribe the audio.")
    found = {}
    for kind, spec in specs.items():
        try:
            rows = list(build_training_mix({"train": [spec]}, seed=0))
            batch = collator(rows)
            found[kind] = f"{len(rows)} rows, {0 if PLACEHOLDER in batch else batch['input_ids'].shape[0]} collated"
        except Exception as error:  # the row reports it: this is what the check is for
            found[kind] = f"failed: {type(error).__name__}: {str(error)[:60]}"
    measured = "; ".join(f"{kind}: {what}" for kind, what in found.items())
    return (
        "each kind of training source (`data.train`) made from files: a corpus, a parquet file, an audiofolder with "
        "metadata.csv (one file corrupt), a Hub dataset's layout on disk",
        f"{measured}; skipped and named: {', '.join(Path(name).name for name in collator.skipped) or 'none'}",
        not any(what.startswith("failed") for what in found.values()) and list(collator.skipped) != [],
    )


# ---------------------------------------------------------------------------------------------------------------


TABLE_START, TABLE_END = "<!-- reliability table: written by benchmarks/reliability.py -->", "<!-- end of table -->"


TABLE_HEAD = ["| check | measured | pass |", "| --- | --- | :---: |"]


def table_rows(page: str) -> dict[str, str]:
    """The rows of the table between the markers of `page`, by their check (first cell)."""
    if TABLE_START not in page or TABLE_END not in page:
        return {}
    inside = page.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    rows = [line for line in inside.splitlines() if line.startswith("| ") and line not in TABLE_HEAD]
    return {row.split(" | ", 1)[0]: row for row in rows}


def write_table(path: Path, rows: list[str], footer: str) -> None:
    """Put the table between the markers of `path` (the rest of the page is prose), or write a page of its own.
    Rows already there whose check was not run this time (`--only`) are kept, so a partial run updates its rows."""
    page = path.read_text(encoding="utf-8") if path.is_file() else ""
    merged = table_rows(page)
    for row in rows:
        merged[row.split(" | ", 1)[0]] = row
    table = "\n".join(TABLE_HEAD + list(merged.values())) + f"\n\n{footer}\n"
    if TABLE_START in page and TABLE_END in page:
        before, rest = page.split(TABLE_START, 1)
        page = f"{before}{TABLE_START}\n{table}{TABLE_END}{rest.split(TABLE_END, 1)[1]}"
    else:
        page = f"# Reliability\n\n{TABLE_START}\n{table}{TABLE_END}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        return worker(sys.argv[2:])
    if len(sys.argv) > 1 and sys.argv[1] == "long-worker":
        return long_worker(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: the embedded default model)")
    parser.add_argument("--clips", type=int, default=200, help="files in the folder, broken ones included")
    parser.add_argument("--broken", type=int, default=10, help="how many of them are broken")
    parser.add_argument("--batch-size", type=int, default=4, help="clips per model call in the folder check")
    parser.add_argument("--minutes", type=int, default=60, help="length of the long recording")
    parser.add_argument("--demo-seconds", type=int, default=120)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0, help="picks the point at which the folder run is killed")
    parser.add_argument("--only", default="folder,long,demo,training,options", help="comma-separated checks to run")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "reliability.md")
    args = parser.parse_args()
    checks = {
        "folder": check_folder,
        "long": check_long,
        "demo": check_demo,
        "training": check_training,
        "options": lambda args, work: check_options(args, work, CHILD_ENV),
    }
    chosen = [name.strip() for name in args.only.split(",")]
    if unknown := sorted(set(chosen) - set(checks)):
        parser.error(f"unknown checks {unknown}; choose from {', '.join(checks)}")
    rows, seconds = [], {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="reliability-") as directory:
        for name in chosen:
            started = time.perf_counter()
            work = Path(directory) / name
            work.mkdir()
            rows += checks[name](args, work)
            seconds[name] = time.perf_counter() - started
            print(f"{name}: {seconds[name]:.0f} s", flush=True)
    lines = [f"| {check} | {measured} | {'✅' if passed else '❌'} |" for check, measured, passed in rows]
    timing = ", ".join(f"{name} {value:.0f} s" for name, value in seconds.items())
    # Other work on the machine slows every row down several times over (torch's threads wait for taken cores).
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} CPUs"
    footer = f"Wall time of the last run ({args.only}): {timing}; total {sum(seconds.values()):.0f} s ({load})."
    print("\n".join(TABLE_HEAD + lines) + f"\n\n{footer}")
    if args.output:
        write_table(args.output, lines, footer)
        print(f"(table written to {args.output})")
    return 0 if all(passed for *_, passed in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
