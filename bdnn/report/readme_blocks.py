"""The README's generated blocks: the tables of verdicts and numbers, written from the committed
results of the last full run (figures/claims.json, figures/study/claims_map.csv,
figures/compare/claims.json) between markers,
so that the README cannot drift from them (`bdnn readme`; `bdnn readme --check` fails on any
difference, and a test runs it)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bdnn.analysis.verdicts import PAPER_UNPRUNED_ACC

BEGIN = "<!-- BEGIN generated: {name} (written by `bdnn readme` from the committed results; do not edit) -->"
END = "<!-- END generated: {name} -->"
CLAIM_NAMES = {
    "claim1": "1. F has an interior peak",
    "claim2": "2. the size at the peak grows with the samples",
    "claim3": "3. fewer classes end smaller",
    "claim4": "4. the pruned network transfers better",
}
SPEARMAN_INTERVAL = "per-seed mean"  # claim 2's interval is of the mean per-seed Spearman, its statistic the Spearman of the means
STUDY_CLAIMS = {"claim1": "1", "claim2": "2", "claim2_range": "2'", "claim3": "3"}


class BlockError(ValueError):
    """A marker is missing or out of order in the README."""


def _num(v: Any) -> float | None:
    """A number from JSON or CSV (None, "" and NaN are missing)."""
    if v is None or v == "":
        return None
    out = float(v)
    return out if math.isfinite(out) else None  # an infinite bound (too few seeds) is unbounded


def format_p(p: float | None, p_min: float | None) -> str:
    """A p-value as the README prints it: at its n's floor, as the fraction and `(min)`."""
    if p is None:
        return "n/a"
    if p_min and p <= p_min * (1 + 1e-9):
        return f"1/{round(1 / p_min):,} (min)"
    return f"{p:.3g}"


def _interval(claim: Mapping[str, Any], scale: float, fmt: str) -> str:
    iv = claim.get("interval")
    lo, hi = (_num(v) for v in iv) if iv else (None, None)
    if lo is None and hi is None:  # no interval, or unbounded both ways: nothing to print
        return ""
    one = lambda v, inf: inf if v is None else format(v * scale, fmt)  # noqa: E731
    return f" [{one(lo, '-inf')}, {one(hi, '+inf')}]"


def verdict_cell(claim: Mapping[str, Any], scale: float = 1.0, fmt: str = ".2f", unit: str = "", interval_of: str = "") -> str:
    """`**verdict**: statistic [interval], n, p, reverse p` of one claims.json entry; with
    `interval_of`, the interval is of another statistic, named: `statistic; interval_of [interval]`."""
    out = f"**{claim['verdict']}**"
    stat, n, p, p_rev, p_min = (_num(claim.get(k)) for k in ("statistic", "n", "p", "p_reverse", "p_min"))
    if stat is not None:
        interval = _interval(claim, scale, fmt)
        out += f": {format(stat * scale, fmt)}{unit}" + (f"; {interval_of}{interval}" if interval_of and interval else interval)
    if n is not None:
        out += f", n = {int(n)}"
    if p is not None:
        out += f", p = {format_p(p, p_min)}"
        if p_rev is not None:
            out += f", reverse p = {format_p(p_rev, p_min)}"
    left_out = _num(claim.get("left_out"))
    if left_out:
        out += f", {int(left_out)} seed(s) left out"
    return out


def claims_block(data: Mapping[str, Any]) -> str:
    """Claims 1-4 under every reading of S and E (claim 4 only under the configured one)."""
    readings = list(data["readings"])
    lines = ["| claim | " + " | ".join(readings) + " |", "|---|" + "---|" * len(readings)]
    for claim in ("claim1", "claim2", "claim3"):
        of = SPEARMAN_INTERVAL if claim == "claim2" else ""
        lines.append(
            f"| {CLAIM_NAMES[claim]} | " + " | ".join(verdict_cell(data["readings"][r][claim], interval_of=of) for r in readings) + " |"
        )
    cells = [verdict_cell(data["claim4"]) if r == data["configured_reading"] else "not transferred" for r in readings]
    lines.append(f"| {CLAIM_NAMES['claim4']} | " + " | ".join(cells) + " |")
    lines += ["", f"Configured reading: {data['configured_reading']}. Claim 1's statistic is the mean share of interior peaks per seed, "
              "claim 2's the Spearman between the sample count and the mean size at the peak over seeds (its interval and p: of "
              "the mean per-seed Spearman), claim 3's the mean per-seed difference in neurons (the full class subset minus the smaller). "
              "`(min)`: the smallest p that n allows."]  # fmt: skip
    if data.get("unpruned_acc") is not None:
        lines += [
            "",
            f"Un-pruned network of the transfer runs: test accuracy {data['unpruned_acc']:.2%} (the paper: {PAPER_UNPRUNED_ACC:.2%}).",
        ]
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
            of = SPEARMAN_INTERVAL if claim in ("claim2", "claim2_range") else ""
            out.append(verdict_cell({**r, "interval": [r.get("interval_low"), r.get("interval_high")]}, interval_of=of))
        lines.append(f"| {cell} | " + " | ".join(out) + " |")
    return "\n".join(lines)


