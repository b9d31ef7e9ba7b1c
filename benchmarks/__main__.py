"""`python -m benchmarks [NAME ...] [--quick] [--reps N] [--out PATH]`: run the suite, print the
tables and write the results (with the machine's description) to benchmarks/results.json."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

NAMES = ("throughput", "develop", "overhead", "sweep", "cuda", "profile")
DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all): {', '.join(NAMES)}")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (600 samples, 60 hidden): a smoke test, not a measurement")
    ap.add_argument("--reps", type=int, help="repetitions of every timing (default: 5 per epoch/iteration, 3 per developmental run)")
    ap.add_argument(
        "--torch-prune",
        action="store_true",
        help="benchmark 2 also runs torch.nn.utils.prune + autograd (about 105 s per run at 1000 hidden: +5.5 min at 3 repetitions)",
    )
    ap.add_argument(
        "--out", type=Path, help="results file (default benchmarks/results.json; with --quick nothing is written unless --out is given)"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one thread per job, as the pipeline runs)")
    args = ap.parse_args(argv)
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")

    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    from benchmarks import suite
    from benchmarks.common import loadavg, machine, result_table

    setup = suite.Setup.quick_setup() if args.quick else suite.Setup()
    if args.reps:
        setup.reps_epoch = setup.reps_develop = args.reps
    names = args.names or list(NAMES)
    out = args.out if args.out else (None if args.quick else DEFAULT_OUT)
    doc = {
        "suite": "BDNN-sp benchmarks (python -m benchmarks)",
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "setup": {
            "samples": setup.samples,
            "hidden": setup.hidden,
            "reps_epoch": setup.reps_epoch,
            "reps_develop": setup.reps_develop,
            "warmup": setup.warmup,
            "quick": setup.quick,
        },
        "loadavg_start": loadavg(),
        "benchmarks": {},
    }
    print(
        f"machine: {doc['machine']['cpu_model']}, {doc['machine']['usable_cores']} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s); load average {doc['loadavg_start']}",
        flush=True,
    )
    t_start = time.perf_counter()
    results = []
    cpu_develop = None

    def save() -> None:
        if out is None:
            return
        doc["loadavg_end"] = loadavg()
        doc["total_seconds"] = time.perf_counter() - t_start
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1, default=float) + "\n")
        os.replace(tmp, out)

    for name in NAMES:
        if name not in names:
            continue
        t0 = time.perf_counter()
        la = loadavg()
        if name == "throughput":
            new = suite.bench_throughput(setup)
        elif name == "develop":
            new, info = suite.bench_develop(setup, with_torch_prune=args.torch_prune)
            cpu_develop = info["library_seconds_median"]
        elif name == "overhead":
            new = suite.bench_overhead(setup)
        elif name == "sweep":
            new = suite.bench_sweep(setup)
        elif name == "cuda":
            new = suite.bench_cuda(setup, cpu_develop)
        else:
            doc["profile"] = suite.profile_develop(setup)
            doc["profile"]["bench_seconds"] = time.perf_counter() - t0
            save()
            continue
        for r in new:
            r.details["bench_seconds"] = time.perf_counter() - t0
            r.details["loadavg_before"] = la
            doc["benchmarks"][r.name] = r.to_json()
        results.extend(new)
        save()
    total = time.perf_counter() - t_start
    print("\nsummary")
    print(result_table(results))
    for r in results:
        if r.skipped or r.note.startswith("skipped"):
            print(f"  {r.name}: {r.note}")
    print(f"\ntotal {total:.0f} s; load average {loadavg()}" + (f"; results in {out}" if out else ""))
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
