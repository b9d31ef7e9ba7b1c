"""A three-layer sigmoid MLP whose hidden neurons can be removed physically."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class PrunableMLP(nn.Module):
    """n_in -> n_hidden (sigmoid) -> n_out (sigmoid); `hidden` and `output` are nn.Linear."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, init: str = "default") -> None:
        super().__init__()
        if min(n_in, n_hidden, n_out) < 1:
            raise ValueError(f"layer sizes must be positive, got {n_in}-{n_hidden}-{n_out}")
        self.hidden = nn.Linear(n_in, n_hidden)
        self.output = nn.Linear(n_hidden, n_out)
        if init == "xavier_uniform":
            for layer in (self.hidden, self.output):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
        elif init != "default":
            raise ValueError(f"unknown init {init!r}: default or xavier_uniform")

    @property
    def n_in(self) -> int:
        return self.hidden.in_features

    @property
    def n_hidden(self) -> int:
        return self.hidden.out_features

    @property
    def n_out(self) -> int:
        return self.output.out_features

    def forward_hidden(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.hidden(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.output(self.forward_hidden(x)))

    @torch.no_grad()
    def remove_hidden(self, indices: Sequence[int] | torch.Tensor) -> None:
        """Physically drop hidden neurons: rows of hidden.weight/bias and columns of output.weight."""
        drop = torch.as_tensor(indices, dtype=torch.long, device=self.hidden.weight.device).flatten()
        if drop.numel() == 0:
            return
        if drop.min() < 0 or drop.max() >= self.n_hidden or drop.unique().numel() != drop.numel():
            raise IndexError(f"hidden indices must be distinct and in [0, {self.n_hidden}), got {drop.tolist()}")
        if drop.numel() >= self.n_hidden:
            raise ValueError("cannot remove every hidden neuron")
        keep = torch.ones(self.n_hidden, dtype=torch.bool, device=drop.device)
        keep[drop] = False
        self.hidden.weight = nn.Parameter(self.hidden.weight[keep].contiguous())
        self.hidden.bias = nn.Parameter(self.hidden.bias[keep].contiguous())
        self.output.weight = nn.Parameter(self.output.weight[:, keep].contiguous())
        self.hidden.out_features = int(keep.sum())
        self.output.in_features = self.hidden.out_features

    def connection_weights(self) -> torch.Tensor:
        """All connection weights of both layers, flattened (biases excluded): the N_c of Eqs. 3-5."""
        return torch.cat([self.hidden.weight.detach().flatten(), self.output.weight.detach().flatten()])


def initial_network(n_in: int, n_hidden: int, n_out: int, init: str, seed: int, device: torch.device | str = "cpu") -> PrunableMLP:
    """A network n_in -> n_hidden -> n_out initialised from `seed` (torch's global generator,
    seeded here): the over-complete start of a run, or a fresh network of another width."""
    torch.manual_seed(seed)
    return PrunableMLP(n_in, n_hidden, n_out, init=init).to(device)
