"""Keeping secrets out of what a push publishes and prints.

Two guards: values under secret-looking keys are dropped from anything we write (a recipe may carry
`training.hub_token`, a TrainingArguments field), and the token in use is searched for, byte for byte, in every file
about to be uploaded and replaced in every message we print.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# `hub_token`, `hf_token`, `api_key`, `wandb_secret`...; not `audio_token` or `max_new_tokens` (model settings).
SECRET_KEY = re.compile(
    r"^((hub|hf|auth|access|api|bearer)_)?token$|api_?key$|secret|password|passwd|credential", re.IGNORECASE
)
REDACTED = "<redacted>"


def drop_secrets(value: Any) -> Any:
    """A copy of `value` (nested dicts/lists) with the values of secret-looking keys replaced by REDACTED."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if SECRET_KEY.search(str(key)) and item is not None else drop_secrets(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [drop_secrets(item) for item in value]
    return value


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every occurrence of each non-empty secret replaced by REDACTED."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def files_containing(folder: str | Path, secret: str | None) -> list[str]:
    """Paths (relative to `folder`) of the files whose bytes contain `secret`."""
    if not secret:
        return []
    folder, needle = Path(folder), secret.encode()
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    )
