"""Security: weights are never unpickled, the remote code does nothing at import but define and register its classes,
and the demo serves only this machine unless told otherwise. (A token never appearing in outputs or files:
tests/test_publish.py.)"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tiny_audio import ASRModel
from tiny_audio.app.transcribe import DEFAULT_MODEL_DIR

ROOT = Path(__file__).resolve().parents[1]


class _WritesAFileWhenUnpickled:
    def __init__(self, sentinel: Path):
        self.sentinel = sentinel

    def __reduce__(self):
        return (Path.write_text, (self.sentinel, "unpickled"))


def test_a_model_directory_with_only_a_pickle_is_refused_and_never_unpickled(tmp_path):
    model_dir = tmp_path / "pickled"
    model_dir.mkdir()
    shutil.copy(DEFAULT_MODEL_DIR / "config.json", model_dir / "config.json")
    sentinel = tmp_path / "sentinel.txt"
    (model_dir / "pytorch_model.bin").write_bytes(pickle.dumps(_WritesAFileWhenUnpickled(sentinel)))
    with pytest.raises(ValueError, match="has no model.safetensors; tiny-audio loads safetensors weights only"):
        ASRModel.from_pretrained(model_dir)
    assert not sentinel.exists()


IMPORT_PROBE = textwrap.dedent(
    """
    import json, os, socket, sys
    sys.dont_write_bytecode = True
    import numpy, torch, transformers, peft, safetensors  # what the remote code may import: loaded first
    from transformers import modeling_outputs, pipelines  # noqa: F401
    opened = []
    for name in ("connect", "connect_ex", "bind"):
        original = getattr(socket.socket, name)
        def spy(self, *args, _name=name, _original=original):
            opened.append(_name)
            return _original(self, *args)
        setattr(socket.socket, name, spy)
    environment = dict(os.environ)
    before = sorted(str(p) for p in __import__("pathlib").Path(sys.argv[1]).rglob("*"))
    sys.path.insert(0, os.path.join(sys.argv[1], "modules"))
    import remote.modeling_asr, remote.processing_asr, remote.pipeline_asr, remote.configuration_asr  # noqa: F401
    after = sorted(str(p) for p in __import__("pathlib").Path(sys.argv[1]).rglob("*"))
    print(json.dumps({
        "new_files": sorted(set(after) - set(before)),
        "sockets": opened,
        "environment": sorted(set(os.environ.items()) ^ set(environment.items())),
    }))
    """
)


def test_importing_the_remote_code_writes_no_file_opens_no_socket_and_sets_no_variable(tmp_path):
    """The model directory's Python files, imported as transformers imports them (a package of their own), in a fresh
    process whose home and working directory are watched."""
    package = tmp_path / "modules" / "remote"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for code in DEFAULT_MODEL_DIR.glob("*.py"):
        shutil.copy(code, package / code.name)
    home = tmp_path / "home"
    home.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"HOME": str(home), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"new_files": [], "sockets": [], "environment": []}


def test_the_demo_serves_only_this_machine_unless_told_otherwise(monkeypatch):
    from tiny_audio.app import demo

    served = {}

    class App:
        def launch(self, **options):
            served.update(options)

    monkeypatch.setattr(demo, "DemoModel", lambda model, device=None: object())
    monkeypatch.setattr(demo, "build_app", lambda model: App())
    monkeypatch.setattr("tiny_audio.evaluation.hub.ensure_hub_or_offline", lambda reason: None)
    assert demo.main([]) == 0
    assert served["server_name"] == "127.0.0.1" and not served["share"]
    assert demo.main(["--host", "0.0.0.0"]) == 0 and served["server_name"] == "0.0.0.0"
