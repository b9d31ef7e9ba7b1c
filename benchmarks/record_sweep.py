"""Record the wall time of a full sweep in benchmarks/sweep.json, for benchmark 4.

    /usr/bin/time -v make reproduce 2>&1 | tee /tmp/reproduce.log
    python -m benchmarks.record_sweep /tmp/reproduce.log [--cores N]

Reads GNU time's "Elapsed (wall clock) time" and "Maximum resident set size" (the largest
single process of the whole sweep) and Snakemake's "N of M steps (100%) done" from the log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path

from benchmarks.common import machine

OUT = Path(__file__).resolve().parent / "sweep.json"


def parse_elapsed(text: str) -> float:
    """GNU time's `h:mm:ss` or `m:ss.ss` into seconds."""
    parts = [float(p) for p in text.strip().split(":")]
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


def parse_log(text: str) -> dict:
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\):\s*(\S+)", text)
    if not m:
        raise SystemExit("no 'Elapsed (wall clock) time' line: run the sweep under /usr/bin/time -v")
    rec = {"wall_seconds": parse_elapsed(m.group(1))}
    m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
    if m:
        rec["max_rss_single_process_mib"] = int(m.group(1)) / 1024
    m = re.search(r"Exit status:\s*(\d+)", text)
    if m:
        rec["exit_status"] = int(m.group(1))
    steps = re.findall(r"(\d+) of (\d+) steps \((\d+)%\) done", text)
    if steps:
        rec["steps_done"], rec["steps_total"] = int(steps[-1][0]), int(steps[-1][1])
    rec["nothing_to_be_done"] = "Nothing to be done" in text
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.record_sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("log", type=Path, help="the output of `/usr/bin/time -v make reproduce`")
    ap.add_argument("--cores", type=int, default=os.cpu_count(), help="the cores the sweep ran on (default: this machine's)")
    ap.add_argument("--command", default="make reproduce", help="what was timed")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    rec = parse_log(args.log.read_text(errors="replace"))
    if rec.get("exit_status", 0) != 0:
        print(f"warning: the sweep exited with status {rec['exit_status']}", file=sys.stderr)
    m = machine()
    rec.update(
        source=f"{args.command} under /usr/bin/time -v, log {args.log}",
        command=args.command,
        cores=args.cores,
        cpu_model=m.get("cpu_model"),
        recorded=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        log_modified=dt.datetime.fromtimestamp(args.log.stat().st_mtime).astimezone().isoformat(timespec="seconds"),
    )
    args.out.write_text(json.dumps(rec, indent=1) + "\n")
    print(json.dumps(rec, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
