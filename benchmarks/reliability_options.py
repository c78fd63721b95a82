"""The `options` check of benchmarks/reliability.py (issue 48): what a hostile but fair user tried, run again.

- every bad option of `tiny-audio transcribe`, `eval` and `train` (out of range, past a bound, not a number, a
  device this machine lacks): exit status 2 and one error line before any file is read or model loaded;
- `generate_kwargs={"num_beams": 1000}` on the 4 s sample through the Python pipeline (it ran past 420 s and 14.7 GB
  before the bound): refused, with its time and peak RSS;
- URLs on the command line: one served by a local http.server, one on a closed port, and a local file;
- a pickle-only `--model` folder (the embedded model's config.json, its remote code and a pytorch_model.bin);
- a float array of peak 50, and a float WAV of the same.
"""

from __future__ import annotations

import functools
import http.server
import pickle
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tiny_audio" / "samples" / "hello.wav"
DEFAULT_MODEL = ROOT / "tiny_audio" / "default_model"
CLI = [sys.executable, "-m", "tiny_audio.cli"]

# (command after `tiny-audio`, the text its one error line must hold); DIR is a folder of 7 copies of the sample.
BAD_OPTIONS = [
    (["transcribe", "DIR", "--max-new-tokens", "0"], "max_new_tokens=0 is not accepted"),
    (["transcribe", "DIR", "--max-new-tokens", "100000"], "give a whole number from 1 to 1024"),
    (["transcribe", "DIR", "--num-beams", "1000"], "give a whole number from 1 to 32"),
    (["transcribe", "DIR", "--batch-size", "100000"], "give a whole number from 1 to 256"),
    (["transcribe", "DIR", "--chunk-length-s", "3600"], "give a number of seconds from 1 to 30"),
    (["transcribe", "DIR", "--chunk-length-s", "0.1"], "give a number of seconds from 1 to 30"),
    (["transcribe", "DIR", "--ctc-decoding-weight", "1"], "ctc_decoding_weight=1.0 is not accepted"),
    (["transcribe", "DIR", "--frequency-warps", "0.1"], "give factors from 0.5 to 2"),
    (["transcribe", "DIR", "--device", "gpu"], "'gpu' is not a device name"),
    (["eval", "DIR", "--dataset", "DIR", "--batch-size", "0"], "give a whole number from 1 to 256"),
    (["eval", "DIR", "--dataset", "DIR", "--max-samples", "-5"], "give a whole number of 1 or more"),
    (["eval", "DIR", "--dataset", "DIR", "--checkpoint-every", "0"], "give a whole number of 1 or more"),
    (["train", "--check", "--gpus", "0"], "give a whole number of 1 or more"),
    (["train", "--check", "--gpu-memory-gb", "-1"], "give a number above 0"),
    (["train", "--config", "no-such-recipe.yaml"], "No recipe at no-such-recipe.yaml"),
]


def _run(command: list[str], env: dict, timeout: float = 600) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    return done, time.perf_counter() - started


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ") or ": error: " in line]


def bad_options_row(work: Path, env: dict) -> tuple[str, str, bool]:
    folder = work / "seven"
    folder.mkdir()
    for index in range(7):
        shutil.copyfile(SAMPLE, folder / f"{index}.wav")
    passed, seconds, outcomes = 0, [], []
    for arguments, expected in BAD_OPTIONS:
        out = work / "out"
        command = [str(folder) if argument == "DIR" else argument for argument in arguments]
        extra = ["--output-dir", str(out)] if command[0] in ("transcribe", "eval") else []
        done, elapsed = _run([*CLI, *command, *extra], env)
        errors = _error_lines(done.stderr)
        ok = done.returncode == 2 and len(errors) == 1 and expected in errors[0] and "Traceback" not in done.stderr
        ok = ok and not out.exists()  # nothing written: no file read, no model loaded
        passed += ok
        seconds.append(elapsed)
        if not ok:
            outcomes.append(f"`{' '.join(arguments)}`: exit {done.returncode}, {errors[-1:] or done.stderr[-300:]}")
        shutil.rmtree(out, ignore_errors=True)
    example = _error_lines(_run([*CLI, "transcribe", str(folder), "--max-new-tokens", "0"], env)[0].stderr)[0]
    measured = (
        f"{passed} of {len(BAD_OPTIONS)} commands exit 2 with one error line before any file or model (no output "
        f"written; {max(seconds):.1f} s at most, the start of Python); e.g. `transcribe DIR --max-new-tokens 0` on 7 "
        f"files: `{example.split('error: ', 1)[1]}`" + (f"; failed: {'; '.join(outcomes)}" if outcomes else "")
    )
    return (
        "every bad option of transcribe, eval and train (out of range, past a bound, not a number, no such device)",
        measured,
        passed == len(BAD_OPTIONS),
    )


