"""MLflow adapter: logs finished result folders; the result files stay the source of truth.

A run is found by a deterministic key (tag `bdnn_run_key`) before one is created, so a rerun
never duplicates it; an unfinished run left by a crash is deleted and logged again. A tracking
failure never touches the results: the workflow's tracking rules are separate jobs that can be
completed later by rerunning. Only this module imports mlflow.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bdnn import BDNNError
from bdnn.config import settings, settings_key
from bdnn.layout import (
    CLAIMS_FILE,
    DEVELOP_FILES,
    ERROR_COLUMNS,
    METRIC_COLUMNS,
    MLARTIFACTS_DIR,
    TRANSFER_FILES,
    develop_job,
    transfer_job,
)
from bdnn.provenance import git_commit

# MLflow's HTTP client retries for minutes by default; a dead server should cost seconds.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
# Scalars of a develop run's summary.json logged as metrics (step 0).
PEAK_METRICS = ("hidden_at_peak", "A_at_peak", "F_at_peak", "test_acc_at_peak", "test_acc_unpruned", "seconds")


class TrackingError(BDNNError):
    """The tracking store could not be reached or written."""


def tracking_uri(cfg: Mapping[str, Any]) -> str:
    """MLFLOW_TRACKING_URI from the environment wins over the config's mlflow.tracking_uri."""
    return os.environ.get("MLFLOW_TRACKING_URI") or cfg["mlflow"]["tracking_uri"]


def _client(cfg: Mapping[str, Any]):
    for k, v in HTTP_DEFAULTS.items():
        os.environ.setdefault(k, v)
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(cfg)
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri)


def _retry(fn, what: str, uri: str, attempts: int = 6):
    """Run `fn`, retrying on SQLite lock contention; other failures become a TrackingError."""
    for i in range(attempts):
        try:
            return fn()
        except BDNNError:
            raise
        except Exception as exc:  # mlflow raises many types; keep the message, not a traceback
            locked = "locked" in str(exc).lower() or "busy" in str(exc).lower()
            if locked and i < attempts - 1:
                time.sleep(0.5 * 2**i)
                continue
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise TrackingError(f"{what} failed against {uri}: {first}") from None


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config -> {"prune.fraction": "0.1", ...} as MLflow params."""
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v and key != "classes":  # classes stays one JSON param
            out.update(flatten(v, key + "."))
        else:
            out[key] = json.dumps(v) if not isinstance(v, str) else v
    return out


def study_experiment(cfg: Mapping[str, Any]) -> str:
    """The study's own experiment (`<experiment>-study`): its 240-odd runs would otherwise push the
    sweep's parent run off the first page of the runs table, which loads the newest runs first."""
    return f"{cfg['mlflow']['experiment']}-study"


def _experiment(client, cfg: Mapping[str, Any], name: str | None = None) -> str:
    name = name or cfg["mlflow"]["experiment"]
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if tracking_uri(cfg).startswith("sqlite:"):  # keep artifacts beside the store, not in ./mlruns
        location = (Path(cfg["results_dir"]) / MLARTIFACTS_DIR).resolve().as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except Exception:
        exp = client.get_experiment_by_name(name)  # created concurrently
        if exp is None:
            raise
        return exp.experiment_id


def _find(client, exp_id: str, key: str) -> list:
    return client.search_runs([exp_id], filter_string=f"tags.bdnn_run_key = '{key}'", max_results=50)


def _get_or_create(client, exp_id: str, key: str, tags: dict[str, str], name: str, start_ms: int | None = None) -> tuple[str, bool]:
    """(run_id, created): reuse a FINISHED run with this key, delete unfinished ones."""
    existing = _find(client, exp_id, key)
    for run in existing:
        if run.info.status == "FINISHED":
            return run.info.run_id, False
    for run in existing:
        client.delete_run(run.info.run_id)
    run = client.create_run(exp_id, start_time=start_ms, tags={**tags, "bdnn_run_key": key}, run_name=name)
    return run.info.run_id, True


def sweep_key(cfg: Mapping[str, Any]) -> str:
    """The sweep's key: the settings of the whole experiment (method and transfer), not its lists
    of seeds and sample counts, so that adding a seed nests the new runs under the same parent."""
    return settings_key(cfg, "transfer")


def mlflow_key(text: str) -> str:
    """A name as MLflow allows in a param or metric key (letters, digits, _ - . : / and space):
    a study cell named A+S gives A_plus_S."""
    return re.sub(r"[^\w\-.:/ ]", "_", text.replace("+", "_plus_"))


