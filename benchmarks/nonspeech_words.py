"""How many words a model writes when nobody speaks: noise, hum and near-silence clips (never seen in training).

    python benchmarks/nonspeech_words.py [MODEL_DIR] [--clips 20] [--no-baseline]

Compares the tiny-audio model (default: the embedded one) with stock Whisper tiny.en on the same clips
(`--no-baseline` leaves Whisper out: it writes hundreds of words per clip, which takes minutes on a CPU). The clips
come from the training generator with seeds far outside the ones training uses, plus the 1.4 s white-noise clip that
makes stock Whisper tiny.en ramble.
"""

from __future__ import annotations

import argparse

import numpy as np
from transformers import pipeline

from tiny_audio.app.transcribe import default_model
from tiny_audio.evaluation.scoring import count_words
from tiny_audio.training.nonspeech import nonspeech_clip

EVAL_SEED_BASE = 987_654_321  # training uses seed * 1_000_003 + index with small seeds


def clips(count: int) -> list[np.ndarray]:
    white = np.random.default_rng(0).normal(0, 0.1, int(1.4 * 16_000)).astype(np.float32)
    return [white] + [nonspeech_clip(EVAL_SEED_BASE + index) for index in range(count - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="tiny-audio model directory or Hub id (default: embedded model)")
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--no-baseline", action="store_true", help="measure the tiny-audio model only")
    args = parser.parse_args()
    audio = clips(args.clips)
    systems = {"tiny-audio": pipeline(model=args.model or default_model(), trust_remote_code=True)}
    if not args.no_baseline:
        systems["openai/whisper-tiny.en"] = pipeline("automatic-speech-recognition", model="openai/whisper-tiny.en")
    print(f"{len(audio)} non-speech clips ({sum(len(a) for a in audio) / 16_000:.1f} s)")
    print("| model | words, all clips | clips with any words | most words on one clip | words on 1.4 s white noise |")
    print("| --- | --- | --- | --- | --- |")
    for name, asr in systems.items():
        counts = [count_words(asr({"raw": clip, "sampling_rate": 16_000})["text"]) for clip in audio]
        nonzero = sum(count > 0 for count in counts)
        print(f"| {name} | {sum(counts)} | {nonzero}/{len(counts)} | {max(counts)} | {counts[0]} |", flush=True)


if __name__ == "__main__":
    main()
