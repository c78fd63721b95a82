"""Training speed with and without the frozen-encoder cache (training.encoder_cache), measured in one run.

    python benchmarks/encoder_cache.py [--config configs/default.yaml] [--batches 6] [--epochs 3]

Runs the same batches for several epochs (augmentation off, as the cache requires) and prints seconds per step for
each epoch with and without the cache; from the second epoch on, the cache serves every encoder output. Both kinds of
step are measured: the decoder's loss (the encoder is a small part of it) and the projector's CTC loss alone
(training.ctc_only_steps: no decoder pass, so the encoder is most of the step).
"""

from __future__ import annotations

import argparse
import time

import torch

from tiny_audio.model.ctc_head import ProjectorCTCLoss
from tiny_audio.training.collator import ASRCollator, batch_audio, decode_example
from tiny_audio.training.encoder_cache import EncoderCache
from tiny_audio.training.recipe import load_recipe
from tiny_audio.training.sources import load_source
from tiny_audio.training.trainer import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    recipe = load_recipe(args.config)
    recipe["model"]["encoder_lora"] = None  # the cache is for a frozen encoder
    model, processor = build_model(recipe["model"], recipe["training"].get("backbone_dtype"))
    batch_size = recipe["training"]["per_device_train_batch_size"]
    rows = load_source(recipe["data"]["train"][0]).select(range(args.batches * batch_size))
    collate = ASRCollator(processor, model.config.instruction(), augmentation=None)
    batches = [collate([rows[i] for i in range(b * batch_size, (b + 1) * batch_size)]) for b in range(args.batches)]
    audio_seconds = sum(decode_example(row["audio"]).shape[0] for row in rows) / 16_000
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    model.train()
    print(f"{args.batches} batches x {batch_size} clips ({audio_seconds:.0f} s of audio), {args.epochs} epochs")
    ctc = ProjectorCTCLoss(model.ctc_head_classes(), processor.tokenizer.eos_token_id)

    def decoder_step(batch) -> torch.Tensor:
        return model(**batch).loss

    def ctc_step(batch) -> torch.Tensor:
        return ctc(*model.get_audio_features(batch_audio(batch), batch["audio_attention_mask"]), batch["labels"])

    print("| step | encoder cache | " + " | ".join(f"epoch {e + 1} s/step" for e in range(args.epochs)) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in range(args.epochs)) + " |")
    for name, loss_of in (("decoder loss", decoder_step), ("CTC only", ctc_step)):
        results = {}
        for use_cache in (False, True):
            model.encoder_cache = EncoderCache() if use_cache else None
            per_epoch = []
            for _ in range(args.epochs):
                start = time.perf_counter()
                for batch in batches:
                    loss_of(batch).backward()
                    optimizer.step()
                    optimizer.zero_grad()
                per_epoch.append((time.perf_counter() - start) / len(batches))
            results[use_cache] = per_epoch
            cells = " | ".join(f"{seconds:.2f}" for seconds in per_epoch)
            print(f"| {name} | {'on' if use_cache else 'off'} | {cells} |")
        later_off = sum(results[False][1:]) / (args.epochs - 1)
        later_on = sum(results[True][1:]) / (args.epochs - 1)
        print(f"{name}: speed-up from epoch 2 on: {later_off / later_on:.2f}x (no cache / cache)")


if __name__ == "__main__":
    main()
