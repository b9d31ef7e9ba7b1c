"""`python -m benchmarks.extras [--reps N] [--out PATH]`: measurements behind the proposals in
benchmarks/README.md (what a change to bdnn would save). Not part of `make bench`; changes nothing
in bdnn (the variants are patched in for the measurement only).

1. A whole developmental run with and without the train-set forward pass of measure()
   (the curve's train_acc / train_loss columns; F does not use them).
2. One epoch of the library's step vs the same step also accumulating the running training loss
   and accuracy of the epoch (what would replace that pass).
3. Small copies and conversions per iteration at 1000 hidden: the `.clone()` after
   connection_weights() (torch.cat already copies), stability() computed twice (each converting
   both vectors to float64), mean_weight() twice.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import torch

import bdnn.develop
from bdnn.develop import build_model, develop
from bdnn.fitness import mean_weight, stability
from bdnn.train import Tensors, evaluate, make_generator, train_epoch

from benchmarks.common import loadavg, machine, paired, stats, table
from benchmarks.suite import Setup, config, task


def _no_train_pass(train_data_ref: dict):
    def ev(model, data, chunk: int = 20000):
        if data is train_data_ref.get("train"):
            return float("nan"), float("nan")
        return evaluate(model, data, chunk)
    return ev


def develop_without_train_pass(t, cfg, seed):
    """bdnn.develop.develop with measure()'s evaluate(model, train_data) skipped."""
    ref: dict = {}
    real_of = Tensors.of

    def of(split, n_classes, device):
        out = real_of(split, n_classes, device)
        if split is t.train:
            ref["train"] = out
        return out

    with mock.patch.object(bdnn.develop.Tensors, "of", side_effect=of), mock.patch.object(bdnn.develop, "evaluate", _no_train_pass(ref)):
        return develop(t, cfg, seed)


@torch.no_grad()
def step_with_running_metrics(model, xb, tb, yb, lr, acc):
    """bdnn.train.sgd_step that also adds the batch's loss and correct count to acc (tensors)."""
    w1, b1 = model.hidden.weight, model.hidden.bias
    w2, b2 = model.output.weight, model.output.bias
    h = torch.addmm(b1, xb, w1.t()).sigmoid_()
    o = torch.addmm(b2, h, w2.t()).sigmoid_()
    diff = o - tb
    acc[0] += diff.square().sum()
    acc[1] += (o.argmax(1) == yb).sum()
    d2 = diff.mul_(o).mul_(1.0 - o).div_(xb.shape[0])
    d1 = torch.mm(d2, w2).mul_(h).mul_(1.0 - h)
    w2.addmm_(d2.t(), h, alpha=-lr)
    b2.sub_(d2.sum(0), alpha=lr)
    w1.addmm_(d1.t(), xb, alpha=-lr)
    b1.sub_(d1.sum(0), alpha=lr)


def epoch_with_running_metrics(model, data, lr, batch_size, gen):
    perm = torch.randperm(len(data), generator=gen)
    xs, ts, ys = data.x.index_select(0, perm), data.t.index_select(0, perm), data.y.index_select(0, perm)
    acc = [torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.int64)]
    for s in range(0, len(data), batch_size):
        step_with_running_metrics(model, xs[s : s + batch_size], ts[s : s + batch_size], ys[s : s + batch_size], lr, acc)
    return 0.5 * float(acc[0]) / len(data), int(acc[1]) / len(data)


