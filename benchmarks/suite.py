"""The benchmarks that time the method: each returns a list of Result and prints its table.

Comparisons are ratios of two timings taken in the same process, interleaved round by round after
untimed warm-up rounds (common.paired), at the torch threads main() sets (1 by default).
"""

from __future__ import annotations

import copy
import functools
import os
import statistics
from dataclasses import dataclass
from typing import Any

import torch

from bdnn.data.store import load_mnist
from bdnn.data.tasks import Task, make_task
from bdnn.method.develop import DevelopData, DevelopResult, develop
from bdnn.method.model import PrunableMLP, initial_network
from bdnn.method.settings import DevelopSettings
from bdnn.method.sgd import Tensors, train_epoch
from bdnn.method.streams import Stream, torch_generator
from bdnn.pipeline.checks import validation_size
from bdnn.pipeline.config import load_config
from bdnn.pipeline.settings import develop_settings
from benchmarks.common import REPO, Result, Target, paired, ratios, say, seconds, stats, table, timed, times_table
from benchmarks.masked import MaskedEq1, MaskedMLP

CONFIG = REPO / "config" / "config.yaml"
Context = dict[str, Any]  # what one benchmark leaves for a later one (the CPU run's time for CUDA)


@dataclass
class Setup:
    """The sizes of a run: the real ones, or tiny ones for a smoke test (--quick)."""

    samples: int = 9600
    widths: tuple[int, ...] = (1000, 100)  # throughput
    hidden: int = 1000  # the developmental runs
    warmup_hidden: int = 40  # their warm-up runs
    sgemm_widths: tuple[int, ...] = (100, 300, 1000)
    reps: int = 5  # epochs and products
    reps_develop: int = 3  # whole developmental runs
    warmup: int = 1
    quick: bool = False

    @classmethod
    def quick_setup(cls) -> Setup:
        return cls(600, (60, 10), 60, 20, (10, 30, 60), reps=2, reps_develop=1, quick=True)


@functools.cache
def config() -> dict[str, Any]:
    return load_config(CONFIG)


@functools.cache
def settings() -> DevelopSettings:
    return develop_settings(config())


@functools.cache
def task(samples: int, seed: int = 0) -> Task:
    cache = REPO / os.environ.get("BDNN_MNIST", "resources/mnist.npz")
    return make_task(load_mnist(cache), list(range(10)), samples, seed, validation_size(config()))


def develop_data(setup: Setup, device: torch.device | str = "cpu") -> DevelopData:
    t = task(setup.samples)
    val = None if t.validation is None else t.validation.arrays()
    return DevelopData.of(t.n_classes, t.train.arrays(), t.test.arrays(), val, config()["fitness"]["eval_split"], device)


def network(setup: Setup, hidden: int, device: torch.device | str = "cpu") -> PrunableMLP:
    t = task(setup.samples)
    return initial_network(t.train.x.shape[1], hidden, t.n_classes, settings().network.init, 0, device)


def order() -> torch.Generator:
    return torch_generator(0, Stream.ORDER)


# ------------------------------------------------------------------- throughput: SGD vs autograd


def autograd_epoch(net: PrunableMLP, opt: torch.optim.Optimizer, data: Tensors, batch_size: int, gen: torch.Generator) -> None:
    """One epoch the usual way: autograd and torch.optim.SGD, the same loss, the same shuffling."""
    perm = torch.randperm(len(data), generator=gen)
    xs, ts = data.x.index_select(0, perm), data.t.index_select(0, perm)
    for start in range(0, len(data), batch_size):
        opt.zero_grad()
        loss = 0.5 * (net(xs[start : start + batch_size]) - ts[start : start + batch_size]).pow(2).sum(1).mean()
        loss.backward()
        opt.step()


