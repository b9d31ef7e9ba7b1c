"""Neuron importance (Eq. 1) and the choice of which neurons to prune (Algorithm 1, step 2)."""

from __future__ import annotations

import math

import torch

from bdnn.model import PrunableMLP


@torch.no_grad()
def importance(model: PrunableMLP) -> torch.Tensor:
    """Eq. 1: I_j = sum_i |W1[j, i]| + sum_k |W2[k, j]| (biases excluded); shape (n_hidden,)."""
    return model.hidden.weight.abs().sum(dim=1) + model.output.weight.abs().sum(dim=0)


def n_to_prune(n_hidden: int, schedule: str, fraction: float, count: int, min_hidden: int) -> int:
    """How many neurons one iteration prunes: ceil(fraction x remaining) or `count`, never below the floor."""
    if schedule == "fraction":
        n = math.ceil(fraction * n_hidden)
    elif schedule == "count":
        n = count
    else:
        raise ValueError(f"unknown prune schedule {schedule!r}")
    return max(0, min(n, n_hidden - min_hidden))


def least_important(scores: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of the `n` smallest scores; ties go to the lower index (stable sort)."""
    order = torch.sort(scores.detach().cpu(), stable=True).indices
    return order[:n]


def schedule_sizes(hidden_init: int, schedule: str, fraction: float, count: int, min_hidden: int) -> list[int]:
    """Hidden sizes after each pruning iteration, from the first down to the floor."""
    sizes, m = [], hidden_init
    while m > min_hidden:
        m -= n_to_prune(m, schedule, fraction, count, min_hidden)
        sizes.append(m)
    return sizes
