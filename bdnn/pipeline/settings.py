"""The method's typed settings (bdnn.method.settings), built once from a validated config. The
schema is the one source of defaults: these functions only read keys, never supply them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bdnn.method.settings import (
    DevelopSettings,
    FitnessSettings,
    NetworkSettings,
    PruneSettings,
    TrainedStart,
    TrainingSettings,
    TransferSettings,
)


def training_settings(cfg: Mapping[str, Any]) -> TrainingSettings:
    ts = cfg["trained_start"]
    return TrainingSettings(
        lr=cfg["lr"],
        batch_size=cfg["batch_size"],
        initial_epochs=cfg["initial_epochs"],
        retrain_epochs=cfg["retrain_epochs"],
        equal_steps=cfg["equal_steps"],
        trained_start=None if ts is None else TrainedStart(patience=ts["patience"], max_epochs=ts["max_epochs"], min_steps=ts["min_steps"]),
    )


def develop_settings(cfg: Mapping[str, Any]) -> DevelopSettings:
    """Everything a develop run depends on besides its data and seed."""
    p, f = cfg["prune"], cfg["fitness"]
    return DevelopSettings(
        network=NetworkSettings(hidden_init=cfg["hidden_init"], init=cfg["init"]),
        training=training_settings(cfg),
        prune=PruneSettings(
            schedule=p["schedule"], fraction=p["fraction"], count=p["count"], min_hidden=p["min_hidden"], patience=p["patience"]
        ),
        fitness=fitness_settings(f),
    )


def fitness_settings(fit: Mapping[str, Any]) -> FitnessSettings:
    """A config's fitness block (or a study cell's) as settings."""
    return FitnessSettings(
        alpha=fit["alpha"], beta=fit["beta"], gamma=fit["gamma"], stability=fit["stability"], mean_weight=fit["mean_weight"]
    )


def transfer_settings(cfg: Mapping[str, Any]) -> TransferSettings:
    t = cfg["transfer"]
    return TransferSettings(epochs=t["epochs"], max_epochs=t["max_epochs"], records=t["records"], log_every=t["log_every"])
