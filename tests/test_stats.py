"""The verdicts' statistics by hand, and the verdict rules on seeded synthetic data with a known
answer: a clear effect holds, no effect is inconclusive, a reversed effect fails."""

import numpy as np
import pandas as pd
import pytest

from bdnn.claims import claim1, claim2, claim3, claim4, transfer_auc
from bdnn.stats import interval_verdict, paired_verdict, sign_flip_p, spearman, wilson_interval, with_seed_floor

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


def _transfer(gap, rng, seeds=SEEDS):
    rows = []
    for seed in seeds:
        base = rng.uniform(0.06, 0.09)  # the spread between seeds is larger than the gap
        for net, shift in (("pruned", 0.0), ("unpruned", gap + rng.normal(0, 0.0005))):
            for n in (1200, 19200):
                for step in (0, 100, 200, 300):
                    rows.append(
                        {"seed": seed, "network": net, "new_samples": n, "step": step, "error_new": base + shift + 0.01 / (1 + step / 100)}
                    )
    return pd.DataFrame(rows)


def test_claim4_clear_none_and_reversed():
    rng = np.random.default_rng(4)
    assert claim4(_transfer(0.004, rng), np.random.default_rng(0)).verdict == "holds"
    assert claim4(_transfer(0.0, rng), np.random.default_rng(0)).verdict == "inconclusive"
    assert claim4(_transfer(-0.004, rng), np.random.default_rng(0)).verdict == "fails"
    assert claim4(_transfer(0.004, rng, seeds=range(3)), np.random.default_rng(0)).verdict == "inconclusive (n < 5)"


def test_transfer_auc_is_the_trapezoid_area_over_steps():
    t = pd.DataFrame({"seed": 0, "network": "pruned", "new_samples": 10, "step": [0, 10, 30], "error_new": [0.5, 0.3, 0.1]})
    # (0.5 + 0.3) / 2 * 10 + (0.3 + 0.1) / 2 * 20 = 4 + 4 = 8, over 30 steps (a plain mean would be 0.3)
    assert transfer_auc(t)["auc"].iloc[0] == pytest.approx(8 / 30)
