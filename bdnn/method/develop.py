"""The developmental loop of BDNN-sp (Algorithm 1) with the schedules, early stop and peak
selection of docs/method.md. Tensors in, a curve and networks out: no files.

    model = initial_network(784, 1000, 10, "default", seed)
    result = develop(model, DevelopData.of(n_classes=10, train=(x, y), test=(x_test, y_test)),
                     settings, torch_generator(seed, Stream.ORDER))
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bdnn.method.criteria import Criterion, Eq1, n_to_prune, schedule_sizes
from bdnn.method.fitness import fitness, mean_weight, stability
from bdnn.method.model import PrunableMLP
from bdnn.method.names import MEAN_WEIGHT_MODES, STABILITY_MODES
from bdnn.method.settings import DevelopSettings, FitnessSettings, TrainingSettings
from bdnn.method.sgd import Tensors, evaluate, steps_per_epoch, train

# progress(row, total): called after each iteration with its curve row and the iteration count.
Progress = Callable[[dict[str, Any], int], None]
Arrays = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class DevelopData:
    """The samples of a run on the compute device: the training draw, the test images, the split A
    is measured on (`eval`: the test images or the validation draw) and the validation draw, if any."""

    train: Tensors
    test: Tensors
    eval: Tensors
    validation: Tensors | None = None

    @classmethod
    def of(
        cls,
        n_classes: int,
        train: Arrays,
        test: Arrays,
        validation: Arrays | None = None,
        eval_on: str = "test",
        device: torch.device | str = "cpu",
    ) -> DevelopData:
        """From (images, labels) numpy pairs; `eval_on` is "test" or "validation" (fitness.eval_split)."""
        if eval_on not in ("test", "validation"):
            raise ValueError(f"eval_on {eval_on!r}: test or validation")
        if eval_on == "validation" and validation is None:
            raise ValueError("fitness.eval_split is validation but the task has no validation draw")
        test_t = Tensors.of(*test, n_classes, device)
        val_t = None if validation is None else Tensors.of(*validation, n_classes, device)
        return cls(Tensors.of(*train, n_classes, device), test_t, test_t if eval_on == "test" else val_t, val_t)


@dataclass
class DevelopResult:
    curve: list[dict[str, Any]]
    model: PrunableMLP  # the developed network: the F peak
    peak: dict[str, Any]  # the curve row at the F peak
    summary: dict[str, Any]
    final: PrunableMLP  # the network after the last iteration (at the floor)


def phase_steps(training: TrainingSettings, epochs: int) -> int | None:
    """The SGD steps of a training phase of `epochs` epochs under `equal_steps`: as many as a run
    on `equal_steps` samples gets (epochs x ceil(equal_steps / batch_size)); None = by epochs."""
    if training.equal_steps is None:
        return None
    return epochs * steps_per_epoch(training.equal_steps, training.batch_size)


def _state(model: PrunableMLP) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _observer(criterion: Criterion | None):
    """The criterion's observer for the coming phase (reset first), or None where it observes nothing."""
    if criterion is None or not criterion.observes:
        return None
    criterion.start_epoch()
    return criterion.observe


