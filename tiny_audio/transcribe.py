"""`tiny-audio transcribe FILE... [--model DIR_OR_ID]`: print the text of each audio file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm.auto import tqdm

from .frequency_warp import WARP_FACTOR_RANGE, is_warp_factor

# Where the embedded default model lives inside the installed package (trained by configs/default.yaml).
DEFAULT_MODEL_DIR = Path(__file__).parent / "default_model"


def default_model() -> str:
    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        raise FileNotFoundError(
            f"No default model at {DEFAULT_MODEL_DIR}; pass --model DIR_OR_HUB_ID (a saved tiny-audio model)."
        )
    return str(DEFAULT_MODEL_DIR)


def load_pipeline(model: str | None = None, device: str | None = None):
    """The ASR pipeline for a saved tiny-audio model (a directory or Hub id); the embedded default if None."""
    from transformers import pipeline

    return pipeline(
        "automatic-speech-recognition", model=model or default_model(), trust_remote_code=True, device=device
    )


def transcribe_files(
    paths: list[str], model: str | None = None, batch_size: int = 1, device: str | None = None, **call_options
) -> list[str]:
    """Text of each file, in order, with a progress bar when there are several."""
    asr = load_pipeline(model, device)
    results = asr((path for path in paths), batch_size=batch_size, **call_options)  # a generator streams results
    return [result["text"] for result in tqdm(results, total=len(paths), disable=len(paths) < 2, unit="file")]


def register(subparsers) -> None:
    parser = subparsers.add_parser("transcribe", help="print the text of audio files")
    parser.add_argument("files", nargs="+", help="audio files (wav, flac, mp3, ogg, ...)")
    parser.add_argument("--model", help="saved model directory or Hub id (default: the embedded default model)")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--task", help="transcribe (default), describe, or another task the model knows")
    parser.add_argument("--prompt", help="a free instruction instead of --task")
    parser.add_argument("--max-new-tokens", type=int)
    parser.add_argument(
        "--num-beams", type=beam_width, help="beam width (default: the model's; 1 = greedy, about twice as fast as 4)"
    )
    parser.add_argument(
        "--ctc-decoding-weight",
        type=search_weight,
        help="weight of the projector's CTC prefix score at every decoding step (default: the model's; 0 = off; "
        "below 1; only for models trained with training.ctc_weight > 0)",
    )
    parser.add_argument(
        "--ctc-rescore-weight",
        type=unit_fraction,
        help="weight of the projector's CTC score when choosing among the final beams (default: the model's; "
        "0 = off; only for models trained with training.ctc_weight > 0)",
    )
    parser.add_argument(
        "--frequency-warps",
        type=warp_factors,
        help="comma-separated warp factors such as 0.9,1,1.1: each clip is decoded at the warp of its log-mel "
        "frequency axis that the CTC head reads most confidently (default: the model's; 1 = off; Whisper encoders)",
    )
    parser.add_argument(
        "--chunk-length-s",
        type=piece_seconds,
        help="longer audio is cut at pauses into pieces of at most this many seconds (default: 20; Whisper "
        "encoders take up to 30)",
    )
    parser.add_argument("--device", help="e.g. cpu, cuda, cuda:1 (default: cpu)")
    parser.set_defaults(func=run)


def beam_width(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a beam width; give a whole number of 1 or more")
    return int(text)


def warp_factors(text: str) -> list[float]:
    try:
        factors = [float(part) for part in text.split(",")]
    except ValueError:
        factors = []
    if not factors or not all(map(is_warp_factor, factors)):
        low, high = WARP_FACTOR_RANGE
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of warp factors; give numbers from {low:g} to {high:g}, such as 0.9,1,1.1 "
            "(1 = off)"
        )
    return factors


def piece_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value >= 1:  # the upper bound depends on the encoder: the pipeline checks it
        raise argparse.ArgumentTypeError(f"{text!r} is not a piece length; give seconds, 1 or more, such as 20")
    return value


def search_weight(text: str) -> float:
    value = unit_fraction(text)
    if value == 1.0:  # the decoder's own scores would drop out entirely
        raise argparse.ArgumentTypeError(f"{text!r} is not a weight below 1; give a number from 0 to 0.99, such as 0.2")
    return value


def unit_fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a weight; give a number from 0 to 1, such as 0.2")
    return value


def run(args: argparse.Namespace) -> int:
    missing = [path for path in args.files if not Path(path).is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    options = {
        key: value
        for key in ("task", "prompt", "max_new_tokens", "chunk_length_s")
        if (value := getattr(args, key)) is not None
    }
    decoding = {
        "num_beams": args.num_beams,
        "ctc_decoding_weight": args.ctc_decoding_weight,
        "ctc_rescore_weight": args.ctc_rescore_weight,
        "frequency_warps": args.frequency_warps,
    }
    if generate_kwargs := {key: value for key, value in decoding.items() if value is not None}:
        options["generate_kwargs"] = generate_kwargs
    texts = transcribe_files(args.files, model=args.model, batch_size=args.batch_size, device=args.device, **options)
    for path, text in zip(args.files, texts, strict=True):
        print(text if len(args.files) == 1 else f"{path}\t{text}")
    return 0