def _throughput_at(setup: Setup, hidden: int, data: Tensors) -> Result:
    lr, bs = settings().training.lr, settings().training.batch_size
    lib = network(setup, hidden)
    bare, check, check_bare = copy.deepcopy(lib), copy.deepcopy(lib), copy.deepcopy(lib)
    opt = torch.optim.SGD(bare.parameters(), lr=lr)
    train_epoch(check, data, lr, bs, order())  # the same maths: one epoch each from the same weights and order
    autograd_epoch(check_bare, torch.optim.SGD(check_bare.parameters(), lr=lr), data, bs, order())
    diff = max(float((p - q).detach().abs().max()) for p, q in zip(check.parameters(), check_bare.parameters(), strict=True))
    g_lib, g_bare = order(), order()
    contenders = {"library": lambda: train_epoch(lib, data, lr, bs, g_lib), "autograd": lambda: autograd_epoch(bare, opt, data, bs, g_bare)}
    times = paired(contenders, setup.reps, setup.warmup)
    shape, r = f"{lib.n_in}-{hidden}-{lib.n_out}", ratios(times["library"], times["autograd"])
    say(times_table(times, f"\n[throughput] one epoch, {shape}, batch {bs}, {len(data)} samples"))
    say(f"    library / autograd: median {statistics.median(r):.3f}; max |weight difference| after one epoch {diff:.2e}")
    title = f"One epoch ({len(data)} samples, batch {bs}), hand-written SGD step vs autograd + torch.optim.SGD"
    details = {"seconds": seconds(times), "max_abs_weight_difference_after_one_epoch": diff}
    return Result(f"train_epoch_{shape}", title, "ratio", r, Target("<=", 1.2), details=details, ok=diff < 1e-4)


def train_tensors(setup: Setup) -> Tensors:
    t = task(setup.samples)
    return Tensors.of(*t.train.arrays(), t.n_classes)


def bench_throughput(setup: Setup, ctx: Context) -> list[Result]:
    return [_throughput_at(setup, hidden, train_tensors(setup)) for hidden in setup.widths]


# ------------------------------------------------------------- develop: physical removal vs masking


def run(setup: Setup, data: DevelopData, hidden: int, masked: bool, device: torch.device | str = "cpu") -> DevelopResult:
    """One whole developmental run of the default config, seed 0: bdnn.method.develop.develop on
    the library's network, or (masked) on a MaskedMLP with Eq. 1 over its alive neurons."""
    net = network(setup, hidden, device)
    if masked:
        return develop(MaskedMLP(net), data, settings(), order(), criterion=MaskedEq1())
    return develop(net, data, settings(), order())


def _agreement(lib: DevelopResult, masked: DevelopResult) -> dict[str, Any]:
    a, b = lib.curve, masked.curve
    return {
        "same_hidden_sizes": [r["hidden"] for r in a] == [r["hidden"] for r in b],
        "iterations": [len(a) - 1, len(b) - 1],
        "max_abs_A_difference": max(abs(x["A"] - y["A"]) for x, y in zip(a, b, strict=False)),
        "max_abs_S_difference": max(abs(x["S"] - y["S"]) for x, y in zip(a[1:], b[1:], strict=False)),
        "hidden_at_F_peak": [lib.summary["hidden_at_peak"], masked.summary["hidden_at_peak"]],
    }


def bench_develop(setup: Setup, ctx: Context) -> list[Result]:
    data = develop_data(setup)
    out: dict[str, DevelopResult] = {}
    for masked in (False, True):  # warm-up: the code paths and the allocator, on a small network
        run(setup, data, setup.warmup_hidden, masked)

    def contender(key: str, masked: bool):
        return lambda: out.__setitem__(key, run(setup, data, setup.hidden, masked))

    times = paired({"removal": contender("removal", False), "masking": contender("masking", True)}, setup.reps_develop, 0)
    agree = _agreement(out["removal"], out["masking"])
    ctx["cpu_develop_seconds"] = statistics.median(times["removal"])
    r = ratios(times["removal"], times["masking"])
    what = f"{setup.hidden} -> {settings().prune.min_hidden} hidden, {len(data.train)} samples, seed 0"
    say(times_table(times, f"\n[develop] whole developmental run, {what}"))
    say(f"    removal / masking: median {statistics.median(r):.3f}; " + ", ".join(f"{k} {v}" for k, v in agree.items()))
    title = f"Whole developmental run (develop(), {what}), physical removal vs masking (MaskedMLP)"
    details = {"seconds": seconds(times), "agreement": agree}
    note = f"warm-up: one run of each at {setup.warmup_hidden} hidden"
    ok = agree["same_hidden_sizes"]
    return [Result("develop_removal_vs_masking", title, "ratio", r, Target("<=", 0.5), note=note, details=details, ok=ok)]


