"""Fashion-MNIST, the second dataset: its sources in order (an IDX folder, the installed Debian
package, the package fetched with apt-get download + dpkg-deb -x, the canonical download) on a few
synthetic IDX files, the refusal of a wrong hash or wrong facts; the genuine set verified from the
Debian package (fetched and unpacked here where it is not installed, as the browser test installs
chromium: under CI a machine that cannot is a failure); a develop run and the tiny sweep on it."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, bdnn_cli, snakemake

from bdnn.data import DataError, store
from bdnn.data import debian as deb
from bdnn.data import download as dl
from bdnn.data.registry import FASHION_MNIST, MNIST
from bdnn.pipeline.config import load_config
from bdnn.pipeline.keys import settings_key


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.tobytes())


def synthetic(folder: Path) -> tuple[store.DatasetSpec, dict[str, np.ndarray]]:
    """Four small IDX .gz files in `folder` (20 + 10 images of 28x28, two per class in training)
    and the registry entry they verify against: Fashion-MNIST's with these arrays' hashes and facts."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "train_labels": np.repeat(np.arange(10, dtype=np.uint8), 2),
        "test_images": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "test_labels": np.arange(10, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, stem in FASHION_MNIST.idx_files.items():
        _write_idx(folder / f"{stem}.gz", arrays[name])
    pixels = arrays["train_images"] / 255.0
    spec = dataclasses.replace(
        FASHION_MNIST,
        n_train=20,
        n_test=10,
        train_class_counts=(2,) * 10,
        array_sha256={k: store.array_sha256(a) for k, a in arrays.items()},
        pixel_mean_std=(round(float(pixels.mean()), 4), round(float(pixels.std()), 4)),
    )
    return spec, arrays


def test_synthetic_idx_files_parse_and_a_wrong_hash_or_fact_is_refused(tmp_path):
    spec, arrays = synthetic(tmp_path / "idx")
    ds = store.build(tmp_path / "idx", spec)
    for name, a in arrays.items():
        assert np.array_equal(getattr(ds, name), a)
    wrong = dataclasses.replace(spec, array_sha256={**spec.array_sha256, "test_images": "0" * 64})
    with pytest.raises(DataError, match=r"^Fashion-MNIST from IDX folder .* failed verification \(test_images sha256 mismatch\)$"):
        store.load_dataset(tmp_path / "c.npz", tmp_path / "idx", wrong)
    assert not (tmp_path / "c.npz").exists()  # refused, never cached
    with pytest.raises(DataError, match=r"pixel mean/std .* are not the published"):
        store.build(tmp_path / "idx", dataclasses.replace(spec, pixel_mean_std=(0.286, 0.353)))


def test_a_damaged_download_is_a_one_line_error(tmp_path):
    spec, _ = synthetic(tmp_path / "idx")
    raw = (tmp_path / "idx" / "train-images-idx3-ubyte.gz").read_bytes()
    middle = len(raw) // 2
    (tmp_path / "idx" / "train-images-idx3-ubyte.gz").write_bytes(
        raw[:middle] + bytes(b ^ 0xFF for b in raw[middle : middle + 64]) + raw[middle + 64 :]
    )
    with pytest.raises(DataError, match=r"^IDX file .*train-images-idx3-ubyte.gz: unreadable, damaged or truncated"):
        store.build(tmp_path / "idx", spec)


def test_a_cache_of_the_other_dataset_is_named(tmp_path, mnist_cache):
    with pytest.raises(DataError, match="holds MNIST, not Fashion-MNIST: give its own cache"):
        store.read_cache(mnist_cache, FASHION_MNIST)


def test_a_foreign_file_is_a_one_line_error(tmp_path, mnist):
    """MNIST's files where Fashion-MNIST's are expected: the hashes refuse them."""
    for name, stem in MNIST.idx_files.items():
        _write_idx(tmp_path / f"{stem}.gz", getattr(mnist, name))
    with pytest.raises(DataError) as err:
        store.build(tmp_path, FASHION_MNIST)
    assert "\n" not in str(err.value) and "train_images sha256 mismatch" in str(err.value)


def test_the_sources_are_tried_in_order(tmp_path, monkeypatch):
    spec, _ = synthetic(tmp_path / "pkg" / FASHION_MNIST.debian.folder)
    used = []
    monkeypatch.setattr(store, "fetch_and_unpack", lambda s, into: used.append("apt") or tmp_path / "pkg" / s.debian.folder)
    monkeypatch.setattr(store, "download", lambda s, into: used.append("download") or tmp_path / "pkg" / s.debian.folder)
    # installed: read in place (the package's folder under a root), nothing fetched
    assert deb.installed_folder(spec, tmp_path / "pkg") == tmp_path / "pkg" / FASHION_MNIST.debian.folder
    assert deb.installed_folder(spec, tmp_path / "elsewhere") is None
    monkeypatch.setattr(store, "installed_folder", lambda s: deb.installed_folder(s, tmp_path / "pkg"))
    store.build(None, spec)
    assert used == []
    # not installed: apt-get download first
    monkeypatch.setattr(store, "installed_folder", lambda s: None)
    store.build(None, spec)
    assert used == ["apt"]

    def no_apt(s, into):
        raise DataError("apt-get not found")

    monkeypatch.setattr(store, "fetch_and_unpack", no_apt)
    store.build(None, spec)
    assert used == ["apt", "download"]

    def offline(s, into):
        raise DataError("http://...: Name or service not known")

    monkeypatch.setattr(store, "download", offline)
    with pytest.raises(DataError) as err:
        store.build(None, spec)
    assert str(err.value) == (
        "Fashion-MNIST: no source could be reached (the Debian package dataset-fashion-mnist is not installed; "
        "apt-get not found; http://...: Name or service not known); give a folder of its original IDX files (--data-dir)"
    )


def test_missing_tools_and_unknown_sources_are_clear(tmp_path, monkeypatch):
    monkeypatch.setattr(deb.shutil, "which", lambda tool: None)
    with pytest.raises(DataError, match="apt-get not found"):
        deb.fetch_and_unpack(FASHION_MNIST, tmp_path)
    with pytest.raises(DataError, match="no Debian package"):
        deb.fetch_and_unpack(MNIST, tmp_path)
    with pytest.raises(DataError, match="no canonical download"):
        dl.download(MNIST, tmp_path)


def _can_fetch() -> str | None:
    """Why the Debian package cannot be fetched here, or None."""
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    return None


@pytest.fixture(scope="session")
def fashion_cache(tmp_path_factory) -> Path:
    """The genuine Fashion-MNIST, built through the library's own sources: the installed package,
    or the package fetched with apt-get download and unpacked (after `apt-get update` where the
    package lists lack it and this is root). Where that cannot work: skipped, or under CI failed."""
    cache = tmp_path_factory.mktemp("fashion") / "fashion-mnist.npz"
    why = _can_fetch()
    if why is None:
        try:
            store.load_dataset(cache, None, FASHION_MNIST)
            return cache
        except DataError as exc:
            why = str(exc)
            if "apt-get update" in why and os.geteuid() == 0:
                subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600, check=False)
                try:
                    store.load_dataset(cache, None, FASHION_MNIST)
                    return cache
                except DataError as again:
                    why = str(again)
    if os.environ.get("CI"):
        pytest.fail(f"Fashion-MNIST could not be obtained from Debian's package: {why}")
    pytest.skip(f"Fashion-MNIST could not be obtained from Debian's package: {why}")


