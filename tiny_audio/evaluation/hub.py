"""Hugging Face Hub access for evaluation: fail fast when it is unreachable, and find which revision was used.

Without network, huggingface_hub retries each request for about 46 s before giving up (and before falling back to
the local cache). For an evaluation that names a Hub model or dataset, that is dead time with no output. So before
the first Hub access we try a TCP connection to the endpoint (a few seconds at most); if it fails we say so and
switch this process to offline mode (HF_HUB_OFFLINE=1), so cached models load at once and uncached ones fail at
once with a clear message. A user who sets HF_HUB_OFFLINE=1 (or 0) themselves skips the check.

A model that cannot be had (not a local directory, not in the cache, the Hub unreachable or the repository unknown)
is reported in one line, the same everywhere (`tiny-audio transcribe`, `eval`, `demo`, the course scripts): what
failed, and that the embedded default model works offline. transformers' own error is 18 lines of traceback.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

__all__ = [
    "OFFLINE_MODEL_HINT",
    "ModelUnavailableError",
    "ensure_hub_or_offline",
    "explain_model_errors",
    "git_head",
    "hub_endpoint",
    "hub_failure_hint",
    "hub_reachable",
    "is_offline",
    "loading_cause",
    "model_unavailable_message",
    "snapshot_commit",
]

# What works without the Hub, said wherever a model could not be loaded.
OFFLINE_MODEL_HINT = (
    "The embedded default model works offline: leave out --model, or load tiny_audio/default_model "
    "(converted backbones: `tiny-audio backbones --list`)."
)

_TRUE = {"1", "ON", "YES", "TRUE"}
_checked = False


def is_offline() -> bool:
    return (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").upper() in _TRUE


def _set_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    # Libraries read the variable once at import; update the copies of those already imported.
    for module_name, attribute in (
        ("huggingface_hub.constants", "HF_HUB_OFFLINE"),
        ("datasets.config", "HF_HUB_OFFLINE"),
        ("datasets.config", "HF_DATASETS_OFFLINE"),
    ):
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, attribute):
            setattr(module, attribute, True)


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within `timeout` seconds (no request is sent)."""
    return _endpoint_reachable(timeout)


def _endpoint_reachable(timeout: float) -> bool:
    endpoint = urlparse(hub_endpoint())
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_hub_or_offline(reason: str, timeout: float = 3.0, log=None) -> bool:
    """Check once per process whether the Hub answers; if not, switch to offline mode and say so.

    Returns True when the Hub is (or is assumed) reachable. Skipped when the user already chose HF_HUB_OFFLINE,
    and when a proxy is configured (a direct connection proves nothing then).
    """
    global _checked
    if "HF_HUB_OFFLINE" in os.environ or "TRANSFORMERS_OFFLINE" in os.environ:
        return not is_offline()
    if _checked:
        return not is_offline()
    _checked = True
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    if _endpoint_reachable(timeout):
        return True
    _set_offline()
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    log(
        f"The Hugging Face Hub is unreachable ({reason}): using only the local cache (HF_HUB_OFFLINE=1 for this "
        "run). Set HF_HUB_OFFLINE=1 yourself to skip this check."
    )
    return False


def hub_failure_hint(what: str = "dataset") -> str:
    """A sentence to append to a Hub failure: what offline mode means for a `what` ("model" or "dataset")."""
    if not is_offline():
        return ""
    hint = ". Offline mode is on (HF_HUB_OFFLINE=1), so only what is already in the Hugging Face cache can be used"
    if what == "model":
        return f"{hint}; pass a local model directory, or convert/download the checkpoint into the cache first. " + (
            OFFLINE_MODEL_HINT
        )
    return hint + "; evaluate a local dataset instead (dev-real, a corpus directory, parquet, audiofolder or manifest)"


class ModelUnavailableError(OSError, ValueError):
    """A model that could not be loaded, with a one-line message (`model_unavailable_message`, `loading_cause`).

    An OSError, as transformers' own loading errors are; also a ValueError, so that commands which report bad input
    in one line (`tiny-audio transcribe`) report this one the same way.
    """


def _is_local(model: str) -> bool:
    return Path(model).expanduser().exists()


