"""Shared pieces of the benchmark suite: the machine's description, timing, statistics, tables."""

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
CONFIG = REPO / "config" / "config.yaml"


def mnist_cache() -> str:
    """The verified MNIST cache: $BDNN_MNIST if set, else the pipeline's own (config key `cache`,
    relative to the repository), which bdnn.data.load_mnist builds on first use."""
    from bdnn.config import load_config

    return os.environ.get("BDNN_MNIST") or str(REPO / load_config(CONFIG)["cache"])


def _cpuinfo() -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return out
    physical = set()
    phys_id = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "model name" and "cpu_model" not in out:
            out["cpu_model"] = value
        elif key == "cpu MHz" and "cpu_mhz" not in out:
            out["cpu_mhz"] = float(value)
        elif key == "physical id":
            phys_id = value
        elif key == "core id":
            physical.add((phys_id, value))
        elif key == "flags" and "cpu_flags" not in out:
            flags = set(value.split())
            out["cpu_flags"] = sorted(f for f in ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags)
    if physical:
        out["physical_cores"] = len(physical)
    return out


def _meminfo_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {"cpu_model": platform.processor() or "unknown"}
    info.update(_cpuinfo())
    info.update(
        logical_cores=os.cpu_count(),
        usable_cores=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        memory_gib=_meminfo_gib(),
        os=platform.platform(),
        python=sys.version.split()[0],
        torch=torch.__version__,
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        mkldnn=torch.backends.mkldnn.is_available(),
        mkl=torch.backends.mkl.is_available(),
        cuda=torch.cuda.is_available(),
        cuda_device=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    )
    return info


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def sync(device: torch.device | str | None = None) -> None:
    """Wait for queued CUDA work (no-op on the CPU), so a timer stops when the work is done."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: torch.device | str | None = None) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, out


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
            dt, _ = timed(contenders[name], device)
            if r >= warmup:
                times[name].append(dt)
    return times


def stats(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


@dataclass
class Target:
    """A target such as `<= 1.2`; `met` is None when there is nothing to compare."""

    op: str | None = None  # "<=", "<", ">=" or None (report only)
    value: float | None = None
    unit: str = ""

    def text(self) -> str:
        return "report only" if self.op is None else f"{self.op} {self.value:g}{(' ' + self.unit) if self.unit else ''}"

    def met(self, x: float | None) -> bool | None:
        if self.op is None or x is None:
            return None
        return {"<=": x <= self.value, "<": x < self.value, ">=": x >= self.value}[self.op]


@dataclass
class Result:
    """One benchmark's entry of results.json."""

    name: str
    title: str
    metric: str
    unit: str
    values: list[float] = field(default_factory=list)  # one per repetition (or per job)
    target: Target = field(default_factory=Target)
    target_on: str = "median"  # which statistic the target is checked on
    warmup: int = 0
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"title": self.title, "metric": self.metric, "unit": self.unit}
        if self.skipped:
            d.update(status="skipped", median=None, min=None, max=None, met=None)
        else:
            s = stats(self.values)
            d.update(status="ok", **s)
            d["met"] = self.target.met(s[self.target_on])
        d.update(
            target=self.target.text(),
            target_op=self.target.op,
            target_value=self.target.value,
            target_on=self.target_on,
            reps=len(self.values),
            warmup=self.warmup,
            values=self.values,
        )
        if self.note:
            d["note"] = self.note
        d["details"] = self.details
        return d


def fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "NO"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """A plain fixed-width text table."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)))
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)))
    return "\n".join(lines)


def result_table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        j = r.to_json()
        rows.append([r.name, j["median"], j["min"], j["max"], r.unit, j["target"], j["met"], j["reps"]])
    return table(["benchmark", "median", "min", "max", "unit", "target", "met", "n"], rows)
