"""rgl.stats.eta_squared and rgl.stats.matched_pairs: closed forms, an independent implementation, invariances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from repgeom_lite import stats


def test_eta_squared_equals_anova_sums_of_squares():
    rng = np.random.default_rng(0)
    g = rng.integers(0, 3, size=(120, 2))
    x = np.c_[g[:, 0] * 2.0 + rng.normal(size=120), rng.normal(size=120)]
    eta = stats.eta_squared(x, g)
    for f in range(2):
        for c in range(2):
            m = x[:, c].mean()
            between = sum((g[:, f] == l).sum() * (x[g[:, f] == l, c].mean() - m) ** 2 for l in np.unique(g[:, f]))
            assert eta[f, c] == pytest.approx(between / ((x[:, c] - m) ** 2).sum(), rel=1e-12)
    assert eta[0, 0] > 0.5 and eta[1, 1] < 0.1


def test_eta_squared_closed_forms_batching_and_invariance():
    g = np.array(list(itertools.product(range(2), range(3))))
    x = g[:, :1] * 1.0  # a column that is exactly factor 0
    eta = stats.eta_squared(np.c_[x, np.ones(6)], g)
    assert eta[0, 0] == pytest.approx(1.0) and eta[1, 0] == pytest.approx(0.0) and np.isnan(eta[:, 1]).all()
    rng = np.random.default_rng(1)
    v = rng.normal(size=(6, 2))
    np.testing.assert_allclose(stats.eta_squared(3 * v - 7, g), stats.eta_squared(v, g), rtol=1e-12)
    idx = rng.integers(0, 6, (4, 6))
    batched = stats.eta_squared(v[idx], g[idx])
    assert batched.shape == (4, 2, 2)
    for b in range(4):
        np.testing.assert_allclose(batched[b], stats.eta_squared(v[idx[b]], g[idx[b]]), rtol=1e-12)
    with pytest.raises(ValueError, match="leading axes"):
        stats.eta_squared(v, g[:5])
    with pytest.raises(ValueError, match="integer"):
        stats.eta_squared(v, g * 0.5)


def test_matched_pairs_are_exactly_the_one_factor_differences():
    g = np.array(list(itertools.product(range(3), range(2), range(2))))
    rng = np.random.default_rng(2)
    g = g[rng.permutation(len(g))][:10]  # an incomplete design
    for f in range(3):
        a, b, s = stats.matched_pairs(g, f)
        brute = {(i, j) for i, j in itertools.combinations(range(len(g)), 2)
                 if (g[i] != g[j]).sum() == 1 and g[i, f] != g[j, f]}
        got = {tuple(sorted(p)) for p in zip(a, b)}
        assert got == brute
        assert np.all(g[a, f] < g[b, f])
        others = np.delete(g, f, axis=1)
        assert all((others[a[s == k]] == others[a[s == k]][0]).all() for k in np.unique(s))
    with pytest.raises(ValueError, match="share all factor levels"):
        stats.matched_pairs(np.zeros((2, 2), int), 0)
    with pytest.raises(ValueError, match="column index"):
        stats.matched_pairs(g, 3)