def train_until_plateau(
    model: PrunableMLP,
    train_data: Tensors,
    val_data: Tensors,
    training: TrainingSettings,
    gen: torch.Generator,
    criterion: Criterion | None = None,
) -> tuple[tuple[float, float], int]:
    """The initial phase under `trained_start`: one epoch at a time until the validation accuracy
    has not improved for `patience` epochs, at most `max_epochs`, where patience stops nothing
    before `min_steps` SGD steps (a network still at chance does not look like a plateau); the
    model is left at its best epoch (the first of equal accuracy). An epoch is one pass over the samples, or
    ceil(equal_steps / batch_size) steps where equal_steps is set. Returns (the best epoch's
    training loss and accuracy, the best epoch's number: the epochs of initial training the
    network that pruning starts from received; training went on at least `patience` epochs past it)."""
    ts = training.trained_start
    if ts is None:
        raise ValueError("train_until_plateau needs training.trained_start")
    best_acc, best_epoch, best_state, best_stats, best_seen = -1.0, 0, None, (float("nan"), float("nan")), None
    per_epoch = phase_steps(training, 1) or steps_per_epoch(len(train_data), training.batch_size)
    for epoch in range(1, ts.max_epochs + 1):
        where, observe = f"initial training, epoch {epoch}", _observer(criterion)
        stats = train(model, train_data, training.lr, training.batch_size, 1, gen, where, phase_steps(training, 1), observe)
        acc = evaluate(model, val_data)[0]
        if acc > best_acc:
            best_acc, best_epoch, best_stats, best_state = acc, epoch, stats, _state(model)
            best_seen = None if criterion is None else criterion.snapshot()  # what it observed of this epoch
        elif epoch - best_epoch >= ts.patience and epoch * per_epoch >= ts.min_steps:
            break
    assert best_state is not None
    model.load_state_dict(best_state)
    if criterion is not None:
        criterion.restore(best_seen)
    return best_stats, best_epoch


def measure(
    model: PrunableMLP,
    fit: FitnessSettings,
    data: DevelopData,
    s_pair: tuple[torch.Tensor, torch.Tensor] | None,
    train_stats: tuple[float, float],
) -> dict[str, Any]:
    """A (Eq. 2), S (Eqs. 3-5), E (Eq. 6) under both readings and F (Eq. 7) of the current network.

    `train_stats` is the (loss, accuracy) of the last training epoch (running, see sgd.train).
    """
    a, _ = evaluate(model, data.eval)
    test_acc = a if data.eval is data.test else evaluate(model, data.test)[0]
    train_loss, train_acc = train_stats
    row: dict[str, Any] = {"A": a, "test_acc": test_acc}
    row.update({f"E_{m}": mean_weight(model, m) for m in MEAN_WEIGHT_MODES})
    row.update(train_loss=train_loss, train_acc=train_acc)
    return add_stability_and_fitness(row, fit, s_pair)


def add_stability_and_fitness(
    row: dict[str, Any], fit: FitnessSettings, s_pair: tuple[torch.Tensor, torch.Tensor] | None
) -> dict[str, Any]:
    """Given A and both E readings in `row`: E, S (Eqs. 3-5, both readings) and F (Eq. 7)
    under the configured readings; S and F stay empty without `s_pair` (iteration 0)."""
    row["E"] = row[f"E_{fit.mean_weight}"]
    if s_pair is None:
        row.update({f"S_{m}": None for m in STABILITY_MODES}, S=None, F=None)
    else:
        w_p, w_r = s_pair
        row.update({f"S_{m}": stability(w_p, w_r, m) for m in STABILITY_MODES})
        row["S"] = row[f"S_{fit.stability}"]
        row["F"] = fitness(row["A"], row["S"], row["E"], fit.alpha, fit.beta, fit.gamma)
    return row


def _initial_phase(
    model: PrunableMLP, data: DevelopData, training: TrainingSettings, gen: torch.Generator, criterion: Criterion
) -> tuple[tuple[float, float], int]:
    """Train the full network: `initial_epochs`, or until the validation plateau (trained_start);
    an observing criterion sees its last epoch (the kept one under trained_start). Returns (the
    last epoch's running loss and accuracy, the epochs the network received)."""
    if training.trained_start is not None:
        if data.validation is None:
            raise ValueError("trained_start needs the task's validation draw (fitness.validation_size)")
        return train_until_plateau(model, data.train, data.validation, training, gen, criterion)
    epochs = training.initial_epochs
    stats = train(
        model,
        data.train,
        training.lr,
        training.batch_size,
        epochs,
        gen,
        "initial training",
        phase_steps(training, epochs),
        _observer(criterion),
    )
    return stats, epochs


