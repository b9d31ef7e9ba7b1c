"""The verdicts' statistics by hand, and the verdict rules on seeded synthetic data with a known
answer: a clear effect holds, no effect is inconclusive, a reversed effect fails. (Their error
rates and coverage over thousands of simulated data sets: tests/test_calibration.py.)"""

import itertools

import numpy as np
import pandas as pd
import pytest

from bdnn.analysis.stats import (
    hartigan_interval,
    holm,
    holm_adjusted,
    mean_test,
    share_test,
    sign_flip_p,
    spearman,
    t_quantile,
    with_seed_floor,
)
from bdnn.analysis.verdicts import claim1, claim2, claim3, claim4
from bdnn.method.transfer import curve_area

SAMPLES = [600, 1200, 2400, 4800, 9600, 19200]
SEEDS = range(8)


def test_spearman_by_hand():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [1, 1, 2]) == pytest.approx(np.sqrt(3) / 2)  # ranks 1.5, 1.5, 3
    assert spearman([1, 2, 3], [5, 5, 5]) == 0.0  # a constant size does not grow


def test_sign_flip_exact_by_hand():
    up, down = sign_flip_p([1.0, 1.0, 1.0])
    assert up[0] == pytest.approx(1 / 8) and down[0] == pytest.approx(1.0)  # only the observed pattern
    assert sign_flip_p([1.0, -1.0])[0][0] == pytest.approx(3 / 4)  # means 0, 1, -1, 0 against 0
    assert sign_flip_p([2.0, 1.0, 0.5])[0][0] == pytest.approx(1 / 8)
    assert sign_flip_p([2.0, 1.0, -0.5])[0][0] == pytest.approx(2 / 8)  # 2.5/3 and 3.5/3 reach 2.5/3
    # whole-neuron ties: [1, -1, 2, -2] has subsets summing exactly to 0 ({}, {1,-1}, {2,-2}, all four)
    assert sign_flip_p([1.0, -1.0, 2.0, -2.0])[0][0] == pytest.approx(10 / 16)


def test_sign_flip_against_brute_force_enumeration():
    rng = np.random.default_rng(0)
    for n in (1, 4, 7, 12):
        d = rng.normal(size=(30, n))
        d[:10] = np.round(d[:10])  # ties
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        brute = ((d @ signs.T) >= d.sum(axis=1, keepdims=True) - 1e-9).mean(axis=1)
        assert sign_flip_p(d)[0] == pytest.approx(brute)


def test_hartigan_interval_by_hand_and_equal_to_the_test():
    # n = 6: k = floor(0.025 x 64) = 1: the smallest and largest subset means, 1 and 6
    low, high = hartigan_interval(np.arange(1.0, 7.0))
    assert (low[0], high[0]) == (1.0, 6.0)
    # n = 7: k = 3; the smallest means are 1 ({1}), 1.5 ({1,2}), 2 ({2}, {1,3}, {1,2,3}): the third is 2
    low, high = hartigan_interval(np.arange(1.0, 8.0))
    assert (low[0], high[0]) == (2.0, 6.0)
    assert hartigan_interval(np.ones(5))[0][0] == -np.inf  # 1/32 > 0.025: unbounded
    rng = np.random.default_rng(1)
    for values in (rng.normal(0.4, 1, 10), np.round(rng.normal(0.5, 2, 9)), rng.normal(-0.6, 1, 12)):
        t = mean_test(values, threshold=0.1)
        assert t.direction() == t.interval_direction()
        assert (t.low <= 0.1) == (t.p_up > 0.025) and (t.high >= 0.1) == (t.p_down > 0.025)


def test_share_interval_by_hand():
    assert t_quantile(0.975, 9) == pytest.approx(2.262157, abs=1e-5)
    # eight seeds, every run interior: the t interval is [1, 1]; Wilson for 48 of 48 with z = t(0.975, 7)
    z = t_quantile(0.975, 7)
    t = share_test(np.ones(8), 6, 0.8)
    assert t.low == pytest.approx(48 / (48 + z * z)) and t.high == 1.0 and t.direction() == 1
    half = share_test(np.array([0.5] * 8), 6, 0.8)
    assert half.high < 0.8 and half.direction() == -1
    spread = share_test(np.array([1, 1, 1, 1, 0, 1, 1, 1 / 6]), 6, 0.8)  # the t interval is the wider side
    mean, sd = spread.estimate, np.std([1, 1, 1, 1, 0, 1, 1, 1 / 6], ddof=1)
    assert spread.low == pytest.approx(mean - z * sd / np.sqrt(8)) and spread.direction() == 0


