"""The runs of a sweep or a study: its parent run, created once before the fan-out, and one run
per finished develop or transfer result folder, nested under it. The result files stay the source
of truth; what a run logs beyond them (a plot, say) is passed in."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bdnn.pipeline.keys import settings, settings_key
from bdnn.pipeline.layout import (
    DEVELOP_FILES,
    ERROR_COLUMNS,
    METRIC_COLUMNS,
    SCRATCH_FILES,
    TRANSFER_FILES,
    develop_job,
    scratch_job,
    transfer_job,
)
from bdnn.pipeline.provenance import git_commit
from bdnn.tracking.store import (
    TrackingError,
    batches,
    client,
    experiment,
    flatten,
    get_or_create,
    mlflow_key,
    own_experiment,
    retry,
    tracking_uri,
)

# extra(folder): files made for a new run (a plot, say), written into `folder`; the caller passes it.
Extra = Callable[[Path], Sequence[Path]]
# Scalars of a develop run's summary.json logged as metrics (step 0).
PEAK_METRICS = ("hidden_at_peak", "A_at_peak", "F_at_peak", "test_acc_at_peak", "test_acc_unpruned", "seconds")


def method_names(cfg: Mapping[str, Any]) -> dict[str, str]:
    """The dataset and the pruning criterion of a run's config (tags and params of every run)."""
    return {"dataset": cfg.get("dataset", "mnist"), "criterion": cfg["prune"].get("criterion", "eq1")}


def sweep_key(cfg: Mapping[str, Any]) -> str:
    """The sweep's key: the settings of the whole experiment (method and transfer), not its lists
    of seeds and sample counts, so that adding a seed nests the new runs under the same parent."""
    return settings_key(cfg, "transfer")


def parent_key(cfg: Mapping[str, Any], kind: str) -> str:
    """A parent run's key: the sweep's (sweep_key), or the study's or the comparison's (the method's
    settings and its block: the study's cells and thresholds, the comparison's datasets, criteria,
    counts and widths)."""
    return sweep_key(cfg) if kind == "sweep" else settings_key(cfg, kind)


PARENT_KINDS = ("sweep", "study", "compare")


