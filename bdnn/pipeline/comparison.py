"""The comparison's runs (docs/method.md, "The comparison"; `make compare`): one variant of the
config per dataset and pruning criterion, each a whole config with its own settings key, so the
default sweep's Eq. 1 runs are the MNIST Eq. 1 variant's and are reused. Importable without torch:
the workflow reads the variants at parse time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bdnn.pipeline.config import ConfigError, merge, validate_config
from bdnn.pipeline.keys import settings_key

REFERENCE = "eq1"  # the paper's criterion: every other criterion, and scratch, is its baseline


@dataclass(frozen=True)
class Variant:
    dataset: str
    criterion: str
    config: dict[str, Any]  # the whole config (the sweep's lists; its own dataset cache)
    key: str  # the settings key of its develop runs

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.criterion}"


def compare_block(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The config's compare block, checked against the sweep (one line naming the key)."""
    block = cfg.get("compare")
    if block is None:
        raise ConfigError("config key compare: the comparison is off (null); run it with `make compare` (config/compare.yaml)")
    if block["datasets"][0] != cfg["dataset"]:
        raise ConfigError(f"config key compare.datasets: must start with the configured dataset {cfg['dataset']!r}")
    if REFERENCE not in block["criteria"]:
        raise ConfigError(f"config key compare.criteria: must include {REFERENCE} (the reference every baseline is compared with)")
    if block["classes"] not in cfg["classes"]:
        raise ConfigError(f"config key compare.classes: {block['classes']!r} is not a key of classes ({', '.join(cfg['classes'])})")
    missing = sorted(set(block["samples"]) - set(cfg["samples"]))
    if missing:
        raise ConfigError(f"config key compare.samples: {missing} are not among the sweep's samples")
    return dict(block)


def cache_of(cfg: Mapping[str, Any], dataset: str) -> str:
    """The verified cache of `dataset`: the config's own, or a file named for the dataset beside it."""
    if dataset == cfg["dataset"]:
        return str(cfg["cache"])
    return str(Path(cfg["cache"]).with_name(f"{dataset}.npz"))


def variants(cfg: Mapping[str, Any]) -> list[Variant]:
    """Every dataset x criterion of the compare block (datasets first), each validated as a whole
    config that keeps the sweep's places (results, MLflow) and reads its dataset's cache."""
    block = compare_block(cfg)
    out = []
    for dataset in block["datasets"]:
        for name in block["criteria"]:
            overrides = {"dataset": dataset, "prune": {"criterion": name}, "cache": cache_of(cfg, dataset)}
            if dataset != cfg["dataset"]:
                overrides["data_dir"] = None  # the configured data_dir holds the configured dataset's files
            try:
                variant = validate_config(merge(cfg, overrides))
            except ConfigError as exc:
                raise ConfigError(f"compare {dataset}/{name}: {exc}") from None
            out.append(Variant(dataset, name, variant, settings_key(variant)))
    return out
