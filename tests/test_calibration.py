"""Calibration of every verdict rule and interval (docs/method.md, "Verdicts and uncertainty"):
simulated per-seed data with a known answer, 2,000 replications per scenario at 5, 10 and 16
seeds, through the very functions the verdicts use (bdnn.analysis.rules, bdnn.analysis.stats).

Pass: every interval covers >= 0.93; on symmetric nulls (normal, t with 4 degrees of freedom) no
rule says `holds` or `fails` wrongly more often than its level + 0.01 (on skew-normal nulls the
rates are printed, not asserted: the sign-flip test assumes symmetric differences); the verdict
read from each interval equals the verdict read from its test; the power at an effect of one
between-seed SD is printed. The rules this project used before (pairs of one seed taken as
independent, no multiplicity control, percentile bootstraps of a mean of five) are kept here as
negative controls: the same criteria must flag them.

Coverage of a sign-flip interval is measured as the share of replications whose tests at the true
value both accept (the interval is that test inverted); that the library's interval is exactly
that inversion is checked on the first AGREE replications of every scenario.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from conftest import CALIBRATION_REPORT

from bdnn.analysis import rules
from bdnn.analysis.stats import ALPHA, hartigan_interval, share_bounds, sign_flip_p, spearman_rows

REPS = 2000
AGREE = 120  # replications on which interval and test verdicts are compared one by one
SEEDS = (5, 10, 16)
COUNTS = np.array([600, 1200, 2400, 4800, 9600, 19200], float)
K = len(COUNTS)
SYMMETRIC = ("normal", "t4")
DISTRIBUTIONS = ("normal", "t4", "skew+4", "skew-4")
CORRELATIONS = (0.0, 0.3, 0.6)
TOLERANCE = ALPHA + 0.01
COVERAGE = 0.93


def draw(dist: str, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standardised draws (mean 0, SD 1) from one of DISTRIBUTIONS."""
    if dist == "normal":
        return rng.standard_normal(shape)
    if dist == "t4":
        return rng.standard_t(4, shape) / math.sqrt(2.0)
    shape_a = 4.0 if dist == "skew+4" else -4.0
    delta = shape_a / math.sqrt(1 + shape_a * shape_a)
    x = delta * np.abs(rng.standard_normal(shape)) + math.sqrt(1 - delta * delta) * rng.standard_normal(shape)
    mean, sd = delta * math.sqrt(2 / math.pi), math.sqrt(1 - 2 * delta * delta / math.pi)
    return (x - mean) / sd


def correlated(dist: str, rho: float, rng: np.random.Generator, reps: int, n: int, k: int) -> np.ndarray:
    """(reps, n, k): a seed's k values share a seed effect (correlation rho between them)."""
    seed_effect = draw(dist, rng, (reps, n, 1))
    return math.sqrt(rho) * seed_effect + math.sqrt(1 - rho) * draw(dist, rng, (reps, n, k))


def scenarios(rng: np.random.Generator, n: int, k: int = K):
    """Every (distribution, within-seed correlation) and a null data set (REPS, n, k) of it."""
    for dist in DISTRIBUTIONS:
        for rho in CORRELATIONS:
            yield dist, rho, correlated(dist, rho, rng, REPS, n, k)


def rates(directions: np.ndarray) -> tuple[float, float]:
    return float(np.mean(directions == 1)), float(np.mean(directions == -1))


def accepts(values: np.ndarray, truth: float) -> np.ndarray:
    """Both one-sided sign-flip tests at the true value accept: the interval covers it."""
    p_up, p_down = sign_flip_p(values - truth)
    return (p_up > ALPHA) & (p_down > ALPHA)


def note(line: str) -> None:
    CALIBRATION_REPORT.append(line)  # printed at the end of the run (conftest.py)


# ---------------------------------------------------------------------------------------------
# the mean tests: claim 3 (per-seed mean over counts) and one comparison of claim 4


