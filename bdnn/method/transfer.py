"""The transfer experiment of docs/method.md (Fig. 4B/C) and its controls, and the transfer to
another task: one network per call, trained on draws of unseen samples. Tensors in, rows out."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from bdnn.method.criteria import RandomCriterion
from bdnn.method.develop import DevelopData, develop
from bdnn.method.model import PrunableMLP, initial_network
from bdnn.method.names import NETWORKS, TASK_NETWORKS
from bdnn.method.settings import DevelopSettings, TrainingSettings, TransferSettings
from bdnn.method.sgd import EpochHooks, Tensors, check_finite, evaluate, steps_per_epoch, train_epoch
from bdnn.method.streams import Stream, stream_seed, torch_generator

Log = Callable[[str], None]


@dataclass(frozen=True)
class Start:
    """What a transfer starts from: the develop run's data, its developed network and the iteration
    of its peak, the method's and the transfer's settings, and the seed."""

    data: DevelopData
    developed: PrunableMLP
    peak_iteration: int
    settings: DevelopSettings
    transfer: TransferSettings
    seed: int

    def initial(self, hidden: int | None = None, seed: int | None = None, n_out: int | None = None) -> PrunableMLP:
        """The develop run's initial network (same initialisation), or a fresh one of another width,
        seed or output size."""
        net = self.settings.network
        device = self.developed.hidden.weight.device
        n_out = self.developed.n_out if n_out is None else n_out
        return initial_network(self.developed.n_in, hidden or net.hidden_init, n_out, net.init, self.seed if seed is None else seed, device)


@dataclass
class TransferResult:
    rows: list[dict[str, Any]]
    summary: dict[str, Any]


def check_epoch_training(training: TrainingSettings) -> None:
    """The controls match epochs of training, so the transfer is defined for training by epochs
    only (equal_steps and trained_start off, as in the paper)."""
    for key in ("equal_steps", "trained_start"):
        if getattr(training, key) is not None:
            raise ValueError(f"{key}: the transfer controls match epochs of training; run the transfer with {key} off")


def developed_epochs(training: TrainingSettings, peak_iteration: int) -> int:
    """Epochs of training the developed network received: the initial ones plus one retraining
    phase per pruning iteration up to its peak."""
    check_epoch_training(training)
    return training.initial_epochs + peak_iteration * training.retrain_epochs


def train_for(model: PrunableMLP, data: Tensors, training: TrainingSettings, epochs: int, gen: torch.Generator, name: str) -> PrunableMLP:
    """`epochs` epochs of SGD with the run's lr and batch size (NaN/inf stops with the name)."""
    for epoch in range(1, epochs + 1):
        train_epoch(model, data, training.lr, training.batch_size, gen)
        check_finite(model, f"{name} network, epoch {epoch}")
    return model


def match_accuracy(start: Start, target: float, log: Log | None = None) -> tuple[PrunableMLP, dict[str, Any]]:
    """Train the un-pruned network (same init and sample order as the develop run) epoch by
    epoch until its evaluation accuracy first reaches `target`, at most `transfer.max_epochs`."""
    model = start.initial()
    gen = torch_generator(start.seed, Stream.ORDER)
    training = start.settings.training
    acc, epochs = 0.0, 0
    while epochs < start.transfer.max_epochs:
        train_epoch(model, start.data.train, training.lr, training.batch_size, gen)
        epochs += 1
        check_finite(model, f"un-pruned network, epoch {epochs}")
        acc = evaluate(model, start.data.eval)[0]
        if log:
            log(f"un-pruned epoch {epochs}: A = {acc:.4f} (target {target:.4f})")
        if acc >= target:
            break
    return model, {"epochs": epochs, "A": acc, "reached": acc >= target}


def scratch_network(start: Start) -> PrunableMLP:
    """A fresh network of the developed size, initialised from its own random stream."""
    return start.initial(hidden=start.developed.n_hidden, seed=stream_seed(start.seed, Stream.SCRATCH))


