"""The benchmarks. Each function returns a list of Result (see common.py) and prints its tables.

All comparisons are ratios of two timings taken in the same process, interleaved round by
round after untimed warm-up rounds (common.paired), at one torch thread (as the pipeline runs).
"""

from __future__ import annotations

import copy
import cProfile
import csv
import json
import pstats
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bdnn.config import load_config
from bdnn.data import Task, load_mnist, make_task
from bdnn.develop import develop
from bdnn.fitness import mean_weight, stability
from bdnn.model import PrunableMLP, build_model
from bdnn.pruning import importance, least_important, n_to_prune
from bdnn.train import Tensors, evaluate, make_generator, train_epoch
from bdnn.train import train as train_loop
from benchmarks.common import CONFIG, REPO, Result, Target, mnist_cache, paired, stats, table, timed
from benchmarks.masked import develop_masked


@dataclass
class Setup:
    """Sizes of a run: the real ones, or tiny ones for a smoke test (--quick)."""

    samples: int = 9600
    hidden: int = 1000
    reps_epoch: int = 5  # repetitions of one-epoch and one-iteration timings
    reps_develop: int = 3  # repetitions of whole developmental runs
    warmup: int = 1
    quick: bool = False

    @classmethod
    def quick_setup(cls) -> Setup:
        return cls(samples=600, hidden=60, reps_epoch=3, reps_develop=2, warmup=1, quick=True)


_CACHE: dict[str, Any] = {}


def config(setup: Setup) -> dict[str, Any]:
    """The default config, with hidden_init from the setup (1000 unless --quick)."""
    cfg = load_config(CONFIG)
    cfg["hidden_init"] = setup.hidden
    return cfg


def task(setup: Setup, seed: int = 0) -> Task:
    key = f"task-{setup.samples}-{seed}"
    if key not in _CACHE:
        if "mnist" not in _CACHE:
            _CACHE["mnist"] = load_mnist(mnist_cache())
        _CACHE[key] = make_task(_CACHE["mnist"], list(range(10)), setup.samples, seed)
    return _CACHE[key]


def _print(text: str) -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- 1. training throughput


def _bare_net(model: PrunableMLP) -> nn.Sequential:
    """The usual PyTorch model with the weights of `model`."""
    h, o = model.hidden, model.output
    net = nn.Sequential(nn.Linear(h.in_features, h.out_features), nn.Sigmoid(), nn.Linear(o.in_features, o.out_features), nn.Sigmoid())
    net.load_state_dict({"0.weight": h.weight, "0.bias": h.bias, "2.weight": o.weight, "2.bias": o.bias})
    return net


def _bare_epoch(net: nn.Module, opt: torch.optim.Optimizer, data: Tensors, batch_size: int, gen: torch.Generator) -> None:
    """One epoch the usual way: autograd, torch.optim.SGD, the same loss, the same shuffling."""
    perm = torch.randperm(len(data), generator=gen)
    xs, ts = data.x[perm], data.t[perm]
    for start in range(0, len(data), batch_size):
        opt.zero_grad()
        loss = 0.5 * (net(xs[start : start + batch_size]) - ts[start : start + batch_size]).pow(2).sum(1).mean()
        loss.backward()
        opt.step()


def _dataloader_epoch(net: nn.Module, opt: torch.optim.Optimizer, loader: Any) -> None:
    for xb, tb in loader:
        opt.zero_grad()
        loss = 0.5 * (net(xb) - tb).pow(2).sum(1).mean()
        loss.backward()
        opt.step()


