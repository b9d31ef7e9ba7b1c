"""Pruning criteria (Algorithm 1, step 2) and the schedule of how many neurons each iteration prunes.

A criterion is an object: it may observe training (`observe`, called on each mini-batch of the last
training epoch of every phase with the hidden activations and the loss gradient with respect to
them) and then scores the hidden neurons (`scores`: lower = pruned first). Eq. 1, the random order
and the magnitude criterion observe nothing; Taylor and activation set `observes = True` and plug
in without touching the developmental loop (bdnn.method.develop). `criterion(name, generator)`
builds one by its name (the config key prune.criterion).
"""

from __future__ import annotations

import math

import torch

from bdnn.method.model import PrunableMLP
from bdnn.method.settings import PruneSettings


class Criterion:
    """The interface of a pruning criterion."""

    name = "criterion"
    observes = False  # whether the loop must call start_epoch/observe during training

    def start_epoch(self) -> None:
        """Called before the last training epoch of each phase (an observing criterion resets here)."""

    def observe(self, hidden: torch.Tensor, grad_hidden: torch.Tensor) -> None:
        """One mini-batch of the last training epoch: hidden activations (B, m) before the update,
        and d loss / d hidden (B, m) for the batch's mean loss. Both are valid only during the call."""

    def scores(self, model: PrunableMLP) -> torch.Tensor:
        """One score per hidden neuron, shape (n_hidden,); the lowest are pruned."""
        raise NotImplementedError

    def snapshot(self) -> object:
        """A copy of what it has observed (the trained start keeps its best epoch's)."""
        return None

    def restore(self, state: object) -> None:
        """Go back to a snapshot."""

    def select(self, model: PrunableMLP, n: int) -> torch.Tensor:
        """The indices of the n neurons to prune: the n lowest scores (ties to the lower index)."""
        return least_important(self.scores(model), n)


class Eq1(Criterion):
    """The paper's Eq. 1: I_j = sum_i |W1[j, i]| + sum_k |W2[k, j]| (biases excluded)."""

    name = "eq1"

    def scores(self, model: PrunableMLP) -> torch.Tensor:
        return importance(model)


class RandomCriterion(Criterion):
    """The random control: a uniformly random order of the neurons from `generator` (the n pruned
    are the first n of torch.randperm(n_hidden, generator=generator))."""

    name = "random"

    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator

    def scores(self, model: PrunableMLP) -> torch.Tensor:
        perm = torch.randperm(model.n_hidden, generator=self.generator)
        ranks = torch.empty(model.n_hidden)
        ranks[perm] = torch.arange(model.n_hidden, dtype=ranks.dtype)
        return ranks


class Magnitude(Criterion):
    """The L1 norm of each hidden neuron's incoming weights (bias excluded): the neurons that
    torch.nn.utils.prune.ln_structured(hidden, "weight", n=1, dim=0) removes. Unlike Eq. 1 it
    ignores the outgoing weights (Torch-Pruning's group magnitude importance sums both, as Eq. 1 does)."""

    name = "magnitude"

    @torch.no_grad()
    def scores(self, model: PrunableMLP) -> torch.Tensor:
        return model.hidden.weight.abs().sum(dim=1)


class _Accumulating(Criterion):
    """A criterion built from per-neuron sums over the mini-batches of the last training epoch
    (float64 on the device; reset by start_epoch)."""

    observes = True

    def __init__(self) -> None:
        self.sums: list[torch.Tensor] = []
        self.count = 0  # mini-batches (Taylor) or samples (activation) observed

    def start_epoch(self) -> None:
        self.sums, self.count = [], 0

    def _add(self, *terms: torch.Tensor, count: int) -> None:
        if not self.sums:
            self.sums = [torch.zeros(t.shape[-1], dtype=torch.float64, device=t.device) for t in terms]
        for total, term in zip(self.sums, terms, strict=True):
            total.add_(term)
        self.count += count

    def _means(self, model: PrunableMLP) -> list[torch.Tensor]:
        if not self.count or self.sums[0].numel() != model.n_hidden:
            raise RuntimeError(f"the {self.name} criterion has observed no training epoch of this network")
        return [t / self.count for t in self.sums]

    def snapshot(self) -> object:
        return [t.clone() for t in self.sums], self.count

    def restore(self, state: object) -> None:
        sums, self.count = state  # type: ignore[misc]
        self.sums = [t.clone() for t in sums]


