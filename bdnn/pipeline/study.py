"""The study's files (the workflow's `study_cell` and `study_map` rules): one cell's tables,
record and figures from its develop runs; the map, the report and the map figure from every cell."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bdnn.analysis.peaks import recompute
from bdnn.analysis.study import CLAIMS, MAP_COLUMNS, cell_record, judge, map_rows, mechanisms, run_table
from bdnn.analysis.verdicts import Claim
from bdnn.files import write_json, write_text
from bdnn.pipeline.aggregate import collect, write_table
from bdnn.pipeline.cells import cells
from bdnn.pipeline.config import ConfigError
from bdnn.pipeline.layout import MAP_FIGURE, STUDY_CELL_FILES, STUDY_FILES
from bdnn.pipeline.outputs import provenance, wording
from bdnn.pipeline.settings import fitness_settings, training_settings
from bdnn.report.figures import fig3
from bdnn.report.figures_readme import FiguresRecord, record_figures
from bdnn.report.html import markdown_to_html
from bdnn.report.study_figures import claims_map, study_fig4
from bdnn.report.study_text import report


def study_figure_texts(cfg: Mapping[str, Any]) -> dict[str, str]:
    """What the study's figures show, with the config's class count."""
    full = max(len(c) for c in cfg["classes"].values())
    return {
        "claims_map": "the claims map: each cell (row) against claims 1, 2, 2' (the trainable range) and 3, coloured by verdict",
        "<cell>/fig3": f"the cell's Fig. 3 ({full} classes; F recomputed under the cell's weights), panel D marking each run's "
        "selected peak and each sample count's mean plateau",
        "<cell>/fig4": "(A) the size at the F peak against the samples with the mean plateau and the size floor, (B) the widest "
        "trainable width against the samples",
    }


def write_cell(
    cfg: Mapping[str, Any], name: str, curve_files: Sequence[str], summary_files: Sequence[str], out_dir: str, fig_dir: str
) -> list[str]:
    """One cell of the study whose config is `cfg` (the whole study's, not the cell's): its runs'
    curves (F recomputed under the cell's fitness block), the run table, the verdicts and mechanism
    numbers (cell.json) into `out_dir`, and its Fig. 3 and Fig. 4 into `fig_dir` (file names:
    bdnn.pipeline.layout.STUDY_CELL_FILES, STUDY_FIGURES)."""
    out = {role: f"{out_dir}/{file}" for role, file in STUDY_CELL_FILES.items()}
    cell = next((c for c in cells(cfg) if c.name == name), None)
    if cell is None:
        raise ConfigError(f"--cell {name!r}: not a cell of this study ({', '.join(cfg['study']['cells'])})")
    study, cfg = cfg["study"], cell.config
    curves = recompute(collect(curve_files, summary_files, [], [])["curves"], fitness_settings(cfg["fitness"]))
    runs = run_table(curves, study["plateau_tolerance"], study["trainable_level"])
    claims = judge(runs)
    summaries = [json.loads(Path(f).read_text()) for f in summary_files]
    mech = mechanisms(curves, runs, summaries, training_settings(cfg), study["e_width"])
    write_table(curves, out["curves"])
    write_table(runs, out["runs"])
    write_json(out["cell"], cell_record(name, cell.change, cell.trained, cell.key, claims, mech, len(runs)))
    title = f"study cell {name} ({cell.change})"
    words = wording(cfg)
    paths = fig3(curves, Path(fig_dir) / "fig3", words.dataset, runs, title=f"cell {name}", method=words.method)
    paths += study_fig4(runs, cfg["prune"]["min_hidden"], cfg["hidden_init"], Path(fig_dir) / "fig4", title)
    return [*out.values(), *map(str, paths)]


def _study_map(cell_files: Sequence[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    data, rows = {}, []
    for f in cell_files:
        d = json.loads(Path(f).read_text())
        data[d["cell"]] = d
        claims = {k: Claim(**{**c, "interval": tuple(c["interval"]) if c["interval"] else None}) for k, c in d["claims"].items()}
        rows += map_rows(d["cell"], claims, d["runs"])
    return pd.DataFrame(rows, columns=MAP_COLUMNS), data


def write_map(cfg: Mapping[str, Any], cell_files: Sequence[str], cell_figures: Sequence[str], out_dir: str, fig_dir: str) -> list[str]:
    """The study's map (claims_map.csv and its figure), report.md and report.html (into `out_dir`)
    from every cell's cell.json; the map figure and, where any of the study's figures changed,
    README.md (into `fig_dir`; file names: bdnn.pipeline.layout.STUDY_FILES, MAP_FIGURE)."""
    out = {role: f"{out_dir}/{file}" for role, file in STUDY_FILES.items()}
    study_map, data = _study_map(cell_files)
    write_table(study_map, out["map"])
    text = report(cfg, study_map, data)
    write_text(out["report"], text)
    write_text(out["page"], markdown_to_html(text, "BDNN-sp: the study"))
    paths = claims_map(study_map, CLAIMS, Path(fig_dir) / MAP_FIGURE)
    record = FiguresRecord(
        heading="Figures of the last full study",
        writer="`bdnn study map` (the workflow's `study_map` rule)",
        made_by="`make study` (`snakemake study`)",
        verdicts="`results/study/claims_map.csv` and `results/study/report.md`",
        texts=study_figure_texts(cfg),
    )
    readme = record_figures(Path(fig_dir), [*paths, *map(Path, cell_figures)], record, provenance)
    return [*out.values(), *map(str, paths), *map(str, readme)]
