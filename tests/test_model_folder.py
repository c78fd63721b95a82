"""The model folder (`tiny_audio/model/`) is the Hub remote code: it must run where only transformers is installed."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from tiny_audio.model import MODEL_DIR, remote_code_files

# transformers' own requirements (numpy, safetensors) come wherever transformers is installed.
TOP_LEVEL_ALLOWED = {"torch", "transformers", "numpy", "safetensors"}
# Imported inside the functions that need them: peft only for a model with LoRA, soundfile only to decode files.
INSIDE_FUNCTIONS_ALLOWED = TOP_LEVEL_ALLOWED | {"peft", "soundfile"}


def _imports(path: Path) -> tuple[set[str], set[str], list[str]]:
    """Top-level packages imported at module level, inside functions, and relative imports that leave the folder."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top, nested, escaping = set(), set(), []
    module_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1:
                escaping.append(f"{path.name}: from {'.' * node.level}{node.module or ''}")
            names = [] if node.level else [(node.module or "").split(".")[0]]
        else:
            continue
        (top if id(node) in module_level else nested).update(names)
    return top - {"__future__"}, nested, escaping


def test_the_model_folder_imports_only_the_standard_library_torch_transformers_and_itself():
    stdlib = set(sys.stdlib_module_names)
    for path in sorted(MODEL_DIR.glob("*.py")):
        top, nested, escaping = _imports(path)
        assert top - stdlib <= TOP_LEVEL_ALLOWED, f"{path.name} imports {sorted(top - stdlib - TOP_LEVEL_ALLOWED)}"
        assert nested - stdlib <= INSIDE_FUNCTIONS_ALLOWED, f"{path.name} imports {sorted(nested - stdlib)}"
        assert not escaping, f"relative imports out of the model folder: {escaping}"
        assert "tiny_audio" not in top | nested, f"{path.name} imports tiny_audio by name"


def test_the_remote_code_is_every_module_of_the_folder():
    names = [path.name for path in remote_code_files()]
    assert "modeling_asr.py" in names and "pipeline_asr.py" in names and "__init__.py" not in names
    assert len(names) == len(list(MODEL_DIR.glob("*.py"))) - 1