def compare_block(data: Mapping[str, Any]) -> str:
    """The comparison (figures/compare/claims.json): Eq. 1 against each baseline per dataset (the
    mean per-seed difference in test accuracy at the operating widths, pp), claims 1-3 on each
    dataset's Eq. 1 sweep, and claim 5."""
    from bdnn.data.registry import DATASETS

    names = list(data.get("dataset_order") or data["datasets"])  # the configured order (claims.json sorts its keys)
    records = [data["datasets"][d] for d in names]
    head = ["| | " + " | ".join(DATASETS[d].title for d in names) + " |", "|---|" + "---|" * len(names)]
    baselines = list(dict.fromkeys(b for r in records for b in ((r.get("comparison") or {}).get("baselines") or {})))
    lines = [*head]
    for base in baselines:
        cells = [((r.get("comparison") or {}).get("baselines") or {}).get(base) for r in records]
        lines.append(f"| Eq. 1 minus `{base}` | " + " | ".join(verdict_cell(c, 100, "+.2f", " pp") if c else "" for c in cells) + " |")
    for claim in ("claim1", "claim2", "claim3"):
        cells = [r["claims"].get(claim) for r in records]
        of = SPEARMAN_INTERVAL if claim == "claim2" else ""
        lines.append(f"| {CLAIM_NAMES[claim]} | " + " | ".join(verdict_cell(c, interval_of=of) if c else "" for c in cells) + " |")
    c5 = data.get("claim5")
    if c5:
        harder, easier = DATASETS[c5["harder"]].title, DATASETS[c5["easier"]].title
        lines += ["", f"Claim 5, on the harder task the developed network is larger ({harder} minus {easier}, size at the F peak): "
                  f"{verdict_cell(c5, fmt='+.2f', unit=' neurons')}."]  # fmt: skip
    return "\n".join(lines)


def blocks(claims: Mapping[str, Any], study_rows: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    """Every generated block by name."""
    out = {
        "claims": claims_block(claims),
        "claim4": controls_block(claims["claim4_controls"], claims["claim4"]),
    }
    tt = claims.get("task_transfer_controls")
    out["task-transfer"] = controls_block(tt, claims["task_transfer"]) if tt else "(no transfer to another task in this run)"
    if study_rows is not None:
        out["study"] = study_block(study_rows)
    return out


def replace_blocks(text: str, new: Mapping[str, str]) -> str:
    """`text` with each named block's body between its markers replaced; a BlockError where a
    block's markers are missing, or where the text has a block that `new` does not give (it would
    go stale unchecked)."""
    head, tail = BEGIN.split("{name}")
    names = re.findall(re.escape(head) + r"([A-Za-z0-9_-]+)" + re.escape(tail), text)
    stale = sorted(set(names) - set(new))
    if stale:
        raise BlockError(
            f"README: block {stale[0]!r} has nothing to write it from "
            "(for 'study': figures/study/claims_map.csv, for 'compare': figures/compare/claims.json)"
        )
    for name, body in new.items():
        begin, end = BEGIN.format(name=name), END.format(name=name)
        pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise BlockError(f"README: no block {name!r} (a line {begin!r}, later a line {end!r})")
        text = pattern.sub(lambda _m, b=begin, e=end, body=body: f"{b}\n{body}\n{e}", text, count=1)
    return text


def render(
    text: str,
    claims: Mapping[str, Any],
    study_rows: Sequence[Mapping[str, Any]] | None,
    names: tuple[str, ...],
    compare: Mapping[str, Any] | None = None,
) -> str:
    """The README `text` with every block written from the claims data, the study's map rows and
    the comparison's claims (None: not published); a one-line BlockError naming the file (`names`:
    the claims file's, the map's, the comparison's) where one is not what `bdnn claims`, `bdnn
    study map` or `bdnn compare claims` writes."""
    bad = (KeyError, TypeError, ValueError, AttributeError)
    try:
        made = blocks(claims, None)
    except bad as exc:
        raise BlockError(f"{names[0]}: not a claims.json of `bdnn claims --data` ({type(exc).__name__}: {exc})") from None
    if study_rows is not None:
        try:
            made["study"] = study_block(study_rows)
        except bad as exc:
            raise BlockError(f"{names[1]}: not a claims_map.csv of `bdnn study map` ({type(exc).__name__}: {exc})") from None
    if compare is not None:
        try:
            made["compare"] = compare_block(compare)
        except bad as exc:
            raise BlockError(f"{names[2]}: not a claims.json of `bdnn compare claims` ({type(exc).__name__}: {exc})") from None
    return replace_blocks(text, made)
