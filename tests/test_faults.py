"""Nothing lost, nothing wrong: bad input through snakemake, kill and resume, determinism
serial vs parallel, tracking under concurrency and with the tracking server down or dying."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    REPO,
    TEST_CONFIG,
    VENV_BIN,
    bdnn_cli,
    copy_run,
    env_with_venv,
    free_port,
    snakemake,
    snakemake_cmd,
    stop_group,
    wait_for_server,
)

from bdnn.pipeline import layout

pytestmark = pytest.mark.slow

TABLES = tuple(layout.TABLES.values())


def tables(work: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(work / "results" / t).drop(columns=["seconds"], errors="ignore") for t in TABLES}


def assert_same_tables(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    for t in TABLES:
        pd.testing.assert_frame_equal(ta[t], tb[t], check_exact=True, obj=t)


def snapshot(work: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in (work / "results").rglob("*") if p.is_file() and ".snakemake" not in p.parts}


# ---------------------------------------------------------------- 1. bad input via snakemake
BAD_CONFIGS = [
    ("samples: [0]\n", "samples.0: 0 is not allowed; it must be >= 1"),
    ("samples: [-100]\n", "samples.0: -100 is not allowed"),
    ("samples: [100.5]\n", "samples.0: 100.5 is not of type integer"),
    ("samples: [30000]\n", "need 6000 training images per class"),
    ("classes: {'0-9': [0, 1, 2, 3, 4, 5, 6, 7, 8, 10]}\n", "classes.0-9.9: 10 is not allowed"),
    ("classes: {'0-4': [0, 1, 1, 3, 4]}\n", "non-unique"),
    ("classes: {'0-4': [4]}\n", "classes.0-4"),
    ("prune: {fraction: 1.2}\n", "prune.fraction: 1.2 is not allowed; it must be < 1"),
    ("prune: {min_hidden: 24}\n", "prune.min_hidden: 24 must be below hidden_init (24)"),
    ("lr: 0\n", "lr: 0 is not allowed; it must be > 0"),
    ("fitness: {gamma: high}\n", "fitness.gamma: 'high' is not of type number"),
    ("seeds: [0, 1]\nseed: 3\n", "unknown key in (top level): 'seed'"),
    ("lr: [0.1\n", "not valid JSON or YAML"),
]


@pytest.mark.parametrize("text,message", BAD_CONFIGS, ids=[m[:30] for _, m in BAD_CONFIGS])
def test_bad_config_stops_snakemake_before_compute_and_touches_nothing(baseline, tmp_path, mnist_cache, text, message):
    work, _ = baseline
    before = snapshot(work)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    cmd = snakemake_cmd(work, TEST_CONFIG, bad, cache=mnist_cache, cores=2)
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, env=env_with_venv())
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr[-2000:]
    assert "rule develop" not in proc.stdout + proc.stderr
    assert snapshot(work) == before


def test_missing_cache_that_cannot_be_built_fails_the_data_rule_clearly(tmp_path):
    env = env_with_venv() | {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    proc = snakemake(tmp_path, cache=tmp_path / "none" / "mnist.npz", check=False, env=env)
    assert proc.returncode != 0
    log = (tmp_path / "results" / "logs" / "data.log").read_text()
    assert "registry failed" in log and "IDX" in log and len(log.strip().splitlines()) <= 2
    assert not (tmp_path / "none" / "mnist.npz").exists() and not (tmp_path / "results" / "develop").exists()


def test_corrupt_cache_is_refused_through_snakemake(tmp_path):
    cache = tmp_path / "mnist.npz"
    cache.write_bytes(b"\x00" * 1000)
    proc = snakemake(tmp_path, cache=cache, check=False)
    assert proc.returncode != 0
    logs = "".join(p.read_text() for p in (tmp_path / "results" / "logs" / "develop").rglob("*.log"))
    assert "is corrupt" in logs
    assert not list((tmp_path / "results").rglob("curve.csv"))
    assert cache.read_bytes() == b"\x00" * 1000


def test_cli_absurd_lr_is_a_clear_numerical_error(tmp_path, mnist_cache):
    proc = bdnn_cli(
        "develop",
        "--no-default-config",
        "--cache",
        str(mnist_cache),
        "--classes",
        "0-9",
        "--samples",
        "100",
        "--seed",
        "0",
        "--set",
        "lr=1e300",
        "--set",
        "hidden_init=20",
        "--out",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 2 and "initial training, epoch 1" in proc.stderr and "NaN/inf" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()


# ---------------------------------------------------------------- 2. killed and resumed
def _start(work: Path, cache: Path, log: Path) -> subprocess.Popen:
    cmd = snakemake_cmd(work, TEST_CONFIG, cache=cache, cores=2)
    with open(log, "w") as fh:
        return subprocess.Popen(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, text=True, env=env_with_venv(), start_new_session=True)


def _finished_develops(log: Path) -> int:
    return len(re.findall(r"^Finished jobid: \d+ \(Rule: develop\)", log.read_text(), re.M))


def _wait_for(pred, timeout=120.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_sweep_resumes_with_only_unfinished_jobs_and_identical_tables(baseline, tmp_path, mnist_cache, sig):
    work = tmp_path / "run"
    work.mkdir()
    log = tmp_path / "first.log"
    proc = _start(work, mnist_cache, log)
    _wait_for(lambda: _finished_develops(log) >= 2)
    if sig == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its running jobs die at once, as on a crash
    else:
        os.kill(proc.pid, signal.SIGTERM)  # snakemake's own shutdown
    try:
        proc.wait(timeout=120)  # SIGTERM: Snakemake stops its running jobs and cleans up first
    except subprocess.TimeoutExpired:
        pass  # seen once under heavy load: Snakemake hung after SIGTERM; a user would then kill -9
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # leave no process of this run behind
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
    finished = _finished_develops(log)  # jobs Snakemake saw complete before it died
    assert 2 <= finished < 8
    present = {p.parent for p in (work / "results" / "develop").rglob("summary.json")}
    assert len(present) >= finished
    for d in present:  # what is present is complete
        json.loads((d / "summary.json").read_text())
        assert len(pd.read_csv(d / "curve.csv")) > 1
    first = snakemake(work, cache=mnist_cache, check=False)
    if first.returncode != 0:
        assert "--unlock" in first.stdout + first.stderr  # as the README says
        snakemake(work, "--unlock", cache=mnist_cache)
        first = snakemake(work, cache=mnist_cache)
    out = first.stdout + first.stderr
    reran = len(re.findall(r"^(?:local)?rule develop:", out, re.M))
    assert reran == 8 - finished, out[-3000:]
    assert_same_tables(work, baseline[0])


# ---------------------------------------------------------------- 3. determinism
def test_serial_and_parallel_runs_are_bit_identical(baseline, tmp_path, mnist_cache):
    work = tmp_path / "serial"
    work.mkdir()
    cmd_cores = snakemake(work, "--cores", "1", cache=mnist_cache)
    assert cmd_cores.returncode == 0
    assert_same_tables(work, baseline[0])
    for a in (baseline[0] / "results" / "develop").rglob("summary.json"):
        b = work / a.relative_to(baseline[0])
        sa, sb = json.loads(a.read_text()), json.loads(b.read_text())
        sa.pop("seconds"), sb.pop("seconds")
        sa["peak"].pop("seconds"), sb["peak"].pop("seconds")
        assert sa == sb
        assert (a.parent / "model.pt").read_bytes() == (b.parent / "model.pt").read_bytes()
        ca = pd.read_csv(a.parent / "curve.csv").drop(columns="seconds")
        cb = pd.read_csv(b.parent / "curve.csv").drop(columns="seconds")
        pd.testing.assert_frame_equal(ca, cb, check_exact=True)


# ---------------------------------------------------------------- 4. tracking
def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


_OPEN_AT_ONCE = """
import sys, time
from pathlib import Path
from bdnn.tracking import store
import mlflow.tracking  # imported before the start signal: the processes open the store together
folder = Path(sys.argv[1])
(folder / f"ready{sys.argv[2]}").touch()
while not (folder / "go").exists():
    time.sleep(0.005)
