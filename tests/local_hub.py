"""A local stand-in for the Hugging Face Hub, for tests: standard library only, on 127.0.0.1, an ephemeral port.

It answers what huggingface_hub 2.x and transformers 5.x ask when they create a repository, commit files to it and
download them back (`create_repo`, `create_branch`, `upload_folder` / `create_commit`, `list_repo_tree`,
`model_info`, `hf_hub_download`, `snapshot_download`, `from_pretrained`, `pipeline(model=repo_id)`); see
/work/shared/OFFLINE.md. Point a process at it with `HF_ENDPOINT=hub.url` (huggingface_hub reads it at import).

    with LocalHub(tmp_path / "hub", token="hf_dummy") as hub:
        hub.seed("test-org/tiny-hubert", backbone_dir)   # put files in directly, without a client
        ...                                              # HF_ENDPOINT=hub.url HF_TOKEN=hf_dummy python ...
        hub.commits("user/tiny-audio")                   # what was committed, newest first

Dataset repositories are read-only: `hub.seed_dataset("org/name", folder)` serves what `datasets` streaming asks for
(dataset info, tree listings, files with byte ranges, datasets 5.x); tests/hub_datasets.py writes the named speech
datasets in their published schemas.

Every file is stored "regular" (inline, base64 in the commit), never LFS/Xet: `preupload` says so for every file.
Blob ids are git blob SHA-1s, as on the Hub, so clients can compare local files with remote ones.

Bounds: request bodies up to `max_body_bytes`, stored bytes up to `max_total_bytes`, and the server stops by itself
after `max_seconds` even if nobody calls `stop()`. Access: with `token` set, writes need `Authorization: Bearer
<token>`, a wrong token gets 401 everywhere, and private repositories are invisible without it (401 RepoNotFound).
Nothing from request headers is stored or logged; `requests` keeps (method, path) of the last calls for assertions.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

USER = "user"  # the account the token belongs to (whoami); repos created without a namespace go here
ORGS = ("test-org",)
DATASET_OWNER_PREFIX = "datasets."
PIPELINE_TAG = re.compile(r"^pipeline_tag:\s*(\S+)\s*$", re.MULTILINE)  # read from README.md front matter


def git_blob_id(content: bytes) -> str:
    """The git blob SHA-1 of `content`: what the Hub reports as a regular file's `oid`."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def dataset_key(repo_id: str) -> str:
    """Where a dataset repository is stored: beside the model repositories, under an owner no Hub name can take
    ("datasets.<owner>"), so a dataset and a model may share an id as on the Hub."""
    owner, _, name = repo_id.partition("/")
    return f"{DATASET_OWNER_PREFIX}{owner}/{name}"


