"""The transfer experiment of docs/method.md (Fig. 4B/C) and its controls, and the transfer to
another task: one network per call, trained on draws of unseen samples. Tensors in, rows out."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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


def unpruned_training(
    start: Start, target: float, keep: int | None = None, log: Log | None = None
) -> tuple[tuple[PrunableMLP, dict[str, Any]], PrunableMLP | None]:
    """Train the un-pruned network (same init and sample order as the develop run) epoch by epoch
    until its evaluation accuracy first reaches `target`, at most `transfer.max_epochs`: that
    network and what it reached; with `keep`, the training goes on (or stops) so that the network
    after `keep` epochs is returned too. One training gives both un-pruned controls: evaluating
    draws nothing from any stream, so each is the network its own training would give."""
    model, gen = start.initial(), torch_generator(start.seed, Stream.ORDER)
    training, cap = start.settings.training, start.transfer.max_epochs
    matched: tuple[PrunableMLP, dict[str, Any]] | None = None
    kept: PrunableMLP | None = None
    epoch = 0
    while matched is None or (keep is not None and kept is None):
        train_epoch(model, start.data.train, training.lr, training.batch_size, gen)
        epoch += 1
        check_finite(model, f"un-pruned network, epoch {epoch}")
        if epoch == keep:
            kept = copy.deepcopy(model)
        if matched is None:
            acc = evaluate(model, start.data.eval)[0]
            if log:
                log(f"un-pruned epoch {epoch}: A = {acc:.4f} (target {target:.4f})")
            if acc >= target or epoch >= cap:
                matched = (copy.deepcopy(model), {"epochs": epoch, "A": acc, "reached": acc >= target})
    return matched, kept


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
    return next(prepare_networks([kind], start, log))


UNPRUNED = ("unpruned", "unpruned_epochs")  # the controls whose networks one training can give


def _network(kind: str, start: Start, target: float, epochs: int, log: Log | None) -> tuple[PrunableMLP, int, bool]:
    """One network of `prepare`: the model, the epochs it received, whether it reached its target."""
    training, data = start.settings.training, start.data
    if kind == "pruned":
        return start.developed, epochs, True
    if kind == "unpruned":
        (model, match), _ = unpruned_training(start, target, None, log)
        return model, match["epochs"], match["reached"]
    if kind == "unpruned_epochs":  # same initialisation and sample order as the develop run
        return train_for(start.initial(), data.train, training, epochs, torch_generator(start.seed, Stream.ORDER), kind), epochs, True
    if kind == "scratch":  # never saw the 1000-unit training: its own initialisation and order
        model = train_for(scratch_network(start), data.train, training, epochs, torch_generator(start.seed, Stream.SCRATCH_ORDER), kind)
        return model, epochs, True
    model, iterations = random_pruned(start)
    return model, developed_epochs(training, iterations), True


def _unpruned_pair(start: Start, target: float, epochs: int, log: Log | None) -> dict[str, tuple[PrunableMLP, int, bool]]:
    """Both un-pruned controls from one training (`unpruned_training`), as `_network` gives each."""
    (matched, match), kept = unpruned_training(start, target, epochs, log)
    assert kept is not None
    return {"unpruned": (matched, match["epochs"], match["reached"]), "unpruned_epochs": (kept, epochs, True)}


def prepare_networks(kinds: Sequence[str], start: Start, log: Log | None = None) -> Iterator[tuple[PrunableMLP, dict[str, Any]]]:
    """The networks of `kinds` in turn, each as `prepare` gives it; both un-pruned controls come
    from one training of the full network when both are asked (the same networks, in less time)."""
    unknown = [kind for kind in kinds if kind not in NETWORKS]
    if unknown:
        raise ValueError(f"unknown network kind {unknown[0]!r}: one of {NETWORKS}")
    target = evaluate(start.developed, start.data.eval)[0]
    epochs = developed_epochs(start.settings.training, start.peak_iteration)
    shared = set(UNPRUNED) <= set(kinds)
    pair: dict[str, tuple[PrunableMLP, int, bool]] = {}
    for kind in kinds:
        if shared and kind in UNPRUNED:
            pair = pair or _unpruned_pair(start, target, epochs, log)
            model, received, reached = pair.pop(kind)
        else:
            model, received, reached = _network(kind, start, target, epochs, log)
        accuracy = target if kind == "pruned" else evaluate(model, start.data.eval)[0]
        info = {"network": kind, "hidden": model.n_hidden, "accuracy_before": accuracy, "target": target}
        yield model, {**info, "epochs": received, "reached_target": reached}


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


def run_transfers(kinds: Sequence[str], start: Start, draws: Mapping[int, Tensors], log: Log | None = None) -> Iterator[TransferResult]:
    """The networks of the transfer experiment (see `prepare_networks`) in turn, each trained on
    each draw of unseen samples: error_new / error_test per recorded step, and per draw the area
    under error_new. `seconds`: the time spent since the previous network's result (a training
    shared by two networks counts to the first)."""
    t0 = time.perf_counter()
    for model, info in prepare_networks(kinds, start, log):
        res = transfer_draws(model, draws, start.data.test, start, info, log)
        res.summary["seconds"] = time.perf_counter() - t0
        yield res
        t0 = time.perf_counter()


def run_transfer(kind: str, start: Start, draws: Mapping[int, Tensors], log: Log | None = None) -> TransferResult:
    """One network of the transfer experiment (see `run_transfers`)."""
    return next(run_transfers([kind], start, draws, log))


def new_head(model: PrunableMLP, n_out: int, init: str, seed: int) -> PrunableMLP:
    """A copy of `model` with a fresh output layer of `n_out` units, initialised as a new network's
    (from its own random stream); the hidden layer is kept."""
    device = model.hidden.weight.device
    fresh = initial_network(model.n_in, model.n_hidden, n_out, init, stream_seed(seed, Stream.NEW_HEAD), device)
    out = copy.deepcopy(model)
    out.output = fresh.output
    return out


def task_networks(kinds: Sequence[str], start: Start, log: Log | None = None) -> Iterator[tuple[PrunableMLP, dict[str, Any]]]:
    """The networks of the transfer to another task (TASK_NETWORKS) in turn, as `prepare_networks`
    gives them, except `scratch`: here a fresh network of the developed size that never saw the
    first task (untrained)."""
    unknown = [kind for kind in kinds if kind not in TASK_NETWORKS]
    if unknown:
        raise ValueError(f"unknown network kind {unknown[0]!r} for the task transfer: one of {TASK_NETWORKS}")
    prepared = prepare_networks([kind for kind in kinds if kind != "scratch"], start, log)
    for kind in kinds:
        if kind != "scratch":
            yield next(prepared)
            continue
        model = scratch_network(start)
        accuracy = evaluate(model, start.data.test)[0]
        yield (
            model,
            {"network": kind, "hidden": model.n_hidden, "accuracy_before": accuracy, "target": None, "epochs": 0, "reached_target": True},
        )


def run_task_transfers(
    kinds: Sequence[str], start: Start, draws: Mapping[int, Tensors], new_test: Tensors, log: Log | None = None
) -> Iterator[TransferResult]:
    """Beyond the paper: each network of `kinds` (see `task_networks`) gets a new output layer (as
    many units as the new task's classes) and learns the new task from each draw; error on the draw
    and on the new task's test images per recorded step. `seconds` as in `run_transfers`."""
    t0 = time.perf_counter()
    n_out = int(new_test.t.shape[1])
    for model, info in task_networks(kinds, start, log):
        head = new_head(model, n_out, start.settings.network.init, start.seed)
        res = transfer_draws(head, draws, new_test, start, info, log)
        res.summary["seconds"] = time.perf_counter() - t0
        yield res
        t0 = time.perf_counter()


def run_task_transfer(kind: str, start: Start, draws: Mapping[int, Tensors], new_test: Tensors, log: Log | None = None) -> TransferResult:
    """One network of the transfer to another task (see `run_task_transfers`)."""
    return next(run_task_transfers([kind], start, draws, new_test, log))
