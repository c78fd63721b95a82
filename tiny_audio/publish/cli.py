"""`tiny-audio push CHECKPOINT REPO_ID [...]` (also `python push.py ...`): publish a trained model on the Hub.

Errors are printed as one message, with the token in use replaced by <redacted> should any library put it there.
"""

from __future__ import annotations

import argparse
import sys
import traceback

DESCRIPTION = """Assemble a Hub repository from a trained checkpoint (a saved model directory, a Trainer
checkpoint-N directory, or a run's output directory holding model/) and upload the files that changed. The token
comes from HF_TOKEN or `hf auth login`."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "push", help="publish a trained model on the Hugging Face Hub", description=DESCRIPTION
    )
    parser.add_argument("checkpoint", help="saved model directory, checkpoint-N directory, or run output directory")
    parser.add_argument("repo_id", help="Hub repository, e.g. me/tiny-audio")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--revision", help="branch to push to (created from main if missing; default: main)")
    parser.add_argument(
        "--results",
        nargs="+",
        action="extend",
        default=[],
        metavar="DIR",
        help="directories with results.json files from `tiny-audio eval`, for the model card's results",
    )
    parser.add_argument(
        "--results-model", metavar="NAME", help="the model's name in those results (default: the checkpoint path)"
    )
    parser.add_argument(
        "--self-contained", action="store_true", help="publish every weight (backbones too), not only the trained ones"
    )
    parser.add_argument("--dry-run", action="store_true", help="assemble the folder and upload nothing")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="after pushing, load the model from the Hub in a fresh process and check that it transcribes the audio "
        "exactly as the local model does",
    )
    parser.add_argument(
        "--verify-audio", metavar="FILE", help="audio for --verify (implies it; default: the bundled hello.wav)"
    )
    parser.add_argument("--folder", help="where to assemble the repository (default: outputs/push_<repo>)")
    parser.add_argument("--license", default="mit", help="license in the model card metadata (default: mit)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from huggingface_hub import get_token

    from .push import push
    from .redaction import redact
    from .verify import VerificationError

    try:
        push(
            args.checkpoint,
            args.repo_id,
            private=args.private,
            revision=args.revision,
            results=args.results,
            results_model=args.results_model,
            self_contained=args.self_contained,
            dry_run=args.dry_run,
            verify=args.verify or args.verify_audio is not None,
            verify_audio=args.verify_audio,
            folder=args.folder,
            license=args.license,
            log=lambda message: print(message, flush=True),
        )
    except (ValueError, OSError, VerificationError) as error:  # OSError covers huggingface_hub's HTTP errors
        print(f"error: {redact(str(error), get_token())}", file=sys.stderr)
        return 1
    except Exception:  # unexpected: keep the traceback for a bug report, without the token
        print(redact(traceback.format_exc(), get_token()), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m tiny_audio.publish.cli CHECKPOINT REPO_ID ...`: the push command on its own."""
    parser = argparse.ArgumentParser(prog="tiny-audio")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["push", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
