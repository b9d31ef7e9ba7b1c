"""Collect the per-job outputs of a sweep into the results tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from bdnn import BDNNError
from bdnn.files import atomic_path

SUMMARY_COLUMNS = [
    "classes", "n_classes", "samples", "seed", "hidden_at_peak", "peak_censored", "peak_iteration",
    "A_at_peak", "S_at_peak", "E_at_peak", "F_at_peak", "test_acc_at_peak", "test_acc_unpruned",
    "hidden_at_S_peak", "iterations", "seconds",
]
CURVE_KEYS = ["classes", "n_classes", "samples", "seed"]


def develop_dir(results: Path, classes: str, samples: int, seed: int) -> Path:
    return results / "develop" / classes / str(samples) / f"seed{seed}"


def transfer_dir(results: Path, seed: int) -> Path:
    return results / "transfer" / f"seed{seed}"


def _need(path: Path) -> Path:
    if not path.exists():
        raise BDNNError(f"missing result {path}: run its develop/transfer job first")
    return path


def collect(cfg: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(curves, summary, transfer) tables for exactly the jobs the config names."""
    results = Path(cfg["results_dir"])
    curves, summaries = [], []
    for name, digits in cfg["classes"].items():
        for samples in cfg["samples"]:
            for seed in cfg["seeds"]:
                d = develop_dir(results, name, samples, seed)
                keys = {"classes": name, "n_classes": len(digits), "samples": samples, "seed": seed}
                curve = pd.read_csv(_need(d / "curve.csv"))
                curves.append(curve.assign(**keys)[CURVE_KEYS + list(curve.columns)])
                s = json.loads(_need(d / "summary.json").read_text())
                summaries.append({**keys, **{k: s[k] for k in SUMMARY_COLUMNS if k not in keys}})
    transfer = [pd.read_csv(_need(transfer_dir(results, seed) / "transfer.csv")) for seed in cfg["seeds"]]
    return pd.concat(curves, ignore_index=True), pd.DataFrame(summaries, columns=SUMMARY_COLUMNS), pd.concat(transfer, ignore_index=True)


def write_table(df: pd.DataFrame, path: Path) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path


def aggregate(cfg: Mapping[str, Any]) -> list[Path]:
    """Write results/curves.csv, results/summary.csv and results/transfer.csv."""
    results = Path(cfg["results_dir"])
    curves, summary, transfer = collect(cfg)
    return [
        write_table(curves, results / "curves.csv"),
        write_table(summary, results / "summary.csv"),
        write_table(transfer, results / "transfer.csv"),
    ]
