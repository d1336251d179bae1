"""rgl.stats.pairwise_bootstrap_ci and rgl.stats.interior_peak_test: closed forms and invariances."""

from __future__ import annotations

import numpy as np
import pytest

from repgeom_lite import stats


def _pairs_from(a):
    """v_ij = a_i + a_j (a: (S, ...)), NaN on the diagonal."""
    v = a[:, None] + a[None, :]
    idx = np.arange(a.shape[0])
    v[idx, idx] = np.nan
    return v


def test_pairwise_estimate_is_the_upper_triangle_mean_and_ignores_the_rest():
    rng = np.random.default_rng(0)
    V = rng.normal(size=(6, 6, 3))
    iv = stats.pairwise_bootstrap_ci(V, n_boot=50)
    iu = np.triu_indices(6, 1)
    np.testing.assert_allclose(iv.estimate, V[iu].mean(0))
    W = V.copy()
    W[np.tril_indices(6)] = np.nan  # lower triangle and diagonal are never read
    iv2 = stats.pairwise_bootstrap_ci(W, n_boot=50)
    np.testing.assert_allclose(iv2.lo, iv.lo)
    assert iv.n == 6


def test_pairwise_bootstrap_se_matches_the_u_statistic_closed_form():
    """For v_ij = a_i + a_j the pair mean is 2 mean(a) + O(1/S): its se is 2 sd(a) / sqrt(S)."""
    S = 150
    a = np.random.default_rng(1).normal(size=S)
    iv = stats.pairwise_bootstrap_ci(_pairs_from(a), n_boot=1500, seed=2)
    assert iv.sd == pytest.approx(2 * a.std() / np.sqrt(S), rel=0.12)
    naive = np.sqrt(2) * a.std() / np.sqrt(S * (S - 1) / 2)  # pairs treated as independent
    assert iv.sd > 5 * naive


def test_pairwise_statistic_keeps_the_pairing_between_grid_points():
    a = np.random.default_rng(3).normal(size=(10, 1)) * np.ones((1, 4))  # same seed effect at every grid point
    V = _pairs_from(a) + np.arange(4)  # grid point g adds g exactly
    iv = stats.pairwise_bootstrap_ci(V, lambda m: m[3] - m[0], n_boot=300)
    assert iv.estimate == pytest.approx(3.0)
    assert iv.lo == pytest.approx(3.0) and iv.hi == pytest.approx(3.0)  # the seed effect cancels in every resample


def test_pairwise_constant_values_and_too_few_seeds():
    iv = stats.pairwise_bootstrap_ci(np.full((5, 5), 0.3), n_boot=100)
    assert (iv.estimate, iv.lo, iv.hi) == pytest.approx((0.3, 0.3, 0.3))
    two = stats.pairwise_bootstrap_ci(np.full((2, 2), 0.3))
    assert two.estimate == pytest.approx(0.3) and np.isnan(two.lo)
    with pytest.raises(ValueError, match="S, S"):
        stats.pairwise_bootstrap_ci(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="finite"):
        stats.pairwise_bootstrap_ci(np.full((3, 3), np.nan))


def _curves(shape_fn, n, G=6, noise=0.05, seed=0):
    x = np.linspace(0, 1, G)
    return x, shape_fn(x)[None] + noise * np.random.default_rng(seed).normal(size=(n, G))


def test_interior_peak_found_for_a_concave_curve():
    x, sel = _curves(lambda x: -(x - 0.5) ** 2, 20, seed=0)
    _, tst = _curves(lambda x: -(x - 0.5) ** 2, 20, seed=1)
    r = stats.interior_peak_test(x, sel, tst, n_boot=500)
    assert r.peak in (2, 3) and r.holds and r.lo > 0 and r.lo <= r.value <= r.hi
    assert r.value == pytest.approx(min(tst.mean(0)[r.peak] - tst.mean(0)[[0, -1]]))


@pytest.mark.parametrize("shape", [lambda x: x, lambda x: -x, lambda x: 0 * x])
def test_monotone_or_flat_curves_do_not_pass(shape):
    x, sel = _curves(shape, 20, seed=2)
    _, tst = _curves(shape, 20, seed=3)
    r = stats.interior_peak_test(x, sel, tst, n_boot=500)
    assert not r.holds
    if shape(np.ones(1))[0] != 0:
        assert r.hi < 0  # monotone: an end is credibly higher than any interior point


def test_peak_is_chosen_on_the_selection_seeds_only():
    x = np.arange(5.0)
    sel = np.tile([0, 1, 0, 0, 0], (4, 1)).astype(float)
    tst = np.tile([0, 0, 0, 2, 0], (4, 1)).astype(float)
    r = stats.interior_peak_test(x, sel, tst, n_boot=50)
    assert r.peak == 1 and r.value == 0.0 and not r.holds  # the test seeds' peak at 3 is not used


def test_interior_peak_pairwise_layout():
    rng = np.random.default_rng(4)
    bump = np.array([0.0, 0.2, 0.3, 0.1])

    def pairs(S):
        return _pairs_from(rng.normal(scale=0.1, size=(S, 1)) * np.ones((1, 4))) + bump
    r = stats.interior_peak_test(np.arange(4.0), pairs(8), pairs(8), pairwise=True, n_boot=300)
    assert r.peak == 2 and r.diff_low.estimate == pytest.approx(0.3) and r.diff_high.estimate == pytest.approx(0.2)
    assert r.holds and r.diff_low.n == 8


def test_interior_peak_rejects_bad_input():
    with pytest.raises(ValueError, match="3 grid points"):
        stats.interior_peak_test([0, 1], np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="select must have shape"):
        stats.interior_peak_test([0, 1, 2], np.zeros((3, 4)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="strictly increasing"):
        stats.interior_peak_test([0, 2, 1], np.zeros((3, 3)), np.zeros((3, 3)))