def random_pruned(start: Start) -> tuple[PrunableMLP, int]:
    """The random control: the develop run's schedule and retraining, neurons removed at random,
    down to the developed size. Returns the network and its pruning iterations."""
    criterion = RandomCriterion(torch_generator(start.seed, Stream.RANDOM_PRUNING))
    prune = replace(start.settings.prune, min_hidden=start.developed.n_hidden, patience=None)
    order = torch_generator(start.seed, Stream.ORDER)
    res = develop(start.initial(), start.data, replace(start.settings, prune=prune), order, criterion)
    return res.final, res.summary["iterations"]


def prepare(kind: str, start: Start, log: Log | None = None) -> tuple[PrunableMLP, dict[str, Any]]:
    """The network of one kind (NETWORKS), trained on the develop run's samples, and what it
    received: its evaluation accuracy, epochs, and whether it reached its target.

    pruned: the developed network itself; unpruned: the full network trained until its accuracy
    first reaches the developed one's (the paper's control); unpruned_epochs: the full network
    trained for as many epochs as the developed one received; scratch: a fresh network of the
    developed size (its own seed stream) trained that long; random: the same schedule and
    retraining, neurons removed at random down to the developed size.
    """
    if kind not in NETWORKS:
        raise ValueError(f"unknown network kind {kind!r}: one of {NETWORKS}")
    training, data = start.settings.training, start.data
    target = evaluate(start.developed, data.eval)[0]
    epochs = developed_epochs(training, start.peak_iteration)
    reached = True
    if kind == "pruned":
        model = start.developed
    elif kind == "unpruned":
        model, match = match_accuracy(start, target, log)
        epochs, reached = match["epochs"], match["reached"]
    elif kind == "unpruned_epochs":  # same initialisation and sample order as the develop run
        model = train_for(start.initial(), data.train, training, epochs, torch_generator(start.seed, Stream.ORDER), kind)
    elif kind == "scratch":  # never saw the 1000-unit training: its own initialisation and order
        model = train_for(scratch_network(start), data.train, training, epochs, torch_generator(start.seed, Stream.SCRATCH_ORDER), kind)
    else:
        model, iterations = random_pruned(start)
        epochs = developed_epochs(training, iterations)
    accuracy = target if kind == "pruned" else evaluate(model, data.eval)[0]
    info = {"network": kind, "hidden": model.n_hidden, "accuracy_before": accuracy, "target": target}
    return model, {**info, "epochs": epochs, "reached_target": reached}


def record_steps(settings: TransferSettings, per_epoch: int) -> set[int]:
    """The steps of a transfer curve (of `settings.epochs` epochs of `per_epoch` mini-batches) at
    which the error on the new samples is recorded: step 0, every epoch's end, and either
    `records` steps spaced geometrically from 1 to the last step (dense early, where the error
    falls fastest) or every `log_every` mini-batches of each epoch."""
    total = settings.epochs * per_epoch
    ends = {e * per_epoch for e in range(settings.epochs + 1)}
    if settings.records is not None:
        spaced = np.unique(np.round(np.geomspace(1, total, settings.records)).astype(int))
        return ends | {int(s) for s in spaced}
    if settings.log_every is None:
        raise ValueError("a transfer curve needs records or log_every")
    every = settings.log_every
    return ends | {e * per_epoch + k for e in range(settings.epochs) for k in range(every, per_epoch, every)}


def transfer_curve(model: PrunableMLP, name: str, new: Tensors, test: Tensors, start: Start) -> list[dict[str, Any]]:
    """Train a copy of `model` on the new samples: the error on them at record_steps, and the
    error on the test set at step 0 and after each epoch (NaN between: the test error enters only
    the final and best test errors, and evaluating it at every record was most of a job's time)."""
    model = copy.deepcopy(model)
    gen = torch_generator(start.seed, Stream.TRANSFER_ORDER, len(new))  # the same sample order for every network
    training, t = start.settings.training, start.transfer
    per_epoch = steps_per_epoch(len(new), training.batch_size)
    steps = record_steps(t, per_epoch)
    rows: list[dict[str, Any]] = []
    epoch = 0

    def record(step: int) -> None:
        if step not in steps or (rows and rows[-1]["step"] == step):
            return
        error_test = 1.0 - evaluate(model, test)[0] if step % per_epoch == 0 else math.nan
        rows.append({"network": name, "hidden": model.n_hidden, "new_samples": len(new), "step": step, "epoch": epoch,
                     "error_new": 1.0 - evaluate(model, new)[0], "error_test": error_test})  # fmt: skip

    record(0)
    step = 0
    for epoch in range(1, t.epochs + 1):
        step = train_epoch(model, new, training.lr, training.batch_size, gen, EpochHooks(every=1, on_batches=record, step0=step))
        check_finite(model, f"transfer of the {name} network on {len(new)} samples, epoch {epoch}")
        record(step)
    return rows


