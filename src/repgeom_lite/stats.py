"""Statistics for replications: bootstrap intervals, permutation tests, paired differences, factor attribution.

Everything here is a pure function of arrays with an explicit ``seed``; results are
frozen dataclasses.

Intervals over seeds (or strata)
    :func:`bootstrap_ci` (percentile bootstrap of any statistic of per-seed values
    ``(n, ...)``; rows resampled, or whole clusters with ``clusters=``),
    :func:`by_group` (mean, sd and interval per group, e.g. per activation),
    :func:`paired_difference` (two conditions measured on the same seeds).
    :func:`pairwise_bootstrap_ci` (a measure between two seeds, e.g. APC or CKA, averaged over
    all pairs; seeds resampled) and :func:`interior_peak_test` (does a curve peak inside its
    range? location chosen on some seeds, intersection–union test on the others).
Tests
    :func:`permutation_test` (two samples, labels shuffled) and
    :func:`paired_permutation_test` (sign flips of paired differences), both through
    :func:`scipy.stats.permutation_test`.
Factor attribution (which factor of a crossed grid moves representational geometry)
    :func:`factor_effects` (matched pairs that differ in one factor, their
    dissimilarity against the *seed floor* and their *systematic shift*),
    :func:`two_factor_effects`, :func:`comparable_accuracy` (do networks of the same
    accuracy share a geometry?), :func:`seed_floor` (``1 − ρ`` between two seeds of one
    configuration). Inputs are a matrix ``ρ`` of RDM correlations between networks,
    ``(m, m)`` (:func:`repgeom_lite.metrics.rsa_matrix`), or the RDMs ``(m, P, P)``
    themselves (Spearman ``ρ`` is then computed), factor levels ``(m, F)`` and floor
    dissimilarities ``(k,)``.

Why the bootstrap is hand-written rather than :func:`scipy.stats.bootstrap`: the
factor-attribution statistics resample *strata* and reuse one resampling for
several statistics (pair dissimilarity, shift, floor), which scipy cannot express;
:func:`bootstrap_ci` also offers cluster resampling and returns NaN bounds rather
than failing for a single seed (a small preset may run one). For the plain
percentile interval of a mean it agrees with scipy's ``method="percentile"``
(``tests/test_stats.py`` checks this). Permutation tests do use scipy, which also
makes them exact when all permutations fit in ``n_perm``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "slope",
    "halfway_crossing",
    "crossing_ci",
    "Interval",
    "bootstrap_ci",
    "GroupSummary",
    "by_group",
    "paired_difference",
    "PermutationResult",
    "permutation_test",
    "paired_permutation_test",
    "seed_floor",
    "FactorEffects",
    "factor_effects",
    "TwoFactorEffects",
    "two_factor_effects",
    "ComparableAccuracy",
    "comparable_accuracy",
    "pairwise_bootstrap_ci",
    "InteriorPeak",
    "interior_peak_test",
    "eta_squared",
    "matched_pairs",
]

_ALTERNATIVES = ("two-sided", "greater", "less")


# ----------------------------------------------------------------------------- validation


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
        raise ValueError(f"level must be a number in (0, 1), e.g. 0.95; got {level!r}")
    return float(level)


def _check_values(values: Any, name: str = "values") -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError(f"{name} must have shape (n,) or (n, ...); got a scalar")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty; need at least one value per seed")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf; drop those seeds first (e.g. x[np.isfinite(x)])")
    return x


# ----------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class Interval:
    """An estimate with its bootstrap interval.

    Attributes
    ----------
    estimate : float or ndarray (...)
        The statistic on the observed values.
    lo, hi : float or ndarray (...)
        Percentile-bootstrap bounds (``(1 − level) / 2`` and ``(1 + level) / 2``
        quantiles of the resampled statistic). NaN when ``n < 2``.
    level : float
        Confidence level, e.g. 0.95.
    n : int
        Resampled units (seeds, or clusters).
    sd : float or ndarray (...)
        Standard deviation of the resampled statistic (bootstrap standard error).
    """

    estimate: Any
    lo: Any
    hi: Any
    level: float
    n: int
    sd: Any

    def contains(self, value: float) -> Any:
        """``lo <= value <= hi`` (elementwise for array intervals)."""
        return (np.asarray(self.lo) <= value) & (value <= np.asarray(self.hi))


def _mean(x: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(x, axis=axis)


def _interval(estimate, boot: np.ndarray, level: float, n: int) -> Interval:
    """Percentile interval from resampled statistics ``boot: (n_boot, ...)``."""
    alpha = (1.0 - level) / 2.0
    lo, hi = np.percentile(boot, [100 * alpha, 100 * (1 - alpha)], axis=0)
    sd = np.std(boot, axis=0, ddof=1) if boot.shape[0] > 1 else np.zeros_like(lo)
    scalar = np.ndim(estimate) == 0
    as_out = (lambda v: float(v)) if scalar else np.asarray
    return Interval(as_out(estimate), as_out(lo), as_out(hi), level, n, as_out(sd))


def _nan_interval(estimate, level: float, n: int) -> Interval:
    """One unit: the estimate without an interval."""
    if np.ndim(estimate) == 0:
        return Interval(float(estimate), math.nan, math.nan, level, n, math.nan)
    nan = np.full(np.shape(estimate), np.nan)
    return Interval(np.asarray(estimate), nan, nan.copy(), level, n, nan.copy())


def bootstrap_ci(
    values: Any,
    statistic: Callable[..., Any] = _mean,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    clusters: Any = None,
) -> Interval:
    """Percentile-bootstrap interval of ``statistic`` over seeds (rows) or clusters.

    Parameters
    ----------
    values : (n, ...) array
        One row per seed (or network); trailing axes are kept (one interval per entry).
    statistic : callable ``statistic(x, axis) -> (...)``
        A reduction over ``axis`` (default: the mean), e.g. ``np.median``. It is
        called once on ``(n_boot, n, ...)`` with ``axis=1`` when rows are resampled.
    level : float in (0, 1)
    n_boot : int >= 1
        Bootstrap resamples.
    seed : int
        Seed of ``numpy.random.default_rng``.
    clusters : (n,) array, optional
        Cluster label of each row (e.g. the stratum, or the configuration when several
        seeds share one): whole clusters are resampled with replacement, and ``n`` is the
        number of clusters; the statistic is then called on each resample with
        ``axis=0``.

    Returns
    -------
    Interval
        ``estimate = statistic(values, axis=0)``; for ``n == 1`` (one seed or cluster)
        ``lo``, ``hi`` and ``sd`` are NaN: one value says nothing about its spread.

    Raises
    ------
    ValueError
        Empty or non-finite ``values``; ``level`` outside (0, 1); ``n_boot`` < 1;
        ``clusters`` of the wrong shape.
    """
    x = _check_values(values)
    level = _check_level(level)
    n_boot = _check_int("n_boot", n_boot, 1)
    estimate = statistic(x, axis=0)
    rng = np.random.default_rng(seed)
    if clusters is None:
        n = x.shape[0]
        if n < 2:
            return _nan_interval(estimate, level, n)
        idx = rng.integers(0, n, (n_boot, n))
        boot = np.asarray(statistic(x[idx], axis=1))
        return _interval(estimate, boot, level, n)
    labels = np.asarray(clusters)
    if labels.shape != (x.shape[0],):
        raise ValueError(f"clusters must have shape ({x.shape[0]},), one label per row; got {labels.shape}")
    _, inverse = np.unique(labels, return_inverse=True)
    members = [np.flatnonzero(inverse.ravel() == c) for c in range(int(inverse.max()) + 1)]
    n = len(members)
    if n < 2:
        return _nan_interval(estimate, level, n)
    boot = np.stack([
        np.asarray(statistic(x[np.concatenate([members[c] for c in draw])], axis=0))
        for draw in rng.integers(0, n, (n_boot, n))
    ])
    return _interval(estimate, boot, level, n)


@dataclass(frozen=True)
class GroupSummary:
    """Mean, sd and bootstrap interval of the mean per group.

    Attributes
    ----------
    labels : tuple
        Group labels in order of first appearance.
    n : (G,) int array
        Values per group.
    mean, sd, lo, hi : (G, ...) arrays
        Mean, sample standard deviation (``ddof=1``; NaN for one value) and the
        percentile-bootstrap interval of the mean (NaN for one value).
    level : float
    """

    labels: tuple
    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    level: float

    def __getitem__(self, label: Any) -> Interval:
        """The group's :class:`Interval` (``sd`` is the sample sd, not the bootstrap one)."""
        if label not in self.labels:
            raise ValueError(f"unknown group {label!r}; valid: {', '.join(map(str, self.labels))}")
        g = self.labels.index(label)
        scalar = self.mean.ndim == 1
        get = (lambda a: float(a[g])) if scalar else (lambda a: a[g])
        return Interval(get(self.mean), get(self.lo), get(self.hi), self.level, int(self.n[g]), get(self.sd))

    def table(self):
        """A :class:`pandas.DataFrame`, one row per group (scalar values only)."""
        import pandas as pd

        if self.mean.ndim != 1:
            raise ValueError("table() needs one value per seed; got values with trailing axes")
        return pd.DataFrame({"n": self.n, "mean": self.mean, "sd": self.sd, f"{self.level:.0%} lo": self.lo,
                             f"{self.level:.0%} hi": self.hi}, index=pd.Index(list(self.labels), name="group"))


