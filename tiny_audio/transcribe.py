"""`tiny-audio transcribe FILE... [--model DIR_OR_ID] [--format txt|json|srt|vtt] [--output-dir DIR] [--stream]`:
the text of each audio file, printed or written as plain text, JSON with word or segment times, or subtitles.

Timestamps come from the pipeline's `return_timestamps` (the projector's CTC head aligns the transcript to the audio,
tiny_audio/alignment.py); `--stream` prints the words as the decoder writes them (greedy search).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm.auto import tqdm

from .decoding import check_option

# Where the embedded default model lives inside the installed package (trained by configs/default.yaml).
DEFAULT_MODEL_DIR = Path(__file__).parent / "default_model"
FORMATS = ("txt", "json", "srt", "vtt")
# What each format times when --timestamps is not given; subtitles show a segment (a sentence or phrase) per cue.
DEFAULT_TIMESTAMPS = {"txt": "none", "json": "word", "srt": "segment", "vtt": "segment"}
PIPELINE_TIMESTAMPS = {"none": None, "segment": True, "word": "word"}  # --timestamps → return_timestamps
SUBTITLE_LINE_CHARACTERS = 42  # the usual limit of one subtitle line; a cue longer than this is broken in two


def default_model() -> str:
    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        raise FileNotFoundError(
            f"No default model at {DEFAULT_MODEL_DIR}; pass --model DIR_OR_HUB_ID (a saved tiny-audio model)."
        )
    return str(DEFAULT_MODEL_DIR)


def load_pipeline(model: str | None = None, device: str | None = None):
    """The ASR pipeline for a saved tiny-audio model (a directory or Hub id); the embedded default if None.

    A Hub model that cannot be had raises `ModelUnavailableError` (a ValueError and an OSError) with one line that
    names the offline choice, instead of transformers' multi-line OSError."""
    from transformers import pipeline

    from .evaluation.hub import explain_model_errors

    with explain_model_errors(model):
        return pipeline(
            "automatic-speech-recognition", model=model or default_model(), trust_remote_code=True, device=device
        )


def transcribe_files(
    paths: list[str], model: str | None = None, batch_size: int = 1, device: str | None = None, **call_options
) -> list[str]:
    """Text of each file, in order, with a progress bar when there are several."""
    return [result["text"] for result in transcribe_results(paths, model, batch_size, device, **call_options)]


def transcribe_results(
    paths: list[str],
    model: str | None = None,
    batch_size: int = 1,
    device: str | None = None,
    stream: bool = False,
    **call_options,
) -> list[dict]:
    """The pipeline's result for each file, in order (`{"text"}`, and `"chunks"` with `return_timestamps`), with a
    progress bar when there are several. `stream`: each file's text is printed to stdout as it is decoded (greedy
    search, one file at a time; with several files each line starts with the file's path and a tab)."""
    asr = load_pipeline(model, device)
    if stream:
        return [stream_file(asr, path, label=f"{path}\t" if len(paths) > 1 else "", **call_options) for path in paths]
    results = asr((path for path in paths), batch_size=batch_size, **call_options)  # a generator streams results
    return list(tqdm(results, total=len(paths), disable=len(paths) < 2, unit="file"))


