"""The comparison's files (the workflow's `compare_dataset` and `compare_claims` rules): one
dataset's operating points, verdicts per baseline and trade-off figure from its develop runs and
scratch networks; then claims.md / claims.json / claims.html with claim 5 and claims 1-3 on every
dataset from the Eq. 1 sweeps."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bdnn import BDNNError
from bdnn.analysis.compare import (
    REFERENCE,
    baseline_differences,
    claim5,
    develop_claims,
    judge,
    operating_points,
    peaks_by_criterion,
    scratch_points,
)
from bdnn.analysis.peaks import run_peaks
from bdnn.data.registry import DATASETS
from bdnn.files import write_json, write_text
from bdnn.pipeline.aggregate import collect, write_table
from bdnn.pipeline.comparison import compare_block
from bdnn.pipeline.config import ConfigError
from bdnn.pipeline.layout import COMPARE_DATASET_FILES, COMPARE_FILES, TRADEOFF_FIGURE
from bdnn.pipeline.outputs import provenance
from bdnn.pipeline.settings import fitness_settings
from bdnn.report.compare_figures import tradeoff
from bdnn.report.compare_text import render
from bdnn.report.figures_readme import FiguresRecord, record_figures
from bdnn.report.html import markdown_to_html


def runs_of(curve_files: Sequence[str], summary_files: Sequence[str]) -> pd.DataFrame:
    """The develop runs' curves with their keys and, from each run's config, its dataset and
    pruning criterion (the defaults where the config leaves them out)."""
    if len(curve_files) != len(summary_files):
        raise BDNNError(f"{len(curve_files)} curve files but {len(summary_files)} summaries: give one of each per run")
    frames = []
    for curve, summary in zip(curve_files, summary_files, strict=True):
        conf = json.loads(Path(summary).read_text())["config"]
        run = collect([curve], [summary], [], [])["curves"]
        frames.append(run.assign(dataset=conf.get("dataset", "mnist"), criterion=conf.get("prune", {}).get("criterion", REFERENCE)))
    return pd.concat(frames, ignore_index=True)


def write_dataset(
    cfg: Mapping[str, Any], dataset: str, curve_files: Sequence[str], summary_files: Sequence[str], scratch_files: Sequence[str],
    out_dir: str, fig_dir: str,
) -> list[str]:  # fmt: skip
    """One dataset of the comparison: points.csv (every criterion's and the scratch networks'
    operating points), verdicts.json (per baseline, and where each criterion puts the F peak) and
    the trade-off figure."""
    block = compare_block(cfg)
    if dataset not in block["datasets"]:
        raise ConfigError(f"--dataset {dataset}: not among compare.datasets ({', '.join(block['datasets'])})")
    curves = runs_of(curve_files, summary_files)
    other = sorted(set(curves["dataset"]) - {dataset})
    if other:
        raise ConfigError(f"--curves: runs of {', '.join(other)} given for the comparison on {dataset}")
    scratch = pd.concat([pd.read_csv(f) for f in scratch_files], ignore_index=True) if scratch_files else pd.DataFrame()
    points = operating_points(curves, block["widths"])
    if len(scratch):
        points = pd.concat([points, scratch_points(scratch)], ignore_index=True)
    differences = baseline_differences(points)
    verdicts = judge(differences)
    peaks = peaks_by_criterion(curves, fitness_settings(cfg["fitness"]))
    out = {role: f"{out_dir}/{name}" for role, name in COMPARE_DATASET_FILES.items()}
    write_table(points, out["points"])
    record = {
        "dataset": dataset,
        "criteria": list(block["criteria"]),
        "samples": list(block["samples"]),
        "widths": list(block["widths"]),
        "seeds": int(curves["seed"].nunique()),
        "baselines": {name: c.data() for name, c in verdicts.items()},
        "differences": {name: {str(seed): v for seed, v in col.dropna().items()} for name, col in differences.items()},
        "peaks": {name: {"size_at_peak": p["size_at_peak"], "claim1": p["claim1"].data()} for name, p in peaks.items()},
        "accuracy": {
            name: {f"{int(s)}/{int(t)}": float(v) for (s, t), v in g.groupby(["samples", "target"])["test_acc"].mean().items()}
            for name, g in points.groupby("criterion")
        },
    }
    write_json(out["verdicts"], record)
    paths = tradeoff(curves, scratch, Path(fig_dir) / f"tradeoff-{dataset}", dataset, block["criteria"], block["widths"])
    return [*out.values(), *map(str, paths)]


def _unpruned_accuracy(curves: pd.DataFrame, classes: str) -> dict[str, float]:
    base = curves[(curves["iteration"] == 0) & (curves["classes"] == classes)]
    return {str(int(s)): float(v) for s, v in base.groupby("samples")["test_acc"].mean().items()}


def record_tradeoff_figures(cfg: Mapping[str, Any], figures: Sequence[str]) -> list[str]:
    """The README.md of the trade-off figures' folder (the commit and machine that made them, their
    sha256), rewritten only where a figure's bytes changed."""
    if not figures:
        return []
    folder = {Path(f).parent for f in figures}
    if len(folder) != 1:
        raise BDNNError(f"--figures: the trade-off figures lie in {len(folder)} folders; give those of one")
    block = compare_block(cfg)
    record = FiguresRecord(
        heading="Figures of the last full comparison",
        writer="`bdnn compare claims` (the workflow's `compare_claims` rule)",
        made_by="`make compare` (`snakemake compare`)",
        verdicts="`results/compare/claims.md` (and `claims.json`, copied here)",
        texts={
            f"{TRADEOFF_FIGURE}-{d}": f"{DATASETS[d].title}: test accuracy against the remaining hidden neurons for every "
            f"pruning criterion ({', '.join(block['criteria'])}), mean and min-max band over seeds, one panel per sample count, "
            "with the networks trained from scratch at the operating widths"
            for d in block["datasets"]
        },
    )
    return [str(p) for p in record_figures(folder.pop(), [Path(f) for f in figures], record, provenance)]