BEAMS_PROBE = """
import resource, sys, time
from tiny_audio.app.transcribe import load_pipeline
asr = load_pipeline()
started = time.perf_counter()
try:
    asr(sys.argv[1], generate_kwargs={"num_beams": 1000})
    print("accepted")
except ValueError as error:
    print(f"refused in {time.perf_counter() - started:.2f} s: {error}")
print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
"""


def beams_row(env: dict) -> tuple[str, str, bool]:
    done, _ = _run([sys.executable, "-c", BEAMS_PROBE, str(SAMPLE)], env)
    lines = done.stdout.strip().splitlines()
    ok = done.returncode == 0 and lines[:1] and lines[0].startswith("refused") and "from 1 to 32" in lines[0]
    measured = "; ".join(lines) if lines else done.stderr[-300:]
    return ('`generate_kwargs={"num_beams": 1000}` on the 4 s sample (Python pipeline)', measured, bool(ok))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def urls_row(work: Path, env: dict, model: str | None) -> tuple[str, str, bool]:
    handler = functools.partial(_QuietHandler, directory=str(SAMPLE.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    good, bad = f"http://127.0.0.1:{server.server_address[1]}/hello.wav", f"http://127.0.0.1:{_closed_port()}/x.wav"
    local = work / "local.wav"
    shutil.copyfile(SAMPLE, local)
    try:
        command = [*CLI, "transcribe", good, bad, str(local), "--num-beams", "1"] + (
            ["--model", model] if model else []
        )
        done, elapsed = _run(command, env)
    finally:
        server.shutdown()
        server.server_close()
    texts = [line for line in done.stdout.splitlines() if "\t" in line]
    errors = _error_lines(done.stderr)
    ok = (
        done.returncode == 1
        and [line.split("\t")[0] for line in texts] == [good, str(local)]
        and len(errors) == 2
        and errors[0].startswith(f"error: {bad}: Cannot fetch audio from {bad}")
    )
    measured = (
        f"{len(texts)} of 3 transcribed (the served URL and the file), exit {done.returncode}; the closed port: "
        f"`{errors[0] if errors else done.stderr[-300:]}`; {elapsed:.0f} s"
    )
    return ("URLs on the command line: one served by http.server on 127.0.0.1, one on a closed port", measured, ok)


def pickle_row(work: Path, env: dict) -> tuple[str, str, bool]:
    folder = work / "pickled"
    folder.mkdir()
    for path in DEFAULT_MODEL.iterdir():
        if path.suffix in (".py", ".jinja", ".json") and path.name != "training_summary.json":
            shutil.copy(path, folder / path.name)
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": [0.0]}))
    done, elapsed = _run([*CLI, "transcribe", str(SAMPLE), "--model", str(folder)], env)
    lines = done.stderr.strip().splitlines()
    ok = done.returncode == 2 and len(lines) == 1 and "has no model.safetensors" in lines[0]
    verbose, _ = _run([*CLI, "transcribe", str(SAMPLE), "--model", str(folder), "--verbose"], env)
    measured = (
        f"exit {done.returncode}, {len(lines)} line(s), {done.stderr.count('Traceback')} tracebacks: "
        f"`{lines[0] if lines else ''}`; with --verbose {len(verbose.stderr.splitlines())} lines (the full error); "
        f"{elapsed:.0f} s"
    )
    return ("a pickle-only `--model` folder (config.json, remote code, pytorch_model.bin)", measured, ok)


def loud_row(work: Path) -> tuple[str, str, bool]:
    import soundfile

    from tiny_audio.model.audio_input import load_audio

    loud = (50 * np.sin(np.arange(16_000) / 8)).astype(np.float32)
    soundfile.write(work / "loud.wav", loud, 16_000, subtype="FLOAT")
    said = []
    for audio in (loud, str(work / "loud.wav")):
        try:
            load_audio(audio)
            said.append("accepted")
        except ValueError as error:
            said.append(str(error))
    ok = all("float audio is accepted in [-1, 1]" in text for text in said)
    return ("a float array of peak 50, and a float WAV of the same", f"both refused: `{said[0]}`", ok)


def check_options(args, work: Path, env: dict) -> list[tuple[str, str, bool]]:
    return [bad_options_row(work, env), beams_row(env), urls_row(work, env, args.model), pickle_row(work, env)] + [
        loud_row(work)
    ]
