"""The comparison against the baselines (bdnn.analysis.compare) on hand-made curves: the operating
points, the per-seed differences, and the family's Holm verdicts computed by hand."""

import numpy as np
import pandas as pd
import pytest

from bdnn.analysis.compare import baseline_differences, judge, operating_points

WIDTHS = [1000, 510, 490, 210, 100, 60, 40, 20, 10]  # iteration 0 is the un-pruned network


def curves(accuracy, seeds=range(8), samples=(1200, 9600)) -> pd.DataFrame:
    """One curve per criterion, count and seed; accuracy(criterion, samples, seed, width)."""
    rows = []
    for criterion in ("eq1", "magnitude", "random"):
        for s in samples:
            for seed in seeds:
                for it, h in enumerate(WIDTHS):
                    rows.append({"criterion": criterion, "samples": s, "seed": seed, "iteration": it, "hidden": h,
                                 "test_acc": accuracy(criterion, s, seed, h)})  # fmt: skip
    return pd.DataFrame(rows)


def test_operating_points_take_the_nearest_recorded_width_the_earlier_on_a_tie():
    points = operating_points(curves(lambda c, s, seed, h: h / 1000, seeds=[0], samples=[1200]), widths=(500, 200, 50, 1000))
    eq1 = points[points["criterion"] == "eq1"].set_index("target")
    # 500: 510 and 490 are both 10 away, the earlier (510) wins; 200 -> 210; 50: 60 and 40, the earlier;
    # 1000: the un-pruned network is not a pruning iteration, so the nearest pruned width (510)
    assert eq1["hidden"].to_dict() == {500: 510, 200: 210, 50: 60, 1000: 510}
    assert eq1.loc[200, "iteration"] == 3 and eq1.loc[200, "test_acc"] == pytest.approx(0.21)


def test_differences_are_per_seed_means_over_counts_and_widths():
    # Eq. 1 at 0.9; magnitude 0.01 x (seed + 1) lower at 1,200 samples and equal at 9,600; random 0.5 everywhere
    def acc(c, s, seed, h):
        return {"eq1": 0.9, "magnitude": 0.9 - (0.01 * (seed + 1) if s == 1200 else 0.0), "random": 0.5}[c]

    d = baseline_differences(operating_points(curves(acc)))
    assert list(d.columns) == ["magnitude", "random"] and list(d.index) == list(range(8))
    assert d["magnitude"].to_numpy() == pytest.approx(0.005 * np.arange(1, 9))  # half the counts at 0.01 (seed + 1)
    assert d["random"].to_numpy() == pytest.approx([0.4] * 8)
    # a seed missing one pair of a baseline is left out of that baseline
    short = operating_points(curves(acc))
    short = short.drop(short[(short["criterion"] == "random") & (short["seed"] == 3) & (short["target"] == 20)].index)
    assert np.isnan(baseline_differences(short).loc[3, "random"]) and not np.isnan(baseline_differences(short).loc[3, "magnitude"])


def test_the_family_verdicts_by_hand():
    """8 seeds, two baselines. Eq. 1 better than magnitude on every seed: the exact one-sided p is
    1/256, Holm over 2 gives 2/256 <= 0.025: holds. Random better than Eq. 1 on every seed: fails.
    With a third, null baseline the family is 3, and the others are still decided (3/256)."""
    d = pd.DataFrame({"magnitude": 0.01 * np.arange(1, 9), "random": -0.02 * np.arange(1, 9)}, index=range(8))
    verdicts = judge(d)
    assert verdicts["magnitude"].verdict == "holds" and verdicts["magnitude"].p == pytest.approx(2 / 256)
    assert verdicts["random"].verdict == "fails" and verdicts["random"].p_reverse == pytest.approx(2 / 256)
    assert verdicts["magnitude"].statistic == pytest.approx(0.045) and verdicts["magnitude"].n == 8
    # Hartigan at 0.025 / 2: k = floor(0.0125 x 256) = 3, the 3rd smallest and 3rd largest of the 255 subset means of
    # 0.01 .. 0.08: 0.01, 0.015 ({1, 2}), 0.02 ({2} and {1, 2, 3}) and 0.08, 0.075 ({7, 8}), 0.07 ({7} and {6, 7, 8})
    assert verdicts["magnitude"].interval == pytest.approx((0.02, 0.07))
    d["taylor"] = [0.01, -0.01] * 4
    three = judge(d)
    assert three["taylor"].verdict == "inconclusive" and three["magnitude"].p == pytest.approx(3 / 256)
    # 5 seeds: no verdict at all; 6 seeds and a family of 2: 2/64 > 0.025, inconclusive however clear
    assert judge(d.iloc[:5])["magnitude"].verdict == "inconclusive (n < 6)"
    assert judge(d.iloc[:6][["magnitude", "random"]])["magnitude"].verdict == "inconclusive"
