"""The transfer experiment of docs/method.md (Fig. 4B/C): pruned vs un-pruned on unseen samples,
and the files a transfer run writes."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bdnn.data import MNIST, Split, Task, new_samples
from bdnn.files import write_csv, write_json
from bdnn.layout import TRANSFER_COLUMNS, TRANSFER_FILES
from bdnn.model import PrunableMLP, build_model
from bdnn.train import Tensors, check_finite, evaluate, make_generator, train_epoch

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


def run_transfer(
    mnist: MNIST, task: Task, pruned: PrunableMLP, cfg: Mapping[str, Any], seed: int, device: torch.device, log: Log | None = None
) -> TransferResult:
    """The transfer experiment: bring the un-pruned network to the pruned one's accuracy, then train
    both on each draw of unseen samples and record error_new / error_test per step."""
    t0 = time.perf_counter()
    pruned = pruned.to(device)
    test = Tensors.of(task.test, task.n_classes, device)
    eval_data = test if task.validation is None else Tensors.of(task.validation, task.n_classes, device)
    target = evaluate(pruned, eval_data)[0]
    train_data = Tensors.of(task.train, task.n_classes, device)
    unpruned, match = match_accuracy(train_data, eval_data, task.n_classes, cfg, seed, target, device, log)
    rows: list[dict[str, Any]] = []
    auc: dict[str, dict[str, float]] = {}
    for n in cfg["transfer"]["new_samples"]:
        new = new_samples(mnist, task, n, seed)
        for name, net in (("pruned", pruned), ("unpruned", unpruned)):
            if log:
                log(f"transfer: {name} network ({net.n_hidden} hidden) on {n} new samples")
            curve = transfer_curve(net, name, new, test, task.n_classes, cfg, seed, device)
            rows += curve
            auc.setdefault(str(n), {})[name] = sum(r["error_new"] for r in curve) / len(curve)
    summary = {
        "A_pruned": target,
        "hidden_pruned": pruned.n_hidden,
        "A_unpruned": match["A"],
        "hidden_unpruned": unpruned.n_hidden,
        "unpruned_epochs": match["epochs"],
        "unpruned_reached_target": match["reached"],
        "mean_error_new": auc,
        "seconds": time.perf_counter() - t0,
    }
    return TransferResult(rows=rows, summary=summary)
