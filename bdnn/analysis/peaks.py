"""The developed network of each recorded run, read off its curve: F recomputed under any reading
of S and E and any weights (from the recorded columns: no training), and the F peak (the first
argmax over the pruning iterations). The one place both the claims and the study find a peak."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bdnn.method.fitness import fitness
from bdnn.method.settings import FitnessSettings

RUN_COLUMNS = ["classes", "n_classes", "samples", "seed"]


def recompute(curves: pd.DataFrame, fit: FitnessSettings) -> pd.DataFrame:
    """The curves with S, E and F (Eq. 7) recomputed under a fitness block's readings and weights
    from the recorded columns (iteration 0 keeps F empty: S needs a pruning step)."""
    c = curves.copy()
    c["S"] = c[f"S_{fit.stability}"]
    c["E"] = c[f"E_{fit.mean_weight}"]
    f = fitness(c["A"], c["S"], c["E"], fit.alpha, fit.beta, fit.gamma)
    c["F"] = f.where(c["iteration"] > 0)
    return c


def runs(curves: pd.DataFrame):
    """(run keys, the run's rows sorted by iteration) for each run, in the curves' order."""
    for keys, g in curves.groupby(RUN_COLUMNS, sort=False):
        yield dict(zip(RUN_COLUMNS, keys, strict=True)), g.sort_values("iteration")


def peak(run: pd.DataFrame) -> dict[str, object]:
    """The F peak of one run's rows (F and S columns as recomputed): its width and iteration, F
    there, and whether it (and S's own peak) is interior (neither the first nor the last pruning
    iteration)."""
    pr = run[run["iteration"] > 0]
    f = pr["F"].to_numpy(float)
    i = int(np.argmax(f))
    j = int(np.argmax(pr["S"].to_numpy(float)))
    return {
        "hidden": int(pr["hidden"].iloc[i]),
        "peak_iteration": int(pr["iteration"].iloc[i]),
        "F_at_peak": float(f[i]),
        "interior": 0 < i < len(pr) - 1,
        "S_interior": 0 < j < len(pr) - 1,
    }


def run_peaks(curves: pd.DataFrame, fit: FitnessSettings) -> pd.DataFrame:
    """Per run: its keys and its F peak under `fit` (see `peak`)."""
    c = recompute(curves, fit)
    return pd.DataFrame([{**keys, **peak(g)} for keys, g in runs(c)])
