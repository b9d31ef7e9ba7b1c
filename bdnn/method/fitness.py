"""The fitness function of BDNN-sp: accuracy A (Eq. 2), stability S (Eqs. 3-5), mean of weights
E (Eq. 6) and F (Eq. 7), with the two readings of S and E of docs/method.md."""

from __future__ import annotations

import torch

from bdnn.method.model import PrunableMLP
from bdnn.method.names import MEAN_WEIGHT_MODES, STABILITY_MODES


def accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """Eq. 2: A = N_c / N_s, the share of correctly classified samples."""
    if labels.numel() == 0:
        raise ValueError("accuracy of an empty set")
    return float((predicted == labels).sum().item()) / labels.numel()


def stability(w_pruned: torch.Tensor, w_retrained: torch.Tensor, mode: str) -> float:
    """Eqs. 3-5: S = H(p) / (max_i |p_i log2 p_i| * N_c) with p = |w_r - w_p| (Eq. 3).

    H(p) = -sum_i p_i log2 p_i (Eq. 4) with 0 log 0 = 0. `normalized` first divides p by its
    sum (p as a probability distribution); `raw` uses p as printed. If every term is 0, S = 0.
    Computed in float64.
    """
    if mode not in STABILITY_MODES:
        raise ValueError(f"stability mode {mode!r}: one of {STABILITY_MODES}")
    if w_pruned.shape != w_retrained.shape or w_pruned.dim() != 1:
        raise ValueError("stability needs two 1-D tensors of the same length")
    p = (w_retrained.detach().double() - w_pruned.detach().double()).abs()
    n_c = p.numel()
    if mode == "normalized":
        total = p.sum()
        if total == 0:
            return 0.0
        p = p / total
    terms = torch.where(p > 0, p * torch.log2(torch.where(p > 0, p, torch.ones_like(p))), torch.zeros_like(p))
    denom = terms.abs().max() * n_c if n_c else torch.tensor(0.0)
    if denom == 0:
        return 0.0
    return float((-terms.sum() / denom).item())


@torch.no_grad()
def mean_weight(model: PrunableMLP, mode: str) -> float:
    """Eq. 6, mean of weights (biases excluded).

    `printed`: (sum|W1| + sum|W2|) / (n + m), n inputs, m remaining hidden neurons, as printed.
    `per_connection`: the same sum divided by the number of those weights.
    """
    total = model.hidden.weight.double().abs().sum() + model.output.weight.double().abs().sum()
    if mode == "per_connection":
        return float(total / (model.hidden.weight.numel() + model.output.weight.numel()))
    if mode == "printed":
        return float(total / (model.n_in + model.n_hidden))
    raise ValueError(f"mean_weight mode {mode!r}: one of {MEAN_WEIGHT_MODES}")


def fitness(a: float, s: float, e: float, alpha: float, beta: float, gamma: float) -> float:
    """Eq. 7: F = alpha A + beta S + gamma E (works elementwise on arrays and Series too)."""
    return alpha * a + beta * s + gamma * e