def stream_file(asr, path: str, label: str = "", **call_options) -> dict:
    """`asr(path)`, printing the text to stdout as the decoder writes it (a transformers TextStreamer), then a
    newline; returns the pipeline's result."""
    from transformers import TextStreamer

    streamer = TextStreamer(asr.processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
    generate_kwargs = {**call_options.pop("generate_kwargs", {}), "streamer": streamer}
    print(label, end="", flush=True)
    return asr(path, generate_kwargs=generate_kwargs, **call_options)


def subtitle_time(seconds: float, decimal_mark: str) -> str:
    """HH:MM:SS,mmm (SRT: `decimal_mark` ",") or HH:MM:SS.mmm (WebVTT: ".")."""
    milliseconds = max(0, round(seconds * 1000))
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    return f"{hours:02d}:{minutes:02d}:{milliseconds // 1000:02d}{decimal_mark}{milliseconds % 1000:03d}"


def cue_text(text: str) -> str:
    """A cue's text on one line, or on two broken at the space nearest the middle when longer than one line."""
    text = " ".join(text.split())
    spaces = [index for index, character in enumerate(text) if character == " "]
    if len(text) <= SUBTITLE_LINE_CHARACTERS or not spaces:
        return text
    middle = min(spaces, key=lambda index: abs(index - len(text) / 2))
    return f"{text[:middle]}\n{text[middle + 1 :]}"


def subtitles(chunks: list[dict], kind: str) -> str:
    """SubRip (`kind` "srt") or WebVTT ("vtt") text of timed chunks `{"text", "timestamp": (start, end)}`."""
    mark = "," if kind == "srt" else "."
    cues = []
    for number, chunk in enumerate(chunks, start=1):
        start, end = chunk["timestamp"]
        timing = f"{subtitle_time(start, mark)} --> {subtitle_time(max(start, end), mark)}"
        cues.append(
            f"{number}\n{timing}\n{cue_text(chunk['text'])}\n"
            if kind == "srt"
            else f"{timing}\n{cue_text(chunk['text'])}\n"
        )
    return "\n".join(cues) if kind == "srt" else "WEBVTT\n\n" + "\n".join(cues)


def render(result: dict, kind: str, path: str | None = None) -> str:
    """One file's result as `kind`: txt (the text, or one "[start --> end] text" line per chunk when timed), json
    (with the file's path when given), srt or vtt."""
    if kind == "json":
        return json.dumps({"file": path, **result} if path is not None else result)
    if kind in ("srt", "vtt"):
        return subtitles(result["chunks"], kind)
    if "chunks" not in result:
        return result["text"]
    return "\n".join(
        f"[{subtitle_time(start, '.')} --> {subtitle_time(end, '.')}] {chunk['text'].strip()}"
        for chunk in result["chunks"]
        for start, end in [chunk["timestamp"]]
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser("transcribe", help="the text of audio files: plain, JSON with times, or subtitles")
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
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="txt",
        help="txt: the text; json: text and timed chunks; srt, vtt: subtitles (default: txt)",
    )
    parser.add_argument(
        "--timestamps",
        choices=tuple(PIPELINE_TIMESTAMPS),
        help="what to time: none, segment (sentences or phrases) or word (default: none for txt, word for json, "
        "segment for srt and vtt); needs a model whose projector trained its CTC head, as the default model's did",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="write DIR/NAME.FORMAT for each input file (and print the paths) instead of printing the results",
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="print the text as it is decoded, word by word (greedy search: --num-beams must be 1 or unset)",
    )
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
    timestamps = args.timestamps or DEFAULT_TIMESTAMPS[args.format]
    if problem := _output_problem(args, timestamps):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if PIPELINE_TIMESTAMPS[timestamps] is not None:
        options["return_timestamps"] = PIPELINE_TIMESTAMPS[timestamps]
    common = {"model": args.model, "batch_size": args.batch_size, "device": args.device}
    try:
        if args.format == "txt" and timestamps == "none" and not (args.stream or args.output_dir):
            texts = transcribe_files(args.files, **common, **options)
            for path, text in zip(args.files, texts, strict=True):
                print(text if len(args.files) == 1 else f"{path}\t{text}")
            return 0
        results = transcribe_results(args.files, **common, stream=args.stream, **options)
    except ValueError as error:  # an option out of range for this model (e.g. --chunk-length-s), a bad file
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.output_dir is not None:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        for path, result in zip(args.files, results, strict=True):
            target = args.output_dir / f"{Path(path).stem}.{args.format}"
            text = render(result, args.format, path)
            target.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
            print(target, file=sys.stderr if args.stream else sys.stdout)
    elif not args.stream:  # streamed text was the output
        for path, result in zip(args.files, results, strict=True):
            text = render(result, args.format, path if len(args.files) > 1 else None)
            print(f"{path}\t{text}" if args.format == "txt" and len(args.files) > 1 else text)
    return 0


def _output_problem(args: argparse.Namespace, timestamps: str) -> str | None:
    """What is wrong with the output options, if anything."""
    if args.format in ("srt", "vtt") and timestamps == "none":
        return f"--format {args.format} shows timed cues; use --timestamps segment or word."
    if args.format in ("srt", "vtt") and len(args.files) > 1 and args.output_dir is None:
        return f"--format {args.format} with several files needs --output-dir (one subtitle file per input)."
    if args.stream and args.output_dir is None and (args.format != "txt" or timestamps != "none"):
        return "--stream prints plain text; to also get timestamps or another format, add --output-dir."
    if args.stream and args.batch_size != 1:
        return "--stream decodes one file at a time; drop --batch-size."
    if args.stream and args.num_beams not in (None, 1):
        return "--stream decodes greedily (transformers cannot stream a beam search); drop --num-beams."
    if args.output_dir is not None:
        names = [Path(path).stem for path in args.files]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            return f"several inputs would write {args.output_dir / twice[0]}.{args.format}; rename or write them apart."
    return None