def study_key(cfg: Mapping[str, Any]) -> str:
    """The study's key: the method's settings and the study block (its cells and thresholds)."""
    return settings_key(cfg, "study")


def init_sweep(cfg: Mapping[str, Any], study: bool = False) -> dict[str, Any]:
    """Create the store, the experiment and the parent run of the sweep (or, with `study`, of the
    study, in its own experiment (study_experiment), whose record also names the cell of each
    trained cell's settings key), once, before the fan-out."""
    kind = "study" if study else "sweep"
    key = study_key(cfg) if study else sweep_key(cfg)
    client = _client(cfg)
    cell_of = {}
    if study:
        from bdnn.study import cells

        cell_of = {c.key: c.name for c in cells(cfg) if c.trained}

    def go():
        exp_id = _experiment(client, cfg, study_experiment(cfg) if study else None)
        tags = {"sweep": key, "git_commit": git_commit(), "kind": kind}
        run_id, created = _get_or_create(client, exp_id, f"{kind}/{key}", tags, f"{kind}-{key}")
        if created:
            from mlflow.entities import Param

            params = [Param(mlflow_key(k), v[:6000]) for k, v in flatten(settings(cfg, "study" if study else "transfer")).items()]
            for i in range(0, len(params), 100):
                client.log_batch(run_id, params=params[i : i + 100])
            client.set_terminated(run_id, "FINISHED")
        return {"experiment_id": exp_id, "parent_run_id": run_id, "sweep": key, "tracking_uri": tracking_uri(cfg), "cells": cell_of}

    return _retry(go, f"creating the MLflow experiment and {kind} run", tracking_uri(cfg))


