"""Fig. 3 and Fig. 4 of the paper and the transfer figures, drawn from the results tables, and a
per-run plot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from bdnn.analysis.verdicts import Claim, claim4
from bdnn.method.names import NETWORKS, TASK_NETWORKS
from bdnn.report.plotting import band as _band
from bdnn.report.plotting import plt
from bdnn.report.plotting import save as _save
from bdnn.report.run_plot import PANELS


@dataclass(frozen=True)
class Wording:
    """How figures name the data: the dataset, and the two tasks of the transfer to another task
    (None where it is off), e.g. "digits 0-4" (from the config and the dataset's class names)."""

    dataset: str
    task_from: str | None
    task_to: str | None
    criterion: str = "eq1"  # prune.criterion; BDNN-sp's own is Eq. 1

    @property
    def method(self) -> str:
        """The method as titles name it: BDNN-sp, or BDNN-sp with another pruning criterion."""
        return "BDNN-sp" if self.criterion == "eq1" else f"BDNN-sp with {self.criterion} pruning"

    @property
    def suffix(self) -> str:
        """What a title adds where the run is not the paper's setting (MNIST, Eq. 1): '' there."""
        return "" if (self.dataset, self.criterion) == ("MNIST", "eq1") else f" ({self.method} on {self.dataset})"


def fig3(
    curves: pd.DataFrame, base: Path, dataset: str, runs: pd.DataFrame | None = None, title: str = "", method: str = "BDNN-sp"
) -> list[Path]:
    """Panels A-D: A, S, E, F against remaining hidden neurons, one line per sample count
    (the largest class subset), mean over seeds with a min-max band. With `runs` (the study's
    bdnn.analysis.study.run_table), panel D marks each count's selected peaks (one dot per seed) and its
    mean plateau (a thick bar from its smallest to its largest width, at the mean peak F)."""
    full = curves[curves["n_classes"] == curves["n_classes"].max()]
    pruned = full[full["iteration"] > 0]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    cmap = plt.get_cmap("viridis")
    counts = sorted(full["samples"].unique())
    for ax, (col, label), letter in zip(axes.flat, PANELS, "ABCD", strict=False):
        for i, s in enumerate(counts):
            _band(ax, pruned[pruned["samples"] == s], "hidden", col, f"{s}", color=cmap(i / max(len(counts) - 1, 1)))
        ax.set_xscale("log")
        ax.set_ylabel(label)
        ax.set_title(f"({letter}) {label}", loc="left")
        ax.grid(alpha=0.3)
    if runs is not None:
        ax = axes[1, 1]
        mine = runs[runs["n_classes"] == full["n_classes"].max()]
        for i, s in enumerate(counts):
            g = mine[mine["samples"] == s]
            color = cmap(i / max(len(counts) - 1, 1))
            ax.scatter(g["hidden"], g["F_at_peak"], color=color, edgecolor="black", linewidth=0.5, zorder=3, s=22)
            ax.hlines(g["F_at_peak"].mean(), g["plateau_min"].mean(), g["plateau_max"].mean(), color=color, linewidth=5, alpha=0.45)
        ax.set_title("(D) fitness F: peaks (dots) and mean plateau (bars)", loc="left")
    for ax in axes[1]:
        ax.set_xlabel("remaining hidden neurons (log scale)")
    axes[0, 0].legend(title="training samples", fontsize=8)
    n_seeds = full["seed"].nunique()
    fig.suptitle(
        (f"{title}: " if title else "")
        + f"{method} on {dataset}, {int(full['n_classes'].iloc[0])} classes: mean over {n_seeds} seed(s), band = min-max"
    )
    return _save(fig, base)


NETWORK_COLORS = {"pruned": "black", "unpruned": "tab:red", "unpruned_epochs": "tab:orange", "scratch": "tab:blue", "random": "tab:green"}


def _transfer_panel(ax: plt.Axes, transfer: pd.DataFrame, n: int, networks: Sequence[str], letter: str) -> None:
    g = transfer[transfer["new_samples"] == n]
    for net in networks:
        h = g[g["network"] == net]
        if len(h):
            sizes = sorted(h["hidden"].unique())
            _band(ax, h, "step", "error_new", f"{net} ({'/'.join(map(str, sizes))} hidden)", color=NETWORK_COLORS[net])
    ax.set_xlabel("training iteration (mini-batches)")
    ax.set_ylabel(f"error on the {n} new samples")
    ax.set_title(f"({letter}) transfer to {n} new samples", loc="left")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def paired_differences(transfer_summary: pd.DataFrame) -> pd.DataFrame:
    """Per control and draw, the comparison of claim 4 (bdnn.analysis.verdicts.claim4: the same numbers as
    claims.md): mean over seeds of control minus developed area under the error on the new
    samples, its 95% interval (the sign-flip tests inverted; unbounded below 6 seeds: drawn as the
    mean alone), and the seeds used and left out (target not reached)."""

    def bound(c: Claim, i: int) -> float:
        return float(c.interval[i]) if c.interval and np.isfinite(c.interval[i]) else np.nan

    rows = [
        {"network": net, "new_samples": n, "mean": c.statistic, "low": bound(c, 0), "high": bound(c, 1),
         "seeds": c.n or 0, "left_out": c.left_out}
        for net, draws in claim4(transfer_summary)[1].items()
        for n, c in draws.items()
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["network", "new_samples", "mean", "low", "high", "seeds", "left_out"])


def _differences_panel(ax: plt.Axes, transfer_summary: pd.DataFrame, letter: str) -> None:
    diffs = paired_differences(transfer_summary)
    draws = sorted(diffs["new_samples"].unique(), reverse=True)
    controls = list(dict.fromkeys(diffs["network"]))
    for j, n in enumerate(draws):
        for i, net in enumerate(controls):
            r = diffs[(diffs["network"] == net) & (diffs["new_samples"] == n)]
            if not len(r):
                continue
            r = r.iloc[0]
            x = i + (j - (len(draws) - 1) / 2) * 0.25
            if not r["seeds"]:  # say so rather than leave a gap: no seed reached the target
                ax.annotate("n/a: target\nnot reached", (x, 0), fontsize=7, ha="center", va="bottom", color=NETWORK_COLORS[net])
                continue
            bounded = np.isfinite(r["low"]) and np.isfinite(r["high"])
            yerr = [[r["mean"] - r["low"]], [r["high"] - r["mean"]]] if bounded else None
            ax.errorbar(x, r["mean"], yerr=yerr, fmt="os"[j % 2], color=NETWORK_COLORS[net], capsize=3)
            if r["left_out"]:
                top = r["high"] if bounded else r["mean"]
                ax.annotate(f"{int(r['left_out'])} left out", (x, top), fontsize=7, ha="center", va="bottom")
    ax.axhline(0, color="grey", linewidth=1)
    markers = [Line2D([], [], marker="os"[j % 2], color="black", linestyle="none", label=f"{n} new samples") for j, n in enumerate(draws)]
    ax.legend(handles=markers, fontsize=8)
    ax.set_xticks(range(len(controls)), controls, rotation=20)
    ax.set_ylabel("control minus developed: mean error on new samples")
    ax.set_title(f"({letter}) paired differences, 95% intervals (none below 6 seeds)", loc="left")
    ax.grid(alpha=0.3)


def fig4(summary: pd.DataFrame, transfer: pd.DataFrame, transfer_summary: pd.DataFrame, base: Path, suffix: str = "") -> list[Path]:
    """(A) hidden size at the F peak against sample count per class subset; (B), (C) error on
    the new samples during transfer training, pruned vs un-pruned (largest draw first); (D) the
    paired differences of every control from the developed network, with 95% intervals (above 0:
    the developed network has the lower error)."""
    draws = sorted(transfer["new_samples"].unique(), reverse=True)
    fig, axes = plt.subplots(1, 2 + len(draws), figsize=(5 * (2 + len(draws)), 4.4))
    ax = axes[0]
    for n_cls, g in sorted(summary.groupby("n_classes"), reverse=True):
        color = "tab:red" if n_cls == summary["n_classes"].max() else "black"
        _band(ax, g, "samples", "hidden_at_peak", f"{n_cls} classes ({g['classes'].iloc[0]})", marker="o", color=color)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(summary["samples"].unique()), [str(s) for s in sorted(summary["samples"].unique())], rotation=45)
    ax.set_xlabel("training samples")
    ax.set_ylabel("hidden neurons at the F peak")
    ax.set_title("(A) developed network size", loc="left")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    letters = iter("BCDEFG")
    for ax, n in zip(axes[1:-1], draws, strict=True):
        _transfer_panel(ax, transfer, n, ("pruned", "unpruned"), next(letters))
    _differences_panel(axes[-1], transfer_summary, next(letters))
    if suffix:  # where the run is not the paper's setting, the figure says what it is
        fig.suptitle(suffix.strip(" ()"))
    fig.tight_layout()
    return _save(fig, base)


