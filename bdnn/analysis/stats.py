"""Uncertainty over seeds for the claims' verdicts (docs/method.md, "Verdicts and uncertainty").

The seed is the unit: every rule takes one value per seed. Two constructions, each a pair of
one-sided tests at ALPHA (one in the claim's direction, one against it) and the interval that
inverts them, so that the verdict read from the interval is the verdict read from the tests:

- the sign-flip test of a mean and Hartigan's subset-mean interval (exact up to EXACT_MAX_N
  values, Monte Carlo beyond, with a seeded generator);
- for a mean share of interior peaks (values in [0, 1], skewed near 1): the hull of the Student t
  interval of the per-seed shares and the Wilson interval of the pooled runs, the test being both
  of them at once.

Every function that takes many replications as rows of an array is vectorised, so that
tests/test_calibration.py can measure error rates and coverage over thousands of simulated data
sets with the very code that the verdicts use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

HOLDS, FAILS, INCONCLUSIVE = "holds", "fails", "inconclusive"
MIN_SEEDS = 6  # fewer seeds: no test can reach ALPHA (1/2^5 > 0.025), every verdict is inconclusive
ALPHA = 0.025  # each one-sided test's level; each interval bound misses with at most this chance
EXACT_MAX_N = 16  # up to 2^16 sign patterns are enumerated; beyond, MONTE_CARLO_SUBSETS random ones
MONTE_CARLO_SUBSETS = 2**16 - 1


@dataclass(frozen=True)
class Test:
    """Two one-sided tests of a parameter against a threshold, and the interval that inverts them.

    `p_up` tests "the parameter is above the threshold", `p_down` "below it". `low`/`high` are the
    one-sided bounds (each at level ALPHA; +-inf where n is too small to bound it). `p_min` is the
    smallest p-value `n` allows; `floor` says p_min is a Monte Carlo floor 1/(B+1)."""

    n: int
    estimate: float
    threshold: float
    p_up: float
    p_down: float
    low: float
    high: float
    p_min: float
    floor: bool = False

    def direction(self, alpha: float = ALPHA) -> int:
        """+1 where the test upwards rejects, -1 where the test downwards does, 0 otherwise."""
        return 1 if self.p_up <= alpha else (-1 if self.p_down <= alpha else 0)

    def interval_direction(self) -> int:
        """The same reading from the interval: +1 above the threshold, -1 below it, 0 across."""
        return 1 if self.low > self.threshold else (-1 if self.high < self.threshold else 0)


def format_p(p: float, test: Test) -> str:
    """A p-value for the text: "<= 1/(B+1)" at a Monte Carlo floor, else three digits."""
    if test.floor and p <= test.p_min * (1 + 1e-9):
        return f"<= 1/{round(1 / test.p_min)}"
    return f"{p:.3g}"


def describe(test: Test, up: bool = True) -> str:
    """n, p (in the given direction) and the smallest p the n allows, in words."""
    p = test.p_up if up else test.p_down
    if not test.p_min:
        return f"n = {test.n}, p = {format_p(p, test)}"
    return f"n = {test.n}, p = {format_p(p, test)} (smallest possible 1/{round(1 / test.p_min):,})"


# ---------------------------------------------------------------------------------------------
# The sign-flip test and Hartigan's interval


@lru_cache(maxsize=8)
def _subset_matrix(n: int) -> np.ndarray:
    """(2^n, n) 0/1 rows: every subset of n items, the empty one first."""
    codes = np.arange(2**n, dtype=np.int64)[:, None]
    return ((codes >> np.arange(n, dtype=np.int64)) & 1).astype(np.float64)


def _tolerance(d: np.ndarray) -> np.ndarray:
    """Per row: subset sums within this of zero are ties (sums of decimals are not exact, and a
    tie such as sizes that differ by whole neurons must be a tie for the test and interval alike);
    relative to the row's largest magnitude, so tiny values keep their signs."""
    return 1e-9 * np.abs(d).max(axis=-1) * d.shape[-1]


def flip_counts(d: np.ndarray) -> np.ndarray:
    """Per row of `d` (replications x n): how many of the 2^n subsets (the empty one included)
    have a sum <= 0, by meeting in the middle (the sums of each half's subsets, sorted together).
    The exact sign-flip p-value of "the mean is > 0" is this count / 2^n (flipping the signs of a
    subset F lowers the sum below the observed one exactly where F's own sum is >= 0)."""
    d = np.atleast_2d(np.asarray(d, np.float64))
    n = d.shape[1]
    h = n // 2
    left = d[:, :h] @ _subset_matrix(h).T  # (r, 2^h) sums, the empty subset's 0 first
    right = d[:, h:] @ _subset_matrix(n - h).T  # (r, 2^(n-h))
    # count pairs left + right <= tol: sort tol - left after the right sums it ties with
    values = np.concatenate([right, _tolerance(d)[:, None] - left], axis=1)
    is_left = np.concatenate([np.zeros_like(right, bool), np.ones_like(left, bool)], axis=1)
    order = np.argsort(values, axis=1, kind="stable")
    flags = np.take_along_axis(is_left, order, axis=1)
    rights_before = np.cumsum(~flags, axis=1)
    return np.where(flags, rights_before, 0).sum(axis=1)