class Taylor(_Accumulating):
    """First-order Taylor (Molchanov et al. 2017): per mini-batch |sum over its samples of
    a_j x dL/da_j| (L the mini-batch's mean loss), averaged over the mini-batches of the last
    training epoch; no extra pass over the data. The absolute value is taken per mini-batch: a
    signed sum over an epoch tends to zero near a stationary point."""

    name = "taylor"

    @torch.no_grad()
    def observe(self, hidden: torch.Tensor, grad_hidden: torch.Tensor) -> None:
        self._add((hidden * grad_hidden).sum(0).abs().double(), count=1)

    def scores(self, model: PrunableMLP) -> torch.Tensor:
        return self._means(model)[0].float()


class Activation(_Accumulating):
    """The variance of each hidden neuron's activation over the training samples of the last
    epoch (each seen just before its mini-batch's update): a nearly constant unit scores low."""

    name = "activation"

    @torch.no_grad()
    def observe(self, hidden: torch.Tensor, grad_hidden: torch.Tensor) -> None:
        h = hidden.double()
        self._add(h.sum(0), (h * h).sum(0), count=h.shape[0])

    def scores(self, model: PrunableMLP) -> torch.Tensor:
        mean, mean_sq = self._means(model)
        return (mean_sq - mean * mean).clamp_(min=0).float()


# prune.criterion -> the class; `random` needs its generator (bdnn.method.streams.Stream.CRITERION).
CRITERIA: dict[str, type[Criterion]] = {c.name: c for c in (Eq1, RandomCriterion, Magnitude, Taylor, Activation)}


def criterion(name: str, generator: torch.Generator | None = None) -> Criterion:
    """The criterion of this name (CRITERIA); `random` draws its order from `generator`."""
    if name not in CRITERIA:
        raise ValueError(f"unknown pruning criterion {name!r}: one of {', '.join(CRITERIA)}")
    if name == RandomCriterion.name:
        if generator is None:
            raise ValueError("the random criterion needs a generator")
        return RandomCriterion(generator)
    return CRITERIA[name]()


@torch.no_grad()
def importance(model: PrunableMLP) -> torch.Tensor:
    """Eq. 1: I_j = sum_i |W1[j, i]| + sum_k |W2[k, j]| (biases excluded); shape (n_hidden,)."""
    return model.hidden.weight.abs().sum(dim=1) + model.output.weight.abs().sum(dim=0)


def least_important(scores: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of the `n` smallest scores; ties go to the lower index (stable sort)."""
    order = torch.sort(scores.detach().cpu(), stable=True).indices
    return order[:n]


def n_to_prune(n_hidden: int, prune: PruneSettings) -> int:
    """How many neurons one iteration prunes: ceil(fraction x remaining) or `count`, never below
    the floor `min_hidden`."""
    if prune.schedule == "fraction":
        n = math.ceil(prune.fraction * n_hidden)
    elif prune.schedule == "count":
        n = prune.count
    else:
        raise ValueError(f"unknown prune schedule {prune.schedule!r}")
    return max(0, min(n, n_hidden - prune.min_hidden))


def schedule_sizes(hidden_init: int, prune: PruneSettings) -> list[int]:
    """Hidden sizes after each pruning iteration, from the first down to the floor."""
    sizes, m = [], hidden_init
    while m > prune.min_hidden:
        m -= n_to_prune(m, prune)
        sizes.append(m)
    return sizes
