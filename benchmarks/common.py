"""Shared pieces of the suite: the machine's description, paired timing, results and tables."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.partition(":")[2].strip() for line in info.splitlines() if line.startswith("model name")), platform.processor())
    return {
        "cpu_model": model or "unknown",
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def timed(fn: Callable[[], Any], device: torch.device | str | None = None) -> float:
    """Seconds of one call (waiting for queued CUDA work before and after)."""
    cuda = device is not None and torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def paired(
    contenders: dict[str, Callable[[], Any]], reps: int, warmup: int, device: torch.device | str | None = None
) -> dict[str, list[float]]:
    """Time each contender `reps` times after `warmup` untimed rounds, interleaved: every round
    runs each once, the order rotating from round to round, so a drift of the machine's speed
    (another job, thermal state) falls on all of them alike. Returns seconds per contender."""
    names = list(contenders)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + reps):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            dt = timed(contenders[name], device)
            if r >= warmup:
                times[name].append(dt)
    return times


def ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """Per-round ratios a / b of two paired timings."""
    return [x / y for x, y in zip(a, b, strict=True)]


def stats(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def seconds(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {k: stats(v) for k, v in times.items()}


@dataclass
class Target:
    """A target such as `<= 1.2`; `met` is None when there is nothing to compare."""

    op: str | None = None  # "<=", ">=" or None (report only)
    value: float = 0.0
    unit: str = ""

    def text(self) -> str:
        return "report only" if self.op is None else f"{self.op} {self.value:g}{(' ' + self.unit) if self.unit else ''}"

    def met(self, x: float | None) -> bool | None:
        if self.op is None or x is None:
            return None
        return x <= self.value if self.op == "<=" else x >= self.value


@dataclass
class Result:
    """One entry of results.json. `ok` is a correctness check beside the timing (the same maths,
    the same curve); the suite exits 1 when one fails. Timings never fail it."""

    name: str
    title: str
    unit: str
    values: list[float] = field(default_factory=list)  # one per repetition (or per job)
    target: Target = field(default_factory=Target)
    target_on: str = "median"  # the statistic the target applies to
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    ok: bool = True

    def to_json(self) -> dict[str, Any]:
        s = stats(self.values) if self.values else dict.fromkeys(("median", "min", "max"))
        status = {"status": "ok" if self.values else "skipped", "met": self.target.met(s[self.target_on]), "check_passed": self.ok}
        d = {"title": self.title, "unit": self.unit, **status, **s, "target": self.target.text(), "target_on": self.target_on}
        return {**d, "n": len(self.values), "values": self.values, "note": self.note, "details": self.details}


def fmt(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "NO"
    return "-" if x is None else f"{x:.4g}" if isinstance(x, float) else str(x)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """A plain fixed-width text table."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells)
    return "\n".join(lines)


def times_table(times: dict[str, list[float]], title: str) -> str:
    return table(["", "median s", "min s", "max s"], [[k, *stats(v).values()] for k, v in times.items()], title)


def result_table(results: Sequence[Result]) -> str:
    rows = [
        [r.name, *(r.to_json()[k] for k in ("median", "min", "max")), r.unit, r.target.text(), r.to_json()["met"], r.ok, len(r.values)]
        for r in results
    ]
    return table(["benchmark", "median", "min", "max", "unit", "target", "met", "check", "n"], rows)


def say(text: str) -> None:
    print(text, flush=True)
