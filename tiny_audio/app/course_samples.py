"""The course's sample audio (`python scripts/download_samples.py`): where the exercises expect it, with or without
the Hugging Face Hub.

The course's class scripts read `test.wav` in the directory they run from, and its set-up check looks for it or for
LibriSpeech clips under `samples/`. With the Hub, LibriSpeech test-clean clips are streamed from the same collection
`tiny-audio eval --dataset librispeech-clean` reads (the Open ASR Leaderboard's), and written as FLAC with their
transcripts. Without it, the real speech this machine has is used instead: Debian's `pocketsphinx-testdata` (the 10
clips of `tiny-audio eval --dataset dev-real`) and the bundled `tiny_audio/samples/hello.wav`.

`test.wav` is the real clip closest to 3 s, the length class 2 works through (48,000 samples -> ~150 frames).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..model.constants import SAMPLING_RATE

__all__ = [
    "BUNDLED_SAMPLE",
    "SAMPLES_DIR",
    "TEST_FILE",
    "SampleClip",
    "fetch_samples",
    "find_samples",
]

TEST_FILE = "test.wav"  # what the class exercises open (`audio_path = "test.wav"`)
SAMPLES_DIR = "samples"  # the course's folder for sample audio
LIBRISPEECH_DIR = f"{SAMPLES_DIR}/LibriSpeech/test-clean"  # where the course's own download puts LibriSpeech
DEV_REAL_DIR = f"{SAMPLES_DIR}/dev-real"
BUNDLED_SAMPLE = Path(__file__).parents[1] / "samples" / "hello.wav"
TRANSCRIPTS = "transcripts.txt"  # one "<clip id> <text>" line per clip, as LibriSpeech's *.trans.txt files
LIBRISPEECH_CLIPS = 20  # a handful to try things on: the course's archive is 346 MB, this is ~3 MB
TEST_SECONDS = 3.0  # class 2's example: 3 s = 48,000 samples
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")


@dataclass(frozen=True)
class SampleClip:
    id: str
    text: str
    path: Path
    seconds: float


def find_samples(root: str | Path = ".") -> list[Path]:
    """The course's sample audio under `root`: test.wav, then every audio file under samples/ (sorted)."""
    root = Path(root)
    found = [root / TEST_FILE] if (root / TEST_FILE).is_file() else []
    samples = root / SAMPLES_DIR
    if samples.is_dir():
        found += sorted(p for p in samples.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    return found


def fetch_samples(
    root: str | Path = ".",
    use_hub: bool | None = None,
    clips: int = LIBRISPEECH_CLIPS,
    log: Callable[[str], None] = print,
) -> Path:
    """Put the course's samples under `root`; returns the path of test.wav.

    `use_hub`: None checks whether the Hub answers (a few seconds); False uses this machine's clips only.
    """
    from ..evaluation.hub import hub_reachable, is_offline

    root = Path(root)
    (root / SAMPLES_DIR).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUNDLED_SAMPLE, root / SAMPLES_DIR / BUNDLED_SAMPLE.name)
    if use_hub is None:
        use_hub = not is_offline() and hub_reachable()
    real: list[SampleClip] = []
    if use_hub:
        log(f"Streaming {clips} LibriSpeech test-clean clips from the Hugging Face Hub...")
        try:
            real = _write_clips(_librispeech(clips), root / LIBRISPEECH_DIR, ".flac")
        except Exception as error:  # an unknown repository, a dropped connection, a missing `datasets`
            log(f"LibriSpeech could not be streamed ({type(error).__name__}: {error}); using this machine's clips.")
    else:
        log(
            "The Hugging Face Hub is unreachable, so the course's LibriSpeech samples cannot be downloaded: using the "
            "real speech installed on this machine (Debian pocketsphinx-testdata) and the bundled hello.wav instead."
        )
    if not real:
        real = _copy_dev_real(root / DEV_REAL_DIR, log)
    test_file = _write_test_file(real, root / TEST_FILE)
    _print_summary(root, real, test_file, log)
    return root / TEST_FILE


