"""The columns of a tiny-audio speech dataset, shared by the synthetic corpus and the development set.

The audio column is `Audio(decode=False)`: rows carry the encoded file ({bytes, path}) and `datasets` never decodes
it. datasets 5.x decodes audio through torchcodec, whose PyPI builds fail to load on machines without CUDA; with
decode=False loading always works, and `decode_audio` (tiny-audio's one decoder, `audio_input.load_audio`) decodes
with soundfile. Users who have a working torchcodec can still `cast_column("audio", Audio(sampling_rate=16000))`.
"""

from __future__ import annotations

import datasets

from ..model.constants import SAMPLING_RATE


def corpus_features() -> datasets.Features:
    """Features of the synthetic corpus; the parquet files carry them in their schema metadata."""
    return datasets.Features(
        {
            "audio": datasets.Audio(sampling_rate=SAMPLING_RATE, decode=False),
            "text": datasets.Value("string"),
            "id": datasets.Value("string"),
            "speaker": datasets.Value("string"),  # engine/voice, e.g. "espeak-ng/en-us+m3"
            "engine": datasets.Value("string"),
            "accent": datasets.Value("string"),
            "speed": datasets.Value("float32"),  # x the engine's normal speaking rate
            "pitch": datasets.Value("float32"),  # -1 (lowest) .. 1 (highest), engine-neutral
            "duration": datasets.Value("float32"),  # seconds
            "source": datasets.Value("string"),  # where the sentence comes from, e.g. "austen/emma"
            "channel": datasets.Value("string"),  # the codec the clip was passed through, or "clean"
        }
    )


def dev_features() -> datasets.Features:
    """Features of the real-speech development set."""
    return datasets.Features(
        {
            "audio": datasets.Audio(sampling_rate=SAMPLING_RATE, decode=False),
            "text": datasets.Value("string"),
            "id": datasets.Value("string"),
            "source": datasets.Value("string"),  # "librivox" or "cards"
            "duration": datasets.Value("float32"),
        }
    )
