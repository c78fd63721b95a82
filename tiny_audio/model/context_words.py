"""Context: names and words the caller expects in the audio, told to the decoder in its instruction.

`asr(audio, context=["Tiny Audio", "Hugging Face"])` (or one comma-separated string) turns the instruction
"Transcribe the audio." into "Transcribe the audio. Words that may occur: Tiny Audio, Hugging Face." The template
(`CONTEXT_TEMPLATE`) and the checks (`check_context`) live here once: the pipeline, `ASRConfig.instruction`, the
command lines and the training prompts (tiny_audio/training/context_prompts.py) all go through them, so that a model
trained with context reads the same words at inference. No context gives the instruction unchanged.

A leaf module: imports only the standard library.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Appended to the instruction when a context is given; `{words}` is the entries joined by ", ".
CONTEXT_TEMPLATE = "{instruction} Words that may occur: {words}."
SEPARATOR = ", "
# Bounds on what the prompt carries. Every entry adds tokens the decoder reads before the audio (a 50-character
# entry is ~12 SmolLM2 tokens; 1,000 characters ~250, as much as 20 s of audio): a short list of names and rare
# words is what helps, a long one only slows each piece and dilutes the hint.
MAX_ENTRIES = 100
MAX_ENTRY_CHARACTERS = 50
MAX_TOTAL_CHARACTERS = 1000
# Characters an entry may not hold: a comma would split it in the prompt; angle brackets could spell a chat
# template's special tokens (<|im_end|>) or the audio placeholder (<audio>), which the tokenizer would honour.
FORBIDDEN_CHARACTERS = ",<>"
ACCEPTED = (
    f"a list of at most {MAX_ENTRIES} names or words (or one comma-separated string), each at most "
    f"{MAX_ENTRY_CHARACTERS} characters and {MAX_TOTAL_CHARACTERS} in all, without line breaks, control characters, "
    "commas inside an entry or angle brackets"
)


def check_context(context: str | Iterable[str] | None) -> tuple[str, ...]:
    """The entries of `context`, cleaned: a string is split at its commas; each entry's whitespace is stripped (and
    runs of spaces made one), empty entries and repeats (case-insensitive) dropped, the order kept. None, "" and []
    give (). Anything over a bound is a ValueError of one line that says what is accepted."""
    if context is None:
        return ()
    if isinstance(context, str):
        raw = context.split(",")
    elif isinstance(context, Iterable) and not isinstance(context, (bytes, dict)):
        raw = list(context)
    else:
        raise ValueError(f"context={_short(context)} is not accepted; give {ACCEPTED}.")
    entries: list[str] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, str):
            raise ValueError(f"context entry {_short(item)} is not text; give {ACCEPTED}.")
        if bad := [character for character in item if _forbidden(character)]:
            raise ValueError(f"context entry {_short(item)} holds {bad[0]!r}; give {ACCEPTED}.")
        entry = " ".join(item.split())
        if len(entry) > MAX_ENTRY_CHARACTERS:
            raise ValueError(f"context entry {_short(entry)} has {len(entry)} characters; give {ACCEPTED}.")
        if entry and entry.casefold() not in seen:
            seen.add(entry.casefold())
            entries.append(entry)
    if len(entries) > MAX_ENTRIES:
        raise ValueError(f"context has {len(entries)} entries; give {ACCEPTED}.")
    if (total := len(SEPARATOR.join(entries))) > MAX_TOTAL_CHARACTERS:
        raise ValueError(f"context has {total} characters; give {ACCEPTED}.")
    return tuple(entries)


def with_context(instruction: str, context: str | Iterable[str] | None) -> str:
    """`instruction` with the context's words appended (`CONTEXT_TEMPLATE`); unchanged when there are none."""
    entries = check_context(context)
    if not entries:
        return instruction
    return CONTEXT_TEMPLATE.format(instruction=instruction, words=SEPARATOR.join(entries))


def _forbidden(character: str) -> bool:
    # Cc: control characters (tab, newline, ...); Zl, Zp: the Unicode line and paragraph separators.
    return character in FORBIDDEN_CHARACTERS or unicodedata.category(character) in ("Cc", "Zl", "Zp")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