def bench_throughput(setup: Setup) -> list[Result]:
    cfg = config(setup)
    lr, bs = cfg["lr"], cfg["batch_size"]
    t = task(setup)
    data = Tensors.of(t.train, t.n_classes, torch.device("cpu"))
    results = []
    for hidden in sorted({setup.hidden, max(2, setup.hidden // 10)}, reverse=True):
        torch.manual_seed(0)
        lib = PrunableMLP(784, hidden, t.n_classes)
        bare = _bare_net(lib)
        same = _bare_net(lib)  # for the equality check below
        opt = torch.optim.SGD(bare.parameters(), lr=lr)
        ds = torch.utils.data.TensorDataset(data.x, data.t)
        dl_net = _bare_net(lib)
        dl_opt = torch.optim.SGD(dl_net.parameters(), lr=lr)
        loader = torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=True, generator=make_generator(0, 9))

        # the same maths: one epoch each from the same weights and the same sample order
        check = copy.deepcopy(lib)
        train_epoch(check, data, lr, bs, make_generator(0, 1))
        _bare_epoch(same, torch.optim.SGD(same.parameters(), lr=lr), data, bs, make_generator(0, 1))
        diff = max(
            float((check.hidden.weight - same[0].weight).detach().abs().max()),
            float((check.output.weight - same[2].weight).detach().abs().max()),
        )

        g_lib, g_bare = make_generator(0, 2), make_generator(0, 2)
        times = paired(
            {
                "library": lambda lib=lib, data=data, g=g_lib: train_epoch(lib, data, lr, bs, g),
                "bare": lambda bare=bare, opt=opt, data=data, g=g_bare: _bare_epoch(bare, opt, data, bs, g),
                "bare_dataloader": lambda net=dl_net, opt=dl_opt, loader=loader: _dataloader_epoch(net, opt, loader),
            },
            reps=setup.reps_epoch,
            warmup=setup.warmup,
        )
        ratios = [a / b for a, b in zip(times["library"], times["bare"], strict=False)]
        n = len(data)
        rows = [[k, *stats(v).values(), n / statistics.median(v)] for k, v in times.items()]
        _print(
            table(
                ["loop", "median s", "min s", "max s", "samples/s"],
                rows,
                f"\n[1] one training epoch, 784-{hidden}-{t.n_classes}, batch {bs}, {n} samples",
            )
        )
        _print(
            f"    ratio library/bare: median {statistics.median(ratios):.3f} "
            f"(min {min(ratios):.3f}, max {max(ratios):.3f}); max |weight difference| after one epoch {diff:.2e}"
        )
        results.append(
            Result(
                name=f"train_epoch_784-{hidden}-{t.n_classes}",
                title=f"One training epoch ({n} samples, batch {bs}), library step vs autograd + torch.optim.SGD",
                metric="time ratio library / bare PyTorch",
                unit="ratio",
                values=ratios,
                target=Target("<=", 1.2),
                warmup=setup.warmup,
                details={
                    "seconds": {k: stats(v) for k, v in times.items()},
                    "seconds_values": times,
                    "samples_per_second_median": {k: n / statistics.median(v) for k, v in times.items()},
                    "ratio_library_over_bare_dataloader": stats(
                        [a / b for a, b in zip(times["library"], times["bare_dataloader"], strict=False)]
                    ),
                    "max_abs_weight_difference_after_one_epoch": diff,
                    "bare": "nn.Sequential(Linear, Sigmoid, Linear, Sigmoid), loss 0.5*sum((o-t)^2, 1).mean(), "
                    "zero_grad/backward/step, mini-batches sliced from a shuffled copy (as the library)",
                    "bare_dataloader": "the same with torch.utils.data.DataLoader(TensorDataset, shuffle=True) (information only)",
                },
            )
        )
    return results


# ------------------------------------------------------------------ 2. removal vs masking, whole run


def _curve_diff(lib: list[dict[str, Any]], other: list[dict[str, Any]]) -> dict[str, Any]:
    same_sizes = [r["hidden"] for r in lib] == [r["hidden"] for r in other]
    n = min(len(lib), len(other))
    da = [abs(lib[i]["A"] - other[i]["A"]) for i in range(n)]
    df = [abs(lib[i]["F"] - other[i]["F"]) for i in range(1, n)]
    worst = max(range(n), key=lambda i: da[i])
    return {
        "same_hidden_sizes": same_sizes,
        "iterations": [len(lib) - 1, len(other) - 1],
        "max_abs_A_difference": max(da),
        "at_hidden": lib[worst]["hidden"] if da[worst] > 0 else None,
        "max_abs_F_difference": max(df) if df else None,
        "iterations_with_A_difference": sum(d > 0 for d in da),
    }


def bench_develop(setup: Setup, with_torch_prune: bool = False) -> tuple[list[Result], dict[str, Any]]:
    cfg = config(setup)
    t = task(setup)
    seed = 0
    out: dict[str, Any] = {}

    def run_library():
        out["library"] = develop(t, cfg, seed)

    def run_masked():
        out["mask"] = develop_masked(t, cfg, seed, "mask")

    def run_torch_prune():
        out["torch_prune"] = develop_masked(t, cfg, seed, "torch_prune")

    # warm-up on a small network (the code paths, the allocator), then whole runs interleaved
    small = {**cfg, "hidden_init": 40}
    develop(t, small, seed), develop_masked(t, small, seed, "mask")
    if with_torch_prune:
        develop_masked(t, small, seed, "torch_prune")
    contenders = {"library (removal)": run_library, "mask (same step)": run_masked}
    if with_torch_prune:
        contenders["torch.nn.utils.prune + autograd"] = run_torch_prune
    times = paired(contenders, reps=setup.reps_develop, warmup=0)
    lib_curve = out["library"].curve
    lib_peak = out["library"].summary["hidden_at_peak"]
    rows = [[k, *stats(v).values()] for k, v in times.items()]
    _print(
        table(
            ["run", "median s", "min s", "max s"],
            rows,
            f"\n[2] whole developmental run: {cfg['hidden_init']} hidden -> {cfg['prune']['min_hidden']}, "
            f"{len(t.train)} samples, {t.n_classes} classes, seed {seed}",
        )
    )
    results = []
    comparisons = {"mask": "mask (same step)", "torch_prune": "torch.nn.utils.prune + autograd"}
    agreement = {}
    for key, label in comparisons.items():
        if label not in times:
            continue
        ratios = [a / b for a, b in zip(times["library (removal)"], times[label], strict=False)]
        diff = _curve_diff(lib_curve, out[key]["curve"])
        diff["hidden_at_F_peak"] = {"library": lib_peak, key: out[key]["summary"]["hidden_at_peak"]}
        agreement[key] = diff
        _print(
            f"    ratio library/{key}: median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}); "
            f"max |A difference| along the curve {diff['max_abs_A_difference']:.4f}"
            f"{'' if diff['at_hidden'] is None else ' (at {} hidden)'.format(diff['at_hidden'])}; "
            f"hidden at the F peak: library {lib_peak}, {key} {out[key]['summary']['hidden_at_peak']}"
        )
        results.append(
            Result(
                name=f"develop_removal_vs_{key}",
                title=f"Whole developmental run, physical removal vs {label}",
                metric=f"time ratio library / {key}",
                unit="ratio",
                values=ratios,
                target=Target("<=", 0.5),
                warmup=0,
                note="warm-up: one developmental run of each kind at 40 hidden neurons"
                + ("" if key == "mask" else "; this one also differs in the training step (autograd vs hand-written)"),
                details={
                    "seconds": {k: stats(v) for k, v in times.items()},
                    "seconds_values": times,
                    "curve_agreement": diff,
                    "hidden": cfg["hidden_init"],
                    "samples": len(t.train),
                    "iterations": len(lib_curve) - 1,
                },
            )
        )
    return results, {"library_seconds_median": statistics.median(times["library (removal)"]), "agreement": agreement}


# --------------------------------------------------- 3. evaluation and fitness overhead per iteration


def _iteration_parts(model: PrunableMLP, cfg: dict[str, Any], train: Tensors, test: Tensors, gen: torch.Generator) -> dict[str, float]:
    """One pruning iteration of bdnn.develop.develop (eval split = test), piece by piece."""
    p = cfg["prune"]
    parts: dict[str, float] = {}

    def part(name: str, fn):
        dt, res = timed(fn)
        parts[name] = parts.get(name, 0.0) + dt
        return res

    n = n_to_prune(model.n_hidden, p)
    drop = part("importance + choice (Eq. 1)", lambda: least_important(importance(model), n))
    part("removal", lambda: model.remove_hidden(drop))
    w_p = part("S: copy of the weights before retraining", lambda: model.connection_weights())
    # bdnn.train.train: the epoch, its running loss/accuracy (the curve's train columns) and the finite check
    part("retraining (1 epoch)", lambda: train_loop(model, train, cfg["lr"], cfg["batch_size"], 1, gen, "x"))
    part("A: test-set forward pass", lambda: evaluate(model, test))
    part("E (both readings)", lambda: (mean_weight(model, "per_connection"), mean_weight(model, "printed")))
    part(
        "S (both readings)",
        lambda: (lambda w_r: (stability(w_p, w_r, "normalized"), stability(w_p, w_r, "raw")))(model.connection_weights()),
    )
    return parts


OVERHEAD_NAMED = (
    "importance + choice (Eq. 1)",
    "A: test-set forward pass",
    "E (both readings)",
    "S (both readings)",
    "S: copy of the weights before retraining",
)


def bench_overhead(setup: Setup) -> list[Result]:
    cfg = config(setup)
    t = task(setup)
    cpu = torch.device("cpu")
    train, test = Tensors.of(t.train, t.n_classes, cpu), Tensors.of(t.test, t.n_classes, cpu)
    base = build_model(cfg, t.n_classes, 0, cpu)
    gen = make_generator(0, 0)
    train_epoch(base, train, cfg["lr"], cfg["batch_size"], gen)  # weights after some training
    all_parts: list[dict[str, float]] = []
    for r in range(setup.warmup + setup.reps_epoch):
        model = copy.deepcopy(base)
        parts = _iteration_parts(model, cfg, train, test, gen)
        if r >= setup.warmup:
            all_parts.append(parts)
    totals = [sum(p.values()) for p in all_parts]
    train_key = "retraining (1 epoch)"
    shares = [(tot - p[train_key]) / tot for p, tot in zip(all_parts, totals, strict=False)]
    named = [sum(p[k] for k in OVERHEAD_NAMED) / tot for p, tot in zip(all_parts, totals, strict=False)]
    rows = []
    for k in all_parts[0]:
        v = [p[k] for p in all_parts]
        rows.append(
            [k, statistics.median(v) * 1e3, statistics.median([p[k] / tot for p, tot in zip(all_parts, totals, strict=False)]) * 100]
        )
    rows.append(["whole iteration", statistics.median(totals) * 1e3, 100.0])
    _print(
        table(
            ["part", "median ms", "% of iteration"],
            rows,
            f"\n[3] one pruning iteration at {cfg['hidden_init']} hidden (-> "
            f"{cfg['hidden_init'] - n_to_prune(cfg['hidden_init'], cfg['prune'])}), "
            f"{len(train)} training samples, {len(test)} test samples",
        )
    )
    _print(
        f"    everything but retraining: median {statistics.median(shares) * 100:.1f}% "
        f"(min {min(shares) * 100:.1f}%, max {max(shares) * 100:.1f}%); "
        f"test forward + importance + S + E alone: {statistics.median(named) * 100:.1f}%"
    )
    details = {
        "parts_ms_median": {k: statistics.median([p[k] for p in all_parts]) * 1e3 for k in all_parts[0]},
        "parts_share_median": {k: statistics.median([p[k] / tot for p, tot in zip(all_parts, totals, strict=False)]) for k in all_parts[0]},
        "iteration_seconds": stats(totals),
        # the floor while A needs a full test-set pass per retraining epoch
        "test_pass_over_epoch_plus_test_pass": stats(
            [p["A: test-set forward pass"] / (p[train_key] + p["A: test-set forward pass"]) for p in all_parts]
        ),
        "parts_seconds_values": all_parts,
    }
    title = f"one pruning iteration ({cfg['hidden_init']} hidden, {len(train)} samples)"
    return [
        Result(
            name="iteration_overhead_share_named",
            title=f"Test-set forward pass, importance, S and E as a share of {title}",
            metric="share of the iteration's time: test forward + importance/choice + S (with its weight copy) + E",
            unit="fraction",
            values=named,
            target=Target("<", 0.20),
            warmup=setup.warmup,
            note="the overhead as the issue lists it; see iteration_overhead_share for everything outside retraining",
            details=details,
        ),
        Result(
            name="iteration_overhead_share",
            title=f"Everything but the retraining epoch as a share of {title}",
            metric="share of the iteration's time outside retraining",
            unit="fraction",
            values=shares,
            target=Target("<", 0.20),
            warmup=setup.warmup,
            note="also counts the removal",
            details=details,
        ),
    ]


# ------------------------------------------------------------------------------------- 4. the sweep


def _read_tsvs(pattern: str) -> list[dict[str, Any]]:
    rows = []
    for path in sorted((REPO / "results" / "benchmarks").glob(pattern)):
        with open(path) as fh:
            for rec in csv.DictReader(fh, delimiter="\t"):
                rows.append(
                    {
                        "job": str(path.relative_to(REPO / "results" / "benchmarks").with_suffix("")),
                        "s": float(rec["s"]),
                        "max_rss": float(rec["max_rss"]) if rec["max_rss"] not in ("", "NA", "-") else None,
                    }
                )
    return rows


def bench_sweep(setup: Setup) -> list[Result]:
    jobs = _read_tsvs("develop/**/*.tsv") + _read_tsvs("transfer/*.tsv")
    sweep_file = REPO / "benchmarks" / "sweep.json"
    results: list[Result] = []
    if sweep_file.is_file():
        sweep = json.loads(sweep_file.read_text())
        wall = float(sweep["wall_seconds"])
        results.append(
            Result(
                name="sweep_wall_time",
                title="Whole sweep (make reproduce), wall time",
                metric="wall time of the whole sweep",
                unit="min",
                values=[wall / 60],
                target=Target("<=", 15, "min"),
                note=f"one measurement, from benchmarks/sweep.json ({sweep.get('source', 'no source given')})",
                details=sweep,
            )
        )
    else:
        results.append(
            Result(
                name="sweep_wall_time",
                title="Whole sweep (make reproduce), wall time",
                metric="wall time of the whole sweep",
                unit="min",
                target=Target("<=", 15, "min"),
                skipped=True,
                note="benchmarks/sweep.json is missing: record a sweep with "
                "`/usr/bin/time -v make reproduce 2>&1 | tee /tmp/reproduce.log` and "
                "`python -m benchmarks.record_sweep /tmp/reproduce.log`",
            )
        )
    rss = [j["max_rss"] for j in jobs if j["max_rss"] is not None]
    if rss:
        worst = max((j for j in jobs if j["max_rss"] is not None), key=lambda j: j["max_rss"])
        slowest = max(jobs, key=lambda j: j["s"])
        dev = [j for j in jobs if j["job"].startswith("develop")]
        results.append(
            Result(
                name="sweep_peak_memory_per_job",
                title="Peak memory (max_rss) per develop/transfer job of the last sweep",
                metric="max_rss per job (Snakemake benchmark files)",
                unit="MiB",
                values=rss,
                target=Target("<=", 1024, "MiB"),
                target_on="max",
                note="median/min/max over the jobs; the target (1 GB) applies to the largest",
                details={
                    "jobs": len(jobs),
                    "largest_job": worst,
                    "slowest_job": slowest,
                    "job_seconds": stats([j["s"] for j in jobs]),
                    "job_seconds_sum": sum(j["s"] for j in jobs),
                    "develop_seconds_by_samples": _by_samples(dev),
                },
            )
        )
        _print(
            table(
                ["jobs", "sum of job s", "slowest job", "slowest s", "max max_rss MiB", "at"],
                [[len(jobs), sum(j["s"] for j in jobs), slowest["job"], slowest["s"], worst["max_rss"], worst["job"]]],
                "\n[4] the last sweep (results/benchmarks/**/*.tsv)",
            )
        )
    else:
        results.append(
            Result(
                name="sweep_peak_memory_per_job",
                title="Peak memory (max_rss) per develop/transfer job of the last sweep",
                metric="max_rss per job",
                unit="MiB",
                target=Target("<=", 1024, "MiB"),
                target_on="max",
                skipped=True,
                note="no Snakemake benchmark files under results/benchmarks/ (run `make reproduce` first)",
            )
        )
    if results[0].skipped:
        _print(f"\n[4] sweep wall time skipped: {results[0].note}")
    else:
        _print(f"    sweep wall time {results[0].values[0]:.1f} min (target <= 15 min)")
    return results


def _by_samples(jobs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[float]] = {}
    for j in jobs:
        parts = j["job"].split("/")  # develop/<classes>/<samples>/seed<k>
        groups.setdefault(f"{parts[1]}/{parts[2]}", []).append(j["s"])
    return {k: stats(v) for k, v in sorted(groups.items(), key=lambda kv: (kv[0].split("/")[0], int(kv[0].split("/")[1])))}


# -------------------------------------------------------------------------------------- 5. CUDA


def bench_cuda(setup: Setup, cpu_seconds: float | None) -> list[Result]:
    name, title = "develop_cuda", "Whole developmental run on CUDA"
    if not torch.cuda.is_available():
        _print("\n[5] CUDA: skipped, torch.cuda.is_available() is False on this machine")
        return [
            Result(
                name=name,
                title=title,
                metric="seconds per developmental run",
                unit="s",
                skipped=True,
                note="skipped: no CUDA device (torch.cuda.is_available() is False)",
            )
        ]
    cfg = config(setup)
    t = task(setup)
    dev = torch.device("cuda")
    develop(t, {**cfg, "hidden_init": 40}, 0, dev)  # warm-up: context, kernels
    secs = []
    res = None
    for _ in range(setup.reps_develop):
        dt, res = timed(lambda: develop(t, cfg, 0, dev), dev)
        secs.append(dt)
    _print(
        table(
            ["device", "median s", "min s", "max s"],
            [[torch.cuda.get_device_name(0), *stats(secs).values()]],
            "\n[5] whole developmental run on CUDA",
        )
    )
    return [
        Result(
            name=name,
            title=title,
            metric="seconds per developmental run",
            unit="s",
            values=secs,
            warmup=1,
            details={
                "device": torch.cuda.get_device_name(0),
                "hidden_at_peak": res.summary["hidden_at_peak"],
                "cpu_library_seconds_median_same_run": cpu_seconds,
                "speedup_over_cpu": (cpu_seconds / statistics.median(secs)) if cpu_seconds else None,
            },
        )
    ]


# -------------------------------------------------------------------------------------- profile

PROFILE_GROUPS = {  # (file suffix, function) -> group; cumulative times, so no group may contain another
    ("bdnn/train.py", "sgd_step"): "training: SGD steps",
    ("bdnn/train.py", "evaluate"): "evaluation: forward passes (evaluation split)",
    ("bdnn/fitness.py", "stability"): "fitness: S",
    ("bdnn/fitness.py", "mean_weight"): "fitness: E",
    ("bdnn/pruning.py", "importance"): "pruning: importance",
    ("bdnn/pruning.py", "least_important"): "pruning: choice",
    ("bdnn/model.py", "remove_hidden"): "pruning: removal",
    ("bdnn/model.py", "connection_weights"): "fitness: weight vectors for S",
    ("bdnn/train.py", "check_finite"): "finite checks",
    ("bdnn/train.py", "of"): "data to tensors",
    ("bdnn/model.py", "build_model"): "initialisation",
}


def profile_develop(setup: Setup) -> dict[str, Any]:
    """cProfile of one whole developmental run; time grouped by what it is spent on."""
    cfg = config(setup)
    t = task(setup)
    develop(t, {**cfg, "hidden_init": 40}, 0)  # warm-up
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    res = develop(t, cfg, 0)
    prof.disable()
    wall = time.perf_counter() - t0
    st = pstats.Stats(prof)
    raw = st.stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
    groups: dict[str, float] = {}
    calls: dict[str, int] = {}
    total = next(ct for (f, _, fn), (_, _, _, ct, _) in raw.items() if f.endswith("bdnn/develop.py") and fn == "develop")
    for (f, _, fn), (_, nc, _, ct, _) in raw.items():
        for (suffix, name), group in PROFILE_GROUPS.items():
            if f.endswith(suffix) and fn == name:
                groups[group] = groups.get(group, 0.0) + ct
                calls[group] = calls.get(group, 0) + nc
    # train_epoch minus its steps: the per-epoch shuffle and copy, the Python loop
    epoch_ct = sum(ct for (f, _, fn), (_, _, _, ct, _) in raw.items() if f.endswith("bdnn/train.py") and fn == "train_epoch")
    groups["training: shuffle, slicing, loop"] = epoch_ct - groups.get("training: SGD steps", 0.0)
    groups["other (curve rows, best-state copies, ...)"] = total - sum(groups.values())
    op_rows = sorted(((tt, nc, fn, f) for (f, _, fn), (_, nc, tt, _, _) in raw.items()), reverse=True)[:12]
    _print(
        table(
            ["where", "seconds", "share %", "calls"],
            [[g, s, 100 * s / total, calls.get(g, "")] for g, s in sorted(groups.items(), key=lambda kv: -kv[1])],
            f"\n[profile] one developmental run under cProfile ({wall:.1f} s wall, {res.summary['iterations']} iterations)",
        )
    )
    _print(
        table(
            ["function / torch op (own time)", "seconds", "share %", "calls"],
            [[fn if f == "~" else f"{Path(f).name}:{fn}", tt, 100 * tt / total, nc] for tt, nc, fn, f in op_rows],
        )
    )
    epochs = cfg["initial_epochs"] + res.summary["iterations"] * cfg["retrain_epochs"]
    return {
        "tool": "cProfile",
        "wall_seconds_profiled": wall,
        "develop_cumulative_seconds": total,
        "iterations": res.summary["iterations"],
        "epochs": epochs,
        "groups_seconds": groups,
        "groups_share": {g: s / total for g, s in groups.items()},
        "top_own_time": [
            {"function": fn if f == "~" else f"{Path(f).name}:{fn}", "seconds": tt, "share": tt / total, "calls": nc}
            for tt, nc, fn, f in op_rows
        ],
        "initial_training_share": res.curve[0]["seconds"] / sum(r["seconds"] for r in res.curve),
    }
