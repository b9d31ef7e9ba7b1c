"""Results on a parent run (the sweep's or the study's): a markdown file as its description,
statistics as metrics, tables and figures as artifacts, updated whenever they change."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bdnn.pipeline.layout import CLAIMS_FILE
from bdnn.tracking.store import client, mlflow_key, retry, tracking_uri


def claims_metrics(claims: Mapping[str, Any]) -> dict[str, float]:
    """The claims' key statistics (claims.json) as metrics of the sweep's parent run: claims 1-3
    under the configured reading, and claim 4's difference (control minus developed) per control
    and draw."""
    reading = claims["readings"][claims["configured_reading"]]
    out = {
        "claim1_interior_share": reading["claim1"]["statistic"],
        "claim2_spearman": reading["claim2"]["statistic"],
        "claim3_mean_difference": reading["claim3"]["statistic"],
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


def _below(folder: str, f: Path, root: Path | None) -> str:
    if root is None or f.parent.resolve() == root.resolve():
        return folder
    return f"{folder}/{f.parent.resolve().relative_to(root.resolve()).as_posix()}"


def _artifact_folder(f: Path, figures_root: Path | None, results_root: Path | None = None) -> str:
    """results/ for tables and texts, figures/ for figures, each with its folder below its root
    (the study's figures/<cell>/fig3.png share their names, as do the comparison's
    compare/<dataset>/points.csv, so those folders are kept)."""
    if f.suffix in (".csv", ".md", ".json", ".html"):
        return _below("results", f, results_root)
    return _below("figures", f, figures_root)


def track_parent_results(
    cfg: Mapping[str, Any],
    sweep_file: str,
    note: Path,
    metrics: Mapping[str, float],
    files: Sequence[Path],
    figures_root: Path | None = None,
    results_root: Path | None = None,
) -> dict[str, Any]:
    """Put results on a parent run (the sweep's, the study's or the comparison's): the markdown
    file `note` as its description (rendered in the run's overview), `metrics`, and `files` as
    artifacts (tables and texts under results/, figures under figures/, each in its folder below
    `results_root` or `figures_root`). Rerun whenever the results change: the same run is updated,
    never duplicated (artifacts of the same name are replaced)."""
    sweep = json.loads(Path(sweep_file).read_text())
    run_id = sweep["parent_run_id"]
    mlflow_client = client(cfg)

    def go():
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        mlflow_client.set_tag(run_id, "mlflow.note.content", run_note(note.read_text(), full_text=f"results/{note.name}"))
        mlflow_client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
        for f in files:
            mlflow_client.log_artifact(run_id, str(f), artifact_path=_artifact_folder(f, figures_root, results_root))
        return {"run_id": run_id, "metrics": len(metrics), "artifacts": len(files)}

    return retry(go, "logging results to their MLflow parent run", tracking_uri(cfg))


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


def compare_metrics(claims: Mapping[str, Any]) -> dict[str, float]:
    """The comparison's claims.json as metrics of its parent run: per dataset each baseline's
    difference (Eq. 1 minus the baseline) and Holm-adjusted p, and claim 5's statistic and p."""
    out = {}
    for dataset, record in claims["datasets"].items():
        for name, c in ((record.get("comparison") or {}).get("baselines") or {}).items():
            out[mlflow_key(f"{dataset}_eq1_minus_{name}")] = c["statistic"]
            out[mlflow_key(f"{dataset}_eq1_minus_{name}_p")] = c["p"]
    if claims.get("claim5"):
        out["claim5_difference"], out["claim5_p"] = claims["claim5"]["statistic"], claims["claim5"]["p"]
    return {k: float(v) for k, v in out.items() if v is not None}


def track_compare_results(
    cfg: Mapping[str, Any], parent_file: str, claims_md: Path, claims_json: Path, files: Sequence[Path]
) -> dict[str, Any]:
    """The comparison's results on its parent run: its claims.md as the description, the verdicts'
    numbers as metrics, its tables, claims and trade-off figures as artifacts (track_parent_results)."""
    metrics = compare_metrics(json.loads(claims_json.read_text()))
    return track_parent_results(cfg, parent_file, claims_md, metrics, files, results_root=claims_md.parent)
