"""The paper's four claims (docs/method.md) checked against the recorded curves, under each of
the four readings of S and E (F is recomputed from the recorded columns: no extra training), each
with a verdict `holds` / `fails` / `inconclusive` from its uncertainty over seeds
(bdnn.analysis.stats). Tables in, verdicts out: no files, no text beyond each verdict's evidence."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from bdnn.analysis import rules
from bdnn.analysis.peaks import run_peaks
from bdnn.analysis.rules import THRESHOLD
from bdnn.analysis.stats import (
    INCONCLUSIVE,
    MIN_SEEDS,
    Test,
    describe,
    format_p,
    holm_adjusted,
    mean_test,
    share_test,
    spearman,
    with_seed_floor,
    word,
)
from bdnn.method.names import CONTROLS, MEAN_WEIGHT_MODES, STABILITY_MODES
from bdnn.method.settings import FitnessSettings

PAPER_UNPRUNED_ACC = 0.8872
READINGS = list(product(STABILITY_MODES, MEAN_WEIGHT_MODES))


@dataclass(frozen=True)
class Claim:
    """A claim's verdict, its point statistic, interval and p-value where there is one, and the
    evidence in words."""

    verdict: str
    statistic: float | int | None
    interval: tuple[float, float] | None
    p: float | None
    text: str
    n: int | None = None  # the seeds the statistic is over
    left_out: int = 0  # seeds left out (a control that missed its target)
    p_reverse: float | None = None  # the test against the claim's direction
    p_min: float | None = None  # the smallest p the n allows (0: no floor)

    def data(self) -> dict[str, Any]:
        """As plain JSON data: an unbounded interval side (too few seeds) as None."""
        out = asdict(self)
        if self.interval is not None:
            out["interval"] = [float(v) if np.isfinite(v) else None for v in self.interval]
        return out


def peaks(curves: pd.DataFrame, fit: FitnessSettings, stability: str, mean_weight: str) -> pd.DataFrame:
    """Per run: the F peak (first argmax over pruning iterations) under one S/E reading and the
    configured weights."""
    return run_peaks(curves, replace(fit, stability=stability, mean_weight=mean_weight))


def _interval(test: Test) -> tuple[float, float]:
    return (test.low, test.high)


def _bounds(test: Test, fmt: str = "+.2f") -> str:
    def one(v: float) -> str:
        return "unbounded" if not np.isfinite(v) else format(v, fmt)

    return f"[{one(test.low)}, {one(test.high)}]"


def _seed_table(big: pd.DataFrame, column: str) -> pd.DataFrame:
    """seed x samples table of `column`, only seeds that ran at every count."""
    table = big.pivot_table(index="seed", columns="samples", values=column, aggfunc="first")
    return table.dropna()


def claim1(big: pd.DataFrame) -> Claim:
    """Per seed, the share of its runs whose F peak is interior; the share test of their mean
    against THRESHOLD (bdnn.analysis.stats.share_test: the hull of a t and a Wilson interval)."""
    table = _seed_table(big.assign(interior=big["interior"].astype(float)), "interior")
    n, runs = len(table), table.shape[1]
    if n < 2:
        return Claim(with_seed_floor(INCONCLUSIVE, n), None, None, None, f"{n} seed(s): no interval", n)
    shares = table.to_numpy(float).mean(axis=1)
    test = share_test(shares, runs, THRESHOLD)
    verdict = with_seed_floor(word(int(rules.claim1(shares[None, :], runs)[0])), n)
    k = int(table.to_numpy().sum())
    text = (
        f"{k} of {n * runs} runs ({k / (n * runs):.0%}) peak inside the curve; mean share over {n} seeds {test.estimate:.2f}, "
        f"interval {_bounds(test, '.2f')}, {describe(test)} (S's own peak: {big['S_interior'].mean():.0%})"
    )
    return Claim(verdict, test.estimate, _interval(test), test.p_up, text, n, 0, test.p_down, test.p_min)


def claim2(big: pd.DataFrame, what: str = "size at the peak", cap: float | None = None) -> Claim:
    """Per seed, the Spearman between sample count and `hidden` (the size at the peak; the study
    also passes the widest trainable width, capped at `cap`); holds where the Spearman of the
    centre over seeds (the mean; the median for a capped statistic) reaches THRESHOLD and the
    sign-flip test of the per-seed Spearmans rejects upwards, fails where it rejects downwards.
    A capped statistic is censored at a count where half or more of the seeds sit at the cap; the
    trend is read on the other counts, and is n/a where fewer than 4 remain."""
    table = _seed_table(big, "hidden")
    if table.shape[1] < 2:
        return Claim("n/a", None, None, None, "needs at least two sample counts")
    censored_note = ""
    counts, sizes = np.asarray(table.columns, float), table.to_numpy(float)
    if cap is None:
        centre, direction = "mean", int(rules.claim2(counts, sizes[None])[0])
    else:
        centre, direction = "median", int(rules.claim2_censored(counts, sizes[None], cap)[0])
        keep = rules.uncensored(sizes[None], cap)[0]
        k, total = int((~keep).sum()), len(keep)
        censored_note = f"; censored at {k} of {total} counts (half or more of the seeds at {cap:g})" if k else ""
        if k and keep.sum() < rules.MIN_COUNTS:
            return Claim(f"n/a (censored at {k} of {total} counts)", None, None, None,
                         f"half or more of the seeds reach the cap of {cap:g} at {k} of {total} counts", len(table))  # fmt: skip
        counts, sizes = counts[keep], sizes[:, keep]
    per_seed = rules.seed_spearmans(counts, sizes[None])[0]
    middle = np.median(sizes, axis=0) if centre == "median" else sizes.mean(axis=0)
    rho = spearman(counts, middle)
    test = mean_test(per_seed)
    n = len(table)
    verdict = with_seed_floor(word(direction), n)
    listing = ", ".join(f"{int(c)}: {v:.1f}" for c, v in zip(counts, middle, strict=True))
    text = (
        f"Spearman of the {centre}s {rho:+.2f} (needs >= {THRESHOLD}); mean per-seed Spearman {test.estimate:+.2f}, "
        f"interval {_bounds(test)}, {describe(test)} (shrinking: p = {format_p(test.p_down, test)}); {centre} {what}: {listing}{censored_note}"
    )
    return Claim(verdict, rho, _interval(test), test.p_up, text, n, 0, test.p_down, test.p_min)


def claim3(big: pd.DataFrame, small: pd.DataFrame) -> Claim:
    """The count rule (smaller at every count, or all but one, by the means over seeds) and the
    sign-flip test of the per-seed mean over counts of (big minus small), each way."""
    if not len(small):
        return Claim("n/a", None, None, None, "no subset with fewer classes in the config")
    subset_note = ""
    if "classes" in small and small["classes"].nunique() > 1:  # one smaller subset: the first of the config's
        first = small["classes"].iloc[0]
        subset_note = f" (subset {first}; the other smaller subsets are not compared)"
        small = small[small["classes"] == first]
    pairs = big.merge(small, on=["samples", "seed"], suffixes=("_big", "_small"))
    diff = _seed_table(pairs.assign(hidden=pairs["hidden_big"] - pairs["hidden_small"]), "hidden")
    counts = diff.shape[1]
    if counts < 2:  # "every count, or all but one" needs at least two counts to say anything
        return Claim("n/a", None, None, None, f"needs at least two sample counts run for both subsets (have {counts})")
    pairs = pairs[pairs["seed"].isin(diff.index)]  # the seeds the rule uses: those run at every count
    big_mean, small_mean = pairs.groupby("samples")["hidden_big"].mean(), pairs.groupby("samples")["hidden_small"].mean()
    d = diff.to_numpy(float)
    wins = int((d.mean(axis=0) > 0).sum())
    test = mean_test(d.mean(axis=1))
    n = len(diff)
    direction = int(rules.claim3(d[None, :, :])[0])
    verdict = with_seed_floor(word(direction), n)
    miss = (
        ""
        if wins >= counts - 1
        else " (the count rule misses" + ("" if direction == -1 else ", without a significant reverse effect") + ")"
    )
    text = (
        f"smaller at {wins} of {counts} sample counts{miss}; mean per-seed difference {test.estimate:+.1f} neurons, "
        f"interval {_bounds(test, '+.1f')}, {describe(test)} (reverse p = {format_p(test.p_down, test)}); "
        + ", ".join(f"{s}: {small_mean[s]:.1f} vs {big_mean[s]:.1f}" for s in big_mean.index)
        + subset_note
    )
    return Claim(verdict, float(test.estimate), _interval(test), test.p_up, text, n, 0, test.p_down, test.p_min)


NOT_REACHED = "n/a (the control did not reach the target accuracy)"


def claim4_control(pairs: pd.DataFrame) -> Claim:
    """One control against the developed network on one draw of new samples. `pairs` has one row
    per seed: the area under error_new of the control (`auc_control`) and of the developed network
    (`auc_pruned`), and whether the control reached its target (seeds where it did not are left
    out and counted). The sign-flip test each way on control minus developed and its inverted
    interval; final and best test errors beside, with their own tests and intervals."""
    valid = pairs[pairs["reached_target"].astype(bool)]
    left_out = len(pairs) - len(valid)
    note = f"; {left_out} seed(s) left out (target not reached)" if left_out else ""
    if not len(valid):
        return Claim(NOT_REACHED, None, None, None, f"no seed reached the target{note}", 0, left_out)
    d = (valid["auc_control"] - valid["auc_pruned"]).to_numpy(float)
    test = mean_test(d)
    secondary = []
    for name in ("final", "best"):
        t = mean_test((valid[f"{name}_error_test_control"] - valid[f"{name}_error_test_pruned"]).to_numpy(float))
        secondary.append(f"{name} test error {t.estimate:+.4f} {_bounds(t, '+.4f')} ({word(t.direction()) if t.n >= MIN_SEEDS else 'n < 6'}, "
                         f"p = {format_p(t.p_up, t)}, reverse {format_p(t.p_down, t)})")  # fmt: skip
    text = (
        f"mean error on the new samples {valid['auc_control'].mean():.4f} vs developed {valid['auc_pruned'].mean():.4f}: "
        f"difference {test.estimate:+.4f}, interval {_bounds(test, '+.4f')}, {describe(test)} (reverse {format_p(test.p_down, test)}){note}; "
        f"control minus developed: " + "; ".join(secondary)
    )
    verdict = with_seed_floor(word(int(rules.comparison(d[None, :])[0])), len(d))
    return Claim(verdict, test.estimate, _interval(test), test.p_up, text, len(d), left_out, test.p_down, test.p_min)


def claim4(transfer_summary: pd.DataFrame) -> tuple[Claim, dict[str, dict[int, Claim]]]:
    """Claim 4 against every control and draw (claim4_control), and as a whole: it holds only where
    it holds against every control for both draws; it fails where Holm's procedure over every
    comparison (control x draw) rejects one in the other direction at ALPHA; inconclusive
    otherwise: rules.whole on the comparisons' tests, whose seeds may differ (a control that missed
    its target leaves seeds out; a comparison with fewer than MIN_SEEDS seeds cannot hold)."""
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
    tested = [(f"{control} {n:,}", c) for control, draws in per.items() for n, c in draws.items() if c.p is not None]
    if not tested:
        return Claim("n/a", None, None, None, "no control was transferred"), per
    n_min = min(c.n or 0 for _, c in tested)
    adjusted = holm_adjusted(np.array([c.p_reverse for _, c in tested]))
    # a comparison too small to hold cannot hold; nor can the whole where a control was never tested
    p_up = np.array([c.p if (c.n or 0) >= MIN_SEEDS else 1.0 for _, c in tested])
    direction = int(rules.whole(p_up, np.array([c.p_reverse for _, c in tested])))
    if direction == 1 and len(tested) < sum(len(d) for d in per.values()):
        direction = 0
    overall = word(direction) if direction else with_seed_floor(INCONCLUSIVE, n_min)
    summary = "; ".join(
        f"{name}: {c.verdict} (p = {c.p:.3g}, reverse Holm-adjusted {a:.3g})" for (name, c), a in zip(tested, adjusted, strict=True)
    )
    summary += f"; {len(tested)} comparisons, the fewest seeds {n_min}"
    return Claim(overall, None, None, None, summary, n_min), per


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
        out["readings"][(s_mode, e_mode)] = {"claim1": claim1(big), "claim2": claim2(big), "claim3": claim3(big, small)}
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
        "readings": {f"S {s}, E {e}": {c: claim.data() for c, claim in r.items()} for (s, e), r in ev["readings"].items()},
        "configured_reading": f"S {ev['configured'][0]}, E {ev['configured'][1]}",
        "claim4": ev["claim4"].data(),
        "claim4_controls": {ctl: {str(n): c.data() for n, c in draws.items()} for ctl, draws in ev["claim4_controls"].items()},
        "task_transfer": ev["task_transfer"].data(),
        "task_transfer_controls": {ctl: {str(n): c.data() for n, c in d.items()} for ctl, d in ev["task_transfer_controls"].items()},
        "unpruned_acc": ev["unpruned_acc"],
    }