def test_the_genuine_set_verifies_from_the_debian_package(fashion_cache):
    ds = store.read_cache(fashion_cache, FASHION_MNIST)  # the hashes again
    assert ds.train_images.shape == (60000, 28, 28) and ds.test_images.shape == (10000, 28, 28)
    assert tuple(np.bincount(ds.train_labels)) == (6000,) * 10
    pixels = ds.train_images / 255.0
    assert (round(float(pixels.mean()), 4), round(float(pixels.std()), 4)) == (0.2860, 0.3530)
    assert FASHION_MNIST.class_names[0] == "T-shirt/top" and FASHION_MNIST.class_names[9] == "Ankle boot"


def test_the_reference_mlp_is_the_packages_own(fashion_cache, tmp_path):
    """The accuracy the comparison sets the un-pruned network beside is the one row of an MLP in the
    benchmark table of the package's README (read from the installed or a fetched package)."""
    folder = deb.installed_folder(FASHION_MNIST) or deb.fetch_and_unpack(FASHION_MNIST, tmp_path)
    root = folder.parents[len(Path(FASHION_MNIST.debian.folder).parts) - 1]
    readme = gzip.open(root / "usr/share/doc/dataset-fashion-mnist/README.md.gz", "rt").read()
    mlps = [[c.strip() for c in line.split("|")] for line in readme.splitlines() if line.startswith("|MLP")]
    assert len(mlps) == 1, mlps
    what, accuracy, source = FASHION_MNIST.reference_mlp
    assert mlps[0][1] == "MLP 256-128-100" and what.startswith(mlps[0][1]) and float(mlps[0][3]) == accuracy
    assert "README.md.gz" in source


