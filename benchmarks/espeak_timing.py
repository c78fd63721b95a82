"""Speech with known word boundaries: espeak-ng's library synthesises a text and reports where each word and phoneme
starts (`espeak_SetSynthCallback` events, in samples), which the command line does not print.

A word starts at its first phoneme and ends where the next phoneme event begins (a pause or the next word): the
positions are exact for the audio espeak-ng writes (a pause event falls on the first silent sample). Used by
`benchmarks/word_timestamps.py` and `tests/test_timestamps.py`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tiny_audio.model.audio_input import resample
from tiny_audio.model.constants import SAMPLING_RATE

# espeak_EVENT_TYPE and other constants of speak_lib.h (espeak-ng 1.51).
EVENT_LIST_TERMINATED, EVENT_WORD, EVENT_END, EVENT_MSG_TERMINATED, EVENT_PHONEME = 0, 1, 5, 6, 7
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS, INITIALIZE_DONT_EXIT = 0x0001, 0x8000
CHARS_UTF8 = 1
RATE_PARAMETER = 1  # espeakRATE, words per minute
PAUSE_PHONEMES = {"_", "_:", "_!", "_^_", "_|"}


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position of a word in the text
        ("length", ctypes.c_int),  # a word's length in characters
        ("audio_position", ctypes.c_int),  # milliseconds
        ("sample", ctypes.c_int),  # samples at the voice's rate: finer than audio_position
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class TimedWord:
    text: str
    start: float  # seconds
    end: float


class _Espeak:
    """The espeak-ng library, initialised once for synchronous synthesis with phoneme events."""

    def __init__(self):
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        self.library = ctypes.CDLL(name)
        self.rate = self.library.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT
        )
        if self.rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed ({self.rate}); is espeak-ng-data installed?")
        self.samples: list[np.ndarray] = []
        self.events: list[tuple[int, int, int, int, str]] = []
        self.callback = _CALLBACK(self._receive)  # kept referenced: the library calls it later
        self.library.espeak_SetSynthCallback(self.callback)

    def _receive(self, wav, count, events) -> int:
        if wav and count > 0:
            self.samples.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        index = 0
        while events[index].type != EVENT_LIST_TERMINATED:
            event = events[index]
            phoneme = event.id.string.decode("ascii", "replace") if event.type == EVENT_PHONEME else ""
            self.events.append((event.type, event.text_position, event.length, event.sample, phoneme))
            index += 1
        return 0

    def synthesise(self, text: str, voice: str, words_per_minute: int) -> tuple[np.ndarray, list]:
        self.samples, self.events = [], []
        if self.library.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r} (espeak-ng --voices lists them).")
        self.library.espeak_SetParameter(RATE_PARAMETER, words_per_minute, 0)
        data = text.encode()
        status = self.library.espeak_Synth(data, len(data) + 1, 0, 0, 0, CHARS_UTF8, None, None)
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        self.library.espeak_Synchronize()
        audio = np.concatenate(self.samples) if self.samples else np.zeros(0, dtype=np.int16)
        return audio, self.events


@lru_cache(maxsize=1)
def _espeak() -> _Espeak:
    return _Espeak()


def synthesise(text: str, voice: str = "en-us", words_per_minute: int = 175) -> tuple[np.ndarray, list[TimedWord]]:
    """16 kHz float32 speech of `text` and each word's (text, start, end) in seconds."""
    engine = _espeak()
    audio, events = engine.synthesise(text, voice, words_per_minute)
    seconds = 1.0 / engine.rate
    # Word events open a word; phoneme events that follow belong to it until the next word event.
    words: list[dict] = []
    for kind, position, length, sample, phoneme in events:
        if kind == EVENT_WORD:
            words.append({"text": text[position - 1 : position - 1 + length], "phonemes": []})
        elif kind == EVENT_PHONEME:
            target = words[-1]["phonemes"] if words else []
            target.append((sample, phoneme))
    # espeak-ng cuts some words differently from the text ("didn't" → "didn"): where it gives one event per
    # whitespace-separated word, name the words after the text.
    written = text.split()
    if len(written) == len(words):
        for word, name in zip(words, written, strict=True):
            word["text"] = name
    # All phoneme starts in order, to find where each word's last phoneme ends.
    starts = sorted(sample for word in words for sample, _ in word["phonemes"])
    timed = []
    for word in words:
        spoken = [sample for sample, phoneme in word["phonemes"] if phoneme not in PAUSE_PHONEMES]
        if not spoken:
            continue
        following = [sample for sample in starts if sample > spoken[-1]]
        end = following[0] if following else audio.shape[0]
        timed.append(TimedWord(word["text"], spoken[0] * seconds, end * seconds))
    waveform = resample(audio.astype(np.float32) / 32768.0, engine.rate, SAMPLING_RATE)
    return waveform, timed
