"""Vocabulary logits at the transcript's positions only (what ASRModel.forward does) against every position.

    python benchmarks/label_logits.py [--config configs/default.yaml] [--steps 12]

Most of a training sequence is prompt and audio, which no label asks about, yet a causal LM projects every
position onto its whole vocabulary (SmolLM2: 49,152 words; Qwen3: 151,669) and upcasts the result to float32 for
the loss. Prints, on batches from the recipe's training mix (length-grouped, as in training):
  - the logits each way per batch (positions kept x vocabulary, in float32 MB);
  - seconds per training step (decoder loss, forward and backward) each way, the two interleaved on the same
    batches so that machine drift hits both alike, and their ratio; the losses must agree.
"""

from __future__ import annotations

import argparse
import inspect
import time

import numpy as np
import torch
from transformers.trainer_pt_utils import LengthGroupedSampler

from tiny_audio.training.collator import ASRCollator
from tiny_audio.training.recipe import load_recipe
from tiny_audio.training.sources import build_training_mix
from tiny_audio.training.trainer import build_model


def every_position(model, batch):
    """The decoder's own loss on the same inputs, projecting every position onto the vocabulary."""
    audio = batch["input_features"] if "input_features" in batch else batch["input_values"]
    inputs_embeds = model.embed_inputs(
        batch["input_ids"], model.get_audio_features(audio, batch["audio_attention_mask"])
    )
    position_ids = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    return model.decoder(
        inputs_embeds=inputs_embeds,
        attention_mask=batch["attention_mask"],
        position_ids=position_ids,
        labels=batch["labels"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    recipe = load_recipe(args.config)
    training = recipe["training"]
    batch_size = training["per_device_train_batch_size"]
    mix = build_training_mix(recipe["data"], seed=0)
    model, processor = build_model(recipe["model"], training.get("backbone_dtype"))
    if "logits_to_keep" not in inspect.signature(type(model.decoder).forward).parameters:
        raise SystemExit(f"{type(model.decoder).__name__} takes no logits_to_keep: nothing to compare")
    collate = ASRCollator(processor, model.config.instruction(), augmentation=None)
    lengths = [float(d) for d in mix[training.get("length_column_name", "duration")]]
    order = list(LengthGroupedSampler(batch_size, lengths=lengths, generator=torch.Generator().manual_seed(0)))
    batches = [collate([mix[i] for i in order[k * batch_size : (k + 1) * batch_size]]) for k in range(args.steps)]
    model.train()
    vocabulary = model.decoder.get_input_embeddings().weight.shape[0]
    seconds, positions, losses = {True: [], False: []}, {True: [], False: []}, {True: [], False: []}
    for index, batch in enumerate([batches[0], *batches]):  # the first batch warms up, untimed
        for only_labels in (True, False) if index % 2 else (False, True):  # each way goes first half the time
            start = time.perf_counter()
            outputs = model(**batch) if only_labels else every_position(model, batch)
            outputs.loss.backward()
            model.zero_grad()  # no optimizer step: both ways see the same weights
            if index:
                seconds[only_labels].append(time.perf_counter() - start)
                positions[only_labels].append(outputs.logits.shape[1])
                losses[only_labels].append(outputs.loss.item())
    print(f"{args.steps} batches of {batch_size} from {args.config}; vocabulary {vocabulary:,}")
    print("| logits at | positions / row | float32 logits / batch | s / step |")
    print("| --- | ---: | ---: | ---: |")
    for only_labels, label in ((False, "every position"), (True, "label positions only")):
        kept, step = np.mean(positions[only_labels]), np.mean(seconds[only_labels])
        print(f"| {label} | {kept:.0f} | {kept * batch_size * vocabulary * 4 / 1e6:.0f} MB | {step:.2f} |")
    print(f"step time, every position / label positions only: {np.mean(seconds[False]) / np.mean(seconds[True]):.2f}x")
    print(f"largest loss difference: {np.max(np.abs(np.subtract(losses[True], losses[False]))):.2e}")


if __name__ == "__main__":
    main()
