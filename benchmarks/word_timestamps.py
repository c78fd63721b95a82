"""Word timestamps against known boundaries: tiny-audio (CTC forced alignment) beside the stock Whisper pipeline.

    python benchmarks/word_timestamps.py [--model DIR] [--whisper openai/whisper-tiny.en] [--clips 10]
                                         [--num-beams N] [--output table.md]

Speech with known word boundaries: espeak-ng reads Harvard sentences (IEEE 1969; lists 3-5, three sentences to a
clip) in five voices, and its library reports where each word's first phoneme starts and where the next phoneme (a
pause or the next word) begins (benchmarks/espeak_timing.py). The tuning of model/alignment.py (JOIN_GAP) used
lists 1-2 in four other voices, never these clips.

Both systems transcribe every clip through `pipeline(...)(clip, return_timestamps="word")`: tiny-audio with the
model's own decoding (unless --num-beams), Whisper with the stock transformers pipeline (cross-attention alignment
heads + dynamic time warping). Each system's words are matched to the reference words in order (same lower-cased
letters and digits, difflib), and the absolute start and end errors of the matched words are reported: mean and
90th percentile in ms, over each system's matched words and over the words both matched.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # espeak_timing.py lies beside this script
from espeak_timing import TimedWord, synthesise  # noqa: E402

from tiny_audio.app.transcribe import default_model  # noqa: E402

HARVARD_LISTS_3_TO_5 = [
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.",
    "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.",
    "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.",
    "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.",
    "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.",
    "What joy there is in living.",
    "A king ruled the state in the early days.",
    "The ship was torn apart on the sharp reef.",
    "Sickness kept him home the third week.",
    "The wide road shimmered in the hot sun.",
    "The lazy cow lay in the cool grass.",
    "Lift the square stone over the fence.",
    "The rope will bind the seven books at once.",
    "Hop over the fence and plunge in.",
    "The friendly gang left the drug store.",
    "Mesh wire keeps chicks inside.",
]
VOICES = ["en", "en-029", "en+f4", "en-us+m5", "en-gb-scotland"]  # none of them in the tuning clips
SENTENCES_PER_CLIP = 3


def benchmark_clips(count: int) -> list[tuple[np.ndarray, list[TimedWord]]]:
    clips = []
    for index in range(count):
        first = index * SENTENCES_PER_CLIP % len(HARVARD_LISTS_3_TO_5)
        text = " ".join(HARVARD_LISTS_3_TO_5[first : first + SENTENCES_PER_CLIP])
        clips.append(synthesise(text, voice=VOICES[index % len(VOICES)]))
    return clips


def normalise(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


def matched_errors(chunks: list[dict], reference: list[TimedWord]) -> dict[int, tuple[float, float]]:
    """Reference word index → (start error, end error) in seconds, for each hypothesis word matched to it."""
    hypothesis = [normalise(chunk["text"]) for chunk in chunks]
    matcher = difflib.SequenceMatcher(a=hypothesis, b=[normalise(word.text) for word in reference], autojunk=False)
    errors = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            chunk, word = chunks[block.a + offset], reference[block.b + offset]
            start, end = chunk["timestamp"]
            end = start if end is None else end  # Whisper may leave a last word open
            errors[block.b + offset] = (start - word.start, end - word.end)
    return errors


def summary(errors: list[tuple[float, float]]) -> list[str]:
    starts = np.abs([error[0] for error in errors]) * 1000
    ends = np.abs([error[1] for error in errors]) * 1000
    if not len(starts):
        return ["-"] * 4
    return [
        f"{np.mean(starts):.0f}",
        f"{np.percentile(starts, 90):.0f}",
        f"{np.mean(ends):.0f}",
        f"{np.percentile(ends, 90):.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="tiny-audio model directory (default: the embedded model)")
    parser.add_argument("--whisper", default="openai/whisper-tiny.en", help="the stock Whisper model to compare")
    parser.add_argument("--clips", type=int, default=10, help="clips of three sentences (10 use lists 3-5 once)")
    parser.add_argument("--num-beams", type=int, help="tiny-audio's beam width (default: the model's)")
    parser.add_argument("--output", type=Path, help="also write the markdown table here")
    args = parser.parse_args()
    from transformers import pipeline

    clips = benchmark_clips(args.clips)
    seconds = sum(len(audio) for audio, _ in clips) / 16_000
    words = sum(len(reference) for _, reference in clips)
    tiny_options = {"generate_kwargs": {"num_beams": args.num_beams}} if args.num_beams else {}
    systems = {
        "tiny-audio (CTC forced alignment)": (
            pipeline(
                "automatic-speech-recognition",
                model=args.model or default_model(),
                trust_remote_code=True,
                model_kwargs={"dtype": torch.float32},
            ),
            tiny_options,
        ),
        f"{args.whisper}, stock pipeline (cross-attention DTW)": (
            pipeline("automatic-speech-recognition", model=args.whisper),
            {},
        ),
    }
    print(f"{len(clips)} clips, {seconds:.1f} s of speech, {words} words, {torch.get_num_threads()} threads")
    all_errors: dict[str, list[dict[int, tuple[float, float]]]] = {}
    elapsed: dict[str, float] = {}
    for name, (asr, options) in systems.items():
        started = time.perf_counter()
        all_errors[name] = []
        for number, (audio, reference) in enumerate(clips, start=1):
            result = asr(audio.copy(), return_timestamps="word", **options)
            all_errors[name].append(matched_errors(result["chunks"], reference))
            print(f"  {name}, clip {number}: {result['text'].strip()}", file=sys.stderr)
        elapsed[name] = time.perf_counter() - started
    rows = [
        "| system | words matched | start error mean (ms) | start p90 | end error mean (ms) | end p90 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, per_clip in all_errors.items():
        errors = [error for clip in per_clip for error in clip.values()]
        rows.append(f"| {name} | {len(errors)}/{words} | {' | '.join(summary(errors))} |")
        print(f"{name}: {elapsed[name]:.0f} s", file=sys.stderr)
    names = list(all_errors)
    common = [set.intersection(*(set(all_errors[name][k]) for name in names)) for k in range(len(clips))]
    for name, per_clip in all_errors.items():
        errors = [per_clip[k][index] for k, indices in enumerate(common) for index in indices]
        rows.append(f"| {name}, words both matched | {len(errors)}/{words} | {' | '.join(summary(errors))} |")
    table = "\n".join(rows)
    print(table)
    if args.output:
        args.output.write_text(table + "\n")


if __name__ == "__main__":
    main()
