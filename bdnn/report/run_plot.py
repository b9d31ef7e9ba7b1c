"""One developmental run's curves in one figure (an artifact of its MLflow run): A, S, E, F
against the hidden neurons, the developed network marked. Needs matplotlib and pandas only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bdnn.report.plotting import plt
from bdnn.report.plotting import save as _save

PANELS = [("A", "accuracy A"), ("S", "stability S"), ("E", "mean of weights E"), ("F", "fitness F")]


def plot_run(curve: pd.DataFrame, path: Path, title: str = "") -> Path:
    """One developmental run: A, S, E, F against hidden neurons, the developed network (the F
    peak: first argmax) marked (an MLflow artifact)."""
    c = curve[curve["iteration"] > 0]
    peak = c.loc[c["F"].idxmax()]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3))
    for ax, (col, label) in zip(axes, PANELS, strict=True):
        ax.plot(c["hidden"], c[col], marker=".")
        ax.axvline(peak["hidden"], color="tab:red", linewidth=1, linestyle="--")
        ax.plot([peak["hidden"]], [peak[col]], "o", color="tab:red")
        ax.set_xscale("log")
        ax.minorticks_off()  # a log axis's minor ticks cost a third of the figure's time
        ax.set_xlabel("hidden neurons")
        ax.set_title(label)
    fig.suptitle(f"{title}: F peak at {int(peak['hidden'])} hidden (iteration {int(peak['iteration'])}, dashed)")
    # fixed margins: one figure per tracked run, where tight_layout and a tight bounding box (each
    # a layout pass over every tick label) took half of its time
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.17, top=0.8, wspace=0.25)
    return _save(fig, path.with_suffix(""), ("png",), tight=False)[0]
