"""Publish a trained model on the Hugging Face Hub: `python push.py CHECKPOINT REPO_ID [--dry-run] [--verify] ...`.

The same as `tiny-audio push ...`; a second push of the same checkpoint uploads nothing.
"""

import sys

from tiny_audio.cli import main

if __name__ == "__main__":
    sys.exit(main(["push", *sys.argv[1:]]))