def by_group(
    values: Any,
    groups: Sequence[Any],
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> GroupSummary:
    """Summarise per-seed values by group: ``rgl.stats.by_group(ta[:, -1], [c.activation for c in configs])``.

    Parameters
    ----------
    values : (n, ...) array
    groups : sequence of length n
        Group label of each row (hashable).
    level, n_boot : see :func:`bootstrap_ci`
    seed : int
        Each group gets its own stream, ``SeedSequence(seed).spawn``, in label order.

    Returns
    -------
    GroupSummary

    Raises
    ------
    ValueError
        ``groups`` not of length ``n``, plus the errors of :func:`bootstrap_ci`.
    """
    x = _check_values(values)
    labels = list(groups)
    if len(labels) != x.shape[0]:
        raise ValueError(f"groups must give one label per row of values ({x.shape[0]}); got {len(labels)}")
    order = list(dict.fromkeys(labels))
    seeds = np.random.SeedSequence(seed).spawn(len(order))
    n, mean, sd, lo, hi = [], [], [], [], []
    for g, ss in zip(order, seeds):
        xg = x[[i for i, lab in enumerate(labels) if lab == g]]
        iv = bootstrap_ci(xg, level=level, n_boot=n_boot, seed=int(ss.generate_state(1)[0]))
        n.append(xg.shape[0])
        mean.append(iv.estimate)
        sd.append(np.std(xg, axis=0, ddof=1) if xg.shape[0] > 1 else np.full(x.shape[1:], np.nan))
        lo.append(iv.lo)
        hi.append(iv.hi)
    return GroupSummary(tuple(order), np.array(n), np.array(mean, dtype=float), np.array(sd, dtype=float),
                        np.array(lo, dtype=float), np.array(hi, dtype=float), _check_level(level))


def paired_difference(
    a: Any,
    b: Any,
    *,
    statistic: Callable[..., Any] = _mean,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Interval:
    """``statistic(a − b)`` over seeds, with a bootstrap interval resampling seeds (pairs kept together).

    Parameters
    ----------
    a, b : (n, ...) arrays
        The same seeds (rows) measured in two conditions (e.g. tanh and ReLU networks
        trained from seed ``i``).
    statistic, level, n_boot, seed : see :func:`bootstrap_ci`

    Returns
    -------
    Interval
        Of the mean (default) paired difference ``a − b``.

    Raises
    ------
    ValueError
        ``a`` and ``b`` of different shapes, plus the errors of :func:`bootstrap_ci`.
    """
    A, B = _check_values(a, "a"), _check_values(b, "b")
    if A.shape != B.shape:
        raise ValueError(f"a and b must have the same shape (paired by seed); got {A.shape} and {B.shape}")
    return bootstrap_ci(A - B, statistic, level=level, n_boot=n_boot, seed=seed)


# ----------------------------------------------------------------------------- permutation tests


@dataclass(frozen=True)
class PermutationResult:
    """A permutation test.

    Attributes
    ----------
    statistic : float
        Observed statistic (mean difference).
    p_value : float
        Exact when every permutation fits in ``n_perm``, else ``(k + 1) / (n_perm + 1)``
        with ``k`` resamples at least as extreme (never 0).
    n_perm : int
    alternative : str
        ``"two-sided"``, ``"greater"`` (``x`` larger) or ``"less"``.
    """

    statistic: float
    p_value: float
    n_perm: int
    alternative: str


def _check_test_args(alternative: str, n_perm: int) -> int:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(_ALTERNATIVES)}; got {alternative!r}")
    return _check_int("n_perm", n_perm, 1)


def _scipy_rng(fn: Callable, seed: int) -> dict:
    """``rng=`` (scipy >= 1.15) or ``random_state=`` (older scipy) for a scipy resampling function."""
    import inspect

    key = "rng" if "rng" in inspect.signature(fn).parameters else "random_state"
    return {key: np.random.default_rng(seed)}


def _1d(values: Any, name: str, minimum: int) -> np.ndarray:
    x = _check_values(values, name)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (n,); got shape {x.shape}")
    if x.size < minimum:
        raise ValueError(f"{name} needs at least {minimum} values; got {x.size}")
    return x


def permutation_test(
    x: Any,
    y: Any,
    *,
    alternative: str = "two-sided",
    n_perm: int = 9999,
    seed: int = 0,
) -> PermutationResult:
    """Two-sample permutation test of ``mean(x) − mean(y)`` (group labels shuffled).

    Parameters
    ----------
    x : (n_x,) array
    y : (n_y,) array
        Independent samples (e.g. per-seed values of two activations trained from
        unrelated seeds); at least one value each.
    alternative : {"two-sided", "greater", "less"}
    n_perm : int
        Random relabellings (:func:`scipy.stats.permutation_test`, exact if fewer
        distinct ones exist).
    seed : int

    Returns
    -------
    PermutationResult

    Raises
    ------
    ValueError
        Not 1-D, empty or non-finite samples; bad ``alternative`` or ``n_perm``.
    """
    from scipy import stats as sps

    n_perm = _check_test_args(alternative, n_perm)
    X, Y = _1d(x, "x", 1), _1d(y, "y", 1)
    res = sps.permutation_test(
        (X, Y), lambda u, v, axis: np.mean(u, axis=axis) - np.mean(v, axis=axis), permutation_type="independent",
        vectorized=True, n_resamples=n_perm, alternative=alternative, **_scipy_rng(sps.permutation_test, seed),
    )
    return PermutationResult(float(res.statistic), float(res.pvalue), n_perm, alternative)


def paired_permutation_test(
    a: Any,
    b: Any,
    *,
    alternative: str = "two-sided",
    n_perm: int = 9999,
    seed: int = 0,
) -> PermutationResult:
    """Paired (sign-flip) permutation test of ``mean(a − b)``: under H0 each pair may be swapped.

    Parameters
    ----------
    a, b : (n,) arrays
        The same seeds in two conditions; at least 2 pairs.
    alternative, n_perm, seed : see :func:`permutation_test`

    Returns
    -------
    PermutationResult

    Raises
    ------
    ValueError
        Shapes that differ, fewer than 2 pairs, non-finite values, bad ``alternative``
        or ``n_perm``.
    """
    from scipy import stats as sps

    n_perm = _check_test_args(alternative, n_perm)
    A, B = _1d(a, "a", 2), _1d(b, "b", 2)
    if A.shape != B.shape:
        raise ValueError(f"a and b must have the same shape (paired by seed); got {A.shape} and {B.shape}")
    res = sps.permutation_test(
        (A, B), lambda u, v, axis: np.mean(u - v, axis=axis), permutation_type="samples", vectorized=True,
        n_resamples=n_perm, alternative=alternative, **_scipy_rng(sps.permutation_test, seed),
    )
    return PermutationResult(float(res.statistic), float(res.pvalue), n_perm, alternative)


# ----------------------------------------------------------------------------- factor attribution


def _as_rho(rho: Any) -> np.ndarray:
    """A ``(m, m)`` ρ matrix as given, or ``(m, P, P)`` RDMs turned into Spearman ρ."""
    R = np.asarray(rho, dtype=np.float64)
    if R.ndim == 3:
        from .metrics import rsa_matrix

        return np.asarray(rsa_matrix(R, method="spearman"), dtype=np.float64)
    return R


def seed_floor(rdms_a: Any, rdms_b: Any, method: str = "spearman") -> np.ndarray:
    """Dissimilarity ``1 − ρ`` between the RDMs of two seeds of the same configurations.

    Parameters
    ----------
    rdms_a, rdms_b : (k, P, P) arrays
        RDM of configuration ``i`` trained from one seed (``rdms_a[i]``) and another
        (``rdms_b[i]``).
    method : str
        RDM comparison of :func:`repgeom_lite.metrics.compare_rdms` (``"spearman"``).

    Returns
    -------
    (k,) array
        The *seed floor*: how much geometry moves with the seed alone, the baseline
        that a factor's effect is compared with (:func:`factor_effects`).

    Raises
    ------
    ValueError
        Shapes other than two equal ``(k, P, P)``.
    """
    from .metrics import compare_rdms

    A, B = np.asarray(rdms_a, dtype=np.float64), np.asarray(rdms_b, dtype=np.float64)
    if A.ndim != 3 or A.shape != B.shape:
        raise ValueError(f"rdms_a and rdms_b must both have shape (k, P, P); got {A.shape} and {B.shape}")
    return 1.0 - np.asarray(compare_rdms(A, B, method=method), dtype=np.float64).reshape(A.shape[0])


@dataclass(frozen=True)
class FactorEffects:
    """How much each factor moves the hidden-layer geometry, against the seed floor.

    Two numbers per factor, both in units of RDM dissimilarity ``1 − Spearman ρ``:

    * **pair dissimilarity** ``mean``: the average ``1 − ρ`` over pairs of
      networks that differ in this factor only. Every network has its own seed, so
      this includes seed noise; ``excess = mean − floor_mean`` removes it on average.
    * **systematic shift** ``shift``: the part of the change that points the same way
      in every setting of the other factors. With ``z`` the ranked, centred, unit-norm
      RDM vectors (``z_a · z_b = ρ_ab``) and ``δ_s = z_a − z_b`` the matched difference in
      stratum ``s`` (one setting of the other factors), ``shift = Σ_{s≠t} δ_s · δ_t /
      (2 n (n − 1))``, an unbiased estimate of ``||E δ||² / 2`` (a U-statistic): seed noise,
      independent across strata, averages out instead of adding up. For factors with
      more than two levels it is averaged over level pairs, weighted by their ``n``.

    Attributes
    ----------
    factors : tuple of str
    mean, ci_low, ci_high, sd : (F,) arrays
        Pair dissimilarity, its 95 % percentile-bootstrap interval and bootstrap sd
        (strata resampled). NaN: no pair.
    excess, excess_low, excess_high : (F,) arrays
        ``mean − floor_mean`` and its 95 % interval (floor pairs resampled independently).
    shift, shift_low, shift_high, shift_sd : (F,) arrays
        Systematic shift, its 95 % interval and bootstrap sd (strata resampled;
        duplicated strata are not paired with themselves).
    p_value : (F,) array
        Permutation test of ``shift``: the factor's levels are shuffled among the
        networks of each stratum (H0: the factor does not move geometry); one-sided.
    n_pairs, n_strata : (F,) int arrays
        Matched pairs, and strata with at least one pair.
    floor_mean, floor_sd : float
        Mean seed-pair dissimilarity and its bootstrap sd.
    floor_ci : (2,) array
    n_floor : int
    level_pairs, level_pairs_sd : tuple of (L_f, L_f) arrays
        Systematic shift between each pair of levels and its bootstrap sd (symmetric;
        NaN on the diagonal and where fewer than two strata have both levels).
    """

    factors: tuple[str, ...]
    mean: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    sd: np.ndarray
    excess: np.ndarray
    excess_low: np.ndarray
    excess_high: np.ndarray
    shift: np.ndarray
    shift_low: np.ndarray
    shift_high: np.ndarray
    shift_sd: np.ndarray
    p_value: np.ndarray
    n_pairs: np.ndarray
    n_strata: np.ndarray
    floor_mean: float
    floor_sd: float
    floor_ci: np.ndarray
    n_floor: int
    level_pairs: tuple[np.ndarray, ...]
    level_pairs_sd: tuple[np.ndarray, ...]

    def index(self, factor: str) -> int:
        """Position of ``factor`` (ValueError listing the valid names otherwise)."""
        if factor not in self.factors:
            raise ValueError(f"unknown factor {factor!r}; valid: {', '.join(self.factors)}")
        return self.factors.index(factor)


def _factor_names(factors: Sequence[str] | None, F: int) -> tuple[str, ...]:
    return tuple(f"factor {k}" for k in range(F)) if factors is None else tuple(factors)


def _check_effect_inputs(rho: np.ndarray, levels: np.ndarray, floor: np.ndarray, factors: Sequence[str] | None):
    rho = _as_rho(rho)
    levels = np.asarray(levels)
    floor = np.asarray(floor, dtype=np.float64).ravel()
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1]:
        raise ValueError(f"rho must be a square (m, m) matrix of RDM correlations (or RDMs (m, P, P)); "
                         f"got shape {rho.shape}")
    if not np.all(np.isfinite(rho)):
        raise ValueError("rho contains NaN or inf")
    if not np.allclose(rho, rho.T):
        raise ValueError("rho must be symmetric")
    if levels.ndim != 2 or levels.shape[0] != rho.shape[0]:
        raise ValueError(f"levels must be (m, F) with m = {rho.shape[0]}; got shape {levels.shape}")
    if not np.issubdtype(levels.dtype, np.integer) or (levels.size and levels.min() < 0):
        raise ValueError("levels must hold integer level indices >= 0")
    if factors is not None and len(factors) != levels.shape[1]:
        raise ValueError(f"factors must name the {levels.shape[1]} columns of levels; got {len(factors)}")
    if floor.size < 2 or not np.all(np.isfinite(floor)):
        raise ValueError(f"floor must hold at least 2 finite seed-pair dissimilarities; got {floor.size}")
    return rho, levels, floor


