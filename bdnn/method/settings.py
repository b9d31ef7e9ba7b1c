"""The method's settings as small frozen dataclasses: what each function of bdnn.method depends on
is visible in its signature, and the method can be called without a config file.

They have no field defaults on purpose: the project's JSON Schema is the one source of defaults,
and the pipeline builds these once from a validated config (bdnn.pipeline.settings). A notebook
builds them by hand, every field given.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkSettings:
    hidden_init: int  # hidden neurons of the initial, over-complete network
    init: str  # "default" (PyTorch's nn.Linear) or "xavier_uniform"


@dataclass(frozen=True)
class TrainedStart:
    patience: int  # epochs without a better validation accuracy before the initial phase stops
    max_epochs: int  # at most this many epochs of initial training
    min_steps: int  # SGD steps of initial training before patience may stop it (0 = from the start)


@dataclass(frozen=True)
class TrainingSettings:
    lr: float
    batch_size: int
    initial_epochs: int  # epochs of the full network before pruning (unless trained_start)
    retrain_epochs: int  # epochs of retraining after each pruning step
    equal_steps: int | None  # every phase gets the SGD steps of a run on this many samples; None = by epochs
    trained_start: TrainedStart | None  # None = initial_epochs


@dataclass(frozen=True)
class PruneSettings:
    schedule: str  # "fraction" (ceil(fraction x remaining)) or "count"
    fraction: float
    count: int
    min_hidden: int  # the floor of the hidden layer
    patience: int | None  # stop once F has not improved for this many iterations; None = to the floor


@dataclass(frozen=True)
class FitnessSettings:
    alpha: float
    beta: float
    gamma: float
    stability: str  # the reading of S used in F: "normalized" or "raw"
    mean_weight: str  # the reading of E used in F: "per_connection" or "printed"


@dataclass(frozen=True)
class DevelopSettings:
    """Everything a developmental run (Algorithm 1) depends on besides its data and seed."""

    network: NetworkSettings
    training: TrainingSettings
    prune: PruneSettings
    fitness: FitnessSettings


@dataclass(frozen=True)
class TransferSettings:
    epochs: int  # epochs of training on each draw of new samples
    max_epochs: int  # cap on the accuracy-matched un-pruned network's epochs
    records: int | None  # error_new at this many steps spaced geometrically over the curve (None: every log_every)
    log_every: int | None  # with records None: error_new every this many mini-batches of each epoch