class HubError(Exception):
    def __init__(self, status: int, message: str, error_code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.error_code = status, message, error_code


class LocalHub:
    """The server and its storage: `<root>/<owner>/<name>/repo.json` (branches, commits) and `blobs/<oid>`."""

    def __init__(
        self,
        root: str | Path,
        token: str | None = None,
        max_seconds: float = 900,
        max_body_bytes: int = 1 << 30,
        max_total_bytes: int = 4 << 30,
    ):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.max_seconds = max_seconds
        self.max_body_bytes = max_body_bytes
        self.max_total_bytes = max_total_bytes
        self.requests: collections.deque[tuple[str, str]] = collections.deque(maxlen=10_000)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalHub is not running; call start() first.")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalHub:
        handler = type("Handler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        serve = threading.Thread(target=self._server.serve_forever, name="local-hub", daemon=True)
        watchdog = threading.Thread(target=self._stop_after_deadline, name="local-hub-watchdog", daemon=True)
        self._threads = [serve, watchdog]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=10)

    def _stop_after_deadline(self) -> None:
        if not self._stopped.wait(self.max_seconds):  # nobody stopped it in time: a forgotten server must not linger
            self._stopped.set()
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- what tests use directly -----------------------------------------------------------------------------

    def seed(self, repo_id: str, folder: str | Path, private: bool = False) -> str:
        """Create `repo_id` holding every file under `folder`, as one commit; returns the commit id."""
        folder = Path(folder)
        files = {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}
        with self._lock:
            if not self._repo_file(repo_id).exists():
                self.create_repo(repo_id, private=private)
            return self.commit(repo_id, "main", f"Upload {folder.name}", added=files)

    def seed_dataset(self, repo_id: str, folder: str | Path, private: bool = False) -> str:
        """Create the dataset repository `repo_id` holding every file under `folder` (README.md with its `configs`
        YAML, parquet shards), as one commit; served under /api/datasets/ and /datasets/ for `datasets` streaming."""
        return self.seed(dataset_key(repo_id), folder, private=private)

    def commits(self, repo_id: str, revision: str = "main") -> list[dict]:
        """The commits reachable from `revision`, newest first: {id, title, files: {path: oid}}."""
        repo = self._load(repo_id)
        sha, history = self._resolve_revision(repo, revision), []
        while sha is not None:
            commit = repo["commits"][sha]
            history.append({"id": sha, "title": commit["title"], "files": dict(commit["files"])})
            sha = commit["parent"]
        return history

    # -- storage ---------------------------------------------------------------------------------------------

    def _repo_dir(self, repo_id: str) -> Path:
        owner, _, name = repo_id.partition("/")
        if not owner or not name or ".." in repo_id or not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id):
            raise HubError(400, f"Invalid repo id {repo_id!r}: expected owner/name.")
        return self.root / owner / name

    def _repo_file(self, repo_id: str) -> Path:
        return self._repo_dir(repo_id) / "repo.json"

    def _load(self, repo_id: str) -> dict:
        path = self._repo_file(repo_id)
        if not path.exists():
            raise HubError(404, f"Repository {repo_id} not found.", "RepoNotFound")
        return json.loads(path.read_text())

    def _save(self, repo_id: str, repo: dict) -> None:
        path = self._repo_file(repo_id)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(repo, indent=1))
        temporary.replace(path)

    def _stored_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.root.rglob("*") if path.is_file())

    def create_repo(self, repo_id: str, private: bool = False) -> None:
        with self._lock:
            if self._repo_file(repo_id).exists():
                raise HubError(409, "You already created this model repo")
            self._repo_dir(repo_id).mkdir(parents=True)
            (self._repo_dir(repo_id) / "blobs").mkdir()
            initial = _commit_id(None, "initial commit", {})
            repo = {
                "private": private,
                "branches": {"main": initial},
                "commits": {initial: {"parent": None, "title": "initial commit", "files": {}, "time": time.time()}},
            }
            self._save(repo_id, repo)

    def create_branch(self, repo_id: str, branch: str, starting_point: str | None) -> None:
        with self._lock:
            repo = self._load(repo_id)
            if branch in repo["branches"]:
                raise HubError(409, f"Branch {branch} already exists")
            repo["branches"][branch] = self._resolve_revision(repo, starting_point or "main")
            self._save(repo_id, repo)

    def commit(
        self,
        repo_id: str,
        revision: str,
        title: str,
        added: dict[str, bytes],
        deleted: list[str] = (),
        parent: str | None = None,
    ) -> str:
        with self._lock:
            repo = self._load(repo_id)
            if revision not in repo["branches"]:
                raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            head = repo["branches"][revision]
            if parent is not None and parent != head:
                raise HubError(412, f"A commit has happened since {parent}; head is {head}.")
            incoming = sum(len(content) for content in added.values())
            if self._stored_bytes() + incoming > self.max_total_bytes:
                raise HubError(413, f"LocalHub storage limit of {self.max_total_bytes} bytes reached.")
            files = dict(repo["commits"][head]["files"])
            for path in deleted:
                prefix = path.rstrip("/") + "/"
                for name in [name for name in files if name == path or name.startswith(prefix)]:
                    del files[name]
            blobs = self._repo_dir(repo_id) / "blobs"
            for path, content in added.items():
                if path.startswith("/") or ".." in path.split("/"):
                    raise HubError(400, f"Invalid path in repo: {path!r}")
                oid = git_blob_id(content)
                (blobs / oid).write_bytes(content)
                files[path] = oid
            sha = _commit_id(head, title, files)
            repo["commits"][sha] = {"parent": head, "title": title, "files": files, "time": time.time()}
            repo["branches"][revision] = sha
            self._save(repo_id, repo)
            return sha

    def _resolve_revision(self, repo: dict, revision: str) -> str:
        if revision in repo["branches"]:
            return repo["branches"][revision]
        if revision in repo["commits"]:
            return revision
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def snapshot(self, repo_id: str, revision: str) -> tuple[str, dict[str, str], dict]:
        """(commit id, {path: oid}, repo) at `revision`."""
        repo = self._load(repo_id)
        sha = self._resolve_revision(repo, revision)
        return sha, repo["commits"][sha]["files"], repo

    def blob(self, repo_id: str, oid: str) -> bytes:
        return (self._repo_dir(repo_id) / "blobs" / oid).read_bytes()


