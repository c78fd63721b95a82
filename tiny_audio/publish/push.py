"""`push()`: checkpoint → repository folder → Hub (only what changed) → optional verification from the Hub.

The CLI (`tiny-audio push`, `python push.py`) is a thin layer over this function; training can call it too, with
the run's final model directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .assemble import AssembledRepo, Checkpoint, assemble_repo, find_checkpoint
from .model_card import human_size
from .redaction import files_containing
from .upload import UploadResult, upload_repo
from .verify import Verification, verify_push


@dataclass
class PushReport:
    checkpoint: Checkpoint
    repo: AssembledRepo
    upload: UploadResult | None = None  # None for a dry run
    verification: Verification | None = None


def default_folder(repo_id: str) -> Path:
    """Where the repository is assembled unless told otherwise: outputs/push_<owner>_<name> (kept for inspection)."""
    from ..evaluation.results import sanitize

    return Path("outputs") / f"push_{sanitize(repo_id)}"


def push(
    checkpoint: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    results: list[str | Path] = (),
    results_model: str | None = None,
    self_contained: bool = False,
    dry_run: bool = False,
    verify: bool = False,
    verify_audio: str | Path | None = None,
    folder: str | Path | None = None,
    license: str = "mit",
    log=print,
) -> PushReport:
    from huggingface_hub import constants, get_token

    if verify and dry_run:
        raise ValueError("--verify loads the model back from the Hub, so it needs an upload; drop --dry-run.")
    if not dry_run and constants.HF_HUB_OFFLINE:
        raise ValueError("HF_HUB_OFFLINE is set: nothing can be uploaded. Unset it to push (--dry-run works offline).")
    source = find_checkpoint(checkpoint)
    folder = Path(folder) if folder else default_folder(repo_id)
    log(f"assembling {repo_id} from the {source.kind} at {source.model_dir}")
    repo = assemble_repo(
        source,
        folder,
        repo_id,
        results=list(results),
        results_model=results_model,
        self_contained=self_contained,
        license=license,
        log=log,
    )
    leaked = files_containing(repo.folder, get_token())
    if leaked:
        raise ValueError(
            f"The Hugging Face token in use appears in {', '.join(leaked)} (assembled in {repo.folder}); refusing to "
            "publish it. Remove it from the checkpoint's files and push again."
        )
    sizes = repo.sizes()
    for name in repo.files:
        log(f"  {name:<32} {human_size(sizes[name]):>10}")
    if repo.not_published:
        log(f"not published (training state): {', '.join(repo.not_published)}")
    report = PushReport(checkpoint=source, repo=repo)
    if dry_run:
        log(f"dry run: nothing uploaded; the repository is in {repo.folder.resolve()}")
        return report
    report.upload = upload_repo(
        repo.folder,
        repo.files,
        repo_id,
        private=private or None,  # None: the Hub's default for a new repository (public unless the org says not)
        revision=revision,
        commit_message=f"Upload {source.model_dir.name} with tiny-audio push",
    )
    upload = report.upload
    where = f"{upload.repo_id}@{upload.revision}"
    if upload.commit_url:
        log(f"pushed {len(upload.changed)} changed file(s) to {where} ({len(upload.unchanged)} unchanged)")
        log(f"commit: {upload.commit_url}")
    else:
        log(f"{where} already holds these {len(upload.unchanged)} files: nothing to upload, no commit made")
    if private and upload.private is False:
        log(f"note: {upload.repo_id} already existed and is public; --private only applies when creating a repo")
    if verify:
        log(f"verifying: loading {where} in a fresh process without tiny-audio")
        report.verification = verify_push(source.model_dir, upload.repo_id, verify_audio, revision)
        checked = report.verification
        log(f"verified on {checked.audio.name}: the local model and {where} both say {checked.hub_text!r}")
    return report
