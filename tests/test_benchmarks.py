"""The benchmark suite runs (at tiny sizes, no timing asserted) and reads today's results layout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
NAMES = ("throughput", "develop", "efficiency", "sweep", "cuda")
RESULTS = ("train_epoch_", "develop_removal_vs_masking", "sgemm_efficiency_", "sweep_time", "sweep_peak_memory", "develop_cuda")
TSV_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_quick_suite_runs_and_names_every_benchmark(tmp_path):
    before = sorted(p.name for p in (REPO / "benchmarks").iterdir())
    python = str(PYTHON) if PYTHON.exists() else sys.executable
    cmd = [python, "-m", "benchmarks", "--quick", "--results", str(tmp_path / "absent")]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in NAMES:
        assert f"[{name}]" in proc.stdout, name
    summary = proc.stdout.split("\nsummary\n", 1)[1]
    for name in RESULTS:
        assert name in summary, name
    assert "no run found" in proc.stdout
    assert sorted(p.name for p in (REPO / "benchmarks").iterdir()) == before  # --quick writes nothing


def _tsv(path: Path, seconds: str, max_rss: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TSV_HEADER + f"{seconds}\t0:00:01\t{max_rss}\t1\t1\t1\t0\t0\t90\t1\n")


def test_sweep_reads_todays_layout(tmp_path):
    from benchmarks.sweep import bench_sweep, by_group, read_jobs

    bench = tmp_path / "results" / "benchmarks"
    _tsv(bench / "develop" / "k1" / "0-4" / "600" / "seed0.tsv", "10.5", "400.2")
    _tsv(bench / "develop" / "k1" / "0-4" / "1200" / "seed0.tsv", "20", "NA")
    _tsv(bench / "develop" / "k1" / "0-9" / "9600" / "seed1.tsv", "90", "500")
    _tsv(bench / "transfer" / "k1" / "developed" / "seed0.tsv", "30", "700")  # a job of one network (before the jobs per seed)
    _tsv(bench / "task_transfer" / "k2" / "seed3.tsv", "12", "600")  # every network of one seed
    jobs = read_jobs(bench)
    assert len(jobs) == 5
    assert list(by_group(jobs)) == ["0-4/600", "0-4/1200", "0-9/9600", "task_transfer", "transfer/developed"]
    wall, mem = bench_sweep(None, {}, tmp_path / "results")
    assert wall.values and abs(wall.values[0] * wall.details["cores"] * 60 - 162.5) < 1e-9
    assert mem.to_json()["max"] == 700 and mem.to_json()["n"] == 4
    assert [r.values for r in bench_sweep(None, {}, tmp_path / "nothing")] == [[], []]
