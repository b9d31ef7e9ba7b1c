"""`python -m benchmarks [NAME ...] [--quick] [--reps N] [--threads N] [--out PATH]`: run the suite,
print the tables and write the results, with the machine's description, to benchmarks/results.json
(with --quick, nothing is written unless --out is given). Exits 1 when a correctness check beside
the timings fails (the same maths, the same curve); timings never fail it."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import say

NAMES = ("throughput", "develop", "efficiency", "sweep", "cuda")
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results.json"


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all): {', '.join(NAMES)}")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (600 samples, <= 60 hidden): a smoke test, not a measurement")
    ap.add_argument("--reps", type=int, help="repetitions of every timing (default 5 per epoch, 3 per developmental run)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one thread per job, as the pipeline runs)")
    ap.add_argument("--results", type=Path, default=HERE.parent / "results", help="the run whose benchmark files `sweep` reads")
    ap.add_argument("--out", type=Path, help="results file (default benchmarks/results.json; none with --quick unless given)")
    ap.add_argument("--markdown", action="store_true", help="print the committed results.json as the README's table (runs nothing)")
    args = ap.parse_args(argv)
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    if (args.reps is not None and args.reps < 1) or args.threads < 1:
        ap.error("--reps and --threads must be at least 1")
    return args


def save(doc: dict[str, Any], out: Path | None) -> None:
    if out is None:
        return
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=float) + "\n")
    os.replace(tmp, out)


def markdown(path: Path = DEFAULT_OUT) -> str:
    """The README's table of a results file."""
    doc = json.loads(path.read_text())
    m = doc["machine"]
    rows = ["| benchmark | median (min-max) | unit | target | met |", "|---|---|---|---|---|"]
    for b in doc["benchmarks"].values():
        spread = "skipped" if b["median"] is None else f"{b['median']:.3g} ({b['min']:.3g}-{b['max']:.3g})"
        rows.append(
            f"| {b['title']} | {spread} | {b['unit']} | {b['target']} | {'-' if b['met'] is None else 'yes' if b['met'] else '**no**'} |"
        )
    head = f"`{doc['command']}` at {doc['started']} on {m['cpu_model']}, {m['usable_cores']} cores, torch {m['torch']}, {m['torch_threads']} thread(s), load average {doc['loadavg_start']} at the start:"
    return "\n".join([head, "", *rows])


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.markdown:
        say(markdown())
        return 0
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    from benchmarks import suite, sweep
    from benchmarks.common import loadavg, machine, result_table

    setup = suite.Setup.quick_setup() if args.quick else suite.Setup()
    if args.reps:
        setup.reps = setup.reps_develop = args.reps
    out = args.out or (None if args.quick else DEFAULT_OUT)
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    command = " ".join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    doc: dict[str, Any] = {"started": started, "command": command, "machine": machine(), "setup": vars(setup), "loadavg_start": loadavg()}
    m, doc["benchmarks"] = doc["machine"], {}
    say(f"machine: {m['cpu_model']}, {m['usable_cores']} cores, torch {m['torch']}, {m['torch_threads']} thread(s); load {loadavg()}")
    ctx: dict[str, Any] = {"results_dir": args.results}
    t_start, results = time.perf_counter(), []
    for name in [n for n in NAMES if n in (args.names or NAMES)]:
        t0, la = time.perf_counter(), loadavg()
        new = getattr(sweep if name == "sweep" else suite, f"bench_{name}")(setup, ctx)
        for r in new:
            r.details.update(bench_seconds=time.perf_counter() - t0, loadavg_before=la)
            doc["benchmarks"][r.name] = r.to_json()
        results.extend(new)
        doc.update(loadavg_end=loadavg(), total_seconds=time.perf_counter() - t_start)
        save(doc, out)
    say("\nsummary")
    say(result_table(results))
    say("\n".join(f"  {r.name}: {r.note}" for r in results if r.note))
    failed = [r.name for r in results if not r.ok]
    if failed:
        say(f"check FAILED: {', '.join(failed)}")
    say(f"\ntotal {time.perf_counter() - t_start:.0f} s; load average {loadavg()}" + (f"; results in {out}" if out else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
