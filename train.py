"""Train a tiny-audio model: `python train.py --config configs/default.yaml [section.key=value ...]`.

The same as `tiny-audio train ...`; rerunning the same command resumes from the last checkpoint.
"""

import sys

from tiny_audio.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