def model_unavailable_message(model: str, error: BaseException, hint: str = OFFLINE_MODEL_HINT) -> str:
    """One line for a failed load of `model`: what failed (offline, not on the Hub, ...) and `hint`, what works
    offline instead."""
    if is_offline():
        where = "not in the Hugging Face cache, and the Hub is not used (offline mode, HF_HUB_OFFLINE=1)"
    else:
        # transformers' messages run over several lines; the first says what went wrong.
        first_line = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
        where = f"the Hub ({hub_endpoint()}) answered: {first_line}"
    return f"could not load model {model!r}: not a local directory; {where}. {hint}"


@contextmanager
def explain_model_errors(model: str | None, hint: str = OFFLINE_MODEL_HINT) -> Iterator[None]:
    """Turn a failed load of `model` (None: the embedded default) into ModelUnavailableError: one line, the full error
    chained as its cause (a command shows it with --verbose).

    A Hub model that cannot be had says what works offline (`model_unavailable_message`); any other failure (a local
    folder without safetensors weights or remote code, a broken config, no default model) says its cause, without
    the tracebacks that transformers' `pipeline()` folds into its message.
    """
    try:
        yield
    except ModelUnavailableError:
        raise
    except Exception as error:  # what loading raises varies by library and cause; the cause stays chained
        if isinstance(error, OSError) and model is not None and not _is_local(model):
            raise ModelUnavailableError(model_unavailable_message(model, error, hint)) from error
        name = repr(model) if model is not None else "(the embedded default model)"
        raise ModelUnavailableError(f"could not load model {name}: {loading_cause(error)}") from error


# transformers' pipeline() catches each model class's failure and puts its traceback text in one ValueError.
_PIPELINE_WRAPPER = "See the original errors:"
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*): (\S.*)$", re.MULTILINE)  # "ValueError: why", unindented
_HUB_LINK = re.compile(r" Checkout 'https://[^']*' for available files\.")  # said of local folders too


def loading_cause(error: BaseException) -> str:
    """One line saying why a model did not load: for transformers' pipeline() wrapper, the first exception its
    tracebacks end in; otherwise the error's own message (alone for the ValueErrors and OSErrors that loaders raise
    for bad input, after their type for others, which are faults)."""
    said = isinstance(error, (ValueError, OSError))
    text = str(error)
    kind = type(error).__name__
    if _PIPELINE_WRAPPER in text and (found := _EXCEPTION_LINE.search(text.split(_PIPELINE_WRAPPER, 1)[1])):
        kind, text = found.group(1).rsplit(".", 1)[-1], found.group(2)
        said = kind in ("ValueError", "OSError")
    text = " ".join(_HUB_LINK.sub("", text).split()) or "no message"
    return text if said else f"{kind}: {text}"


def git_head(directory: str | Path) -> str | None:
    """The commit checked out in `directory` when it is the root of a git repository (a cloned model repo).

    Read from the .git files, not by running git, which may not be installed. Only the directory itself counts:
    a model saved somewhere inside a code repository is not versioned by that repository's HEAD.
    """
    git = Path(directory) / ".git"
    if git.is_file():  # a worktree or submodule: "gitdir: <path>"
        target = git.read_text(encoding="utf-8").strip().removeprefix("gitdir:").strip()
        git = (Path(directory) / target).resolve()
    head_file = git / "HEAD"
    if not head_file.is_file():
        return None
    head = head_file.read_text(encoding="utf-8").strip()
    if not head.startswith("ref:"):
        return head or None  # detached HEAD holds the commit itself
    ref = head.removeprefix("ref:").strip()
    loose = git / ref
    if loose.is_file():
        return loose.read_text(encoding="utf-8").strip() or None
    packed = git / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref:
                return parts[0]
    return None


def snapshot_commit(path: str | Path | None) -> str | None:
    """The Hub commit of a file inside the Hugging Face cache (…/snapshots/<commit>/file), else None."""
    if path is None:
        return None
    parts = Path(path).parts
    if "snapshots" in parts:
        index = parts.index("snapshots")
        if index + 1 < len(parts):
            return parts[index + 1]
    return None
