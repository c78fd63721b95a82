"""Long recordings against the same speech clip by clip: does the pipeline drift when it reads a long file?

    python benchmarks/long_audio.py                                  # the embedded model, both sets, a few minutes
    python benchmarks/long_audio.py --chunk-length-s 10 20 --greedy  # other piece lengths, greedy decoding

Each set's clips are read one by one (the clip-by-clip WER), then joined into one recording with a pause between
clips (`--pause-s`) and read as one file, cut into pieces by the pipeline (the long-read WER). A pipeline that does not
drift reads both at about the same WER. Two sets, so that no setting is chosen on the 91 words of one:
- dev-real: the 10 real clips of Debian's pocketsphinx-testdata, about 45 s back to back;
- synthetic: the 24 held-out synthetic clips of tests/data/embedded_texts (voices the model never trained on).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from tiny_audio.evaluation.scoring import score
from tiny_audio.model.audio_input import load_audio
from tiny_audio.model.constants import SAMPLING_RATE

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "tests" / "data" / "embedded_texts" / "synthetic"


def dev_real_set() -> list[tuple[np.ndarray, str]]:
    from tiny_audio.data.dev_real import dev_clips

    return [(load_audio(str(clip.path)), clip.text) for clip in dev_clips()]


def synthetic_set() -> list[tuple[np.ndarray, str]]:
    return [
        (load_audio(str(path)), path.with_suffix(".txt").read_text().strip())
        for path in sorted(SYNTHETIC.glob("*.flac"))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "tiny_audio" / "default_model"))
    parser.add_argument(
        "--chunk-length-s", type=float, nargs="+", default=[None], help="piece lengths (default: the pipeline's)"
    )
    parser.add_argument("--greedy", action="store_true", help="num_beams=1 (default: the model's own decoding)")
    parser.add_argument("--pause-s", type=float, default=0.75, help="silence between clips in the long recording")
    parser.add_argument("--sets", nargs="+", default=["dev-real", "synthetic"], choices=["dev-real", "synthetic"])
    args = parser.parse_args()

    from transformers import pipeline

    asr = pipeline("automatic-speech-recognition", model=args.model, trust_remote_code=True)
    generate_kwargs = {"num_beams": 1} if args.greedy else {}
    pause = np.zeros(int(args.pause_s * SAMPLING_RATE), dtype=np.float32)
    rows = []
    for name in args.sets:
        clips = dev_real_set() if name == "dev-real" else synthetic_set()
        references = [text for _, text in clips]
        texts = [asr(audio, generate_kwargs=generate_kwargs)["text"] for audio, _ in clips]
        by_clip = score(references, texts)
        recording = np.concatenate([part for audio, _ in clips for part in (audio, pause)])
        for chunk in args.chunk_length_s:
            start = time.perf_counter()
            text = asr(recording, chunk_length_s=chunk, generate_kwargs=generate_kwargs)["text"]
            seconds = time.perf_counter() - start
            long_read = score([" ".join(references)], [text])
            rows.append((name, chunk, recording.shape[0] / SAMPLING_RATE, by_clip, long_read, seconds))
            print(f"{name} long read (chunk_length_s={chunk}): {text}", flush=True)

    decoding = "greedy" if args.greedy else "the model's own decoding"
    print(f"\n{args.model}, {decoding}, {args.pause_s} s between clips\n")
    print("| set | audio s | chunk_length_s | words | clip by clip WER | long read WER | difference | long read s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, chunk, seconds, by_clip, long_read, wall in rows:
        gap = 100 * (long_read.wer - by_clip.wer)
        print(
            f"| {name} | {seconds:.1f} | {chunk or 'default'} | {by_clip.reference_words} | {100 * by_clip.wer:.1f}% | "
            f"{100 * long_read.wer:.1f}% | {gap:+.1f} | {wall:.1f} |"
        )


if __name__ == "__main__":
    main()
