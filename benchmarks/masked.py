"""The reference physical removal is measured against: a network that masks its pruned neurons,
keeping every matrix at its initial width, run through the library's own bdnn.method.develop.develop.

A masked neuron gets zero incoming and outgoing weights and the bias DEAD_BIAS: its sigmoid is
exactly 0 (float32 underflows below -104), so every gradient through it and every update of its
weights is exactly 0, and the mask survives the library's in-place SGD step with nothing
re-applying it. develop() sees the alive neurons only: n_hidden counts them, MaskedEq1 scores them
in order, remove_hidden takes their positions, connection_weights and state_dict give the
equivalent pruned network's weights. E under `per_connection` (and so F) differ from removal's:
bdnn.method.fitness.mean_weight divides by the weights' numel, the full width here; A, S and the
hidden sizes do not. Not for trained_start (it reloads states into the full-width network).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from bdnn.method.criteria import Eq1
from bdnn.method.model import PrunableMLP

DEAD_BIAS = -1e4


class MaskedMLP(PrunableMLP):
    """A PrunableMLP that masks instead of removing: the weights keep their initial shape."""

    def __init__(self, model: PrunableMLP) -> None:
        super().__init__(model.n_in, model.n_hidden, model.n_out)
        device = model.hidden.weight.device
        self.to(device)
        with torch.no_grad():
            for mine, theirs in zip(self.parameters(), model.parameters(), strict=True):
                mine.copy_(theirs)
        self.alive = torch.ones(model.n_hidden, dtype=torch.bool, device=device)
        self.n_alive = model.n_hidden

    @property
    def n_hidden(self) -> int:
        return self.n_alive

    def alive_index(self) -> torch.Tensor:
        return torch.nonzero(self.alive).flatten()

    @torch.no_grad()
    def remove_hidden(self, indices: Sequence[int] | torch.Tensor) -> None:
        """Mask the alive neurons at these positions (0 = the first alive neuron)."""
        pos = torch.as_tensor(indices, dtype=torch.long, device=self.alive.device).flatten()
        if pos.numel() >= self.n_alive:
            raise ValueError("cannot remove every hidden neuron")
        drop = self.alive_index()[pos]
        self.hidden.weight[drop] = 0
        self.hidden.bias[drop] = DEAD_BIAS
        self.output.weight[:, drop] = 0
        self.alive[drop] = False
        self.n_alive -= pos.numel()

    def connection_weights(self) -> torch.Tensor:
        a = self.alive
        return torch.cat([self.hidden.weight.detach()[a].flatten(), self.output.weight.detach()[:, a].flatten()])

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:  # type: ignore[override]
        """The equivalent physically pruned network's state (what develop() keeps of its peak)."""
        if args or kwargs:  # nn.Module's own recursive use: the full-width tensors
            return super().state_dict(*args, **kwargs)
        a = self.alive
        w1, b1, w2 = self.hidden.weight.detach(), self.hidden.bias.detach(), self.output.weight.detach()
        return {"hidden.weight": w1[a], "hidden.bias": b1[a], "output.weight": w2[:, a], "output.bias": self.output.bias.detach().clone()}


class MaskedEq1(Eq1):
    """Eq. 1 on the alive neurons of a MaskedMLP, in their order: the positions remove_hidden takes."""

    name = "eq1_masked"

    def scores(self, model: PrunableMLP) -> torch.Tensor:
        return super().scores(model)[model.alive]  # type: ignore[attr-defined]
