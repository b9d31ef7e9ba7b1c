"""The reference the library's physical removal is measured against: the same developmental run
with hidden neurons masked instead of removed, so every matrix keeps its initial width.

Two ways of masking, both mirroring bdnn.develop.develop step for step (same config, seed,
initialisation, sample order, pruning schedule, the same measurements per iteration):

* `mask`: the library's own hand-written SGD step with a 0/1 mask multiplied into the hidden
  activations. A masked neuron outputs 0, so it feeds nothing forward, and its incoming weights,
  bias and outgoing weights get zero gradient. Only removal vs masking differs from the library.
* `torch_prune`: the usual PyTorch way: torch.nn.utils.prune masks on hidden.weight,
  hidden.bias and output.weight (weight = weight_orig * weight_mask, recomputed by a forward
  pre-hook), autograd and torch.optim.SGD.

Importance (Eq. 1), S (Eqs. 3-5) and E (Eq. 6) are computed on the connections of the neurons
still alive, as physical removal does, with the library's functions where they apply.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import torch
from torch.nn.utils import prune as torch_prune

from bdnn.data import Task
from bdnn.develop import add_stability_and_fitness
from bdnn.model import PrunableMLP, build_model
from bdnn.pruning import importance, least_important, n_to_prune
from bdnn.train import Tensors, check_finite, evaluate, make_generator

BACKENDS = ("mask", "torch_prune")


def _shuffled(data: Tensors, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The same draw and the same copy as bdnn.train.train_epoch: one randperm per epoch."""
    perm = torch.randperm(len(data), generator=generator).to(data.x.device)
    return data.x.index_select(0, perm), data.t.index_select(0, perm)


