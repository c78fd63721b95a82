"""GPU throughput of the GPU recipes' architectures, with random weights (no Hub, nothing downloaded), in one command.

    python benchmarks/gpu_throughput.py                  # one H100/H200: both recipes, a few minutes
    python benchmarks/gpu_throughput.py --tiny           # the same code on tiny configs, on CPU, in seconds

For each GPU recipe, its model is built from its backbones' configs (the Hub's when reachable, else those shipped for
`tiny-audio train --check`) with random weights, backbones in bfloat16, sdpa attention:
- inference RTFx (audio seconds / wall seconds, warm-up excluded) at batch sizes 1, 16 and 64: clips of
  CLIP_SECONDS, greedy decoding of exactly NEW_TOKENS tokens each (random weights would stop anywhere), beside the
  stock Whisper-large-v3-turbo (WhisperForConditionalGeneration with random weights, its own generate) on the same
  batches, its input padded to the 30 s window its pipeline pads to;
- training throughput with the recipe's settings (per-device batch, LoRA, activation checkpointing, bf16 autocast,
  AdamW): clips/s, audio hours per GPU-hour (= audio seconds per wall second, the RTFx column) and peak memory,
  next to the peak that `train --check`'s formula estimates for the same batch.
Inputs are made on the device beforehand (no feature extraction, no data loading): model time only. The table is
printed as markdown; --output FILE writes it too.
"""

from __future__ import annotations

import argparse
import functools
import gc
import math
import time
from pathlib import Path

import torch

from tiny_audio.model.configuration_asr import ASRConfig, count_audio_tokens, count_encoder_frames
from tiny_audio.model.constants import IGNORE_INDEX, SAMPLING_RATE
from tiny_audio.model.modeling_asr import ASRModel
from tiny_audio.training.check import backbone_config
from tiny_audio.training.memory_estimate import GIB, PROMPT_TOKENS, Shapes, estimate_memory
from tiny_audio.training.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ("configs/hubert-xlarge-smollm3.yaml", "configs/whisper-turbo-qwen3.yaml")
STOCK_WHISPER = "openai/whisper-large-v3-turbo"
CLIP_SECONDS = 10.0  # a typical utterance of the training sets (LoquaciousSet, LibriSpeech: 10-15 s)
NEW_TOKENS = 32  # about the transcript of 10 s of speech (25 words)
TRAIN_SECONDS = 15.0  # training clips: longer than inference ones, as the training mix's average
TRAIN_TOKENS = 48
BATCHES = (1, 16, 64)
WARMUP, REPEATS, TRAIN_STEPS = 1, 3, 5
TINY = {  # --tiny: the same code, sizes a CPU runs in seconds
    "batches": (1, 2),
    "clip_seconds": 2.0,
    "new_tokens": 4,
    "train_seconds": 2.0,
    "train_tokens": 4,
    "train_batch": 2,
    "repeats": 1,
    "train_steps": 1,
}


