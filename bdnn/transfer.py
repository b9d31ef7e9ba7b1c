"""The transfer experiment of docs/method.md (Fig. 4B/C) and its controls: one network per job
(the developed one, or a control), trained on unseen samples; and the files a transfer run writes."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bdnn.config import ConfigError, validation_size
from bdnn.data import MNIST, Split, Task, make_split, make_task, new_samples, rng_for, stratified_indices
from bdnn.develop import develop
from bdnn.files import write_csv, write_json
from bdnn.layout import NETWORKS, TASK_NETWORKS, TRANSFER_COLUMNS, TRANSFER_FILES
from bdnn.model import PrunableMLP, build_model
from bdnn.train import Tensors, check_finite, eval_tensors, evaluate, make_generator, stream_seed, train_epoch

# Random streams of the controls (seed streams 0-2 belong to the develop run and the transfer).
SCRATCH_STREAM, RANDOM_STREAM = 3, 4

Log = Callable[[str], None]


@dataclass
class TransferResult:
    rows: list[dict[str, Any]]
    summary: dict[str, Any]

    def save(self, out: str | Path, cfg: Mapping[str, Any], identity: Mapping[str, Any], runtime: Mapping[str, Any]) -> None:
        """Write the run's files into `out` (names: bdnn.layout.TRANSFER_FILES), each atomically."""
        out = Path(out)
        write_csv(out / TRANSFER_FILES["table"], [{"seed": identity["seed"], **r} for r in self.rows], TRANSFER_COLUMNS)
        write_json(out / TRANSFER_FILES["summary"], {**identity, **self.summary, "config": cfg, **runtime})


def match_accuracy(
    train_data: Tensors,
    eval_data: Tensors,
    n_classes: int,
    cfg: Mapping[str, Any],
    seed: int,
    target: float,
    device: torch.device,
    log: Log | None = None,
) -> tuple[PrunableMLP, dict[str, Any]]:
    """Train the un-pruned network (same init and sample order as the develop run) epoch by
    epoch until its evaluation accuracy first reaches `target`, at most `transfer.max_epochs`."""
    model = build_model(cfg, n_classes, seed, device)
    gen = make_generator(seed, 0)
    acc, epochs = 0.0, 0
    while epochs < cfg["transfer"]["max_epochs"]:
        train_epoch(model, train_data, cfg["lr"], cfg["batch_size"], gen)
        epochs += 1
        check_finite(model, f"un-pruned network, epoch {epochs}")
        acc = evaluate(model, eval_data)[0]
        if log:
            log(f"un-pruned epoch {epochs}: A = {acc:.4f} (target {target:.4f})")
        if acc >= target:
            break
    return model, {"epochs": epochs, "A": acc, "reached": acc >= target}


def transfer_curve(
    model: PrunableMLP,
    name: str,
    new: Split,
    test: Tensors,
    n_classes: int,
    cfg: Mapping[str, Any],
    seed: int,
    device: torch.device,
) -> list[dict[str, Any]]:
    """Train a copy of `model` on the new samples; error on them and on the test set along the way."""
    model = copy.deepcopy(model)
    data = Tensors.of(new, n_classes, device)
    gen = make_generator(seed, 2, len(new))  # the same sample order for both networks
    t = cfg["transfer"]
    rows: list[dict[str, Any]] = []
    epoch = 0

    def record(step: int) -> None:
        if rows and rows[-1]["step"] == step:
            return
        rows.append(
            {
                "network": name,
                "hidden": model.n_hidden,
                "new_samples": len(new),
                "step": step,
                "epoch": epoch,
                "error_new": 1.0 - evaluate(model, data)[0],
                "error_test": 1.0 - evaluate(model, test)[0],
            }
        )

    record(0)
    step = 0
    for epoch in range(1, t["epochs"] + 1):
        step = train_epoch(model, data, cfg["lr"], cfg["batch_size"], gen, every=t["log_every"], on_batches=record, step0=step)
        check_finite(model, f"transfer of the {name} network on {len(new)} samples, epoch {epoch}")
        record(step)
    return rows


def developed_epochs(cfg: Mapping[str, Any], peak_iteration: int) -> int:
    """Epochs of training the developed network received: the initial ones plus one retraining
    phase per pruning iteration up to its peak."""
    check_epoch_training(cfg)
    return cfg["initial_epochs"] + peak_iteration * cfg["retrain_epochs"]


def check_epoch_training(cfg: Mapping[str, Any]) -> None:
    """The controls match epochs of training, so the transfer is defined for training by epochs
    only (equal_steps and trained_start off, as in the paper)."""
    for key in ("equal_steps", "trained_start"):
        if cfg.get(key) is not None:
            raise ConfigError(f"config key {key}: the transfer controls match epochs of training; run the transfer with {key}: null")


