"""The import layers of tiny_audio, as pyproject.toml's [tool.importlinter] writes them, checked by `lint-imports`.

Three contracts: each subpackage imports only the layers below it (every subpackage and top-level module must have a
layer); no modules of one package import each other round about (a circle); the model folder imports nothing else
of tiny_audio. Imports inside functions count like any other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"
# The venv's own script, beside its interpreter (not resolved: the venv's python is a link to the system's).
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(package_root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` with this repository's contracts, on the `tiny_audio` found in `package_root`."""
    if not LINT_IMPORTS.exists():
        if sys.version_info < (3, 11):
            pytest.skip("import-linter needs Python 3.11 or later")
        pytest.fail(f"no {LINT_IMPORTS}: install the dev extra (pip install -e '.[dev]'), which has import-linter")
    env = {**os.environ, "PYTHONPATH": str(package_root), "COLUMNS": "200"}  # wide: no wrapped lines to match
    return subprocess.run(
        [str(LINT_IMPORTS), str(CONFIG), "--no-cache"],
        cwd=package_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_package_keeps_its_import_layers():
    result = lint_imports(ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Contracts: 3 kept, 0 broken." in output, output


def _python_files_only(folder: str, names: list[str]) -> list[str]:
    """copytree's ignore: the modules and their folders, not the weights, audio or caches."""
    return [
        name for name in names if name == "__pycache__" or not (name.endswith(".py") or (Path(folder) / name).is_dir())
    ]


def test_the_check_fails_on_an_upward_import_a_circle_and_a_module_without_a_layer(tmp_path):
    package = tmp_path / "tiny_audio"
    shutil.copytree(ROOT / "tiny_audio", package, ignore=_python_files_only, symlinks=True)
    with (package / "model" / "frequency_warp.py").open("a") as module:
        module.write("\nfrom tiny_audio.app import batch  # the remote code reaching into the application\n")
    with (package / "data" / "card.py").open("a") as module:
        module.write("\nfrom tiny_audio.training import recipe  # a lower layer importing a higher one\n")
    with (package / "evaluation" / "results.py").open("a") as module:
        module.write("\n\ndef _later():\n    from . import runner  # runner imports results: a circle\n")
    (package / "extras.py").write_text('"""A new top-level module that no layer names."""\n')

    result = lint_imports(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Contracts: 0 kept, 3 broken." in output, output
    assert "tiny_audio.model.frequency_warp -> tiny_audio.app.batch" in output, output
    assert "tiny_audio.data.card -> tiny_audio.training.recipe" in output, output
    assert "No cycles are allowed in tiny_audio.evaluation." in output, output
    assert "- tiny_audio.extras" in output, output  # under "not listed as layers"