def test_holm_by_hand():
    # 0.025 / 4, / 3, / 2, / 1: 0.001 passes, 0.01 fails 0.00833: only the first is rejected
    assert holm(np.array([0.01, 0.001, 0.02, 0.5])).tolist() == [False, True, False, False]
    assert holm_adjusted(np.array([0.001, 0.01, 0.02, 0.5])) == pytest.approx([0.004, 0.03, 0.04, 0.5])
    assert with_seed_floor("holds", 5) == "inconclusive (n < 6)" and with_seed_floor("fails", 6) == "fails"


def test_rules_beyond_the_exact_limit_use_the_same_monte_carlo_subsets():
    from bdnn.analysis import rules

    d = np.random.default_rng(9).normal(0.9, 1.0, (3, 17))
    assert (rules.comparison(d) == rules.comparison_interval(d)).all()
    assert [mean_test(row).direction() for row in d] == rules.comparison(d).tolist()


def test_monte_carlo_sign_flip_agrees_with_exact_enumeration():
    d = np.random.default_rng(6).normal(0.3, 1.0, 17)  # 17 > the exact limit: Monte Carlo
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    exact = float(np.mean(signs @ d >= d.sum() - 1e-12))
    assert 0.005 < exact < 0.5
    t = mean_test(d)
    assert t.floor and t.p_up == pytest.approx(exact, abs=0.01) and t.direction() == t.interval_direction()


def _peaks(size_of, rng, n_classes=10, noise=1.0):
    rows = [
        {
            "samples": s,
            "seed": seed,
            "n_classes": n_classes,
            "hidden": max(2, round(size_of(s) + rng.normal(0, noise))),
            "interior": True,
            "S_interior": True,
        }
        for s in SAMPLES
        for seed in SEEDS
    ]
    return pd.DataFrame(rows)


def test_claim2_clear_none_and_reversed():
    rng = np.random.default_rng(1)
    grows = _peaks(lambda s: 4 * np.log2(s), rng)
    assert claim2(grows).verdict == "holds"
    weak = _peaks(lambda s: 20 + 0.3 * np.log2(s), rng, noise=6.0)  # grows, but the seeds' spread hides it
    assert claim2(weak).verdict == "inconclusive"
    flats = [claim2(_peaks(lambda s: 20, np.random.default_rng(10 + seed), noise=6.0)) for seed in range(5)]
    assert all(c.verdict != "holds" for c in flats)  # no growth never holds
    shrinks = _peaks(lambda s: 60 - 4 * np.log2(s), rng)
    result = claim2(shrinks)
    assert result.verdict == "fails" and result.statistic < -0.8 and result.interval[1] < 0
    assert "n = 8" in result.text and "smallest possible 1/256" in result.text
    assert claim2(grows[grows.seed < 5]).verdict == "inconclusive (n < 6)"


def test_claim3_clear_none_and_reversed():
    rng = np.random.default_rng(2)
    big = _peaks(lambda s: 30, rng)
    assert claim3(big, _peaks(lambda s: 20, rng, 5)).verdict == "holds"
    same = claim3(big, _peaks(lambda s: 30, rng, 5, noise=0.0))
    assert same.verdict == "inconclusive" and same.p > 0.025 and same.p_reverse > 0.025
    assert claim3(big, _peaks(lambda s: 40, rng, 5)).verdict == "fails"


def test_claim3_lists_the_seeds_it_tests_and_one_smaller_subset():
    rng = np.random.default_rng(12)
    big, small = _peaks(lambda s: 30, rng), _peaks(lambda s: 20, rng, 5)
    small = small[~((small.seed == 7) & (small.samples == 1200))]  # seed 7 misses one count: left out everywhere
    small.loc[small.seed == 7, "hidden"] = 500  # would swamp the listed means if it were kept
    c = claim3(big, small)
    assert c.verdict == "holds" and c.n == 7 and "600: 2" in c.text and "500" not in c.text
    two = pd.concat([small.assign(classes="0-4"), _peaks(lambda s: 60, rng, 5).assign(classes="5-9")])
    c = claim3(big.assign(classes="0-9"), two)
    assert c.verdict == "holds" and "subset 0-4" in c.text


