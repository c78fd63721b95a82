"""Where decoding time goes: the default model's decoding options against each other, on the same clips, in one run.

    python benchmarks/decoding_speed.py [--model DIR] [--clips 8] [--repeats 2]

Each row decodes the same batch of real speech (the `dev-real` clips, Debian's pocketsphinx-testdata) and prints
its wall time (best of --repeats) and the ratio to the first row, which is what `tiny-audio transcribe` does:
  - backbones in bfloat16 against float32 (on a CPU without native bf16, from_pretrained picks float32 itself);
  - without test-time frequency warps (`frequency_warps`: one encoder pass per factor);
  - without CTC prefix scoring in the search (`ctc_decoding_weight`), greedy.
Under a row whose texts differ from the first row's, how many do.
"""

from __future__ import annotations

import argparse
import time

import torch

from tiny_audio import ASRModel
from tiny_audio.app.transcribe import default_model
from tiny_audio.data.dev_real import dev_clips
from tiny_audio.model.audio_input import load_audio
from tiny_audio.model.processing_asr import ASRProcessor

ROWS = [  # (label, backbone dtype, generate() options beyond the model's config)
    ("default: 4 beams, CTC prefix 0.2, 3 frequency warps, float32 here", None, {}),
    ("  no frequency warps (one encoder pass)", None, {"frequency_warps": [1.0]}),
    ("  7 frequency warps, 0.85-1.15", None, {"frequency_warps": [0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15]}),
    ("  bfloat16 backbones", torch.bfloat16, {}),
    ("  no CTC in the search", None, {"ctc_decoding_weight": 0.0}),
    ("  greedy (CTC prefix 0.2)", None, {"num_beams": 1}),
    ("  greedy, no CTC", None, {"num_beams": 1, "ctc_decoding_weight": 0.0}),
]


def best_time(function, repeats: int) -> tuple[float, torch.Tensor]:
    function()  # warm-up
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="saved model directory (default: the embedded default model)")
    parser.add_argument("--clips", type=int, default=8, help="how many dev-real clips to decode in one batch")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    directory = args.model or default_model()
    processor = ASRProcessor.from_pretrained(directory)
    clips = [load_audio(str(clip.path)) for clip in dev_clips()[: args.clips]]
    seconds = sum(len(clip) for clip in clips) / 16_000
    models: dict = {}
    baseline, first_texts = None, None
    print(f"{len(clips)} clips, {seconds:.1f} s of audio, {torch.get_num_threads()} threads")
    for label, dtype, options in ROWS:
        if dtype not in models:
            models[dtype] = ASRModel.from_pretrained(directory, dtype=dtype).eval()
        model = models[dtype]
        batch = processor(audio=clips, instruction=model.config.instruction())
        wall, tokens = best_time(lambda: model.generate(**batch, **options), args.repeats)  # noqa: B023
        texts = processor.batch_decode(tokens, skip_special_tokens=True)
        baseline = baseline or wall
        first_texts = first_texts or texts
        print(f"{label:68s} {wall:7.2f} s  RTFx {seconds / wall:5.2f}  x{wall / baseline:5.2f} the first row's time")
        if texts != first_texts:
            changed = sum(a != b for a, b in zip(texts, first_texts, strict=True))
            print(f"{'':68s} {changed} of {len(texts)} texts differ from the first row's")


if __name__ == "__main__":
    main()
