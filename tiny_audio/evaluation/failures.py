"""A failure's message in one line, for the reports of the evaluation loop (results.txt, the printed run) and of
batch transcription (results.jsonl): both go on past a bad clip and name why it failed. A leaf module, so that
neither imports the other.
"""

from __future__ import annotations

from ..model.audio_input import ACCEPTED

__all__ = ["one_line"]


def one_line(message: str) -> str:
    """A failure's message as one line for a report, without the list of accepted inputs that `load_audio` adds
    (it is for a programmer passing a wrong type, not for a file that is broken)."""
    return " ".join(message.split()).replace(f" Accepted input: {ACCEPTED}.", "") or "no message"
