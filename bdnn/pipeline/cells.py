"""The study's cells (docs/method.md, "The study"): each a full config that changes one factor from
the default. A cell that changes only how F is computed (the fitness weights) reuses the default
cell's runs and recomputes F from their recorded columns; every other cell has its own develop
runs (its own settings key). Importable without torch: the workflow reads the cells at parse time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bdnn.pipeline.checks import check_weights
from bdnn.pipeline.config import ConfigError, merge, validate_config
from bdnn.pipeline.keys import settings_key

# The built-in cells, each one change from the default config (the study block's values).
BUILTIN = ("default", "equal-steps", "trained-start", "paper-lr", "validation")


@dataclass(frozen=True)
class Cell:
    name: str
    config: dict[str, Any]  # the cell's whole config (the study block kept, so one file says everything; seeds: the study's)
    key: str  # the settings key of the develop runs it reads
    trained: bool  # its own runs (else the default cell's, F recomputed)
    change: str  # what differs from the default, in words


def _overrides(name: str, study: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    if name in study["weights"]:
        a, b, g = study["weights"][name]
        check_weights([a, b, g], f"study.weights.{name}")
        return {
            "fitness": {"alpha": a, "beta": b, "gamma": g}
        }, f"fitness weights alpha {a:.3g}, beta {b:.3g}, gamma {g:.3g} (F recomputed)"
    if name == "default":
        return {}, "the default config"
    if name == "equal-steps":
        n = study["equal_steps"]
        return {"equal_steps": n}, f"every phase gets the SGD steps of a {n:,}-sample run"
    if name == "trained-start":
        ts = study["trained_start"]
        return {"trained_start": dict(ts)}, (
            f"initial phase until the validation accuracy stops improving (patience {ts['patience']} after at least"
            f" {ts['min_steps']:,} SGD steps, at most {ts['max_epochs']} epochs)"
        )
    if name == "paper-lr":
        return {"lr": study["lr"]}, f"learning rate {study['lr']:g} (the paper's)"
    if name == "validation":
        return {"fitness": {"eval_split": "validation"}}, "A measured on a held-out validation draw (fitness.eval_split: validation)"
    known = [*BUILTIN, *study["weights"]]
    raise ConfigError(f"config key study.cells: unknown cell {name!r}; choose from {', '.join(known)} (or add it to study.weights)")


def study_seeds(cfg: Mapping[str, Any]) -> list[int]:
    """The seeds of every cell of the study: `study.seeds`, or the sweep's seeds where it is null;
    a ConfigError where study.seeds names a seed the sweep does not have (the default and weight
    cells read the sweep's runs)."""
    seeds = cfg["study"].get("seeds")
    extra = sorted(set(seeds or ()) - set(cfg["seeds"]))
    if extra:
        raise ConfigError(f"config key study.seeds: {extra} are not among the sweep's seeds; the study reads the sweep's runs of its seeds")
    return list(cfg["seeds"] if seeds is None else seeds)


def cells(cfg: Mapping[str, Any]) -> list[Cell]:
    """The study's cells from a validated config with a `study` block, each validated as a whole
    config; a ConfigError (one line, naming the key) on an unknown cell or all-zero weights."""
    study = cfg.get("study")
    if study is None:
        raise ConfigError("config key study: the study is off (null); run it with `make study` (config/study.yaml)")
    clash = sorted(set(study["weights"]) & set(BUILTIN))
    if clash:
        raise ConfigError(f"config key study.weights.{clash[0]}: the name of a built-in cell; name the weighting otherwise")
    base_key = settings_key(cfg)
    out = []
    for name in study["cells"]:
        overrides, change = _overrides(name, study)
        try:
            variant = validate_config({**merge(cfg, overrides), "seeds": study_seeds(cfg)})
        except ConfigError as exc:
            raise ConfigError(f"study cell {name}: {exc}") from None
        recomputed = set(overrides) <= {"fitness"} and set(overrides.get("fitness", {})) <= {"alpha", "beta", "gamma"}
        key = base_key if recomputed else settings_key(variant)
        out.append(Cell(name, variant, key, key != base_key, change))
    return out
