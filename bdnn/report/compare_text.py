"""The comparison's claims.md (`make compare`): per dataset, Eq. 1 against each baseline at the
operating widths, where each criterion puts the F peak, claims 1-3 on each dataset's sweep, claim 5
(the harder dataset's developed network is larger) and the un-pruned network's accuracy beside a
published MLP. Data in (bdnn.pipeline.compare's claims.json), Markdown out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bdnn.data.registry import DATASETS
from bdnn.method.names import CRITERION_TEXT

BASELINE_TEXT = {**CRITERION_TEXT, "scratch": "trained from scratch at the operating width (Liu et al. 2019)"}
DEVELOP_CLAIMS = {"claim1": "1: interior F peak", "claim2": "2: size at the peak grows", "claim3": "3: fewer classes, smaller"}


def _p(c: Mapping[str, Any], key: str = "p") -> str:
    v = c.get(key)
    return "-" if v is None else f"{v:.3g}"


def _interval(c: Mapping[str, Any], scale: float = 1.0, fmt: str = "+.2f") -> str:
    if not c.get("interval"):
        return "-"
    low, high = (("unbounded" if v is None else format(v * scale, fmt)) for v in c["interval"])
    return f"[{low}, {high}]"


def _baselines(name: str, record: Mapping[str, Any]) -> list[str]:
    title = DATASETS[name].title
    lines = [
        f"## {title}: Eq. 1 against each baseline",
        "",
        f"{record['seeds']} seeds; sample counts {', '.join(f'{s:,}' for s in record['samples'])}; operating widths "
        f"{', '.join(map(str, record['widths']))} (the recorded width nearest each). Per seed, the mean over the counts and "
        "widths of (test accuracy under Eq. 1 - under the baseline); sign-flip tests each way with Holm over the family of "
        "baselines, intervals at the Bonferroni level.",
        "",
        "| baseline | verdict | Eq. 1 minus baseline (pp) | interval (pp) | n | Holm p (reverse) |",
        "|---|---|---|---|---|---|",
    ]
    for base, c in record["baselines"].items():
        stat = "-" if c["statistic"] is None else f"{c['statistic'] * 100:+.2f}"
        lines.append(f"| {BASELINE_TEXT.get(base, base)} | **{c['verdict']}** | {stat} | {_interval(c, 100)} | {c['n']} | "
                     f"{_p(c)} ({_p(c, 'p_reverse')}) |")  # fmt: skip
    lines += ["", "Where each criterion puts the F peak (these runs): mean size at the peak per sample count, and claim 1.", ""]
    lines += ["| criterion | mean size at the peak | claim 1 |", "|---|---|---|"]
    for crit, p in record["peaks"].items():
        sizes = ", ".join(f"{int(s):,}: {v:.1f}" for s, v in p["size_at_peak"].items())
        lines.append(f"| {CRITERION_TEXT.get(crit, crit)} | {sizes} | **{p['claim1']['verdict']}** ({p['claim1']['text']}) |")
    return [*lines, ""]


def _develop_claims(data: Mapping[str, Any]) -> list[str]:
    lines = ["## Claims 1-3 on each dataset's Eq. 1 sweep", "", "| dataset | claim | verdict | evidence |", "|---|---|---|---|"]
    for name, d in data["datasets"].items():
        for key, label in DEVELOP_CLAIMS.items():
            c = d["claims"].get(key)
            if c is not None:
                lines.append(f"| {DATASETS[name].title} | {label} | **{c['verdict']}** | {c['text']} |")
    return [*lines, ""]


def _claim5(c: Mapping[str, Any] | None) -> list[str]:
    if c is None:
        return []
    harder, easier = DATASETS[c["harder"]].title, DATASETS[c["easier"]].title
    return [
        f"## Claim 5 (the abstract's): on the harder task the developed network is larger ({harder} against {easier})",
        "",
        f"**{c['verdict']}**: {c['text']} Claim 3's rule on per-seed differences ({harder} minus {easier}) of the size at the F peak.",
        "",
    ]


def _unpruned(data: Mapping[str, Any]) -> list[str]:
    lines = ["## The un-pruned network's test accuracy (iteration 0, the sweep's training defaults)", ""]
    for name, d in data["datasets"].items():
        spec = DATASETS[name]
        acc = ", ".join(f"{int(s):,} samples {v:.4f}" for s, v in d["unpruned_accuracy"].items())
        lines.append(f"- {spec.title}: {acc or 'no runs'}.")
        if spec.reference_mlp is not None:
            what, value, source = spec.reference_mlp
            lines.append(f"  Beside it: {what}, {value:.4f} ({source}). The training defaults were calibrated on MNIST only.")
    return [*lines, ""]


def render(cfg: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """claims.md of the comparison from its claims.json data."""
    block = cfg["compare"]
    lines = [
        "# The comparison: Eq. 1 against the field's baselines, and claim 5",
        "",
        f"Datasets {', '.join(DATASETS[d].title for d in block['datasets'])}; criteria {', '.join(block['criteria'])}; "
        f"class subset {block['classes']}; each verdict `holds`, `fails` or `inconclusive` with its n and p (docs/method.md, "
        '"The comparison").',
        "",
    ]
    for name, d in data["datasets"].items():
        if d["comparison"] is not None:
            lines += _baselines(name, d["comparison"])
    lines += _claim5(data.get("claim5")) + _develop_claims(data) + _unpruned(data)
    return "\n".join(lines)