def _batches(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def track_result(cfg: Mapping[str, Any], kind: str, result: Path, sweep_file: str | None) -> dict[str, Any]:
    """Log one develop/transfer result folder as one MLflow run nested under the sweep's run."""
    import pandas as pd

    if sweep_file is None:
        raise TrackingError("--sweep: the JSON written by `bdnn track init` is needed")
    sweep = json.loads(Path(sweep_file).read_text())
    names = DEVELOP_FILES if kind == "develop" else TRANSFER_FILES
    summary_file = result / names["summary"]
    summary = json.loads(summary_file.read_text())
    # the run's duration is the computation's: it ended when its summary was written
    end_ms = int(summary_file.stat().st_mtime * 1000)
    start_ms = end_ms - int(summary["seconds"] * 1000)
    blocks = {"develop": (), "transfer": ("transfer",), "task_transfer": ("transfer", "task_transfer")}
    settings_of_run = settings(summary["config"], *blocks[summary.get("experiment", kind)])
    files = list(names.values())
    seed, classes = summary["seed"], summary["classes"]
    if kind == "develop":
        table, keys = result / names["curve"], METRIC_COLUMNS
        cell = sweep.get("cells", {}).get(summary["settings"])  # a study cell's run: named by its cell
        name = f"{cell + '-' if cell else ''}develop-{classes}-{summary['samples']}-seed{seed}"
        key = develop_job(summary["settings"], classes, summary["samples"], seed)
        scalars = {"classes": classes, "n_classes": summary["n_classes"], "n_samples": summary["samples"], "seed": seed}
        if cell:
            scalars["cell"] = cell
        note = (
            f"developed: {summary['hidden_at_peak']} hidden at iteration {summary['peak_iteration']}"
            f"{' (censored at the floor)' if summary['peak_censored'] else ''}, A {summary['A_at_peak']:.1%}, F {summary['F_at_peak']:.3f}; "
            f"un-pruned test accuracy {summary['test_acc_unpruned']:.1%}"
        )
    else:
        table, keys = result / names["table"], ERROR_COLUMNS
        network, experiment = summary["network"], summary.get("experiment", "transfer")
        name = f"{experiment.replace('_', '-')}-{network}-seed{seed}"
        key = transfer_job(summary["settings"], network, seed, experiment)
        kind = experiment  # the run's `kind` tag: transfer or task_transfer
        scalars = {"classes": classes, "developed_on_samples": summary["samples"], "seed": seed, "network": network}
        draws = ", ".join(f"{int(n):,} new samples {d['auc_error_new']:.2%}" for n, d in summary["draws"].items())
        note = (
            f"{network}: {summary['hidden']} hidden, accuracy {summary['accuracy_before']:.1%} after {summary['epochs']} epochs"
            f"{'' if summary['reached_target'] else ' (did NOT reach the target ' + format(summary['target'], '.1%') + ')'}; "
            f"mean error during transfer: {draws}"
        )
    tags = {
        "mlflow.parentRunId": sweep["parent_run_id"],
        "mlflow.note.content": note,
        "sweep": sweep["sweep"],
        "kind": kind,
        "settings": summary["settings"],
        "git_commit": git_commit(),
        **{k: str(v) for k, v in scalars.items()},
    }
    client = _client(cfg)

    def go():
        from mlflow.entities import Metric, Param

        run_id, created = _get_or_create(client, sweep["experiment_id"], key, tags, name, start_ms)
        if not created:
            return {"run_id": run_id, "created": False, "key": key}
        df = pd.read_csv(table)
        now = int(time.time() * 1000)
        metrics = []
        if kind == "develop":
            for row in df.itertuples(index=False):
                for k in keys + ["loss"]:
                    v = getattr(row, "train_loss" if k == "loss" else k)
                    if pd.notna(v):
                        metrics.append(Metric(k, float(v), now, int(row.iteration)))
            for k in PEAK_METRICS:
                metrics.append(Metric(k, float(summary[k]), now, 0))
        else:
            for row in df.itertuples(index=False):
                for k in keys:
                    metrics.append(Metric(f"{k}_{row.network}_{row.new_samples}", float(getattr(row, k)), now, int(row.step)))
        # scalar params (plottable in the UI: hidden_at_peak against n_samples shows claim 2)
        params = [Param(k, v[:6000]) for k, v in flatten({**settings_of_run, **scalars}).items()]
        for batch in _batches(params, 100):
            client.log_batch(run_id, params=batch)
        for batch in _batches(metrics, 1000):
            client.log_batch(run_id, metrics=batch)
        for f in files:
            client.log_artifact(run_id, str(result / f))
        if kind == "develop":
            from bdnn.plots import plot_run

            with tempfile.TemporaryDirectory() as tmp:
                png = plot_run(df, Path(tmp) / "curve.png", name)
                client.log_artifact(run_id, str(png))
        client.set_terminated(run_id, "FINISHED", end_time=end_ms)
        return {"run_id": run_id, "created": True, "key": key}

    return _retry(go, f"logging {result} to MLflow", tracking_uri(cfg))


def claims_metrics(claims: Mapping[str, Any]) -> dict[str, float]:
    """The claims' key statistics (claims.json) as metrics of the sweep's parent run: claims 1-3
    under the configured reading, and claim 4's difference (control minus developed) per control
    and draw."""
    reading = claims["readings"][claims["configured_reading"]]
    out = {
        "claim1_interior_share": reading["claim1"]["statistic"],
        "claim2_spearman": reading["claim2"]["statistic"],
        "claim3_counts_smaller": reading["claim3"]["statistic"],
        "claim3_p": reading["claim3"]["p"],
    }
    for prefix, controls in (("claim4", claims["claim4_controls"]), ("task_transfer", claims["task_transfer_controls"])):
        for control, draws in controls.items():
            for n, c in draws.items():
                out[f"{prefix}_{control}_{n}_difference"] = c["statistic"]
                out[f"{prefix}_{control}_{n}_p"] = c["p"]
    return {k: float(v) for k, v in out.items() if v is not None}


NOTE_LIMIT = 7500  # MLflow keeps tag values up to 8,000 characters


def run_note(markdown: str, limit: int = NOTE_LIMIT, full_text: str = f"results/{CLAIMS_FILE}") -> str:
    """A run description from a markdown text: whole, or cut at the last line that fits, with a
    pointer to the full text among the run's artifacts."""
    if len(markdown) <= limit:
        return markdown
    tail = f"\n\n*(cut here to fit MLflow's limit: the full text is the artifact {full_text})*\n"
    return markdown[: markdown.rfind("\n", 0, limit - len(tail))] + tail


def _artifact_folder(f: Path, figures_root: Path | None) -> str:
    """results/ for tables and texts; figures/ for figures, with their folder below `figures_root`
    (the study's figures/<cell>/fig3.png share their names, so their cell folder is kept)."""
    if f.suffix in (".csv", ".md", ".json", ".html"):
        return "results"
    if figures_root is None or f.parent.resolve() == figures_root.resolve():
        return "figures"
    return f"figures/{f.parent.resolve().relative_to(figures_root.resolve()).as_posix()}"


def track_parent_results(
    cfg: Mapping[str, Any],
    sweep_file: str,
    note: Path,
    metrics: Mapping[str, float],
    files: Sequence[Path],
    figures_root: Path | None = None,
) -> dict[str, Any]:
    """Put results on a parent run (the sweep's or the study's): the markdown file `note` as its
    description (rendered in the run's overview), `metrics`, and `files` as artifacts (tables and
    texts under results/, figures under figures/, in their folder below `figures_root`). Rerun
    whenever the results change: the same run is updated, never duplicated (artifacts of the same
    name are replaced)."""
    sweep = json.loads(Path(sweep_file).read_text())
    run_id = sweep["parent_run_id"]
    client = _client(cfg)

    def go():
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        client.set_tag(run_id, "mlflow.note.content", run_note(note.read_text(), full_text=f"results/{note.name}"))
        client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
        for f in files:
            client.log_artifact(run_id, str(f), artifact_path=_artifact_folder(f, figures_root))
        return {"run_id": run_id, "metrics": len(metrics), "artifacts": len(files)}

    return _retry(go, "logging results to their MLflow parent run", tracking_uri(cfg))


def track_sweep_results(
    cfg: Mapping[str, Any], sweep_file: str, claims_md: Path, claims_json: Path, files: Sequence[Path]
) -> dict[str, Any]:
    """The sweep's results on its parent run: claims.md as its description, the claims' statistics
    as metrics, the tables, figures and claims as artifacts (track_parent_results)."""
    return track_parent_results(cfg, sweep_file, claims_md, claims_metrics(json.loads(claims_json.read_text())), files)


def study_metrics(map_csv: Path) -> dict[str, float]:
    """The study's map as metrics of its parent run: each cell's statistic and p per claim."""
    import pandas as pd

    out = {}
    for r in pd.read_csv(map_csv).itertuples():
        for what in ("statistic", "p"):
            value = getattr(r, what)
            if pd.notna(value):
                out[mlflow_key(f"{r.cell}_{r.claim}_{what}")] = float(value)
    return out


def track_study_results(cfg: Mapping[str, Any], parent_file: str, report_md: Path, map_csv: Path, files: Sequence[Path]) -> dict[str, Any]:
    """The study's results on its parent run: report.md as its description, the map as metrics,
    the map, report and figures as artifacts, each cell's figures in its own folder
    (track_parent_results)."""
    figures = [f.parent for f in files if f.suffix == ".png"]
    root = Path(os.path.commonpath([str(p.resolve()) for p in figures])) if figures else None
    return track_parent_results(cfg, parent_file, report_md, study_metrics(map_csv), files, root)


def ui_target(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """What `bdnn ui` serves: the project's SQLite store (never created here), its experiment's
    id (and the study's, where `make study` ran), and a warning where the store's artifacts were logged under another results folder
    (MLflow keeps absolute artifact paths: a moved results folder leaves its artifact views empty)."""
    uri = tracking_uri(cfg)
    if not uri.startswith("sqlite:///"):
        raise TrackingError(f"the tracking store is {uri}: open it in a browser where its server runs (bdnn ui serves SQLite stores)")
    store = Path(uri[len("sqlite:///") :]).resolve()
    if not store.is_file():
        raise TrackingError(f"no tracking store at {store}: run `make reproduce` first (bdnn ui never creates an empty one)")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    exp = client.get_experiment_by_name(cfg["mlflow"]["experiment"])
    study = client.get_experiment_by_name(study_experiment(cfg))
    if exp is None:
        raise TrackingError(f"the store {store} has no experiment {cfg['mlflow']['experiment']!r}")
    artifacts = (Path(cfg["results_dir"]) / MLARTIFACTS_DIR).resolve()
    warning = None
    if exp.artifact_location != artifacts.as_uri():
        warning = (
            f"the store's artifacts were logged under {exp.artifact_location}, not {artifacts.as_uri()}: "
            "the results folder was moved, and MLflow keeps absolute artifact paths, so the artifact views will be empty "
            f"(move it back, or rerun the tracking: delete the store, {MLARTIFACTS_DIR}/ and tracking/ in the results folder, then snakemake)"
        )
    return {
        "store": store,
        "artifacts": artifacts,
        "experiment_id": exp.experiment_id,
        "study_experiment_id": study.experiment_id if study is not None else None,
        "warning": warning,
    }