# ----------------------------------------------------------------------- efficiency: vs sgemm


def _products(n: int, n_in: int, hidden: int, n_out: int) -> tuple[Any, float]:
    """The matrix products of one epoch of sgd_step (forward, backward, updates), each done once
    over all n samples as one torch.mm; and their FLOPs (the epoch's, the same)."""
    x, w1, w2 = torch.rand(n, n_in), torch.rand(hidden, n_in), torch.rand(n_out, hidden)
    h, o, d2 = torch.empty(n, hidden), torch.empty(n, n_out), torch.rand(n, n_out)
    g1, g2 = torch.empty(hidden, n_in), torch.empty(n_out, hidden)

    def epoch() -> None:
        torch.mm(x, w1.t(), out=h)  # hidden pre-activations
        torch.mm(h, w2.t(), out=o)  # output pre-activations
        torch.mm(d2, w2, out=h)  # d loss / d hidden
        torch.mm(d2.t(), h, out=g2)  # output weights' update
        torch.mm(h.t(), x, out=g1)  # hidden weights' update

    return epoch, 2.0 * n * (2 * n_in * hidden + 3 * hidden * n_out)


def _efficiency_at(setup: Setup, hidden: int, data: Tensors) -> Result:
    lr, bs = settings().training.lr, settings().training.batch_size
    lib, gen = network(setup, hidden), order()
    mm, flops = _products(len(data), data.x.shape[1], hidden, lib.n_out)
    times = paired({"epoch": lambda: train_epoch(lib, data, lr, bs, gen), "sgemm": mm}, setup.reps, setup.warmup)
    eff, med = ratios(times["sgemm"], times["epoch"]), {k: statistics.median(v) for k, v in times.items()}
    rate = {k: flops / v / 1e9 for k, v in med.items()}
    shape = f"{lib.n_in}-{hidden}-{lib.n_out}"
    say(table(["", "median s", "GFLOP/s"], [[k, med[k], rate[k]] for k in times], f"    {shape}: efficiency {statistics.median(eff):.3f}"))
    title = f"One epoch (batch {bs}) against its matrix products as full-batch torch.mm (sgemm time / epoch time)"
    details = {"seconds": seconds(times), "gflop_per_s_median": rate, "gflop_per_epoch": flops / 1e9}
    return Result(f"sgemm_efficiency_{shape}", title, "fraction", eff, Target(">=", 0.5) if hidden >= 1000 else Target(), details=details)


def bench_efficiency(setup: Setup, ctx: Context) -> list[Result]:
    data = train_tensors(setup)
    say(f"\n[efficiency] one epoch ({len(data)} samples) vs this machine's sgemm on the same FLOPs")
    return [_efficiency_at(setup, hidden, data) for hidden in setup.sgemm_widths]


# -------------------------------------------------------------------------------------- CUDA


def bench_cuda(setup: Setup, ctx: Context) -> list[Result]:
    name, title = "develop_cuda", "Whole developmental run (develop(), physical removal) on CUDA"
    if not torch.cuda.is_available():
        say("\n[cuda] skipped: no CUDA device (torch.cuda.is_available() is False)")
        return [Result(name=name, title=title, unit="s", note="skipped: no CUDA device")]
    dev = torch.device("cuda")
    data = develop_data(setup, dev)
    run(setup, data, setup.warmup_hidden, False, dev)  # warm-up: the context, the kernels
    secs = [timed(lambda: run(setup, data, setup.hidden, False, dev), dev) for _ in range(setup.reps_develop)]
    cpu = ctx.get("cpu_develop_seconds")
    speedup = cpu / statistics.median(secs) if cpu else None
    gpu = torch.cuda.get_device_name(0)
    say(table(["device", "median s", "min s", "max s", "speed-up over CPU"], [[gpu, *stats(secs).values(), speedup]], "\n[cuda]"))
    return [Result(name=name, title=title, unit="s", values=secs, details={"device": gpu, "speedup_over_cpu_run": speedup})]
