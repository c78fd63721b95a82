"""Peak memory of `tiny-audio transcribe` against the length of the recording (issue 48): bounded by the piece?

    python benchmarks/long_audio_memory.py build --minutes 2 20 60 --folder /tmp/long-audio
    python benchmarks/long_audio_memory.py measure --folder /tmp/long-audio [--checkout DIR] [--format wav]

`build` writes `long{N}m.wav` (16 kHz 16-bit mono PCM, streamed to disk; nothing is held but one clip) of real speech
for each `--minutes`: the clips of ../shared/data/ivr-dev/audio (*.flac) and Debian's pocketsphinx LibriVox lines
(*.wav), in a shuffled order that repeats when they run out, with 0.5 to 1.5 s of digital silence between clips.
`--format flac` also writes `long{N}m.flac` (soundfile) for the compressed path. Fixed seed: the same files each time.

`measure` runs, for each recording in `--folder`, one after another,
    /usr/bin/time -v python -m tiny_audio.cli transcribe FILE --num-beams 1      (`--options` changes the options)
with PYTHONPATH at `--checkout` (default: this checkout; point it at another worktree for the figures before a
change) and prints the maximum resident set size of each and the ratio of each to the next shorter one. Issue 48's
target: 20 minutes within 10% of 2 minutes, 60 within 10% of 20. The recordings are large: keep them out of the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLING_RATE = 16_000
CLIP_FOLDERS = (
    (ROOT.parent / "shared" / "data" / "ivr-dev" / "audio", "*.flac"),
    (Path("/usr/share/pocketsphinx/test/data/librivox"), "*.wav"),
)
TARGET_RATIO = 1.10  # issue 48: each length's peak within 10% of the next shorter one's


def speech_files() -> list[Path]:
    """The real clips on this machine, sorted."""
    found = sorted(path for folder, pattern in CLIP_FOLDERS for path in folder.glob(pattern))
    if not found:
        raise SystemExit(f"no speech clips found in {', '.join(str(folder) for folder, _ in CLIP_FOLDERS)}")
    return found


def build(minutes: float, target: Path, seed: int = 0) -> float:
    """Write `minutes` of clips with pauses to `target` (a .wav); returns the seconds of speech in it."""
    from tiny_audio.model.audio_input import load_audio

    files = speech_files()
    chooser = random.Random(seed)
    total = int(minutes * 60 * SAMPLING_RATE)
    written = speech = 0
    order: list[Path] = []
    with wave.open(str(target), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLING_RATE)
        while written < total:
            if not order:
                order = chooser.sample(files, len(files))
            clip = load_audio(order.pop(), check=False)[: total - written]
            pause = np.zeros(min(int(chooser.uniform(0.5, 1.5) * SAMPLING_RATE), total - written - clip.size))
            samples = np.concatenate([clip, pause])
            writer.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
            written += samples.size
            speech += clip.size
    return speech / SAMPLING_RATE


def as_flac(source: Path) -> Path:
    """`source` copied to FLAC in blocks (soundfile), beside it."""
    import soundfile

    target = source.with_suffix(".flac")
    with soundfile.SoundFile(str(source)) as reader:
        with soundfile.SoundFile(str(target), "w", reader.samplerate, 1, "PCM_16", format="FLAC") as writer:
            for block in reader.blocks(blocksize=60 * SAMPLING_RATE, dtype="int16"):
                writer.write(block)
    return target


# `--audio-path-only`: the command line as it is, but the model's generate() answers at once with an end token, so what
# is measured is reading, checking, cutting and featurising the audio, and the pipeline's bookkeeping per piece.
STUBBED_CLI = """
import runpy, sys, torch
import tiny_audio.app.transcribe as transcribe
load = transcribe.load_pipeline
def load_stubbed(*args, **kwargs):
    asr = load(*args, **kwargs)
    end = asr.processor.tokenizer.eos_token_id
    asr.model.generate = lambda **batch: torch.full((batch["input_ids"].shape[0], 1), end)
    return asr
