"""Maps between networks and between-network RSMs (repgeom_lite.metrics.alignment, chapter 5's tools).

Closed forms and invariances: a rotated copy is explained entirely by the orthogonal map and
by the SRM; least squares explains at least as much as any orthogonal map on the fitting
images; the ridge map agrees with the normal equations; RSMs against an independent
implementation (numpy.corrcoef); the strict (centred) SRM variance explained by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from repgeom_lite import metrics as M


def rotation(rng, n):
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def networks(m=4, t=200, N=6, noise=0.0, seed=0, mean=1.0):
    """``X_i = S Q_i^T + mu_i + noise``: networks that are rotations of one shared response."""
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((t, N)) * np.linspace(2, 0.5, N)
    return np.stack([S @ rotation(rng, N).T + mean * rng.standard_normal(N) + noise * rng.standard_normal((t, N))
                     for _ in range(m)])


def test_zscore_patterns_rows():
    X = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    Z = M.zscore_patterns(X)
    np.testing.assert_allclose(Z[0], (X[0] - 2) / np.std(X[0]))
    np.testing.assert_array_equal(Z[1], 0.0)  # constant pattern -> 0, not NaN
    Z3 = M.zscore_patterns(np.random.default_rng(0).random((2, 4, 5)))
    np.testing.assert_allclose(Z3.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(Z3.std(-1), 1, atol=1e-12)
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        M.zscore_patterns(np.array([[1.0, np.nan]]))


@pytest.mark.parametrize("kind", ["orthogonal", "linear"])
def test_rotated_copy_is_explained_entirely(kind):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 8)) + 3.0
    Q = rotation(rng, 8)
    Y = X @ Q + rng.standard_normal(8)  # rotated, shifted copy
    ve = M.map_variance_explained(X[:80], Y[:80], X[80:], Y[80:], kind, alphas=[1e-8])
    assert ve == pytest.approx(1.0, abs=1e-9)


def test_rotation_invariance_of_the_orthogonal_map():
    """Rotating the source network changes nothing (the map absorbs it)."""
    Xs = networks(m=2, noise=0.5, seed=2)
    a = M.map_variance_explained(Xs[0, :150], Xs[1, :150], Xs[0, 150:], Xs[1, 150:], "orthogonal")
    Q = rotation(np.random.default_rng(3), Xs.shape[2])
    b = M.map_variance_explained(Xs[0, :150] @ Q, Xs[1, :150], Xs[0, 150:] @ Q, Xs[1, 150:], "orthogonal")
    assert a == pytest.approx(b, abs=1e-10)
    assert 0.3 < a < 1.0  # noisy: explained well, not entirely


def test_least_squares_beats_any_orthogonal_map_on_the_fitting_images():
    rng = np.random.default_rng(4)
    for _ in range(5):
        X, Y = rng.standard_normal((60, 5)), rng.standard_normal((60, 5)) @ rng.standard_normal((5, 5))
        lin = M.map_variance_explained(X, Y, X, Y, "linear", alphas=[1e-10])
        orth = M.map_variance_explained(X, Y, X, Y, "orthogonal")
        assert lin >= orth - 1e-12
        # and least squares is the normal-equations solution
        Cx, Cy = X - X.mean(0), Y - Y.mean(0)
        A = np.linalg.lstsq(Cx, Cy, rcond=None)[0]
        assert lin == pytest.approx(1 - np.sum((Cx @ A - Cy) ** 2) / np.sum(Cy**2), abs=1e-8)


def test_orthogonal_map_closed_form_and_padding():
    """VE = 1 - ||C_x R - C_y||^2 / ||C_y||^2 with R from scipy; a narrower source is zero-padded."""
    from scipy.linalg import orthogonal_procrustes

    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((50, 4)), rng.standard_normal((50, 4))
    Cx, Cy = X - X.mean(0), Y - Y.mean(0)
    R = orthogonal_procrustes(Cx, Cy)[0]
    expected = 1 - np.sum((Cx @ R - Cy) ** 2) / np.sum(Cy**2)
    assert M.map_variance_explained(X, Y, X, Y, "orthogonal") == pytest.approx(expected, abs=1e-10)
    # source with 3 units, target with 4: a rotation of the padded source
    X3 = rng.standard_normal((80, 3))
    Y4 = np.c_[X3, np.zeros(80)] @ rotation(rng, 4)
    assert M.map_variance_explained(X3[:60], Y4[:60], X3[60:], Y4[60:], "orthogonal") == pytest.approx(1, abs=1e-9)


def test_pairwise_map_variance_explained():
    Xs = networks(m=3, noise=0.3, seed=6)
    P = M.pairwise_map_variance_explained(Xs[:, :150], Xs[:, 150:], "orthogonal")
    assert P.shape == (3, 3) and np.isnan(np.diag(P)).all()
    assert P[0, 2] == pytest.approx(M.map_variance_explained(Xs[0, :150], Xs[2, :150], Xs[0, 150:], Xs[2, 150:]))
    L = M.pairwise_map_variance_explained(Xs[:, :150], Xs[:, 150:], "linear")
    off = ~np.eye(3, dtype=bool)
    assert (P[off] > 0.8).all() and (L[off] > 0.8).all()  # rotations plus a little noise
    with pytest.raises(ValueError, match="kind must be one of"):
        M.pairwise_map_variance_explained(Xs[:, :150], Xs[:, 150:], "affine")
    with pytest.raises(ValueError, match="at least 2 networks"):
        M.pairwise_map_variance_explained(Xs[:1, :150], Xs[:1, 150:])


def test_unrelated_networks_are_not_explained():
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((400, 6)), rng.standard_normal((400, 6))
    for kind in ("orthogonal", "linear"):
        assert M.map_variance_explained(X[:300], Y[:300], X[300:], Y[300:], kind) < 0.05


def test_srm_strict_variance_explained_by_hand():
    Xs = networks(m=3, noise=0.2, seed=8, mean=5.0)
    fit, ev = Xs[:, :150], Xs[:, 150:]
    srm = M.SharedResponseModel(Xs.shape[2], n_iter=10, random_state=0).fit(list(fit))
    strict = srm.variance_explained(list(ev), shared="others", centred=True)
    Z = srm.transform(list(ev))
    for i in range(3):
        S_hat = np.mean([Z[j] for j in range(3) if j != i], axis=0)
        C = ev[i] - fit[i].mean(0)
        assert strict[i] == pytest.approx(1 - np.mean((S_hat @ srm.W_[i].T - C) ** 2) / np.mean(C**2), abs=1e-10)
    # the unit means are not credited: large unit means inflate the uncentred VE, not the strict one
    assert (srm.variance_explained(list(ev)) > strict).all()
    # a rotated copy of a network is explained entirely
    Q = rotation(np.random.default_rng(9), Xs.shape[2])
    pair = [fit[0], fit[0] @ Q]
    srm2 = M.SharedResponseModel(Xs.shape[2], random_state=1).fit(pair)
    np.testing.assert_allclose(srm2.variance_explained([ev[0], ev[0] @ Q], centred=True), 1.0, atol=1e-8)


def test_rsms_against_numpy_corrcoef():
    rng = np.random.default_rng(10)
    X, Y = rng.standard_normal((7, 12)), rng.standard_normal((7, 12))
    np.testing.assert_allclose(M.within_rsm(X), np.corrcoef(X), atol=1e-12)
    np.testing.assert_allclose(M.between_rsm(X, Y), np.corrcoef(X, Y)[:7, 7:], atol=1e-12)
    A, B = M.within_rsm(X), M.within_rsm(Y)
    i, j = np.tril_indices(7, -1)
    assert M.rsm_agreement(A, B) == pytest.approx(np.corrcoef(A[i, j], B[i, j])[0, 1], abs=1e-12)
    assert M.rsm_agreement(A, A) == pytest.approx(1.0)
    assert M.rsm_agreement(A, np.eye(7)) == 0.0  # constant off the diagonal
    with pytest.raises(ValueError, match="same shape"):
        M.between_rsm(X, Y[:, :5])
    with pytest.raises(ValueError, match="square RSMs"):
        M.rsm_agreement(A[:2, :2], B[:2, :2])


def test_rsm_between_rotated_networks_needs_the_shared_space():
    """Two rotations of one representation: the between-network RSM equals the within-network RSM
    once both are in one space (undoing the rotation), not in their native units."""
    Xs = networks(m=2, t=40, N=10, seed=11, mean=0.0)
    W = M.within_rsm(Xs[0])
    R = M.procrustes(Xs[1], Xs[0]).rotation
    aligned = (Xs[1] - Xs[1].mean(0)) @ R + Xs[0].mean(0)
    assert M.rsm_agreement(W, M.between_rsm(Xs[0], aligned)) == pytest.approx(1.0, abs=1e-9)
    assert M.rsm_agreement(W, M.between_rsm(Xs[0], Xs[1])) < 0.9


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_rsms_are_scale_invariant(scale):
    """The same RSMs at 1e-200 and 1e200 as at 1 (no underflow to "constant", no overflow)."""
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(8, 6)), rng.normal(size=(8, 6))
    X[4] = 2.0  # a constant pattern correlates 0 with everything, at any scale
    np.testing.assert_allclose(M.within_rsm(X * scale), M.within_rsm(X), atol=1e-12)
    np.testing.assert_allclose(M.between_rsm(X * scale, Y), M.between_rsm(X, Y), atol=1e-12)
    assert np.all(M.within_rsm(X * scale)[4] == 0)
