"""Place a converted model directory into the Hugging Face hub cache as if it had been downloaded from the Hub.

Layout written (the same one `huggingface_hub` writes on download; plain files are what it writes where symlinks are
unavailable, and every reader accepts them):

    <HF_HUB_CACHE>/models--<org>--<name>/refs/main          -> the commit id below
    <HF_HUB_CACHE>/models--<org>--<name>/snapshots/<commit>/ -> config.json, model.safetensors, ...

With this, `from_pretrained("<org>/<name>")` finds the files offline with no resolution code of ours. The commit id
is a SHA-1 of what produced the files (source package release + converter recipe), so it cannot collide with a real
Hub commit of other content, and a changed recipe gets a new snapshot. A snapshot is first written to a staging
folder beside `snapshots/` and then renamed into place, so an interrupted conversion never leaves a half snapshot
that the loaders would take for complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Written into every snapshot we produce: it tells our conversions apart from real downloads (which we never
# overwrite unless forced) and tells a user where the files came from.
PROVENANCE_FILE = "tiny_audio_backbone.json"
STAGING_PREFIX = ".tiny-audio-staging-"


def hub_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The cache root that `from_pretrained` reads: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from huggingface_hub import constants  # read at call time so tests and callers can redirect it

    return Path(constants.HF_HUB_CACHE)


def repo_storage_dir(cache: Path, repo_id: str) -> Path:
    """`models--org--name`, the folder huggingface_hub uses for a model repo."""
    if repo_id.count("/") != 1:
        raise ValueError(f"expected a Hub model id of the form 'org/name', got {repo_id!r}")
    return cache / ("models--" + repo_id.replace("/", "--"))


def recipe_commit(*parts: str) -> str:
    """A 40-hex commit id derived from what produced the snapshot (same inputs -> same id -> nothing to redo)."""
    return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()


def current_snapshot(storage: Path, revision: str = "main") -> Path | None:
    """The snapshot folder `refs/<revision>` points to, if both exist."""
    ref = storage / "refs" / revision
    if not ref.is_file():
        return None
    snapshot = storage / "snapshots" / ref.read_text().strip()
    return snapshot if snapshot.is_dir() else None


def read_provenance(snapshot: Path) -> dict | None:
    """Our provenance record in a snapshot, or None for a snapshot downloaded from the Hub."""
    path = snapshot / PROVENANCE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


@contextmanager
def staging_dir(storage: Path) -> Iterator[Path]:
    """A scratch folder on the same filesystem as the snapshots (so the final rename is atomic), removed on exit."""
    storage.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=storage))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _apply_umask(folder: Path) -> None:
    """Give files the permissions the umask allows, as huggingface_hub does for downloads.

    Some writers (safetensors via a temporary file) create files as 0600, which would lock other users of a shared
    cache out of the weights.
    """
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def publish_snapshot(storage: Path, commit: str, staged: Path, provenance: dict, revision: str = "main") -> Path:
    """Move `staged` to `snapshots/<commit>` and point `refs/<revision>` at it; return the snapshot folder."""
    (staged / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    _apply_umask(staged)
    snapshot = storage / "snapshots" / commit
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    if snapshot.exists():  # a forced re-conversion, or another process finished the same recipe first
        shutil.rmtree(snapshot)
    os.replace(staged, snapshot)
    ref = storage / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    tmp_ref = ref.with_name(ref.name + ".tmp")
    tmp_ref.write_text(commit)  # no newline: huggingface_hub reads the file verbatim
    os.replace(tmp_ref, ref)
    return snapshot
