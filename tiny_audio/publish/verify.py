"""Check a pushed model the way a stranger would load it: from the Hub, in a fresh process, without tiny-audio.

The fresh process starts in an empty temporary directory with an empty Hugging Face cache (HF_HOME), gets only the
Hub endpoint, the token (for private repositories) and PATH, and makes `tiny_audio` unimportable, so everything it
runs comes from the repository. Its text must equal the local model's on the same audio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .redaction import redact

SAMPLE_AUDIO = Path(__file__).resolve().parents[1] / "samples" / "hello.wav"
TIMEOUT_SECONDS = 1800  # downloading real backbones into an empty cache can take a while
# Passed through when set, so that the fresh process reaches the Hub the way this one does.
NETWORK_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

FRESH_PROCESS = """
import json, sys
sys.modules["tiny_audio"] = None  # importing tiny_audio now fails: only the repository's code can run
from transformers import pipeline
repo_id, revision, audio = sys.argv[1:4]
asr = pipeline(model=repo_id, trust_remote_code=True, **({"revision": revision} if revision else {}))
text = asr(audio)["text"]
print(json.dumps({"text": text, "pipeline": type(asr).__name__}))
"""


class VerificationError(RuntimeError):
    """The Hub copy did not load, or did not say what the local model says."""


@dataclass
class Verification:
    audio: Path
    local_text: str
    hub_text: str
    pipeline: str


def transcribe_locally(model_dir: str | Path, audio: str | Path) -> str:
    from ..app.transcribe import transcribe_files

    return transcribe_files([str(audio)], model=str(model_dir))[0]


def transcribe_from_hub(repo_id: str, audio: str | Path, revision: str | None = None) -> tuple[str, str]:
    """(text, pipeline class name) from `pipeline(model=repo_id, trust_remote_code=True)` in a fresh process."""
    from huggingface_hub import constants, get_token

    token = get_token()
    with tempfile.TemporaryDirectory(prefix="tiny-audio-verify-") as scratch:
        workdir, hf_home = Path(scratch) / "elsewhere", Path(scratch) / "hf_home"
        workdir.mkdir()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_HOME": str(hf_home)}
        env["HF_ENDPOINT"] = constants.ENDPOINT  # the Hub this process pushed to
        env.update({name: os.environ[name] for name in NETWORK_VARIABLES if name in os.environ})
        if token:
            env["HF_TOKEN"] = token
        process = subprocess.run(
            [sys.executable, "-c", FRESH_PROCESS, repo_id, revision or "", str(Path(audio).resolve())],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
    if process.returncode != 0:
        raise VerificationError(
            f"Loading {repo_id} from the Hub in a fresh process failed (exit {process.returncode}):\n"
            + redact(process.stderr[-4000:], token)
        )
    answer = json.loads(process.stdout.strip().splitlines()[-1])
    return answer["text"], answer["pipeline"]


def verify_push(
    model_dir: str | Path, repo_id: str, audio: str | Path | None = None, revision: str | None = None
) -> Verification:
    """Transcribe `audio` with the local model and with the pushed one; raise VerificationError if they differ."""
    audio = Path(audio) if audio else SAMPLE_AUDIO
    if not audio.is_file():
        raise FileNotFoundError(f"No audio file {audio} to verify with; pass --verify-audio FILE.")
    local_text = transcribe_locally(model_dir, audio)
    hub_text, pipeline_class = transcribe_from_hub(repo_id, audio, revision)
    check_same_text(local_text, hub_text, repo_id, audio)
    return Verification(audio=audio, local_text=local_text, hub_text=hub_text, pipeline=pipeline_class)


def check_same_text(local_text: str, hub_text: str, repo_id: str, audio: str | Path) -> None:
    if local_text != hub_text:
        raise VerificationError(
            f"Verification failed: {repo_id} from the Hub transcribes {Path(audio).name} differently from the local "
            f"model.\n  local: {local_text!r}\n  hub:   {hub_text!r}"
        )
