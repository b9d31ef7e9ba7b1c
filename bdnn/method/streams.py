"""Every random stream of the method and its data, named by what it draws.

A stream is derived from (seed, stream id, extra...) through numpy's SeedSequence, so streams are
independent of each other and of the order in which a job uses them. Two families share the id
space: `draw` streams are numpy Generators (which images a task or a draw takes), `torch` streams
seed a torch Generator (a sample order) or a network's initialisation. The ids are part of every
result: changing one changes the results (tests/test_method.py pins them).

The initial network itself is seeded with the run's seed alone (`torch.manual_seed(seed)`, see
bdnn.method.model.initial_network), as it always was.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
import torch


class Stream(Enum):
    """(family, id) of each random stream."""

    TRAIN_DRAW = ("draw", 0)  # the task's stratified training draw
    VALIDATION_DRAW = ("draw", 1)  # the held-out validation draw (fitness.eval_split, trained_start)
    NEW_SAMPLES_DRAW = ("draw", 2)  # each draw of unseen samples for the transfer (extra: its size)
    TASK_DRAW = ("draw", 6)  # each training draw of the transfer to another task (extra: its size)
    ORDER = ("torch", 0)  # the mini-batch order of a develop run (shared by the controls trained on its samples)
    TRANSFER_ORDER = ("torch", 2)  # the mini-batch order of a transfer on one draw (extra: the draw's size)
    SCRATCH = ("torch", 3)  # the scratch control's initialisation
    SCRATCH_ORDER = ("torch", 7)  # the scratch control's sample order (its own stream, not its initialisation's seed)
    RANDOM_PRUNING = ("torch", 4)  # the random control's choice of neurons
    NEW_HEAD = ("torch", 5)  # the fresh output layer of the transfer to another task
    CRITERION = ("torch", 8)  # the order of prune.criterion: random (apart from the random control's)

    @property
    def family(self) -> str:
        return self.value[0]

    @property
    def id(self) -> int:
        return self.value[1]


def _check(stream: Stream, family: str) -> None:
    if stream.family != family:
        raise ValueError(f"{stream.name} is a {stream.family} stream, not a {family} one")


def stream_seed(seed: int, stream: Stream, *extra: int) -> int:
    """An independent integer seed for the torch stream (seed, stream, extra...)."""
    _check(stream, "torch")
    return int(np.random.SeedSequence([seed, stream.id, *extra]).generate_state(1)[0])


def torch_generator(seed: int, stream: Stream, *extra: int) -> torch.Generator:
    """A CPU torch Generator for the torch stream (seed, stream, extra...)."""
    return torch.Generator().manual_seed(stream_seed(seed, stream, *extra))


def numpy_rng(seed: int, stream: Stream, *extra: int) -> np.random.Generator:
    """A numpy Generator for the draw stream (seed, stream, extra...)."""
    _check(stream, "draw")
    return np.random.default_rng([seed, stream.id, *extra])
