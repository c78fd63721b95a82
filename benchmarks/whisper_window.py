"""How much Whisper's encoder loses when it reads a clip alone, measured by Whisper's own decoder on real speech.

    python benchmarks/whisper_window.py [--clips 120] [--windows 10 5]

Whisper tiny.en's own decoder reads `ivr-dev` clips (a fixed random draw) from encoder frames made four ways:
- stock: the clip padded to 30 s, as Whisper was pretrained and as its pipeline reads it;
- a window of N s: the clip followed by the feature extractor's silence up to N s (the stock input, cut);
- the clip alone (tiny-audio's `whisper_encode`, as the model runs it).
Whisper's decoder learned to read 1,500 frames, so every way hands it the clip's own frames followed by the stock
run's frames past the clip: only the frames of the speech differ. Prints each way's WER and its encoder time per
clip (mean, this CPU), with the ratio against the stock run measured in the same loop. Needs the offline
openai/whisper-tiny.en (`tiny-audio backbones`) and ../shared/data/ivr-dev.
"""

from __future__ import annotations

import argparse
import csv
import time

import numpy as np
import torch
from tqdm import tqdm
from transformers import WhisperForConditionalGeneration, WhisperProcessor
from transformers.modeling_outputs import BaseModelOutput

from tiny_audio.evaluation.ivr_dev import ivr_dev_manifest
from tiny_audio.evaluation.scoring import count_words, score
from tiny_audio.model.audio_input import load_audio
from tiny_audio.model.whisper_encoder import whisper_encode

MODEL = "openai/whisper-tiny.en"
MEL_FRAMES_PER_SECOND = 100  # Whisper's log-mel hop: 160 samples at 16 kHz


def clips(count: int, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """`count` (reference, waveform) pairs drawn from ivr-dev with a fixed seed."""
    manifest = ivr_dev_manifest()
    with open(manifest, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    chosen = sorted(np.random.default_rng(seed).choice(len(rows), min(count, len(rows)), replace=False))
    return [(rows[i]["text"], load_audio(str(manifest.parent / rows[i]["file"]), check=False)) for i in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=120)
    parser.add_argument("--windows", type=float, nargs="+", default=[10.0, 5.0], help="seconds (at most 30)")
    args = parser.parse_args()
    processor = WhisperProcessor.from_pretrained(MODEL)
    model = WhisperForConditionalGeneration.from_pretrained(MODEL).eval()
    encoder = model.get_encoder()
    # Each way and its window in mel frames: None for the stock encoder, 0 for the clip alone.
    windows = {"stock 30 s": None, **{f"{s:g} s window": round(s * MEL_FRAMES_PER_SECOND) for s in args.windows}}
    windows["clip alone"] = 0
    ways = list(windows)
    references, texts = [], {way: [] for way in ways}
    seconds = dict.fromkeys(ways, 0.0)
    for reference, waveform in tqdm(clips(args.clips), desc="ivr-dev clips"):
        padded = processor.feature_extractor(waveform, sampling_rate=16_000, return_tensors="pt").input_features
        alone = processor.feature_extractor(waveform, sampling_rate=16_000, padding="longest", return_tensors="pt")
        alone = alone.input_features
        mel_frames = alone.shape[-1]
        lengths = torch.tensor([(mel_frames + 1) // 2])
        references.append(reference)
        with torch.inference_mode():
            for way, window in windows.items():
                start = time.perf_counter()
                if window is None:
                    frames = stock = encoder(padded).last_hidden_state
                elif window:  # the clip, then silence: the whole window is input, its frames past the clip dropped
                    window = max(window, mel_frames)
                    frames = whisper_encode(
                        encoder, padded[..., :window], torch.ones(1, window), torch.tensor([window // 2])
                    )
                    frames = frames[:, : int(lengths)]
                else:
                    frames = whisper_encode(encoder, alone, torch.ones(1, mel_frames), lengths)
                seconds[way] += time.perf_counter() - start
                frames = torch.cat([frames, stock[:, frames.shape[1] :]], dim=1)
                tokens = model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=frames), max_new_tokens=96)
                texts[way].append(processor.batch_decode(tokens, skip_special_tokens=True)[0].strip())
    words = sum(map(count_words, references))  # after Whisper's normaliser, as the WER counts them
    print(f"{len(references)} ivr-dev clips ({words} words), {MODEL}'s own decoder, {torch.get_num_threads()} threads")
    print("| encoder frames | WER | encoder ms per clip | time against stock |")
    print("| --- | ---: | ---: | ---: |")
    for way in ways:
        wer = score(references, texts[way]).wer
        print(
            f"| {way} | {100 * wer:.2f}% | {1e3 * seconds[way] / len(references):.0f} "
            f"| {seconds[way] / seconds['stock 30 s']:.2f}x |"
        )


if __name__ == "__main__":
    main()
