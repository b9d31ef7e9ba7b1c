"""Fig. 3 and Fig. 4 of the paper, regenerated from the results tables, and a per-run plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bdnn.files import atomic_path  # noqa: E402
from bdnn.layout import FIGURE_FORMATS  # noqa: E402

PANELS = [("A", "accuracy A"), ("S", "stability S"), ("E", "mean of weights E"), ("F", "fitness F")]


def _save(fig: plt.Figure, base: Path, formats: Sequence[str] = FIGURE_FORMATS) -> list[Path]:
    out = []
    for fmt in formats:
        path = base.with_suffix(f".{fmt}")
        with atomic_path(path) as tmp:
            # no creation date: the same results give byte-identical files (a clean `git status`)
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight", metadata={"CreationDate": None} if fmt == "pdf" else None)
        out.append(path)
    plt.close(fig)
    return out


def _band(ax: plt.Axes, g: pd.DataFrame, x: str, y: str, label: str, **kw: Any) -> None:
    stats = g.groupby(x)[y].agg(["mean", "min", "max"]).sort_index()
    (line,) = ax.plot(stats.index, stats["mean"], label=label, **kw)
    if len(g[x]) > len(stats):  # more than one seed: show the spread
        ax.fill_between(stats.index, stats["min"], stats["max"], color=line.get_color(), alpha=0.2, linewidth=0)


def fig3(curves: pd.DataFrame, base: Path) -> list[Path]:
    """Panels A-D: A, S, E, F against remaining hidden neurons, one line per sample count
    (the largest class subset), mean over seeds with a min-max band."""
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
    for ax in axes[1]:
        ax.set_xlabel("remaining hidden neurons (log scale)")
    axes[0, 0].legend(title="training samples", fontsize=8)
    n_seeds = full["seed"].nunique()
    fig.suptitle(f"BDNN-sp on MNIST, {int(full['n_classes'].iloc[0])} classes: mean over {n_seeds} seed(s), band = min-max")
    return _save(fig, base)


def fig4(summary: pd.DataFrame, transfer: pd.DataFrame, base: Path) -> list[Path]:
    """(A) hidden size at the F peak against sample count per class subset; (B), (C) error on
    the new samples during transfer training, pruned vs un-pruned (largest draw first)."""
    draws = sorted(transfer["new_samples"].unique(), reverse=True)
    fig, axes = plt.subplots(1, 1 + len(draws), figsize=(5 * (1 + len(draws)), 4.2))
    ax = axes[0]
    for n_cls, g in sorted(summary.groupby("n_classes"), reverse=True):
        name = g["classes"].iloc[0]
        _band(
            ax,
            g,
            "samples",
            "hidden_at_peak",
            f"{n_cls} classes ({name})",
            marker="o",
            color="tab:red" if n_cls == summary["n_classes"].max() else "black",
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(summary["samples"].unique()), [str(s) for s in sorted(summary["samples"].unique())], rotation=45)
    ax.set_xlabel("training samples")
    ax.set_ylabel("hidden neurons at the F peak")
    ax.set_title("(A) developed network size", loc="left")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    for ax, n, letter in zip(axes[1:], draws, "BCDEFG", strict=False):
        g = transfer[transfer["new_samples"] == n]
        for net, color in (("pruned", "black"), ("unpruned", "tab:red")):
            h = g[g["network"] == net]
            sizes = sorted(h["hidden"].unique())
            _band(ax, h, "step", "error_new", f"{net} ({'/'.join(map(str, sizes))} hidden)", color=color)
        ax.set_xlabel("training iteration (mini-batches)")
        ax.set_ylabel(f"error on the {n} new samples")
        ax.set_title(f"({letter}) transfer to {n} new samples", loc="left")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, base)


def plot_run(curve: pd.DataFrame, path: Path, title: str = "") -> Path:
    """One developmental run: A, S, E, F against hidden neurons (an MLflow artifact)."""
    c = curve[curve["iteration"] > 0]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3))
    for ax, (col, label) in zip(axes, PANELS, strict=False):
        ax.plot(c["hidden"], c[col], marker=".")
        ax.set_xscale("log")
        ax.set_xlabel("hidden neurons")
        ax.set_title(label)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path.with_suffix(""), ("png",))[0]


def make_figures(curves: str | Path, summary: str | Path, transfer: str | Path, out: str | Path) -> list[Path]:
    """<out>/fig3.* and <out>/fig4.* (bdnn.layout.FIGURES) from the results tables."""
    out = Path(out)
    fig3_files = fig3(pd.read_csv(curves), out / "fig3")
    return fig3_files + fig4(pd.read_csv(summary), pd.read_csv(transfer), out / "fig4")
