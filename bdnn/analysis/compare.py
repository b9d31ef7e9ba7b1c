"""The comparison a pruning reviewer asks for (issue 19, `make compare`): BDNN-sp's Eq. 1 against
the standard criteria and networks trained from scratch, at the operating widths of the trade-off
curves (test accuracy against remaining hidden neurons).

Per baseline, per seed, the mean over the sample counts and the operating widths of (A under
Eq. 1 - A under the baseline) is one value; the baselines of one dataset are one family: each is
judged by sign-flip tests each way with Holm's procedure over the family (bdnn.analysis.rules.family),
and shown with its Hartigan interval at the Bonferroni level (simultaneous over the family).
Tables in, verdicts out: no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from bdnn.analysis import rules
from bdnn.analysis.peaks import run_peaks
from bdnn.analysis.stats import ALPHA, hartigan_interval, holm_adjusted, sign_flip_p, with_seed_floor, word
from bdnn.analysis.verdicts import Claim, claim1, claim2, claim3
from bdnn.method.scratch import nearest
from bdnn.method.settings import FitnessSettings

OPERATING_WIDTHS = (500, 200, 100, 50, 20)  # the trade-off curves' operating points (nearest recorded width)
REFERENCE = "eq1"
RUN = ["criterion", "samples", "seed"]  # what identifies one curve (one dataset and class subset at a time)


def operating_points(curves: pd.DataFrame, widths: Sequence[int] = OPERATING_WIDTHS) -> pd.DataFrame:
    """Per curve (criterion, sample count, seed) and operating width: the pruning iteration whose
    width is nearest the target (the larger width on a tie, i.e. the earlier iteration), with its
    test accuracy. Columns: RUN, target, iteration, hidden, test_acc."""
    pruning = curves[curves["iteration"] > 0]
    rows = []
    for key, g in pruning.groupby(RUN, sort=True):
        g = g.sort_values("iteration")
        for target in widths:
            row = g.iloc[nearest(g["hidden"].tolist(), target)]  # the scratch networks' rule (bdnn.method.scratch)
            rows.append({**dict(zip(RUN, key, strict=True)), "target": target, "iteration": int(row["iteration"]),
                         "hidden": int(row["hidden"]), "test_acc": float(row["test_acc"])})  # fmt: skip
    return pd.DataFrame(rows, columns=[*RUN, "target", "iteration", "hidden", "test_acc"])


def baseline_differences(points: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Per seed (rows) and baseline (columns): the mean over sample counts and operating widths of
    (the reference's test accuracy - the baseline's), paired by sample count, seed and width. A seed
    that lacks any pair of a baseline is left out of that baseline (NaN)."""
    wide = points.pivot_table(index=["seed", "samples", "target"], columns="criterion", values="test_acc")
    if reference not in wide:
        raise ValueError(f"no runs of the reference criterion {reference!r}")
    diffs = wide.drop(columns=reference).rsub(wide[reference], axis=0)
    complete = diffs.groupby(level="seed").apply(lambda g: g.notna().all())
    out = diffs.groupby(level="seed").mean()
    return out.where(complete)


def judge(differences: pd.DataFrame, alpha: float = ALPHA) -> dict[str, Claim]:
    """The family's verdicts: per baseline (column) holds where Eq. 1 is better (Holm over the
    family's upward tests), fails where the baseline is better (Holm downwards): rules.family, the
    rule tests/test_calibration.py measures; p and p_reverse are Holm-adjusted; the interval is Hartigan's at alpha / m each way. Seeds are the rows
    complete for every baseline (the same seeds for the whole family)."""
    d = differences.dropna()
    names, n, m = list(d.columns), len(d), d.shape[1]
    if m == 0:
        return {}
    values = d.to_numpy().T  # (m, n)
    p_up, p_down = sign_flip_p(values)
    adj_up, adj_down = holm_adjusted(p_up), holm_adjusted(p_down)
    low, high = hartigan_interval(values, alpha=alpha / m)
    p_min = 1 / 2**n if n else 1.0
    directions = rules.family(values.T[None], alpha)[0] if n else [0] * m  # the calibrated rule decides
    out = {}
    for i, name in enumerate(names):
        direction = int(directions[i])
        verdict = with_seed_floor(word(direction), n)
        mean = float(values[i].mean()) if n else float("nan")
        text = (
            f"Eq. 1 minus {name}: {mean * 100:+.2f} pp of test accuracy (mean over seeds of each seed's mean over the sample "
            f"counts and operating widths), interval [{low[i] * 100:+.2f}, {high[i] * 100:+.2f}] pp at the Bonferroni level "
            f"{alpha / m:.3g} each way, n = {n}, Holm-adjusted p = {adj_up[i]:.3g} (reverse {adj_down[i]:.3g}) over {m} baselines"
        )
        out[name] = Claim(verdict, mean, (float(low[i]), float(high[i])), float(adj_up[i]), text, n, int(len(differences) - n),
                          float(adj_down[i]), min(1.0, m * p_min))  # fmt: skip
    return out


SCRATCH = "scratch"  # the baseline of networks trained from scratch at the operating widths
POINT_COLUMNS = [*RUN, "target", "iteration", "hidden", "test_acc"]


def scratch_points(scratch: pd.DataFrame) -> pd.DataFrame:
    """The scratch networks (rows of scratch.csv: seed, samples, target, iteration, hidden, ...,
    test_acc) as the points of a baseline named "scratch"."""
    return scratch.assign(criterion=SCRATCH)[POINT_COLUMNS]


def peaks_by_criterion(curves: pd.DataFrame, fit: FitnessSettings) -> dict[str, dict[str, Any]]:
    """Where each criterion puts the F peak (curves with a `criterion` column): the mean size at
    the peak per sample count and claim 1 (an interior peak) on these runs."""
    out = {}
    for name, g in curves.groupby("criterion", sort=False):
        p = run_peaks(g.drop(columns="criterion"), fit)
        out[str(name)] = {"size_at_peak": {str(s): float(v) for s, v in p.groupby("samples")["hidden"].mean().items()},
                          "claim1": claim1(p)}  # fmt: skip
    return out


def develop_claims(curves: pd.DataFrame, fit: FitnessSettings) -> dict[str, Claim]:
    """Claims 1-3 under the configured reading on one dataset's sweep (both class subsets)."""
    p = run_peaks(curves, fit)
    full = int(p["n_classes"].max())
    big, small = p[p["n_classes"] == full], p[p["n_classes"] < full]
    return {"claim1": claim1(big), "claim2": claim2(big), "claim3": claim3(big, small)}


def claim5(harder: pd.DataFrame, easier: pd.DataFrame, names: tuple[str, str]) -> Claim:
    """Claim 5 (the abstract's): on the harder task the developed network is larger. Claim 3's
    rule on per-seed differences (harder minus easier) of the size at the F peak, run peaks of one
    class subset of each dataset at the same sample counts and seeds (`names`: harder, easier)."""
    c = claim3(harder, easier)
    if c.statistic is None:
        return c
    text = f"{names[1]}'s developed network smaller than {names[0]}'s: {c.text} ({names[1]} vs {names[0]})"
    return replace(c, text=text)
