"""The sweep's outputs from its tables: claims.md / claims.json / claims.html and the figures with
their README (what the workflow's `claims` and `figures` rules run)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from bdnn.analysis.verdicts import as_data, evaluate_claims
from bdnn.files import write_json, write_text
from bdnn.pipeline.config import dataset_of
from bdnn.pipeline.provenance import git_commit, machine
from bdnn.pipeline.settings import fitness_settings
from bdnn.report.claims_text import render
from bdnn.report.figures import Wording, make_figures
from bdnn.report.figures_readme import FiguresRecord, paper_figure_texts, record_figures
from bdnn.report.html import markdown_to_html


def provenance() -> tuple[str, str]:
    """(the code's commit, the machine), for a figures README."""
    return git_commit(), machine()


def write_claims(
    cfg: Mapping[str, Any],
    curves: str | Path,
    transfer_summary: str | Path,
    task_transfer_summary: str | Path,
    out: str | Path,
    data: str | Path | None = None,
    page: str | Path | None = None,
) -> list[Path]:
    """claims.md (`out`) from the curves and transfer summary tables; with `data` also claims.json
    (the verdicts and statistics), with `page` also claims.html (the same text as a web page)."""
    t = cfg["transfer"]
    ev = evaluate_claims(
        pd.read_csv(curves), pd.read_csv(transfer_summary), fitness_settings(cfg["fitness"]), (t["classes"], t["samples"]),
        pd.read_csv(task_transfer_summary),
    )  # fmt: skip
    text = render(ev, cfg, dataset_of(cfg))
    write_text(out, text)
    written = [Path(out)]
    if data is not None:
        write_json(data, as_data(ev))
        written.append(Path(data))
    if page is not None:
        write_text(page, markdown_to_html(text, "BDNN-sp: the paper's claims"))
        written.append(Path(page))
    return written


def wording(cfg: Mapping[str, Any]) -> Wording:
    """How the figures name the data, from the config and its dataset's class names."""
    spec, tt, criterion = dataset_of(cfg), cfg["task_transfer"], cfg["prune"]["criterion"]
    if tt is None:
        return Wording(spec.title, None, None, criterion)
    return Wording(spec.title, spec.describe(cfg["classes"][tt["from"]]), spec.describe(tt["to"]), criterion)


def write_figures(cfg: Mapping[str, Any], tables: Mapping[str, str | Path], out: str | Path) -> list[Path]:
    """The figures (bdnn.report.figures.make_figures) from the tables' files, and the figures'
    README where their bytes changed."""
    out = Path(out)
    frames = {name: pd.read_csv(path) for name, path in tables.items()}
    words = wording(cfg)
    paths = make_figures(frames, out, words)
    sizes = sorted({len(c) for c in cfg["classes"].values()}, reverse=True)
    record = FiguresRecord(
        heading="Figures of the last full reproduction",
        writer="`bdnn figures` (the workflow's `figures` rule)",
        made_by="`make reproduce` (`snakemake`)",
        verdicts="`results/claims.md`",
        texts=paper_figure_texts(sizes[0], sizes[1] if len(sizes) > 1 else None, words.task_from, words.task_to),
    )
    return paths + record_figures(out, paths, record, provenance)
