"""``metrics.pca``: scikit-learn's PCA up to sign, batched == loop, fit_on, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from repgeom_lite.metrics import pca

TOL = 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_pca_equals_sklearn_up_to_sign(seed, k):
    Z = np.random.default_rng(seed).normal(size=(12, 7)) * np.arange(1, 8)
    got = pca(Z, k)
    ref = PCA(n_components=k, svd_solver="full").fit_transform(Z)
    s = np.sign((got * ref).sum(0))
    np.testing.assert_allclose(got, ref * s, atol=TOL)
    # sign convention: largest-|loading| entry of each component positive
    V = np.linalg.lstsq(Z - Z.mean(0), got, rcond=None)[0]  # (N, k) loadings
    for j in range(k):
        assert V[np.argmax(np.abs(V[:, j])), j] > 0


def test_pca_keeps_distances_of_planar_points_and_zero_fills_beyond_rank():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(6, 2))
    Q = np.linalg.qr(rng.normal(size=(10, 10)))[0][:2]
    xy = pca(pts @ Q + 3.0, 3)
    d = lambda A: np.linalg.norm(A[:, None] - A[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(d(xy[:, :2]), d(pts), atol=1e-10)
    np.testing.assert_allclose(xy[:, 2], 0, atol=1e-12)
    line = np.outer(np.arange(4.0), np.ones(5))
    np.testing.assert_allclose(pca(line)[:, 1], 0, atol=1e-12)
    assert pca(np.ones((3, 2)), 4).shape == (3, 4)  # constant: all zeros
    assert not np.any(pca(np.ones((3, 2)), 4))


def test_pca_batched_equals_loop_and_fit_on():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(2, 3, 8, 5))
    got = pca(Z, 2)
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(got[i, j], pca(Z[i, j], 2), atol=TOL)
    # fit on centres, apply to samples: the same as sklearn's fit/transform up to sign
    C = rng.normal(size=(4, 5))
    X = rng.normal(size=(30, 5))
    ref = PCA(n_components=2, svd_solver="full").fit(C).transform(X)
    out = pca(X, 2, fit_on=C)
    s = np.sign((out * ref).sum(0))
    np.testing.assert_allclose(out, ref * s, atol=TOL)
    np.testing.assert_allclose(pca(C, 2, fit_on=C), pca(C, 2), atol=TOL)
    # fit_on broadcasts against Z's leading dims: one basis per item
    F = rng.normal(size=(3, 8, 5))
    got = pca(Z, 2, fit_on=F)
    np.testing.assert_allclose(got[1, 2], pca(Z[1, 2], 2, fit_on=F[2]), atol=TOL)


def test_pca_errors():
    with pytest.raises(ValueError, match="Z must have shape \\(..., P, N\\)"):
        pca(np.ones(3))
    with pytest.raises(ValueError, match="n_components must be an integer >= 1"):
        pca(np.ones((3, 2)), 0)
    with pytest.raises(ValueError, match="Z contains NaN"):
        pca(np.array([[np.nan, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="same number of columns"):
        pca(np.ones((3, 2)), fit_on=np.ones((3, 4)))
    with pytest.raises(ValueError, match="do not broadcast"):
        pca(np.ones((2, 3, 2)), fit_on=np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="at least one row"):
        pca(np.ones((0, 2)))