def write_claims(
    cfg: Mapping[str, Any],
    verdict_files: Sequence[str],
    curve_files: Sequence[str],
    summary_files: Sequence[str],
    out_dir: str,
    figures: Sequence[str] = (),
) -> list[str]:
    """claims.md, claims.json and claims.html of the comparison: per dataset the verdicts per
    baseline (from verdict_files), claims 1-3 on each dataset's Eq. 1 sweep and claim 5 (the
    second dataset against the first, at every sample count of the sweep, compare.classes); and
    the README of the trade-off `figures` (record_tradeoff_figures)."""
    block = compare_block(cfg)
    fit = fitness_settings(cfg["fitness"])
    curves = runs_of(curve_files, summary_files)
    curves = curves[curves["criterion"] == REFERENCE]
    records = [json.loads(Path(f).read_text()) for f in verdict_files]
    datasets = {r["dataset"]: r for r in records}
    data: dict[str, Any] = {"datasets": {}, "claim5": None, "dataset_order": list(block["datasets"])}  # JSON keys are sorted
    peaks = {}
    for name in block["datasets"]:
        sweep = curves[curves["dataset"] == name].drop(columns=["dataset", "criterion"])
        claims = develop_claims(sweep, fit) if len(sweep) else {}
        p = run_peaks(sweep, fit) if len(sweep) else pd.DataFrame()
        peaks[name] = p[p["classes"] == block["classes"]] if len(p) else p
        data["datasets"][name] = {
            "comparison": datasets.get(name),
            "claims": {k: c.data() for k, c in claims.items()},
            "unpruned_accuracy": _unpruned_accuracy(sweep, block["classes"]) if len(sweep) else {},
        }
    if len(block["datasets"]) > 1:
        easier, harder = block["datasets"][:2]
        titles = (DATASETS[harder].title, DATASETS[easier].title)
        data["claim5"] = {"harder": harder, "easier": easier, **claim5(peaks[harder], peaks[easier], titles).data()}
    out = {role: f"{out_dir}/{name}" for role, name in COMPARE_FILES.items()}
    text = render(cfg, data)
    write_text(out["claims"], text)
    write_json(out["data"], data)
    write_text(out["page"], markdown_to_html(text, "BDNN-sp: the comparison"))
    return [*out.values(), *record_tradeoff_figures(cfg, figures)]
