"""The original IDX files (plain or gzipped) of an image dataset."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from bdnn.data.registry import DataError, DatasetSpec


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a damaged compressed body
        raise DataError(f"IDX file {path}: unreadable, damaged or truncated ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"IDX file {path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise DataError(f"IDX file {path}: truncated ({len(raw) - offset} data bytes, expected {int(np.prod(dims))})")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims).copy()


def load_idx_dir(folder: str | Path, spec: DatasetSpec) -> dict[str, np.ndarray]:
    """Read the dataset's four original IDX files (plain or .gz) from a folder."""
    folder = Path(folder)
    out = {}
    for name, stem in spec.idx_files.items():
        candidates = [folder / stem, folder / f"{stem}.gz", folder / stem.replace("-idx", ".idx")]
        path = next((c for c in candidates if c.exists()), None)
        if path is None:
            raise DataError(f"IDX folder {folder}: {stem}[.gz] not found (need the four original {spec.title} files)")
        out[name] = read_idx(path)
    return out
