"""The course's spelling of `tiny-audio demo`:

    python demo/gradio/app.py --model mazesmazes/tiny-audio --port 7860

Everything lives in tiny_audio.app.demo; this file only forwards its arguments. Without --model it serves the embedded
default model.
"""

import sys

from tiny_audio.app.demo import main

if __name__ == "__main__":
    sys.exit(main())