transcribe.load_pipeline = load_stubbed
sys.argv = ["tiny-audio", *sys.argv[1:]]
runpy.run_module("tiny_audio.cli", run_name="__main__")
"""


def max_rss_mib(checkout: Path, audio: Path, options: list[str], stub: bool = False) -> tuple[float, float, str]:
    """(max RSS in MiB, wall seconds, transcript) of one `tiny-audio transcribe` run under /usr/bin/time -v."""
    program = ["-c", STUBBED_CLI] if stub else ["-m", "tiny_audio.cli"]
    command = ["/usr/bin/time", "-v", sys.executable, *program, "transcribe", str(audio), *options]
    # A modules cache of its own: transformers copies the model's remote code there by folder name, so two
    # checkouts measured at once would otherwise run each other's code.
    with tempfile.TemporaryDirectory(prefix="hf-modules-") as modules:
        env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": modules}
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=checkout, env=env)
        seconds = time.perf_counter() - started
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"{audio}: transcribe failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1)) / 1024, seconds, done.stdout.strip()


def minutes_of(path: Path) -> float:
    import soundfile

    return soundfile.info(str(path)).duration / 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("build", "measure"))
    parser.add_argument("--folder", type=Path, default=Path("/tmp/long-audio"), help="where the recordings are")
    parser.add_argument("--minutes", type=float, nargs="+", default=[2, 20, 60], help="lengths to build")
    parser.add_argument("--format", choices=("wav", "flac"), default="wav", help="which recordings to measure")
    parser.add_argument("--also-flac", action="store_true", help="build: also write a FLAC copy of each")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the tiny-audio checkout to measure")
    parser.add_argument(
        "--options",
        default="--num-beams 1",
        help="transcribe's options (default: greedy, as issue 48; add `--ctc-decoding-weight 0 --frequency-warps 1` "
        "for a run about 4 times as fast on a busy CPU, one encoder pass and no CTC scoring per step)",
    )
    parser.add_argument(
        "--audio-path-only",
        action="store_true",
        help="answer every generate() call at once with an end token: measures the audio's way through the command "
        "line and the pipeline (decoding, checks, cutting, features) without the model's decoding, in minutes",
    )
    args = parser.parse_args()
    if args.action == "build":
        args.folder.mkdir(parents=True, exist_ok=True)
        for minutes in args.minutes:
            target = args.folder / f"long{minutes:g}m.wav"
            speech = build(minutes, target)
            print(f"{target}: {minutes:g} min, {speech / 60:.1f} min of speech", flush=True)
            if args.also_flac:
                print(f"{as_flac(target)}", flush=True)
        return 0
    recordings = sorted(args.folder.glob(f"long*m.{args.format}"), key=minutes_of)
    if not recordings:
        raise SystemExit(f"no long*m.{args.format} in {args.folder}; run `build` first")
    rows = []
    for path in recordings:
        peak, seconds, text = max_rss_mib(args.checkout.resolve(), path, args.options.split(), args.audio_path_only)
        rows.append((minutes_of(path), peak, seconds, len(text.split())))
        print(json.dumps({"file": str(path), "max_rss_mib": round(peak, 1), "wall_s": round(seconds)}), flush=True)
    stubbed = ", generate() stubbed (--audio-path-only)" if args.audio_path_only else ""
    checkout = f"{args.checkout.resolve()} (git {_commit(args.checkout)})"
    print(f"\n{checkout}, {args.format}, transcribe {args.options}{stubbed}\n")
    print("| recording | words | wall s | max RSS MiB | ratio to the shorter one | within 10% |")
    print("|---|---:|---:|---:|---:|:---:|")
    for index, (minutes, peak, seconds, words) in enumerate(rows):
        ratio = peak / rows[index - 1][1] if index else None
        verdict = "" if ratio is None else ("yes" if ratio <= TARGET_RATIO else "no")
        ratio_text = "" if ratio is None else f"{ratio:.3f}"
        print(f"| {minutes:.0f} min | {words} | {seconds:.0f} | {peak:.0f} | {ratio_text} | {verdict} |")
    return 0


def _commit(checkout: Path) -> str:
    done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
