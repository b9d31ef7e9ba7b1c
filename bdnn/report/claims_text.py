"""claims.md: each claim's evidence and verdict under the four readings of S and E, in words. The
class subsets are named from the config and the dataset (no "digits" where classes are garments)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bdnn.analysis.stats import MIN_SEEDS
from bdnn.analysis.verdicts import PAPER_UNPRUNED_ACC, READINGS, Claim
from bdnn.data.registry import DatasetSpec
from bdnn.method.names import CRITERION_TEXT

TASK_CONTROL_TEXT = {
    "unpruned": "un-pruned, trained on the first task until it matched the developed network's accuracy",
    "scratch": "a fresh network of the developed size that never saw the first task",
}
CONTROL_TEXT = {
    "unpruned": "un-pruned, trained until it matched the developed network's accuracy: the paper's control",
    "unpruned_epochs": "un-pruned, trained for as many epochs as the developed network",
    "scratch": "a fresh network of the developed size trained for as many epochs",
    "random": "neurons removed at random down to the developed size, same schedule and retraining",
}


def claim_text(cfg: Mapping[str, Any]) -> dict[str, str]:
    """The four claims as checked, with the config's class counts."""
    sizes = sorted({len(c) for c in cfg["classes"].values()}, reverse=True)
    full, small = sizes[0], (sizes[1] if len(sizes) > 1 else None)
    fewer = f"The {small}-class network" if small else "A network of fewer classes"
    return {
        "claim1": f"F has a clear interior peak (argmax neither the first nor the last pruning iteration in >= 80% of the {full}-class runs)",
        "claim2": f"The hidden size at the F peak grows with the number of training samples (Spearman >= 0.8, {full} classes)",
        "claim3": f"{fewer} ends smaller than the {full}-class one at every sample count, or all but one",
        "claim4": "After transfer the pruned network's error on the new samples (area under Fig. 4B/C) is lower than the un-pruned one's, for both draws",
    }


def _cell(claim: Claim) -> str:
    return f"**{claim.verdict}**" + (f" ({claim.statistic:.2f})" if isinstance(claim.statistic, float) else "")


def _header(ev: dict[str, Any], cfg: Mapping[str, Any], spec: DatasetSpec) -> list[str]:
    fit, prune = cfg["fitness"], cfg["prune"]
    step = prune["fraction"] if prune["schedule"] == "fraction" else prune["count"]
    lines = [
        "# The paper's claims, checked against this reproduction",
        "",
        f"Dataset: {spec.title} ({spec.n_classes} classes: {', '.join(spec.class_names)}). "
        f"Pruning criterion: {CRITERION_TEXT[prune['criterion']]}.",
        "",
        f"Config: lr {cfg['lr']}, batch {cfg['batch_size']}, {cfg['initial_epochs']} initial epochs, "
        f"{cfg['retrain_epochs']} retrain epoch(s), prune {prune['schedule']} {step} down to "
        f"{prune['min_hidden']}, A on the {fit['eval_split']} split, seeds {cfg['seeds']}. "
        f"Configured reading: S {fit['stability']}, E {fit['mean_weight']}.",
        "",
        "Each verdict is `holds`, `fails` or `inconclusive` from one-sided tests at 0.025 each way on one value per seed "
        "(the seed is the unit), shown with its n, its p, the smallest p that n allows and the interval that inverts "
        f"the tests (docs/method.md); with fewer than {MIN_SEEDS} seeds no test can reach 0.025 and every verdict is "
        f"`inconclusive (n < {MIN_SEEDS})`.",
        "",
    ]
    if ev["unpruned_acc"] is not None:
        t = cfg["transfer"]
        classes = cfg["classes"][t["classes"]]
        lines += [
            f"Un-pruned {spec.input_size}-{cfg['hidden_init']}-{len(classes)} network on {t['samples']:,} samples "
            f"of {spec.describe(classes)}: test accuracy "
            f"**{ev['unpruned_acc']:.2%}** (mean of {ev['unpruned_acc_seeds']} seeds)"
            + (f" beside the paper's {PAPER_UNPRUNED_ACC:.2%}." if spec.name == "mnist" else " (the paper reports MNIST only)."),
            "",
        ]
    return lines


def _verdicts(ev: dict[str, Any], texts: Mapping[str, str]) -> list[str]:
    lines = ["## Verdicts", "", "| claim | " + " | ".join(f"S {s}, E {e}" for s, e in READINGS) + " |", "|---|" + "---|" * len(READINGS)]
    for c in ("claim1", "claim2", "claim3"):
        lines.append(f"| {c[-1]} | " + " | ".join(_cell(ev["readings"][r][c]) for r in READINGS) + " |")
    lines.append("| 4 | " + " | ".join(_cell(ev["claim4"]) if r == ev["configured"] else "n/a (not transferred)" for r in READINGS) + " |")
    lines += [
        "",
        "Claim 4 is measured with the network selected under the configured reading; the other readings "
        "select other networks, which were not transferred.",
        "",
    ]
    for c in ("claim1", "claim2", "claim3"):
        lines += [f"## Claim {c[-1]}: {texts[c]}", ""]
        lines += [f"- S {r[0]}, E {r[1]}: **{ev['readings'][r][c].verdict}**: {ev['readings'][r][c].text}" for r in READINGS]
        lines.append("")
    return lines


def _claim4(ev: dict[str, Any], texts: Mapping[str, str]) -> list[str]:
    lines = [
        f"## Claim 4: {texts['claim4']}",
        "",
        f"As a whole: **{ev['claim4'].verdict}** (it holds only where it holds against every control for both draws; "
        "it fails where Holm's procedure over every control and draw rejects a comparison in the other direction). "
        f"{ev['claim4'].text}.",
        "Each control minus the developed network, paired by seed; the primary statistic is the area under the error on the "
        "new samples (trapezoid rule over the logged steps, divided by the steps).",
        "",
    ]
    for control, draws in ev["claim4_controls"].items():
        lines += [f"- {control} ({CONTROL_TEXT[control]}), {n:,} new samples: **{c.verdict}**: {c.text}" for n, c in draws.items()]
    return [*lines, ""]


def _task_transfer(ev: dict[str, Any], cfg: Mapping[str, Any], spec: DatasetSpec) -> list[str]:
    if not ev["task_transfer_controls"]:
        return []
    tt = cfg["task_transfer"]
    lines = [
        "## Beyond the paper: transfer to another task",
        "",
        f"The networks of {spec.describe(cfg['classes'][tt['from']])} get a new output layer and learn "
        f"{spec.describe(tt['to'])} (the hidden layer kept); the same comparison as claim 4, each network minus the "
        f"developed one, paired by seed. As a whole: **{ev['task_transfer'].verdict}**.",
        "",
    ]
    for control, draws in ev["task_transfer_controls"].items():
        lines += [
            f"- {control} ({TASK_CONTROL_TEXT[control]}), {n:,} samples of the new {spec.class_word}s: **{c.verdict}**: {c.text}"
            for n, c in draws.items()
        ]
    return [*lines, ""]


def render(ev: dict[str, Any], cfg: Mapping[str, Any], spec: DatasetSpec) -> str:
    """claims.md from evaluate_claims' result and the config it was run with."""
    texts = claim_text(cfg)
    lines = _header(ev, cfg, spec) + _verdicts(ev, texts) + _claim4(ev, texts) + _task_transfer(ev, cfg, spec)
    return "\n".join(lines)
