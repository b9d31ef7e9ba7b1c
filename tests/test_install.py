"""The package works when installed (not editable) and used from another folder: the schema ships
inside it, and `bdnn validate` / `bdnn develop` need nothing from the repository."""

import csv
import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def _tracked_tree(dst: Path) -> Path:
    """A copy of the repository's tracked and new (not ignored) files: pip builds in the source
    folder, and the build must not touch the checkout."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, check=True
    ).stdout
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file() or src.is_symlink():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name, follow_symlinks=False)
    return dst


def test_non_editable_install_runs_validate_and_develop_from_another_folder(tmp_path, mnist_cache):
    src = _tracked_tree(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # The new environment sees this one's dependencies (a plain path entry: this environment's own
    # .pth files, among them the editable install of bdnn, are not processed there).
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", str(src)]
    proc = subprocess.run(pip, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (site / "bdnn" / "pipeline" / "config.schema.yaml").is_file() and (site / "bdnn" / "method" / "develop.py").is_file()
    shutil.rmtree(src)  # nothing of the source tree is needed any more

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bdnn = str(venv / "bin" / "bdnn")

    def run(*args):
        return subprocess.run([bdnn, *args], cwd=elsewhere, capture_output=True, text=True, timeout=300)

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import bdnn; print(bdnn.__file__)"], cwd=elsewhere, capture_output=True, text=True
    )
    assert where.stdout.strip() == str(site / "bdnn" / "__init__.py")
    proc = run("validate", "--print")
    assert proc.returncode == 0, proc.stderr
    cfg = json.loads(proc.stdout)
    assert cfg["lr"] == 0.2 and cfg["hidden_init"] == 1000 and cfg["fitness"]["stability"] == "normalized"
    proc = run(
        "develop", "--cache", str(mnist_cache), "--set", "hidden_init=12", "--set", "initial_epochs=1", "--set", "prune.min_hidden=8",
        "--classes", "0-4", "--samples", "50", "--seed", "0", "--threads", "1", "--out", "run",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((elsewhere / "run" / "summary.json").read_text())
    with open(elsewhere / "run" / "curve.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["iteration"] != "0"]
    assert summary["samples"] == 50 and summary["n_classes"] == 5 and [int(r["hidden"]) for r in rows] == [10, 9, 8]  # ceil(10%)
    peak = max(rows, key=lambda r: float(r["F"]))  # first argmax of F: the developed network
    assert summary["hidden_at_peak"] == int(peak["hidden"]) and summary["F_at_peak"] == float(peak["F"])
    assert {p.name for p in (elsewhere / "run").iterdir()} == {"curve.csv", "summary.json", "model.pt"}
