"""The developmental loop of BDNN-sp (Algorithm 1) with the schedules, early stop and peak
selection of docs/method.md, and the files a develop run writes."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bdnn.checkpoint import save_checkpoint
from bdnn.data import Task
from bdnn.files import write_csv, write_json
from bdnn.fitness import fitness, mean_weight, stability
from bdnn.layout import CURVE_COLUMNS, DEVELOP_FILES
from bdnn.model import PrunableMLP, build_model
from bdnn.pruning import importance, least_important, n_to_prune, schedule_sizes
from bdnn.train import Tensors, eval_tensors, evaluate, make_generator, steps_per_epoch, train

# progress(row, total): called after each iteration with its curve row and the iteration count.
Progress = Callable[[dict[str, Any], int], None]
# choose(model, n): the indices of the n hidden neurons to prune (Eq. 1's least important by default).
Choose = Callable[[PrunableMLP, int], torch.Tensor]


def by_importance(model: PrunableMLP, n: int) -> torch.Tensor:
    """Algorithm 1, step 2: the n least important neurons by Eq. 1 (ties to the lower index)."""
    return least_important(importance(model), n)


@dataclass
class DevelopResult:
    curve: list[dict[str, Any]]
    model: PrunableMLP  # the developed network: the F peak
    peak: dict[str, Any]  # the curve row at the F peak
    summary: dict[str, Any] = field(default_factory=dict)
    final: PrunableMLP | None = None  # the network after the last iteration (at the floor)

    def save(self, out: str | Path, cfg: Mapping[str, Any], identity: Mapping[str, Any], runtime: Mapping[str, Any]) -> None:
        """Write the run's files into `out` (names: bdnn.layout.DEVELOP_FILES), each atomically:
        the checkpoint of the developed network, the curve, and the summary (identity, peak,
        config and `runtime`: threads, device, versions)."""
        out = Path(out)
        save_checkpoint(out / DEVELOP_FILES["model"], self.model, cfg, identity)
        write_csv(out / DEVELOP_FILES["curve"], self.curve, CURVE_COLUMNS)
        write_json(out / DEVELOP_FILES["summary"], {**identity, **self.summary, "peak": self.peak, "config": cfg, **runtime})


def phase_steps(cfg: Mapping[str, Any], epochs: int) -> int | None:
    """The SGD steps of a training phase of `epochs` epochs under `equal_steps`: as many as a run
    on `equal_steps` samples gets (epochs x ceil(equal_steps / batch_size)); None = by epochs."""
    if cfg.get("equal_steps") is None:
        return None
    return epochs * steps_per_epoch(cfg["equal_steps"], cfg["batch_size"])


def train_until_plateau(
    model: PrunableMLP, train_data: Tensors, val_data: Tensors, cfg: Mapping[str, Any], gen: torch.Generator
) -> tuple[tuple[float, float], int]:
    """The initial phase under `trained_start`: one epoch at a time until the validation accuracy
    has not improved for `patience` epochs, at most `max_epochs`; the model is left at its best
    epoch (the first of equal accuracy). An epoch is one pass over the samples, or
    ceil(equal_steps / batch_size) steps where equal_steps is set. Returns (the best epoch's
    training loss and accuracy, the best epoch's number: the epochs of initial training the
    network that pruning starts from received; training went on `patience` epochs past it)."""
    ts = cfg["trained_start"]
    best_acc, best_epoch, best_state, best_stats = -1.0, 0, None, (float("nan"), float("nan"))
    for epoch in range(1, ts["max_epochs"] + 1):
        stats = train(model, train_data, cfg["lr"], cfg["batch_size"], 1, gen, f"initial training, epoch {epoch}", phase_steps(cfg, 1))
        acc = evaluate(model, val_data)[0]
        if acc > best_acc:
            best_acc, best_epoch, best_stats = acc, epoch, stats
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= ts["patience"]:
            break
    assert best_state is not None
    model.load_state_dict(best_state)
    return best_stats, best_epoch


def measure(
    model: PrunableMLP,
    cfg: Mapping[str, Any],
    eval_data: Tensors,
    test_data: Tensors,
    s_pair: tuple[torch.Tensor, torch.Tensor] | None,
    train_stats: tuple[float, float],
) -> dict[str, Any]:
    """A (Eq. 2), S (Eqs. 3-5), E (Eq. 6) under both readings and F (Eq. 7) of the current network.

    `train_stats` is the (loss, accuracy) of the last training epoch (running, see train.train).
    """
    fit = cfg["fitness"]
    a, _ = evaluate(model, eval_data)
    test_acc = a if eval_data is test_data else evaluate(model, test_data)[0]
    train_loss, train_acc = train_stats
    row: dict[str, Any] = {
        "A": a,
        "test_acc": test_acc,
        "E_per_connection": mean_weight(model, "per_connection"),
        "E_printed": mean_weight(model, "printed"),
        "train_loss": train_loss,
        "train_acc": train_acc,
    }
    return add_stability_and_fitness(row, fit, s_pair)


def add_stability_and_fitness(
    row: dict[str, Any], fit: Mapping[str, Any], s_pair: tuple[torch.Tensor, torch.Tensor] | None
) -> dict[str, Any]:
    """Given A and both E readings in `row`: E, S (Eqs. 3-5, both readings) and F (Eq. 7)
    under the configured readings; S and F stay empty without `s_pair` (iteration 0)."""
    row["E"] = row[f"E_{fit['mean_weight']}"]
    if s_pair is None:
        row.update(S_normalized=None, S_raw=None, S=None, F=None)
    else:
        w_p, w_r = s_pair
        row["S_normalized"] = stability(w_p, w_r, "normalized")
        row["S_raw"] = stability(w_p, w_r, "raw")
        row["S"] = row[f"S_{fit['stability']}"]
        row["F"] = fitness(row["A"], row["S"], row["E"], fit["alpha"], fit["beta"], fit["gamma"])
    return row


def develop(
    task: Task,
    cfg: Mapping[str, Any],
    seed: int,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    choose: Choose = by_importance,
) -> DevelopResult:
    """Algorithm 1: train the full network, then prune / retrain / measure until the floor.

    Returns the whole curve (iteration 0 = the trained un-pruned network, S and F empty) and
    the network at the peak of F (first argmax among the pruning iterations).
    """
    device = torch.device(device)
    prune = cfg["prune"]
    train_data = Tensors.of(task.train, task.n_classes, device)
    test_data = Tensors.of(task.test, task.n_classes, device)
    eval_data = eval_tensors(task, cfg, test_data, device)
    gen = make_generator(seed, 0)
    model = build_model(cfg, task.n_classes, seed, device)
    total = len(schedule_sizes(model.n_hidden, prune)) + 1

    t0 = time.perf_counter()
    if cfg.get("trained_start") is not None:
        if task.validation is None:
            raise ValueError("trained_start needs the task's validation draw (make_task with fitness.validation_size)")
        val_data = Tensors.of(task.validation, task.n_classes, device)
        stats, initial_epochs = train_until_plateau(model, train_data, val_data, cfg, gen)
    else:
        initial_epochs = cfg["initial_epochs"]
        steps = phase_steps(cfg, initial_epochs)
        stats = train(model, train_data, cfg["lr"], cfg["batch_size"], initial_epochs, gen, "initial training", steps)
    row = {"iteration": 0, "hidden": model.n_hidden, "pruned": 0}
    row.update(measure(model, cfg, eval_data, test_data, None, stats))
    row["seconds"] = time.perf_counter() - t0
    curve = [row]
    if progress:
        progress(row, total)

    best_f, best_row, best_state, since_best = -float("inf"), None, None, 0
    stopped_early = False
    iteration = 0
    while model.n_hidden > prune["min_hidden"]:
        iteration += 1
        t0 = time.perf_counter()
        n = n_to_prune(model.n_hidden, prune)
        model.remove_hidden(choose(model, n))
        w_p = model.connection_weights()  # a new tensor (torch.cat), not a view
        steps = phase_steps(cfg, cfg["retrain_epochs"])
        stats = train(model, train_data, cfg["lr"], cfg["batch_size"], cfg["retrain_epochs"], gen, f"iteration {iteration}", steps)
        row = {"iteration": iteration, "hidden": model.n_hidden, "pruned": n}
        row.update(measure(model, cfg, eval_data, test_data, (w_p, model.connection_weights()), stats))
        row["seconds"] = time.perf_counter() - t0
        curve.append(row)
        if progress:
            progress(row, total)
        if row["F"] > best_f:
            best_f, best_row, since_best = row["F"], row, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
            if prune["patience"] is not None and since_best >= prune["patience"]:
                stopped_early = True
                break
    if best_row is None or best_state is None:
        raise ValueError("no pruning iteration ran: min_hidden must be below hidden_init")

    developed = PrunableMLP(784, best_row["hidden"], task.n_classes).to(device)
    developed.load_state_dict(best_state)
    pruning_rows = curve[1:]
    s_peak = max(pruning_rows, key=lambda r: r["S"])  # first argmax
    summary = {
        "peak_iteration": best_row["iteration"],
        "hidden_at_peak": best_row["hidden"],
        "peak_censored": best_row is pruning_rows[-1] and best_row["hidden"] == prune["min_hidden"],
        "A_at_peak": best_row["A"],
        "S_at_peak": best_row["S"],
        "E_at_peak": best_row["E"],
        "F_at_peak": best_row["F"],
        "test_acc_at_peak": best_row["test_acc"],
        "test_acc_unpruned": curve[0]["test_acc"],
        "A_unpruned": curve[0]["A"],
        "hidden_at_S_peak": s_peak["hidden"],
        "iterations": len(pruning_rows),
        "final_hidden": model.n_hidden,
        "stopped_early": stopped_early,
        "initial_epochs_run": initial_epochs,  # of the network pruning starts from (trained_start: its best epoch)
        "seconds": sum(r["seconds"] for r in curve),
    }
    return DevelopResult(curve=curve, model=developed, peak=best_row, summary=summary, final=model)
