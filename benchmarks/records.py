"""The transfer record schedule against a reference (docs/method.md, "Transfer records").

`python -m benchmarks.records [--run]` reads three seeds of the default transfer experiment
recorded every 20 mini-batches (config/records-reference.yaml) and, since evaluating a network
draws nothing from any random stream (the training is the same whatever the schedule), computes
each candidate schedule's area under the error on the new samples from the reference's own
records at the candidate's steps. That shortcut is checked against a real run of the geometric
schedule (config/records-check.yaml): its records must equal the reference's at the steps they
share. Per candidate, control and draw: how far the per-seed paired difference (control minus
developed) moves from the reference's, in units of that difference's between-seed SD (the
criterion: at most 0.1), and the records per curve. The reference's own halves (every 40
mini-batches, interleaved) show the precision of the reference itself. `--run` first runs both
configs through snakemake (the develop runs are shared). Writes benchmarks/records.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from bdnn.method.transfer import curve_area
from benchmarks.sweep import read_jobs

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIGS = {"schedule": REPO / "config" / "records-check.yaml", "reference": REPO / "config" / "records-reference.yaml"}
CRITERION = 0.1  # a per-seed difference may move by at most this many of its between-seed SDs


def keys() -> dict[str, str]:
    """The transfer settings key of each config (merged over config/config.yaml, as snakemake does)."""
    from bdnn.pipeline.config import load_config
    from bdnn.pipeline.keys import settings_key

    return {name: settings_key(load_config(REPO / "config" / "config.yaml", path), "transfer") for name, path in CONFIGS.items()}


def run_both() -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for path in CONFIGS.values():
        subprocess.run(["snakemake", "--configfile", str(path), "--cores", str(os.cpu_count() or 1)], cwd=REPO, env=env, check=True)


def seconds(results: Path, key: str) -> float:
    """Total seconds of the transfer jobs of one key (their Snakemake benchmark files)."""
    return sum(job.seconds for job in read_jobs(results / "benchmarks" / "transfer" / key))


def curves(results: Path, key: str) -> pd.DataFrame:
    return pd.concat([pd.read_csv(f) for f in sorted((results / "transfer" / key).glob("*/seed*/transfer.csv"))])


def _area(g: pd.DataFrame, keep: set[int]) -> float:
    g = g[g["step"].isin(keep)].sort_values("step")
    return curve_area(g["step"].tolist(), g["error_new"].tolist())


def _uniform(k: int) -> Callable[[np.ndarray, int], set[int]]:
    return lambda steps, per_epoch: {int(s) for s in steps if s % k == 0 or s % per_epoch == 0}


def _geometric(r: int) -> Callable[[np.ndarray, int], set[int]]:
    def pick(steps: np.ndarray, per_epoch: int) -> set[int]:
        idx = np.minimum(np.searchsorted(steps, np.geomspace(1, steps[-1], r)), len(steps) - 1)
        return {int(s) for s in steps[idx]} | {int(s) for s in steps if s % per_epoch == 0}

    return pick


def _half(offset: int) -> Callable[[np.ndarray, int], set[int]]:
    return lambda steps, per_epoch: {int(s) for s in steps[offset::2]} | {int(s) for s in steps if s % per_epoch == 0}


CANDIDATES = {
    "every 100 (the earlier default)": _uniform(100),
    "every 40": _uniform(40),
    "every 200": _uniform(200),
    "geometric 24": _geometric(24),
    "geometric 48": _geometric(48),
    "geometric 96": _geometric(96),
    "reference, even records": _half(0),
    "reference, odd records": _half(1),
}


def candidate(ref: pd.DataFrame, pick: Callable[[np.ndarray, int], set[int]], batch_size: int) -> list[dict[str, Any]]:
    rows = []
    for n, gn in ref.groupby("new_samples"):
        steps = np.sort(gn["step"].unique())
        keep = pick(steps, -(-int(n) // batch_size))
        areas = {(net, seed): (_area(g, set(steps.tolist())), _area(g, keep)) for (net, seed), g in gn.groupby(["network", "seed"])}
        seeds = sorted({s for _, s in areas})
        for net in sorted({k for k, _ in areas} - {"pruned"}):
            full = [areas[(net, s)][0] - areas[("pruned", s)][0] for s in seeds]
            sub = [areas[(net, s)][1] - areas[("pruned", s)][1] for s in seeds]
            sd = statistics.stdev(full)
            rows.append({"control": net, "draw": int(n), "records": len(keep), "between_seed_sd": sd,
                         "max_move_in_sd": max(abs(a - b) for a, b in zip(sub, full, strict=True)) / sd,
                         "max_move": max(abs(a - b) for a, b in zip(sub, full, strict=True))})  # fmt: skip
    return rows


def shortcut_holds(check: pd.DataFrame, ref: pd.DataFrame) -> bool:
    """The geometric run's records equal the reference's at every step both recorded."""
    cols = ["network", "seed", "new_samples", "step"]
    both = check.merge(ref, on=cols, suffixes=("_check", "_ref"))
    return len(both) > 0 and bool((both["error_new_check"] == both["error_new_ref"]).all())


def compare(results: Path, batch_size: int) -> dict[str, Any]:
    k = keys()
    ref, check = curves(results, k["reference"]), curves(results, k["schedule"])
    out = {name: candidate(ref, pick, batch_size) for name, pick in CANDIDATES.items()}
    worst = {name: max(r["max_move_in_sd"] for r in rows) for name, rows in out.items()}
    return {
        "keys": k,
        "seeds": sorted(ref["seed"].unique().tolist()),
        "criterion": CRITERION,
        "shortcut_exact": shortcut_holds(check, ref),
        "worst_move_in_sd": worst,
        "met_by": [name for name, w in worst.items() if w <= CRITERION and not name.startswith("reference")],
        "seconds": {name: seconds(results, key) for name, key in k.items()},
        "candidates": out,
    }


def table(result: dict[str, Any]) -> str:
    lines = ["| schedule | records per 19,200-sample curve | worst move (between-seed SDs) | worst move (error) |", "|---|---|---|---|"]
    for name, rows in result["candidates"].items():
        big = max(r["records"] for r in rows)
        lines.append(f"| {name} | {big} | {result['worst_move_in_sd'][name]:.2f} | {max(r['max_move'] for r in rows):.5f} |")
    s = result["seconds"]
    lines.append(
        f"\nshortcut exact: {result['shortcut_exact']}; met the criterion ({result['criterion']} SD): {result['met_by'] or 'none'}; "
        f"transfer jobs {s['schedule']:.0f} s (geometric 24, test error at epoch ends) vs {s['reference']:.0f} s (every 20)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.records", description=__doc__)
    ap.add_argument("--run", action="store_true", help="run both configs through snakemake first")
    ap.add_argument("--out", type=Path, default=HERE / "records.json", help="results file (default benchmarks/records.json)")
    args = ap.parse_args(argv)
    if args.run:
        run_both()
    cfg = yaml.safe_load(CONFIGS["schedule"].read_text())
    from bdnn.pipeline.config import load_config

    result = compare(REPO / cfg["results_dir"], load_config(REPO / "config" / "config.yaml", CONFIGS["schedule"])["batch_size"])
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
