"""Mini-batch SGD for the sigmoid MLP with the paper's squared-error loss, and evaluation.

Loss = mean over the batch of 0.5 * sum_k (o_k - t_k)^2 (docs/method.md). The gradients are written
out by hand (two sigmoid layers): the same maths as autograd + torch.optim.SGD (a test checks
it), without autograd's per-step bookkeeping, which dominates at batch size 10.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from bdnn import BDNNError
from bdnn.method.fitness import accuracy
from bdnn.method.model import PrunableMLP

# observe(hidden, grad_hidden): a criterion's hook on each mini-batch (bdnn.method.criteria.Criterion.observe).
Observer = Callable[[torch.Tensor, torch.Tensor], None]


class NumericalError(BDNNError):
    """Loss or weights became NaN/inf."""


@dataclass
class Tensors:
    """Samples on the compute device: x (N, n_in) float32, y (N,) int64 labels 0..C-1, one-hot t."""

    x: torch.Tensor
    y: torch.Tensor
    t: torch.Tensor

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, n_classes: int, device: torch.device | str = "cpu") -> Tensors:
        """From numpy arrays: images as float32 rows, labels as integers 0..n_classes-1."""
        xt = torch.from_numpy(x).to(device)
        yt = torch.from_numpy(y).to(device)
        return cls(x=xt, y=yt, t=F.one_hot(yt, n_classes).to(xt.dtype))

    def __len__(self) -> int:
        return self.y.numel()


def check_finite(model: PrunableMLP, where: str) -> None:
    """Raise NumericalError if any weight or bias is NaN/inf."""
    for name, p in model.named_parameters():
        if not torch.isfinite(p).all():
            raise NumericalError(f"{where}: {name} became NaN/inf (learning rate too large?)")


@dataclass
class RunningStats:
    """Training loss and accuracy accumulated on the device during an epoch (0-d tensors)."""

    sq_err: torch.Tensor
    correct: torch.Tensor

    @classmethod
    def zeros(cls, device: torch.device) -> RunningStats:
        return cls(torch.zeros((), dtype=torch.float64, device=device), torch.zeros((), dtype=torch.int64, device=device))

    def result(self, n: int) -> tuple[float, float]:
        """(mean loss 0.5 * ||o - t||^2 per sample, accuracy) over `n` samples."""
        return 0.5 * float(self.sq_err) / n, int(self.correct) / n


@dataclass
class Batch:
    """One mini-batch: inputs, one-hot targets, and the labels where running statistics are kept."""

    x: torch.Tensor
    t: torch.Tensor
    y: torch.Tensor | None = None


@dataclass(frozen=True)
class Weights:
    """A network's weights and biases as plain tensors sharing its storage (SGD updates them in
    place), with the transposes the forward pass reads: looked up once an epoch, not every step."""

    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor
    w1t: torch.Tensor
    w2t: torch.Tensor

    @classmethod
    def of(cls, model: PrunableMLP) -> Weights:
        w1, b1 = model.hidden.weight.detach(), model.hidden.bias.detach()
        w2, b2 = model.output.weight.detach(), model.output.bias.detach()
        return cls(w1, b1, w2, b2, w1.t(), w2.t())


@torch.inference_mode()
def sgd_step(model: PrunableMLP, batch: Batch, lr: float, stats: RunningStats | None = None, observe: Observer | None = None) -> None:
    """One SGD step on a mini-batch for loss mean_b 0.5 * ||sigmoid-output - target||^2 (see
    `sgd_update`, which `train_epoch` calls for each mini-batch under one inference mode)."""
    sgd_update(Weights.of(model), batch, lr, stats, observe)


def sgd_update(w: Weights, batch: Batch, lr: float, stats: RunningStats | None = None, observe: Observer | None = None) -> None:
    """One SGD step on the weights `w` (call it under torch.inference_mode or torch.no_grad).

    With `stats` (and the batch's labels), adds the batch's summed squared error and its number of
    correct predictions (before the update), without a host synchronisation. With `observe`, calls
    it with the hidden activations and d loss / d hidden before the update.
    """
    xb, tb = batch.x, batch.t
    h = torch.addmm(w.b1, xb, w.w1t).sigmoid_()
    o = torch.addmm(w.b2, h, w.w2t).sigmoid_()
    err = o - tb
    if stats is not None:
        flat = err.view(-1)
        stats.sq_err.add_(torch.dot(flat, flat))
        stats.correct.add_((o.argmax(1) == batch.y).sum())
    # d loss / d z2 = (o - t) * o (1 - o) / B
    d2 = err.mul_(o).mul_(1.0 - o).div_(xb.shape[0])
    grad_h = torch.mm(d2, w.w2)  # d loss / d hidden
    if observe is not None:
        observe(h, grad_h)
    d1 = grad_h.mul_(h).mul_(1.0 - h)
    w.w2.addmm_(d2.t(), h, alpha=-lr)
    w.b2.sub_(d2.sum(0), alpha=lr)
    w.w1.addmm_(d1.t(), xb, alpha=-lr)
    w.b1.sub_(d1.sum(0), alpha=lr)


@dataclass
class EpochHooks:
    """What an epoch reports along the way: `on_batches(step)` after every `every` mini-batches
    (steps counted from `step0`), running statistics into `stats`, each batch to `observe`."""

    every: int = 0
    on_batches: Callable[[int], None] | None = None
    step0: int = 0
    stats: RunningStats | None = None
    observe: Observer | None = None


def train_epoch(
    model: PrunableMLP,
    data: Tensors,
    lr: float,
    batch_size: int,
    generator: torch.Generator,
    hooks: EpochHooks | None = None,
    limit: int | None = None,
) -> int:
    """One epoch over `data` in a shuffled order drawn from `generator`; returns the step count
    (from hooks.step0). With `limit`, stops after that many mini-batches (the order is drawn all
    the same, so a cut epoch uses the generator as a whole one does)."""
    hooks = hooks or EpochHooks()
    n = len(data)
    perm = torch.randperm(n, generator=generator).to(data.x.device)
    xs, ts = data.x.index_select(0, perm), data.t.index_select(0, perm)
    ys = data.y.index_select(0, perm) if hooks.stats is not None else None
    step = hooks.step0
    stop = n if limit is None else min(n, limit * batch_size)
    weights = Weights.of(model)
    xbs, tbs = xs[:stop].split(batch_size), ts[:stop].split(batch_size)
    ybs = [None] * len(xbs) if ys is None else ys[:stop].split(batch_size)
    with torch.inference_mode():  # once an epoch: per step it would cost more than a small network's step
        for xb, tb, yb in zip(xbs, tbs, ybs, strict=True):
            sgd_update(weights, Batch(xb, tb, yb), lr, hooks.stats, hooks.observe)
            step += 1
            if hooks.every and hooks.on_batches is not None and (step - hooks.step0) % hooks.every == 0:
                hooks.on_batches(step)
    return step


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Mini-batches in one epoch over n samples (the last one may be smaller)."""
    return math.ceil(n / batch_size)


def train(
    model: PrunableMLP,
    data: Tensors,
    lr: float,
    batch_size: int,
    epochs: int,
    generator: torch.Generator,
    where: str,
    steps: int | None = None,
    observe: Observer | None = None,
) -> tuple[float, float]:
    """`epochs` epochs of SGD, or with `steps` exactly that many mini-batch steps (as many epochs
    as they need, the last one cut short); NaN/inf weights stop with a NumericalError naming `where`.
    `observe` sees every mini-batch of the last epoch.

    Returns the last epoch's running training (loss, accuracy): the mean over its mini-batches,
    each measured just before its update (no extra pass over the training set).
    """
    per_epoch = steps_per_epoch(len(data), batch_size)
    if steps is not None:
        epochs = math.ceil(steps / per_epoch)
    stats = RunningStats.zeros(data.x.device)
    seen = len(data)
    for epoch in range(epochs):
        last = epoch == epochs - 1  # only the last epoch's statistics are reported
        limit = None if steps is None or not last else steps - per_epoch * epoch
        if limit is not None:
            seen = min(len(data), limit * batch_size)
        hooks = EpochHooks(stats=stats, observe=observe) if last else None
        try:
            train_epoch(model, data, lr, batch_size, generator, hooks, limit=limit)
        except RuntimeError as exc:
            if "overflow" not in str(exc):
                raise
            raise NumericalError(f"{where}, epoch {epoch + 1}: learning rate {lr} overflows the weights' dtype (NaN/inf)") from None
        check_finite(model, f"{where}, epoch {epoch + 1}")
    loss, acc = stats.result(seen)
    if not math.isfinite(loss):
        raise NumericalError(f"{where}: training loss is NaN/inf")
    return loss, acc


EVAL_CHUNK = 20000  # samples per forward pass of `evaluate` (bounds its activations' memory)


@torch.inference_mode()
def evaluate(model: PrunableMLP, data: Tensors, chunk: int = EVAL_CHUNK) -> tuple[float, float]:
    """(A, loss) of the model on a split: A by Eq. 2; loss is the training loss's mean over samples.
    The forward pass is the model's (the same addmm and sigmoid), its activations overwritten in place."""
    w = Weights.of(model)
    predicted, loss = [], 0.0
    for start in range(0, len(data), chunk):
        h = torch.addmm(w.b1, data.x[start : start + chunk], w.w1t).sigmoid_()
        o = torch.addmm(w.b2, h, w.w2t).sigmoid_()
        predicted.append(o.argmax(1))
        loss += float(0.5 * (o - data.t[start : start + chunk]).double().pow(2).sum())
    if not math.isfinite(loss):
        raise NumericalError("loss is NaN/inf")
    return accuracy(torch.cat(predicted), data.y), loss / len(data)
