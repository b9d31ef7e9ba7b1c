"""Issue 5: the SLURM profile (workflow/profiles/slurm), proven on a real single-node SLURM cluster.

The test stands up slurmctld + slurmd + munged on localhost from Debian's packages, extracted into a
private prefix by tests/slurm/setup.sh (nothing installed system-wide: with slurm-client on PATH
but no controller, every snakemake call of the other tests would stall ~10 s), runs the tiny test
sweep through `snakemake --workflow-profile workflow/profiles/slurm` in a temporary directory,
checks that the develop/transfer jobs went through SLURM (job ids in Snakemake's log and in
slurmctld's) and that the results tables equal a local run's (conftest's shared `baseline`), then
stops every daemon it started by its PID. Skips where the machine cannot run the daemons (not root, no apt/dpkg).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, TEST_CONFIG, VENV_BIN, free_port, snakemake_cmd

from bdnn.pipeline.layout import TABLES as TABLE_FILES
from bdnn.pipeline.layout import TIMING_COLUMNS

pytestmark = pytest.mark.slow

SLURM_PROFILE = "workflow/profiles/slurm"
HERE = Path(__file__).resolve().parent / "slurm"
TABLES = tuple(TABLE_FILES.values())

# Test-only tuning on the command line (the profile keeps values for real clusters): poll squeue
# (no accounting, so no sacct) every second, no account (no slurmdbd to validate one against).
SLURM_TEST_ARGS = (
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "1",
    "--max-status-checks-per-second",
    "10",
    "--slurm-no-account",
    "--slurm-keep-successful-logs",
    "--latency-wait",
    "5",
)


def _wait(predicate, timeout: float, what: str, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} while waiting for {what}")
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def _zombies(comm: str) -> list[int]:
    """Exited, not yet reaped processes named `comm` (daemonized ones are reaped by init, later)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, _, rest = text.partition("(")[2].rpartition(")")
        if name == comm and rest.split()[:1] == ["Z"]:
            pids.append(int(stat.parent.name))
    return pids


