"""Neuron importance (Eq. 1) and the choice of which neurons to prune (Algorithm 1, step 2)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from bdnn.model import PrunableMLP


@torch.no_grad()
def importance(model: PrunableMLP) -> torch.Tensor:
    """Eq. 1: I_j = sum_i |W1[j, i]| + sum_k |W2[k, j]| (biases excluded); shape (n_hidden,)."""
    return model.hidden.weight.abs().sum(dim=1) + model.output.weight.abs().sum(dim=0)


def n_to_prune(n_hidden: int, prune: Mapping[str, Any]) -> int:
    """Algorithm 1, step 2: how many neurons one iteration prunes under the config's `prune`
    mapping: ceil(fraction x remaining) or `count`, never below `min_hidden`."""
    if prune["schedule"] == "fraction":
        n = math.ceil(prune["fraction"] * n_hidden)
    elif prune["schedule"] == "count":
        n = prune["count"]
    else:
        raise ValueError(f"unknown prune schedule {prune['schedule']!r}")
    return max(0, min(n, n_hidden - prune["min_hidden"]))


def least_important(scores: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of the `n` smallest scores; ties go to the lower index (stable sort)."""
    order = torch.sort(scores.detach().cpu(), stable=True).indices
    return order[:n]


def schedule_sizes(hidden_init: int, prune: Mapping[str, Any]) -> list[int]:
    """Hidden sizes after each pruning iteration, from the first down to the floor."""
    sizes, m = [], hidden_init
    while m > prune["min_hidden"]:
        m -= n_to_prune(m, prune)
        sizes.append(m)
    return sizes