def _librispeech(clips: int) -> Iterator[tuple[str, str, np.ndarray]]:
    """LibriSpeech test-clean clips as `tiny-audio eval --dataset librispeech-clean` reads them (16 kHz arrays)."""
    from ..evaluation.datasets import resolve_dataset
    from ..evaluation.loaders import iter_samples

    source = resolve_dataset("librispeech-clean")
    for sample in iter_samples(source, max_samples=clips, streaming=True):
        yield sample.id, sample.text, sample.audio


def _write_clips(samples: Iterable[tuple[str, str, np.ndarray]], folder: Path, suffix: str) -> list[SampleClip]:
    """Write (id, text, 16 kHz array) triples as audio files plus a transcripts file; return what was written."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for clip_id, text, audio in samples:
        path = folder / f"{clip_id}{suffix}"
        sf.write(path, audio, SAMPLING_RATE)
        written.append(SampleClip(clip_id, text, path, len(audio) / SAMPLING_RATE))
    (folder / TRANSCRIPTS).write_text("".join(f"{clip.id} {clip.text}\n" for clip in written), encoding="utf-8")
    return written


def _copy_dev_real(folder: Path, log: Callable[[str], None]) -> list[SampleClip]:
    """Copy the dev-real clips (already 16 kHz mono WAV) and their transcripts; empty when they are not installed."""
    import soundfile as sf

    try:
        from ..data.dev_real import INSTALL_HINT, dev_clips
    except ImportError as error:  # tiny_audio.data needs the `data` extra (datasets, pyarrow)
        log(f"The real speech clips need the `data` extra ({error}): pip install -e '.[data]'.")
        return []
    try:
        clips = dev_clips()
    except FileNotFoundError:
        log(f"No real speech clips on this machine: Debian pocketsphinx-testdata is missing ({INSTALL_HINT}).")
        return []
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for clip in clips:
        path = folder / f"{clip.id}.wav"
        shutil.copyfile(clip.path, path)
        copied.append(SampleClip(clip.id, clip.text, path, sf.info(str(path)).duration))
    (folder / TRANSCRIPTS).write_text("".join(f"{clip.id} {clip.text}\n" for clip in copied), encoding="utf-8")
    return copied


def _write_test_file(real: list[SampleClip], test_file: Path) -> SampleClip:
    """test.wav: the real clip closest to TEST_SECONDS (16-bit PCM WAV, 16 kHz), else the bundled sample."""
    import soundfile as sf

    if not real:
        shutil.copyfile(BUNDLED_SAMPLE, test_file)
        return SampleClip("hello", "", test_file, sf.info(str(test_file)).duration)
    chosen = min(real, key=lambda clip: abs(clip.seconds - TEST_SECONDS))
    audio, rate = sf.read(chosen.path, dtype="float32")
    sf.write(test_file, audio, rate, subtype="PCM_16")
    return chosen


def _print_summary(root: Path, real: list[SampleClip], test_clip: SampleClip, log: Callable[[str], None]) -> None:
    folders = sorted({str(clip.path.parent.relative_to(root)) for clip in real})
    if real:
        log(f"✓ {len(real)} real speech clips with transcripts ({TRANSCRIPTS}) in {', '.join(folders)}/")
    log(f"✓ {SAMPLES_DIR}/{BUNDLED_SAMPLE.name}: the bundled sample")
    samples = round(test_clip.seconds * SAMPLING_RATE)
    text = f': "{test_clip.text}"' if test_clip.text else ""
    log(f"✓ {TEST_FILE}: {test_clip.id}, {test_clip.seconds:.2f} s ({samples:,} samples){text}")
    log("\n✅ Samples ready. You can now run the course exercises, e.g. python course/class2/explore_audio.py")
