"""The MLflow store: the client (with capped HTTP retries), retries on SQLite lock contention,
experiments, and runs found by a deterministic key (tag `bdnn_run_key`) before one is created, so
a rerun never duplicates a run. Only the bdnn.tracking modules import mlflow, and only when called."""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bdnn import BDNNError
from bdnn.pipeline.layout import MLARTIFACTS_DIR

# MLflow's HTTP client retries for minutes by default; a dead server should cost seconds.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
MISSING = "MLflow is not installed: it is in the pipeline extra, `pip install 'bdnn[pipeline]'` (make setup installs it)"


class TrackingError(BDNNError):
    """The tracking store could not be reached or written."""


def require_mlflow() -> None:
    """A one-line TrackingError where the pipeline extra (mlflow) is missing."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise TrackingError(MISSING) from None


def tracking_uri(cfg: Mapping[str, Any]) -> str:
    """MLFLOW_TRACKING_URI from the environment wins over the config's mlflow.tracking_uri."""
    return os.environ.get("MLFLOW_TRACKING_URI") or cfg["mlflow"]["tracking_uri"]


def client(cfg: Mapping[str, Any]):
    """An MlflowClient on the config's store. A SQLite store's folder is created, and the store is
    opened under an exclusive lock on `<store>.lock`: MLflow creates and migrates a new store's
    tables when a client first opens it, and two processes doing so at once (the sweep's and the
    comparison's parent runs, created side by side) fail with "table ... already exists"."""
    for k, v in HTTP_DEFAULTS.items():
        os.environ.setdefault(k, v)
    require_mlflow()
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(cfg)
    if not uri.startswith("sqlite:///"):
        return MlflowClient(tracking_uri=uri)
    store = Path(uri[len("sqlite:///") :])
    store.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{store}.lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return MlflowClient(tracking_uri=uri)  # opens (creates, migrates) the store


def retry(fn, what: str, uri: str, attempts: int = 6):
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


def own_experiment(cfg: Mapping[str, Any], kind: str) -> str:
    """The study's or the comparison's own experiment (`<experiment>-study`, `<experiment>-compare`):
    their hundreds of runs would otherwise push the sweep's parent run off the first page of the
    runs table, which loads the newest runs first."""
    return f"{cfg['mlflow']['experiment']}-{kind}"


def study_experiment(cfg: Mapping[str, Any]) -> str:
    return own_experiment(cfg, "study")


def experiment(client, cfg: Mapping[str, Any], name: str | None = None) -> str:
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


def get_or_create(client, exp_id: str, key: str, tags: dict[str, str], name: str, start_ms: int | None = None) -> tuple[str, bool]:
    """(run_id, created): reuse a FINISHED run with this key, delete unfinished ones."""
    existing = _find(client, exp_id, key)
    for run in existing:
        if run.info.status == "FINISHED":
            return run.info.run_id, False
    for run in existing:
        client.delete_run(run.info.run_id)
    run = client.create_run(exp_id, start_time=start_ms, tags={**tags, "bdnn_run_key": key}, run_name=name)
    return run.info.run_id, True


def mlflow_key(text: str) -> str:
    """A name as MLflow allows in a param or metric key (letters, digits, _ - . : / and space):
    a study cell named A+S gives A_plus_S."""
    return re.sub(r"[^\w\-.:/ ]", "_", text.replace("+", "_plus_"))


def batches(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def ui_target(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """What `bdnn ui` serves: the project's SQLite store (never created here), its experiment's
    id (and the study's and the comparison's, where `make study` and `make compare` ran), and a warning where the store's artifacts were logged under another results folder
    (MLflow keeps absolute artifact paths: a moved results folder leaves its artifact views empty)."""
    uri = tracking_uri(cfg)
    if not uri.startswith("sqlite:///"):
        raise TrackingError(f"the tracking store is {uri}: open it in a browser where its server runs (bdnn ui serves SQLite stores)")
    store = Path(uri[len("sqlite:///") :]).resolve()
    if not store.is_file():
        raise TrackingError(f"no tracking store at {store}: run `make reproduce` first (bdnn ui never creates an empty one)")
    require_mlflow()
    from mlflow.tracking import MlflowClient

    mlflow_client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    exp = mlflow_client.get_experiment_by_name(cfg["mlflow"]["experiment"])
    study = mlflow_client.get_experiment_by_name(study_experiment(cfg))
    compare = mlflow_client.get_experiment_by_name(own_experiment(cfg, "compare"))
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
        "compare_experiment_id": compare.experiment_id if compare is not None else None,
        "warning": warning,
    }
