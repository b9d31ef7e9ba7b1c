"""The study's analysis (docs/method.md, "The study"): per run the F peak, its plateau and the
trainable range of widths; per cell the verdicts on claims 1-3 (the rules of
bdnn.analysis.verdicts) and the numbers the report explains them with. Tables in, records out."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bdnn.analysis.peaks import peak, runs
from bdnn.analysis.verdicts import Claim, claim1, claim2, claim3
from bdnn.method.settings import TrainingSettings
from bdnn.method.sgd import steps_per_epoch

CLAIMS = {
    "claim1": "1: interior F peak",
    "claim2": "2: size at the peak grows",
    "claim2_range": "2': trainable range grows",
    "claim3": "3: fewer classes, smaller",
}
MAP_COLUMNS = ["cell", "claim", "verdict", "statistic", "interval_low", "interval_high", "p", "p_reverse", "p_min", "n", "runs", "text"]


def run_table(curves: pd.DataFrame, tolerance: float, level: float) -> pd.DataFrame:
    """Per run (F as recomputed in `curves`): the F peak (bdnn.analysis.peaks.peak), the plateau
    (the pruning iterations whose F is within `tolerance` of the peak: how many, and their smallest
    and largest width), and the trainable range (the widths, the un-pruned one included, where A
    is above chance + `level` x (the run's best A - chance): its widest and narrowest)."""
    rows = []
    for keys, g in runs(curves):
        pr = g[g["iteration"] > 0]
        top = peak(g)
        plateau = pr[pr["F"].to_numpy(float) >= top["F_at_peak"] - tolerance]
        chance = 1.0 / keys["n_classes"]
        cut = chance + level * (g["A"].max() - chance)
        trainable = g[g["A"] > cut]
        rows.append(
            {
                **keys,
                **top,
                "plateau_iterations": len(plateau),
                "plateau_min": int(plateau["hidden"].min()),
                "plateau_max": int(plateau["hidden"].max()),
                "trainable_level": float(cut),
                "start_width": int(g["hidden"].iloc[0]),
                "trainable_max": int(trainable["hidden"].max()) if len(trainable) else 0,
                "trainable_min": int(trainable["hidden"].min()) if len(trainable) else 0,
            }
        )
    return pd.DataFrame(rows)


def judge(runs: pd.DataFrame) -> dict[str, Claim]:
    """Claims 1-3 on a cell's runs by the rules of bdnn.analysis.verdicts (so the default cell
    repeats claims.md's verdicts), and claim 2 read on the trainable range: the per-seed Spearmans
    between the sample count and the widest trainable width, a statistic capped at the un-pruned
    width (censored where half or more of the seeds reach it: bdnn.analysis.verdicts.claim2)."""
    full = runs["n_classes"].max()
    big, small = runs[runs["n_classes"] == full], runs[runs["n_classes"] < full]
    out = {"claim1": claim1(big), "claim2": claim2(big), "claim3": claim3(big, small)}
    ranged = big.assign(hidden=big["trainable_max"])
    out["claim2_range"] = claim2(ranged, what="widest trainable width", cap=float(big["start_width"].max()))
    return out


def _means(df: pd.DataFrame, col: str, by: Sequence[str] = ("classes", "samples")) -> dict[str, dict[str, float]]:
    """{classes: {samples: mean of col}} as JSON-ready strings and floats."""
    out: dict[str, dict[str, float]] = {}
    for (name, samples), g in df.groupby(list(by)):
        out.setdefault(str(name), {})[str(samples)] = float(g[col].mean())
    return out


def mechanisms(
    curves: pd.DataFrame, runs: pd.DataFrame, summaries: Sequence[Mapping[str, Any]], training: TrainingSettings, e_width: int
) -> dict[str, Any]:
    """The numbers the report explains the claims with: the SGD steps of a retraining phase (by
    construction) and, measured on this cell's runs, E at the recorded width nearest `e_width` (the
    study key study.e_width), the
    un-pruned network's test accuracy, the epochs of initial training the network that pruning
    starts from received (under trained_start its best epoch), the sizes at the peak, the plateau
    and the trainable range, each as a mean per class subset and sample count."""
    widths = np.sort(curves["hidden"].unique())
    width = int(widths[np.argmin(np.abs(widths - e_width))])
    steps = {}  # by construction (bdnn.method.develop.phase_steps; tests/test_study.py counts them)
    for s in sorted(curves["samples"].unique()):
        n = training.equal_steps if training.equal_steps is not None else int(s)
        steps[str(s)] = training.retrain_epochs * steps_per_epoch(n, training.batch_size)
    summary = pd.DataFrame(
        [
            {
                "classes": s["classes"],
                "samples": s["samples"],
                "epochs": s.get("initial_epochs_run", training.initial_epochs),
                "seconds": s["seconds"],
            }
            for s in summaries
        ]
    )
    return {
        "retrain_steps": steps,
        "trained_start": training.trained_start is not None,
        "E_width": width,
        "E_at_width": _means(curves[curves["hidden"] == width], "E"),
        "unpruned_test_acc": _means(curves[curves["iteration"] == 0], "test_acc"),
        "initial_epochs_run": _means(summary, "epochs") if len(summary) else {},
        "size_at_peak": _means(runs, "hidden"),
        "plateau_min": _means(runs, "plateau_min"),
        "plateau_max": _means(runs, "plateau_max"),
        "plateau_iterations": {
            "median": float(runs["plateau_iterations"].median()),
            "min": int(runs["plateau_iterations"].min()),
            "max": int(runs["plateau_iterations"].max()),
            "share_wider_than_one": float((runs["plateau_iterations"] > 1).mean()),
        },
        "trainable_max": _means(runs, "trainable_max"),
        "seconds": float(summary["seconds"].sum()) if len(summary) else 0.0,
    }


def map_rows(cell: str, claims: Mapping[str, Claim], runs: int) -> list[dict[str, Any]]:
    """The cell's rows of claims_map.csv."""
    rows = []
    for claim, c in claims.items():
        lo, hi = c.interval if c.interval is not None else (None, None)
        rows.append(
            {"cell": cell, "claim": claim, "verdict": c.verdict, "statistic": c.statistic, "interval_low": lo, "interval_high": hi,
             "p": c.p, "p_reverse": c.p_reverse, "p_min": c.p_min, "n": c.n, "runs": runs, "text": c.text}
        )  # fmt: skip
    return rows


def cell_record(
    cell: str, change: str, trained: bool, key: str, claims: Mapping[str, Claim], mech: Mapping[str, Any], runs: int
) -> dict[str, Any]:
    """cell.json: what the cell is, its verdicts and its mechanism numbers."""
    return {
        "cell": cell,
        "change": change,
        "trained": trained,
        "settings": key,
        "runs": runs,
        "claims": {k: c.data() for k, c in claims.items()},
        "mechanisms": copy.deepcopy(dict(mech)),
    }
