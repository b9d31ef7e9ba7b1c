"""The study's figures: a cell's Fig. 4 (the size at the peak with its plateau and floor, and the
trainable range) and the claims map (cells x claims, coloured by verdict)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from bdnn.report.plotting import band as _band
from bdnn.report.plotting import plt
from bdnn.report.plotting import save as _save


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