def _retrain(model: PrunableMLP, data: DevelopData, training: TrainingSettings, gen: torch.Generator, criterion: Criterion, where: str):
    epochs = training.retrain_epochs
    observe = _observer(criterion)
    return train(model, data.train, training.lr, training.batch_size, epochs, gen, where, phase_steps(training, epochs), observe)


@dataclass
class _Peak:
    """The best iteration so far (first argmax of F) and how long ago it was."""

    f: float = -float("inf")
    row: dict[str, Any] | None = None
    state: dict[str, torch.Tensor] | None = None
    since: int = 0

    def update(self, row: dict[str, Any], model: PrunableMLP) -> None:
        if row["F"] > self.f:
            self.f, self.row, self.since, self.state = row["F"], row, 0, _state(model)
        else:
            self.since += 1


@dataclass
class Start:
    """What pruning starts from besides the trained un-pruned network (which `trained_start`
    leaves in its model): the state of the mini-batch order's generator after the initial phase,
    the network's curve row (iteration 0) and the epochs of initial training it received. No
    criterion changes the initial phase (an observing criterion only reads its last epoch)."""

    order_state: torch.Tensor
    row: dict[str, Any]
    epochs: int

    def generator(self) -> torch.Generator:
        """A generator of the mini-batch order in the state it was in after the initial phase."""
        gen = torch.Generator()
        gen.set_state(self.order_state)
        return gen


class _Observers(Criterion):
    """Several criteria observing one training: each sees every mini-batch (Criterion.observe
    only reads the tensors), so each observes what it would have observed alone."""

    def __init__(self, criteria: Sequence[Criterion]) -> None:
        self.members = [c for c in criteria if c.observes]
        self.observes = bool(self.members)

    def start_epoch(self) -> None:
        for c in self.members:
            c.start_epoch()

    def observe(self, hidden: torch.Tensor, grad_hidden: torch.Tensor) -> None:
        for c in self.members:
            c.observe(hidden, grad_hidden)

    def snapshot(self) -> object:
        return [c.snapshot() for c in self.members]

    def restore(self, state: object) -> None:
        for c, seen in zip(self.members, state, strict=True):  # type: ignore[call-overload]
            c.restore(seen)


def trained_start(
    model: PrunableMLP, data: DevelopData, settings: DevelopSettings, order: torch.Generator, criteria: Sequence[Criterion] = ()
) -> Start:
    """Algorithm 1's first step: train the full network `model` (in place; it is then the network
    pruning starts from) and measure it. Each observing criterion of `criteria` observes its last
    epoch (the kept one under trained_start)."""
    t0 = time.perf_counter()
    stats, epochs = _initial_phase(model, data, settings.training, order, _Observers(criteria))
    row = {"iteration": 0, "hidden": model.n_hidden, "pruned": 0, **measure(model, settings.fitness, data, None, stats)}
    return Start(order.get_state(), {**row, "seconds": time.perf_counter() - t0}, epochs)


def develop(
    model: PrunableMLP,
    data: DevelopData,
    settings: DevelopSettings,
    order: torch.Generator,
    criterion: Criterion | None = None,
    progress: Progress | None = None,
) -> DevelopResult:
    """Algorithm 1 on `model` (trained in place): train the full network, then prune (by
    `criterion`, Eq. 1 by default) / retrain / measure until the floor or the early stop. `order`
    draws every mini-batch order.

    Returns the whole curve (iteration 0 = the trained un-pruned network, S and F empty), the
    network at the peak of F (first argmax among the pruning iterations) and the final network.
    """
    criterion = criterion or Eq1()
    start = trained_start(model, data, settings, order, [criterion])
    return prune_from(model, start, data, settings, order, criterion, progress)


