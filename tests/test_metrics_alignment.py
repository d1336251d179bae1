"""Procrustes and SRM: recovery of known rotations/shared responses, scipy/BrainIAK oracles, bad input."""

import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes

from repgeom_lite import metrics as M
from repgeom_lite.geometries import rotation_matrix
from repgeom_lite.metrics import ProcrustesResult, SharedResponseModel, procrustes

TOL = 1e-10
ORACLE_TOL = 1e-6
SEEDS = [0, 1, 2]


def rotation(rng, n):
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


# ----------------------------------------------------------------------------- Procrustes
@pytest.mark.parametrize("seed", SEEDS)
def test_procrustes_recovers_rotation(seed):
    rng = np.random.default_rng(seed)
    X, Q = rng.standard_normal((40, 6)), rotation(rng, 6)
    res = procrustes(X, X @ Q + 3.0)
    assert isinstance(res, ProcrustesResult)
    np.testing.assert_allclose(res.rotation, Q, atol=1e-9)
    assert res.distance == pytest.approx(0.0, abs=1e-9)
    assert res.angular_distance == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(res.Y_mean, (X @ Q + 3.0).mean(0), atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_procrustes_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((30, 5)), rng.standard_normal((30, 5)) + 1.0
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    R_ref, _ = orthogonal_procrustes(Xc, Yc)  # argmin ||Xc R - Yc||: same argument order
    res = procrustes(X, Y)
    np.testing.assert_allclose(res.rotation, R_ref, atol=ORACLE_TOL)
    assert res.distance == pytest.approx(np.linalg.norm(Xc @ R_ref - Yc), abs=ORACLE_TOL)
    cos = np.sum(Xc @ R_ref * Yc) / (np.linalg.norm(Xc) * np.linalg.norm(Yc))
    assert res.angular_distance == pytest.approx(np.arccos(cos), abs=ORACLE_TOL)
    # no centring: scipy on the raw data
    R_raw, _ = orthogonal_procrustes(X, Y)
    np.testing.assert_allclose(procrustes(X, Y, center=False).rotation, R_raw, atol=ORACLE_TOL)
    # angular distance is scale invariant and symmetric
    assert procrustes(5 * X, 0.2 * Y).angular_distance == pytest.approx(res.angular_distance, abs=TOL)
    assert procrustes(Y, X).angular_distance == pytest.approx(res.angular_distance, abs=TOL)


def test_procrustes_zero_pads_and_batches():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((20, 3)), rng.standard_normal((20, 5))
    res = procrustes(X, Y)
    Xp = np.pad(X - X.mean(0), ((0, 0), (0, 2)))
    R_ref, _ = orthogonal_procrustes(Xp, Y - Y.mean(0))
    assert res.rotation.shape == (5, 5)
    assert res.distance == pytest.approx(np.linalg.norm(Xp @ R_ref - (Y - Y.mean(0))), abs=ORACLE_TOL)
    Xb = rng.standard_normal((2, 3, 20, 4))
    Yb = rng.standard_normal((20, 4))
    batched = procrustes(Xb, Yb)
    assert batched.rotation.shape == (2, 3, 4, 4) and batched.distance.shape == (2, 3)
    one = procrustes(Xb[1, 2], Yb)
    np.testing.assert_allclose(batched.rotation[1, 2], one.rotation, atol=TOL)
    assert batched.distance[1, 2] == pytest.approx(one.distance, abs=TOL)
    np.testing.assert_allclose(procrustes(torch.tensor(Xb), Yb).distance, batched.distance, atol=TOL)


def test_procrustes_constant_representation():
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((10, 3))
    res = procrustes(np.full((10, 3), 2.0), Y)
    assert res.angular_distance == pytest.approx(np.pi / 2)
    assert res.distance == pytest.approx(np.linalg.norm(Y - Y.mean(0)))
    np.testing.assert_allclose(res.rotation @ res.rotation.T, np.eye(3), atol=TOL)


# ----------------------------------------------------------------------------- SRM
def make_networks(rng, noise, t=200, k=4, v=(12, 15, 18), S=None):
    """Rotated noisy copies X_i = S W_i^T + mu_i + noise of one shared response S (t, k)."""
    if S is None:
        S = rng.standard_normal((t, k)) * np.linspace(2.0, 1.0, k)
    Xs = []
    for vi in v:
        W = np.linalg.qr(rng.standard_normal((vi, k)))[0]
        Xs.append(S @ W.T + rng.standard_normal(vi) + noise * rng.standard_normal((S.shape[0], vi)))
    return S, Xs


@pytest.mark.parametrize("probabilistic", [True, False])
def test_srm_recovers_shared_response(probabilistic):
    rng = np.random.default_rng(0)
    S, Xs = make_networks(rng, noise=0.05)
    srm = SharedResponseModel(4, n_iter=20, probabilistic=probabilistic).fit(Xs)
    # S is identifiable up to a rotation: Procrustes residual relative to ||S||
    rel = procrustes(srm.S_, S).distance / np.linalg.norm(S - S.mean(0))
    assert rel < 0.02
    for W in srm.W_:
        np.testing.assert_allclose(W.T @ W, np.eye(4), atol=1e-8)
    # transform: each network lands on (nearly) the same shared responses
    Z = srm.transform(Xs)
    for z in Z[1:]:
        assert np.linalg.norm(z - Z[0]) / np.linalg.norm(Z[0]) < 0.05
    # transform_to maps network 0's responses into network 2's units
    mapped = srm.transform_to(Xs[0], source=0, target=2)
    assert np.corrcoef(mapped.ravel(), Xs[2].ravel())[0, 1] > 0.99
    np.testing.assert_allclose(srm.reconstruct(srm.S_, 1), srm.S_ @ srm.W_[1].T + srm.means_[1])
    np.testing.assert_allclose(srm.shared_response(Xs), np.mean(Z, axis=0), atol=TOL)
    np.testing.assert_allclose(srm.shared_response(Xs, exclude=0), (Z[1] + Z[2]) / 2, atol=TOL)


@pytest.mark.parametrize("probabilistic", [True, False])
def test_srm_held_out_variance_explained_falls_with_noise(probabilistic):
    ve = []
    for noise in [0.1, 0.5, 1.0, 2.0]:
        rng = np.random.default_rng(1)
        _, Xs = make_networks(rng, noise, t=250)
        train, test = [X[:200] for X in Xs], [X[200:] for X in Xs]
        srm = SharedResponseModel(4, n_iter=10, probabilistic=probabilistic).fit(train)
        ve.append(srm.variance_explained(test).mean())
    assert ve[0] > 0.95
    assert np.all(np.diff(ve) < 0), ve
    assert ve[-1] < 0.4


def test_srm_variance_explained_variants():
    rng = np.random.default_rng(2)
    _, Xs = make_networks(rng, noise=0.5, t=150, k=3, v=(6, 6, 6))
    train, test = [X[:100] for X in Xs], [X[100:] for X in Xs]
    srm = SharedResponseModel(6, n_iter=5).fit(train)  # k = units (Lu et al.)
    # "own": projection on W_i's span, trivially 1 when W_i is square
    np.testing.assert_allclose(srm.variance_explained(test, shared="own"), 1.0, atol=1e-10)
    others, everyone = srm.variance_explained(test), srm.variance_explained(test, shared="all")
    assert np.all(others < everyone) and np.all(everyone < 1.0)
    # manual formula for network 0 with S_hat from the others
    Z = srm.transform(test)
    S_hat = (Z[1] + Z[2]) / 2
    manual = 1 - np.mean((S_hat @ srm.W_[0].T + srm.means_[0] - test[0]) ** 2) / test[0].var()
    assert others[0] == pytest.approx(manual, abs=TOL)
    const = [X.copy() for X in test]
    const[1][:] = 4.0
    assert srm.variance_explained(const)[1] == 0.0


def test_srm_estimator_rules_and_determinism():
    rng = np.random.default_rng(0)
    _, Xs = make_networks(rng, noise=0.3)
    srm = SharedResponseModel(n_components=-1, n_iter="x")  # __init__ only stores
    assert srm.n_components == -1 and srm.n_iter == "x"
    with pytest.raises(ValueError, match=r"not fitted yet"):
        SharedResponseModel(3).transform(Xs)
    model = SharedResponseModel(3, random_state=5)
    assert model.fit(Xs) is model
    assert {"W_", "S_", "means_", "sigma_s_", "rho2_", "n_networks_"} <= set(vars(model))
    again = SharedResponseModel(3, random_state=5).fit([torch.tensor(X) for X in Xs])
    np.testing.assert_allclose(again.S_, model.S_, atol=TOL)
    assert not hasattr(SharedResponseModel(3, probabilistic=False).fit(Xs), "rho2_")
    np.testing.assert_allclose(model.means_[0], Xs[0].mean(0), atol=TOL)
    # an explicit init equal to the random one reproduces the fit
    rng0 = np.random.default_rng(5)
    init = [np.linalg.qr(rng0.standard_normal((X.shape[1], 3)))[0] for X in Xs]
    np.testing.assert_allclose(SharedResponseModel(3, init=init).fit(Xs).S_, model.S_, atol=TOL)
    stacked = np.stack([X[:, :12] for X in Xs])  # a 3-D array (m, t, v) is a list of networks
    np.testing.assert_allclose(
        SharedResponseModel(3).fit(stacked).S_, SharedResponseModel(3).fit(list(stacked)).S_, atol=TOL
    )


def _brainiak_init(data, k, seed):
    """BrainIAK's initial W_i (srm._init_w_transforms with its seeding), for the oracle test."""
    rs = np.random.RandomState(seed)
    states = [np.random.RandomState(rs.randint(2**32)) for _ in data]
    return [np.linalg.qr(st.random_sample((d.shape[0], k)))[0] for st, d in zip(states, data)]


@pytest.mark.parametrize("probabilistic", [True, False])
def test_srm_matches_brainiak(probabilistic):
    srm_mod = pytest.importorskip("brainiak.funcalign.srm")
    rng = np.random.default_rng(0)
    _, Xs = make_networks(rng, noise=0.5, t=120)
    # BrainIAK: (voxels, samples); pre-centred (its transform/trace ignore the mean) and
    # scaled so that its 0.001 diagonal perturbation before the SVD is negligible
    data = [100 * (X - X.mean(0)).T for X in Xs]
    cls = srm_mod.SRM if probabilistic else srm_mod.DetSRM
    ref = cls(n_iter=5, features=4, rand_seed=0).fit(data)
    ours = SharedResponseModel(
        4, n_iter=5, probabilistic=probabilistic, init=_brainiak_init(data, 4, 0)
    ).fit([d.T for d in data])
    scale = np.abs(ref.s_).max()
    np.testing.assert_allclose(ours.S_.T, ref.s_, atol=ORACLE_TOL * scale)
    for W, W_ref in zip(ours.W_, ref.w_):
        np.testing.assert_allclose(W, W_ref, atol=ORACLE_TOL)
    if probabilistic:
        np.testing.assert_allclose(ours.rho2_, ref.rho2_, rtol=ORACLE_TOL)


# ----------------------------------------------------------------------------- bad input
_rng = np.random.default_rng(0)
XS = [_rng.standard_normal((30, 5)), _rng.standard_normal((30, 6))]
FITTED = SharedResponseModel(3, n_iter=2).fit(XS)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: procrustes(np.ones((5, 2)), np.ones((6, 2))), r"X and Y must have the same number of samples"),
        (lambda: procrustes(np.ones(5), np.ones((5, 2))), r"X must have shape \(\.\.\., n_samples, n_units\)"),
        (lambda: procrustes(np.ones((1, 2)), np.ones((1, 2))), r"at least 2 samples"),
        (lambda: procrustes(np.ones((2, 4, 2)), np.ones((3, 4, 2))), r"leading \(batch\) dimensions of X"),
        (lambda: procrustes(np.ones((4, 2)), np.full((4, 2), np.nan)), r"Y contains NaN or inf"),
        (lambda: SharedResponseModel(3).fit(XS[:1]), r"Xs must hold at least 2 networks, got 1"),
        (lambda: SharedResponseModel(3).fit("abc"), r"Xs must be a list of \(n_samples, n_units\) arrays"),
        (lambda: SharedResponseModel(3).fit([XS[0], XS[1][:20]]), r"same samples: Xs\[0\] has 30 rows, Xs\[1\] has 20"),
        (lambda: SharedResponseModel(3).fit([XS[0], XS[1][0]]), r"Xs\[1\] must have shape \(n_samples, n_units\)"),
        (lambda: SharedResponseModel(6).fit(XS), r"n_components = 6 exceeds the smallest number of units \(5\)"),
        (lambda: SharedResponseModel(5).fit([X[:4] for X in XS]), r"n_components = 5 exceeds the number of samples \(4\)"),
        (lambda: SharedResponseModel(0).fit(XS), r"n_components must be an integer >= 1"),
        (lambda: SharedResponseModel(3, n_iter=0).fit(XS), r"n_iter must be an integer >= 1"),
        (lambda: SharedResponseModel(3).fit([XS[0], np.full((30, 6), np.inf)]), r"Xs\[1\] contains NaN or inf"),
        (lambda: SharedResponseModel(3, init="pca").fit(XS), r"init must be one of 'random'"),
        (lambda: SharedResponseModel(3, init=[np.eye(5)[:, :3]]).fit(XS), r"init must hold one \(v_i, k\) array per network"),
        (lambda: SharedResponseModel(3, init=[np.eye(5)[:, :3], np.ones((6, 2))]).fit(XS), r"init\[1\] must have shape \(6, 3\)"),
        (lambda: SharedResponseModel(3, init=[np.eye(5)[:, :3], np.ones((6, 3))]).fit(XS), r"init\[1\] must have orthonormal columns"),
        (lambda: FITTED.transform(XS + XS), r"Xs must hold the 2 networks the model was fitted on, got 4"),
        (lambda: FITTED.transform([XS[0], XS[0]]), r"Xs\[1\] must have 6 units \(as in fit\), got 5"),
        (lambda: FITTED.variance_explained(XS, shared="mean"), r"shared must be one of 'others', 'all', 'own'"),
        (lambda: FITTED.transform_to(XS[0], source=0, target=2), r"target must index a fitted network \(0\.\.1\), got 2"),
        (lambda: FITTED.transform_to(XS[1], source=0, target=1), r"X must have shape \(n_samples, 5\)"),
        (lambda: FITTED.reconstruct(np.ones((4, 2)), 0), r"S must have shape \(n_samples, 3\)"),
        (lambda: FITTED.shared_response(XS, exclude=5), r"exclude must index a fitted network"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- no alignment (baselines)
TOL_UNALIGNED = 1e-10


def test_unaligned_angle():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 6))
    assert M.unaligned_angle(X, X + 2.0) < 1e-7
    assert abs(M.unaligned_angle(X, -X) - np.pi) < 1e-7
    assert abs(M.unaligned_angle(X, np.ones_like(X)) - np.pi / 2) < TOL_UNALIGNED  # constant: documented pi/2
    batch = M.unaligned_angle(np.stack([X, X]), np.stack([X, -X]))
    np.testing.assert_allclose(batch, [0.0, np.pi], atol=1e-7)
    Q = rotation_matrix(6, 3.0, 0)
    assert M.unaligned_angle(X, X @ Q) > 0.3  # no alignment: a rotation is a different representation
    with pytest.raises(ValueError, match="same"):
        M.unaligned_angle(X, X[:, :5])


def test_unaligned_variance_explained():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 5))
    ve = M.unaligned_variance_explained([X[:30]] * 3, [X[30:]] * 3)
    np.testing.assert_allclose(ve, 1.0, atol=TOL_UNALIGNED)
    ve_rot = M.unaligned_variance_explained([X[:30], X[:30] @ rotation_matrix(5, 3.0)],
                                             [X[30:], X[30:] @ rotation_matrix(5, 3.0)])
    assert np.all(ve_rot < 0.9)
    with pytest.raises(ValueError, match="at least 2 networks"):
        M.unaligned_variance_explained([X], [X])
    with pytest.raises(ValueError, match="same number of units"):
        M.unaligned_variance_explained([X, X[:, :4]], [X, X[:, :4]])
