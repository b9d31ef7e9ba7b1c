"""The paper's four claims (docs/method.md) checked against the recorded curves, under each of
the four readings of S and E (F is recomputed from the recorded columns: no extra training), each
with a verdict `holds` / `fails` / `inconclusive` from its uncertainty over seeds
(bdnn.analysis.stats). Tables in, verdicts out: no files, no text beyond each verdict's evidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from bdnn.analysis.peaks import run_peaks
from bdnn.analysis.stats import (
    ALPHA,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    bootstrap_interval,
    interval_verdict,
    mean_interval,
    paired_verdict,
    sign_flip_p,
    spearman,
    wilson_interval,
    with_seed_floor,
)
from bdnn.method.names import CONTROLS, MEAN_WEIGHT_MODES, STABILITY_MODES
from bdnn.method.settings import FitnessSettings

PAPER_UNPRUNED_ACC = 0.8872
READINGS = list(product(STABILITY_MODES, MEAN_WEIGHT_MODES))
THRESHOLD = 0.8  # claims 1 and 2: the share of interior peaks and the Spearman must reach it


@dataclass(frozen=True)
class Claim:
    """A claim's verdict, its point statistic, interval and p-value where there is one, and the
    evidence in words."""

    verdict: str
    statistic: float | int | None
    interval: tuple[float, float] | None
    p: float | None
    text: str
    n: int | None = None  # the seeds (or runs) the statistic is over
    left_out: int = 0  # seeds left out (a control that missed its target)


def peaks(curves: pd.DataFrame, fit: FitnessSettings, stability: str, mean_weight: str) -> pd.DataFrame:
    """Per run: the F peak (first argmax over pruning iterations) under one S/E reading and the
    configured weights."""
    return run_peaks(curves, replace(fit, stability=stability, mean_weight=mean_weight))


def _verdict(verdict: str, n_seeds: int) -> str:
    return with_seed_floor(verdict, n_seeds)


def claim1(big: pd.DataFrame, n_seeds: int) -> Claim:
    """Share of runs whose F peak is interior, with its 95% Wilson interval (threshold 0.8)."""
    k, n = int(big["interior"].sum()), len(big)
    lo, hi = wilson_interval(k, n)
    text = f"{k} of {n} runs ({k / n:.0%}) peak inside the curve, 95% Wilson interval [{lo:.2f}, {hi:.2f}] (S's own peak: {big['S_interior'].mean():.0%})"
    return Claim(_verdict(interval_verdict(lo, hi, THRESHOLD), n_seeds), k / n, (lo, hi), None, text)


def claim2(big: pd.DataFrame, n_seeds: int, rng: np.random.Generator, what: str = "size at the peak") -> Claim:
    """Spearman between sample count and the mean `hidden` (the size at the peak; the study also
    passes the trainable range), with a 95% bootstrap interval (seeds resampled within each
    count); threshold 0.8."""
    groups = {s: g["hidden"].to_numpy() for s, g in big.groupby("samples")}
    if len(groups) < 2:
        return Claim("n/a", None, None, None, "needs at least two sample counts")

    def rho(g: Mapping[float, np.ndarray]) -> float:
        keys = sorted(g)
        return spearman(keys, [g[k].mean() for k in keys])

    point = rho(groups)
    lo, hi = bootstrap_interval(groups, rho, rng)
    sizes = ", ".join(f"{s}: {v.mean():.1f}" for s, v in sorted(groups.items()))
    text = f"Spearman {point:+.2f}, 95% bootstrap interval [{lo:+.2f}, {hi:+.2f}]; mean {what}: {sizes}"
    return Claim(_verdict(interval_verdict(lo, hi, THRESHOLD), n_seeds), point, (lo, hi), None, text)


def claim3(big: pd.DataFrame, small: pd.DataFrame, n_seeds: int, rng: np.random.Generator) -> Claim:
    """The count rule (smaller at every count, or all but one, by the mean over seeds) and a
    one-sided sign-flip test on the paired differences (big minus small, same seed and count)."""
    if not len(small):
        return Claim("n/a", None, None, None, "no subset with fewer classes in the config")
    pairs = big.merge(small, on=["samples", "seed"], suffixes=("_big", "_small"))
    big_mean, small_mean = pairs.groupby("samples")["hidden_big"].mean(), pairs.groupby("samples")["hidden_small"].mean()
    wins, counts = int((small_mean < big_mean).sum()), len(big_mean)
    if counts < 2:  # "every count, or all but one" needs at least two counts to say anything
        return Claim("n/a", None, None, None, f"needs at least two sample counts run for both subsets (have {counts})")
    rule = wins >= counts - 1
    diffs = (pairs["hidden_big"] - pairs["hidden_small"]).to_numpy(float)
    p = sign_flip_p(diffs, rng)
    verdict = FAILS if not rule else (HOLDS if p < ALPHA else INCONCLUSIVE)
    text = (
        f"smaller at {wins} of {counts} sample counts; sign-flip p = {p:.3g} over {len(diffs)} pairs "
        f"(mean difference {diffs.mean():+.1f} neurons); "
        + ", ".join(f"{s}: {small_mean[s]:.1f} vs {big_mean[s]:.1f}" for s in big_mean.index)
    )
    return Claim(_verdict(verdict, n_seeds), wins, None, p, text)


NOT_REACHED = "n/a (the control did not reach the target accuracy)"


def claim4_control(pairs: pd.DataFrame) -> Claim:
    """One control against the developed network on one draw of new samples. `pairs` has one row
    per seed: the area under error_new of the control (`auc_control`) and of the developed network
    (`auc_pruned`), and whether the control reached its target (seeds where it did not are left
    out and counted). Sign-flip tests in both directions on control minus developed, and a 95%
    bootstrap interval of the mean difference (random draws seeded per comparison, so a figure
    that draws one comparison shows the same numbers); final and best test errors beside."""
    rng = np.random.default_rng(0)
    valid = pairs[pairs["reached_target"].astype(bool)]
    left_out = len(pairs) - len(valid)
    note = f"; {left_out} seed(s) left out (target not reached)" if left_out else ""
    if not len(valid):
        return Claim(NOT_REACHED, None, None, None, f"no seed reached the target{note}", 0, left_out)
    d = (valid["auc_control"] - valid["auc_pruned"]).to_numpy(float)
    p_paper, p_reverse = sign_flip_p(d, rng), sign_flip_p(-d, rng)
    lo, hi = mean_interval(d, rng)
    final = (valid["final_error_test_control"] - valid["final_error_test_pruned"]).mean()
    best = (valid["best_error_test_control"] - valid["best_error_test_pruned"]).mean()
    text = (
        f"mean error on the new samples {valid['auc_control'].mean():.4f} vs developed {valid['auc_pruned'].mean():.4f}: "
        f"difference {d.mean():+.4f}, 95% interval [{lo:+.4f}, {hi:+.4f}], p = {p_paper:.3g} (reverse {p_reverse:.3g}), "
        f"{len(d)} seeds{note}; test error after transfer {final:+.4f}, best test error {best:+.4f} (control minus developed)"
    )
    verdict = with_seed_floor(paired_verdict(p_paper, p_reverse), len(d))
    return Claim(verdict, float(d.mean()), (lo, hi), p_paper, text, len(d), left_out)


def claim4(transfer_summary: pd.DataFrame) -> tuple[Claim, dict[str, dict[int, Claim]]]:
    """Claim 4 against every control and draw (claim4_control), and as a whole: it holds only where
    it holds against every control for both draws, fails where any comparison fails."""
    ts = transfer_summary
    if not len(ts) or "pruned" not in set(ts["network"]):
        return Claim("n/a", None, None, None, "no transfer results"), {}
    cols = ["seed", "new_samples", "auc_error_new", "final_error_test", "best_error_test"]
    pruned = ts[ts["network"] == "pruned"][cols]
    per: dict[str, dict[int, Claim]] = {}
    for control in [c for c in CONTROLS if c in set(ts["network"])]:
        mine = ts[ts["network"] == control][[*cols, "reached_target"]]
        pairs = mine.merge(pruned, on=["seed", "new_samples"], suffixes=("_control", "_pruned"))
        pairs = pairs.rename(columns={"auc_error_new_control": "auc_control", "auc_error_new_pruned": "auc_pruned"})
        per[control] = {int(n): claim4_control(g) for n, g in pairs.groupby("new_samples")}
    verdicts = [c.verdict for draws in per.values() for c in draws.values()]
    if not verdicts:
        return Claim("n/a", None, None, None, "no control was transferred"), per
    if all(v == HOLDS for v in verdicts):
        overall = HOLDS
    elif any(v == FAILS for v in verdicts):
        overall = FAILS
    else:
        overall = next((v for v in verdicts if v.startswith(INCONCLUSIVE)), INCONCLUSIVE)
    summary = "; ".join(f"{control}: " + ", ".join(f"{n}: {c.verdict}" for n, c in draws.items()) for control, draws in per.items())
    return Claim(overall, None, None, None, summary), per


def evaluate_claims(
    curves: pd.DataFrame,
    transfer_summary: pd.DataFrame,
    fit: FitnessSettings,
    transfer_run: tuple[str, int],
    task_transfer_summary: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Evidence and verdicts for claims 1-3 under each reading, and claim 4 (against every
    control) under the configured one: the only reading whose developed network was transferred.
    `transfer_run` is the (class subset, sample count) of the transferred develop runs."""
    full = int(curves["n_classes"].max())
    out: dict[str, Any] = {"readings": {}}
    for s_mode, e_mode in READINGS:
        p = peaks(curves, fit, s_mode, e_mode)
        big, small = p[p["n_classes"] == full], p[p["n_classes"] < full]
        n_seeds = int(big["seed"].nunique())
        rng = np.random.default_rng(0)
        out["readings"][(s_mode, e_mode)] = {
            "claim1": claim1(big, n_seeds),
            "claim2": claim2(big, n_seeds, rng),
            "claim3": claim3(big, small, n_seeds, rng),
        }
    out["claim4"], out["claim4_controls"] = claim4(transfer_summary)
    # beyond the paper: the same comparison for the transfer to another task (where it ran)
    tts = task_transfer_summary if task_transfer_summary is not None else pd.DataFrame()
    out["task_transfer"], out["task_transfer_controls"] = claim4(tts)
    out["configured"] = (fit.stability, fit.mean_weight)
    classes, samples = transfer_run
    base = curves[(curves["iteration"] == 0) & (curves["classes"] == classes) & (curves["samples"] == samples)]
    out["unpruned_acc"] = float(base["test_acc"].mean()) if len(base) else None
    out["unpruned_acc_seeds"] = len(base)
    return out


def as_data(ev: dict[str, Any]) -> dict[str, Any]:
    """The verdicts and statistics as plain JSON data (claims.json)."""
    return {
        "readings": {f"S {s}, E {e}": {c: asdict(claim) for c, claim in r.items()} for (s, e), r in ev["readings"].items()},
        "configured_reading": f"S {ev['configured'][0]}, E {ev['configured'][1]}",
        "claim4": asdict(ev["claim4"]),
        "claim4_controls": {ctl: {str(n): asdict(c) for n, c in draws.items()} for ctl, draws in ev["claim4_controls"].items()},
        "task_transfer": asdict(ev["task_transfer"]),
        "task_transfer_controls": {ctl: {str(n): asdict(c) for n, c in d.items()} for ctl, d in ev["task_transfer_controls"].items()},
        "unpruned_acc": ev["unpruned_acc"],
    }
