"""The course's sample audio: `python scripts/download_samples.py [--output-dir DIR] [--offline]`.

With the Hugging Face Hub: LibriSpeech test-clean clips in samples/LibriSpeech/test-clean/. Without it (said in one
line): the real speech clips of Debian's pocketsphinx-testdata in samples/dev-real/. Either way the bundled
samples/hello.wav, and test.wav (the clip the class exercises open). Everything lives in tiny_audio.app.course_samples.
"""

import argparse
import sys

from tiny_audio.app.course_samples import LIBRISPEECH_CLIPS, fetch_samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/download_samples.py", description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default=".", help="where test.wav and samples/ go (default: here)")
    parser.add_argument("--offline", action="store_true", help="do not try the Hub: use this machine's clips")
    parser.add_argument("--clips", type=int, default=LIBRISPEECH_CLIPS, help="LibriSpeech clips to fetch (Hub only)")
    args = parser.parse_args(argv)
    if args.clips < 1:
        parser.error(f"--clips must be at least 1, got {args.clips}")
    fetch_samples(args.output_dir, use_hub=False if args.offline else None, clips=args.clips)
    return 0


if __name__ == "__main__":
    sys.exit(main())
