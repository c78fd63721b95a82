"""The commands the README and docs/ show in ```bash blocks are real: each `tiny-audio ...`, `python train.py`,
`python push.py`, `python scripts/*.py` and `python benchmarks/*.py` (also after `accelerate launch`, env-var
prefixes and `&&` chains) runs in this process up to its own argparse parser and stops there. A flag, subcommand or
script the code does not have fails the parse; no model is loaded and no job runs."""

from __future__ import annotations

import argparse
import os
import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest

from tiny_audio.cli import SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
SEPARATORS = {"&&", "||", ";", "|", "&"}
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


class Parsed(Exception):
    """Raised in place of running the job once a command's arguments have parsed."""


class CommandError(AssertionError):
    pass


def bash_lines(text: str) -> list[str]:
    """Logical lines of every ```bash block (backslash continuations joined)."""
    lines = []
    for block in BASH_BLOCK.findall(text):
        lines += [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    return lines


def simple_commands(line: str) -> list[list[str]]:
    """The simple commands of one shell line: split at && || ; | &, comments and env-var prefixes dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    commands, words = [], []
    for token in lexer:
        if token in SEPARATORS:
            commands.append(words)
            words = []
        else:
            words.append(token)
    commands.append(words)
    for words in commands:
        while words and ENV_ASSIGNMENT.match(words[0]):
            del words[0]
    return [words for words in commands if words]


def to_check(words: list[str]) -> tuple[str, list[str]] | None:
    """('tiny-audio', argv) or (script path, argv) for a command this test covers, else None."""
    program = os.path.basename(words[0])
    if program == "tiny-audio":
        return "tiny-audio", words[1:]
    if program == "accelerate" and words[1:2] == ["launch"]:
        scripts = [index for index, word in enumerate(words) if word.endswith(".py")]
        return (words[scripts[0]], words[scripts[0] + 1 :]) if scripts else None
    if re.fullmatch(r"python[0-9.]*", program) and len(words) > 1 and words[1].endswith(".py"):
        return words[1], words[2:]
    return None


def documented_commands() -> list[tuple[str, str, list[str]]]:
    found = []
    for document in DOCUMENTS:
        for line in bash_lines(document.read_text(encoding="utf-8")):
            for words in simple_commands(line):
                if (command := to_check(words)) is not None:
                    found.append((document.relative_to(ROOT).as_posix(), *command))
    return found


def check_parses(program: str, argv: list[str], monkeypatch, capsys) -> None:
    """Run the command up to its argparse parser; raise CommandError if the parser rejects it."""
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(parser, args=None, namespace=None):
        original(parser, args, namespace)
        raise Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    script = ROOT / program
    if program != "tiny-audio" and not script.is_file():
        raise CommandError(f"{program}: no such script in the repository")
    monkeypatch.setattr(sys, "argv", [str(script), *argv])
    try:
        if program == "tiny-audio":
            from tiny_audio.cli import main

            main(argv)
        else:
            monkeypatch.syspath_prepend(str(script.parent))  # as `python script.py` puts its folder first
            runpy.run_path(str(script), run_name="__main__")
    except Parsed:
        return
    except SystemExit as stop:
        if stop.code in (0, None):  # e.g. --help
            return
        raise CommandError(f"{program} {shlex.join(argv)}: {capsys.readouterr().err.strip()}") from None
    raise CommandError(f"{program} {shlex.join(argv)} finished without parsing arguments with argparse")


COMMANDS = documented_commands()


@pytest.mark.parametrize(
    ("program", "argv"),
    [pytest.param(program, argv, id=f"{where}: {program} {shlex.join(argv)}") for where, program, argv in COMMANDS],
)
def test_documented_command_parses(program, argv, monkeypatch, capsys):
    check_parses(program, argv, monkeypatch, capsys)


def test_the_readme_shows_every_subcommand_and_the_set_up_commands():
    readme = [(program, argv) for where, program, argv in COMMANDS if where == "README.md"]
    shown = {argv[0] for program, argv in readme if program == "tiny-audio" and argv}
    assert set(SUBCOMMANDS) <= shown, f"subcommands the README does not show: {sorted(set(SUBCOMMANDS) - shown)}"
    # the main job's line: an install, then the command behind an env-var prefix, found through the && chain
    assert ("tiny-audio", ["transcribe", "tiny_audio/samples/hello.wav"]) in readme
    assert {program for program, _ in readme} >= {"tiny-audio", "train.py"}


@pytest.mark.parametrize(
    "line",
    [
        "tiny-audio transcribe speech.wav --no-such-flag 1",
        "bash scripts/install.sh && HF_HUB_OFFLINE=1 .venv/bin/tiny-audio no-such-command",
        "tiny-audio data synth --output data/synth --no-such-engine-flag",
        "python train.py --config configs/default.yaml --no-such-flag",
        "accelerate launch --config_file configs/accelerate/ddp.yaml push.py only-one-positional",
        "python benchmarks/decoding_speed.py --no-such-flag",
        "python scripts/no_such_script.py",
    ],
)
def test_a_wrong_command_is_caught(line, monkeypatch, capsys):
    [words] = [words for words in simple_commands(line) if to_check(words)]
    with pytest.raises(CommandError):
        check_parses(*to_check(words), monkeypatch, capsys)
