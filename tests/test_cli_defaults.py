"""Every default a command's --help states is the one the code uses: the option's own argparse default, or, for an
option left unset so that the library decides (the model's decoding options, the pipeline's chunk length), the code
default it stands for. `tiny-audio transcribe --help` once said chunks of 20 s while the pipeline cut at 8 s."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields

import pytest

from tiny_audio.cli import build_parser
from tiny_audio.model.configuration_asr import DEFAULT_PROMPTS
from tiny_audio.model.constants import DEFAULT_CHUNK_SECONDS
from tiny_audio.model.decoding_options import DecodingOptions

COMMANDS = ("transcribe", "eval", "demo", "train")
DEVICE = "cuda when available, else cpu"  # transformers' pipeline(device=None): cuda:0 when torch sees one
# Options whose argparse default is None: what the code then does, as the help must say it.
LEFT_TO_THE_CODE = {
    ("transcribe", "--chunk-length-s"): f"{DEFAULT_CHUNK_SECONDS:g}",
    ("transcribe", "--task"): next(iter(DEFAULT_PROMPTS)),
    ("transcribe", "--model"): "the embedded default model",
    ("demo", "--model"): "the embedded default model",
    ("transcribe", "--device"): DEVICE,
    ("eval", "--device"): DEVICE,
    ("demo", "--device"): DEVICE,
    ("eval", "--split"): "the dataset's test split",
    ("eval", "--max-samples"): "all",
}
MODEL_DECODING = "the model's"  # the model's config.generation over DecodingOptions' defaults


def stated_defaults(command: str) -> list[tuple[argparse.Action, str]]:
    """(option, the default its help states) for every option of `tiny-audio COMMAND` whose help states one."""
    subparsers = next(a for a in build_parser(only=command)._actions if isinstance(a, argparse._SubParsersAction))
    parser = subparsers.choices[command]
    formatter = parser._get_formatter()
    found = []
    for action in parser._actions:
        if action.help and (match := re.search(r"\(default: ([^;)]*)", formatter._expand_help(action))):
            found.append((action, match.group(1).strip()))
    return found


@pytest.mark.parametrize("command", COMMANDS)
def test_every_stated_default_is_the_codes(command):
    stated = stated_defaults(command)
    assert stated, f"tiny-audio {command} --help states no default"
    for action, text in stated:
        option = action.option_strings[0] if action.option_strings else action.dest
        if action.default is not None:
            shown = f"{action.default:g}" if isinstance(action.default, float) else str(action.default)
            assert text == shown, f"{command} {option}: help says {text!r}, argparse default is {action.default!r}"
        elif text == MODEL_DECODING:
            assert action.dest in {field.name for field in fields(DecodingOptions)}, f"{command} {option}"
        elif (command, option) == ("transcribe", "--timestamps"):
            from tiny_audio.app.transcribe import DEFAULT_TIMESTAMPS

            assert text.startswith(", ".join(f"{timed} for {kind}" for kind, timed in DEFAULT_TIMESTAMPS.items()))
        else:
            assert LEFT_TO_THE_CODE.get((command, option)) == text, f"{command} {option}: help says {text!r}"


def test_the_decoding_options_left_to_the_model_are_unset_on_the_command_line():
    """Unset, the model's own generation settings apply (beam width 4 for the embedded model, not 1)."""
    from tiny_audio.app.transcribe import call_options

    defaults = [action for action, text in stated_defaults("transcribe") if text == MODEL_DECODING]
    assert {action.dest for action in defaults} >= {"num_beams", "ctc_decoding_weight", "frequency_warps"}
    subparsers = next(a for a in build_parser(only="transcribe")._actions if isinstance(a, argparse._SubParsersAction))
    args = subparsers.choices["transcribe"].parse_args(["clip.wav"])
    assert call_options(args) == {}  # nothing passed: the pipeline and the model decide
