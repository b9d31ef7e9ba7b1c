"""The verdicts' statistics by hand, and the verdict rules on seeded synthetic data with a known
answer: a clear effect holds, no effect is inconclusive, a reversed effect fails."""

import numpy as np
import pandas as pd
import pytest

from bdnn.analysis.stats import interval_verdict, mean_interval, paired_verdict, sign_flip_p, spearman, wilson_interval, with_seed_floor
from bdnn.analysis.verdicts import claim1, claim2, claim3, claim4
from bdnn.method.transfer import curve_area

SAMPLES = [600, 1200, 2400, 4800, 9600, 19200]
SEEDS = range(5)


def test_wilson_interval_by_hand():
    # 8 of 10, z = 1.95996: centre (0.8 + z^2/20) / (1 + z^2/10), half-width z/(1 + z^2/10) sqrt(0.016 + z^2/400)
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.49016, abs=1e-4) and hi == pytest.approx(0.94332, abs=1e-4)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0
    assert wilson_interval(60, 60)[0] == pytest.approx(0.9398, abs=1e-4)  # 60 of 60 interior peaks: holds at 0.8


def test_spearman_by_hand():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [1, 1, 2]) == pytest.approx(np.sqrt(3) / 2)  # ranks 1.5, 1.5, 3
    assert spearman([1, 2, 3], [5, 5, 5]) == 0.0  # a constant size does not grow


def test_sign_flip_exact_by_hand_and_monte_carlo():
    rng = np.random.default_rng(0)
    assert sign_flip_p([1.0, 1.0, 1.0], rng) == pytest.approx(1 / 8)  # only the observed pattern
    assert sign_flip_p([1.0, -1.0], rng) == pytest.approx(3 / 4)  # means 0, 1, -1, 0 against 0
    assert sign_flip_p([2.0, 1.0, 0.5], rng) == pytest.approx(1 / 8)
    assert sign_flip_p([2.0, 1.0, -0.5], rng) == pytest.approx(2 / 8)  # 2.5/3 and 3.5/3 reach 2.5/3
    big = sign_flip_p(np.ones(30), rng)  # Monte Carlo: 2^30 patterns
    assert 0 < big < 1e-3


def test_verdict_rules():
    assert interval_verdict(0.85, 0.99, 0.8) == "holds"
    assert interval_verdict(0.2, 0.79, 0.8) == "fails"
    assert interval_verdict(0.5, 0.95, 0.8) == "inconclusive"
    assert paired_verdict(0.01, 0.99) == "holds" and paired_verdict(0.99, 0.01) == "fails" and paired_verdict(0.3, 0.7) == "inconclusive"
    assert with_seed_floor("holds", 3) == "inconclusive (n < 5)" and with_seed_floor("fails", 5) == "fails"


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
    assert claim2(grows, 5, np.random.default_rng(0)).verdict == "holds"
    weak = _peaks(lambda s: 20 + 2 * np.log2(s), rng, noise=6.0)  # grows, but the seeds' spread hides how surely
    assert claim2(weak, 5, np.random.default_rng(0)).verdict == "inconclusive"
    flats = [claim2(_peaks(lambda s: 20, np.random.default_rng(10 + seed), noise=6.0), 5, np.random.default_rng(0)) for seed in range(5)]
    assert all(c.verdict != "holds" for c in flats)  # no growth never holds ...
    assert any(c.verdict == "fails" and c.interval[1] < 0.8 for c in flats)  # ... and is usually ruled out
    shrinks = _peaks(lambda s: 60 - 4 * np.log2(s), rng)
    result = claim2(shrinks, 5, np.random.default_rng(0))
    assert result.verdict == "fails" and result.statistic < -0.8
    assert claim2(grows[grows.seed < 3], 3, np.random.default_rng(0)).verdict == "inconclusive (n < 5)"


def test_claim3_clear_none_and_reversed():
    rng = np.random.default_rng(2)
    big = _peaks(lambda s: 30, rng)
    assert claim3(big, _peaks(lambda s: 20, rng, 5), 5, np.random.default_rng(0)).verdict == "holds"
    same = claim3(big, _peaks(lambda s: 30, rng, 5, noise=0.0), 5, np.random.default_rng(0))
    assert same.verdict in ("fails", "inconclusive") and same.p > 0.05
    assert claim3(big, _peaks(lambda s: 40, rng, 5), 5, np.random.default_rng(0)).verdict == "fails"