def train_for(model: PrunableMLP, data: Tensors, cfg: Mapping[str, Any], epochs: int, gen: torch.Generator, name: str) -> PrunableMLP:
    """`epochs` epochs of SGD with the run's lr and batch size (NaN/inf stops with the name)."""
    for epoch in range(1, epochs + 1):
        train_epoch(model, data, cfg["lr"], cfg["batch_size"], gen)
        check_finite(model, f"{name} network, epoch {epoch}")
    return model


@dataclass(frozen=True)
class Start:
    """What a transfer job starts from: the develop run's task and developed network (and the
    iteration of its peak), the job's config, seed and device."""

    task: Task
    developed: PrunableMLP
    peak_iteration: int
    cfg: Mapping[str, Any]
    seed: int
    device: torch.device


def prepare(kind: str, start: Start, log: Log | None = None) -> tuple[PrunableMLP, dict[str, Any]]:
    """The network of one kind (bdnn.layout.NETWORKS), trained on the develop run's samples, and
    what it received: its evaluation accuracy, epochs, and whether it reached its target.

    pruned: the developed network itself; unpruned: the full network trained until its accuracy
    first reaches the developed one's (the paper's control); unpruned_epochs: the full network
    trained for as many epochs as the developed one received; scratch: a fresh network of the
    developed size (its own seed stream) trained that long; random: the same schedule and
    retraining, neurons removed at random down to the developed size.
    """
    task, cfg, seed, device = start.task, start.cfg, start.seed, start.device
    train_data = Tensors.of(task.train, task.n_classes, device)
    test = Tensors.of(task.test, task.n_classes, device)
    eval_data = eval_tensors(task, cfg, test, device)
    developed = start.developed.to(device)
    target = evaluate(developed, eval_data)[0]
    epochs = developed_epochs(cfg, start.peak_iteration)
    reached = True
    if kind == "pruned":
        model = developed
    elif kind == "unpruned":
        model, match = match_accuracy(train_data, eval_data, task.n_classes, cfg, seed, target, device, log)
        epochs, reached = match["epochs"], match["reached"]
    elif kind == "unpruned_epochs":  # same initialisation and sample order as the develop run
        model = train_for(build_model(cfg, task.n_classes, seed, device), train_data, cfg, epochs, make_generator(seed, 0), kind)
    elif kind == "scratch":  # never saw the 1000-unit training: its own initialisation and order
        model = train_for(scratch_network(start), train_data, cfg, epochs, make_generator(seed, SCRATCH_STREAM), kind)
    elif kind == "random":
        gen = make_generator(seed, RANDOM_STREAM)
        floor = {**cfg, "prune": {**cfg["prune"], "min_hidden": developed.n_hidden, "patience": None}}
        res = develop(task, floor, seed, device, choose=lambda m, n: torch.randperm(m.n_hidden, generator=gen)[:n])
        model = res.final
        epochs = developed_epochs(cfg, res.summary["iterations"])
    else:
        raise ValueError(f"unknown network kind {kind!r}: one of {NETWORKS}")
    accuracy = target if kind == "pruned" else evaluate(model, eval_data)[0]
    return model, {
        "network": kind,
        "hidden": model.n_hidden,
        "accuracy_before": accuracy,
        "target": target,
        "epochs": epochs,
        "reached_target": reached,
    }


