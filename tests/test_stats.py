"""repgeom_lite.stats: closed forms, planted effects, null calibration, error paths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.stats import mannwhitneyu

import repgeom_lite as rgl
from repgeom_lite import stats as st

TOL = 1e-10
SEEDS = [0, 1, 2]


def _design(levels_per_factor):
    """All level combinations, (m, F) int."""
    grids = np.meshgrid(*[np.arange(n) for n in levels_per_factor], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1)


def _gram(Z):
    return Z @ Z.T


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_of_a_constant_is_degenerate():
    iv = st.bootstrap_ci(np.full(7, 2.5), n_boot=200, seed=0)
    assert (iv.estimate, iv.lo, iv.hi, iv.sd) == (2.5, 2.5, 2.5, 0.0)
    assert iv.level == 0.95 and iv.n == 7 and iv.contains(2.5)
    assert isinstance(iv.estimate, float)


def test_bootstrap_ci_single_seed_has_no_interval():
    iv = st.bootstrap_ci([3.0])
    assert iv.estimate == 3.0 and math.isnan(iv.lo) and math.isnan(iv.hi) and math.isnan(iv.sd) and iv.n == 1
    iv = st.bootstrap_ci(np.ones((1, 3)))
    assert iv.estimate.shape == (3,) and np.isnan(iv.lo).all()
    iv = st.bootstrap_ci(np.arange(4.0), clusters=[0, 0, 0, 0])
    assert iv.n == 1 and math.isnan(iv.hi)


@pytest.mark.parametrize("seed", SEEDS)
def test_bootstrap_ci_matches_scipy_percentile(seed):
    x = np.random.default_rng(seed).normal(size=30)
    ours = st.bootstrap_ci(x, n_boot=20000, seed=seed)
    ref = sps.bootstrap((x,), np.mean, method="percentile", n_resamples=20000, rng=np.random.default_rng(seed + 100))
    assert ours.estimate == pytest.approx(x.mean())
    assert ours.lo == pytest.approx(ref.confidence_interval.low, abs=0.03)
    assert ours.hi == pytest.approx(ref.confidence_interval.high, abs=0.03)
    assert ours.sd == pytest.approx(ref.standard_error, rel=0.05)


def test_bootstrap_ci_covers_the_true_mean_at_about_the_nominal_rate():
    """Over 400 repeated experiments of 40 seeds each, the 90 % interval covers μ about 90 % of the time."""
    rng = np.random.default_rng(0)
    mu, hits, reps = 1.0, 0, 400
    for r in range(reps):
        x = mu + rng.normal(size=40)
        hits += st.bootstrap_ci(x, level=0.9, n_boot=500, seed=r).contains(mu)
    # percentile intervals undercover slightly at n = 40; binomial sd of the rate is 0.015
    assert 0.84 <= hits / reps <= 0.95


def test_bootstrap_ci_trailing_axes_and_statistic():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 3, 2))
    iv = st.bootstrap_ci(x, np.median, n_boot=300, seed=0)
    assert iv.estimate.shape == iv.lo.shape == iv.hi.shape == iv.sd.shape == (3, 2)
    np.testing.assert_allclose(iv.estimate, np.median(x, axis=0))
    assert np.all(iv.lo <= iv.estimate) and np.all(iv.estimate <= iv.hi)
    # each column on its own gives the same interval (same resampling of rows)
    col = st.bootstrap_ci(x[:, 1, 0], np.median, n_boot=300, seed=0)
    assert col.lo == pytest.approx(iv.lo[1, 0]) and col.hi == pytest.approx(iv.hi[1, 0])


def test_bootstrap_ci_is_reproducible_and_seed_dependent():
    x = np.random.default_rng(2).normal(size=15)
    assert st.bootstrap_ci(x, seed=3) == st.bootstrap_ci(x, seed=3)
    assert st.bootstrap_ci(x, seed=3).lo != st.bootstrap_ci(x, seed=4).lo


def test_bootstrap_ci_clusters_resample_whole_clusters():
    """Two clusters of identical values: resampling clusters gives only the two cluster means and their mean."""
    x = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    iv = st.bootstrap_ci(x, clusters=["a", "a", "a", "b", "b", "b"], n_boot=500, seed=0)
    assert iv.n == 2 and iv.estimate == 0.5
    assert iv.lo == 0.0 and iv.hi == 1.0
    # rows resampled: a much narrower interval
    rows = st.bootstrap_ci(x, n_boot=500, seed=0)
    assert rows.hi - rows.lo < 1.0


def test_bootstrap_ci_errors():
    with pytest.raises(ValueError, match="got a scalar"):
        st.bootstrap_ci(1.0)
    with pytest.raises(ValueError, match="values is empty"):
        st.bootstrap_ci([])
    with pytest.raises(ValueError, match="contains NaN or inf"):
        st.bootstrap_ci([1.0, np.nan])
    with pytest.raises(ValueError, match="level must be a number in \\(0, 1\\)"):
        st.bootstrap_ci([1.0, 2.0], level=95)
    with pytest.raises(ValueError, match="n_boot must be an integer >= 1"):
        st.bootstrap_ci([1.0, 2.0], n_boot=0)
    with pytest.raises(ValueError, match="clusters must have shape \\(2,\\)"):
        st.bootstrap_ci([1.0, 2.0], clusters=[0, 1, 2])


# --------------------------------------------------------------------------- groups and paired differences


def test_by_group_closed_form():
    values = np.array([1.0, 2.0, 3.0, 10.0, 10.0, 7.0])
    groups = ["relu", "relu", "relu", "tanh", "tanh", "sigmoid"]
    g = st.by_group(values, groups, n_boot=300, seed=0)
    assert g.labels == ("relu", "tanh", "sigmoid")  # order of first appearance
    assert g.n.tolist() == [3, 2, 1]
    np.testing.assert_allclose(g.mean, [2.0, 10.0, 7.0])
    np.testing.assert_allclose(g.sd[:2], [1.0, 0.0])
    assert math.isnan(g.sd[2]) and math.isnan(g.lo[2])
    assert g.lo[1] == g.hi[1] == 10.0  # constant group: degenerate interval
    assert g.lo[0] >= 1.0 and g.hi[0] <= 3.0
    iv = g["relu"]
    assert isinstance(iv, st.Interval) and iv.estimate == 2.0 and iv.n == 3
    table = g.table()
    assert list(table.index) == ["relu", "tanh", "sigmoid"] and table.loc["tanh", "mean"] == 10.0
    with pytest.raises(ValueError, match="unknown group 'gelu'"):
        g["gelu"]
    with pytest.raises(ValueError, match="one label per row of values \\(6\\)"):
        st.by_group(values, groups[:5])
    with pytest.raises(ValueError, match="table\\(\\) needs one value per seed"):
        st.by_group(np.ones((4, 2)), [0, 0, 1, 1]).table()


def test_by_group_with_configs():
    """The chapter-page idiom: one value per network, grouped by each config's activation."""
    configs = [rgl.NetConfig(activation=a, seed=s) for a in ("tanh", "relu") for s in range(3)]
    ta = np.array([[0.1, 0.9], [0.1, 0.8], [0.1, 1.0], [0.1, 0.5], [0.1, 0.4], [0.1, 0.6]])
    g = st.by_group(ta[:, -1], [c.activation for c in configs], seed=0)
    assert g.labels == ("tanh", "relu")
    np.testing.assert_allclose(g.mean, [0.9, 0.5])


