"""`tiny-audio transcribe FILE_OR_DIR... [--model DIR_OR_ID] [--format txt|json|srt|vtt] [--output-dir DIR]
[--retry-failed] [--processes N] [--stream] [--context WORDS | --context-file FILE]`: the text of each audio file,
printed or written as plain text, JSON with word or segment times, or subtitles. `--context` tells the model names and
words to expect (docs/context.md).

Files go through `batch.transcribe_batch`: a file that cannot be read or transcribed is named on stderr in
one line (`error: FILE: reason`) and the others go on; the exit status is 1 at the end if any failed. With
`--output-dir`, DIR/results.jsonl records each file as it finishes, so a rerun resumes a killed run. `--processes N`
(or torchrun / accelerate launch) shares the files among processes: `distributed.py`.

Timestamps come from the pipeline's `return_timestamps` (the projector's CTC head aligns the transcript to the audio,
tiny_audio/model/alignment.py); `--stream` prints the words as the decoder writes them (greedy search).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from urllib.parse import urlparse

from tqdm.auto import tqdm

from ..cli_options import add_context_arguments, add_device_argument, option_type
from ..model.audio_input import is_url
from ..model.constants import DEFAULT_CHUNK_SECONDS
from ..model.decoding_options import MAX_BATCH_SIZE, MAX_CHUNK_SECONDS, MAX_NEW_TOKENS, MAX_NUM_BEAMS

# Where the embedded default model lives inside the installed package (trained by configs/default.yaml).
DEFAULT_MODEL_DIR = Path(__file__).parents[1] / "default_model"
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

    A model that cannot be loaded raises `ModelUnavailableError` (a ValueError and an OSError) with one line: for a
    Hub model the offline choice, else the cause (e.g. no model.safetensors), instead of transformers' tracebacks;
    the full error is its `__cause__`."""
    from transformers import pipeline
    from transformers.utils import logging as transformers_logging

    from ..evaluation.hub import explain_model_errors

    # transformers draws a "Loading weights" bar per backbone even for local files: noise above the first transcript.
    # Downloads from the Hub keep huggingface_hub's own bars.
    transformers_logging.disable_progress_bar()
    with explain_model_errors(model):
        return pipeline(
            "automatic-speech-recognition", model=model or default_model(), trust_remote_code=True, device=device
        )


