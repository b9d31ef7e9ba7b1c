"""The memory estimate before allocation: by hand, against SLURM's and the machine's memory, and
through the CLI (one line with the estimate, before any data is loaded)."""

import pytest
from conftest import bdnn_cli, env_with_venv

from bdnn.pipeline.memory import BASE, MemoryLimitError, available_bytes, check_memory, estimate_bytes


def test_estimate_by_hand():
    # 100 samples of 10 classes, 20 hidden, 50 evaluation images: data (2*100 + 50) * 794 floats,
    # params 4 * 20 * 795 floats, activations 2 * 100 * 30 floats
    assert estimate_bytes(20, 10, 100, 50, n_in=784) == BASE + 4 * (250 * 794 + 4 * 20 * 795 + 2 * 100 * 30)
    # the evaluation chunk caps the activations: 20,000 rows at most
    assert estimate_bytes(1000, 10, 60000, 10000, n_in=784) - estimate_bytes(1000, 10, 50000, 10000, n_in=784) == 4 * 2 * 10000 * 794


def test_available_memory_from_slurm_or_the_machine(tmp_path):
    assert available_bytes({"SLURM_MEM_PER_NODE": "1000"}) == (1000 * 2**20, "given to this SLURM job (mem_mb)")
    assert available_bytes({"SLURM_MEM_PER_CPU": "500", "SLURM_CPUS_ON_NODE": "2"})[0] == 1000 * 2**20
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:   12345678 kB\n")
    assert available_bytes({}, str(meminfo)) == (12345678 * 1024, "available on this machine")


def test_a_job_over_its_memory_stops_with_the_estimate():
    assert (
        check_memory(1000, 10, 19200, env={"SLURM_MEM_PER_NODE": "1000"}, n_in=784) < 1000 * 2**20
    )  # the default fits the profile's mem_mb
    with pytest.raises(MemoryLimitError, match=r"needs about 3\.58 GiB .* more than the 0\.98 GiB given to this SLURM job"):
        check_memory(20000, 10, 19200, env={"SLURM_MEM_PER_NODE": "1000"}, n_in=784)


def test_cli_refuses_before_loading_anything(tmp_path):
    env = {**env_with_venv(), "SLURM_MEM_PER_NODE": "1000"}
    proc = bdnn_cli("develop", "--set", "hidden_init=50000", "--cache", str(tmp_path / "absent.npz"), "--classes", "0-9",
                    "--samples", "600", "--seed", "0", "--out", str(tmp_path / "out"), env=env)  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs about" in lines[0] and "GiB" in lines[0] and "mem_mb" in lines[0]
    assert not (tmp_path / "absent.npz").exists() and not (tmp_path / "out").exists()
