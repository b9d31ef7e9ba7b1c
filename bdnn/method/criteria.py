"""Pruning criteria (Algorithm 1, step 2) and the schedule of how many neurons each iteration prunes.

A criterion is an object: it may observe training (`observe`, called on each mini-batch of the last
training epoch of every phase with the hidden activations and the loss gradient with respect to
them) and then scores the hidden neurons (`scores`: lower = pruned first). Eq. 1 and the random
control observe nothing; a criterion that needs training statistics sets `observes = True` and
plugs in without touching the developmental loop (bdnn.method.develop).
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