def _commit_id(parent: str | None, title: str, files: dict[str, str]) -> str:
    payload = json.dumps([parent, title, sorted(files.items()), time.time_ns()]).encode()
    return hashlib.sha1(payload).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    hub: LocalHub  # set on the subclass made by LocalHub.start
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # quiet; `hub.requests` records method and path (never headers)

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    # -- plumbing --------------------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.hub.requests.append((method, url.path))
        self.query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        segments = [unquote(part) for part in url.path.strip("/").split("/")]
        try:
            body = self._read_body()
            self.authenticated = self._check_token()
            self._route(method, segments, body)
        except HubError as error:
            self._send_json({"error": error.message}, error.status, error_code=error.error_code)
        except Exception as error:  # a bug in this server: say so to the client instead of hanging it
            self._send_json({"error": f"LocalHub internal error: {type(error).__name__}: {error}"}, 500)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.hub.max_body_bytes:
            self.close_connection = True
            raise HubError(413, f"Request body of {length} bytes exceeds {self.hub.max_body_bytes}.")
        return self.rfile.read(length) if length else b""

    def _check_token(self) -> bool:
        header = self.headers.get("Authorization") or ""
        if not header:
            return self.hub.token is None
        if self.hub.token is not None and header != f"Bearer {self.hub.token}":
            raise HubError(401, "Invalid credentials in Authorization header")
        return True

    def _require_write(self) -> None:
        if not self.authenticated:
            raise HubError(401, "You must be authenticated to write (set HF_TOKEN).")

    def _readable(self, repo_id: str) -> dict:
        repo = self.hub._load(repo_id)
        if repo["private"] and not self.authenticated:
            raise HubError(401, f"Repository {repo_id} not found.", "RepoNotFound")
        return repo

    def _send(self, status: int, body: bytes, headers: dict[str, str], content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, data, status: int = 200, error_code: str | None = None, headers: dict | None = None) -> None:
        headers = dict(headers or {})
        if error_code:
            headers["X-Error-Code"] = error_code
        if status >= 400:
            headers["X-Error-Message"] = data.get("error", "")
        self._send(status, json.dumps(data).encode(), headers, "application/json")

    # -- routes ----------------------------------------------------------------------------------------------

    def _route(self, method: str, segments: list[str], body: bytes) -> None:
        if segments[:2] == ["api", "whoami-v2"]:
            if not self.authenticated or self.hub.token is None:
                raise HubError(401, "Invalid user token.")
            orgs = [{"name": org, "type": "org"} for org in ORGS]
            return self._send_json({"type": "user", "name": USER, "orgs": orgs, "auth": {"type": "access_token"}})
        if segments[:3] == ["api", "repos", "create"] and method == "POST":
            return self._create_repo(json.loads(body or b"{}"))
        if segments[:2] == ["api", "validate-yaml"] and method == "POST":
            return self._send_json({"errors": [], "warnings": []})
        if len(segments) >= 4 and segments[:2] == ["api", "models"]:
            repo_id, rest = "/".join(segments[2:4]), segments[4:]
            return self._api_model(method, repo_id, rest, body)
        if len(segments) >= 5 and segments[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve("/".join(segments[:2]), segments[3], "/".join(segments[4:]))
        if len(segments) >= 4 and segments[:2] == ["api", "datasets"]:
            return self._api_dataset(method, "/".join(segments[2:4]), segments[4:], body)
        if len(segments) >= 6 and segments[0] == "datasets" and segments[3] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve_range(dataset_key("/".join(segments[1:3])), segments[4], "/".join(segments[5:]))
        raise HubError(404, f"LocalHub does not serve {method} /{'/'.join(segments)}")

    def _create_repo(self, payload: dict) -> None:
        self._require_write()
        if payload.get("type") not in (None, "model"):
            raise HubError(400, "LocalHub stores model repositories only.")
        repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
        url = f"{self.hub.url}/{repo_id}"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        try:
            self.hub.create_repo(repo_id, private=private)
        except HubError as error:
            if error.status == 409:  # huggingface_hub reads `url` from the 409 answer too (exist_ok=True)
                return self._send_json({"error": error.message, "url": url}, 409)
            raise
        self._send_json({"url": url, "name": repo_id, "id": repo_id})

    def _api_model(self, method: str, repo_id: str, rest: list[str], body: bytes) -> None:
        if method == "GET" and (not rest or rest[0] == "revision"):
            return self._model_info(repo_id, rest[1] if len(rest) > 1 else "main")
        if method == "GET" and rest[:1] == ["tree"] and len(rest) >= 2:
            return self._tree(repo_id, rest[1], "/".join(rest[2:]).strip("/"))
        if method == "POST" and rest[:1] == ["preupload"] and len(rest) == 2:
            return self._preupload(repo_id, rest[1], json.loads(body or b"{}"))
        if method == "POST" and rest[:1] == ["commit"] and len(rest) == 2:
            return self._commit(repo_id, rest[1], body)
        if method == "POST" and rest[:1] == ["branch"] and len(rest) == 2:
            self._require_write()
            self._readable(repo_id)
            self.hub.create_branch(repo_id, rest[1], json.loads(body or b"{}").get("startingPoint"))
            return self._send_json({})
        raise HubError(404, f"LocalHub does not serve {method} /api/models/{repo_id}/{'/'.join(rest)}")

    def _model_info(self, repo_id: str, revision: str) -> None:
        self._readable(repo_id)
        sha, files, repo = self.hub.snapshot(repo_id, revision)
        info = {
            "id": repo_id,
            "modelId": repo_id,
            "sha": sha,
            "private": repo["private"],
            "tags": [],
            "siblings": [{"rfilename": path} for path in sorted(files)],
        }
        if "README.md" in files:
            card = self.hub.blob(repo_id, files["README.md"]).decode("utf-8", "replace")
            match = PIPELINE_TAG.search(card.split("\n---", 1)[0])
            if match:
                info["pipeline_tag"], info["library_name"] = match.group(1), "transformers"
        self._send_json(info)

    def _tree(self, repo_id: str, revision: str, prefix: str) -> None:
        self._readable(repo_id)
        sha, files, _ = self.hub.snapshot(repo_id, revision)
        recursive = self.query.get("recursive", "").lower() in ("1", "true")
        base = f"{prefix}/" if prefix else ""
        below = {path: oid for path, oid in files.items() if path.startswith(base)}
        if prefix and not below:
            raise HubError(404, f"{prefix} does not exist on {revision}", "EntryNotFound")
        entries, folders = [], set()
        for path, oid in sorted(below.items()):
            relative = path[len(base) :]
            parents = relative.split("/")[:-1]
            for depth in range(1, len(parents) + 1):
                folders.add(base + "/".join(parents[:depth]))
            if recursive or not parents:
                size = len(self.hub.blob(repo_id, oid))
                entries.append({"type": "file", "oid": oid, "size": size, "path": path})
        for folder in sorted(folders):
            if recursive or "/" not in folder[len(base) :]:
                folder_id = hashlib.sha1(folder.encode()).hexdigest()
                entries.append({"type": "directory", "oid": folder_id, "size": 0, "path": folder})
        self._send_json(entries)

    def _preupload(self, repo_id: str, revision: str, payload: dict) -> None:
        self._require_write()
        self._readable(repo_id)
        _, files, _ = self.hub.snapshot(repo_id, revision)
        answer = [
            {"path": item["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": files.get(item["path"])}
            for item in payload.get("files", [])
        ]
        self._send_json({"files": answer, "commitOid": None})

    def _commit(self, repo_id: str, revision: str, body: bytes) -> None:
        self._require_write()
        self._readable(repo_id)
        if self.query.get("create_pr"):
            raise HubError(400, "LocalHub does not support pull requests.")
        header, added, deleted = {}, {}, []
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                header = value
            elif key == "file":
                added[value["path"]] = base64.b64decode(value["content"])
            elif key in ("deletedFile", "deletedFolder"):
                deleted.append(value["path"])
            else:
                raise HubError(400, f"LocalHub stores regular files only; got a {key!r} operation.")
        title = header.get("summary") or "Upload files"
        sha = self.hub.commit(repo_id, revision, title, added, deleted, parent=header.get("parentCommit"))
        self._send_json({"commitUrl": f"{self.hub.url}/{repo_id}/commit/{sha}", "commitOid": sha, "success": True})

    def _resolve(self, repo_id: str, revision: str, path: str) -> None:
        self._readable(repo_id)
        sha, files, _ = self.hub.snapshot(repo_id, revision)
        if path not in files:
            raise HubError(404, f"Entry {path} not found at {revision}", "EntryNotFound")
        content = self.hub.blob(repo_id, files[path])
        headers = {"ETag": f'"{files[path]}"', "X-Repo-Commit": sha, "Accept-Ranges": "none"}
        kind = "application/json" if path.endswith(".json") else "application/octet-stream"
        self._send(200, content, headers, kind)

    # -- dataset repositories (read-only: what `datasets` streaming asks, datasets 5.x / huggingface_hub 2.x) ------

    def _api_dataset(self, method: str, repo_id: str, rest: list[str], body: bytes) -> None:
        key = dataset_key(repo_id)
        if method == "GET" and (not rest or rest[0] == "revision"):
            self._readable(key)
            sha, files, repo = self.hub.snapshot(key, rest[1] if len(rest) > 1 else "main")
            siblings = [
                {"rfilename": path, "size": len(self.hub.blob(key, oid))} for path, oid in sorted(files.items())
            ]
            info = {"id": repo_id, "sha": sha, "private": repo["private"], "tags": [], "siblings": siblings}
            return self._send_json(info)
        if method == "GET" and rest[:1] == ["tree"] and len(rest) >= 2:
            return self._tree(key, rest[1], "/".join(rest[2:]).strip("/"))
        raise HubError(404, f"LocalHub does not serve {method} /api/datasets/{repo_id}/{'/'.join(rest)}")

    def _resolve_range(self, repo_id: str, revision: str, path: str) -> None:
        """A file, or the byte range a `Range: bytes=a-b` header asks for (206), as datasets' parquet reader asks."""
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if match is None:
            return self._resolve(repo_id, revision, path)
        self._readable(repo_id)
        sha, files, _ = self.hub.snapshot(repo_id, revision)
        if path not in files:
            raise HubError(404, f"Entry {path} not found at {revision}", "EntryNotFound")
        content = self.hub.blob(repo_id, files[path])
        first = int(match.group(1))
        last = min(int(match.group(2)) if match.group(2) else len(content) - 1, len(content) - 1)
        if first >= len(content):
            raise HubError(416, f"Range {first}- is past the end of {path} ({len(content)} bytes)")
        headers = {"ETag": f'"{files[path]}"', "X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
        headers["Content-Range"] = f"bytes {first}-{last}/{len(content)}"
        self._send(206, content[first : last + 1], headers, "application/octet-stream")
