"""The course's spelling of `tiny-audio transcribe`:

    python scripts/transcribe.py speech.wav [--model mazesmazes/tiny-audio]

Everything lives in tiny_audio.app.transcribe; this file only forwards its arguments.
"""

import sys

from tiny_audio.cli import main

if __name__ == "__main__":
    sys.exit(main(["transcribe", *sys.argv[1:]]))