def test_claim1_wilson_rule():
    rng = np.random.default_rng(3)
    peaks = _peaks(lambda s: 20, rng)
    assert claim1(peaks, 5).verdict == "holds"  # 30 of 30
    peaks.loc[peaks.index[:15], "interior"] = False
    assert claim1(peaks, 5).verdict == "fails"  # 15 of 30: upper bound 0.67


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
    assert claim4(_transfer_summary(0.004, rng, seeds=range(3)))[0].verdict == "inconclusive (n < 5)"
    # holds against one control, not against another: not as a whole
    mixed = _transfer_summary(0.004, rng)
    mixed.loc[mixed.network == "scratch", "auc_error_new"] -= 0.008
    overall, per = claim4(mixed)
    assert per["unpruned"][1200].verdict == "holds" and per["scratch"][1200].verdict == "fails" and overall.verdict == "fails"


def test_claim4_leaves_out_and_counts_seeds_whose_control_missed_its_target():
    ts = _transfer_summary(0.004, np.random.default_rng(5), seeds=range(7), controls=("unpruned",))
    missed = (ts.network == "unpruned") & ts.seed.isin([1, 4])
    ts.loc[missed, "reached_target"] = False
    ts.loc[missed, "auc_error_new"] = 0.9  # at chance: would dominate the comparison if it were kept
    _, per = claim4(ts)
    c = per["unpruned"][1200]
    assert c.verdict == "holds" and "5 seeds; 2 seed(s) left out" in c.text and c.statistic < 0.01
    ts.loc[ts.network == "unpruned", "reached_target"] = False
    _, per = claim4(ts)
    assert per["unpruned"][1200].verdict == "n/a (the control did not reach the target accuracy)"


def test_curve_area_is_the_trapezoid_area_over_steps():
    # (0.5 + 0.3) / 2 * 10 + (0.3 + 0.1) / 2 * 20 = 4 + 4 = 8, over 30 steps (a plain mean would be 0.3)
    assert curve_area([0, 10, 30], [0.5, 0.3, 0.1]) == pytest.approx(8 / 30)
    assert curve_area([0], [0.4]) == 0.4


def test_monte_carlo_sign_flip_agrees_with_exact_enumeration():
    import itertools

    d = np.random.default_rng(6).normal(0.3, 1.0, 17)  # 17 > the exact limit: Monte Carlo
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    exact = float(np.mean(signs @ d >= d.sum() - 1e-12))
    assert 0.005 < exact < 0.5
    assert sign_flip_p(d, np.random.default_rng(0)) == pytest.approx(exact, abs=0.01)


def test_bootstrap_interval_by_hand():
    rng = np.random.default_rng(0)
    assert mean_interval([0.3, 0.3, 0.3], rng) == pytest.approx((0.3, 0.3))
    # two values: resampled means are 0, 0.5, 1 with chances 1/4, 1/2, 1/4: the 95% interval is [0, 1]
    assert mean_interval([0.0, 1.0], rng) == pytest.approx((0.0, 1.0))
    lo, hi = mean_interval(np.random.default_rng(1).normal(2.0, 1.0, 400), rng)
    assert lo < 2.0 < hi and hi - lo == pytest.approx(2 * 1.96 / 20, rel=0.25)  # about the normal interval


def test_claim3_needs_two_counts_and_figure_shows_the_claims_numbers():
    rng = np.random.default_rng(7)
    big, small = _peaks(lambda s: 30, rng), _peaks(lambda s: 20, rng, 5)
    one = claim3(big[big.samples == 600], small[small.samples == 600], 5, np.random.default_rng(0))
    assert one.verdict == "n/a"
    from bdnn.report.figures import paired_differences

    ts = _transfer_summary(0.004, np.random.default_rng(8))
    shown = paired_differences(ts).set_index(["network", "new_samples"])
    for control, draws in claim4(ts)[1].items():
        for n, c in draws.items():
            assert (shown.loc[(control, n), "low"], shown.loc[(control, n), "high"]) == c.interval