def test_paired_difference_closed_forms():
    x = np.random.default_rng(0).normal(size=12)
    same = st.paired_difference(x, x.copy())
    assert (same.estimate, same.lo, same.hi) == (0.0, 0.0, 0.0)
    shifted = st.paired_difference(x + 0.3, x)
    assert shifted.estimate == pytest.approx(0.3) and shifted.lo == pytest.approx(0.3) and shifted.hi == pytest.approx(0.3)
    with pytest.raises(ValueError, match="same shape \\(paired by seed\\)"):
        st.paired_difference(x, x[:5])
    with pytest.raises(ValueError, match="b contains NaN"):
        st.paired_difference(x, np.full(12, np.nan))


@pytest.mark.parametrize("seed", SEEDS)
def test_paired_difference_removes_the_shared_seed_effect(seed):
    """Large seed-to-seed variation shared by both conditions: the paired interval is narrow and covers the shift."""
    rng = np.random.default_rng(seed)
    seed_effect = 5.0 * rng.normal(size=20)
    a = seed_effect + 0.5 + 0.05 * rng.normal(size=20)
    b = seed_effect + 0.05 * rng.normal(size=20)
    iv = st.paired_difference(a, b, n_boot=1000, seed=seed)
    assert iv.lo < 0.5 < iv.hi and iv.hi - iv.lo < 0.1


