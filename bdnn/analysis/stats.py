"""Uncertainty over seeds for the claims' verdicts (docs/method.md, "Verdicts and uncertainty"):
Wilson intervals, seed bootstraps, the exact (or Monte Carlo) sign-flip test, and the rules that
turn them into `holds` / `fails` / `inconclusive`.

Every random draw comes from a numpy Generator seeded by the caller, so a verdict is reproducible.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

HOLDS, FAILS, INCONCLUSIVE = "holds", "fails", "inconclusive"
MIN_SEEDS = 5  # fewer seeds than this: every verdict is inconclusive
ALPHA = 0.05  # the tests' level, and 1 - the intervals' coverage
BOOTSTRAP_DRAWS = 2000
EXACT_FLIPS_MAX_N = 16  # up to 2^16 sign patterns are enumerated; beyond, Monte Carlo
MONTE_CARLO_FLIPS = 20000


def wilson_interval(successes: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """The Wilson score interval of a binomial share (coverage 1 - alpha)."""
    if n <= 0:
        raise ValueError("Wilson interval of no trials")
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - alpha / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties); 0 where either side is constant (no
    monotone relation: a size that is the same at every sample count does not grow)."""
    rx, ry = _ranks(np.asarray(x, float)), _ranks(np.asarray(y, float))
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(a: np.ndarray) -> np.ndarray:
    order = np.argsort(a, kind="stable")
    ranks = np.empty(len(a))
    ranks[order] = np.arange(len(a), dtype=float)
    for value in np.unique(a):  # average the ranks of ties
        tied = a == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def bootstrap_interval(
    groups: Mapping[float, Sequence[float]],
    statistic: Callable[[Mapping[float, np.ndarray]], float],
    rng: np.random.Generator,
    draws: int = BOOTSTRAP_DRAWS,
    alpha: float = ALPHA,
) -> tuple[float, float]:
    """Percentile interval of `statistic` when each group's values (e.g. one value per seed at one
    sample count) are resampled with replacement within the group."""
    arrays = {k: np.asarray(v, float) for k, v in groups.items()}
    values = []
    for _ in range(draws):
        values.append(statistic({k: a[rng.integers(0, len(a), len(a))] for k, a in arrays.items()}))
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def mean_interval(
    values: Sequence[float], rng: np.random.Generator, draws: int = BOOTSTRAP_DRAWS, alpha: float = ALPHA
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences."""
    return bootstrap_interval({0: values}, lambda g: float(g[0].mean()), rng, draws, alpha)


def sign_flip_p(differences: Sequence[float], rng: np.random.Generator, flips: int = MONTE_CARLO_FLIPS) -> float:
    """One-sided sign-flip test of H1 "the mean difference is > 0": the share of sign patterns
    whose mean is >= the observed one. Exact enumeration up to EXACT_FLIPS_MAX_N differences, else
    Monte Carlo with `flips` random patterns (the observed pattern counted, so p > 0)."""
    d = np.asarray(differences, float)
    if len(d) == 0:
        raise ValueError("sign-flip test of no differences")
    observed = d.mean()
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))
    if len(d) <= EXACT_FLIPS_MAX_N:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
        return float(np.mean((signs @ d) / len(d) >= observed - tol))
    signs = rng.choice((1.0, -1.0), size=(flips, len(d)))
    return float((np.sum((signs @ d) / len(d) >= observed - tol) + 1) / (flips + 1))


def interval_verdict(low: float, high: float, threshold: float) -> str:
    """holds where the interval's lower bound reaches the threshold, fails where its upper bound is
    below it, inconclusive otherwise."""
    if low >= threshold:
        return HOLDS
    if high < threshold:
        return FAILS
    return INCONCLUSIVE


def paired_verdict(p_paper: float, p_reverse: float, alpha: float = ALPHA) -> str:
    """holds where the one-sided test in the paper's direction is significant, fails where the
    test in the other direction is, inconclusive otherwise."""
    if p_paper < alpha:
        return HOLDS
    if p_reverse < alpha:
        return FAILS
    return INCONCLUSIVE


def with_seed_floor(verdict: str, n_seeds: int) -> str:
    """Every verdict is `inconclusive (n < 5)` with fewer than MIN_SEEDS seeds."""
    return f"{INCONCLUSIVE} (n < {MIN_SEEDS})" if n_seeds < MIN_SEEDS else verdict
