"""The README's generated blocks: the tables of verdicts and numbers, written from the committed
results of the last full run (figures/claims.json, figures/study/claims_map.csv) between markers,
so that the README cannot drift from them (`bdnn readme`; `bdnn readme --check` fails on any
difference, and a test runs it)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

BEGIN = "<!-- BEGIN generated: {name} (written by `bdnn readme` from the committed results; do not edit) -->"
END = "<!-- END generated: {name} -->"
CLAIM_NAMES = {
    "claim1": "1. F has an interior peak",
    "claim2": "2. the size at the peak grows with the samples",
    "claim3": "3. fewer classes end smaller",
    "claim4": "4. the pruned network transfers better",
}
STUDY_CLAIMS = {"claim1": "1", "claim2": "2", "claim2_range": "2'", "claim3": "3"}


class BlockError(ValueError):
    """A marker is missing or out of order in the README."""


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def format_p(p: float | None, p_min: float | None) -> str:
    """A p-value as the README prints it: at its n's floor, said so."""
    if p is None:
        return "n/a"
    if p_min and p <= p_min * (1 + 1e-9):
        return f"{p:.3g} (the smallest its n allows)"
    return f"{p:.3g}"


def _interval(claim: Mapping[str, Any], scale: float, fmt: str) -> str:
    iv = claim.get("interval")
    if not iv:
        return ""
    lo, hi = (_num(v) for v in iv)
    one = lambda v, inf: inf if v is None else format(v * scale, fmt)  # noqa: E731
    return f" [{one(lo, '-inf')}, {one(hi, '+inf')}]"


def verdict_cell(claim: Mapping[str, Any], scale: float = 1.0, fmt: str = ".2f", unit: str = "") -> str:
    """`**verdict**: statistic [interval], n, p (reverse p)` of one claims.json entry."""
    out = f"**{claim['verdict']}**"
    stat = _num(claim.get("statistic"))
    if stat is not None:
        out += f": {format(stat * scale, fmt)}{unit}{_interval(claim, scale, fmt)}"
    if claim.get("n") is not None:
        out += f", n = {claim['n']}"
    if claim.get("p") is not None:
        out += f", p = {format_p(claim['p'], claim.get('p_min'))}"
        if claim.get("p_reverse") is not None:
            out += f" (reverse {format_p(claim['p_reverse'], claim.get('p_min'))})"
    if claim.get("left_out"):
        out += f", {claim['left_out']} seed(s) left out"
    return out


def claims_block(data: Mapping[str, Any]) -> str:
    """Claims 1-4 under every reading of S and E (claim 4 only under the configured one)."""
    readings = list(data["readings"])
    lines = ["| claim | " + " | ".join(readings) + " |", "|---|" + "---|" * len(readings)]
    for claim in ("claim1", "claim2", "claim3"):
        lines.append(f"| {CLAIM_NAMES[claim]} | " + " | ".join(verdict_cell(data["readings"][r][claim]) for r in readings) + " |")
    cells = [verdict_cell(data["claim4"]) if r == data["configured_reading"] else "not transferred" for r in readings]
    lines.append(f"| {CLAIM_NAMES['claim4']} | " + " | ".join(cells) + " |")
    lines += ["", f"Configured reading: {data['configured_reading']}. Claim 1's statistic is the mean share of interior peaks per seed, "
              "claim 2's the mean per-seed Spearman, claim 3's the mean per-seed difference in neurons."]  # fmt: skip
    if data.get("unpruned_acc") is not None:
        lines += ["", f"Un-pruned network of the transfer runs: test accuracy {data['unpruned_acc']:.2%} (the paper: 88.72%)."]
    return "\n".join(lines)


def controls_block(controls: Mapping[str, Mapping[str, Mapping[str, Any]]], whole: Mapping[str, Any]) -> str:
    """One comparison table (claim 4, or the transfer to another task): control x draw, the mean
    per-seed difference in percentage points with its interval, verdict, n and p."""
    draws = sorted({d for per in controls.values() for d in per}, key=int)
    lines = ["| control | " + " | ".join(f"{int(d):,} new samples" for d in draws) + " |", "|---|" + "---|" * len(draws)]
    for control, per in controls.items():
        lines.append(f"| `{control}` | " + " | ".join(verdict_cell(per[d], 100, "+.2f", " pp") if d in per else "" for d in draws) + " |")
    return "\n".join([*lines, "", f"As a whole: **{whole['verdict']}**."])


def study_block(rows: Sequence[Mapping[str, Any]]) -> str:
    """The study's map: cells x claims 1, 2, 2', 3, each verdict with its statistic, n and p."""
    cells: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in rows:
        cells.setdefault(str(r["cell"]), {})[str(r["claim"])] = r
    lines = ["| cell | " + " | ".join(f"claim {v}" for v in STUDY_CLAIMS.values()) + " |", "|---|" + "---|" * len(STUDY_CLAIMS)]
    for cell, claims in cells.items():
        out = []
        for claim in STUDY_CLAIMS:
            r = claims.get(claim)
            if r is None:
                out.append("")
                continue
            entry = {**r, "interval": [r.get("interval_low"), r.get("interval_high")] if _num(r.get("interval_low")) is not None else None}
            out.append(verdict_cell({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in entry.items()}))
        lines.append(f"| {cell} | " + " | ".join(out) + " |")
    return "\n".join(lines)


def blocks(claims: Mapping[str, Any], study_rows: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    """Every generated block by name."""
    out = {
        "claims": claims_block(claims),
        "claim4": controls_block(claims["claim4_controls"], claims["claim4"]),
    }
    if claims.get("task_transfer_controls"):
        out["task-transfer"] = controls_block(claims["task_transfer_controls"], claims["task_transfer"])
    if study_rows:
        out["study"] = study_block(study_rows)
    return out


def replace_blocks(text: str, new: Mapping[str, str]) -> str:
    """`text` with each named block's body between its markers replaced; a BlockError where a
    block's markers are missing."""
    for name, body in new.items():
        begin, end = BEGIN.format(name=name), END.format(name=name)
        pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise BlockError(f"README: no block {name!r} (a line {begin!r}, later a line {end!r})")
        text = pattern.sub(lambda _m, b=begin, e=end, body=body: f"{b}\n{body}\n{e}", text, count=1)
    return text