# --------------------------------------------------------------------------- permutation tests


def test_permutation_tests_detect_a_planted_shift():
    rng = np.random.default_rng(0)
    x, y = rng.normal(1.5, 1.0, 30), rng.normal(0.0, 1.0, 30)
    res = st.permutation_test(x, y, n_perm=2000, seed=0)
    assert res.statistic == pytest.approx(x.mean() - y.mean()) and res.p_value < 0.01
    assert res.alternative == "two-sided" and res.n_perm == 2000
    assert st.permutation_test(x, y, alternative="less", n_perm=2000).p_value > 0.9
    base = rng.normal(size=15)
    paired = st.paired_permutation_test(base + 0.5 + 0.1 * rng.normal(size=15), base, alternative="greater")
    assert paired.p_value < 0.001


def test_permutation_test_exact_small_sample():
    """x = (2, 3) vs y = (0, 1): the observed split is the most extreme of the C(4, 2) = 6 relabellings."""
    res = st.permutation_test([2.0, 3.0], [0.0, 1.0], alternative="greater", n_perm=1000)
    assert res.p_value == pytest.approx(1 / 6)
    # paired: 3 positive differences, 2**3 sign patterns
    res = st.paired_permutation_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], alternative="greater", n_perm=1000)
    assert res.p_value == pytest.approx(1 / 8)


def test_permutation_p_values_are_uniform_under_the_null():
    """A null factor over 300 repeated experiments: p ≈ uniform (KS test; fraction below 0.05 ≈ 5 %)."""
    rng = np.random.default_rng(1)
    reps = 300
    p_two, p_paired = np.empty(reps), np.empty(reps)
    for r in range(reps):
        x, y = rng.normal(size=25), rng.normal(size=25)
        p_two[r] = st.permutation_test(x, y, n_perm=499, seed=r).p_value
        p_paired[r] = st.paired_permutation_test(x, y, n_perm=499, seed=r).p_value
    for p in (p_two, p_paired):
        assert sps.kstest(p, "uniform").pvalue > 0.01
        assert abs(np.mean(p < 0.05) - 0.05) < 0.04


def test_permutation_test_errors():
    with pytest.raises(ValueError, match="alternative must be one of"):
        st.permutation_test([1.0], [2.0], alternative="bigger")
    with pytest.raises(ValueError, match="n_perm must be an integer >= 1"):
        st.permutation_test([1.0], [2.0], n_perm=0)
    with pytest.raises(ValueError, match="x must be one-dimensional"):
        st.permutation_test(np.ones((2, 2)), [2.0])
    with pytest.raises(ValueError, match="y is empty"):
        st.permutation_test([1.0], [])
    with pytest.raises(ValueError, match="a needs at least 2 values"):
        st.paired_permutation_test([1.0], [2.0])
    with pytest.raises(ValueError, match="same shape \\(paired by seed\\)"):
        st.paired_permutation_test([1.0, 2.0, 3.0], [2.0, 1.0])


# --------------------------------------------------------------------------- seed floor and factor attribution


def test_seed_floor_matches_compare_rdms():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 8, 5))
    A = np.stack([rgl.metrics.rdm(x) for x in X])
    B = np.stack([rgl.metrics.rdm(x + 0.1 * rng.normal(size=x.shape)) for x in X])
    floor = st.seed_floor(A, B)
    np.testing.assert_allclose(floor, 1 - np.asarray(rgl.metrics.compare_rdms(A, B)), atol=TOL)
    np.testing.assert_allclose(st.seed_floor(A, A), 0.0, atol=1e-12)
    assert np.all(floor > 0)
    with pytest.raises(ValueError, match="both have shape \\(k, P, P\\)"):
        st.seed_floor(A, B[:2])


