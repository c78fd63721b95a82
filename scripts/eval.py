"""The course's spelling of `tiny-audio eval`:

    python scripts/eval.py mazesmazes/tiny-audio --dataset loquacious --max-samples 100 --split test --config medium

Everything lives in tiny_audio.evaluation; this file only forwards its arguments.
"""

import sys

from tiny_audio.evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())
