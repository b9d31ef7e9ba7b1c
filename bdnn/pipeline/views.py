"""The config a job reads: only what its result (or its logging) depends on. The workflow writes
each view to results/configs/<digest>.yaml, named by its content, so a job's config file changes
exactly when something its result depends on changes: adding a seed, a sample count or a class
subset, changing the transfer block for a develop job, or the tracking store for a computation,
gives the existing jobs the same file, and reruns none of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bdnn.pipeline.keys import METHOD_KEYS, method_settings

# where and how a computation runs, besides its settings (its dataset cache is its input file)
RUNTIME_KEYS = ("runtime",)
TRACKING_KEYS = ("mlflow", "results_dir")


def _pick(cfg: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: cfg[k] for k in keys if k in cfg}


def develop_view(cfg: Mapping[str, Any], classes: str) -> dict[str, Any]:
    """A develop job's config: the method's settings, its class subset, the runtime."""
    return {
        **method_settings(cfg, nulls=True),
        **_pick(cfg, RUNTIME_KEYS),
        "classes": {classes: list(cfg["classes"][classes])},
        "task_transfer": None,
    }


def transfer_view(cfg: Mapping[str, Any], experiment: str) -> dict[str, Any]:
    """A transfer job's config: the develop view's keys, the transfer block (and, for the transfer
    to another task, its block) and the class subsets they name."""
    t, tt = cfg["transfer"], cfg["task_transfer"] if experiment == "task_transfer" else None
    names = [t["classes"], *([tt["from"]] if tt else [])]
    classes = {name: list(cfg["classes"][name]) for name in names}
    return {**method_settings(cfg, nulls=True), **_pick(cfg, RUNTIME_KEYS), "classes": classes, "transfer": dict(t), "task_transfer": tt}


def tracking_view(cfg: Mapping[str, Any], parent: bool = False) -> dict[str, Any]:
    """A tracking job's config: the store; a parent run's also the settings it records (the
    method's and the transfer block)."""
    settings = method_settings(cfg, (*METHOD_KEYS, "transfer"), nulls=True) if parent else {}
    return {**_pick(cfg, TRACKING_KEYS), **settings, "task_transfer": None}