def init_parent(cfg: Mapping[str, Any], kind: str = "sweep", names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Create the store, the experiment and the parent run of the sweep (or of the study or the
    comparison, each in its own experiment (own_experiment)), once, before the fan-out. Its record
    names (`cells`) the study cell or comparison variant of each settings key whose runs nest under
    it (they are named by it)."""
    if kind not in PARENT_KINDS:
        raise TrackingError(f"no parent run of kind {kind!r} ({', '.join(PARENT_KINDS)})")
    key = parent_key(cfg, kind)
    mlflow_client = client(cfg)

    def go():
        exp_id = experiment(mlflow_client, cfg, None if kind == "sweep" else own_experiment(cfg, kind))
        tags = {"sweep": key, "git_commit": git_commit(), "kind": kind}
        run_id, created = get_or_create(mlflow_client, exp_id, f"{kind}/{key}", tags, f"{kind}-{key}")
        if created:
            from mlflow.entities import Param

            params = [Param(mlflow_key(k), v[:6000]) for k, v in flatten(settings(cfg, "transfer" if kind == "sweep" else kind)).items()]
            for batch in batches(params, 100):
                mlflow_client.log_batch(run_id, params=batch)
            mlflow_client.set_terminated(run_id, "FINISHED")
        return {
            "experiment_id": exp_id,
            "parent_run_id": run_id,
            "sweep": key,
            "tracking_uri": tracking_uri(cfg),
            "cells": dict(names or {}),
        }

    return retry(go, f"creating the MLflow experiment and {kind} run", tracking_uri(cfg))


@dataclass
class Run:
    """What one nested run logs: its key, name and description, its tags' scalars, params,
    metrics as (key, value, step), and files."""

    key: str
    name: str
    kind: str
    note: str
    scalars: dict[str, Any]
    params: dict[str, Any]
    metrics: list[tuple[str, float, int]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    extra: Extra | None = None  # more files, made only when the run is created (into a temporary folder)


def _log(cfg: Mapping[str, Any], sweep: Mapping[str, Any], summary: Mapping[str, Any], run: Run, end_ms: int) -> dict[str, Any]:
    """Log `run` under the sweep's parent run, once (a FINISHED run with its key is reused)."""
    start_ms = end_ms - int(summary["seconds"] * 1000)  # the run's duration is the computation's
    tags = {
        "mlflow.parentRunId": sweep["parent_run_id"],
        "mlflow.note.content": run.note,
        "sweep": sweep["sweep"],
        "kind": run.kind,
        "settings": summary["settings"],
        "git_commit": git_commit(),
        **{k: str(v) for k, v in run.scalars.items()},
    }
    mlflow_client = client(cfg)

    def go():
        from mlflow.entities import Metric, Param

        run_id, created = get_or_create(mlflow_client, sweep["experiment_id"], run.key, tags, run.name, start_ms)
        if not created:
            return {"run_id": run_id, "created": False, "key": run.key}
        now = int(time.time() * 1000)
        params = [Param(k, v[:6000]) for k, v in flatten({**run.params, **run.scalars}).items()]
        for batch in batches(params, 100):
            mlflow_client.log_batch(run_id, params=batch)
        for batch in batches([Metric(k, v, now, step) for k, v, step in run.metrics], 1000):
            mlflow_client.log_batch(run_id, metrics=batch)
        with tempfile.TemporaryDirectory() as tmp:
            for f in [*run.files, *(run.extra(Path(tmp)) if run.extra else [])]:
                mlflow_client.log_artifact(run_id, str(f))
        mlflow_client.set_terminated(run_id, "FINISHED", end_time=end_ms)
        return {"run_id": run_id, "created": True, "key": run.key}

    return retry(go, f"logging {run.key} to MLflow", tracking_uri(cfg))


def _read(result: Path, names: Mapping[str, str], sweep_file: str | None) -> tuple[dict[str, Any], dict[str, Any], int]:
    if sweep_file is None:
        raise TrackingError("--sweep: the JSON written by `bdnn track init` is needed")
    summary_file = result / names["summary"]
    end_ms = int(summary_file.stat().st_mtime * 1000)  # the computation ended when its summary was written
    return json.loads(Path(sweep_file).read_text()), json.loads(summary_file.read_text()), end_ms


def track_develop(cfg: Mapping[str, Any], result: Path, sweep_file: str | None, extra: Extra | None = None) -> dict[str, Any]:
    """Log one develop result folder as one run nested under the sweep's (or the study's) parent:
    its settings and identity as params, every curve column per iteration as metrics, its files
    and what `extra(folder)` makes (e.g. a plot of its curve, given the run's name) as artifacts."""
    import pandas as pd

    sweep, s, end_ms = _read(result, DEVELOP_FILES, sweep_file)
    seed, classes = s["seed"], s["classes"]
    cell = sweep.get("cells", {}).get(s["settings"])  # a study cell's or a comparison variant's run: named by it
    scalars = {
        "classes": classes, "n_classes": s["n_classes"], "n_samples": s["samples"], "seed": seed, **method_names(s["config"]),
        **({"cell": cell} if cell else {}),
    }  # fmt: skip
    note = (
        f"developed: {s['hidden_at_peak']} hidden at iteration {s['peak_iteration']}"
        f"{' (censored at the floor)' if s['peak_censored'] else ''}, A {s['A_at_peak']:.1%}, F {s['F_at_peak']:.3f}; "
        f"un-pruned test accuracy {s['test_acc_unpruned']:.1%}"
    )
    name = f"{cell + '-' if cell else ''}develop-{classes}-{s['samples']}-seed{seed}"
    run = Run(develop_job(s["settings"], classes, s["samples"], seed), name, "develop", note, scalars, settings(s["config"]))
    for row in pd.read_csv(result / DEVELOP_FILES["curve"]).itertuples(index=False):
        for k in [*METRIC_COLUMNS, "loss"]:
            v = getattr(row, "train_loss" if k == "loss" else k)
            if pd.notna(v):
                run.metrics.append((k, float(v), int(row.iteration)))
    run.metrics += [(k, float(s[k]), 0) for k in PEAK_METRICS]
    run.files = [result / f for f in DEVELOP_FILES.values()]
    run.extra = extra
    return _log(cfg, sweep, s, run, end_ms)


def track_transfer(cfg: Mapping[str, Any], result: Path, sweep_file: str | None) -> dict[str, Any]:
    """Log one transfer (or task-transfer) result folder as one run nested under the sweep's
    parent: the errors on each draw per mini-batch step as metrics, its files as artifacts."""
    import pandas as pd

    sweep, s, end_ms = _read(result, TRANSFER_FILES, sweep_file)
    network, experiment_name, seed = s["network"], s.get("experiment", "transfer"), s["seed"]
    blocks = ("transfer",) if experiment_name == "transfer" else ("transfer", "task_transfer")
    draws = ", ".join(f"{int(n):,} new samples {d['auc_error_new']:.2%}" for n, d in s["draws"].items())
    note = (
        f"{network}: {s['hidden']} hidden, accuracy {s['accuracy_before']:.1%} after {s['epochs']} epochs"
        f"{'' if s['reached_target'] else ' (did NOT reach the target ' + format(s['target'], '.1%') + ')'}; "
        f"mean error during transfer: {draws}"
    )
    scalars = {"classes": s["classes"], "developed_on_samples": s["samples"], "seed": seed, "network": network, **method_names(s["config"])}
    key = transfer_job(s["settings"], network, seed, experiment_name)
    run = Run(
        key, f"{experiment_name.replace('_', '-')}-{network}-seed{seed}", experiment_name, note, scalars, settings(s["config"], *blocks)
    )
    for row in pd.read_csv(result / TRANSFER_FILES["table"]).itertuples(index=False):
        values = {k: getattr(row, k) for k in ERROR_COLUMNS}  # the test error only at epoch ends (NaN between)
        run.metrics += [(f"{k}_{row.network}_{row.new_samples}", float(v), int(row.step)) for k, v in values.items() if pd.notna(v)]
    run.files = [result / f for f in TRANSFER_FILES.values()]
    return _log(cfg, sweep, s, run, end_ms)


def track_scratch(cfg: Mapping[str, Any], result: Path, sweep_file: str | None) -> dict[str, Any]:
    """Log one scratch folder (the networks trained from scratch at the operating widths of one
    develop run) as one run nested under the comparison's parent: per network its test accuracy
    and epochs as metrics at the step of its width, its files as artifacts."""
    import pandas as pd

    sweep, s, end_ms = _read(result, SCRATCH_FILES, sweep_file)
    seed, classes = s["seed"], s["classes"]
    scalars = {"classes": classes, "n_classes": s["n_classes"], "n_samples": s["samples"], "seed": seed, **method_names(s["config"])}
    table = pd.read_csv(result / SCRATCH_FILES["table"])
    note = "trained from scratch: " + ", ".join(f"{r.hidden} hidden {r.epochs} epochs {r.test_acc:.1%}" for r in table.itertuples())
    name = f"{s['config'].get('dataset', 'mnist')}-scratch-{classes}-{s['samples']}-seed{seed}"
    run = Run(scratch_job(s["settings"], classes, s["samples"], seed), name, "scratch", note, scalars, settings(s["config"]))
    for r in table.itertuples():
        run.metrics += [("test_acc", float(r.test_acc), int(r.hidden)), ("epochs", float(r.epochs), int(r.hidden))]
    run.files = [result / f for f in SCRATCH_FILES.values()]
    return _log(cfg, sweep, s, run, end_ms)