def transcribe_files(
    paths: list[str], model: str | None = None, batch_size: int = 1, device: str | None = None, **call_options
) -> list[str]:
    """Text of each file, in order, with a progress bar when there are several. Raises on the first bad file, as the
    pipeline does; `tiny_audio.app.batch.transcribe_batch` goes on past bad files instead."""
    asr = load_pipeline(model, device)
    results = asr((path for path in paths), batch_size=batch_size, **call_options)  # a generator streams results
    return [result["text"].strip() for result in tqdm(results, total=len(paths), disable=len(paths) < 2, unit="file")]


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
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE_OR_DIR",
        help="audio files (wav, flac, mp3, ogg, ...), http(s) URLs of audio files, or directories (their audio files "
        "at any depth, sorted)",
    )
    parser.add_argument("--model", help="saved model directory or Hub id (default: the embedded default model)")
    parser.add_argument(
        "--batch-size",
        type=option_type("batch_size", int),
        default=1,
        help=f"clips per model call, 1 to {MAX_BATCH_SIZE} (default: %(default)s)",
    )
    parser.add_argument("--task", help="a task the model's config has a prompt for (default: transcribe)")
    parser.add_argument("--prompt", help="a free instruction instead of --task")
    add_context_arguments(parser)
    parser.add_argument(
        "--max-new-tokens",
        type=option_type("max_new_tokens", int),
        help=f"longest text per piece, in decoder tokens, 1 to {MAX_NEW_TOKENS} (default: the model's)",
    )
    parser.add_argument(
        "--num-beams",
        type=option_type("num_beams", int),
        help=f"beam width, 1 to {MAX_NUM_BEAMS} (default: the model's; 1 = greedy)",
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
        type=option_type("chunk_length_s", float),
        help="longer audio is cut at pauses into pieces of at most this many seconds, 1 to "
        f"{MAX_CHUNK_SECONDS:g} (default: {DEFAULT_CHUNK_SECONDS:g})",
    )
    add_device_argument(parser)
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="txt",
        help="txt: the text; json: text and timed chunks; srt, vtt: subtitles (default: %(default)s)",
    )
    parser.add_argument(
        "--timestamps",
        choices=tuple(PIPELINE_TIMESTAMPS),
        help="what to time: none, segment (sentences or phrases) or word (default: "
        + ", ".join(f"{timed} for {kind}" for kind, timed in DEFAULT_TIMESTAMPS.items())
        + "); needs a model whose projector trained its CTC head, as the default model's did",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="write DIR/NAME.FORMAT for each input file (and print the paths) instead of printing the results, and "
        "DIR/results.jsonl (one line per file, failures included): a rerun with the same DIR skips the files done",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --output-dir: try again the files that DIR/results.jsonl records as failed",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="with --output-dir: share the files among N worker processes (default: %(default)s), each decoding its "
        "own in batches of "
        "--batch-size, shortest first; DIR/results.jsonl gets them all (see docs/reliability.md; torchrun or "
        "accelerate launch do the same without this option)",
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="print the text as it is decoded, word by word (one file at a time, greedy search)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="when the model cannot be loaded, also print the full error"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Transcribe every file, going on past the ones that fail. Exit 0: all done; 1: some files failed (each named on
    stderr as it fails, then a count); 2: a usage, option or model error, found before any file is transcribed."""
    from . import distributed
    from .batch import RESULTS_FILE, expand_inputs, transcribe_batch

    options = call_options(args)
    try:
        files = expand_inputs(args.files)
    except ValueError as error:  # a directory without audio
        print(f"error: {error}", file=sys.stderr)
        return 2
    if problem := _output_problem(args, files) or distributed.processes_problem(args):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if distributed.wants_launch(args):  # --processes N: N workers run this function on their shares
        return distributed.launch(args, files, run, FileOutput(args, len(files)))
    part = distributed.join(args, files)  # this process's share under a launcher or --processes; None: all
    try:
        asr = load_pipeline(args.model, args.device)
    except (ValueError, OSError) as error:  # ModelUnavailableError: one line, the full error chained
        print(f"error: {error}", file=sys.stderr)
        if args.verbose:
            traceback.print_exception(error, file=sys.stderr)
        return 2
    output = FileOutput(args, len(files))
    if args.stream:
        options["generate_kwargs"] = {**options.get("generate_kwargs", {}), "streamer": text_streamer(asr)}
    try:
        report = transcribe_batch(
            asr,
            part.files if part else files,
            output_dir=args.output_dir,
            results_file=part.results_file if part else RESULTS_FILE,
            batch_size=args.batch_size,
            on_result=output.result,
            on_failure=output.failure,
            on_start=output.start if args.stream else None,
            retry_failed=args.retry_failed,
            progress=not args.stream and len(files) > 1 and (part is None or part.rank == 0),
            **options,
        )
    except ValueError as error:  # an option out of range for this model (e.g. --chunk-length-s), checked up front
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # the model failed on every one of the first files: a broken set-up
        print(f"error: {error}", file=sys.stderr)
        return 1
    if part:
        return part.finish(report, output, files, args.retry_failed)
    return output.summary(report, len(files))


def call_options(args: argparse.Namespace) -> dict:
    """The pipeline call arguments the command line asks for."""
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
    if args.context:  # checked as it was parsed (cli_options.add_context_arguments)
        options["context"] = list(args.context)
    if (timestamps := PIPELINE_TIMESTAMPS[_timestamps(args)]) is not None:
        options["return_timestamps"] = timestamps
    return options


def text_streamer(asr):
    """A transformers TextStreamer that prints each file's text to stdout as the decoder writes it, then a newline;
    one serves every file (greedy search, one file at a time)."""
    from transformers import TextStreamer

    tokenizer = getattr(asr, "tokenizer", None) or asr.processor.tokenizer  # stock pipelines / tiny-audio's
    return TextStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


class FileOutput:
    """What the command prints or writes as each file finishes, and its closing count."""

    def __init__(self, args: argparse.Namespace, count: int):
        self.args, self.several = args, count > 1
        self.label_open = False  # --stream printed a file's label; its text (or a failure) ends the line

    def start(self, file: str) -> None:
        if self.several:
            print(f"{file}\t", end="", flush=True)
            self.label_open = True

    def result(self, file: str, result: dict) -> None:
        self.label_open = False
        args = self.args
        if args.output_dir is not None:
            target = args.output_dir / f"{input_stem(file)}.{args.format}"
            text = render(result, args.format, file)
            target.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
            _say(str(target), sys.stderr if args.stream else sys.stdout)
        elif not args.stream:  # streamed text was the output
            text = render(result, args.format, file if self.several else None)
            _say(f"{file}\t{text}" if args.format == "txt" and self.several else text, sys.stdout)

    def failure(self, file: str, reason: str) -> None:
        if self.label_open:  # the model failed while streaming this file
            print(flush=True)
            self.label_open = False
        _say(f"error: {file}: {reason}", sys.stderr)

    def summary(self, report, total: int) -> int:
        """Exit status 0, or 1 after naming the failures of earlier runs and giving the count."""
        if report.already_done:
            _say(
                f"{report.already_done} of {total} files already in {report.results_path} from an earlier run: "
                "not done again (another --output-dir does them all).",
                sys.stderr,
            )
        for file, reason in report.failed_earlier:
            _say(f"error: {file}: {reason} (in an earlier run; --retry-failed tries it again)", sys.stderr)
        failed = len(report.failed) + len(report.failed_earlier)
        if failed:
            _say(f"error: {failed} of {total} files failed", sys.stderr)
        return 1 if failed else 0


def _say(text: str, stream) -> None:
    tqdm.write(text, file=stream)  # above the progress bar, which is redrawn below it


def _timestamps(args: argparse.Namespace) -> str:
    return args.timestamps or DEFAULT_TIMESTAMPS[args.format]


def _streaming_problem(args: argparse.Namespace) -> str | None:
    """What the model's own streaming rule (one clip, greedy: `decoding._streaming_options`, the one place it is
    written) says of --batch-size and --num-beams, asked before any model loads. Unset, --num-beams gives way to
    greedy search at run time, as the rule says."""
    from ..model.decoding import _streaming_options
    from ..model.decoding_options import DecodingOptions

    asked = {} if args.num_beams is None else {"num_beams": args.num_beams}
    try:
        _streaming_options(DecodingOptions(**asked), asked, batch_size=args.batch_size)
    except ValueError as error:
        return f"--stream (--batch-size {args.batch_size}, --num-beams {args.num_beams or 'unset'}): {error}"
    return None


def input_stem(file: Path | str) -> str:
    """The name an input's output file takes: a file's stem, or the stem of a URL's path (not its query)."""
    return Path(urlparse(file).path if is_url(file) else file).stem


def _output_problem(args: argparse.Namespace, files: list[Path | str]) -> str | None:
    """What is wrong with the output options, if anything."""
    timestamps = _timestamps(args)
    if args.format in ("srt", "vtt") and timestamps == "none":
        return f"--format {args.format} shows timed cues; use --timestamps segment or word."
    if args.format in ("srt", "vtt") and len(files) > 1 and args.output_dir is None:
        return f"--format {args.format} with several files needs --output-dir (one subtitle file per input)."
    if args.retry_failed and args.output_dir is None:
        return "--retry-failed reads the failures that DIR/results.jsonl records; add --output-dir DIR."
    if args.stream and args.output_dir is None and (args.format != "txt" or timestamps != "none"):
        return "--stream prints plain text; to also get timestamps or another format, add --output-dir."
    if args.stream and (problem := _streaming_problem(args)):
        return problem
    if args.output_dir is not None:
        names = [input_stem(file) for file in files]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            return f"several inputs would write {args.output_dir / twice[0]}.{args.format}; rename or write them apart."
    return None