def transfer_controls(
    transfer: pd.DataFrame,
    transfer_summary: pd.DataFrame,
    base: Path,
    networks: Sequence[str] = NETWORKS,
    title: str = "Transfer: the developed (pruned) network against its controls",
) -> list[Path]:
    """The developed network and every control during transfer training, one panel per draw, and
    the paired differences (mean over seeds, band min-max). An empty table (the experiment is
    off) gives a figure that says so."""
    draws = sorted(transfer["new_samples"].unique(), reverse=True)
    if not draws:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{title}: not run (off in the config)", ha="center", va="center")
        return _save(fig, base)
    fig, axes = plt.subplots(1, 1 + len(draws), figsize=(5.5 * (1 + len(draws)), 4.6))
    letters = iter("ABCDEF")
    for ax, n in zip(axes[:-1], draws, strict=True):
        _transfer_panel(ax, transfer, n, networks, next(letters))
    _differences_panel(axes[-1], transfer_summary, next(letters))
    fig.suptitle(f"{title}, mean over seeds (band min-max)")
    fig.tight_layout()
    return _save(fig, base)


def make_figures(tables: Mapping[str, pd.DataFrame], out: str | Path, wording: Wording) -> list[Path]:
    """<out>/{fig3,fig4,transfer_controls,task_transfer}.{png,pdf} from the results tables (by
    their names: curves, summary, transfer, transfer_summary, task_transfer, task_transfer_summary)."""
    out, t = Path(out), tables
    paths = fig3(t["curves"], out / "fig3", wording.dataset, method=wording.method)
    paths += fig4(t["summary"], t["transfer"], t["transfer_summary"], out / "fig4", wording.suffix)
    title = "Transfer: the developed (pruned) network against its controls" + wording.suffix
    paths += transfer_controls(t["transfer"], t["transfer_summary"], out / "transfer_controls", title=title)
    title = f"Transfer to another task: new output layer, {wording.task_to or 'the new task'}{wording.suffix}"
    paths += transfer_controls(t["task_transfer"], t["task_transfer_summary"], out / "task_transfer", TASK_NETWORKS, title)
    return paths
