"""The sweep's cost, read from a real run's Snakemake benchmark files:

    <results>/benchmarks/develop/<settings>/<classes>/<samples>/seed<seed>.tsv
    <results>/benchmarks/{transfer,task_transfer}/<settings>/seed<seed>.tsv   (every network of a seed)
    <results>/benchmarks/{transfer,task_transfer}/<settings>/<network>/seed<seed>.tsv   (runs before the jobs per seed)

(bdnn.pipeline.layout.benchmark_file), tab-separated with a header: `s` (seconds), `max_rss`
(MiB), ... Nothing is run here: without such files both entries are skipped ("no run found").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import Result, Target, say, stats, table, usable_cores


@dataclass
class Job:
    job: str  # the job's id, e.g. develop/<settings>/0-9/9600/seed0
    kind: str  # develop, transfer or task_transfer
    seconds: float
    max_rss: float | None  # MiB

    @property
    def group(self) -> str:
        """develop: <classes>/<samples>; a transfer job of a seed: <kind>; of one network (runs
        before the jobs per seed): <kind>/<network>."""
        parts = self.job.split("/")
        if self.kind == "develop":
            return "/".join(parts[-3:-1])
        return self.kind if len(parts) == 3 else f"{self.kind}/{parts[-2]}"


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:  # "NA" or "-" where Snakemake could not measure
        return None


def read_jobs(benchmarks_dir: Path) -> list[Job]:
    """Every row of every benchmark file under `benchmarks_dir` (none when it is absent)."""
    jobs = []
    for path in sorted(benchmarks_dir.glob("**/*.tsv")):
        job = path.relative_to(benchmarks_dir).with_suffix("").as_posix()
        with open(path, newline="") as fh:
            for rec in csv.DictReader(fh, delimiter="\t"):
                seconds = _number(rec.get("s"))
                if seconds is not None:
                    jobs.append(Job(job, job.split("/")[0], seconds, _number(rec.get("max_rss"))))
    return jobs


def _group_key(group: str) -> tuple[str, int, str]:
    head, _, tail = group.rpartition("/")
    if not head:  # a group of one kind (transfer jobs of a seed)
        return (group, 0, "")
    return (head, int(tail), "") if tail.isdigit() else (head, 0, tail)


def by_group(jobs: list[Job]) -> dict[str, dict[str, float]]:
    """Median/min/max seconds per group (develop by classes and samples, numerically), and a count."""
    groups: dict[str, list[float]] = {}
    for j in jobs:
        groups.setdefault(j.group, []).append(j.seconds)
    return {g: {**stats(v), "jobs": len(v)} for g, v in sorted(groups.items(), key=lambda kv: _group_key(kv[0]))}


def bench_sweep(setup: Any, ctx: dict[str, Any], results_dir: Path | None = None) -> list[Result]:
    root = Path(results_dir or ctx.get("results_dir") or "results") / "benchmarks"
    cores = usable_cores()
    wall = Result("sweep_time", f"The sweep's job time over this machine's {cores} cores (sum of job seconds / cores)", "min")
    wall.target = Target("<=", 15, "min")
    mem = Result(
        "sweep_peak_memory", "Peak memory (max_rss) per job of the sweep", "MiB", target=Target("<=", 1024, "MiB"), target_on="max"
    )
    jobs = read_jobs(root)
    if not jobs:
        say(f"\n[sweep] no run found: no Snakemake benchmark files under {root}")
        wall.note = mem.note = f"skipped: no run found (no {root}/**/*.tsv; run `make reproduce` first)"
        return [wall, mem]
    total = sum(j.seconds for j in jobs)
    slowest = max(jobs, key=lambda j: j.seconds)
    rss = [j for j in jobs if j.max_rss is not None]
    groups = by_group(jobs)
    rows = [[g, s["jobs"], s["median"], s["min"], s["max"]] for g, s in groups.items()]
    say(table(["group", "jobs", "median s", "min s", "max s"], rows, f"\n[sweep] {len(jobs)} jobs under {root}"))
    say(f"    sum of job times {total / 60:.1f} min; slowest {slowest.job} ({slowest.seconds:.0f} s)")
    wall.values = [total / 60 / cores]
    wall.details = {"jobs": len(jobs), "job_seconds_sum": total, "cores": cores, "slowest_job": vars(slowest), "groups": groups}
    if rss:
        largest = max(rss, key=lambda j: j.max_rss or 0.0)
        say(f"    largest max_rss {largest.max_rss:.0f} MiB ({largest.job})")
        mem.values = [j.max_rss or 0.0 for j in rss]
        mem.note, mem.details = "median/min/max over the jobs; the target applies to the largest", {"largest_job": vars(largest)}
    else:
        mem.note = "skipped: no max_rss recorded"
    return [wall, mem]
