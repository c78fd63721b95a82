"""`tiny-audio transcribe FILE... [--model DIR_OR_ID]`: print the text of each audio file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm.auto import tqdm

from .decoding import check_option

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
        "--num-beams", type=option_type("num_beams", int), help="beam width (default: the model's; 1 = greedy)"
    )
    parser.add_argument(
        "--ctc-decoding-weight",
        type=option_type("ctc_decoding_weight", float),
        help="weight of the projector's CTC prefix score at every decoding step, 0 to below 1 (default: the model's; "
        "0 = off; only for models trained with training.ctc_weight > 0)",
    )
    parser.add_argument(
        "--frequency-warps",
        type=option_type("frequency_warps", lambda text: [float(part) for part in text.split(",")]),
        help="comma-separated warp factors such as 0.9,1,1.1: each clip is decoded at the warp of its log-mel "
        "frequency axis that the CTC head reads most confidently (default: the model's; 1 = off; Whisper encoders)",
    )
    parser.add_argument(
        "--chunk-length-s",
        type=float,
        help="longer audio is cut at pauses into pieces of at most this many seconds (default: 20; Whisper "
        "encoders take up to 30)",
    )
    parser.add_argument("--device", help="e.g. cpu, cuda, cuda:1 (default: cpu)")
    parser.set_defaults(func=run)


def option_type(name: str, parse):
    """An argparse type for decoding option `name`: `parse` reads the text, `DecodingOptions` judges the value."""

    def convert(text: str):
        try:
            return check_option(name, parse(text))
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name  # argparse names the type in its messages
    return convert


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
        "frequency_warps": args.frequency_warps,
    }
    if generate_kwargs := {key: value for key, value in decoding.items() if value is not None}:
        options["generate_kwargs"] = generate_kwargs
    try:
        texts = transcribe_files(
            args.files, model=args.model, batch_size=args.batch_size, device=args.device, **options
        )
    except ValueError as error:  # an option out of range for this model (e.g. --chunk-length-s), a bad file
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path, text in zip(args.files, texts, strict=True):
        print(text if len(args.files) == 1 else f"{path}\t{text}")
    return 0
