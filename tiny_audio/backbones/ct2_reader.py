"""Read the variables of a CTranslate2 `model.bin` into NumPy arrays, without CTranslate2 itself.

CTranslate2 is a C++ inference engine; its Python wheel is large and only needed here to read a file whose layout is
simple and stable. The layout (little-endian), as written by CTranslate2's `ModelSpec.save`:

    u32 binary version
    string spec name            (string = u16 byte length including a trailing NUL, then the bytes)
    u32 spec revision
    u32 variable count
    per variable: string name, u8 rank, rank x u32 dims, u8 dtype code, u32 byte count, raw bytes
    (binary version >= 3) u32 alias count, then (alias string, target string) pairs

Aliases name one stored array twice (e.g. Whisper's output projection shares the token embeddings); they are resolved
here so callers see every name. The file is parsed with `struct` and `numpy.frombuffer`: nothing is unpickled.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# CTranslate2's DataType enum (include/ctranslate2/types.h). bf16 has no NumPy dtype: it is read as uint16 bits and
# widened to float32 by shifting into the high half, which is exactly how bf16 is defined.
DTYPE_CODES: dict[int, str] = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}
_NUMPY_DTYPES = {"float32": "<f4", "int8": "i1", "int16": "<i2", "int32": "<i4", "float16": "<f2", "bfloat16": "<u2"}

# Versions 1-2 had no alias table; 6 is what CTranslate2 4.x writes. Newer versions may change the layout, so refuse.
SUPPORTED_BINARY_VERSIONS = range(1, 7)


@dataclass(frozen=True)
class Ct2Model:
    """What `model.bin` holds: the spec that wrote it and every variable (aliases resolved) as an array."""

    spec_name: str
    spec_revision: int
    binary_version: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str]


class _Cursor:
    """Sequential reader over bytes that reports where a truncated or malformed file went wrong."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise ValueError(
                f"{self.path}: truncated CTranslate2 model (wanted {size} bytes at offset {self.pos}, "
                f"file has {len(self.data)})"
            )
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]

    def string(self) -> str:
        raw = self.take(self.unpack("H"))
        return raw.rstrip(b"\0").decode("utf-8")


def _to_array(raw: bytes, dtype_name: str, dims: list[int]) -> np.ndarray:
    array = np.frombuffer(raw, dtype=_NUMPY_DTYPES[dtype_name]).reshape(dims)
    if dtype_name == "bfloat16":
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


def read_ct2_model(path: str | Path | Sequence[str | Path]) -> Ct2Model:
    """Parse a CTranslate2 `model.bin`; raise ValueError on a layout this reader does not understand.

    `path` may also be a list of pieces to join in order: PyPI caps a file's size, so large models ship split.
    """
    pieces = [Path(path)] if isinstance(path, str | Path) else [Path(piece) for piece in path]
    for piece in pieces:
        if not piece.is_file():
            raise FileNotFoundError(f"CTranslate2 model file not found: {piece}")
    path = pieces[0] if len(pieces) == 1 else Path(" + ".join(map(str, pieces)))  # names the file in errors
    cursor = _Cursor(b"".join(piece.read_bytes() for piece in pieces), path)

    binary_version = cursor.unpack("I")
    if binary_version not in SUPPORTED_BINARY_VERSIONS:
        raise ValueError(
            f"{path}: CTranslate2 binary version {binary_version} is not supported "
            f"(accepted: {SUPPORTED_BINARY_VERSIONS.start}-{SUPPORTED_BINARY_VERSIONS.stop - 1})"
        )
    spec_name = cursor.string()
    spec_revision = cursor.unpack("I")

    variables: dict[str, np.ndarray] = {}
    for _ in range(cursor.unpack("I")):
        name = cursor.string()
        dims = [cursor.unpack("I") for _ in range(cursor.unpack("B"))]
        code = cursor.unpack("B")
        if code not in DTYPE_CODES:
            raise ValueError(f"{path}: variable {name!r} has unknown dtype code {code} (known: {DTYPE_CODES})")
        dtype_name = DTYPE_CODES[code]
        nbytes = cursor.unpack("I")
        expected = int(np.prod(dims, dtype=np.int64)) * np.dtype(_NUMPY_DTYPES[dtype_name]).itemsize
        if nbytes != expected:
            raise ValueError(
                f"{path}: variable {name!r} {dims} {dtype_name} declares {nbytes} bytes, expected {expected}"
            )
        variables[name] = _to_array(cursor.take(nbytes), dtype_name, dims)

    aliases: dict[str, str] = {}
    if binary_version >= 3:
        for _ in range(cursor.unpack("I")):
            alias, target = cursor.string(), cursor.string()
            if target not in variables:
                raise ValueError(f"{path}: alias {alias!r} points to missing variable {target!r}")
            aliases[alias] = target
            variables[alias] = variables[target]
    if cursor.pos != len(cursor.data):
        raise ValueError(f"{path}: {len(cursor.data) - cursor.pos} unexpected trailing bytes after the alias table")
    return Ct2Model(spec_name, spec_revision, binary_version, variables, aliases)
