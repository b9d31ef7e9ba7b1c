"""The verdict rule of each claim (docs/method.md, "Verdicts and uncertainty"), vectorised over
replications: arrays of per-seed values in, a direction per replication out (+1 holds, -1 fails,
0 inconclusive). bdnn.analysis.verdicts applies them to one data set (one row);
tests/test_calibration.py to thousands of simulated ones, so the rule that is calibrated is the
rule that decides.

Shapes: R replications, n seeds, K sample counts, m comparisons.
"""

from __future__ import annotations

import numpy as np

from bdnn.analysis.stats import ALPHA, MIN_SEEDS, hartigan_interval, holm, share_bounds, share_p, sign_flip_p, spearman_rows

THRESHOLD = 0.8  # claims 1 and 2: the share of interior peaks and the Spearman must reach it


def _floor(direction: np.ndarray, n: int) -> np.ndarray:
    """No verdict below MIN_SEEDS seeds."""
    return direction if n >= MIN_SEEDS else np.zeros_like(direction)


def _directions(up: np.ndarray, down: np.ndarray) -> np.ndarray:
    return np.where(up, 1, np.where(down, -1, 0))


def claim1(shares: np.ndarray, runs_per_seed: int, alpha: float = ALPHA) -> np.ndarray:
    """Shares (R, n) of each seed's runs with an interior F peak: holds where the mean share is
    above THRESHOLD by the share test, fails where it is below."""
    p_up, p_down = share_p(shares, runs_per_seed, THRESHOLD)
    return _floor(_directions(p_up <= alpha, p_down <= alpha), np.shape(shares)[-1])


def claim1_interval(shares: np.ndarray, runs_per_seed: int) -> np.ndarray:
    """Claim 1 read from its interval (the same verdicts as claim1)."""
    low, high = share_bounds(shares, runs_per_seed)
    return _floor(_directions(low > THRESHOLD, high < THRESHOLD), np.shape(shares)[-1])


