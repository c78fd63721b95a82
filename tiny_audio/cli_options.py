"""Command-line options checked while the arguments are parsed, before any file or model is touched.

`argument_type(check)` makes a check (a function that returns the value or raises a ValueError saying what is
accepted) an argparse type: a bad value ends the command with exit status 2 and argparse's one-line error. The checks
live with what they judge: `option_type(name, parse)` hands decoding and pipeline options (num_beams, batch_size,
chunk_length_s, ...) to `tiny_audio.model.decoding_options.check_option`, whose bounds the pipeline and `generate()`
share. Defined here: `at_least_one` for counts, `positive_number` for amounts, and `check_device` for the
`--device` of `tiny-audio transcribe`, `eval` and `demo` (torch would refuse a bad one only once the weights are
loaded, in a traceback: "Torch not compiled with CUDA enabled", "Expected one of cpu, cuda, ..."). `--context` and
`--context-file` (transcribe, eval) are judged by the model's own `context_words.check_context`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .model.context_words import check_context
from .model.decoding_options import check_option

__all__ = [
    "add_context_arguments",
    "argument_type",
    "at_least_one",
    "check_device",
    "option_type",
    "positive_number",
    "read_context_file",
]


def argument_type(check: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """An argparse type that runs `check` on the option's text; its ValueError becomes argparse's error line."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name  # argparse names the type in its messages
    return convert


def option_type(name: str, parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type for option `name`: `parse` reads the text, `check_option` judges the value (text that does
    not parse goes to it as it is, so that the error says what is accepted)."""

    def check(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            value = text
        return check_option(name, value)

    return argument_type(check, name)


def at_least_one(text: str) -> int:
    """A count of 1 or more (samples, steps, GPUs)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{text!r} is not accepted; give a whole number of 1 or more.")
    return value


def positive_number(text: str) -> float:
    """An amount above 0 (GiB of memory, seconds)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ValueError(f"{text!r} is not accepted; give a number above 0.")
    return value


def check_device(name: str) -> str:
    """`name` if this machine has that device (cpu, cuda, cuda:N, mps), else a ValueError saying which it has."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"{name!r} is not a device name; this machine takes {_accepted()}.") from error
    if device.type == "cpu":
        return name
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if device.index is None and count or device.index is not None and device.index < count:
            return name
        raise ValueError(f"{name!r}: this machine has {count} CUDA devices; it takes {_accepted()}.")
    if device.type == "mps" and torch.backends.mps.is_available():
        return name
    raise ValueError(f"{name!r} is not available on this machine; it takes {_accepted()}.")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """`--device`, as transcribe, eval and demo take it: checked against the devices this machine has."""
    parser.add_argument(
        "--device",
        type=argument_type(check_device, "device"),
        help="cpu, cuda, cuda:1, ... (default: cuda when available, else cpu)",
    )


def read_context_file(path: str) -> tuple[str, ...]:
    """The context in a text file: one entry per line; blank lines and lines starting with # are left out."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise ValueError(f"cannot read {path}: {reason}") from None
    entries = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    try:
        return check_context(entries)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def add_context_arguments(parser: argparse.ArgumentParser) -> None:
    """`--context` or `--context-file`, as transcribe and eval take them: checked by the model's own rules."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--context",
        type=argument_type(check_context, "context"),
        metavar="WORDS",
        help='comma-separated names and words that may occur in the audio, e.g. "Tiny Audio, Hugging Face" '
        "(docs/context.md: what the embedded model makes of one)",
    )
    group.add_argument(
        "--context-file",
        dest="context",
        type=argument_type(read_context_file, "context_file"),
        metavar="FILE",
        help="the context from a text file, one entry per line (blank lines and # comments left out)",
    )


def _accepted() -> str:
    import torch

    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda"] + [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        names.append("mps")
    return " or ".join(names)