def micro(fn, n: int = 200) -> float:
    """Median seconds of fn over n calls (after 10 untimed)."""
    for _ in range(10):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.extras", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "extras.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    setup = Setup()
    cfg, t = config(setup), task(setup)
    doc = {"machine": machine(), "loadavg_start": loadavg()}

    # 1. whole run without the train-set pass
    develop(t, {**cfg, "hidden_init": 40}, 0), develop_without_train_pass(t, {**cfg, "hidden_init": 40}, 0)
    out = {}
    times = paired({"library": lambda: out.__setitem__("lib", develop(t, cfg, 0)),
                    "without train-set pass": lambda: out.__setitem__("no", develop_without_train_pass(t, cfg, 0))},
                   reps=args.reps, warmup=0)
    same = all(a["A"] == b["A"] and a["F"] == b["F"] for a, b in zip(out["lib"].curve, out["no"].curve))
    r = [b / a for a, b in zip(times["library"], times["without train-set pass"])]
    print(table(["run", "median s", "min s", "max s"], [[k, *stats(v).values()] for k, v in times.items()],
                "[1] whole developmental run (1000 hidden, 9,600 samples)"))
    print(f"    ratio without/with: median {statistics.median(r):.3f} (min {min(r):.3f}, max {max(r):.3f}); "
          f"A and F identical along the curve: {same}")
    doc["develop_without_train_pass"] = {"seconds": {k: stats(v) for k, v in times.items()}, "ratio_without_over_with": stats(r),
                                         "values": times, "A_and_F_identical": same}

    # 2. running metrics in the epoch
    cpu = torch.device("cpu")
    data = Tensors.of(t.train, t.n_classes, cpu)
    m1, m2 = build_model(cfg, t.n_classes, 0, cpu), build_model(cfg, t.n_classes, 0, cpu)
    g1, g2 = make_generator(0, 0), make_generator(0, 0)
    times = paired({"library epoch": lambda: train_epoch(m1, data, cfg["lr"], cfg["batch_size"], g1),
                    "epoch + running loss/acc": lambda: epoch_with_running_metrics(m2, data, cfg["lr"], cfg["batch_size"], g2)},
                   reps=5, warmup=1)
    same_w = bool(torch.equal(m1.hidden.weight, m2.hidden.weight))
    eval_s = statistics.median([timed_eval(m1, data) for _ in range(5)])
    r = [b / a for a, b in zip(times["library epoch"], times["epoch + running loss/acc"])]
    print(table(["loop", "median s", "min s", "max s"], [[k, *stats(v).values()] for k, v in times.items()],
                "\n[2] one epoch at 1000 hidden, 9,600 samples"))
    print(f"    ratio: median {statistics.median(r):.3f} (min {min(r):.3f}, max {max(r):.3f}); extra per epoch "
          f"{(statistics.median(times['epoch + running loss/acc']) - statistics.median(times['library epoch'])) * 1e3:.1f} ms "
          f"vs {eval_s * 1e3:.0f} ms for evaluate(model, train_data); same weights: {same_w}")
    doc["running_metrics_epoch"] = {"seconds": {k: stats(v) for k, v in times.items()}, "ratio": stats(r),
                                    "train_pass_seconds_median": eval_s, "same_weights": same_w}

    # 3. small copies per iteration at 1000 hidden
    model = build_model(cfg, t.n_classes, 0, cpu)
    w_p = model.connection_weights().clone()
    with torch.no_grad():
        w_r = w_p + 1e-3 * torch.randn_like(w_p)
    rows = {
        "connection_weights()": micro(lambda: model.connection_weights()),
        "connection_weights().clone()": micro(lambda: model.connection_weights().clone()),
        "stability normalized + raw (as measure())": micro(lambda: (stability(w_p, w_r, "normalized"), stability(w_p, w_r, "raw")), 50),
        "stability normalized only": micro(lambda: stability(w_p, w_r, "normalized"), 50),
        "mean_weight per_connection + printed": micro(lambda: (mean_weight(model, "per_connection"), mean_weight(model, "printed"))),
        "mean_weight once": micro(lambda: mean_weight(model, "per_connection")),
    }
    print(table(["operation (1000 hidden)", "median ms"], [[k, v * 1e3] for k, v in rows.items()], "\n[3] per-iteration copies"))
    doc["micro_ms"] = {k: v * 1e3 for k, v in rows.items()}
    doc["loadavg_end"] = loadavg()
    args.out.write_text(json.dumps(doc, indent=1, default=float) + "\n")
    print(f"\nwritten {args.out}")
    return 0


def timed_eval(model, data) -> float:
    t0 = time.perf_counter()
    evaluate(model, data)
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
