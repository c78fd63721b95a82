"""Train a tiny-audio model: `python train.py --config configs/default.yaml [section.key=value ...]`.

The same as `tiny-audio train`; rerunning the same command resumes from the last checkpoint.
"""

import argparse
import sys

from tiny_audio.training.cli import add_arguments, run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
