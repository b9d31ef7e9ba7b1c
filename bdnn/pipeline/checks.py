"""The config rules a JSON Schema cannot express: sample counts that divide by the classes and
fit the dataset, the floor below the start, the transfer's draws, the size of the validation draw."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bdnn.pipeline.config import ConfigError, dataset_of


def validation_size(cfg: Mapping[str, Any]) -> int:
    """The size of the held-out validation draw a run needs: fitness.validation_size where A is
    measured on it (fitness.eval_split: validation) or the initial phase stops on it
    (trained_start), else 0."""
    needed = cfg["fitness"]["eval_split"] == "validation" or cfg.get("trained_start") is not None
    return cfg["fitness"]["validation_size"] if needed else 0


def check_weights(weights: Sequence[float], key: str) -> None:
    """Eq. 7 needs at least one positive weight: with alpha = beta = gamma = 0, F is 0 everywhere."""
    if not any(w > 0 for w in weights):
        raise ConfigError(f"config key {key}: alpha, beta and gamma are all 0, so F would be 0 everywhere; give one a positive weight")


def check_semantics(cfg: Mapping[str, Any], check_transfer: bool = True, check_lists: bool = True) -> None:
    """Rules a JSON Schema cannot express: counts divisible by classes, floor below the start, ...
    Without `check_lists` the sweep's sample counts are not checked (a job checks its own, see
    bdnn.pipeline.config.job_config); without `check_transfer` the transfer blocks are not."""
    fit = cfg["fitness"]
    check_weights([fit["alpha"], fit["beta"], fit["gamma"]], "fitness")
    if cfg["prune"]["min_hidden"] >= cfg["hidden_init"]:
        raise ConfigError(f"config key prune.min_hidden: {cfg['prune']['min_hidden']} must be below hidden_init ({cfg['hidden_init']})")
    data = dataset_of(cfg)
    for name, digits in cfg["classes"].items() if check_lists else ():
        n = len(digits)
        have = data.available_per_class(digits)
        extra = validation_size(cfg)
        for s in cfg["samples"]:
            if s % n:
                raise ConfigError(
                    f"config key samples: {s} does not divide by the {n} classes of subset {name!r}; "
                    "use a multiple of the class count (stratified sampling)"
                )
            if (s + extra) // n > have:
                raise ConfigError(
                    f"config key samples: {s} samples for subset {name!r} need {(s + extra) // n} training images "
                    f"per class, but its rarest {data.class_word} has only {have}"
                )
    if validation_size(cfg):
        for name, digits in cfg["classes"].items():
            if cfg["fitness"]["validation_size"] % len(digits):
                raise ConfigError(
                    f"config key fitness.validation_size: {cfg['fitness']['validation_size']} does not divide by "
                    f"the {len(digits)} classes of subset {name!r}"
                )
    if check_transfer:
        check_transfer_keys(cfg)
        check_task_transfer_keys(cfg)


def check_task_transfer_keys(cfg: Mapping[str, Any]) -> None:
    """task_transfer.* must name a class subset, a disjoint new task, and divisible draws."""
    tt = cfg["task_transfer"]
    if tt is None:
        return
    if tt["from"] not in cfg["classes"]:
        raise ConfigError(
            f"config key task_transfer.from: {tt['from']!r} is not a key of classes ({', '.join(cfg['classes'])}); "
            "name one, or set task_transfer: null to switch the transfer to another task off"
        )
    shared = sorted(set(tt["to"]) & set(cfg["classes"][tt["from"]]))
    if shared:
        raise ConfigError(f"config key task_transfer.to: class(es) {shared} are also in {tt['from']!r}: the new task must be another one")
    for n in tt["new_samples"]:
        if n % len(tt["to"]):
            raise ConfigError(
                f"config key task_transfer.new_samples: {n} does not divide by the {len(tt['to'])} classes of task_transfer.to"
            )
    t = cfg["transfer"]
    if t["samples"] % len(cfg["classes"][tt["from"]]):
        raise ConfigError(
            f"config key transfer.samples: {t['samples']} does not divide by the classes of task_transfer.from {tt['from']!r}"
        )
    have = dataset_of(cfg).available_per_class(tt["to"])
    # per digit of the new task: the main transfer's draws (those digits among its classes) and the new task's
    main = len(cfg["classes"][t["classes"]])
    overlap = set(tt["to"]) & set(cfg["classes"][t["classes"]])
    val = validation_size(cfg)
    need = sum(tt["new_samples"]) // len(tt["to"]) + (((t["samples"] + sum(t["new_samples"]) + val) // main) if overlap else 0)
    if need > have:
        raise ConfigError(
            f"config key task_transfer.new_samples: the draws need {need} training images per class of {tt['to']} "
            f"(with the main transfer's), but the rarest has only {have}"
        )


def check_transfer_keys(cfg: Mapping[str, Any]) -> None:
    """transfer.* must name a class subset and leave room for the unseen-sample draws."""
    t = cfg["transfer"]
    if (t["records"] is None) == (t["log_every"] is None):
        raise ConfigError(
            "config keys transfer.records and transfer.log_every: set exactly one (records: a number of steps spaced "
            f"geometrically over each curve; log_every: every so many mini-batches), not {t['records']!r} and {t['log_every']!r}"
        )
    if t["classes"] not in cfg["classes"]:
        raise ConfigError(f"config key transfer.classes: {t['classes']!r} is not a key of classes ({', '.join(cfg['classes'])})")
    digits = cfg["classes"][t["classes"]]
    n, have = len(digits), dataset_of(cfg).available_per_class(digits)
    for new in t["new_samples"]:
        if new % n:
            raise ConfigError(f"config key transfer.new_samples: {new} does not divide by the {n} classes")
        if (t["samples"] + new) // n > have:
            raise ConfigError(
                f"config key transfer.new_samples: {t['samples']} + {new} samples need more training images "
                f"per class than the rarest {dataset_of(cfg).class_word} has ({have})"
            )
    if t["samples"] % n:
        raise ConfigError(f"config key transfer.samples: {t['samples']} does not divide by the {n} classes")
