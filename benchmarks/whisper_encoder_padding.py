"""What running Whisper's encoder on the clip's own length (tiny-audio) saves and costs, against the stock 30 s padding.

    python benchmarks/whisper_encoder_padding.py [--seconds 3] [--repeats 5]

Saves: encoder wall time per clip (ratio printed against the stock 30 s path, measured in the same run).
Costs: the trimmed encoder's frames differ from the first frames of the padded run (every frame attends to fewer
positions); printed as mean cosine similarity. Uses the real openai/whisper-tiny.en weights when they can be loaded
(e.g. after `tiny-audio backbones`), else random weights of the same shapes (timing depends only on shapes).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

from tiny_audio.model.whisper_encoder import whisper_encode

ARCHITECTURES = {  # (d_model, layers, heads) of published Whisper encoders
    "whisper-tiny.en": (384, 4, 6),
    "whisper-small": (768, 12, 12),
}


def encoder_for(name: str):
    if name == "whisper-tiny.en":
        try:
            return WhisperModel.from_pretrained("openai/whisper-tiny.en").get_encoder().eval(), "pretrained"
        except OSError:
            pass
    width, layers, heads = ARCHITECTURES[name]
    config = WhisperConfig(
        d_model=width, encoder_layers=layers, encoder_attention_heads=heads, encoder_ffn_dim=4 * width
    )
    return WhisperModel(config).get_encoder().eval(), "random weights"


def best_time(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    extractor = WhisperFeatureExtractor(feature_size=80)
    audio = np.random.default_rng(0).normal(0, 0.1, int(args.seconds * 16_000)).astype(np.float32)
    padded = extractor(audio, sampling_rate=16_000, return_tensors="pt").input_features  # (1, 80, 3000)
    trimmed = extractor(audio, sampling_rate=16_000, padding="longest", return_tensors="pt").input_features
    mel_mask = torch.ones(1, trimmed.shape[-1], dtype=torch.long)
    frames = torch.tensor([(trimmed.shape[-1] - 1) // 2 + 1])
    print(f"{args.seconds:g} s clip, {torch.get_num_threads()} threads, best of {args.repeats}")
    print("| encoder | weights | 30 s padded (ms) | trimmed (ms) | speed-up | cosine(trimmed, padded) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in ARCHITECTURES:
        encoder, weights = encoder_for(name)
        with torch.inference_mode():
            stock = best_time(lambda encoder=encoder: encoder(padded), args.repeats)
            ours = best_time(lambda encoder=encoder: whisper_encode(encoder, trimmed, mel_mask, frames), args.repeats)
            reference = encoder(padded).last_hidden_state[0, : int(frames)]
            short = whisper_encode(encoder, trimmed, mel_mask, frames)[0]
            cosine = torch.nn.functional.cosine_similarity(reference, short, dim=-1).mean()
        print(f"| {name} | {weights} | {stock * 1e3:.1f} | {ours * 1e3:.1f} | {stock / ours:.1f}x | {cosine:.3f} |")


if __name__ == "__main__":
    main()
