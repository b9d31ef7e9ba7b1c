"""The comparison's figure (`make compare`): per dataset, the trade-off curves of every pruning
criterion (test accuracy against the remaining hidden neurons, Blalock et al. 2020), one panel per
sample count, mean and min-max band over seeds, with the networks trained from scratch at the
operating widths drawn on the same axes (Liu et al. 2019)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from bdnn.data.registry import DATASETS
from bdnn.method.names import CRITERION_TEXT
from bdnn.report.plotting import band, plt, save

SCRATCH_LABEL = "trained from scratch at that width"


def tradeoff(
    curves: pd.DataFrame, scratch: pd.DataFrame, base: Path, dataset: str, criteria: Sequence[str], widths: Sequence[int],
    labels: Mapping[str, str] | None = None,
) -> list[Path]:  # fmt: skip
    """`curves` (criterion, samples, seed, iteration, hidden, test_acc) and `scratch` (samples,
    seed, hidden, test_acc) of one dataset: one panel per sample count, x the remaining hidden
    neurons (log scale, pruning from the right), y the test accuracy."""
    labels = {**CRITERION_TEXT, **(labels or {})}
    counts = sorted(curves["samples"].unique())
    fig, axes = plt.subplots(1, len(counts), figsize=(5.2 * len(counts), 4.2), sharey=True, squeeze=False)
    for ax, samples in zip(axes[0], counts, strict=True):
        for name in criteria:
            g = curves[(curves["criterion"] == name) & (curves["samples"] == samples)]
            if len(g):
                band(ax, g, "hidden", "test_acc", labels.get(name, name), linewidth=2.2 if name == "eq1" else 1.2)
        s = scratch[scratch["samples"] == samples]
        if len(s):
            stats = s.groupby("target").agg(
                hidden=("hidden", "mean"), mean=("test_acc", "mean"), low=("test_acc", "min"), high=("test_acc", "max")
            )
            ax.errorbar(stats["hidden"], stats["mean"], yerr=[stats["mean"] - stats["low"], stats["high"] - stats["mean"]],
                        fmt="ks", markersize=5, capsize=3, label=SCRATCH_LABEL)  # fmt: skip
        for w in widths:
            ax.axvline(w, color="0.85", linewidth=0.8, zorder=0)
        seeds = curves[curves["samples"] == samples]["seed"].nunique()
        ax.set(xscale="log", xlabel="remaining hidden neurons", title=f"{samples:,} training samples ({seeds} seeds)")
        ax.invert_xaxis()
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("test accuracy")
    axes[0][-1].legend(fontsize=8, loc="lower left")
    title = DATASETS[dataset].title if dataset in DATASETS else dataset
    fig.suptitle(f"{title}: accuracy against size for each pruning criterion (mean, min-max band over seeds)")
    fig.tight_layout()
    return save(fig, base)
