"""What every figure shares: the non-interactive backend, deterministic files (no creation date:
the same results give byte-identical files), and the mean-and-band line over seeds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bdnn.files import atomic_path  # noqa: E402
from bdnn.report.names import FIGURE_FORMATS  # noqa: E402


def save(fig: plt.Figure, base: Path, formats: Sequence[str] = FIGURE_FORMATS, tight: bool = True) -> list[Path]:
    """Write `fig` as base.<format> for each format, atomically, and close it; `tight`: cropped to
    what it draws (else the figure's own size, its margins set by the caller)."""
    out = []
    for fmt in formats:
        path = base.with_suffix(f".{fmt}")
        with atomic_path(path) as tmp:
            # no creation date: the same results give byte-identical files (a clean `git status`)
            fig.savefig(
                tmp, format=fmt, dpi=150, bbox_inches="tight" if tight else None, metadata={"CreationDate": None} if fmt == "pdf" else None
            )
        out.append(path)
    plt.close(fig)
    return out


def band(ax: plt.Axes, g: pd.DataFrame, x: str, y: str, label: str, **kw: Any) -> None:
    """The mean of `y` against `x` and, with more than one seed, its min-max band."""
    stats = g.groupby(x)[y].agg(["mean", "min", "max"]).sort_index()
    (line,) = ax.plot(stats.index, stats["mean"], label=label, **kw)
    if len(g[x]) > len(stats):  # more than one seed: show the spread
        ax.fill_between(stats.index, stats["min"], stats["max"], color=line.get_color(), alpha=0.2, linewidth=0)
