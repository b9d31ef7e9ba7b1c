"""The memory a job needs, estimated before it allocates anything, against what it was given: the
SLURM job's memory (`mem_mb`, seen as SLURM_MEM_PER_NODE / SLURM_MEM_PER_CPU) or the machine's
available memory. An absurd size stops in one line instead of failing deep inside an allocation."""

from __future__ import annotations

import os
from collections.abc import Mapping

from bdnn import BDNNError
from bdnn.method.sgd import EVAL_CHUNK

FLOAT = 4  # float32
# Python, torch and the MNIST cache: measured develop jobs peaked at 553 MB with 1,000 hidden
# neurons and 19,200 samples, of which the terms below account for about 307 MiB.
BASE = 350 * 2**20


class MemoryLimitError(BDNNError):
    """The job's estimated memory exceeds what it was given."""


def estimate_bytes(hidden: int, n_classes: int, n_train: int, n_eval: int = 10000, *, n_in: int) -> int:
    """Peak memory of a develop or transfer job: BASE, the samples (a shuffled copy each epoch) and
    the evaluation split, the network in four copies (the model, its best state, the pruned
    weights, gradient-sized temporaries), and the activations of one evaluation chunk. `n_in` is
    the dataset's input size."""
    width = n_in + n_classes
    data = (2 * n_train + n_eval) * width * FLOAT
    params = 4 * hidden * (n_in + n_classes + 1) * FLOAT
    activations = 2 * min(EVAL_CHUNK, max(n_eval, n_train)) * (hidden + n_classes) * FLOAT
    return BASE + data + params + activations


def available_bytes(env: Mapping[str, str] | None = None, meminfo: str = "/proc/meminfo") -> tuple[int, str]:
    """(bytes, where they come from): the SLURM job's memory where it runs under SLURM, else the
    machine's available memory."""
    env = os.environ if env is None else env
    # 0 means no limit was given (SLURM's --mem=0: the node's whole memory): the machine's then
    if env.get("SLURM_MEM_PER_NODE", "0") != "0":
        return int(env["SLURM_MEM_PER_NODE"]) * 2**20, "given to this SLURM job (mem_mb)"
    if env.get("SLURM_MEM_PER_CPU", "0") != "0":
        cpus = int(env.get("SLURM_CPUS_ON_NODE", "1"))
        return int(env["SLURM_MEM_PER_CPU"]) * cpus * 2**20, "given to this SLURM job (mem_mb)"
    try:
        with open(meminfo) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available on this machine"
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "on this machine"


def check_memory(hidden: int, n_classes: int, n_train: int, n_eval: int = 10000, env: Mapping[str, str] | None = None, *, n_in: int) -> int:
    """The estimate (estimate_bytes); a MemoryLimitError, with the estimate in its message, where
    it exceeds available_bytes."""
    need = estimate_bytes(hidden, n_classes, n_train, n_eval, n_in=n_in)
    have, where = available_bytes(env)
    if need > have:
        raise MemoryLimitError(
            f"this job needs about {need / 2**30:.2f} GiB (estimated for hidden_init {hidden}, {n_train} training samples, "
            f"{n_classes} classes), more than the {have / 2**30:.2f} GiB {where}; lower hidden_init or give the job more memory"
        )
    return need
