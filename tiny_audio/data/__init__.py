"""Speech datasets: a synthetic corpus built from real text (`build_corpus`), the real-speech development set
(`load_dev_real`), and loading without torchcodec (`load_corpus`, `load_audiofolder`; `decode_audio` is
`model.audio_input.load_audio`, the one audio decoder, under the name the data cards use).

Names are imported on first use, so worker processes that only render audio do not pay for importing `datasets`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "build_corpus": "build",
    "BuildSummary": "build_summary",
    "load_corpus": "load",
    "load_audiofolder": "load",
    "decode_audio": "load",
    "load_dev_real": "dev_real",
    "export_dev_real": "dev_real",
    "discover_voices": "voices",
}

__all__ = [
    "BuildSummary",
    "build_corpus",
    "decode_audio",
    "discover_voices",
    "export_dev_real",
    "load_audiofolder",
    "load_corpus",
    "load_dev_real",
]

if TYPE_CHECKING:
    from .build import build_corpus
    from .build_summary import BuildSummary
    from .dev_real import export_dev_real, load_dev_real
    from .load import decode_audio, load_audiofolder, load_corpus
    from .voices import discover_voices


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tiny_audio.data' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
