"""The course's set-up check (class 1, exercise 1): `python scripts/verify_setup.py [--transcribe]`.

The same as `tiny-audio doctor`; everything lives in tiny_audio/app/doctor.py.
"""

import sys

from tiny_audio.app.doctor import main

if __name__ == "__main__":
    sys.exit(main())