def curve_summary(curve: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Per draw: the area under error_new (curve_area), the final errors and the best test error."""
    return {
        "auc_error_new": curve_area([r["step"] for r in curve], [r["error_new"] for r in curve]),
        "final_error_new": curve[-1]["error_new"],
        "final_error_test": curve[-1]["error_test"],
        "best_error_test": min(r["error_test"] for r in curve),
    }


def run_transfer(mnist: MNIST, kind: str, start: Start, log: Log | None = None) -> TransferResult:
    """One network of the transfer experiment (see `prepare`), trained on each draw of unseen
    samples; error_new / error_test per logged step, and per draw the area under error_new."""
    t0 = time.perf_counter()
    model, info = prepare(kind, start, log)
    draws = {n: new_samples(mnist, start.task, n, start.seed) for n in start.cfg["transfer"]["new_samples"]}
    return transfer_draws(kind, model, draws, start.task.test, start, info, t0, log)


def transfer_draws(
    kind: str,
    model: PrunableMLP,
    draws: Mapping[int, Split],
    test_split: Split,
    start: Start,
    info: dict[str, Any],
    t0: float,
    log: Log | None,
) -> TransferResult:
    """Train a copy of `model` on each draw; the curves' rows and, per draw, curve_summary."""
    test = Tensors.of(test_split, model.n_out, start.device)
    rows: list[dict[str, Any]] = []
    summaries: dict[str, dict[str, float]] = {}
    for n, draw in draws.items():
        if log:
            log(f"transfer: {kind} network ({model.n_hidden} hidden) on {n} samples")
        curve = transfer_curve(model, kind, draw, test, model.n_out, start.cfg, start.seed, start.device)
        rows += curve
        summaries[str(n)] = curve_summary(curve)
    return TransferResult(rows=rows, summary={**info, "draws": summaries, "seconds": time.perf_counter() - t0})


def scratch_network(start: Start) -> PrunableMLP:
    """A fresh network of the developed size, initialised from its own random stream."""
    cfg = {**start.cfg, "hidden_init": start.developed.n_hidden}
    return build_model(cfg, start.task.n_classes, stream_seed(start.seed, SCRATCH_STREAM), start.device)


def curve_area(steps: Sequence[float], errors: Sequence[float]) -> float:
    """The area under an error curve by the trapezoid rule over its steps, divided by the steps it
    spans: a mean error that weights unevenly spaced records by the steps between them."""
    if len(steps) < 2 or steps[-1] == steps[0]:
        return sum(errors) / len(errors)
    area = sum((errors[i] + errors[i + 1]) / 2 * (steps[i + 1] - steps[i]) for i in range(len(steps) - 1))
    return area / (steps[-1] - steps[0])


# ---------------------------------------------------------------- transfer to another task
NEW_HEAD_STREAM, TASK_STREAM = 5, 6


def task_draws(mnist: MNIST, cfg: Mapping[str, Any], seed: int) -> dict[int, Split]:
    """The training draws of the new task's digits (task_transfer.to), one per size: stratified,
    disjoint from each other and from the same seed's draws of the main transfer experiment (its
    training samples and every new-sample draw)."""
    t, tt = cfg["transfer"], cfg["task_transfer"]
    main = make_task(mnist, cfg["classes"][t["classes"]], t["samples"], seed, validation_size(cfg))  # as the main transfer jobs draw it
    used = [main.train.index, *(new_samples(mnist, main, n, seed).index for n in t["new_samples"])]
    if main.validation is not None:
        used.append(main.validation.index)
    draws = {}
    for n in tt["new_samples"]:
        idx = stratified_indices(mnist.train_labels, tt["to"], n, rng_for(seed, TASK_STREAM, n), exclude=np.concatenate(used))
        used.append(idx)
        draws[n] = make_split(mnist.train_images, mnist.train_labels, idx, tt["to"])
    return draws


def new_head(model: PrunableMLP, n_out: int, cfg: Mapping[str, Any], seed: int) -> PrunableMLP:
    """A copy of `model` with a fresh output layer of `n_out` units, initialised as bdnn.model
    initialises one (from its own random stream); the hidden layer is kept."""
    fresh = build_model({**cfg, "hidden_init": model.n_hidden}, n_out, stream_seed(seed, NEW_HEAD_STREAM), model.hidden.weight.device)
    out = copy.deepcopy(model)
    out.output = fresh.output
    return out


def run_task_transfer(mnist: MNIST, kind: str, start: Start, log: Log | None = None) -> TransferResult:
    """Beyond the paper: the network of one kind (bdnn.layout.TASK_NETWORKS) of the develop run of
    task_transfer.from gets a new output layer and learns the digits task_transfer.to from each
    draw (task_draws); error on the draw and on those digits' test images per logged step.
    `scratch` here is a fresh network of the developed size that never saw the first task."""
    t0 = time.perf_counter()
    if kind not in TASK_NETWORKS:
        raise ValueError(f"unknown network kind {kind!r} for the task transfer: one of {TASK_NETWORKS}")
    if kind == "scratch":
        model = scratch_network(start)
        test = Tensors.of(start.task.test, start.task.n_classes, start.device)
        accuracy = evaluate(model, test)[0]
        info = {"network": kind, "hidden": model.n_hidden, "accuracy_before": accuracy, "target": None, "epochs": 0, "reached_target": True}
    else:
        model, info = prepare(kind, start, log)
    tt = start.cfg["task_transfer"]
    new_task = make_task(mnist, tt["to"], min(tt["new_samples"]), start.seed)  # for its test images
    head = new_head(model, len(tt["to"]), start.cfg, start.seed)
    return transfer_draws(kind, head, task_draws(mnist, start.cfg, start.seed), new_task.test, start, {**info, "to": tt["to"]}, t0, log)