@pytest.mark.parametrize("n", SEEDS)
def test_claim3_rule_and_interval(n):
    for dist, rho, null in scenarios(np.random.default_rng(300 + n), n):
        sd = math.sqrt(rho + (1 - rho) / K)  # the between-seed SD of a seed's mean over counts
        effect = null + sd  # one between-seed SD
        wrong_holds, wrong_fails = rates(rules.claim3(null))
        power, _ = rates(rules.claim3(effect))
        coverage = [float(np.mean(accepts(x.mean(axis=-1), truth))) for x, truth in ((null, 0.0), (effect, sd))]
        note(f"claim 3  n={n:2d} {dist:7s} rho={rho}: wrong holds {wrong_holds:.4f}, wrong fails {wrong_fails:.4f}, "
             f"coverage {min(coverage):.3f}, power at 1 SD {power:.3f}")  # fmt: skip
        assert min(coverage) >= COVERAGE, (dist, rho, coverage)
        if dist in SYMMETRIC:
            assert wrong_holds <= TOLERANCE and wrong_fails <= TOLERANCE, (dist, rho, wrong_holds, wrong_fails)
        for x in (null, effect):
            assert (rules.claim3(x[:AGREE]) == rules.claim3_interval(x[:AGREE])).all()
            low, high = hartigan_interval(x[:AGREE].mean(axis=-1))
            truth = 0.0 if x is null else sd
            assert (((low <= truth) & (high >= truth)) == accepts(x[:AGREE].mean(axis=-1), truth)).all()


@pytest.mark.parametrize("n", SEEDS)
def test_claim4_comparison_rule_and_interval(n):
    rng = np.random.default_rng(400 + n)
    for dist in DISTRIBUTIONS:
        null = draw(dist, rng, (REPS, n))
        wrong_holds, wrong_fails = rates(rules.comparison(null))
        power, _ = rates(rules.comparison(null + 1.0))
        coverage = float(np.mean(accepts(null, 0.0)))
        note(f"claim 4 comparison n={n:2d} {dist:7s}: wrong holds {wrong_holds:.4f}, wrong fails {wrong_fails:.4f}, "
             f"coverage {coverage:.3f}, power at 1 SD {power:.3f}")  # fmt: skip
        assert coverage >= COVERAGE
        if dist in SYMMETRIC:
            assert wrong_holds <= TOLERANCE and wrong_fails <= TOLERANCE
        for x, truth in ((null[:AGREE], 0.0), (null[:AGREE] + 1, 1.0)):
            assert (rules.comparison(x) == rules.comparison_interval(x)).all()
            low, high = hartigan_interval(x)
            assert (((low <= truth) & (high >= truth)) == accepts(x, truth)).all()
        if n < 6:  # the floor: no verdict at all below 6 seeds
            assert wrong_holds == wrong_fails == power == 0.0


@pytest.mark.parametrize("n", SEEDS)
def test_claim4_as_a_whole_under_its_least_favourable_nulls(n):
    rng = np.random.default_rng(450 + n)
    for dist in DISTRIBUTIONS:
        base = correlated(dist, 0.5, rng, REPS, n, 8)  # eight comparisons, correlated 0.5 within a seed
        one_null = base + np.array([0.0] + [3.0] * 7)  # seven clearly hold, one is exactly null
        wrong_holds, _ = rates(rules.claim4(one_null))
        _, wrong_fails = rates(rules.claim4(base))  # all eight null
        power, _ = rates(rules.claim4(base + 1.0))
        note(f"claim 4 whole n={n:2d} {dist:7s}: wrong holds {wrong_holds:.4f} (one null, seven at +3 SD), "
             f"wrong fails {wrong_fails:.4f} (all null, Holm), holds at +1 SD everywhere {power:.3f}")  # fmt: skip
        if dist in SYMMETRIC:
            assert wrong_holds <= TOLERANCE and wrong_fails <= TOLERANCE


@pytest.mark.parametrize("n", SEEDS)
def test_the_baseline_family_under_its_nulls(n):
    """The comparison against the baselines (bdnn.analysis.compare; issue 19): five baselines,
    correlated 0.5 within a seed. Wrong verdicts are counted per replication over the family (any
    baseline wrong): all five null, and one null beside four at +3 SD. The Bonferroni intervals
    cover the five true means at once, and an interval clear of 0 gives the Holm verdict."""
    rng = np.random.default_rng(470 + n)
    for dist in DISTRIBUTIONS:
        null = correlated(dist, 0.5, rng, REPS, n, 5)
        verdicts = rules.family(null)
        any_holds, any_fails = float(np.mean((verdicts == 1).any(axis=1))), float(np.mean((verdicts == -1).any(axis=1)))
        one_null = rules.family(null + np.array([0.0] + [3.0] * 4))[:, 0]
        wrong_holds_one, wrong_fails_one = rates(one_null)
        power, _ = rates(rules.family(null + 1.0)[:, 0])
        # the Bonferroni interval covers a mean where both one-sided tests at ALPHA / 5 accept it (Hartigan inverts them)
        p_up, p_down = (p.reshape(REPS, 5) for p in sign_flip_p(np.moveaxis(null, -1, 1).reshape(REPS * 5, n)))
        coverage = float(np.mean(((p_up > ALPHA / 5) & (p_down > ALPHA / 5)).all(axis=1)))
        note(f"baselines n={n:2d} {dist:7s}: any wrong holds {any_holds:.4f}, any wrong fails {any_fails:.4f} (all null, Holm); "
             f"the null one beside four at +3 SD: holds {wrong_holds_one:.4f}, fails {wrong_fails_one:.4f}; "
             f"simultaneous coverage {coverage:.3f}; power at 1 SD {power:.3f}")  # fmt: skip
        assert coverage >= COVERAGE
        if dist in SYMMETRIC:
            assert max(any_holds, any_fails, wrong_holds_one, wrong_fails_one) <= TOLERANCE
        by_interval = rules.family_interval(null[:AGREE] + 0.5)
        assert ((by_interval == 0) | (by_interval == rules.family(null[:AGREE] + 0.5))).all()
        if n < 6:
            assert any_holds == any_fails == power == 0.0