def _random_subsets(n: int, rng: np.random.Generator) -> np.ndarray:
    """MONTE_CARLO_SUBSETS non-empty random subsets (each item in with chance 1/2) as 0/1 rows."""
    rows = rng.integers(0, 2, size=(MONTE_CARLO_SUBSETS, n)).astype(np.float64)
    empty = rows.sum(axis=1) == 0
    rows[empty, rng.integers(0, n, size=int(empty.sum()))] = 1.0
    return rows


def sign_flip_p(d: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the one-sided sign-flip p-values of "mean > 0" and of "mean < 0" (exact up to
    EXACT_MAX_N columns; beyond, over MONTE_CARLO_SUBSETS random subsets drawn from `rng`, default
    a generator seeded 0, observed pattern counted, floor 1/(B+1))."""
    d = np.atleast_2d(np.asarray(d, np.float64))
    n = d.shape[1]
    if n == 0:
        raise ValueError("sign-flip test of no values")
    if n <= EXACT_MAX_N:
        return flip_counts(d) / 2**n, flip_counts(-d) / 2**n
    rng = rng if rng is not None else np.random.default_rng(0)  # the same subsets as hartigan_interval's default
    sums = d @ _random_subsets(n, rng).T
    tol = _tolerance(d)[:, None]
    b = MONTE_CARLO_SUBSETS
    return (1 + (sums <= tol).sum(axis=1)) / (b + 1), (1 + (sums >= -tol).sum(axis=1)) / (b + 1)


def hartigan_interval(
    values: np.ndarray, rng: np.random.Generator | None = None, alpha: float = ALPHA, centre: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the k-th smallest and k-th largest of the 2^n - 1 non-empty subset means,
    k = floor(alpha 2^n) (Hartigan 1969; each bound misses a symmetric distribution's centre with
    chance k/2^n <= alpha). -inf/+inf where k = 0. Beyond EXACT_MAX_N columns, over the same random
    subsets as sign_flip_p (with the same generator state), k = floor(alpha (B+1)). The means are
    taken of values - `centre` (then shifted back), with sign_flip_p's ties snapped to 0, so that a
    bound lies above `centre` exactly where the test of "mean > centre" rejects."""
    d = np.atleast_2d(np.asarray(values, np.float64) - centre)
    n = d.shape[1]
    if n <= EXACT_MAX_N:
        masks, total = _subset_matrix(n)[1:], 2**n
    else:
        rng = rng if rng is not None else np.random.default_rng(0)
        masks, total = _random_subsets(n, rng), MONTE_CARLO_SUBSETS + 1
    k = math.floor(alpha * total)
    if k == 0:
        return np.full(len(d), -np.inf), np.full(len(d), np.inf)
    sizes, tol = masks.sum(axis=1), _tolerance(d)[:, None]
    low, high = np.empty(len(d)), np.empty(len(d))
    chunk = max(1, 2**22 // len(masks))
    for start in range(0, len(d), chunk):
        sums = d[start : start + chunk] @ masks.T
        means = np.where(np.abs(sums) <= tol[start : start + chunk], 0.0, sums) / sizes
        part = np.partition(means, [k - 1, means.shape[1] - k], axis=1)
        low[start : start + chunk], high[start : start + chunk] = part[:, k - 1], part[:, means.shape[1] - k]
    return low + centre, high + centre


def mean_test(values: np.ndarray, threshold: float = 0.0, seed: int = 0) -> Test:
    """The sign-flip test of one set of per-seed values' mean against `threshold`, both ways, and
    Hartigan's interval (a Monte Carlo one draws from a generator seeded with `seed`)."""
    v = np.asarray(values, np.float64)
    if v.ndim != 1 or not len(v):
        raise ValueError("a mean test needs a non-empty list of per-seed values")
    d = v - threshold
    p_up, p_down = sign_flip_p(d, np.random.default_rng(seed))
    low, high = hartigan_interval(v, np.random.default_rng(seed), centre=threshold)
    exact = len(v) <= EXACT_MAX_N
    p_min = 1 / 2 ** len(v) if exact else 1 / (MONTE_CARLO_SUBSETS + 1)
    return Test(len(v), float(v.mean()), threshold, float(p_up[0]), float(p_down[0]), float(low[0]), float(high[0]), p_min, not exact)


# ---------------------------------------------------------------------------------------------
# A mean share: the hull of the t interval of per-seed shares and the Wilson interval of runs


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((qam + 2 * m) * (a + 2 * m)), -(a + m) * (qab + m) * x / ((a + 2 * m) * (qap + 2 * m))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betai(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(ln) * _betacf(a, b, x) / a
    return 1.0 - math.exp(ln) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: int) -> float:
    """P(T > t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * _betai(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


@lru_cache(maxsize=64)
def t_quantile(q: float, df: int) -> float:
    """The q-quantile of Student's t (bisection on t_sf)."""
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        if 1.0 - t_sf(mid, df) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def wilson_interval(successes: np.ndarray, trials: int, z: float) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of a binomial share, with critical value z on each side."""
    p = np.asarray(successes, np.float64) / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return np.maximum(0.0, centre - half), np.minimum(1.0, centre + half)


def share_bounds(shares: np.ndarray, runs_per_seed: int, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Per row of per-seed shares (replications x seeds): the hull of the t interval of the shares'
    mean and the Wilson interval of all runs pooled, each bound one-sided at `alpha` with the t
    quantile of n - 1 degrees of freedom. The t interval knows the seeds' spread; the Wilson one
    keeps a floor where the sampled seeds happen to agree (a share near 1 is skewed)."""
    s = np.atleast_2d(np.asarray(shares, np.float64))
    n = s.shape[1]
    q = t_quantile(1 - alpha, n - 1)
    mean, half = s.mean(axis=1), q * s.std(axis=1, ddof=1) / math.sqrt(n)
    wl, wh = wilson_interval(s.sum(axis=1) * runs_per_seed, n * runs_per_seed, q)
    return np.clip(np.minimum(mean - half, wl), 0.0, 1.0), np.clip(np.maximum(mean + half, wh), 0.0, 1.0)


def share_p(shares: np.ndarray, runs_per_seed: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row of per-seed shares: the p-values of "the mean share is above `threshold`" and of
    "below it" for the share interval (both of its intervals must exclude the threshold): the
    larger of the t test's and the Wilson score test's p, both against t with n - 1 degrees of
    freedom, so that p <= alpha exactly where share_bounds excludes the threshold."""
    s = np.atleast_2d(np.asarray(shares, np.float64))
    n = s.shape[1]
    gap = s.mean(axis=1) - threshold
    sd = s.std(axis=1, ddof=1) / math.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_t = np.where(sd > 0, gap / np.where(sd > 0, sd, 1.0), np.where(gap == 0, 0.0, np.sign(gap) * np.inf))
    z_w = gap / math.sqrt(threshold * (1 - threshold) / (n * runs_per_seed))

    def sf(z: float) -> float:
        return 0.0 if z == np.inf else (1.0 if z == -np.inf else t_sf(float(z), n - 1))

    up = np.array([max(sf(a), sf(b)) for a, b in zip(z_t, z_w, strict=True)])
    down = np.array([max(sf(-a), sf(-b)) for a, b in zip(z_t, z_w, strict=True)])
    return up, down


def share_test(shares: np.ndarray, runs_per_seed: int, threshold: float) -> Test:
    """The test and interval of a mean share against `threshold` (share_bounds)."""
    s = np.asarray(shares, np.float64)
    if s.ndim != 1 or len(s) < 2:
        raise ValueError("a share test needs at least two per-seed shares")
    low, high = share_bounds(s, runs_per_seed)
    p_up, p_down = share_p(s, runs_per_seed, threshold)
    return Test(len(s), float(s.mean()), threshold, float(p_up[0]), float(p_down[0]), float(low[0]), float(high[0]), 0.0)


# ---------------------------------------------------------------------------------------------
# Ranks, Holm, and the verdict words


def ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks (0-based, ties share their mean rank) along the last axis."""
    a = np.asarray(a, np.float64)
    less = (a[..., None, :] < a[..., :, None]).sum(axis=-1)
    equal = (a[..., None, :] == a[..., :, None]).sum(axis=-1)
    return less + (equal - 1) / 2.0


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation of x with each row of y (last axis), average ranks for ties; 0 where
    either side is constant (a size that is the same at every sample count does not grow)."""
    rx, ry = ranks(np.broadcast_to(np.asarray(x, np.float64), np.shape(y))), ranks(y)
    rx, ry = rx - rx.mean(axis=-1, keepdims=True), ry - ry.mean(axis=-1, keepdims=True)
    den = np.sqrt((rx * rx).sum(axis=-1) * (ry * ry).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(axis=-1) / np.where(den > 0, den, 1.0), 0.0)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation of two sequences (spearman_rows of one row)."""
    return float(spearman_rows(np.asarray(x, float), np.asarray(y, float)[None, :])[0])


def holm(p: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Holm's step-down rejections over the last axis (True where rejected at family level alpha)."""
    p = np.asarray(p, np.float64)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(p, order, axis=-1)
    passes = sorted_p <= alpha / (m - np.arange(m))
    keep = np.cumprod(passes, axis=-1).astype(bool)  # stop at the first step that does not reject
    out = np.zeros_like(keep)
    np.put_along_axis(out, order, keep, axis=-1)
    return out


def holm_adjusted(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values of one family (the smallest family level at which each is rejected)."""
    p = np.asarray(p, np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def word(direction: int) -> str:
    """+1 / -1 / 0 as holds / fails / inconclusive."""
    return {1: HOLDS, -1: FAILS}.get(direction, INCONCLUSIVE)


def with_seed_floor(verdict: str, n_seeds: int) -> str:
    """Every verdict is `inconclusive (n < 6)` with fewer than MIN_SEEDS seeds."""
    return f"{INCONCLUSIVE} (n < {MIN_SEEDS})" if n_seeds < MIN_SEEDS else verdict
