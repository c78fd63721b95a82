"""Upload an assembled repository folder with huggingface_hub, sending only the files that changed.

The token is huggingface_hub's own (HF_TOKEN, or `hf auth login`); it is never passed around, printed or written.
Before committing, each local file is hashed the way the Hub identifies files (git blob SHA-1 for regular files,
SHA-256 for LFS/Xet files) and compared with the remote listing at the branch head; only files that differ go into
the commit, and the commit names that head as its parent, so a concurrent change fails instead of being overwritten.
A re-push of the same checkpoint therefore makes no commit at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import EntryNotFoundError
from huggingface_hub.utils import sha

DEFAULT_BRANCH = "main"


@dataclass
class UploadResult:
    repo_id: str  # with its namespace, as the Hub resolved it
    revision: str
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    commit_url: str | None = None  # None when nothing changed (no commit made)
    private: bool | None = None


def remote_file_ids(api: HfApi, repo_id: str, revision: str) -> dict[str, tuple[str, str | None]]:
    """{path: (git blob id, LFS sha256 or None)} of every file at `revision`."""
    try:
        entries = api.list_repo_tree(repo_id, revision=revision, recursive=True)
        return {
            entry.path: (entry.blob_id, entry.lfs.sha256 if entry.lfs else None)
            for entry in entries
            if hasattr(entry, "blob_id")
        }
    except EntryNotFoundError:  # an empty repository has no tree yet
        return {}


def is_unchanged(path: Path, remote: tuple[str, str | None] | None) -> bool:
    if remote is None:
        return False
    blob_id, lfs_sha256 = remote
    if lfs_sha256 is not None:  # the Hub keeps large files in LFS/Xet and names them by SHA-256
        with open(path, "rb") as file:
            return sha.sha_fileobj(file).hex() == lfs_sha256
    return sha.git_hash(path.read_bytes()) == blob_id


def upload_repo(
    folder: str | Path,
    files: list[str],
    repo_id: str,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str = "Upload model with tiny-audio push",
    api: HfApi | None = None,
) -> UploadResult:
    """Create `repo_id` if needed (and the branch `revision`), then commit the `files` of `folder` that differ."""
    api = api or HfApi()
    folder, revision = Path(folder), revision or DEFAULT_BRANCH
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    if revision != DEFAULT_BRANCH:
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    info = api.model_info(repo_id, revision=revision)
    remote = remote_file_ids(api, repo_id, info.sha)
    result = UploadResult(repo_id=repo_id, revision=revision, private=info.private)
    for name in files:
        (result.unchanged if is_unchanged(folder / name, remote.get(name)) else result.changed).append(name)
    if not result.changed:
        return result
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=folder / name) for name in result.changed]
    commit = api.create_commit(
        repo_id,
        operations,
        commit_message=commit_message,
        revision=revision,
        parent_commit=info.sha,
    )
    result.commit_url = commit.commit_url
    return result