def test_factor_effects_accept_rdms():
    """RDMs (m, P, P) are turned into Spearman ρ: the same result as passing rsa_matrix."""
    rng = np.random.default_rng(3)
    levels = _design([2, 3])
    X = rng.normal(size=(6, 7, 4)) + levels[:, :1, None] * 1.5
    R = np.stack([rgl.metrics.rdm(x) for x in X])
    rho = rgl.metrics.rsa_matrix(R, method="spearman")
    floor = np.array([0.1, 0.2, 0.3])
    a = st.factor_effects(R, levels, floor, n_boot=20, n_perm=20, seed=0)
    b = st.factor_effects(rho, levels, floor, n_boot=20, n_perm=20, seed=0)
    np.testing.assert_allclose(a.shift, b.shift, atol=TOL)
    assert a.factors == ("factor 0", "factor 1")
    np.testing.assert_allclose(st.two_factor_effects(R, levels).shift, st.two_factor_effects(rho, levels).shift,
                               atol=TOL, equal_nan=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_factor_effects_recover_a_planted_shift(seed):
    """Factor 0 moves every network by a known vector: shift ≈ ||v||² / 2 within the CI, p small."""
    rng = np.random.default_rng(seed)
    levels = _design([2, 2, 2, 2, 2])
    d = 60
    v = rng.normal(size=d)
    v *= 0.8 / np.linalg.norm(v)  # ||v||² / 2 = 0.32
    Z = rng.normal(size=(len(levels), d)) * 0.15 + levels[:, :1] * v
    floor = np.full(4, 0.1) + 0.01 * np.arange(4)
    eff = st.factor_effects(_gram(Z), levels, floor, n_boot=300, n_perm=200, seed=seed)
    assert eff.shift_low[0] < 0.32 < eff.shift_high[0]
    assert eff.shift[0] == pytest.approx(0.32, abs=0.12)  # 16 strata of noisy differences
    assert eff.p_value[0] < 0.01
    assert np.argmax(eff.shift) == 0


def test_factor_effects_null_p_values_are_about_uniform():
    """No factor moves anything: over repeated seeds the permutation p-values are about uniform."""
    rng = np.random.default_rng(10)
    levels = _design([2, 2, 2, 2])
    ps = []
    for r in range(60):
        Z = rng.normal(size=(len(levels), 8))
        eff = st.factor_effects(_gram(Z), levels, np.array([0.1, 0.2]), n_boot=2, n_perm=99, seed=r)
        ps.extend(eff.p_value)
    ps = np.asarray(ps)  # 240 p-values (4 per experiment, not independent within one)
    assert sps.kstest(ps, "uniform").pvalue > 0.001
    assert abs(np.mean(ps < 0.05) - 0.05) < 0.05


def test_factor_effects_closed_form_without_noise():
    """z depends on factor 0 only: its shift = 1 − ρ between levels; factor 1 has none."""
    levels = _design([2, 3])
    e = np.eye(4)
    Z = np.where(levels[:, :1] == 0, e[0], 0.6 * e[0] + 0.8 * e[1])  # unit vectors, ρ = 0.6
    rho = _gram(Z)
    floor = np.array([0.0, 0.0, 0.0])
    eff = st.factor_effects(rho, levels, floor, factors=("a", "b"), n_boot=50, n_perm=50, seed=0)
    assert eff.shift[0] == pytest.approx(0.4, abs=TOL)
    assert eff.mean[0] == pytest.approx(0.4, abs=TOL)
    assert eff.excess[0] == pytest.approx(0.4, abs=TOL)
    assert eff.shift[1] == pytest.approx(0.0, abs=TOL) and eff.mean[1] == pytest.approx(0.0, abs=TOL)
    assert eff.n_pairs.tolist() == [3, 6] and eff.n_strata.tolist() == [3, 2]
    np.testing.assert_allclose(eff.level_pairs[0], [[np.nan, 0.4], [0.4, np.nan]], atol=TOL)
    assert eff.index("b") == 1
    with pytest.raises(ValueError, match="unknown factor"):
        eff.index("c")


def _shift_brute_force(Z, levels, f):
    """Σ_{s≠t} δ_s·δ_t / (2 n (n − 1)) with explicit vectors, averaged over level pairs by n."""
    others = [tuple(np.delete(r, f)) for r in levels]
    L = levels[:, f].max() + 1
    num = den = 0.0
    for a in range(L):
        for b in range(a + 1, L):
            deltas = []
            for key in sorted(set(others)):
                ia = [i for i in range(len(levels)) if others[i] == key and levels[i, f] == a]
                ib = [i for i in range(len(levels)) if others[i] == key and levels[i, f] == b]
                if ia and ib:
                    deltas.append(Z[ia[0]] - Z[ib[0]])
            n = len(deltas)
            if n < 2:
                continue
            u = sum(deltas[s] @ deltas[t] for s in range(n) for t in range(n) if s != t) / (2 * n * (n - 1))
            num += u * n
            den += n
    return num / den


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_factor_effects_shift_matches_brute_force_with_missing_networks(seed):
    rng = np.random.default_rng(seed)
    levels = _design([3, 2, 2])
    keep = rng.random(len(levels)) > 0.2  # failed networks are missing
    levels = levels[keep]
    Z = rng.normal(size=(len(levels), 6))
    Z[:, 0] += 2.0 * levels[:, 0]
    eff = st.factor_effects(_gram(Z), levels, np.array([1.0, 2.0]), factors=("a", "b", "c"), n_boot=20, n_perm=20,
                            seed=seed)
    for f in range(3):
        assert eff.shift[f] == pytest.approx(_shift_brute_force(Z, levels, f), rel=1e-9, abs=1e-12)


def test_factor_effects_detect_a_real_effect_and_not_a_null_one():
    """Strong factor 0, no factor 1, seed noise everywhere: shift, CI, p and floor behave."""
    rng = np.random.default_rng(7)
    levels = _design([2, 2, 2, 2, 2, 2])
    d = 50
    direction = rng.normal(size=d) / math.sqrt(d)
    base = rng.normal(size=d)

    def network(lv):
        return base + 3.0 * lv[0] * direction + 0.3 * rng.normal(size=d)

    Z = np.array([network(lv) for lv in levels])
    twin = np.array([network(lv) for lv in levels])  # every configuration again, another seed
    floor = 1.0 - (Z * twin).sum(axis=1)  # 1 − Gram entry, as the pairs' 1 − rho
    eff = st.factor_effects(_gram(Z), levels, floor, factors=tuple("abcdef"), n_boot=300, n_perm=300, seed=0)
    expected = 0.5 * 9.0 * (direction @ direction)
    assert eff.shift_low[0] < expected < eff.shift_high[0]
    assert eff.p_value[0] < 0.01
    assert eff.shift_low[1] < 0 < eff.shift_high[1]
    assert eff.p_value[1] > 0.05
    # pair dissimilarity of the null factor is just seed noise: its excess CI covers 0
    assert eff.excess_low[1] < 0 < eff.excess_high[1]
    assert eff.excess[0] == pytest.approx(eff.mean[0] - floor.mean())


def test_factor_effects_errors():
    levels = _design([2, 2])
    rho = np.eye(4)
    floor = np.array([0.1, 0.2])
    with pytest.raises(ValueError, match="square"):
        st.factor_effects(rho[:3], levels, floor, factors=("a", "b"))
    with pytest.raises(ValueError, match="symmetric"):
        st.factor_effects(np.triu(np.ones((4, 4))), levels, floor, factors=("a", "b"))
    with pytest.raises(ValueError, match="NaN"):
        st.factor_effects(np.full((4, 4), np.nan), levels, floor, factors=("a", "b"))
    with pytest.raises(ValueError, match="\\(m, F\\)"):
        st.factor_effects(rho, levels[:3], floor, factors=("a", "b"))
    with pytest.raises(ValueError, match="integer level"):
        st.factor_effects(rho, levels.astype(float), floor, factors=("a", "b"))
    with pytest.raises(ValueError, match="name the 2 columns"):
        st.factor_effects(rho, levels, floor, factors=("a",))
    with pytest.raises(ValueError, match="at least 2 finite"):
        st.factor_effects(rho, levels, floor[:1], factors=("a", "b"))
    with pytest.raises(ValueError, match="n_perm"):
        st.factor_effects(rho, levels, floor, factors=("a", "b"), n_perm=0)
    with pytest.raises(ValueError, match="share all factor levels"):
        st.factor_effects(np.eye(5), np.vstack([levels, levels[:1]]), floor, factors=("a", "b"))


def test_two_factor_effects_add_for_orthogonal_effects():
    levels = _design([2, 2, 3])
    e = np.eye(5)
    Z = 1.0 * levels[:, :1] * e[0] + 2.0 * levels[:, 1:2] * e[1] + 0.5 * e[2]
    two = st.two_factor_effects(_gram(Z), levels, factors=("a", "b", "c"))
    assert two.shift[0, 0] == pytest.approx(0.5) and two.shift[1, 1] == pytest.approx(2.0)
    assert two.shift[0, 1] == pytest.approx(2.5) and two.shift[1, 0] == pytest.approx(2.5)
    assert two.shift[2, 2] == pytest.approx(0.0, abs=TOL)
    assert two.top(1)[0][:2] == ("a", "b")
    eff = st.factor_effects(_gram(Z), levels, np.array([0.1, 0.2]), factors=("a", "b", "c"), n_boot=10, n_perm=10)
    np.testing.assert_allclose(np.diag(two.shift), eff.shift, atol=TOL)
    with pytest.raises(ValueError, match="name the 3 columns"):
        st.two_factor_effects(_gram(Z), levels, factors=("a",))


def test_comparable_accuracy_matches_mann_whitney():
    rng = np.random.default_rng(3)
    m = 12
    A = rng.random((m, m))
    D = (A + A.T) / 2
    np.fill_diagonal(D, 0)
    acc = np.repeat([0.90, 0.95, 0.99], 4)
    floor = rng.random(30) * 0.5
    res = st.comparable_accuracy(D, acc, floor, tolerance=0.01, n_boot=30, seed=0)
    i, j = np.triu_indices(m, 1)
    close = np.abs(acc[i] - acc[j]) <= 0.01
    d = D[i, j][close]
    assert res.n_pairs == d.size == 3 * 6
    u = mannwhitneyu(d, floor).statistic
    assert res.prob_greater == pytest.approx(u / (d.size * floor.size), abs=TOL)
    assert res.median == pytest.approx(np.median(d)) and res.floor_median == pytest.approx(np.median(floor))
    a, b = res.example
    assert D[a, b] == pytest.approx(d.max()) and abs(acc[a] - acc[b]) <= 0.01
    assert res.prob_low <= res.prob_greater <= res.prob_high
    groups = np.arange(m) % 2
    grouped = st.comparable_accuracy(D, acc, floor, tolerance=0.01, groups=groups, n_boot=5)
    a, b = grouped.example
    assert groups[a] != groups[b] and abs(acc[a] - acc[b]) <= 0.01
    assert grouped.prob_greater == res.prob_greater  # groups only choose the example
    with pytest.raises(ValueError, match="groups must have shape"):
        st.comparable_accuracy(D, acc, floor, groups=groups[:3])
    with pytest.raises(ValueError, match="no pair"):
        st.comparable_accuracy(D[:3, :3], np.array([0.5, 0.7, 0.9]), floor)
    with pytest.raises(ValueError, match="tolerance"):
        st.comparable_accuracy(D, acc, floor, tolerance=-1)
    with pytest.raises(ValueError, match="at least 2"):
        st.comparable_accuracy(D, acc, floor[:1])


def test_permutation_statistic_equals_the_shift_without_shuffling(monkeypatch):
    """With the shuffle replaced by the identity every permuted statistic equals the observed one."""
    rng = np.random.default_rng(5)
    levels = _design([3, 2, 2])[rng.random(12) > 0.15]
    Z = rng.normal(size=(len(levels), 5))
    rho = _gram(Z)
    N = st._stratum_table(levels, 0)
    observed = st._shift_stat(rho, N)[0]
    monkeypatch.setattr(st, "_shuffle_within_rows", lambda table, rng: table.copy())
    assert st._shift_p_value(rho, N, observed, 7, rng, block=3) == 1.0
    assert st._shift_p_value(rho, N, observed + 1e-6, 7, rng) == pytest.approx(1 / 8)


