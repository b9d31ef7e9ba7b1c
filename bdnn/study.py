"""The controlled study of BDNN-sp (docs/method.md, "The study"): cells that change one factor at a
time from the default config, each judged on claims 1-3 with the verdict rules of bdnn.claims,
plus each run's plateau of F and the trainable range of widths.

A cell is a full config. A cell that changes only how F is computed (the fitness weights) reuses
the default cell's runs and recomputes F from their recorded columns; every other cell has its own
develop runs (its own settings key).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bdnn.claims import Claim, claim1, claim2, claim3
from bdnn.config import ConfigError, check_weights, merge, settings_key, validate_config
from bdnn.fitness import fitness
from bdnn.layout import MAP_FIGURE, STUDY_CELL_FILES, STUDY_FILES
from bdnn.train import steps_per_epoch

# The built-in cells, each one change from the default config (the study block's values).
BUILTIN = ("default", "equal-steps", "trained-start", "paper-lr", "validation")
CLAIMS = {
    "claim1": "1: interior F peak",
    "claim2": "2: size at the peak grows",
    "claim2_range": "2': trainable range grows",
    "claim3": "3: fewer classes, smaller",
}
MAP_COLUMNS = ["cell", "claim", "verdict", "statistic", "interval_low", "interval_high", "p", "runs", "text"]
# The width whose mean weight E the report compares across sample counts (the recorded width
# nearest to it): a width near the F peaks of the default runs.
E_WIDTH = 12


@dataclass(frozen=True)
class Cell:
    name: str
    config: dict[str, Any]  # the cell's whole config (the study block kept, so one file says everything)
    key: str  # the settings key of the develop runs it reads
    trained: bool  # its own runs (else the default cell's, F recomputed)
    change: str  # what differs from the default, in words


def _overrides(name: str, study: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    if name in study["weights"]:
        a, b, g = study["weights"][name]
        check_weights([a, b, g], f"study.weights.{name}")
        return {
            "fitness": {"alpha": a, "beta": b, "gamma": g}
        }, f"fitness weights alpha {a:.3g}, beta {b:.3g}, gamma {g:.3g} (F recomputed)"
    if name == "default":
        return {}, "the default config"
    if name == "equal-steps":
        n = study["equal_steps"]
        return {"equal_steps": n}, f"every phase gets the SGD steps of a {n:,}-sample run"
    if name == "trained-start":
        ts = study["trained_start"]
        return {"trained_start": dict(ts)}, (
            f"initial phase until the validation accuracy stops improving (patience {ts['patience']}, at most {ts['max_epochs']} epochs)"
        )
    if name == "paper-lr":
        return {"lr": study["lr"]}, f"learning rate {study['lr']:g} (the paper's)"
    if name == "validation":
        return {"fitness": {"eval_split": "validation"}}, "A measured on a held-out validation draw (fitness.eval_split: validation)"
    known = [*BUILTIN, *study["weights"]]
    raise ConfigError(f"config key study.cells: unknown cell {name!r}; choose from {', '.join(known)} (or add it to study.weights)")


def cells(cfg: Mapping[str, Any]) -> list[Cell]:
    """The study's cells from a validated config with a `study` block, each validated as a whole
    config; a ConfigError (one line, naming the key) on an unknown cell or all-zero weights."""
    study = cfg.get("study")
    if study is None:
        raise ConfigError("config key study: the study is off (null); run it with `make study` (config/study.yaml)")
    clash = sorted(set(study["weights"]) & set(BUILTIN))
    if clash:
        raise ConfigError(f"config key study.weights.{clash[0]}: the name of a built-in cell; name the weighting otherwise")
    base_key = settings_key(cfg)
    out = []
    for name in study["cells"]:
        overrides, change = _overrides(name, study)
        try:
            variant = validate_config(merge(cfg, overrides))
        except ConfigError as exc:
            raise ConfigError(f"study cell {name}: {exc}") from None
        recomputed = set(overrides) <= {"fitness"} and set(overrides.get("fitness", {})) <= {"alpha", "beta", "gamma"}
        key = base_key if recomputed else settings_key(variant)
        out.append(Cell(name, variant, key, key != base_key, change))
    return out


def recompute(curves: pd.DataFrame, fit: Mapping[str, Any]) -> pd.DataFrame:
    """The curves with S, E and F (Eq. 7) recomputed under a fitness block's readings and weights
    from the recorded columns (iteration 0 keeps F empty: S needs a pruning step)."""
    c = curves.copy()
    c["S"] = c[f"S_{fit['stability']}"]
    c["E"] = c[f"E_{fit['mean_weight']}"]
    f = fitness(c["A"], c["S"], c["E"], fit["alpha"], fit["beta"], fit["gamma"])
    c["F"] = f.where(c["iteration"] > 0)
    return c


def run_table(curves: pd.DataFrame, tolerance: float, level: float) -> pd.DataFrame:
    """Per run: the F peak (first argmax over the pruning iterations) and whether it is interior,
    the plateau (the pruning iterations whose F is within `tolerance` of the peak: how many, and
    their smallest and largest width), and the trainable range (the widths, the un-pruned one
    included, where A is above chance + `level` x (the run's best A - chance): its widest and
    narrowest)."""
    rows = []
    for (name, n_cls, samples, seed), g in curves.groupby(["classes", "n_classes", "samples", "seed"], sort=False):
        g = g.sort_values("iteration")
        pr = g[g["iteration"] > 0]
        f = pr["F"].to_numpy(float)
        i = int(np.argmax(f))
        j = int(np.argmax(pr["S"].to_numpy(float)))
        plateau = pr[f >= f[i] - tolerance]
        chance = 1.0 / n_cls
        cut = chance + level * (g["A"].max() - chance)
        trainable = g[g["A"] > cut]
        rows.append(
            {
                "classes": name,
                "n_classes": n_cls,
                "samples": samples,
                "seed": seed,
                "hidden": int(pr["hidden"].iloc[i]),
                "peak_iteration": int(pr["iteration"].iloc[i]),
                "F_at_peak": float(f[i]),
                "interior": 0 < i < len(pr) - 1,
                "S_interior": 0 < j < len(pr) - 1,
                "plateau_iterations": len(plateau),
                "plateau_min": int(plateau["hidden"].min()),
                "plateau_max": int(plateau["hidden"].max()),
                "trainable_level": float(cut),
                "start_width": int(g["hidden"].iloc[0]),
                "trainable_max": int(trainable["hidden"].max()) if len(trainable) else 0,
                "trainable_min": int(trainable["hidden"].min()) if len(trainable) else 0,
            }
        )
    return pd.DataFrame(rows)


def judge(runs: pd.DataFrame) -> dict[str, Claim]:
    """Claims 1-3 on a cell's runs by the rules of bdnn.claims (the same random draws as
    claims.md's, so the default cell repeats its verdicts), and claim 2 read on the trainable
    range: the Spearman between the sample count and the mean widest trainable width (n/a where
    every run trains at every width, the un-pruned one included: the range is censored there)."""
    full = runs["n_classes"].max()
    big, small = runs[runs["n_classes"] == full], runs[runs["n_classes"] < full]
    n_seeds = int(big["seed"].nunique())
    rng = np.random.default_rng(0)
    out = {"claim1": claim1(big, n_seeds), "claim2": claim2(big, n_seeds, rng), "claim3": claim3(big, small, n_seeds, rng)}
    if (big["trainable_max"] == big["start_width"]).all():  # every width trained in every run: nothing to rank
        out["claim2_range"] = Claim(
            "n/a (censored)", None, None, None, "every width, the un-pruned one included, is trainable in every run"
        )
    else:
        ranged = big.assign(hidden=big["trainable_max"])
        out["claim2_range"] = claim2(ranged, n_seeds, np.random.default_rng(0), what="widest trainable width")
    return out


def _means(df: pd.DataFrame, col: str, by: Sequence[str] = ("classes", "samples")) -> dict[str, dict[str, float]]:
    """{classes: {samples: mean of col}} as JSON-ready strings and floats."""
    out: dict[str, dict[str, float]] = {}
    for (name, samples), g in df.groupby(list(by)):
        out.setdefault(str(name), {})[str(samples)] = float(g[col].mean())
    return out


def mechanisms(curves: pd.DataFrame, runs: pd.DataFrame, summaries: Sequence[Mapping[str, Any]], cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers the report explains the claims with: the SGD steps of a retraining phase (by
    construction) and, measured on this cell's runs, E at the recorded width nearest E_WIDTH, the
    un-pruned network's test accuracy, the epochs of initial training the network that pruning
    starts from received (under trained_start its best epoch), the sizes at the peak, the plateau
    and the trainable range, each as a mean per class subset and sample count."""
    widths = np.sort(curves["hidden"].unique())
    width = int(widths[np.argmin(np.abs(widths - E_WIDTH))])
    steps = {}  # by construction (bdnn.develop.phase_steps; tests/test_study.py counts them)
    for s in sorted(curves["samples"].unique()):
        n = cfg["equal_steps"] if cfg.get("equal_steps") is not None else int(s)
        steps[str(s)] = cfg["retrain_epochs"] * steps_per_epoch(n, cfg["batch_size"])
    summary = pd.DataFrame(
        [
            {
                "classes": s["classes"],
                "samples": s["samples"],
                "epochs": s.get("initial_epochs_run", cfg["initial_epochs"]),
                "seconds": s["seconds"],
            }
            for s in summaries
        ]
    )
    return {
        "retrain_steps": steps,
        "trained_start": cfg.get("trained_start") is not None,
        "E_width": width,
        "E_at_width": _means(curves[curves["hidden"] == width], "E"),
        "unpruned_test_acc": _means(curves[curves["iteration"] == 0], "test_acc"),
        "initial_epochs_run": _means(summary, "epochs") if len(summary) else {},
        "size_at_peak": _means(runs, "hidden"),
        "plateau_min": _means(runs, "plateau_min"),
        "plateau_max": _means(runs, "plateau_max"),
        "plateau_iterations": {
            "median": float(runs["plateau_iterations"].median()),
            "min": int(runs["plateau_iterations"].min()),
            "max": int(runs["plateau_iterations"].max()),
            "share_wider_than_one": float((runs["plateau_iterations"] > 1).mean()),
        },
        "trainable_max": _means(runs, "trainable_max"),
        "seconds": float(summary["seconds"].sum()) if len(summary) else 0.0,
    }


def map_rows(cell: str, claims: Mapping[str, Claim], runs: int) -> list[dict[str, Any]]:
    """The cell's rows of claims_map.csv."""
    rows = []
    for claim, c in claims.items():
        lo, hi = c.interval if c.interval is not None else (None, None)
        rows.append(
            {"cell": cell, "claim": claim, "verdict": c.verdict, "statistic": c.statistic, "interval_low": lo, "interval_high": hi,
             "p": c.p, "runs": runs, "text": c.text}
        )  # fmt: skip
    return rows


# ---------------------------------------------------------------- the report


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


def report(cfg: Mapping[str, Any], study_map: pd.DataFrame, data: Mapping[str, Mapping[str, Any]]) -> str:
    """results/study/report.md: the map, where each claim holds, and the mechanisms with the
    numbers this study measured (`data`: each cell's cell.json)."""
    study = cfg["study"]
    full = max(cfg["classes"], key=lambda k: len(cfg["classes"][k]))
    lines = [
        "# Why the claims hold or fail: the study",
        "",
        f"Cells change one factor at a time from the default config; each has {len(cfg['seeds'])} seeds ({cfg['seeds']}), "
        f"the class subsets {', '.join(cfg['classes'])} and the sample counts {', '.join(f'{s:,}' for s in cfg['samples'])}. "
        "Verdicts follow docs/method.md (claims 1 and 2: 95% intervals against 0.8; claim 3: the count rule and a sign-flip "
        "test); the default cell's are the primary result, the others are exploratory. Claim 2' reads claim 2 on the "
        "trainable range instead of the F peak.",
        "",
        f"Thresholds fixed before any run (config keys): plateau = the pruning iterations whose F is within "
        f"{study['plateau_tolerance']} of the run's peak (`study.plateau_tolerance`); a width is trainable where A is above "
        f"chance + {study['trainable_level']} x (the run's best A - chance) (`study.trainable_level`).",
        "",
        "## The map",
        "",
        "| cell | what changes | runs | " + " | ".join(CLAIMS.values()) + " |",
        "|---|---|---|" + "---|" * len(CLAIMS),
    ]
    for cell, d in data.items():
        rows = study_map[study_map["cell"] == cell].set_index("claim")
        cells_text = []
        for claim in CLAIMS:
            r = rows.loc[claim]
            stat = r["statistic"]
            cells_text.append(f"**{r['verdict']}** ({_fmt(stat, '.2f' if claim != 'claim3' else '.0f')})")
        lines.append(f"| {cell} | {d['change']} | {d['runs']} | " + " | ".join(cells_text) + " |")
    lines += ["", "## Where each claim holds", ""]
    for claim, label in CLAIMS.items():
        rows = study_map[study_map["claim"] == claim]
        groups = {v: rows[rows["verdict"] == v]["cell"].tolist() for v in rows["verdict"].unique()}
        lines.append(f"- Claim {label}: " + "; ".join(f"{v} in {', '.join(cells)}" for v, cells in groups.items()) + ".")
    lines += ["", "## Mechanisms, as measured by this study", ""]
    m = {cell: d["mechanisms"] for cell, d in data.items()}
    if "default" in m:
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
        weights = [c for c in study["weights"] if c in m]
        if weights:
            parts = []
            for c in ["default", *weights]:
                r = study_map[(study_map["cell"] == c) & (study_map["claim"] == "claim2")].iloc[0]
                r3 = study_map[(study_map["cell"] == c) & (study_map["claim"] == "claim3")].iloc[0]
                parts.append(f"{c}: Spearman {_fmt(r['statistic'], '+.2f')} ({r['verdict']}), claim 3 {r3['verdict']}")
            lines.append(f"- **The fitness terms and the peak.** Recomputing F from the same curves: {'; '.join(parts)}.")
        lines.append(
            f"- **The network at the start of pruning.** The un-pruned network's test accuracy after {cfg['initial_epochs']} epochs "
            f"(default): {_by_samples(d['unpruned_test_acc'], full, '.3f')}."
        )
        if "trained-start" in m:
            t = m["trained-start"]
            lines.append(
                f"  Trained until the validation accuracy stops improving (the best epoch, where pruning starts, mean: "
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
    lines.append(
        f"- **The trainable range** ({full}: the widest width whose A is above the level, mean over seeds; "
        f"{cfg['hidden_init']} = every width trained, so the range is censored there):"
    )
    for cell in [c for c, d in data.items() if c == "default" or d["trained"]]:  # the weights do not change A
        lines.append(f"  - {cell}: {_by_samples(m[cell]['trainable_max'], full, '.0f')}.")
    lines += ["", "## Compute", ""]
    lines += [
        f"- {cell}: {d['runs']} runs, {d['mechanisms']['seconds'] / 60:.1f} min of develop compute"
        if cell == "default" or d["trained"]
        else f"- {cell}: the default cell's {d['runs']} runs, F recomputed (no training)"
        for cell, d in data.items()
    ]
    lines.append("")
    return "\n".join(lines)


def cell_record(
    cell: str, change: str, trained: bool, key: str, claims: Mapping[str, Claim], mech: Mapping[str, Any], runs: int
) -> dict[str, Any]:
    """cell.json: what the cell is, its verdicts and its mechanism numbers."""
    from dataclasses import asdict

    return {
        "cell": cell,
        "change": change,
        "trained": trained,
        "settings": key,
        "runs": runs,
        "claims": {k: asdict(c) for k, c in claims.items()},
        "mechanisms": copy.deepcopy(dict(mech)),
    }


# ---------------------------------------------------------------- the files (the workflow's study rules)

STUDY_FIGURE_TEXT = {
    "claims_map": "the claims map: each cell (row) against claims 1, 2, 2' (the trainable range) and 3, coloured by verdict",
    "<cell>/fig3": "the cell's Fig. 3 (10 classes; F recomputed under the cell's weights), panel D marking each run's selected "
    "peak and each sample count's mean plateau",
    "<cell>/fig4": "(A) the size at the F peak against the samples with the mean plateau and the size floor, (B) the widest "
    "trainable width against the samples",
}


def write_cell(
    cfg: Mapping[str, Any],
    name: str,
    curve_files: Sequence[str],
    summary_files: Sequence[str],
    out_dir: str,
    fig_dir: str,
) -> list[str]:
    """One cell of the study whose config is `cfg` (the whole study's, not the cell's): its runs'
    curves (F recomputed under the cell's fitness block), the run table, the verdicts and mechanism
    numbers (cell.json) into `out_dir`, and its Fig. 3 and Fig. 4 into `fig_dir` (file names:
    bdnn.layout.STUDY_CELL_FILES, STUDY_FIGURES)."""
    import json
    from pathlib import Path

    from bdnn.aggregate import collect, write_table
    from bdnn.files import write_json
    from bdnn.plots import fig3, study_fig4

    out = {role: f"{out_dir}/{name}" for role, name in STUDY_CELL_FILES.items()}
    cell = next((c for c in cells(cfg) if c.name == name), None)
    if cell is None:
        raise ConfigError(f"--cell {name!r}: not a cell of this study ({', '.join(cfg['study']['cells'])})")
    study, cfg = cfg["study"], cell.config
    curves = recompute(collect(curve_files, summary_files, [], [])["curves"], cfg["fitness"])
    runs = run_table(curves, study["plateau_tolerance"], study["trainable_level"])
    claims = judge(runs)
    summaries = [json.loads(Path(f).read_text()) for f in summary_files]
    mech = mechanisms(curves, runs, summaries, cfg)
    write_table(curves, out["curves"])
    write_table(runs, out["runs"])
    write_json(out["cell"], cell_record(name, cell.change, cell.trained, cell.key, claims, mech, len(runs)))
    title = f"study cell {name} ({cell.change})"
    paths = fig3(curves, Path(fig_dir) / "fig3", runs, title=f"cell {name}")
    paths += study_fig4(runs, cfg["prune"]["min_hidden"], cfg["hidden_init"], Path(fig_dir) / "fig4", title)
    return [*out.values(), *map(str, paths)]


def write_map(cfg: Mapping[str, Any], cell_files: Sequence[str], cell_figures: Sequence[str], out_dir: str, fig_dir: str) -> list[str]:
    """The study's map (claims_map.csv and its figure), report.md and report.html (into `out_dir`)
    from every cell's cell.json; the map figure and, where any of the study's figures changed,
    README.md (into `fig_dir`; file names: bdnn.layout.STUDY_FILES, MAP_FIGURE)."""
    import json
    from pathlib import Path

    from bdnn.aggregate import write_table
    from bdnn.files import write_text
    from bdnn.html import markdown_to_html
    from bdnn.plots import claims_map, record_figures

    out = {role: f"{out_dir}/{name}" for role, name in STUDY_FILES.items()}
    data = {}
    rows = []
    for f in cell_files:
        d = json.loads(Path(f).read_text())
        data[d["cell"]] = d
        claims = {k: Claim(**{**c, "interval": tuple(c["interval"]) if c["interval"] else None}) for k, c in d["claims"].items()}
        rows += map_rows(d["cell"], claims, d["runs"])
    study_map = pd.DataFrame(rows, columns=MAP_COLUMNS)
    write_table(study_map, out["map"])
    text = report(cfg, study_map, data)
    write_text(out["report"], text)
    write_text(out["page"], markdown_to_html(text, "BDNN-sp: the study"))
    paths = claims_map(study_map, CLAIMS, Path(fig_dir) / MAP_FIGURE)
    all_figures = [*paths, *map(Path, cell_figures)]
    readme = record_figures(
        Path(fig_dir),
        all_figures,
        STUDY_FIGURE_TEXT,
        made_by="`make study` (`snakemake study`)",
        writer="`bdnn study map` (the workflow's `study_map` rule)",
        verdicts="`results/study/claims_map.csv` and `results/study/report.md`",
        heading="Figures of the last full study",
    )
    return [*out.values(), *map(str, paths), *map(str, readme)]