def test_bdnn_develop_on_fashion_mnist_with_taylor_pruning(fashion_cache, tmp_path):
    out = tmp_path / "run"
    args = ["--set", "dataset=fashion-mnist", "--set", "prune.criterion=taylor", "--set", "hidden_init=24"]
    proc = bdnn_cli("develop", *args, "--cache", str(fashion_cache), "--seed", "0", "--classes", "Trouser,Bag,Sneaker",
                    "--samples", "150", "--out", str(out), "--threads", "1")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["digits"] == [1, 8, 7] and s["config"]["dataset"] == "fashion-mnist" and s["config"]["prune"]["criterion"] == "taylor"
    assert s["settings"] == settings_key(load_config(REPO / "config" / "config.yaml", sets=args[1::2]))
    assert s["settings"] != settings_key(load_config(REPO / "config" / "config.yaml", sets=["hidden_init=24"]))


@pytest.mark.slow
def test_the_tiny_sweep_on_fashion_mnist_with_magnitude_pruning(fashion_cache, tmp_path):
    """`snakemake --config dataset=fashion-mnist prune.criterion=...`: the whole tiny sweep into its
    own results and figures folders; claims.md, the figures' titles and MLflow name both."""
    work = tmp_path / "work"
    work.mkdir()
    tiny = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    for key in ("results_dir", "figures_dir", "mlflow"):  # the places follow the dataset and the criterion
        del tiny[key]
    cfg = tmp_path / "fashion.yaml"
    cfg.write_text(yaml.safe_dump({**tiny, "dataset": "fashion-mnist", "prune": {**tiny["prune"], "criterion": "magnitude"}, "seeds": [0]}))
    snakemake(work, cache=fashion_cache, config=cfg)
    results, figures = work / "results" / "fashion-mnist-magnitude", work / "figures" / "fashion-mnist-magnitude"
    claims = (results / "claims.md").read_text()
    assert "Dataset: Fashion-MNIST (10 classes: T-shirt/top" in claims and "magnitude (L1 norm of the incoming weights)" in claims
    assert "digit" not in claims
    assert (figures / "fig3.png").stat().st_size > 1000 and not (work / "results" / "claims.md").exists()
    summary = pd.read_csv(results / "summary.csv")
    assert len(summary) == 4  # 2 subsets x 2 counts x 1 seed
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{results}/mlflow.db")
    exp = client.get_experiment_by_name("bdnn-sp-fashion-mnist-magnitude")
    runs = client.search_runs([exp.experiment_id], "tags.kind = 'develop'", max_results=100)
    assert len(runs) == 4 and {(r.data.tags["dataset"], r.data.tags["criterion"]) for r in runs} == {("fashion-mnist", "magnitude")}