def test_claim1_share_rule():
    rng = np.random.default_rng(3)
    peaks = _peaks(lambda s: 20, rng)
    assert claim1(peaks).verdict == "holds"  # 48 of 48
    peaks.loc[peaks.index[:24], "interior"] = False
    assert claim1(peaks).verdict == "fails"  # 24 of 48
    assert claim1(peaks[peaks.seed < 5]).verdict == "inconclusive (n < 6)"


def _transfer_summary(gap, rng, seeds=SEEDS, controls=("unpruned", "scratch")):
    """Per seed and draw: the developed network's mean error, and each control's `gap` higher; the
    spread between seeds is larger than the gap."""
    rows = []
    for seed in seeds:
        for n in (1200, 19200):
            base = rng.uniform(0.06, 0.09)
            for net in ("pruned", *controls):
                auc = base + (0.0 if net == "pruned" else gap + rng.normal(0, 0.0005))
                rows.append({"seed": seed, "network": net, "new_samples": n, "auc_error_new": auc, "final_error_test": auc,
                             "best_error_test": auc, "reached_target": True})  # fmt: skip
    return pd.DataFrame(rows)


def test_claim4_clear_none_and_reversed_against_every_control():
    rng = np.random.default_rng(4)
    overall, per = claim4(_transfer_summary(0.004, rng))
    assert overall.verdict == "holds" and set(per) == {"unpruned", "scratch"} and set(per["scratch"]) == {1200, 19200}
    assert all(c.verdict == "holds" and c.interval[0] > 0 for draws in per.values() for c in draws.values())
    assert claim4(_transfer_summary(0.0, rng))[0].verdict == "inconclusive"
    assert claim4(_transfer_summary(-0.004, rng))[0].verdict == "fails"
    assert claim4(_transfer_summary(0.004, rng, seeds=range(5)))[0].verdict == "inconclusive (n < 6)"
    # holds against one control, not against another: not as a whole
    mixed = _transfer_summary(0.004, rng)
    mixed.loc[mixed.network == "scratch", "auc_error_new"] -= 0.008
    overall, per = claim4(mixed)
    assert per["unpruned"][1200].verdict == "holds" and per["scratch"][1200].verdict == "fails" and overall.verdict == "fails"


def test_claim4_leaves_out_and_counts_seeds_whose_control_missed_its_target():
    ts = _transfer_summary(0.004, np.random.default_rng(5), seeds=range(9), controls=("unpruned",))
    missed = (ts.network == "unpruned") & ts.seed.isin([1, 4])
    ts.loc[missed, "reached_target"] = False
    ts.loc[missed, "auc_error_new"] = 0.9  # at chance: would dominate the comparison if it were kept
    _, per = claim4(ts)
    c = per["unpruned"][1200]
    assert c.verdict == "holds" and "n = 7" in c.text and "2 seed(s) left out" in c.text and c.statistic < 0.01
    ts.loc[ts.network == "unpruned", "reached_target"] = False
    _, per = claim4(ts)
    assert per["unpruned"][1200].verdict == "n/a (the control did not reach the target accuracy)"


def test_curve_area_is_the_trapezoid_area_over_steps():
    # (0.5 + 0.3) / 2 * 10 + (0.3 + 0.1) / 2 * 20 = 4 + 4 = 8, over 30 steps (a plain mean would be 0.3)
    assert curve_area([0, 10, 30], [0.5, 0.3, 0.1]) == pytest.approx(8 / 30)
    assert curve_area([0], [0.4]) == 0.4


def test_claim3_needs_two_counts_and_figure_shows_the_claims_numbers():
    rng = np.random.default_rng(7)
    big, small = _peaks(lambda s: 30, rng), _peaks(lambda s: 20, rng, 5)
    one = claim3(big[big.samples == 600], small[small.samples == 600])
    assert one.verdict == "n/a"
    from bdnn.report.figures import paired_differences

    ts = _transfer_summary(0.004, np.random.default_rng(8))
    shown = paired_differences(ts).set_index(["network", "new_samples"])
    for control, draws in claim4(ts)[1].items():
        for n, c in draws.items():
            assert (shown.loc[(control, n), "low"], shown.loc[(control, n), "high"]) == c.interval
