"""The development set "dev-real": 10 clips of real human speech from Debian's `pocketsphinx-testdata`.

5 LibriVox clips (a person reading "Sense and Sensibility") and 5 spoken playing cards ("ten of clubs"), each with
its transcript, 16 kHz mono. It is small, but it is the only real English speech with transcripts that installs
here, so it is the yardstick for models trained on synthetic speech. Never train on it: `build_corpus` removes its
sentences from the synthetic corpus (see `text.dev_overlap`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import datasets
import pyarrow as pa
import soundfile as sf

from .schema import dev_features

# Where Debian installs the test data; TINY_AUDIO_DEV_REAL_DIR points elsewhere (e.g. a copy on another system).
DEFAULT_ROOT = Path("/usr/share/pocketsphinx/test/data")
# (subfolder, transcript file) per part of the set, in the order clips are listed.
PARTS = (("librivox", "transcription"), ("cards", "cards.transcription"))
INSTALL_HINT = "install it with `apt-get install pocketsphinx-testdata` or set TINY_AUDIO_DEV_REAL_DIR"
# A Sphinx transcript line: "<s> words </s> (clip-id)"
_LINE = re.compile(r"^\s*(?:<s>)?(?P<text>.*?)(?:</s>)?\s*\((?P<id>[^()]+)\)\s*$")


@dataclass(frozen=True)
class DevClip:
    id: str
    source: str
    text: str
    path: Path


def dev_root() -> Path:
    return Path(os.environ.get("TINY_AUDIO_DEV_REAL_DIR", DEFAULT_ROOT))


def dev_clips(root: Path | None = None) -> list[DevClip]:
    """The clips and transcripts, read from the Sphinx transcript files; raises with an install hint if missing."""
    root = dev_root() if root is None else Path(root)
    clips = []
    for folder, transcript in PARTS:
        listing = root / folder / transcript
        if not listing.exists():
            raise FileNotFoundError(f"dev-real needs {listing} from Debian's pocketsphinx-testdata: {INSTALL_HINT}")
        for line in listing.read_text(encoding="utf-8").splitlines():
            match = _LINE.match(line)
            if not line.strip():
                continue
            if match is None:
                raise ValueError(f"{listing}: unexpected line {line!r}; expected '<s> words </s> (clip-id)'")
            clip_id = match.group("id").strip()
            text = " ".join(match.group("text").split())
            clips.append(DevClip(clip_id, folder, text, root / folder / f"{clip_id}.wav"))
    return clips


# The sentence of the bundled sample (tiny_audio/samples/hello.wav), the first thing a user transcribes: held out of
# training like dev-real, so that reading it right says something about the model.
BUNDLED_SAMPLE_TEXT = "Hello, this is a test of the tiny audio speech recognition system."


def dev_transcripts(root: Path | None = None) -> list[str]:
    """What `build_corpus` keeps out of the synthetic corpus: the dev-real transcripts and the bundled sample's."""
    return [clip.text for clip in dev_clips(root)] + [BUNDLED_SAMPLE_TEXT]


def load_dev_real(root: Path | None = None) -> datasets.Dataset:
    """The 10 clips as a Dataset with columns audio ({bytes, path}, not decoded), text, id, source, duration."""
    rows: dict[str, list] = {"audio": [], "text": [], "id": [], "source": [], "duration": []}
    for clip in dev_clips(root):
        info = sf.info(str(clip.path))
        rows["audio"].append({"bytes": clip.path.read_bytes(), "path": clip.path.name})
        rows["text"].append(clip.text)
        rows["id"].append(clip.id)
        rows["source"].append(clip.source)
        rows["duration"].append(info.frames / info.samplerate)
    # Built from an Arrow table: `Dataset.from_dict` would re-encode the audio through torchcodec (see schema.py).
    features = dev_features()
    return datasets.Dataset(
        pa.Table.from_pydict(rows, schema=features.arrow_schema), info=datasets.DatasetInfo(features=features)
    )


def export_dev_real(output_dir: str | Path, root: Path | None = None) -> Path:
    """Write the set as `data/validation-00000-of-00001.parquet` (+ a README), loadable like the corpus."""
    output = Path(output_dir)
    (output / "data").mkdir(parents=True, exist_ok=True)
    path = output / "data" / "validation-00000-of-00001.parquet"
    load_dev_real(root).to_parquet(str(path))
    (output / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: validation\n"
        "    path: data/validation-*.parquet\n---\n\n# dev-real\n\n"
        "10 clips of real speech with transcripts from Debian's pocketsphinx-testdata (BSD-2-Clause): 5 LibriVox "
        "readings of *Sense and Sensibility* and 5 spoken playing cards. For development and evaluation only; never "
        "train on them.\n",
        encoding="utf-8",
    )
    return path