class LocalSlurm:
    """munged, slurmctld and slurmd from the private prefix in `root` (laid out by setup.sh)."""

    def __init__(self, root: Path):
        self.root = root
        self.prefix = root / "prefix"
        plugin_dirs = sorted(self.prefix.glob("usr/lib/*/slurm-wlm"))
        if not plugin_dirs:
            raise RuntimeError(f"no slurm-wlm plugin dir under {self.prefix}")
        self.plugin_dir = plugin_dirs[0]
        self.conf = root / "etc" / "slurm.conf"
        self.host = socket.gethostname().split(".")[0]
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self._logs = []

    # -- environment ------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The caller's environment without SLURM variables (hermetic), plus the private SLURM."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_", "SQUEUE_", "SINFO_"))}
        env["PATH"] = os.pathsep.join(
            [str(self.prefix / "usr" / "bin"), str(self.prefix / "usr" / "sbin"), str(VENV_BIN), env.get("PATH", "")]
        )
        libs = [str(self.plugin_dir), str(self.plugin_dir.parent)]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(libs + [p for p in [env.get("LD_LIBRARY_PATH")] if p])
        env["SLURM_CONF"] = str(self.conf)
        return env

    def run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env(), capture_output=True, text=True, timeout=timeout)

    # -- daemons ----------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], **kw) -> subprocess.Popen:
        log = open(self.root / f"{name}.out", "wb")
        self._logs.append(log)
        proc = subprocess.Popen(
            cmd, env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kw
        )
        self.procs.append((name, proc))
        return proc

    def start(self):
        mem_mb = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
        template = string.Template((HERE / "slurm.conf.in").read_text())
        self.conf.write_text(
            template.substitute(
                host=self.host,
                ctld_port=free_port(),
                slurmd_port=free_port(),
                cluster=self.root,
                plugin_dir=self.plugin_dir,
                cpus=os.cpu_count() or 1,
                memory_mb=max(mem_mb * 9 // 10, 1),
            )
        )
        sbin = self.prefix / "usr" / "sbin"
        sock = self.root / "munge" / "munged.socket"
        self._spawn(
            "munged",
            [
                str(sbin / "munged"),
                "--foreground",
                f"--key-file={self.root / 'etc' / 'munge.key'}",
                f"--socket={sock}",
                f"--pid-file={self.root / 'munge' / 'munged.pid'}",
                f"--log-file={self.root / 'munge' / 'munged.log'}",
                f"--seed-file={self.root / 'munge' / 'munged.seed'}",
            ],
            user="munge",
            group="munge",
            extra_groups=[],
        )
        _wait(lambda: self.run("munge", "-n", "-S", str(sock)).returncode == 0, 20, "munged", self.procs)
        # As root; slurmctld switches to SlurmUser=slurm itself.
        self._spawn("slurmctld", [str(sbin / "slurmctld"), "-D", "-i", "-f", str(self.conf)])
        _wait(lambda: "is UP" in self.run("scontrol", "ping").stdout, 30, "slurmctld", self.procs)
        self._spawn("slurmd", [str(sbin / "slurmd"), "-D", "-f", str(self.conf), "-d", str(sbin / "slurmstepd")])
        _wait(lambda: self.run("sinfo", "-h", "-N", "-o", "%T").stdout.strip() == "idle", 30, "the node to be idle", self.procs)

    def ctld_log(self) -> str:
        path = self.root / "ctld" / "slurmctld.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        parts = []
        for path in [self.root / f"{n}.out" for n, _ in self.procs] + [self.root / "slurmd" / "slurmd.log"]:
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def _own_processes(self, program: str = "") -> list[int]:
        """PIDs of live processes running a program from this cluster's prefix (all, or `program`)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                exe = os.readlink(entry / "exe")
            except OSError:  # gone, or a zombie
                continue
            if exe.startswith(str(self.prefix) + os.sep) and exe.endswith(program):
                pids.append(int(entry.name))
        return pids

    def stop(self) -> list[str]:
        """Cancel leftover jobs, stop the daemons (slurmd, slurmctld, munged) by PID; return problems."""
        problems = []
        alive = {name for name, proc in self.procs if proc.poll() is None}
        if {"slurmctld", "munged"} <= alive:
            active = "PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED"
            try:
                jobs = self.run("squeue", "-h", "-t", active, "-o", "%i").stdout.split()
                if jobs:
                    problems.append(f"jobs still queued or running at teardown: {jobs}")
                    self.run("scancel", *jobs)
                # Let slurmd's step daemons finish (or clean up) before slurmd goes.
                _wait(
                    lambda: (
                        not self.run("squeue", "-h", "-t", active, "-o", "%i").stdout.split() and not self._own_processes("slurmstepd-wlm")
                    ),
                    30,
                    "the jobs to end",
                )
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                problems.append(f"ending jobs: {exc}")
        for name, proc in reversed(self.procs):  # slurmd, slurmctld, munged
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    problems.append(f"{name} (pid {proc.pid}) ignored SIGTERM; killed")
                    proc.kill()
                    proc.wait(timeout=10)
        for log in self._logs:
            log.close()
        try:  # slurmctld's slurmscriptd child exits with it; exited step daemons wait for init to reap them
            _wait(lambda: not self._own_processes() and not _zombies("slurmstepd"), 10, "the daemons' children")
        except RuntimeError:
            pass
        for pid in self._own_processes():  # e.g. a slurmstepd that outlived its slurmd
            problems.append(f"pid {pid} from the SLURM prefix left running; killed")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return problems


@pytest.fixture
def slurm_cluster():
    if not sys.platform.startswith("linux"):
        pytest.skip("a local SLURM cluster needs Linux")
    if os.geteuid() != 0:
        pytest.skip("a local SLURM cluster needs root (daemon users, slurmd)")
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        pytest.skip("a local SLURM cluster needs Debian's apt-get and dpkg")
    # Not pytest's tmp_path: its parent is private to root, and munged/slurmctld run as munge/slurm.
    root = Path(tempfile.mkdtemp(prefix="bdnn-slurm-", dir="/tmp"))
    cluster = None
    try:
        setup = subprocess.run(["bash", str(HERE / "setup.sh"), str(root)], capture_output=True, text=True, timeout=600)
        if setup.returncode == 77:
            pytest.skip(setup.stderr.strip().splitlines()[-1])
        assert setup.returncode == 0, f"tests/slurm/setup.sh failed:\n{setup.stdout}\n{setup.stderr}"
        cluster = LocalSlurm(root)
        try:
            cluster.start()
        except RuntimeError as exc:
            pytest.fail(f"could not start the local SLURM cluster: {exc}\n{cluster.logs()}")
        yield cluster
    finally:
        problems = cluster.stop() if cluster is not None else []
        leftover = cluster._own_processes() if cluster is not None else []
        shutil.rmtree(root, ignore_errors=True)
        assert not leftover, f"processes from the SLURM prefix still running: {leftover}"
        assert not problems, "teardown: " + "; ".join(problems)


def _snakemake(workdir: Path, *args: str, cache: Path, env: dict[str, str], timeout: int = 900):
    cmd = snakemake_cmd(workdir, TEST_CONFIG, cache=cache, args=args)
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


def _tables(workdir: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for name in TABLES:
        df = pd.read_csv(workdir / "results" / name)
        out[name] = df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns])
    return out


def _run_on_slurm(slurm_cluster: LocalSlurm, on_slurm: Path, cache: Path, n_jobs: dict[str, int]):
    # SBATCH_PARTITION exercises the profile's environment route to a partition.
    env = slurm_cluster.env()
    env["SBATCH_PARTITION"] = "debug"
    proc = _snakemake(on_slurm, "--workflow-profile", SLURM_PROFILE, *SLURM_TEST_ARGS, cache=cache, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"snakemake on SLURM failed ({proc.returncode}):\n{output[-8000:]}\n{slurm_cluster.logs()}"

    # Every develop/transfer job was submitted to SLURM, in the profile's partition, and completed there.
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", output)
    assert len(submitted) == sum(n_jobs.values()) == len(set(submitted)), output[-8000:]
    log_files = sorted((on_slurm / ".snakemake" / "log").glob("*.snakemake.log"))
    assert log_files, "no Snakemake log"
    assert set(re.findall(r"has been submitted with SLURM jobid (\d+)", log_files[-1].read_text())) == set(submitted)
    assert "slurm_partition=debug" in output
    ctld = slurm_cluster.ctld_log()
    for jobid in submitted:
        assert re.search(rf"sched: Allocate JobId={jobid} NodeList={re.escape(slurm_cluster.host)} .*Partition=debug", ctld), jobid
        assert f"_job_complete: JobId={jobid} WEXITSTATUS 0" in ctld, jobid
    states = slurm_cluster.run("squeue", "-h", "--states=all", "-o", "%i|%T").stdout.split()
    assert sorted(states) == sorted(f"{j}|COMPLETED" for j in submitted)
    # Each job ran its rule inside the allocation (Snakemake's job step executor, via srun); the SLURM
    # logs (kept by --slurm-keep-successful-logs) are named rule_<rule>/<wildcards>/<job id>.log.
    log_dir = on_slurm / ".snakemake" / "slurm_logs"
    slurm_logs = sorted(log_dir.rglob("*.log"))
    assert sorted(p.stem for p in slurm_logs) == sorted(submitted)
    ran = {}
    for path in slurm_logs:
        rule = path.relative_to(log_dir).parts[0].removeprefix("rule_")
        text = path.read_text(errors="replace")
        assert "--executor slurm-jobstep" in text and f"Finished jobid: 0 (Rule: {rule})" in text, text[-3000:]
        ran[rule] = ran.get(rule, 0) + 1
    assert ran == n_jobs


def test_sweep_on_a_local_slurm_cluster_matches_a_local_run(baseline, slurm_cluster, mnist_cache, tmp_path):
    # `baseline` (conftest, session-scoped, shared with the workflow and fault tests): the same sweep
    # run locally with the default profile, before the cluster starts and without SLURM on PATH.
    local, _ = baseline
    cache = Path(mnist_cache).resolve()
    cfg = yaml.safe_load(TEST_CONFIG.read_text())
    n_jobs = {
        "develop": len(cfg["classes"]) * len(cfg["samples"]) * len(cfg["seeds"]),
        "transfer": len(cfg["seeds"]),  # every network of one seed
        "task_transfer": len(cfg["seeds"]),
    }

    _run_on_slurm(slurm_cluster, tmp_path / "slurm", cache, n_jobs)

    got, want = _tables(tmp_path / "slurm"), _tables(local)
    for name in TABLES:
        assert len(want[name]) > 0, name
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=True, obj=name)