@pytest.mark.slow
def test_the_tiny_comparison_end_to_end(fashion_cache, mnist_cache, tmp_path):
    """`snakemake compare` on the tiny sweep (3 criteria, 2 datasets, 2 seeds): the Fashion-MNIST
    cache built beside the configured one is the verified set; the MNIST Eq. 1 runs are the default
    sweep's (after the comparison the sweep needs no develop run); points, verdicts (n < 6), claim 5,
    the trade-off figures and the published claims.json; a second call does nothing."""
    work, caches = tmp_path / "work", tmp_path / "caches"
    work.mkdir()
    caches.mkdir()
    (caches / "mnist.npz").symlink_to(Path(mnist_cache).resolve())
    (caches / "fashion-mnist.npz").symlink_to(Path(fashion_cache).resolve())
    configs = (REPO / "config" / "test.yaml", REPO / "config" / "test-compare.yaml")
    proc = snakemake(work, "compare", cache=caches / "mnist.npz", config=configs)
    assert "rule compare_data:" not in proc.stdout + proc.stderr  # the cache beside the configured one is used as it is
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout + proc.stderr, re.M))
    # one job per count and seed makes every criterion's runs on both datasets (one trained start
    # each); single develop runs: MNIST's Eq. 1 sweep (2 subsets x 2 counts) and Fashion-MNIST's 0-4 subset, x 2 seeds
    assert (jobs["compare_develop"], jobs["develop"]) == ("4", str((4 + 2) * 2)), jobs
    results, figures = work / "results", work / "figures"
    tiny = load_config(*configs)
    assert (results / "develop" / settings_key(tiny) / "0-4" / "200" / "seed1" / "curve.csv").exists()
    points = pd.read_csv(results / "compare" / "fashion-mnist" / "points.csv")
    assert len(points) == 4 * 2 * 2 * 3  # (3 criteria + scratch) x 2 counts x 2 seeds x 3 widths
    assert set(points["criterion"]) == {"eq1", "magnitude", "random", "scratch"}
    scratch = points[points["criterion"] == "scratch"].set_index(["samples", "seed", "target"])["hidden"]
    eq1 = points[points["criterion"] == "eq1"].set_index(["samples", "seed", "target"])["hidden"]
    assert scratch.sort_index().equals(eq1.sort_index())  # a scratch network at each operating width
    data = json.loads((results / "compare" / "claims.json").read_text())
    for name in ("mnist", "fashion-mnist"):
        baselines = data["datasets"][name]["comparison"]["baselines"]
        assert set(baselines) == {"magnitude", "random", "scratch"}
        assert {b["verdict"] for b in baselines.values()} == {"inconclusive (n < 6)"}
    assert data["claim5"]["harder"] == "fashion-mnist" and data["claim5"]["verdict"] == "inconclusive (n < 6)"
    claims = (results / "compare" / "claims.md").read_text()
    assert "## Claim 5" in claims and "MLP 256-128-100 trained on all 60,000 training images, 0.8833" in claims
    assert json.loads((figures / "compare" / "claims.json").read_text()) == data
    for name in ("mnist", "fashion-mnist"):
        assert (figures / "compare" / f"tradeoff-{name}.png").stat().st_size > 10_000
    record = (figures / "compare" / "README.md").read_text()
    assert "`make compare`" in record and record.count(": sha256 ") == 4  # png and pdf of each dataset
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{results}/mlflow.db")
    exp = client.get_experiment_by_name(f"{tiny['mlflow']['experiment']}-compare")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    kinds = Counter(r.data.tags["kind"] for r in runs)
    # develop: 2 other criteria x 2 datasets x 2 counts + Fashion-MNIST's Eq. 1 sweep (2 subsets x 2 counts), x 2 seeds
    assert kinds == {"compare": 1, "develop": (2 * 2 * 2 + 4) * 2, "scratch": 2 * 2 * 2}, kinds
    names = {r.info.run_name for r in runs}
    assert "fashion-mnist-magnitude-develop-0-9-100-seed0" in names and "mnist-scratch-0-9-200-seed1" in names
    assert "fashion-mnist-eq1-develop-0-4-200-seed1" in names and "mnist-random-develop-0-9-200-seed1" in names
    assert not any(n.startswith("mnist-eq1") for n in names)  # the sweep's own runs stay under the sweep's parent
    parent = next(r for r in runs if r.data.tags["kind"] == "compare")
    assert "claim5_p" in parent.data.metrics and "fashion-mnist_eq1_minus_scratch" in parent.data.metrics
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "results/fashion-mnist")} >= {
        "results/fashion-mnist/points.csv", "results/fashion-mnist/verdicts.json"
    }  # fmt: skip
    again = snakemake(work, "compare", "-n", cache=caches / "mnist.npz", config=configs)
    assert "Nothing to be done" in again.stdout + again.stderr
    sweep = snakemake(work, "-n", cache=caches / "mnist.npz", config=REPO / "config" / "test.yaml")
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", sweep.stdout + sweep.stderr, re.M))
    assert "develop" not in counts and counts["transfer"] == "2", counts