def develop_each(
    model: PrunableMLP,
    data: DevelopData,
    settings: DevelopSettings,
    order: torch.Generator,
    criteria: Sequence[Criterion],
    progress: Callable[[Criterion], Progress | None] | None = None,
) -> Iterator[tuple[Criterion, DevelopResult]]:
    """`develop` under each of `criteria` from one trained start (the initial phase, run once with
    every criterion observing it): each result is the one `develop` gives with that criterion on
    a copy of `model` and of `order` (bit for bit; a test checks it), but its time. Yields each
    result as soon as it is done; `progress(criterion)` is that run's progress callback."""
    start = trained_start(model, data, settings, order, criteria)
    for c in criteria:
        yield c, prune_from(copy.deepcopy(model), start, data, settings, start.generator(), c, progress(c) if progress else None)


def prune_from(
    model: PrunableMLP,
    start: Start,
    data: DevelopData,
    settings: DevelopSettings,
    order: torch.Generator,
    criterion: Criterion,
    progress: Progress | None = None,
) -> DevelopResult:
    """Algorithm 1 after its first step: prune / retrain / measure `model` (holding `start`'s
    network; trained in place) until the floor or the early stop, `order` in the state `start`
    left it in."""
    prune, training = settings.prune, settings.training
    total = len(schedule_sizes(model.n_hidden, prune)) + 1
    curve = [dict(start.row)]
    if progress:
        progress(curve[-1], total)
    peak, stopped_early = _Peak(), False
    while model.n_hidden > prune.min_hidden:
        iteration = len(curve)
        t0 = time.perf_counter()
        n = n_to_prune(model.n_hidden, prune)
        model.remove_hidden(criterion.select(model, n))
        w_p = model.connection_weights()  # a new tensor (torch.cat), not a view
        stats = _retrain(model, data, training, order, criterion, f"iteration {iteration}")
        row = {"iteration": iteration, "hidden": model.n_hidden, "pruned": n}
        row.update(measure(model, settings.fitness, data, (w_p, model.connection_weights()), stats))
        row["seconds"] = time.perf_counter() - t0
        curve.append(row)
        if progress:
            progress(row, total)
        peak.update(row, model)
        if prune.patience is not None and peak.since >= prune.patience:
            stopped_early = True
            break
    if peak.row is None or peak.state is None:
        raise ValueError("no pruning iteration ran: min_hidden must be below hidden_init")
    developed = PrunableMLP(model.n_in, peak.row["hidden"], model.n_out).to(model.hidden.weight.device)
    developed.load_state_dict(peak.state)
    summary = run_summary(curve, peak.row, prune.min_hidden, stopped_early, start.epochs, model.n_hidden)
    return DevelopResult(curve=curve, model=developed, peak=peak.row, summary=summary, final=model)


def run_summary(
    curve: list[dict[str, Any]], best: dict[str, Any], floor: int, stopped_early: bool, initial_epochs: int, final_hidden: int
) -> dict[str, Any]:
    """The scalars that describe a run: its peak (the developed network), the un-pruned network,
    the S peak, how it ended, and its time."""
    pruning_rows = curve[1:]
    s_peak = max(pruning_rows, key=lambda r: r["S"])  # first argmax
    return {
        "peak_iteration": best["iteration"],
        "hidden_at_peak": best["hidden"],
        "peak_censored": best is pruning_rows[-1] and best["hidden"] == floor,
        "A_at_peak": best["A"],
        "S_at_peak": best["S"],
        "E_at_peak": best["E"],
        "F_at_peak": best["F"],
        "test_acc_at_peak": best["test_acc"],
        "test_acc_unpruned": curve[0]["test_acc"],
        "A_unpruned": curve[0]["A"],
        "hidden_at_S_peak": s_peak["hidden"],
        "iterations": len(pruning_rows),
        "final_hidden": final_hidden,
        "stopped_early": stopped_early,
        "initial_epochs_run": initial_epochs,  # of the network pruning starts from (trained_start: its best epoch)
        "seconds": sum(r["seconds"] for r in curve),
    }