cfg = {"mlflow": {"tracking_uri": f"sqlite:///{folder}/mlflow.db", "experiment": "race"}, "results_dir": str(folder)}
print(store.experiment(store.client(cfg), cfg))
"""


def test_processes_opening_a_new_sqlite_store_at_once_all_succeed(tmp_path):
    """MLflow creates a new store's tables when a client first opens it; without the lock in
    bdnn.tracking.store.client two processes doing so together fail ("table ... already exists"),
    as the sweep's and the comparison's parent-run jobs did side by side."""
    n = 4
    procs = [
        subprocess.Popen(
            [str(VENV_BIN / "python"), "-c", _OPEN_AT_ONCE, str(tmp_path), str(i)],
            env=env_with_venv(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    _wait_for(lambda: all((tmp_path / f"ready{i}").exists() or procs[i].poll() is not None for i in range(n)), timeout=120)
    (tmp_path / "go").touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [err[-2000:] for _, err in outs]
    assert len({out.strip() for out, _ in outs}) == 1  # one experiment, found or created by all


def test_ten_jobs_logging_at_once_to_one_sqlite_store_lose_nothing(baseline, tmp_path):
    work = copy_run(baseline[0], tmp_path / "conc")
    res = work / "results"
    shutil.rmtree(res / "tracking")
    for p in res.glob("mlflow.db*"):
        p.unlink()
    shutil.rmtree(res / "mlartifacts")
    cfg = ["--no-default-config", "--config", str(TEST_CONFIG)]
    init = bdnn_cli("track", "init", *cfg, "--out", "results/tracking/sweep.json", cwd=work)
    assert init.returncode == 0, init.stderr
    jobs = [["develop", str(d)] for d in sorted({p.parent for p in (res / "develop").rglob("curve.csv")})]
    for experiment in ("transfer", "task_transfer"):  # `bdnn track transfer` logs both kinds of transfer result
        jobs += [["transfer", str(d)] for d in sorted({p.parent for p in (res / experiment).rglob("transfer.csv")})]
    assert len(jobs) == 8 + 2 * (5 + 3)  # develop; transfer and task-transfer networks x seeds

    def launch():
        return [
            subprocess.Popen(
                [str(VENV_BIN / "bdnn"), "track", kind, *cfg, "--result", d, "--sweep", "results/tracking/sweep.json"],
                cwd=work,
                env=env_with_venv(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for kind, d in jobs
        ]

    procs = launch()
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    client = _client(f"sqlite:///{res}/mlflow.db")
    exp = client.get_experiment_by_name("bdnn-sp-test")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    assert len(runs) == 25
    n_params = {}  # every run of a kind has all its params
    for run in runs:
        kind = run.data.tags["kind"]
        if kind == "sweep":
            continue
        assert run.info.status == "FINISHED"
        assert len(run.data.params) == n_params.setdefault(kind, len(run.data.params)), kind
        arts = {a.path for a in client.list_artifacts(run.info.run_id)}
        if run.data.tags["kind"] == "develop":
            t = run.data.tags
            curve = pd.read_csv(layout.job_files(res, layout.develop_job(t["settings"], t["classes"], t["n_samples"], t["seed"]))["curve"])
            assert len(client.get_metric_history(run.info.run_id, "hidden")) == len(curve)
            assert {"curve.csv", "summary.json", "model.pt", "curve.png"} <= arts
    # all at once again: nothing new
    procs = launch()
    for p in procs:
        p.communicate(timeout=300)
        assert p.returncode == 0
    assert len(client.search_runs([exp.experiment_id], max_results=1000)) == 25


def _start_server(port: int, store: Path) -> subprocess.Popen:
    cmd = [
        str(VENV_BIN / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{store}/mlflow.db",
        "--artifacts-destination",
        str(store / "artifacts"),
    ]
    proc = subprocess.Popen(cmd, cwd=store, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for_server(proc, f"http://127.0.0.1:{port}/health", timeout=90)
    return proc


def _tracked_batches(work):
    """The tracking jobs' records (one per batch: develop runs by subset and count, transfer runs by network)."""
    tracking = work / "results" / "tracking"
    return len([p for d in ("develop", "transfer", "task_transfer") if (tracking / d).exists() for p in (tracking / d).rglob("*.json")])


