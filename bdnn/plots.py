"""Fig. 3 and Fig. 4 of the paper, regenerated from the results tables, and a per-run plot."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from bdnn.claims import claim4  # noqa: E402
from bdnn.files import atomic_path, write_text  # noqa: E402
from bdnn.layout import FIGURE_FORMATS, FIGURES_README, NETWORKS, TASK_NETWORKS  # noqa: E402
from bdnn.provenance import git_commit, machine  # noqa: E402

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


def fig3(curves: pd.DataFrame, base: Path, runs: pd.DataFrame | None = None, title: str = "") -> list[Path]:
    """Panels A-D: A, S, E, F against remaining hidden neurons, one line per sample count
    (the largest class subset), mean over seeds with a min-max band. With `runs` (the study's
    bdnn.study.run_table), panel D marks each count's selected peaks (one dot per seed) and its
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
        + f"BDNN-sp on MNIST, {int(full['n_classes'].iloc[0])} classes: mean over {n_seeds} seed(s), band = min-max"
    )
    return _save(fig, base)


def study_fig4(runs: pd.DataFrame, floor: int, hidden_init: int, base: Path, title: str = "") -> list[Path]:
    """A study cell's Fig. 4: (A) the hidden size at the F peak against the sample count per class
    subset (mean and min-max over seeds), the mean plateau as a shaded band, and the size floor
    (prune.min_hidden); (B) the trainable range: the widest width whose A is above the level (at
    hidden_init every width trained: the range is censored there)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    counts = sorted(runs["samples"].unique())
    full = runs["n_classes"].max()
    for n_cls, g in sorted(runs.groupby("n_classes"), reverse=True):
        color = "tab:red" if n_cls == full else "black"
        label = f"{n_cls} classes ({g['classes'].iloc[0]})"
        _band(axes[0], g, "samples", "hidden", label, marker="o", color=color)
        band = g.groupby("samples")[["plateau_min", "plateau_max"]].mean().sort_index()
        axes[0].fill_between(band.index, band["plateau_min"], band["plateau_max"], color=color, alpha=0.08, hatch="//", linewidth=0)
        _band(axes[1], g, "samples", "trainable_max", label, marker="s", color=color)
    axes[0].axhline(floor, color="grey", linestyle=":", linewidth=1.5, label=f"size floor (prune.min_hidden = {floor})")
    axes[1].axhline(hidden_init, color="grey", linestyle=":", linewidth=1.5, label=f"hidden_init = {hidden_init}: every width trained")
    axes[0].set_ylabel("hidden neurons at the F peak (hatched: mean plateau)")
    axes[0].set_title("(A) developed network size", loc="left")
    axes[1].set_ylabel("widest trainable width (hidden neurons)")
    axes[1].set_title("(B) trainable range", loc="left")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(counts, [str(s) for s in counts], rotation=45)
        ax.set_xlabel("training samples")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, base)


VERDICT_COLORS = {"holds": "#7fbf7f", "fails": "#e58080", "inconclusive": "#e6e6a8"}


def claims_map(study_map: pd.DataFrame, labels: Mapping[str, str], base: Path) -> list[Path]:
    """The study's map: cells (rows) x claims (columns), coloured by verdict, the statistic (and
    p where there is one) written in each square."""
    cells = list(dict.fromkeys(study_map["cell"]))
    claims = list(labels)
    fig, ax = plt.subplots(figsize=(2.3 * len(claims) + 2, 0.55 * len(cells) + 1.4))
    for i, cell in enumerate(cells):
        for j, claim in enumerate(claims):
            r = study_map[(study_map["cell"] == cell) & (study_map["claim"] == claim)]
            if not len(r):
                continue
            r = r.iloc[0]
            verdict = str(r["verdict"])
            color = next((c for v, c in VERDICT_COLORS.items() if verdict.startswith(v)), "white")
            ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor=color, edgecolor="white", linewidth=2))
            stat = r["statistic"]
            stat_text = "" if pd.isna(stat) else (f"{stat:.0f}" if claim == "claim3" else f"{stat:+.2f}")
            if not pd.isna(r["p"]):
                stat_text += f", p={r['p']:.2g}"
            ax.text(j + 0.5, i + 0.5, f"{verdict}\n{stat_text}", ha="center", va="center", fontsize=8)
    ax.set_xlim(0, len(claims))
    ax.set_ylim(len(cells), 0)
    ax.set_xticks([j + 0.5 for j in range(len(claims))], [labels[c] for c in claims], fontsize=9)
    ax.set_yticks([i + 0.5 for i in range(len(cells))], cells)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title("Claims map: cell x claim, verdict and statistic (claim 3: counts where smaller, and p)", pad=28, fontsize=10)
    fig.tight_layout()
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
    """Per control and draw, the comparison of claim 4 (bdnn.claims.claim4: the same numbers as
    claims.md): mean over seeds of control minus developed area under the error on the new
    samples, its 95% bootstrap interval, and the seeds used and left out (target not reached)."""
    rows = [
        {"network": net, "new_samples": n, "mean": c.statistic, "low": c.interval[0] if c.interval else np.nan,
         "high": c.interval[1] if c.interval else np.nan, "seeds": c.n or 0, "left_out": c.left_out}
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
            ax.errorbar(x, r["mean"], yerr=[[r["mean"] - r["low"]], [r["high"] - r["mean"]]], fmt="os"[j % 2], color=NETWORK_COLORS[net],
                        capsize=3)  # fmt: skip
            if r["left_out"]:
                ax.annotate(f"{int(r['left_out'])} left out", (x, r["high"]), fontsize=7, ha="center", va="bottom")
    ax.axhline(0, color="grey", linewidth=1)
    markers = [Line2D([], [], marker="os"[j % 2], color="black", linestyle="none", label=f"{n} new samples") for j, n in enumerate(draws)]
    ax.legend(handles=markers, fontsize=8)
    ax.set_xticks(range(len(controls)), controls, rotation=20)
    ax.set_ylabel("control minus developed: mean error on new samples")
    ax.set_title(f"({letter}) paired differences, 95% intervals", loc="left")
    ax.grid(alpha=0.3)


def fig4(summary: pd.DataFrame, transfer: pd.DataFrame, transfer_summary: pd.DataFrame, base: Path) -> list[Path]:
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
        ax.set_xlabel("hidden neurons")
        ax.set_title(label)
    fig.suptitle(f"{title}: F peak at {int(peak['hidden'])} hidden (iteration {int(peak['iteration'])}, dashed)")
    fig.tight_layout()
    return _save(fig, path.with_suffix(""), ("png",))[0]


FIGURE_TEXT = {
    "fig3": "A, S, E, F against the remaining hidden neurons (10 classes, log scale), one line per sample count, "
    "mean over seeds with a min-max band",
    "fig4": "(A) hidden size at the F peak against the sample count, 10 vs 5 classes; (B, C) error on the new samples "
    "during transfer, developed vs accuracy-matched un-pruned network; (D) paired differences of every control",
    "transfer_controls": "the developed network and its four controls during transfer, and the paired differences with 95% intervals",
    "task_transfer": "beyond the paper: the networks of digits 0-4 (developed, accuracy-matched un-pruned, and a fresh "
    "one of the developed size) with a new output layer learning digits 5-9, and the paired differences",
}


def make_figures(tables: Mapping[str, str | Path], out: str | Path) -> list[Path]:
    """<out>/{fig3,fig4,transfer_controls,task_transfer}.* (bdnn.layout.FIGURES) from the results
    tables (by their bdnn.layout.TABLES names), and <out>/README.md where the figures' bytes
    changed (see record_figures)."""
    out = Path(out)
    t = {name: pd.read_csv(path) for name, path in tables.items()}
    paths = fig3(t["curves"], out / "fig3")
    paths += fig4(t["summary"], t["transfer"], t["transfer_summary"], out / "fig4")
    paths += transfer_controls(t["transfer"], t["transfer_summary"], out / "transfer_controls")
    title = "Transfer to another task: new output layer, digits 5-9"
    paths += transfer_controls(t["task_transfer"], t["task_transfer_summary"], out / "task_transfer", TASK_NETWORKS, title)
    return paths + record_figures(out, paths)


def record_figures(
    out: Path,
    paths: Sequence[Path],
    texts: Mapping[str, str] = FIGURE_TEXT,
    made_by: str = "`make reproduce` (`snakemake`)",
    writer: str = "`bdnn figures` (the workflow's `figures` rule)",
    verdicts: str = "`results/claims.md`",
    heading: str = "Figures of the last full reproduction",
) -> list[Path]:
    """Write <out>/README.md (the figures, the commit, date and machine that made them, and their
    sha256) only when a figure's bytes differ from the hashes it records: the same results leave
    it, and `git status`, untouched."""
    hashes = {Path(p).relative_to(out).as_posix(): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}
    readme = out / FIGURES_README
    recorded = dict(re.findall(r"^- `([^`]+)`: sha256 ([0-9a-f]{64})$", readme.read_text(), re.M)) if readme.is_file() else {}
    if recorded == hashes:
        return []
    lines = [
        f"# {heading}",
        "",
        f"Written by {writer} whenever the figures' bytes change; never edited by hand.",
        "",
        f"- Made by: {made_by}, code at commit {git_commit()}",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on {machine()}",
        "- The numbers behind them depend on the CPU and the torch thread count only through float rounding; the verdicts "
        f"are in {verdicts} of the same run (summarised in the repository's README).",
        "",
        *[f"- `{name}.png` / `.pdf`: {text}" for name, text in texts.items()],
        "",
        "## sha256 of each file",
        "",
        *[f"- `{name}`: sha256 {digest}" for name, digest in sorted(hashes.items())],
        "",
    ]
    write_text(readme, "\n".join(lines))
    return [readme]