class MaskedNet:
    """Full-width network, the library's hand-written step, a 0/1 mask on the hidden outputs."""

    def __init__(self, model: PrunableMLP) -> None:
        self.model = model
        w = model.hidden.weight
        self.mask = torch.ones(model.n_hidden, dtype=w.dtype, device=w.device)
        self.alive = torch.ones(model.n_hidden, dtype=torch.bool, device=w.device)
        self.n_alive = model.n_hidden

    def weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.model
        return m.hidden.weight, m.hidden.bias, m.output.weight, m.output.bias

    @torch.no_grad()
    def step(self, xb: torch.Tensor, tb: torch.Tensor, lr: float) -> None:
        w1, b1, w2, b2 = self.weights()
        h = torch.addmm(b1, xb, w1.t()).sigmoid_().mul_(self.mask)
        o = torch.addmm(b2, h, w2.t()).sigmoid_()
        d2 = (o - tb).mul_(o).mul_(1.0 - o).div_(xb.shape[0])
        d1 = torch.mm(d2, w2).mul_(h).mul_(1.0 - h)  # h = 0 on masked neurons: no gradient
        w2.addmm_(d2.t(), h, alpha=-lr)
        b2.sub_(d2.sum(0), alpha=lr)
        w1.addmm_(d1.t(), xb, alpha=-lr)
        b1.sub_(d1.sum(0), alpha=lr)

    def train_epoch(self, data: Tensors, lr: float, batch_size: int, generator: torch.Generator) -> None:
        xs, ts = _shuffled(data, generator)
        for start in range(0, len(data), batch_size):
            self.step(xs[start : start + batch_size], ts[start : start + batch_size], lr)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w1, b1, w2, b2 = self.weights()
        return torch.addmm(b2, torch.addmm(b1, x, w1.t()).sigmoid_().mul_(self.mask), w2.t()).sigmoid_()

    @torch.no_grad()
    def evaluate(self, data: Tensors, chunk: int = 20000) -> tuple[float, float]:
        """bdnn.train.evaluate with the masked forward pass."""
        correct, loss = 0, 0.0
        for start in range(0, len(data), chunk):
            o = self.forward(data.x[start : start + chunk])
            correct += int((o.argmax(1) == data.y[start : start + chunk]).sum())
            loss += float(0.5 * (o - data.t[start : start + chunk]).double().pow(2).sum())
        return correct / len(data), loss / len(data)

    @torch.no_grad()
    def importance_alive(self) -> torch.Tensor:
        return importance(self.model)[self.alive]

    @torch.no_grad()
    def remove(self, drop: torch.Tensor) -> None:
        """Mask the neurons (indices into the full width); their weights are zeroed too."""
        w1, b1, w2, _ = self.weights()
        self.mask[drop] = 0
        self.alive[drop] = False
        w1[drop] = 0
        b1[drop] = 0
        w2[:, drop] = 0
        self.n_alive = int(self.alive.sum())

    @torch.no_grad()
    def alive_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Connection weights of the neurons still alive, in the layout physical removal has."""
        return self.model.hidden.weight[self.alive], self.model.output.weight[:, self.alive]

    def check_finite(self, where: str) -> None:
        check_finite(self.model, where)

    def state(self) -> dict[str, torch.Tensor]:
        s = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        s["mask"] = self.mask.clone()
        return s


class TorchPruneNet(MaskedNet):
    """torch.nn.utils.prune masks, autograd and torch.optim.SGD: the usual PyTorch way."""

    def __init__(self, model: PrunableMLP, lr: float) -> None:
        super().__init__(model)
        torch_prune.custom_from_mask(model.hidden, "weight", torch.ones_like(model.hidden.weight))
        torch_prune.custom_from_mask(model.hidden, "bias", torch.ones_like(model.hidden.bias))
        torch_prune.custom_from_mask(model.output, "weight", torch.ones_like(model.output.weight))
        self.opt = torch.optim.SGD(model.parameters(), lr=lr)

    def weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        # the trained tensors are the *_orig parameters; module.weight is only refreshed by a forward
        m = self.model
        return m.hidden.weight_orig, m.hidden.bias_orig, m.output.weight_orig, m.output.bias

    def train_epoch(self, data: Tensors, lr: float, batch_size: int, generator: torch.Generator) -> None:
        xs, ts = _shuffled(data, generator)
        model, opt = self.model, self.opt
        for start in range(0, len(data), batch_size):
            opt.zero_grad()
            loss = 0.5 * (model(xs[start : start + batch_size]) - ts[start : start + batch_size]).pow(2).sum(1).mean()
            loss.backward()
            opt.step()

    def evaluate(self, data: Tensors, chunk: int = 20000) -> tuple[float, float]:
        return evaluate(self.model, data, chunk)  # the pre-hooks apply the masks

    @torch.no_grad()
    def importance_alive(self) -> torch.Tensor:
        w1, _, w2, _ = self.weights()
        return (w1.abs().sum(dim=1) + w2.abs().sum(dim=0))[self.alive]

    @torch.no_grad()
    def remove(self, drop: torch.Tensor) -> None:
        m = self.model
        m.hidden.weight_mask[drop] = 0
        m.hidden.bias_mask[drop] = 0
        m.output.weight_mask[:, drop] = 0
        self.alive[drop] = False
        self.n_alive = int(self.alive.sum())

    @torch.no_grad()
    def alive_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        w1, _, w2, _ = self.weights()
        return w1[self.alive].detach(), w2[:, self.alive].detach()


def _mean_weight(w1: torch.Tensor, w2: torch.Tensor, n_in: int, n_alive: int, mode: str) -> float:
    """bdnn.fitness.mean_weight on the alive connections."""
    total = w1.double().abs().sum() + w2.double().abs().sum()
    return float(total / (w1.numel() + w2.numel())) if mode == "per_connection" else float(total / (n_in + n_alive))


def _connections(net: MaskedNet) -> torch.Tensor:
    w1, w2 = net.alive_weights()
    return torch.cat([w1.flatten(), w2.flatten()])


def _measure(
    net: MaskedNet,
    cfg: Mapping[str, Any],
    train_data: Tensors,
    eval_data: Tensors,
    test_data: Tensors,
    s_pair: tuple[torch.Tensor, torch.Tensor] | None,
) -> dict[str, Any]:
    """bdnn.develop.measure for a masked network (the same quantities, the same evaluations)."""
    fit = cfg["fitness"]
    a, _ = net.evaluate(eval_data)
    test_acc = a if eval_data is test_data else net.evaluate(test_data)[0]
    # The library records training loss/accuracy during the retraining epoch at almost no cost;
    # they are not compared here, so the masked runs skip them rather than pay a full extra pass.
    train_acc = train_loss = None
    n_in = net.model.n_in
    row: dict[str, Any] = {"A": a, "test_acc": test_acc, "train_loss": train_loss, "train_acc": train_acc}
    for mode in ("per_connection", "printed"):
        w1, w2 = net.alive_weights()
        row[f"E_{mode}"] = _mean_weight(w1, w2, n_in, net.n_alive, mode)
    return add_stability_and_fitness(row, fit, s_pair)


def develop_masked(
    task: Task, cfg: Mapping[str, Any], seed: int, backend: str = "mask", device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """bdnn.develop.develop with masking instead of removal; returns {curve, summary}."""
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}: one of {BACKENDS}")
    device = torch.device(device)
    prune = cfg["prune"]
    lr, bs = cfg["lr"], cfg["batch_size"]
    train_data = Tensors.of(task.train, task.n_classes, device)
    test_data = Tensors.of(task.test, task.n_classes, device)
    eval_data = test_data if task.validation is None else Tensors.of(task.validation, task.n_classes, device)
    gen = make_generator(seed, 0)
    model = build_model(cfg, task.n_classes, seed, device)
    net = MaskedNet(model) if backend == "mask" else TorchPruneNet(model, lr)

    t0 = time.perf_counter()
    for epoch in range(cfg["initial_epochs"]):
        net.train_epoch(train_data, lr, bs, gen)
        net.check_finite(f"initial training, epoch {epoch + 1}")
    row = {"iteration": 0, "hidden": net.n_alive, "pruned": 0}
    row.update(_measure(net, cfg, train_data, eval_data, test_data, None))
    row["seconds"] = time.perf_counter() - t0
    curve = [row]

    best_f, best_row, iteration = -float("inf"), None, 0
    while net.n_alive > prune["min_hidden"]:
        iteration += 1
        t0 = time.perf_counter()
        n = n_to_prune(net.n_alive, prune)
        alive_idx = torch.nonzero(net.alive).flatten().cpu()
        net.remove(alive_idx[least_important(net.importance_alive(), n)].to(device))
        w_p = _connections(net)
        for epoch in range(cfg["retrain_epochs"]):
            net.train_epoch(train_data, lr, bs, gen)
            net.check_finite(f"iteration {iteration}, epoch {epoch + 1}")
        row = {"iteration": iteration, "hidden": net.n_alive, "pruned": n}
        row.update(_measure(net, cfg, train_data, eval_data, test_data, (w_p, _connections(net))))
        row["seconds"] = time.perf_counter() - t0
        curve.append(row)
        if row["F"] > best_f:
            best_f, best_row = row["F"], row
            net.state()  # the library keeps a copy of the best state; the same work here
        elif prune["patience"] is not None and iteration - best_row["iteration"] >= prune["patience"]:
            break
    if best_row is None:
        raise ValueError("no pruning iteration ran: min_hidden must be below hidden_init")
    summary = {
        "hidden_at_peak": best_row["hidden"],
        "peak_iteration": best_row["iteration"],
        "F_at_peak": best_row["F"],
        "A_at_peak": best_row["A"],
        "iterations": iteration,
        "seconds": sum(r["seconds"] for r in curve),
    }
    return {"curve": curve, "summary": summary}