def curve_area(steps: Sequence[float], errors: Sequence[float]) -> float:
    """The area under an error curve by the trapezoid rule over its steps, divided by the steps it
    spans: a mean error that weights unevenly spaced records by the steps between them."""
    if len(steps) < 2 or steps[-1] == steps[0]:
        return sum(errors) / len(errors)
    area = sum((errors[i] + errors[i + 1]) / 2 * (steps[i + 1] - steps[i]) for i in range(len(steps) - 1))
    return area / (steps[-1] - steps[0])


def curve_summary(curve: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Per draw: the area under error_new (curve_area), the final errors and the best test error."""
    return {
        "auc_error_new": curve_area([r["step"] for r in curve], [r["error_new"] for r in curve]),
        "final_error_new": curve[-1]["error_new"],
        "final_error_test": curve[-1]["error_test"],
        "best_error_test": min(r["error_test"] for r in curve if not math.isnan(r["error_test"])),
    }


def transfer_draws(
    model: PrunableMLP, draws: Mapping[int, Tensors], test: Tensors, start: Start, info: dict[str, Any], log: Log | None = None
) -> TransferResult:
    """Train a copy of `model` on each draw; the curves' rows and, per draw, curve_summary."""
    kind = info["network"]
    rows: list[dict[str, Any]] = []
    summaries: dict[str, dict[str, float]] = {}
    for n, draw in draws.items():
        if log:
            log(f"transfer: {kind} network ({model.n_hidden} hidden) on {n} samples")
        curve = transfer_curve(model, kind, draw, test, start)
        rows += curve
        summaries[str(n)] = curve_summary(curve)
    return TransferResult(rows=rows, summary={**info, "draws": summaries})


def run_transfer(kind: str, start: Start, draws: Mapping[int, Tensors], log: Log | None = None) -> TransferResult:
    """One network of the transfer experiment (see `prepare`), trained on each draw of unseen
    samples; error_new / error_test per logged step, and per draw the area under error_new."""
    t0 = time.perf_counter()
    model, info = prepare(kind, start, log)
    res = transfer_draws(model, draws, start.data.test, start, info, log)
    res.summary["seconds"] = time.perf_counter() - t0
    return res


def new_head(model: PrunableMLP, n_out: int, init: str, seed: int) -> PrunableMLP:
    """A copy of `model` with a fresh output layer of `n_out` units, initialised as a new network's
    (from its own random stream); the hidden layer is kept."""
    device = model.hidden.weight.device
    fresh = initial_network(model.n_in, model.n_hidden, n_out, init, stream_seed(seed, Stream.NEW_HEAD), device)
    out = copy.deepcopy(model)
    out.output = fresh.output
    return out


def run_task_transfer(kind: str, start: Start, draws: Mapping[int, Tensors], new_test: Tensors, log: Log | None = None) -> TransferResult:
    """Beyond the paper: the network of one kind (TASK_NETWORKS) gets a new output layer (as many
    units as the new task's classes) and learns the new task from each draw; error on the draw and
    on the new task's test images per logged step. `scratch` here is a fresh network of the
    developed size that never saw the first task."""
    t0 = time.perf_counter()
    if kind not in TASK_NETWORKS:
        raise ValueError(f"unknown network kind {kind!r} for the task transfer: one of {TASK_NETWORKS}")
    if kind == "scratch":
        model = scratch_network(start)
        accuracy = evaluate(model, start.data.test)[0]
        info = {"network": kind, "hidden": model.n_hidden, "accuracy_before": accuracy, "target": None, "epochs": 0, "reached_target": True}
    else:
        model, info = prepare(kind, start, log)
    n_out = int(new_test.t.shape[1])
    head = new_head(model, n_out, start.settings.network.init, start.seed)
    res = transfer_draws(head, draws, new_test, start, info, log)
    res.summary["seconds"] = time.perf_counter() - t0
    return res
