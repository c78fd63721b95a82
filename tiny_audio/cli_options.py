"""Command-line options checked while the arguments are parsed, before any file or model is touched.

`argument_type(check)` makes a check (a function that returns the value or raises a ValueError saying what is
accepted) an argparse type: a bad value ends the command with exit status 2 and argparse's one-line error. The checks
themselves live with what they judge (decoding options: `tiny_audio.model.decoding_options.check_option`); the one
defined here is `check_device`, for the `--device` of `tiny-audio transcribe`, `eval` and `demo`: torch would refuse
a bad one only once the weights are loaded, in a traceback ("Torch not compiled with CUDA enabled", "Expected one of
cpu, cuda, ...").
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["argument_type", "check_device"]


def argument_type(check: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """An argparse type that runs `check` on the option's text; its ValueError becomes argparse's error line."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name  # argparse names the type in its messages
    return convert


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


def _accepted() -> str:
    import torch

    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda"] + [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        names.append("mps")
    return " or ".join(names)
