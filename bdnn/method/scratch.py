"""Networks trained from scratch at the operating widths of a pruning run's trade-off curve (Liu et
al. 2019, "Rethinking the Value of Network Pruning"): each a fresh network of the width the pruned
network had at that point, trained for as many epochs as the pruned network had received there, on
the same samples. Tensors in, rows out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from bdnn.method.develop import DevelopData
from bdnn.method.model import initial_network
from bdnn.method.settings import NetworkSettings, TrainingSettings
from bdnn.method.sgd import check_finite, evaluate, train_epoch
from bdnn.method.streams import Stream, stream_seed, torch_generator
from bdnn.method.transfer import developed_epochs


@dataclass(frozen=True)
class Point:
    """One operating point of a pruning run: the width asked for (`target`), the pruning iteration
    whose width is nearest it, that width, and the epochs of training the pruned network had
    received by then (initial_epochs + iteration x retrain_epochs)."""

    target: int
    iteration: int
    hidden: int
    epochs: int


def nearest(widths: Sequence[int], target: int) -> int:
    """The index of the width nearest `target`; on a tie the first (along a pruning curve: the
    earlier iteration, the wider network)."""
    if not widths:
        raise ValueError("no widths to choose from")
    gaps = [abs(w - target) for w in widths]
    return gaps.index(min(gaps))


def operating_points(iterations: Sequence[int], widths: Sequence[int], targets: Sequence[int], training: TrainingSettings) -> list[Point]:
    """The operating points of one pruning run from its curve (iteration, width per row): per
    target, the pruning iteration (> 0) whose width is nearest it, and the epochs the pruned
    network had received there (training by epochs only, as the transfer controls)."""
    pruning = [(i, w) for i, w in zip(iterations, widths, strict=True) if i > 0]
    if not pruning:
        raise ValueError("the curve has no pruning iteration")
    points = []
    for target in targets:
        iteration, width = pruning[nearest([w for _, w in pruning], target)]
        points.append(Point(target, iteration, width, developed_epochs(training, iteration)))
    return points


def scratch_at_widths(
    data: DevelopData, network: NetworkSettings, training: TrainingSettings, seed: int, points: Sequence[Point], n_in: int
) -> list[dict[str, Any]]:
    """Per point: a fresh network of its width (initialised from the seed's SCRATCH stream, its
    sample order from SCRATCH_ORDER: it never saw the pruned network's training) trained for the
    point's epochs with the run's learning rate and batch size; its test accuracy and seconds."""
    device = data.train.x.device
    n_out = int(data.train.t.shape[1])
    rows = []
    for p in points:
        t0 = time.perf_counter()
        model = initial_network(n_in, p.hidden, n_out, network.init, stream_seed(seed, Stream.SCRATCH), device)
        gen: torch.Generator = torch_generator(seed, Stream.SCRATCH_ORDER)
        for epoch in range(1, p.epochs + 1):
            train_epoch(model, data.train, training.lr, training.batch_size, gen)
            check_finite(model, f"scratch network of {p.hidden} hidden, epoch {epoch}")
        test_acc = evaluate(model, data.test)[0]
        rows.append({"target": p.target, "iteration": p.iteration, "hidden": p.hidden, "epochs": p.epochs,
                     "test_acc": test_acc, "seconds": time.perf_counter() - t0})  # fmt: skip
    return rows
