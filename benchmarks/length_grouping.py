"""Length-grouped training batches (training.train_sampling_strategy=group_by_length) against random batches.

    python benchmarks/length_grouping.py [--config configs/default.yaml] [--batches 2000] [--time-batches 12]

Draws batches from the recipe's training mix with the two samplers the Trainer would use (transformers'
LengthGroupedSampler over the `duration` column, and a random sampler) and prints:
  - decoder positions per batch, padded and real (prompt + audio tokens + transcript tokens): padding is compute the
    decoder spends on nothing;
  - with --time-batches K > 0, seconds per training step (decoder loss, forward and backward) on K batches drawn at
    random from each sampler's batch list, the two kinds interleaved so that machine drift hits both alike.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.data import RandomSampler
from transformers.trainer_pt_utils import LengthGroupedSampler

from tiny_audio.model.configuration_asr import count_audio_tokens
from tiny_audio.model.constants import SAMPLING_RATE
from tiny_audio.training.collator import ASRCollator
from tiny_audio.training.recipe import load_recipe
from tiny_audio.training.sources import build_training_mix
from tiny_audio.training.trainer import build_model


def batches_of(sampler, batch_size: int, count: int) -> list[list[int]]:
    order = list(sampler)
    return [order[i : i + batch_size] for i in range(0, batch_size * count, batch_size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--time-batches", type=int, default=12)
    args = parser.parse_args()
    recipe = load_recipe(args.config)
    training = recipe["training"]
    batch_size = training["per_device_train_batch_size"]
    mix = build_training_mix(recipe["data"], seed=0)
    durations = np.asarray(mix[training.get("length_column_name", "duration")], dtype=np.float64)
    model, processor = build_model(recipe["model"], training.get("backbone_dtype"))
    instruction = model.config.instruction()
    prompt = len(processor._prompt_ids(instruction, 0))
    text_tokens = np.array([len(ids) + 1 for ids in processor.tokenizer(list(mix["text"])).input_ids])  # + end of text
    hop = getattr(processor.feature_extractor, "hop_length", 1)  # Whisper's input is mel frames, wav2vec2's samples
    audio_tokens = np.array(
        [count_audio_tokens(int(s * SAMPLING_RATE) // hop, processor.audio_layout) for s in durations]
    )
    positions = prompt + audio_tokens + text_tokens

    generator = torch.Generator().manual_seed(0)
    samplers = {
        "random": RandomSampler(range(len(mix)), generator=generator),
        "group_by_length": LengthGroupedSampler(batch_size, lengths=durations.tolist(), generator=generator),
    }
    drawn = {name: batches_of(sampler, batch_size, args.batches) for name, sampler in samplers.items()}
    print(f"{len(mix)} training examples, batches of {batch_size}, {args.batches} batches per sampler")
    print("| sampler | padded decoder positions / batch | real positions / batch | padding share |")
    print("| --- | ---: | ---: | ---: |")
    padded = {}
    for name, batches in drawn.items():
        padded[name] = np.mean([positions[b].max() * len(b) for b in batches])
        real = np.mean([positions[b].sum() for b in batches])
        print(f"| {name} | {padded[name]:.0f} | {real:.0f} | {1 - real / padded[name]:.0%} |")
    print(f"decoder positions, random / grouped: {padded['random'] / padded['group_by_length']:.2f}x")
    if args.time_batches:
        time_steps(model, processor, mix, drawn, instruction, args.time_batches)


def time_steps(model, processor, mix, drawn, instruction: str, count: int) -> None:
    collate = ASRCollator(processor, instruction, augmentation=None)
    rng = np.random.default_rng(0)
    picks = {name: rng.choice(len(batches), count, replace=False) for name, batches in drawn.items()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    model.train()
    seconds = {name: [] for name in drawn}
    for step in range(count):
        for name, batches in drawn.items():
            batch = collate([mix[int(i)] for i in batches[picks[name][step]]])
            start = time.perf_counter()
            model(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            seconds[name].append(time.perf_counter() - start)
    for name, values in seconds.items():
        print(f"{name}: {np.mean(values):.2f} s/step over {count} steps (collation not counted)")
    print(f"step time, random / grouped: {np.mean(seconds['random']) / np.mean(seconds['group_by_length']):.2f}x")


if __name__ == "__main__":
    main()