def test_dead_then_dying_tracking_server_loses_no_results_and_rerun_completes(baseline, tmp_path, mnist_cache):
    work = copy_run(baseline[0], tmp_path / "srv")
    shutil.rmtree(work / "results" / "tracking")
    results_before = {p: p.read_bytes() for p in (work / "results" / "develop").rglob("*") if p.is_file()}
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    env = env_with_venv() | {"MLFLOW_TRACKING_URI": uri}
    # the server is down: tracking jobs fail fast, results stay
    t0 = time.time()
    proc = snakemake(work, cache=mnist_cache, check=False, env=env)
    elapsed = time.time() - t0
    assert proc.returncode != 0
    assert elapsed < 90, f"a dead server cost {elapsed:.0f}s"
    out = proc.stdout + proc.stderr
    assert "rule develop:" not in out and "rule transfer:" not in out and "rule task_transfer:" not in out
    assert {p: p.read_bytes() for p in results_before} == results_before
    assert (work / "results" / "curves.csv").exists() and (work / "figures" / "fig3.png").exists()
    assert not (work / "results" / "tracking" / "develop").exists()
    # the server comes up, dies mid-sweep, comes back: the rerun completes without duplicates
    store = tmp_path / "server"
    store.mkdir()
    server = _start_server(port, store)
    try:
        run = subprocess.Popen(
            snakemake_cmd(work, TEST_CONFIG, cache=mnist_cache, cores=1),
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        _wait_for(lambda: _tracked_batches(work) >= 2, timeout=240)
        stop_group(server)
        run.communicate(timeout=300)
        partial = _tracked_batches(work)
        assert partial < 12
        server = _start_server(port, store)
        final = snakemake(work, cache=mnist_cache, env=env)
        assert "rule develop:" not in final.stdout + final.stderr
        assert _tracked_batches(work) == 12  # 2 subsets x 2 counts of develop runs, 5 + 3 networks
        client = _client(uri)
        exp = client.get_experiment_by_name("bdnn-sp-test")
        runs = client.search_runs([exp.experiment_id], max_results=1000)
        keys = [r.data.tags["bdnn_run_key"] for r in runs]
        assert len(keys) == len(set(keys)) == 25
        assert all(r.info.status == "FINISHED" for r in runs)
    finally:
        stop_group(server)