def seed_spearmans(counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per seed, the Spearman between sample count and size: sizes (R, n, K) -> (R, n)."""
    return spearman_rows(np.asarray(counts, np.float64), sizes)


def claim2(counts: np.ndarray, sizes: np.ndarray, centre: str = "mean", alpha: float = ALPHA) -> np.ndarray:
    """Sizes (R, n, K) at the F peak: holds where the Spearman between the counts and the sizes'
    `centre` over seeds (mean, or median for a censored statistic) reaches THRESHOLD and the
    sign-flip test of the per-seed Spearmans rejects upwards; fails where it rejects downwards."""
    rho = seed_spearmans(counts, sizes)
    p_up, p_down = sign_flip_p(rho)
    trend = spearman_rows(counts, _centre(sizes, centre)) >= THRESHOLD
    return _floor(_directions((p_up <= alpha) & trend, p_down <= alpha), np.shape(sizes)[-2])


def claim2_interval(counts: np.ndarray, sizes: np.ndarray, centre: str = "mean") -> np.ndarray:
    """Claim 2 read from the interval of the mean per-seed Spearman."""
    low, high = hartigan_interval(seed_spearmans(counts, sizes))
    trend = spearman_rows(counts, _centre(sizes, centre)) >= THRESHOLD
    return _floor(_directions((low > 0) & trend, high < 0), np.shape(sizes)[-2])


def _centre(sizes: np.ndarray, centre: str) -> np.ndarray:
    if centre == "median":
        return np.median(sizes, axis=-2)
    if centre == "mean":
        return np.mean(sizes, axis=-2)
    raise ValueError(f"centre must be mean or median, not {centre!r}")


def count_rule(differences: np.ndarray) -> np.ndarray:
    """Claim 3's count rule on differences (R, n, K) (bigger minus smaller network): the mean over
    seeds is positive at every count, or at all but one."""
    k = np.shape(differences)[-1]
    return (np.mean(differences, axis=-2) > 0).sum(axis=-1) >= k - 1


def claim3(differences: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Differences (R, n, K): holds where the count rule holds and the sign-flip test of the
    per-seed means over counts rejects upwards; fails where it rejects downwards."""
    p_up, p_down = sign_flip_p(np.mean(differences, axis=-1))
    return _floor(_directions(count_rule(differences) & (p_up <= alpha), p_down <= alpha), np.shape(differences)[-2])


def claim3_interval(differences: np.ndarray) -> np.ndarray:
    """Claim 3 read from the interval of the mean per-seed difference."""
    low, high = hartigan_interval(np.mean(differences, axis=-1))
    return _floor(_directions(count_rule(differences) & (low > 0), high < 0), np.shape(differences)[-2])


def comparison(differences: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """One comparison of claim 4, per-seed differences (R, n) (control minus developed): holds
    where the sign-flip test rejects upwards, fails where it rejects downwards."""
    p_up, p_down = sign_flip_p(differences)
    return _floor(_directions(p_up <= alpha, p_down <= alpha), np.shape(differences)[-1])


def comparison_interval(differences: np.ndarray) -> np.ndarray:
    """One comparison read from Hartigan's interval."""
    low, high = hartigan_interval(differences)
    return _floor(_directions(low > 0, high < 0), np.shape(differences)[-1])


def whole(p_up: np.ndarray, p_down: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Claim 4 as a whole from its m comparisons' one-sided p-values (..., m): holds where every
    comparison holds (an intersection-union test), fails where Holm's procedure over the m tests
    in the other direction rejects any, inconclusive otherwise. A comparison with too few seeds
    to hold comes in with p_up = 1."""
    holds = (np.asarray(p_up) <= alpha).all(axis=-1)
    fails = holm(p_down, alpha).any(axis=-1)
    return _directions(holds & ~fails, fails)


def claim4(differences: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Claim 4 as a whole over m comparisons with the same seeds, differences (R, n, m): `whole`
    on the comparisons' sign-flip tests."""
    d = np.asarray(differences, np.float64)
    r, n, m = d.shape
    flat = np.moveaxis(d, -1, 1).reshape(r * m, n)  # (R m, n): one row per comparison
    p_up, p_down = (p.reshape(r, m) for p in sign_flip_p(flat))
    return _floor(whole(p_up, p_down, alpha), n)


def family(differences: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """A family of m comparisons with the same seeds, differences (R, n, m) (the method minus each
    baseline): per comparison, holds where Holm's procedure over the m upward sign-flip tests
    rejects it, fails where Holm over the m downward tests does; (R, m) directions."""
    d = np.asarray(differences, np.float64)
    r, n, m = d.shape
    flat = np.moveaxis(d, -1, 1).reshape(r * m, n)
    p_up, p_down = (p.reshape(r, m) for p in sign_flip_p(flat))
    return _floor(_directions(holm(p_up, alpha), holm(p_down, alpha)), n)


def family_interval(differences: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """The family read from each comparison's Hartigan interval at the Bonferroni level alpha / m
    (simultaneous coverage of the m means >= 1 - 2 alpha): an interval clear of 0 implies the Holm
    verdict in `family` (Holm rejects whatever Bonferroni does); (R, m) directions."""
    d = np.asarray(differences, np.float64)
    r, n, m = d.shape
    low, high = (b.reshape(r, m) for b in hartigan_interval(np.moveaxis(d, -1, 1).reshape(r * m, n), alpha=alpha / m))
    return _floor(_directions(low > 0, high < 0), n)


MIN_COUNTS = 4  # a censored trend is read on at least this many uncensored counts


def uncensored(sizes: np.ndarray, cap: float) -> np.ndarray:
    """Per replication, the counts (K) that are not censored: fewer than half of the seeds at the
    cap. sizes (R, n, K) -> bool (R, K)."""
    return (np.asarray(sizes) >= cap).mean(axis=-2) < 0.5


def claim2_censored(counts: np.ndarray, sizes: np.ndarray, cap: float, alpha: float = ALPHA) -> np.ndarray:
    """Claim 2 on a statistic capped at `cap` (the widest trainable width of claim 2'): censored
    counts dropped, the rest read by `claim2` with the median as centre (capped values tie at the
    top); 0 (n/a) where any count was censored and fewer than MIN_COUNTS remain."""
    s = np.asarray(sizes, np.float64)
    keep = uncensored(s, cap)
    out = np.zeros(len(s), dtype=int)
    for mask in np.unique(keep, axis=0):  # replications censored alike are read together
        rows = (keep == mask).all(axis=-1)
        if mask.all() or mask.sum() >= MIN_COUNTS:
            out[rows] = claim2(np.asarray(counts)[mask], s[rows][:, :, mask], "median", alpha)
    return out
