"""The transfer record schedule against a reference (docs/method.md, "Transfer records").

`python -m benchmarks.records [--run]` compares three seeds of the default transfer experiment
recorded under the default schedule (`transfer.records`, config/records-check.yaml) with the
same runs recorded every 20 mini-batches (config/records-reference.yaml): per control, draw and
seed, the paired difference (control minus developed area under the error on the new samples)
under each schedule, how far the schedule moves it in units of that difference's between-seed SD
(the criterion: at most 0.1), whether its sign changes, and the jobs' time under each schedule.
`--run` first runs both configs through snakemake (the develop runs are shared). Writes
benchmarks/records.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIGS = {"schedule": REPO / "config" / "records-check.yaml", "reference": REPO / "config" / "records-reference.yaml"}
CRITERION = 0.1  # a per-seed difference may move by at most this many of its between-seed SDs


def keys() -> dict[str, str]:
    """The transfer settings key of each config (bdnn validate prints it)."""
    out = {}
    for name, path in CONFIGS.items():
        line = subprocess.run([sys.executable, "-m", "bdnn", "validate", "--config", str(path)], capture_output=True, text=True, check=True)
        out[name] = line.stdout.strip().rsplit("transfer settings key ", 1)[1].rstrip(")")
    return out


def run_both() -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for path in CONFIGS.values():
        subprocess.run(["snakemake", "--configfile", str(path), "--cores", str(os.cpu_count() or 1)], cwd=REPO, env=env, check=True)


def areas(results: Path, key: str, seeds: list[int]) -> dict[tuple[str, int, int], float]:
    """(network, draw, seed) -> the area under the error on the new samples."""
    out = {}
    for net_dir in sorted((results / "transfer" / key).iterdir()):
        for seed in seeds:
            summary = json.loads((net_dir / f"seed{seed}" / "summary.json").read_text())
            for draw, d in summary["draws"].items():
                out[(net_dir.name, int(draw), seed)] = d["auc_error_new"]
    return out


def seconds(results: Path, key: str) -> float:
    """Total seconds of the transfer jobs of one key (their Snakemake benchmark files)."""
    total = 0.0
    for tsv in (results / "benchmarks" / "transfer" / key).rglob("*.tsv"):
        lines = tsv.read_text().splitlines()
        total += float(lines[1].split("\t")[0])
    return total


def compare(results: Path, seeds: list[int]) -> dict[str, Any]:
    k = keys()
    a = {name: areas(results, key, seeds) for name, key in k.items()}
    rows = []
    for net, draw in sorted({(n, d) for n, d, _ in a["reference"] if n != "pruned"}):
        ref = [a["reference"][(net, draw, s)] - a["reference"][("pruned", draw, s)] for s in seeds]
        sch = [a["schedule"][(net, draw, s)] - a["schedule"][("pruned", draw, s)] for s in seeds]
        sd = statistics.stdev(ref)
        moves = [abs(x - y) / sd for x, y in zip(sch, ref, strict=True)]
        rows.append({"control": net, "draw": draw, "reference": ref, "schedule": sch, "between_seed_sd": sd,
                     "max_move_in_sd": max(moves), "sign_changes": sum((x > 0) != (y > 0) for x, y in zip(sch, ref, strict=True))})  # fmt: skip
    return {
        "keys": k,
        "seeds": seeds,
        "criterion": CRITERION,
        "met": all(r["max_move_in_sd"] <= CRITERION for r in rows) and not any(r["sign_changes"] for r in rows),
        "seconds": {name: seconds(results, key) for name, key in k.items()},
        "comparisons": rows,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| control | draw | max move (SDs) | sign changes | mean difference, schedule | reference |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["comparisons"]:
        lines.append(
            f"| {r['control']} | {r['draw']:,} | {r['max_move_in_sd']:.3f} | {r['sign_changes']} | "
            f"{statistics.mean(r['schedule']):+.4f} | {statistics.mean(r['reference']):+.4f} |"
        )
    s = result["seconds"]
    lines.append(
        f"\ntransfer jobs: {s['schedule']:.0f} s under the schedule, {s['reference']:.0f} s under the reference; criterion met: {result['met']}"
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
    result = compare(REPO / cfg["results_dir"], cfg["seeds"])
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