# ---------------------------------------------------------------------------------------------
# claim 2: per-seed Spearmans


@functools.cache
def true_mean_spearman(slope: float, dist: str, rho: float) -> float:
    """E[per-seed Spearman] under a trend, by a large simulation (the interval's true value)."""
    sizes = correlated(dist, rho, np.random.default_rng(9), 1, 200_000, K)[0] + slope * np.arange(K)
    return float(spearman_rows(COUNTS, sizes).mean())


@pytest.mark.parametrize("n", SEEDS)
def test_claim2_rule_and_interval(n):
    for dist, rho, null in scenarios(np.random.default_rng(200 + n), n):
        slope = math.sqrt(1 - rho) / (K - 1)  # a rise of one within-seed SD over the six counts
        trend = null + slope * np.arange(K)
        wrong_holds, wrong_fails = rates(rules.claim2(COUNTS, null))
        power, _ = rates(rules.claim2(COUNTS, trend))
        truth = true_mean_spearman(slope, dist, rho)
        cover = [float(np.mean(accepts(rules.seed_spearmans(COUNTS, x), t))) for x, t in ((null, 0.0), (trend, truth))]
        note(f"claim 2  n={n:2d} {dist:7s} rho={rho}: wrong holds {wrong_holds:.4f}, wrong fails {wrong_fails:.4f}, "
             f"coverage {min(cover):.3f}, holds at a rise of 1 SD {power:.3f} (mean per-seed Spearman {truth:+.2f})")  # fmt: skip
        assert min(cover) >= COVERAGE, (dist, rho, cover)
        assert wrong_holds <= TOLERANCE and wrong_fails <= TOLERANCE  # exact: ranks within a seed are exchangeable
        for x, t in ((null, 0.0), (trend, truth)):
            assert (rules.claim2(COUNTS, x[:AGREE]) == rules.claim2_interval(COUNTS, x[:AGREE])).all()
            rho = rules.seed_spearmans(COUNTS, x[:AGREE])
            low, high = hartigan_interval(rho)
            assert (((low <= t) & (high >= t)) == accepts(rho, t)).all()


@pytest.mark.parametrize("n", (10, 16))
def test_claim2_censored_trend(n):
    """Claim 2' reads a statistic capped at the un-pruned width: values at or above the cap (here
    its 0.7 quantile: about 30% of the seeds at each count, so some counts are censored by chance)
    tie at the top, censored counts are dropped. On exchangeable nulls the capped ranks stay
    exchangeable, so the level must hold; a rising trend is censored at its top counts."""
    cap = 0.5244  # the 0.7 quantile of a standard normal
    for dist, rho, null in scenarios(np.random.default_rng(250 + n), n):
        capped = np.minimum(null, cap)
        wrong_holds, wrong_fails = rates(rules.claim2_censored(COUNTS, capped, cap))
        na = float(np.mean([(~m).any() and m.sum() < rules.MIN_COUNTS for m in rules.uncensored(capped, cap)]))
        trend = np.minimum(null + 2 * math.sqrt(1 - rho) / (K - 1) * np.arange(K) - 1.0, cap)
        power, _ = rates(rules.claim2_censored(COUNTS, trend, cap))
        note(f"claim 2' n={n:2d} {dist:7s} rho={rho}: wrong holds {wrong_holds:.4f}, wrong fails {wrong_fails:.4f}, "
             f"n/a {na:.3f}; holds on a censored rise of 2 SD {power:.3f}")  # fmt: skip
        if dist in SYMMETRIC:
            assert wrong_holds <= TOLERANCE and wrong_fails <= TOLERANCE, (dist, rho, wrong_holds, wrong_fails)