def _stratum_table(levels: np.ndarray, f: int) -> np.ndarray:
    """``N: (S, L)``: network at level ``l`` of factor ``f`` in stratum ``s`` (-1: none).

    A stratum is one setting of the other factors; each holds at most one network per level.
    """
    L = int(levels[:, f].max()) + 1
    others = np.delete(levels, f, axis=1)
    _, stratum = np.unique(others, axis=0, return_inverse=True)
    stratum = stratum.ravel()
    N = np.full((int(stratum.max()) + 1, L), -1)
    if np.any(np.bincount(stratum * L + levels[:, f], minlength=N.size) > 1):
        raise ValueError("two networks share all factor levels; give each configuration once")
    N[stratum, levels[:, f]] = np.arange(levels.shape[0])
    return N


def _shift_gram(rho: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``G_st = δ_s · δ_t`` with ``δ_s = z_{A_s} − z_{B_s}``, from the correlation matrix: ``(n, n)``."""
    return rho[np.ix_(A, A)] - rho[np.ix_(A, B)] - rho[np.ix_(B, A)] + rho[np.ix_(B, B)]


def _shift_stat(rho: np.ndarray, N: np.ndarray) -> tuple[float, int, dict]:
    """Systematic shift of one factor from its stratum table: (weighted mean, total n, per level pair)."""
    L = N.shape[1]
    num, den, per = 0.0, 0, {}
    for a in range(L):
        for b in range(a + 1, L):
            ok = (N[:, a] >= 0) & (N[:, b] >= 0)
            n = int(ok.sum())
            if n < 2:
                continue
            G = _shift_gram(rho, N[ok, a], N[ok, b])
            u = (G.sum() - np.trace(G)) / (2.0 * n * (n - 1))
            per[(a, b)] = (u, n)
            num += u * n
            den += n
    return (num / den if den else float("nan")), den, per


def _shuffle_within_rows(N: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomly reassign each row's networks to that row's occupied levels."""
    missing = N < 0
    keys = rng.random(N.shape)
    keys[missing] = np.inf
    picked = np.take_along_axis(N, np.argsort(keys, axis=1), axis=1)  # occupied first, random order
    slots = np.argsort(missing, axis=1, kind="stable")  # occupied positions first, in order
    out = np.empty_like(N)
    np.put_along_axis(out, slots, picked, axis=1)
    out[missing] = -1
    return out


def _shift_p_value(rho: np.ndarray, N: np.ndarray, observed: float, n_perm: int, rng: np.random.Generator,
                   block: int = 100) -> float:
    """One-sided permutation p-value of the systematic shift (levels shuffled within strata).

    For a level pair with matched networks ``A_s, B_s``, ``Σ_{s≠t} δ_s·δ_t = vᵀ ρ v − Σ_s ||δ_s||²``
    with ``v`` = +1 at the ``A_s``, −1 at the ``B_s``. A shuffle only changes which networks
    of each stratum sit at ``a`` and ``b``, so ``block`` shuffles at a time are one matrix
    product ``V ρ_sub`` on the networks of the strata involved. Two levels: a shuffle swaps
    or keeps each pair, i.e. random signs on ``δ_s`` (the same formula).
    """
    S, L = N.shape
    pairs = []
    for a in range(L):
        for b in range(a + 1, L):
            ok = (N[:, a] >= 0) & (N[:, b] >= 0)
            if ok.sum() >= 2:
                pairs.append((a, b, ok))
    if not pairs:
        return float("nan")
    exceed = 0
    for start in range(0, n_perm, block):
        B = min(block, n_perm - start)
        tables = np.stack([_shuffle_within_rows(N, rng) for _ in range(B)])  # (B, S, L)
        num = np.zeros(B)
        den = 0
        for a, b, ok in pairs:
            n = int(ok.sum())
            members = np.unique(N[ok][N[ok] >= 0])  # every network of the strata involved
            pos = np.full(rho.shape[0], -1)
            pos[members] = np.arange(members.size)
            sub = rho[np.ix_(members, members)]
            Ap, Bp = pos[tables[:, ok, a]], pos[tables[:, ok, b]]  # (B, n) positions in sub
            V = np.zeros((B, members.size))
            rows = np.repeat(np.arange(B), n)
            np.add.at(V, (rows, Ap.ravel()), 1.0)
            np.add.at(V, (rows, Bp.ravel()), -1.0)
            quad = ((V @ sub) * V).sum(axis=1)
            diag = np.diag(sub)
            trace = (diag[Ap] + diag[Bp] - 2.0 * sub[Ap, Bp]).sum(axis=1)
            num += (quad - trace) / (2.0 * (n - 1))  # = u * n
            den += n
        exceed += int(np.sum(num / den >= observed - 1e-12))
    return (exceed + 1) / (n_perm + 1)


def factor_effects(
    rho: np.ndarray,
    levels: np.ndarray,
    floor: np.ndarray,
    factors: Sequence[str] | None = None,
    *,
    n_boot: int = 1000,
    n_perm: int = 2000,
    seed: int = 0,
) -> FactorEffects:
    """Matched-pair factor effects on geometry: pair dissimilarity, systematic shift, tests.

    For factor ``f``, the networks are grouped into strata (settings of the other
    factors); two networks of one stratum differ in ``f`` only. See
    :class:`FactorEffects` for the two statistics. Bootstrap: strata are resampled
    with replacement (one resampling shared by all statistics of a factor), floor
    pairs independently. Permutation test: the levels of ``f`` are shuffled among the
    networks of each stratum, and the systematic shift recomputed.

    Parameters
    ----------
    rho : (m, m) array, or (m, P, P) RDMs
        Spearman correlations between the networks' RDMs
        (:func:`repgeom_lite.metrics.rsa_matrix`), so that ``1 − rho`` is the
        dissimilarity and ``rho`` the Gram matrix of the ranked, normalised RDM
        vectors; RDMs are converted with ``rsa_matrix(rdms, method="spearman")``.
    levels : (m, F) int array
        Level index of each factor for each network; each combination at most once.
    floor : (k,) array
        Seed-pair dissimilarities ``1 − ρ`` (same configuration, two seeds).
    factors : sequence of str, length F, optional
        Factor names (default ``"factor 0"``, ``"factor 1"``, ...).
    n_boot, n_perm : int
        Bootstrap and permutation resamples.
    seed : int
        Seed of the resampling (``numpy.random.default_rng``).

    Returns
    -------
    FactorEffects

    Raises
    ------
    ValueError
        Shapes that do not match, non-integer or duplicated levels, fewer than 2
        floor values, NaN/inf, or ``n_boot``/``n_perm`` < 1.
    """
    rho, levels, floor = _check_effect_inputs(rho, levels, floor, factors)
    for name, v in (("n_boot", n_boot), ("n_perm", n_perm)):
        if not (isinstance(v, (int, np.integer)) and v >= 1):
            raise ValueError(f"{name} must be an integer >= 1; got {v!r}")
    rng = np.random.default_rng(seed)
    F = levels.shape[1]
    floor_boot = floor[rng.integers(0, floor.size, (n_boot, floor.size))].mean(axis=1)
    keys = ("mean", "ci_low", "ci_high", "sd", "excess", "excess_low", "excess_high",
            "shift", "shift_low", "shift_high", "shift_sd", "p_value")
    out = {k: np.full(F, np.nan) for k in keys}
    n_pairs = np.zeros(F, dtype=int)
    n_strata = np.zeros(F, dtype=int)
    level_pairs, level_pairs_sd = [], []
    for f in range(F):
        N = _stratum_table(levels, f)
        S, L = N.shape
        lp = np.full((L, L), np.nan)
        lp_sd = np.full((L, L), np.nan)
        # W[b, s]: how often stratum s was drawn in bootstrap resample b
        W = np.zeros((n_boot, S))
        np.add.at(W, (np.repeat(np.arange(n_boot), S), rng.integers(0, S, n_boot * S)), 1.0)
        pair_sum, pair_cnt = np.zeros(n_boot), np.zeros(n_boot)
        shift_num, shift_den = np.zeros(n_boot), np.zeros(n_boot)
        d_all, used = [], np.zeros(S, dtype=bool)
        for a in range(L):
            for b in range(a + 1, L):
                ok = (N[:, a] >= 0) & (N[:, b] >= 0)
                n = int(ok.sum())
                if n == 0:
                    continue
                used |= ok
                A, B = N[ok, a], N[ok, b]
                d = 1.0 - rho[A, B]
                d_all.append(d)
                w = W[:, ok]
                pair_sum += w @ d
                pair_cnt += w.sum(axis=1)
                if n < 2:
                    continue
                G = _shift_gram(rho, A, B)
                diag = np.diag(G)
                lp[a, b] = lp[b, a] = (G.sum() - diag.sum()) / (2.0 * n * (n - 1))
                tot = w.sum(axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    u = (((w @ G) * w).sum(axis=1) - (w**2) @ diag) / (2.0 * (tot**2 - (w**2).sum(axis=1)))
                valid = np.isfinite(u)
                shift_num[valid] += u[valid] * tot[valid]
                shift_den[valid] += tot[valid]
                lp_sd[a, b] = lp_sd[b, a] = np.std(u[valid], ddof=1) if valid.sum() > 1 else np.nan
        level_pairs.append(lp)
        level_pairs_sd.append(lp_sd)
        if not d_all:
            continue
        d = np.concatenate(d_all)
        n_pairs[f], n_strata[f] = d.size, int(used.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = pair_sum / pair_cnt
            shift_boot = shift_num / shift_den
        out["mean"][f] = d.mean()
        out["ci_low"][f], out["ci_high"][f] = np.nanpercentile(boot, [2.5, 97.5])
        out["sd"][f] = np.nanstd(boot, ddof=1) if n_boot > 1 else 0.0
        out["excess"][f] = d.mean() - floor.mean()
        out["excess_low"][f], out["excess_high"][f] = np.nanpercentile(boot - floor_boot, [2.5, 97.5])
        shift, n_total, _ = _shift_stat(rho, N)
        if n_total == 0:
            continue
        out["shift"][f] = shift
        if np.isfinite(shift_boot).sum() > 1:
            out["shift_low"][f], out["shift_high"][f] = np.nanpercentile(shift_boot, [2.5, 97.5])
            out["shift_sd"][f] = np.nanstd(shift_boot, ddof=1)
        out["p_value"][f] = _shift_p_value(rho, N, shift, n_perm, rng)
    return FactorEffects(
        factors=_factor_names(factors, F),
        n_pairs=n_pairs,
        n_strata=n_strata,
        floor_mean=float(floor.mean()),
        floor_sd=float(floor_boot.std(ddof=1)) if n_boot > 1 else 0.0,
        floor_ci=np.percentile(floor_boot, [2.5, 97.5]),
        n_floor=int(floor.size),
        level_pairs=tuple(level_pairs),
        level_pairs_sd=tuple(level_pairs_sd),
        **out,
    )


@dataclass(frozen=True)
class TwoFactorEffects:
    """Systematic shift of geometry when two factors change together (diagonal: one factor).

    Attributes
    ----------
    factors : tuple of str
    shift : (F, F) array
        Off-diagonal ``[f, g]``: systematic shift (see :class:`FactorEffects`) between
        networks that differ in ``f`` and ``g`` and agree on the other factors,
        averaged over the level combinations weighted by their number of strata;
        diagonal: the single-factor shift. NaN where fewer than two strata.
    n_pairs : (F, F) int array
        Matched pairs behind each entry.
    """

    factors: tuple[str, ...]
    shift: np.ndarray
    n_pairs: np.ndarray

    def top(self, k: int = 5) -> list[tuple[str, str, float, int]]:
        """The ``k`` two-factor changes with the largest shift, ``(f, g, shift, n_pairs)``."""
        F = len(self.factors)
        rows = [(self.factors[a], self.factors[b], float(self.shift[a, b]), int(self.n_pairs[a, b]))
                for a in range(F) for b in range(a + 1, F) if np.isfinite(self.shift[a, b])]
        return sorted(rows, key=lambda r: -r[2])[:k]


def _u_stat(rho: np.ndarray, A: np.ndarray, B: np.ndarray) -> float:
    n = A.size
    G = _shift_gram(rho, A, B)
    return float((G.sum() - np.trace(G)) / (2.0 * n * (n - 1)))


def two_factor_effects(rho: np.ndarray, levels: np.ndarray, factors: Sequence[str] | None = None) -> TwoFactorEffects:
    """Systematic shift for every pair of factors changed together (and each alone).

    ``rho: (m, m)`` RDM correlations (or RDMs ``(m, P, P)``), ``levels: (m, F)`` and
    ``factors`` as in :func:`factor_effects`. Returns :class:`TwoFactorEffects`;
    ``ValueError`` for shapes that do not match.
    For factors ``f, g``, strata are settings of the other factors; for every level
    pair ``a ≠ b`` of ``f`` and ordered pair ``c ≠ d`` of ``g``, the matched difference
    ``z(a, c) − z(b, d)`` gives a U-statistic; these are averaged weighted by strata.
    """
    rho = _as_rho(rho)
    levels = np.asarray(levels)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1] or levels.ndim != 2 or levels.shape[0] != rho.shape[0]:
        raise ValueError(f"rho must be (m, m) and levels (m, F); got {rho.shape} and {levels.shape}")
    if factors is not None and len(factors) != levels.shape[1]:
        raise ValueError(f"factors must name the {levels.shape[1]} columns of levels; got {len(factors)}")
    F = levels.shape[1]
    shift = np.full((F, F), np.nan)
    n_pairs = np.zeros((F, F), dtype=int)
    for f in range(F):
        value, n, _ = _shift_stat(rho, _stratum_table(levels, f))
        shift[f, f], n_pairs[f, f] = value, n
        for g in range(f + 1, F):
            Lf, Lg = int(levels[:, f].max()) + 1, int(levels[:, g].max()) + 1
            others = np.delete(levels, [f, g], axis=1)
            _, stratum = np.unique(others, axis=0, return_inverse=True)
            stratum = stratum.ravel()
            T = np.full((int(stratum.max()) + 1, Lf, Lg), -1)
            T[stratum, levels[:, f], levels[:, g]] = np.arange(levels.shape[0])
            num, den = 0.0, 0
            for a in range(Lf):
                for b in range(a + 1, Lf):
                    for c in range(Lg):
                        for d in range(Lg):
                            if c == d:
                                continue
                            ok = (T[:, a, c] >= 0) & (T[:, b, d] >= 0)
                            k = int(ok.sum())
                            n_pairs[f, g] += k
                            if k >= 2:
                                num += _u_stat(rho, T[ok, a, c], T[ok, b, d]) * k
                                den += k
            shift[f, g] = shift[g, f] = num / den if den else np.nan
            n_pairs[g, f] = n_pairs[f, g]
    return TwoFactorEffects(factors=_factor_names(factors, F), shift=shift, n_pairs=n_pairs)


@dataclass(frozen=True)
class ComparableAccuracy:
    """Geometry of networks with comparable accuracy, against the seed floor.

    Attributes
    ----------
    tolerance : float
        Pairs count as comparable when their mean head accuracies differ by at most this.
    n_pairs : int
    mean, median : float
        Mean and median dissimilarity ``1 − ρ`` over comparable pairs.
    floor_median : float
        Median seed-pair dissimilarity.
    prob_greater, prob_low, prob_high, prob_sd : float
        Probability that a comparable pair is more dissimilar than a seed pair (ties
        count one half; the Mann–Whitney ``U / (n_1 n_2)``, 0.5 = no difference), its
        95 % bootstrap interval and sd (networks resampled with replacement, so that
        pairs sharing a network are accounted for; floor pairs resampled independently).
    gap : float
        ``mean − floor mean`` (means are dominated by a few noisy configurations; the
        probability above is the robust comparison).
    frac_above_floor : float
        Fraction of comparable pairs more dissimilar than the floor's 95th percentile.
    floor_q95 : float
    example : (int, int)
        Positions (rows of ``D``) of the comparable pair with the largest
        dissimilarity (among pairs in different ``groups`` when groups were given).
    """

    tolerance: float
    n_pairs: int
    mean: float
    median: float
    floor_median: float
    prob_greater: float
    prob_low: float
    prob_high: float
    prob_sd: float
    gap: float
    frac_above_floor: float
    floor_q95: float
    example: tuple[int, int]


def _prob_greater(d: np.ndarray, floor_sorted: np.ndarray) -> float:
    """P(d > floor) + P(d = floor) / 2 over all (d, floor) combinations; ``floor_sorted`` ascending."""
    below = np.searchsorted(floor_sorted, d, side="left")
    at_or_below = np.searchsorted(floor_sorted, d, side="right")
    return float(np.mean(below + at_or_below) / (2.0 * floor_sorted.size))


def comparable_accuracy(
    D: np.ndarray,
    accuracy: np.ndarray,
    floor: np.ndarray,
    tolerance: float = 0.01,
    *,
    groups: np.ndarray | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> ComparableAccuracy:
    """Do networks with (nearly) the same accuracy have the same geometry?

    Parameters
    ----------
    D : (m, m) array
        Dissimilarities ``1 − ρ`` between networks.
    accuracy : (m,) array
        One accuracy per network (e.g. mean of the two heads).
    floor : (k,) array
        Seed-pair dissimilarities.
    tolerance : float
        Largest accuracy difference of a comparable pair (0.01 = one point).
    groups : (m,) array, optional
        If given, the example pair is taken among comparable pairs in different groups
        (e.g. different activation functions); statistics always use all pairs.
    n_boot : int
        Bootstrap resamples.
    seed : int

    Raises
    ------
    ValueError
        Bad shapes, tolerance < 0, fewer than 2 floor values, or no comparable pair.
    """
    D = np.asarray(D, dtype=np.float64)
    acc = np.asarray(accuracy, dtype=np.float64).ravel()
    floor = np.sort(np.asarray(floor, dtype=np.float64).ravel())
    if D.ndim != 2 or D.shape != (acc.size, acc.size):
        raise ValueError(f"D must be (m, m) and accuracy (m,); got {D.shape} and {acc.shape}")
    if not (isinstance(tolerance, (int, float)) and tolerance >= 0):
        raise ValueError(f"tolerance must be a number >= 0; got {tolerance!r}")
    if floor.size < 2:
        raise ValueError(f"floor must hold at least 2 seed-pair dissimilarities; got {floor.size}")
    if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 1):
        raise ValueError(f"n_boot must be an integer >= 1; got {n_boot!r}")
    m = acc.size
    close = np.abs(acc[:, None] - acc[None, :]) <= tolerance + 1e-9  # accuracies are multiples of 1/n_test
    np.fill_diagonal(close, False)
    iu = np.triu_indices(m, 1)
    mask_u = close[iu]
    if not mask_u.any():
        raise ValueError(f"no pair of networks has accuracies within {tolerance}")
    d = D[iu][mask_u]
    q95 = float(np.quantile(floor, 0.95))
    candidates = np.ones(d.size, dtype=bool)
    if groups is not None:
        groups = np.asarray(groups).ravel()
        if groups.shape != (m,):
            raise ValueError(f"groups must have shape ({m},); got {groups.shape}")
        different = groups[iu[0][mask_u]] != groups[iu[1][mask_u]]
        candidates = different if different.any() else candidates
    best = int(np.flatnonzero(candidates)[np.argmax(d[candidates])])
    example = (int(iu[0][mask_u][best]), int(iu[1][mask_u][best]))
    # bootstrap over networks: network i drawn w_i times makes pair (i, j) count w_i w_j times
    rng = np.random.default_rng(seed)
    pi, pj = iu[0][mask_u], iu[1][mask_u]
    probs = np.full(n_boot, np.nan)
    for b in range(n_boot):
        w = np.bincount(rng.integers(0, m, m), minlength=m).astype(float)
        weight = w[pi] * w[pj]
        if weight.sum() == 0:
            continue
        fb = np.sort(floor[rng.integers(0, floor.size, floor.size)])
        below = np.searchsorted(fb, d, side="left")
        at_or_below = np.searchsorted(fb, d, side="right")
        probs[b] = float(weight @ (below + at_or_below) / (2.0 * fb.size * weight.sum()))
    return ComparableAccuracy(
        tolerance=float(tolerance),
        n_pairs=int(d.size),
        mean=float(d.mean()),
        median=float(np.median(d)),
        floor_median=float(np.median(floor)),
        prob_greater=_prob_greater(d, floor),
        prob_low=float(np.nanpercentile(probs, 2.5)),
        prob_high=float(np.nanpercentile(probs, 97.5)),
        prob_sd=float(np.nanstd(probs, ddof=1)) if n_boot > 1 else 0.0,
        gap=float(d.mean() - floor.mean()),
        frac_above_floor=float(np.mean(d > q95)),
        floor_q95=q95,
        example=example,
    )




# ----------------------------------------------------------------------------- slopes


def slope(x: Any, y: Any) -> np.ndarray:
    """Least-squares slope of ``y`` against ``x`` along the last axis.

    ``x: (G,)``, ``y: (..., G) -> (...)``: ``sum_g (x_g − x̄)(y_g − ȳ) / sum_g (x_g − x̄)²``
    (e.g. how fast target alignment rises with input–output alignment, per network).

    Raises
    ------
    ValueError
        ``x`` not 1-D with at least two distinct values, ``y`` whose last axis is not
        ``len(x)``, or non-finite values.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"x must have shape (G,) with G >= 2; got {x.shape}")
    if y.ndim < 1 or y.shape[-1] != x.size:
        raise ValueError(f"y must have shape (..., {x.size}) to match x; got {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite")
    xc = x - x.mean()
    if not np.any(xc):
        raise ValueError("x must not be constant (the slope is undefined)")
    return ((y - y.mean(-1, keepdims=True)) * xc).sum(-1) / (xc**2).sum()


# ----------------------------------------------------------------------------- transitions


def _check_grid(x: Any) -> np.ndarray:
    g = np.asarray(x, dtype=np.float64)
    if g.ndim != 1 or g.size < 2 or not np.all(np.isfinite(g)) or np.any(np.diff(g) <= 0):
        raise ValueError(f"x must be a strictly increasing 1-D grid of at least 2 finite points; got {x!r}")
    return g


def halfway_crossing(x: Any, y: Any) -> np.ndarray:
    """Where a rising curve first reaches halfway between its first and last value.

    ``x: (G,)`` strictly increasing, ``y: (..., G) -> (...)``. The level is
    ``(y[0] + y[-1]) / 2``; the crossing is linearly interpolated between the two grid
    points around the first index whose value reaches the level (e.g. the transition
    δ of a target-alignment curve over separability δ). A curve that does not rise
    (``y[-1] <= y[0]``) or has a non-finite end has no crossing: NaN.

    Raises
    ------
    ValueError
        ``x`` not a strictly increasing grid of at least 2 finite points, or ``y``
        whose last axis is not ``len(x)``.
    """
    g = _check_grid(x)
    v = np.asarray(y, dtype=np.float64)
    if v.ndim < 1 or v.shape[-1] != g.size:
        raise ValueError(f"y must have shape (..., {g.size}) to match x; got {v.shape}")
    flat = v.reshape(-1, g.size)
    out = np.full(flat.shape[0], np.nan)
    for i, row in enumerate(flat):
        lo, hi = row[0], row[-1]
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
            continue
        level = 0.5 * (lo + hi)
        k = int(np.argmax(row >= level))  # k >= 1: row[0] < level
        x0, x1, y0, y1 = g[k - 1], g[k], row[k - 1], row[k]
        out[i] = x1 if y1 == y0 else x0 + (level - y0) * (x1 - x0) / (y1 - y0)
    return out.reshape(v.shape[:-1])


def crossing_ci(
    x: Any,
    values: Any,
    *,
    baseline: Any = None,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Interval:
    """Halfway crossing of the seed-mean curve, with a bootstrap interval over seeds.

    ``x: (G,)``, ``values: (n, G)`` (one curve per seed, e.g. target alignment over
    δ). The estimate is :func:`halfway_crossing` of the mean curve; seeds (rows) are
    resampled with replacement and the crossing of each resampled mean curve gives
    the percentile interval. Crossing the mean curve (rather than averaging per-seed
    crossings) keeps every resample defined when a single seed's curve is flat.

    With ``baseline: (n, G)`` (the same seeds in another condition, e.g. without
    training noise) the statistic is the *shift* ``crossing(mean values) −
    crossing(mean baseline)``, both resampled with the same seeds (pairs kept
    together).

    Returns
    -------
    Interval
        Scalar estimate, bounds and bootstrap sd; NaN bounds for one seed. Resamples
        whose mean curve does not rise are dropped; if more than half are, the bounds
        are NaN.

    Raises
    ------
    ValueError
        ``values`` not ``(n, len(x))`` or not finite, plus the errors of
        :func:`halfway_crossing` and :func:`bootstrap_ci`.
    """
    g = _check_grid(x)
    v = _check_values(values)
    if v.ndim != 2 or v.shape[1] != g.size:
        raise ValueError(f"values must have shape (n, {g.size}): one curve per seed; got {v.shape}")
    b = None
    if baseline is not None:
        b = _check_values(baseline, "baseline")
        if b.shape != v.shape:
            raise ValueError(f"baseline must have the shape of values {v.shape} (paired by seed); got {b.shape}")
    level = _check_level(level)
    n_boot = _check_int("n_boot", n_boot, 1)

    def stat(rows_mean_v, rows_mean_b):
        c = halfway_crossing(g, rows_mean_v)
        return c if b is None else c - halfway_crossing(g, rows_mean_b)

    estimate = float(stat(v.mean(0), None if b is None else b.mean(0)))
    n = v.shape[0]
    if n < 2:
        return _nan_interval(estimate, level, n)
    idx = np.random.default_rng(seed).integers(0, n, (n_boot, n))
    boot = stat(v[idx].mean(1), None if b is None else b[idx].mean(1))
    ok = boot[np.isfinite(boot)]
    if ok.size < max(1, n_boot // 2):
        return _nan_interval(estimate, level, n)
    return _scalar_interval(estimate, ok, level, n)


def _scalar_interval(estimate: float, boot: np.ndarray, level: float, n: int) -> Interval:
    alpha = (1.0 - level) / 2.0
    lo, hi = np.percentile(boot, [100 * alpha, 100 * (1 - alpha)])
    sd = float(np.std(boot, ddof=1)) if boot.size > 1 else 0.0
    return Interval(float(estimate), float(lo), float(hi), level, n, sd)


# ----------------------------------------------------------------------------- seed pairs, interior peaks


def _pair_weights(S: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Seed-resampling weights of the pairs ``i < j`` (``np.triu_indices`` order): ``(n_boot, n_pairs)``."""
    iu = np.triu_indices(S, 1)
    w = np.stack([np.bincount(d, minlength=S) for d in rng.integers(0, S, (n_boot, S))]).astype(float)
    return w[:, iu[0]] * w[:, iu[1]]


def pairwise_bootstrap_ci(
    values: Any,
    statistic: Callable[[np.ndarray], Any] | None = None,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Interval:
    """Mean over seed pairs of a pairwise measure, with a bootstrap interval that resamples seeds.

    For measures defined between two networks (APC, PE, CKA between seeds): every pair
    of ``S`` seeds gives one value, and pairs that share a seed are not independent.
    Resampling the *pairs* as if they were independent makes the interval far too
    narrow (for ``v_ij = a_i + a_j`` the standard error of the pair mean is
    ``2 sd(a) / sqrt(S)``, not ``sqrt(2) sd(a) / sqrt(S (S - 1) / 2)``); here the *seeds*
    are resampled with replacement (counts ``w_i``) and pair ``(i, j)`` counts
    ``w_i w_j`` times in the resampled mean, so a seed drawn twice is never paired
    with itself (the bootstrap of a U-statistic).

    Parameters
    ----------
    values : (S, S, ...) array
        ``values[i, j, ...]`` measured between seeds ``i`` and ``j``; only the upper
        triangle ``i < j`` is read (the diagonal and lower triangle may hold NaN).
    statistic : callable ``(...) -> (...)``, optional
        Applied to the pair mean (shape ``values.shape[2:]``) of the data and of every
        resample, e.g. ``lambda m: m[3] - m[0]`` for a difference between two grid
        points that keeps their pairing. Default: the pair mean itself.
    level, n_boot, seed : see :func:`bootstrap_ci`

    Returns
    -------
    Interval
        ``n`` = number of seeds. NaN bounds for ``S < 3`` (one pair, or resamples
        without a pair of distinct seeds). Resamples that hold a single distinct seed
        have no pair and are dropped.

    Raises
    ------
    ValueError
        ``values`` not ``(S, S, ...)`` with ``S >= 2``, non-finite upper-triangle
        values, bad ``level`` or ``n_boot``.
    """
    V = np.asarray(values, dtype=np.float64)
    if V.ndim < 2 or V.shape[0] != V.shape[1] or V.shape[0] < 2:
        raise ValueError(f"values must have shape (S, S, ...) with S >= 2 seeds; got {V.shape}")
    level = _check_level(level)
    n_boot = _check_int("n_boot", n_boot, 1)
    S = V.shape[0]
    iu = np.triu_indices(S, 1)
    P = V[iu]  # (n_pairs, ...)
    if not np.all(np.isfinite(P)):
        raise ValueError("the upper triangle of values (i < j) must be finite")
    stat = (lambda m: m) if statistic is None else statistic
    estimate = np.asarray(stat(P.mean(0)), dtype=np.float64)
    est = float(estimate) if estimate.ndim == 0 else estimate
    if S < 3:
        return _nan_interval(est, level, S)
    W = _pair_weights(S, n_boot, np.random.default_rng(seed))
    ok = W.sum(1) > 0
    means = (W[ok] @ P.reshape(P.shape[0], -1) / W[ok].sum(1, keepdims=True)).reshape(-1, *P.shape[1:])
    boot = np.stack([np.asarray(stat(m), dtype=np.float64) for m in means])
    return _interval(est, boot, level, S)


@dataclass(frozen=True)
class InteriorPeak:
    """Result of :func:`interior_peak_test`.

    Attributes
    ----------
    x : (G,) array
        The grid (e.g. the L1 strengths λ).
    peak : int
        Index of the interior grid point with the largest mean on the *selection* set.
    selection_curve, test_curve : (G,) arrays
        Mean curves of the selection and test sets.
    diff_low, diff_high : Interval
        On the test set: ``curve[peak] − curve[0]`` and ``curve[peak] − curve[-1]``,
        each with a percentile-bootstrap interval at two-sided level ``2 level − 1``
        (so ``lo`` is the one-sided ``level`` lower bound); both from the same resamples.
    value : float
        ``min(diff_low, diff_high)``: how far the interior point stands above the
        higher of the two ends.
    lo, hi : float
        ``min`` of the two lower bounds and of the two upper bounds. ``lo > 0`` is the
        intersection–union test at level ``1 − level``: the peak is above *both* ends
        (each one-sided test at that level; no multiplicity correction is needed).
        ``hi < 0``: at least one end is credibly higher than the chosen point.
    level : float
        One-sided level of the bounds.
    """

    x: np.ndarray
    peak: int
    selection_curve: np.ndarray
    test_curve: np.ndarray
    diff_low: Interval
    diff_high: Interval
    value: float
    lo: float
    hi: float
    level: float

    @property
    def holds(self) -> bool:
        """The intersection–union test rejects "no interior maximum": ``lo > 0``."""
        return bool(self.lo > 0)


def interior_peak_test(
    x: Any,
    select: Any,
    test: Any,
    *,
    pairwise: bool = False,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> InteriorPeak:
    """Does a curve have an interior maximum? Location chosen on one set of seeds, tested on another.

    "y rises with x up to some point and then falls" is tested without fixing the
    point in advance and without the upward bias of taking a maximum: the interior
    point ``x*`` with the largest mean is chosen on the ``select`` seeds, and on the
    independent ``test`` seeds the two differences ``y(x*) − y(x_min)`` and
    ``y(x*) − y(x_max)`` must both be positive (intersection–union test: the smaller
    one-sided lower bound > 0). A monotone curve fails (one difference is ≤ 0 at
    every interior point), and so does a curve whose interior bump is noise on the
    selection seeds.

    Parameters
    ----------
    x : (G,) array
        Strictly increasing grid, ``G >= 3``.
    select, test : arrays
        One curve per seed, ``(n, G)``; or with ``pairwise=True`` one curve per seed
        pair, ``(S, S, G)`` (upper triangle read, seeds resampled as in
        :func:`pairwise_bootstrap_ci`). The two sets must not share seeds.
    pairwise : bool
    level : float
        One-sided level of the bounds (0.95: the test at 5 %).
    n_boot, seed : see :func:`bootstrap_ci`

    Returns
    -------
    InteriorPeak

    Raises
    ------
    ValueError
        A grid that is not strictly increasing with ``G >= 3``, curves whose last axis
        is not ``G``, or the errors of the bootstrap functions.
    """
    g = _check_grid(x)
    if g.size < 3:
        raise ValueError(f"an interior maximum needs at least 3 grid points; got {g.size}")
    level = _check_level(level)
    two_sided = 2.0 * level - 1.0
    if not two_sided > 0:
        raise ValueError(f"level must be > 0.5 (a one-sided level); got {level}")
    arrays = []
    for name, v in (("select", select), ("test", test)):
        a = np.asarray(v, dtype=np.float64)
        want = 3 if pairwise else 2
        if a.ndim != want or a.shape[-1] != g.size or (pairwise and a.shape[0] != a.shape[1]):
            layout = "(S, S, G)" if pairwise else "(n, G)"
            raise ValueError(f"{name} must have shape {layout} with G = {g.size}; got {a.shape}")
        arrays.append(a)
    sel, tst = arrays

    def mean_curve(a):
        return a[np.triu_indices(a.shape[0], 1)].mean(0) if pairwise else a.mean(0)

    sel_curve = mean_curve(sel)
    peak = 1 + int(np.argmax(sel_curve[1:-1]))

    def diffs(m):
        return np.array([m[peak] - m[0], m[peak] - m[-1]])

    if pairwise:
        iv = pairwise_bootstrap_ci(tst, diffs, level=two_sided, n_boot=n_boot, seed=seed)
    else:
        iv = bootstrap_ci(tst, lambda a, axis: np.moveaxis(diffs(np.moveaxis(np.mean(a, axis=axis), -1, 0)), 0, -1),
                          level=two_sided, n_boot=n_boot, seed=seed)
    parts = [Interval(float(iv.estimate[k]), float(iv.lo[k]), float(iv.hi[k]), two_sided, iv.n, float(iv.sd[k]))
             for k in range(2)]
    return InteriorPeak(
        x=g, peak=peak, selection_curve=sel_curve, test_curve=mean_curve(tst), diff_low=parts[0],
        diff_high=parts[1], value=min(p.estimate for p in parts), lo=min(p.lo for p in parts),
        hi=min(p.hi for p in parts), level=level,
    )


def eta_squared(values: Any, levels: Any) -> np.ndarray:
    """Share of the variance of each column of ``values`` explained by each factor's levels (η²).

    ``η²_fc = Σ_l n_l (mean_l − mean)² / Σ_i (x_ic − mean)²`` with ``l`` the levels of factor
    ``f`` (one-way, each factor on its own; in a balanced crossed design the factors' η² add up
    to at most 1). Leading axes are batched, so a bootstrap is one call on resampled rows:
    ``eta_squared(values[idx], levels[idx])`` with ``idx: (n_boot, m)``.

    Parameters
    ----------
    values : (..., m, C) array
        E.g. the PC scores of ``m`` networks.
    levels : (..., m, F) int array
        Level index (>= 0) of each factor for each row.

    Returns
    -------
    ndarray, (..., F, C)
        In [0, 1]; NaN for a constant column.

    Raises
    ------
    ValueError
        Shapes that do not match, non-integer or negative levels, non-finite values.
    """
    x = np.asarray(values, dtype=np.float64)
    g = np.asarray(levels)
    if x.ndim < 2 or g.ndim != x.ndim or g.shape[:-1] != x.shape[:-1]:
        raise ValueError(f"values (..., m, C) and levels (..., m, F) must share their leading axes; "
                         f"got {x.shape} and {g.shape}")
    if not np.issubdtype(g.dtype, np.integer) or (g.size and g.min() < 0):
        raise ValueError("levels must hold integer level indices >= 0")
    if not np.all(np.isfinite(x)):
        raise ValueError("values contain NaN or inf")
    xc = x - x.mean(axis=-2, keepdims=True)
    total = (xc**2).sum(axis=-2)  # (..., C)
    out = []
    for f in range(g.shape[-1]):
        onehot = (g[..., f, None] == np.arange(int(g[..., f].max()) + 1)).astype(np.float64)  # (..., m, L)
        n = onehot.sum(axis=-2)  # (..., L)
        sums = np.einsum("...ml,...mc->...lc", onehot, xc)
        with np.errstate(invalid="ignore", divide="ignore"):
            between = np.where(n[..., None] > 0, sums**2 / np.maximum(n, 1)[..., None], 0.0).sum(axis=-2)
            out.append(np.where(total > 0, between / total, np.nan))
    return np.stack(out, axis=-2)


def matched_pairs(levels: Any, factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of rows that differ in column ``factor`` only (the pairs of :func:`factor_effects`).

    Parameters
    ----------
    levels : (m, F) int array
        Level index of each factor for each network (each configuration at most once).
    factor : int
        Column of the factor that varies within a pair.

    Returns
    -------
    a, b : (n,) int arrays
        Row indices of the two networks, ``levels[a, factor] < levels[b, factor]``.
    stratum : (n,) int array
        The pair's stratum (setting of the other factors), numbered from 0.

    Raises
    ------
    ValueError
        ``levels`` not 2-d integer, ``factor`` out of range, or a configuration given twice.
    """
    g = np.asarray(levels)
    if g.ndim != 2 or not np.issubdtype(g.dtype, np.integer):
        raise ValueError(f"levels must be an (m, F) integer array; got shape {g.shape}, dtype {g.dtype}")
    if not (isinstance(factor, (int, np.integer)) and 0 <= factor < g.shape[1]):
        raise ValueError(f"factor must be a column index in 0..{g.shape[1] - 1}; got {factor!r}")
    if len(np.unique(g, axis=0)) != len(g):
        raise ValueError("two rows share all factor levels; give each configuration once")
    if len(g) == 0:
        empty = np.zeros(0, dtype=int)
        return empty, empty.copy(), empty.copy()
    _, stratum = np.unique(np.delete(g, factor, axis=1), axis=0, return_inverse=True)
    stratum = stratum.ravel()
    order = np.lexsort((g[:, factor], stratum))
    a, b, s = [], [], []
    starts = np.flatnonzero(np.r_[True, np.diff(stratum[order]) != 0])
    for lo, hi in zip(starts, np.r_[starts[1:], len(order)]):
        rows = order[lo:hi]
        i, j = np.triu_indices(len(rows), 1)
        a.append(rows[i])
        b.append(rows[j])
        s.append(np.full(i.size, stratum[rows[0]]))
    return np.concatenate(a), np.concatenate(b), np.concatenate(s)