def shrink(config: dict) -> dict:
    """A backbone config at test size (hidden 32, 2 layers), same architecture."""
    kind = config["model_type"]
    if kind == "whisper":
        sizes = {"d_model": 32, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "encoder_attention_heads": 2}
        return {**config, **sizes, "encoder_layers": 2, "decoder_layers": 1, "decoder_attention_heads": 2}
    if kind in ("hubert", "wav2vec2"):
        sizes = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
        return {
            **config,
            **sizes,
            "conv_dim": [16] * 7,
            "num_conv_pos_embeddings": 16,
            "num_conv_pos_embedding_groups": 2,
        }
    layers = 2
    tiny = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": layers, "num_attention_heads": 4}
    tiny |= {"num_key_value_heads": 2, "head_dim": 8, "vocab_size": 128, "max_window_layers": layers}
    tiny |= {"layer_types": ["full_attention"] * layers, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
    if "no_rope_layers" in config:
        tiny["no_rope_layers"] = config["no_rope_layers"][:layers]
    return {**config, **tiny}


def build_model(recipe: dict, tiny: bool, device: torch.device) -> ASRModel:
    section = recipe["model"]
    configs = {part: backbone_config(section[f"{part}_name_or_path"])[0] for part in ("encoder", "decoder")}
    if tiny:
        configs = {part: shrink(config) for part, config in configs.items()}
    config = ASRConfig(
        **{**section, "encoder_config": configs["encoder"], "decoder_config": configs["decoder"]},
        audio_token_id=configs["decoder"]["vocab_size"],  # never looked up: no tokenizer is needed
    )
    with torch.device(device):
        model = ASRModel(config, dtype=torch.float32 if tiny else torch.bfloat16)
    # `torch.device` does not reach tensors made by legacy constructors (HuBERT's masked_spec_embed is a
    # torch.Tensor(n)): move the whole model, as from_pretrained's callers do.
    return model.to(device).eval()


def audio_inputs(model: ASRModel, batch: int, seconds: float, device: torch.device) -> dict[str, torch.Tensor]:
    """Random audio of `seconds` per clip (waveform or log-mel), all of it real."""
    if model.encoder.config.model_type == "whisper":
        length = round(seconds * 100)
        audio = torch.randn(batch, model.encoder.config.num_mel_bins, length, device=device)
        name = "input_features"
    else:
        length = round(seconds * SAMPLING_RATE)
        audio, name = torch.randn(batch, length, device=device), "input_values"
    return {name: audio, "audio_attention_mask": torch.ones(batch, length, dtype=torch.long, device=device)}


def prompt_ids(model: ASRModel, batch: int, audio_length: int, transcript: int, device: torch.device):
    """input_ids (prompt tokens around the audio placeholders, then `transcript` tokens), and their labels."""
    vocabulary, tokens = model.decoder.config.vocab_size, int(count_audio_tokens(audio_length, model.audio_layout))
    before = torch.randint(3, vocabulary, (batch, PROMPT_TOKENS // 2), device=device)
    after = torch.randint(3, vocabulary, (batch, PROMPT_TOKENS - PROMPT_TOKENS // 2 + transcript), device=device)
    audio = torch.full((batch, tokens), model.config.audio_token_id, device=device)
    input_ids = torch.cat([before, audio, after], dim=1)
    labels = torch.full_like(input_ids, IGNORE_INDEX)
    if transcript:
        labels[:, -transcript:] = input_ids[:, -transcript:]
    return input_ids, labels


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(function, device: torch.device, repeats: int) -> float:
    """Mean wall seconds of `function`, after WARMUP untimed runs."""
    for _ in range(WARMUP):
        function()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    synchronize(device)
    return (time.perf_counter() - start) / repeats


def peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / GIB if device.type == "cuda" else None


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def inference_rows(name: str, model: ASRModel, sizes: dict, device: torch.device) -> list[dict]:
    rows = []
    for batch in sizes["batches"]:
        audio = audio_inputs(model, batch, sizes["clip_seconds"], device)
        input_ids, _ = prompt_ids(model, batch, audio["audio_attention_mask"].shape[1], 0, device)
        options = {"max_new_tokens": sizes["new_tokens"], "min_new_tokens": sizes["new_tokens"], "num_beams": 1}
        reset_peak(device)
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
            generate = functools.partial(model.generate, input_ids=input_ids, **audio, **options)
            seconds = timed(generate, device, sizes["repeats"])
        rows.append(row("inference", name, batch, batch * sizes["clip_seconds"], seconds, peak_gib(device)))
    return rows


def training_row(name: str, model: ASRModel, recipe: dict, sizes: dict, device: torch.device) -> dict:
    training = recipe["training"]
    batch = sizes.get("train_batch") or int(training.get("per_device_train_batch_size", 8))
    audio = audio_inputs(model, batch, sizes["train_seconds"], device)
    input_ids, labels = prompt_ids(model, batch, audio["audio_attention_mask"].shape[1], sizes["train_tokens"], device)
    checkpointing = bool(training.get("activation_checkpointing", False))
    if checkpointing:
        model.activation_checkpointing_enable()
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=training["learning_rate"])

    def step() -> None:
        with torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
            loss = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), labels=labels, **audio).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    reset_peak(device)
    seconds = timed(step, device, sizes["train_steps"])
    frames = int(count_encoder_frames(audio["audio_attention_mask"].shape[1], model.audio_layout))
    shapes = Shapes(
        batch=batch,
        seconds=sizes["train_seconds"],
        encoder_input=audio["audio_attention_mask"].shape[1],
        encoder_frames=frames,
        audio_tokens=math.ceil(frames / model.config.projector_stack),
        prompt_tokens=PROMPT_TOKENS,
        transcript_tokens=sizes["train_tokens"],
    )
    estimate = estimate_memory(model, shapes, gpus=1)["peaks"]["one GPU"]
    estimated = estimate["checkpointing" if checkpointing else "no checkpointing"] / GIB
    label = f"train{' (checkpointed)' if checkpointing else ''}"
    return row(label, name, batch, batch * sizes["train_seconds"], seconds, peak_gib(device), estimated)


def stock_whisper_rows(tiny: bool, sizes: dict, device: torch.device) -> list[dict]:
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    config = backbone_config(STOCK_WHISPER)[0]
    config = shrink(config) if tiny else config
    with torch.device(device):
        model = WhisperForConditionalGeneration(WhisperConfig(**config, attn_implementation="sdpa"))
    model = model.to(torch.float32 if tiny else torch.bfloat16).eval()
    rows = []
    for batch in sizes["batches"]:
        window = model.config.max_source_positions * 2  # 3000 mel frames: 30 s, as its feature extractor pads
        features = torch.randn(batch, model.config.num_mel_bins, window, device=device, dtype=model.dtype)
        options = {"max_new_tokens": sizes["new_tokens"], "min_new_tokens": sizes["new_tokens"]}
        reset_peak(device)
        with torch.inference_mode():
            seconds = timed(functools.partial(model.generate, features, **options), device, sizes["repeats"])
        name = f"stock Whisper ({STOCK_WHISPER})"
        rows.append(row("inference", name, batch, batch * sizes["clip_seconds"], seconds, peak_gib(device)))
    del model
    return rows


def row(mode, system, batch, audio_seconds, wall_seconds, peak, estimated=None) -> dict:
    return {
        "mode": mode,
        "system": system,
        "batch": batch,
        "rtfx": audio_seconds / wall_seconds,
        "clips_per_second": batch / wall_seconds,
        "peak": peak,
        "estimated": estimated,
    }


def markdown(rows: list[dict]) -> str:
    def number(value, digits=1):
        return "-" if value is None else f"{value:,.{digits}f}"

    lines = [
        "| mode | system | batch | RTFx (audio s / wall s = audio h per GPU-h) | clips/s | peak GiB | "
        "train --check estimate GiB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['system']} | {r['batch']} | {number(r['rtfx'])} | {number(r['clips_per_second'], 2)} "
            f"| {number(r['peak'])} | {number(r['estimated'])} |"
        )
    return "\n".join(lines)


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny configs on the CPU: a smoke test of this script")
    parser.add_argument("--device", default=None, help="default: cuda if available (cpu with --tiny)")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), help="recipes to measure (default: both)")
    parser.add_argument("--output", type=Path, default=None, help="also write the markdown table here")
    args = parser.parse_args()
    device = torch.device(args.device or ("cpu" if args.tiny or not torch.cuda.is_available() else "cuda"))
    if device.type != "cuda" and not args.tiny:
        print("no GPU: the full-size run needs one; running with --tiny sizes instead")
        args.tiny = True
    sizes = (
        dict(TINY)
        if args.tiny
        else {
            "batches": BATCHES,
            "clip_seconds": CLIP_SECONDS,
            "new_tokens": NEW_TOKENS,
            "train_seconds": TRAIN_SECONDS,
            "train_tokens": TRAIN_TOKENS,
            "repeats": REPEATS,
            "train_steps": TRAIN_STEPS,
        }
    )
    torch.manual_seed(0)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}; {'tiny configs' if args.tiny else 'full size, bfloat16'}")
    rows = []
    for path in args.recipes:
        recipe = load_recipe(ROOT / path)
        started = time.perf_counter()
        model = build_model(recipe, args.tiny, device)
        system = Path(path).stem
        attention = model.decoder.config._attn_implementation
        print(f"{system}: built in {time.perf_counter() - started:.1f} s, attention {attention}", flush=True)
        rows += inference_rows(system, model, sizes, device)
        print(markdown(rows[-1:]).splitlines()[-1], flush=True)
        rows.append(training_row(system, model, recipe, sizes, device))
        print(markdown(rows[-1:]).splitlines()[-1], flush=True)
        del model
        free(device)
    rows += stock_whisper_rows(args.tiny, sizes, device)
    table = markdown(rows)
    print(table)
    if args.output:
        args.output.write_text(table + "\n")


if __name__ == "__main__":
    main()