# ---------------------------------------------------------------------------------------------
# claim 1: per-seed shares Binomial(6, p) / 6, p ~ Beta of mean 0.8 or 0.95, concentration 10


@pytest.mark.parametrize("n", SEEDS)
def test_claim1_rule_and_interval(n):
    rng = np.random.default_rng(100 + n)
    for mean in (0.8, 0.95):
        p = rng.beta(mean * 10, (1 - mean) * 10, size=(REPS, n))
        shares = rng.binomial(K, p) / K
        holds, fails = rates(rules.claim1(shares, K))
        low, high = share_bounds(shares, K)
        coverage = float(np.mean((low <= mean) & (high >= mean)))
        note(f"claim 1  n={n:2d} true share {mean}: holds {holds:.4f}, fails {fails:.4f}, coverage {coverage:.3f}")
        assert coverage >= COVERAGE
        assert fails <= TOLERANCE  # a true share of at least 0.8 is never ruled out more often than the level
        if mean == 0.8:
            assert holds <= TOLERANCE  # the boundary: holds no more often than the level
        assert (rules.claim1(shares[:AGREE], K) == rules.claim1_interval(shares[:AGREE], K)).all()


# ---------------------------------------------------------------------------------------------
# negative controls: the rules used before this calibration, which it must flag


def old_claim3(differences: np.ndarray, rng: np.random.Generator, flips: int = 2000) -> np.ndarray:
    """Before: a sign-flip test over all (seed, count) pairs as if independent (Monte Carlo, level
    0.05); `fails` wherever the count rule missed, with no uncertainty."""
    r, n, k = differences.shape
    pairs = differences.reshape(r, n * k)
    signs = rng.choice((1.0, -1.0), size=(flips, n * k))
    p = (1 + ((pairs @ signs.T) >= pairs.sum(axis=1, keepdims=True)).sum(axis=1)) / (flips + 1)
    rule = rules.count_rule(differences)
    return np.where(~rule, -1, np.where(p < 0.05, 1, 0))


def old_claim4(differences: np.ndarray) -> np.ndarray:
    """Before: each comparison at 0.05 each way from 5 seeds; the whole fails where any fails."""
    r, n, m = differences.shape
    flat = np.moveaxis(differences, -1, 1).reshape(r * m, n)
    p_up, p_down = (p.reshape(r, m) for p in sign_flip_p(flat))
    return np.where((p_down < 0.05).any(axis=1), -1, np.where((p_up < 0.05).all(axis=1), 1, 0))


def old_interval(values: np.ndarray, rng: np.random.Generator, draws: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Before: the percentile bootstrap interval (95%) of a mean."""
    r, n = values.shape
    idx = rng.integers(0, n, size=(r, draws, n))
    means = np.take_along_axis(values[:, None, :].repeat(draws, axis=1), idx, axis=2).mean(axis=2)
    return np.quantile(means, 0.025, axis=1), np.quantile(means, 0.975, axis=1)


def test_the_old_rules_are_flagged():
    rng = np.random.default_rng(7)
    null = correlated("normal", 0.6, rng, REPS, 5, K)  # a seed effect shared across its counts
    holds, fails = rates(old_claim3(null, rng))
    note(f"old claim 3 (pairs as independent), n=5 normal rho=0.6: wrong holds {holds:.3f}, wrong fails {fails:.3f}")
    assert holds > TOLERANCE and fails > TOLERANCE
    whole = correlated("normal", 0.5, rng, REPS, 5, 8)
    _, fails4 = rates(old_claim4(whole))
    note(f"old claim 4 whole (no multiplicity control), n=5: wrong fails {fails4:.3f}")
    assert fails4 > TOLERANCE
    low, high = old_interval(draw("normal", rng, (REPS, 5)), rng)
    coverage = float(np.mean((low <= 0) & (high >= 0)))
    skew_low, skew_high = old_interval(draw("skew+4", rng, (REPS, 5)), rng)
    skew_coverage = float(np.mean((skew_low <= 0) & (skew_high >= 0)))
    note(f"old claim 4 interval (percentile bootstrap of a mean of 5): coverage {coverage:.3f} normal, {skew_coverage:.3f} skewed")
    assert coverage < COVERAGE and skew_coverage < COVERAGE
