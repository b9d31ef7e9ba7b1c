"""The study's report (results/study/report.md): the map, where each claim holds, and the
mechanisms with the numbers the study measured (each cell's cell.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bdnn.analysis.study import CLAIMS

Cells = Mapping[str, Mapping[str, Any]]


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def _by_samples(d: Mapping[str, Mapping[str, float]], subset: str, spec: str = ".1f") -> str:
    values = d.get(subset, {})
    return ", ".join(f"{int(s):,}: {format(v, spec)}" for s, v in sorted(values.items(), key=lambda kv: int(kv[0])))


def _ends(d: Mapping[str, Mapping[str, float]], subset: str) -> tuple[float, float] | None:
    values = d.get(subset, {})
    if len(values) < 2:
        return None
    keys = sorted(values, key=int)
    return values[keys[0]], values[keys[-1]]


def _direction(ends: tuple[float, float] | None, spec: str = ".3f") -> str:
    if ends is None:
        return "n/a"
    lo, hi = ends
    word = "rises" if hi > lo else "falls" if hi < lo else "stays"
    return f"{word} from {format(lo, spec)} to {format(hi, spec)}"


def _intro(cfg: Mapping[str, Any]) -> list[str]:
    study = cfg["study"]
    seeds = cfg["seeds"] if study.get("seeds") is None else study["seeds"]
    own = "" if seeds == cfg["seeds"] else f" (`study.seeds`: one list for every cell; the sweep has {len(cfg['seeds'])})"
    lines = [
        "# Why the claims hold or fail: the study",
        "",
        f"Cells change one factor at a time from the default config; each has {len(seeds)} seeds ({seeds}){own}, "
        f"the class subsets {', '.join(cfg['classes'])} and the sample counts {', '.join(f'{s:,}' for s in cfg['samples'])}. "
        "Verdicts follow docs/method.md (one value per seed, one-sided tests at 0.025 each way; fewer than 6 seeds: "
        "inconclusive); the default cell's are the primary result, the others are exploratory (no correction across "
        "cells). Claim 2' reads claim 2 on the trainable range instead of the F peak, censored where half or more of the "
        "seeds train at the un-pruned width.",
        "",
        f"Thresholds fixed before any run (config keys): plateau = the pruning iterations whose F is within "
        f"{study['plateau_tolerance']} of the run's peak (`study.plateau_tolerance`); a width is trainable where A is above "
        f"chance + {study['trainable_level']} x (the run's best A - chance) (`study.trainable_level`). E is compared across "
        f"sample counts at the recorded width nearest {study['e_width']} (`study.e_width`), a width chosen near the default "
        "runs' F peaks after seeing them: it describes the mechanism, it tests nothing.",
        "",
        "## The map",
        "",
        "| cell | what changes | runs | " + " | ".join(CLAIMS.values()) + " |",
        "|---|---|---|" + "---|" * len(CLAIMS),
    ]
    return lines


def _map_table(study_map: pd.DataFrame, data: Cells) -> list[str]:
    lines = []
    for cell, d in data.items():
        rows = study_map[study_map["cell"] == cell].set_index("claim")
        cells_text = []
        for claim in CLAIMS:
            r = rows.loc[claim]
            stat = r["statistic"]
            cells_text.append(f"**{r['verdict']}** ({_fmt(stat, '.2f' if claim != 'claim3' else '+.1f')})")
        lines.append(f"| {cell} | {d['change']} | {d['runs']} | " + " | ".join(cells_text) + " |")
    return lines


def _where(study_map: pd.DataFrame) -> list[str]:
    lines: list[str] = []
    lines += ["", "## Where each claim holds", ""]
    for claim, label in CLAIMS.items():
        rows = study_map[study_map["claim"] == claim]
        groups = {v: rows[rows["verdict"] == v]["cell"].tolist() for v in rows["verdict"].unique()}
        lines.append(f"- Claim {label}: " + "; ".join(f"{v} in {', '.join(cells)}" for v, cells in groups.items()) + ".")
    return lines


def _e_and_steps(m: Cells, full: str) -> list[str]:
    lines = []
    d = m["default"]
    w = d["E_width"]
    steps = d["retrain_steps"]
    first, last = min(steps, key=int), max(steps, key=int)
    lines.append(
        f"- **E and the SGD steps.** Training is by epochs, so a retraining phase is {steps[first]:,} steps "
        f"on {int(first):,} samples and {steps[last]:,} on {int(last):,}. At {w} hidden neurons ({full}), E "
        f"{_direction(_ends(d['E_at_width'], full))} from the fewest to the most samples (default cell: "
        f"{_by_samples(d['E_at_width'], full, '.3f')})."
    )
    if "equal-steps" in m:
        e = m["equal-steps"]
        lines.append(
            f"  With equal steps (every run {e['retrain_steps'][first]:,} steps per retraining phase), E at "
            f"{e['E_width']} hidden {_direction(_ends(e['E_at_width'], full))} ({_by_samples(e['E_at_width'], full, '.3f')}); "
            f"the size at the peak: {_by_samples(e['size_at_peak'], full)} against the default's "
            f"{_by_samples(d['size_at_peak'], full)}."
        )
    return lines


def _fitness_terms(study_map: pd.DataFrame, m: Cells, weighting: list[str]) -> list[str]:
    lines = []
    weights = [c for c in weighting if c in m]
    if weights:
        parts = []
        for c in ["default", *weights]:
            r = study_map[(study_map["cell"] == c) & (study_map["claim"] == "claim2")].iloc[0]
            r3 = study_map[(study_map["cell"] == c) & (study_map["claim"] == "claim3")].iloc[0]
            parts.append(f"{c}: Spearman {_fmt(r['statistic'], '+.2f')} ({r['verdict']}), claim 3 {r3['verdict']}")
        lines.append(f"- **The fitness terms and the peak.** Recomputing F from the same curves: {'; '.join(parts)}.")
    return lines


def _trained_start_rule(cfg: Mapping[str, Any]) -> str:
    ts = (cfg.get("study") or {}).get("trained_start") or cfg.get("trained_start")
    if not ts:
        return "its study rule"
    return f"patience {ts['patience']} epochs, not before {ts['min_steps']:,} SGD steps, at most {ts['max_epochs']} epochs"


def _start_and_plateau(cfg: Mapping[str, Any], m: Cells, full: str) -> list[str]:
    d = m["default"]
    lines = []
    lines.append(
        f"- **The network at the start of pruning.** The un-pruned network's test accuracy after {cfg['initial_epochs']} epochs "
        f"(default): {_by_samples(d['unpruned_test_acc'], full, '.3f')}."
    )
    if "trained-start" in m:
        t = m["trained-start"]
        lines.append(
            f"  Trained until the validation accuracy stops improving ({_trained_start_rule(cfg)}; the best epoch, where pruning starts, mean: "
            f"{_by_samples(t['initial_epochs_run'], full, '.1f')}), it reaches {_by_samples(t['unpruned_test_acc'], full, '.3f')}; "
            f"the size at the peak is then {_by_samples(t['size_at_peak'], full)}."
        )
    p = d["plateau_iterations"]
    lines.append(
        f"- **The plateau of F.** In the default cell a run's plateau spans {p['min']} to {p['max']} pruning iterations "
        f"(median {p['median']:.0f}; wider than one iteration in {p['share_wider_than_one']:.0%} of the runs), so the "
        f"argmax can move between its iterations from seed to seed. Mean plateau ({full}), smallest to largest width: "
        + ", ".join(
            f"{int(s):,}: {d['plateau_min'][full][s]:.0f}-{d['plateau_max'][full][s]:.0f}"
            for s in sorted(d["plateau_min"].get(full, {}), key=int)
        )
        + "."
    )
    return lines


def _trainable(cfg: Mapping[str, Any], data: Cells, m: Cells, full: str) -> list[str]:
    lines = []
    lines.append(
        f"- **The trainable range** ({full}: the widest width whose A is above the level, mean over seeds; "
        f"{cfg['hidden_init']} = every width trained, so the range is censored there):"
    )
    for cell in [c for c, d in data.items() if c == "default" or d["trained"]]:  # the weights do not change A
        lines.append(f"  - {cell}: {_by_samples(m[cell]['trainable_max'], full, '.0f')}.")
    return lines


def _compute(data: Cells) -> list[str]:
    lines: list[str] = []
    lines += ["", "## Compute", ""]
    lines += [
        f"- {cell}: {d['runs']} runs, {d['mechanisms']['seconds'] / 60:.1f} min of develop compute"
        if cell == "default" or d["trained"]
        else f"- {cell}: the default cell's {d['runs']} runs, F recomputed (no training)"
        for cell, d in data.items()
    ]
    return lines


def report(cfg: Mapping[str, Any], study_map: pd.DataFrame, data: Cells) -> str:
    """results/study/report.md: the map, where each claim holds, and the mechanisms with the
    numbers this study measured (`data`: each cell's cell.json)."""
    full = max(cfg["classes"], key=lambda k: len(cfg["classes"][k]))
    m = {cell: d["mechanisms"] for cell, d in data.items()}
    lines = _intro(cfg) + _map_table(study_map, data) + _where(study_map)
    lines += ["", "## Mechanisms, as measured by this study", ""]
    if "default" in m:
        lines += _e_and_steps(m, full) + _fitness_terms(study_map, m, list(cfg["study"]["weights"])) + _start_and_plateau(cfg, m, full)
    lines += _trainable(cfg, data, m, full) + _compute(data)
    lines.append("")
    return "\n".join(lines)
