"""Chapter 05 pipeline: alignment measures on synthetic networks with known answers, claims, errors."""

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import pearsonr  # noqa: E402

from repgeom_lite.chapters import ch05_alignment as ch  # noqa: E402
from repgeom_lite.claims import evaluate_claims  # noqa: E402
from repgeom_lite.metrics import rdm  # noqa: E402
from repgeom_lite.presets import resolve_preset  # noqa: E402

TOL = 1e-10
SEEDS = [0, 1, 2]


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small matrices: one BLAS thread is faster, and far faster on a CPU shared with other jobs."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def rotation(rng, n):
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def rotated_networks(m=4, n=120, N=6, noise=0.0, seed=0, mean=1.0):
    """``X_i = S Q_i^T + noise``: networks that are exact rotations of one shared response."""
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((n, N)) * np.linspace(2, 0.5, N) + mean * rng.standard_normal(N)
    Qs = [rotation(rng, N) for _ in range(m)]
    X = np.stack([S @ Q.T + noise * rng.standard_normal((n, N)) for Q in Qs])
    return X, Qs


# ----------------------------------------------------------------------------- primitives
def test_zscore_patterns_rows():
    X = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    Z = ch.zscore_patterns(X)
    np.testing.assert_allclose(Z[0], (X[0] - 2) / np.std(X[0]))
    np.testing.assert_array_equal(Z[1], 0.0)  # constant pattern -> 0, not NaN
    Z3 = ch.zscore_patterns(np.random.default_rng(0).random((2, 4, 5)))
    np.testing.assert_allclose(Z3.mean(-1), 0, atol=TOL)
    np.testing.assert_allclose(Z3.std(-1), 1, atol=TOL)


def test_subsample_units():
    X = np.random.default_rng(0).random((3, 4, 10))
    assert ch.subsample_units(X, 20, 0) is X
    Y = ch.subsample_units(X, 4, 1)
    assert Y.shape == (3, 4, 4)
    np.testing.assert_array_equal(Y, ch.subsample_units(X, 4, 1))  # seeded
    cols = [[int(np.flatnonzero((X[i].T == Y[i][:, j]).all(1))[0]) for j in range(4)] for i in range(3)]
    assert len({tuple(c) for c in cols}) > 1  # each network draws its own units
    with pytest.raises(ValueError, match=r"X must have shape \(networks, images, units\)"):
        ch.subsample_units(X[0], 4, 0)
    with pytest.raises(ValueError, match="max_units must be >= 1"):
        ch.subsample_units(X, 0, 0)


def test_split_images_stratified_and_sorted():
    labels = np.repeat(np.arange(4), 10)[np.random.default_rng(0).permutation(40)]
    fit, ev = ch.split_images(labels, 0.8, seed=3)
    assert len(fit) == 32 and len(ev) == 8
    assert set(fit).isdisjoint(ev) and set(fit) | set(ev) == set(range(40))
    assert np.all(np.diff(labels[ev]) >= 0)  # evaluation images sorted by class
    assert np.all(np.bincount(labels[ev]) == 2)
    np.testing.assert_array_equal(ch.split_images(labels, 0.8, seed=3)[1], ev)
    with pytest.raises(ValueError, match=r"fit_fraction must be in \(0, 1\)"):
        ch.split_images(labels, 1.0, 0)
    with pytest.raises(ValueError, match="need at least 2 images on each side"):
        ch.split_images(np.array([0, 0]), 0.5, 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_rsms_against_metrics_rdm_and_scipy(seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((7, 5)), rng.standard_normal((7, 5))
    np.testing.assert_allclose(ch.within_rsm(X), 1 - rdm(X), atol=1e-9)
    np.testing.assert_allclose(ch.between_rsm(X, X), ch.within_rsm(X), atol=TOL)
    B = ch.between_rsm(X, Y)
    assert B[2, 4] == pytest.approx(pearsonr(X[2], Y[4])[0], abs=1e-9)
    A, C = ch.within_rsm(X), ch.within_rsm(Y)
    i, j = np.tril_indices(7, -1)
    assert ch.rsm_agreement(A, C) == pytest.approx(pearsonr(A[i, j], C[i, j])[0], abs=1e-9)
    assert ch.rsm_agreement(A, A) == pytest.approx(1.0)
    assert ch.rsm_agreement(A, 2 * A + 1) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="X and Y must have the same shape"):
        ch.between_rsm(X, Y[:, :3])
    with pytest.raises(ValueError, match="square RSMs of the same size >= 3"):
        ch.rsm_agreement(A, C[:3, :3])


# ----------------------------------------------------------------------------- variance explained
@pytest.mark.parametrize("centred", [False, True])
@pytest.mark.parametrize("shared", ["all", "others"])
def test_true_rotations_explain_everything(centred, shared):
    X, Qs = rotated_networks()
    ve = ch.heldout_variance_explained(Qs, X[:, :80], X[:, 80:], shared=shared, centred=centred)
    np.testing.assert_allclose(ve, 1.0, atol=1e-9)


def test_unaligned_independent_networks_known_values():
    """W = I on independent networks: VE -> 1/m ("all") and -1/(m-1) ("others"), centred."""
    rng = np.random.default_rng(0)
    m = 4
    X = rng.standard_normal((m, 20000, 3))
    ve_all = ch.heldout_variance_explained(None, X[:, :100], X[:, 100:], shared="all", centred=True)
    ve_oth = ch.heldout_variance_explained(None, X[:, :100], X[:, 100:], shared="others", centred=True)
    np.testing.assert_allclose(ve_all, 1 / m, atol=0.02)
    np.testing.assert_allclose(ve_oth, -1 / (m - 1), atol=0.03)
    same = np.repeat(X[:1], 3, axis=0)  # identical networks need no alignment
    np.testing.assert_allclose(ch.heldout_variance_explained(None, same[:, :100], same[:, 100:]), 1.0)


def test_source_style_counts_the_mean_pattern():
    """Lu et al.'s (uncentred) VE must rotate the mean pattern too; the centred one ignores it."""
    X, Qs = rotated_networks(mean=3.0)
    rng = np.random.default_rng(5)
    X = X + rng.standard_normal((X.shape[0], 1, X.shape[2])) * 3  # per-network unit offsets, not shared
    fit, ev = X[:, :80], X[:, 80:]
    assert ch.heldout_variance_explained(Qs, fit, ev, centred=True).min() == pytest.approx(1.0)
    assert ch.heldout_variance_explained(Qs, fit, ev, centred=False).max() < 0.9


def test_variance_explained_errors():
    X = np.zeros((3, 5, 2))
    with pytest.raises(ValueError, match="shared must be 'all' or 'others'"):
        ch.heldout_variance_explained(None, X, X, shared="own")
    with pytest.raises(ValueError, match="same networks and units"):
        ch.heldout_variance_explained(None, X, X[:2])
    with pytest.raises(ValueError, match="W must hold one basis per network"):
        ch.heldout_variance_explained([np.eye(2)], X, X)


def test_pairwise_maps_rigid_vs_linear():
    X, _ = rotated_networks(m=3, N=5)
    p = ch.pairwise_map_variance_explained(X[:, :80], X[:, 80:], "procrustes")
    lin = ch.pairwise_map_variance_explained(X[:, :80], X[:, 80:], "linear", alphas=[1e-8])
    assert np.isnan(np.diag(p)).all()
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(p[off], 1.0, atol=1e-9)
    np.testing.assert_allclose(lin[off], 1.0, atol=1e-6)
    # a non-orthogonal map: the linear map still explains it, the rotation cannot
    rng = np.random.default_rng(1)
    A = rng.standard_normal((5, 5))
    Y = np.stack([X[0], X[0] @ A])
    p2 = ch.pairwise_map_variance_explained(Y[:, :80], Y[:, 80:], "procrustes")
    l2 = ch.pairwise_map_variance_explained(Y[:, :80], Y[:, 80:], "linear", alphas=[1e-8])
    assert l2[0, 1] > 0.999 and p2[0, 1] < 0.9
    with pytest.raises(ValueError, match="kind must be 'procrustes' or 'linear'"):
        ch.pairwise_map_variance_explained(Y, Y, "cca")


@pytest.mark.parametrize("seed", SEEDS)
def test_rotation_control_recovers_rotation_exactly(seed):
    rng = np.random.default_rng(seed)
    X = ch.zscore_patterns(rng.standard_normal((60, 8)) @ rng.standard_normal((8, 8)))  # rank N - 1
    rc = ch.rotation_control(X[:45], X[45:], seed=seed)
    assert rc.procrustes_error < 1e-9
    np.testing.assert_allclose(rc.srm_ve, 1.0, atol=1e-6)
    assert rc.unaligned_ve.max() < 0.5


def test_matched_subsets():
    X, _ = rotated_networks(m=5, N=4, noise=0.3)
    out = ch.matched_subset_variance_explained(X[:, :80], X[:, 80:], 3, n_subsets=4, n_iter=5, seed=0)
    assert out.shape == (4, 2, 3)
    all_subsets = ch.matched_subset_variance_explained(X[:, :80], X[:, 80:], 4, n_subsets=10, n_iter=5, seed=0)
    assert all_subsets.shape == (5, 2, 4)
    assert np.all(all_subsets > 0.5)
    with pytest.raises(ValueError, match="m_sub must be between 2 and the number of networks"):
        ch.matched_subset_variance_explained(X, X, 6, n_subsets=2, n_iter=5, seed=0)


def _labels(n, k=4):
    return np.arange(n) % k


def test_analyse_alignment_on_rotated_networks():
    X, _ = rotated_networks(m=4, n=200, N=20, noise=0.1, seed=2)
    a = ch.analyse_alignment(X, _labels(200), name="synthetic", srm_iter=20)
    assert isinstance(a, ch.ArchAlignment)
    assert (a.n_networks, a.n_units, a.n_fit_images) == (4, 20, 160)
    # (z-scoring each image is not rotation-equivariant, so the rotations are not exact any more)
    assert a.ve_srm.min() > 0.85 and a.ve_srm_strict.min() > 0.75
    assert a.ve_none.max() < 0.6 and a.ve_none_strict.max() < 0.2
    assert a.rsm_agree_srm.min() > 0.75 > 0.4 > a.rsm_agree_native.max()
    assert a.pairwise_mean("procrustes").min() > 0.75
    assert a.shared_eval.shape == (4, 40, 20) and a.rsm_within.shape == (4, 40, 40)
    assert np.all(np.diff(a.eval_labels) >= 0)
    # independent networks: nothing to align
    rng = np.random.default_rng(0)
    b = ch.analyse_alignment(rng.standard_normal((4, 200, 20)), _labels(200), srm_iter=20)
    assert b.ve_srm_strict.max() < 0.3 and b.ve_srm.mean() < a.ve_srm.mean() - 0.3


def test_analyse_alignment_errors():
    with pytest.raises(ValueError, match="responses must have shape"):
        ch.analyse_alignment(np.zeros((1, 10, 3)), _labels(10))
    with pytest.raises(ValueError, match="labels must have shape"):
        ch.analyse_alignment(np.zeros((2, 10, 3)), _labels(9))
    with pytest.raises(ValueError, match=r"k = units \(12\) <= fit images \(8\)"):
        ch.analyse_alignment(np.random.default_rng(0).random((2, 10, 12)), _labels(10, 2))


def test_trajectories_3d():
    X, _ = rotated_networks(m=3, n=50, N=5)
    T = ch.trajectories_3d(X, window=4)
    assert T.shape == (3, 47, 3)
    same = ch.trajectories_3d(np.repeat(X[:1], 2, axis=0), window=1)
    np.testing.assert_allclose(same[0], same[1])
    with pytest.raises(ValueError, match="window must be between 1 and n_images - 2"):
        ch.trajectories_3d(X, window=49)
    with pytest.raises(ValueError, match=r"units >= 3"):
        ch.trajectories_3d(X[:, :, :2])


# ----------------------------------------------------------------------------- claims
def _fake_results(noise_conv=0.1, noise_res=0.6):
    conv_X, _ = rotated_networks(m=4, n=200, N=6, noise=noise_conv, seed=1)
    res_X, _ = rotated_networks(m=3, n=200, N=6, noise=noise_res, seed=2)
    y = _labels(200)
    analysis = {"convnet": ch.analyse_alignment(conv_X, y, name="convnet"),
                "resnet": ch.analyse_alignment(res_X, y, name="resnet")}
    Xf, Xe, _ = ch.prepare_responses(conv_X, y, max_units=1000, fit_fraction=0.8, split_seed=0, unit_seed=0)
    matched = ch.matched_subset_variance_explained(Xf, Xe, 3, n_subsets=10, n_iter=10, seed=0)
    return ch.AlignmentResults(config={"conv_seeds": [1, 2, 3, 4], "resnet_seeds": [5, 6, 7]}, data=None,
                               training={}, analysis=analysis, ve_by_epoch={}, conv_ve_matched=matched,
                               wall_time_s=1.0, device="cpu")


def test_measure_claims_values_and_directions():
    r = _fake_results()
    m = ch.measure_claims(r)
    assert set(m) == set(ch.CLAIMS)
    conv, res = r.analysis["convnet"], r.analysis["resnet"]
    assert m["ve_srm_high"].value == pytest.approx(min(conv.ve_srm.mean(), res.ve_srm.mean()))
    assert m["ve_gain"].value == pytest.approx(min((a.ve_srm - a.ve_none).mean() for a in (conv, res)))
    assert m["rsm_between_srm"].value == pytest.approx(min(conv.rsm_agree_srm.mean(), res.rsm_agree_srm.mean()))
    assert m["rsm_gain"].value == pytest.approx(
        min((a.rsm_agree_srm - a.rsm_agree_native).mean() for a in (conv, res)))
    assert m["resnet_ve_lower"].value == pytest.approx(r.conv_ve_matched[:, 1].mean() - res.ve_srm_strict.mean())
    assert m["resnet_ve_lower"].value > 0 and m["resnet_ve_lower"].spread > 0
    assert "resnet" in m["ve_srm_high"].detail  # the noisier residual nets are the worst architecture
    results = {c.id: c for c in evaluate_claims(ch.CLAIMS, m, "small")}
    assert results["resnet_ve_lower"].holds
    # the reverse situation (residual nets cleaner than convnets) makes the claim fail
    flipped = ch.measure_claims(_fake_results(noise_conv=0.6, noise_res=0.1))
    assert flipped["resnet_ve_lower"].value < 0
    assert not {c.id: c for c in evaluate_claims(ch.CLAIMS, flipped, "small")}["resnet_ve_lower"].holds


def test_presets_and_claims_are_consistent():
    assert set(ch.PRESETS["small"]) == set(ch.PRESETS["full"])
    for preset in ("small", "full"):
        cfg = resolve_preset("05", preset)
        assert len(cfg.conv_seeds) >= 2 and len(cfg.resnet_seeds) >= 2
        assert cfg.epochs in cfg.record_epochs
        assert preset in ch.RUNTIME
    assert len(resolve_preset("05", "full").conv_seeds) == 10  # the source's counts
    assert len(resolve_preset("05", "full").resnet_seeds) == 5
    with pytest.raises(ValueError, match="unknown preset 'huge' for chapter 05"):
        resolve_preset("05", "huge")


def test_summary_is_json_and_plots_accept_it(tmp_path):
    r = _fake_results()
    r = ch.AlignmentResults(**{**r.__dict__, "ve_by_epoch": {k: {0: v.ve_srm * 0.5, 3: v.ve_srm}
                                                             for k, v in r.analysis.items()}})
    s = ch.summary(r, include_training=False)
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(s))
    loaded = json.loads(path.read_text())
    assert loaded["architectures"]["convnet"]["n_networks"] == 4
    for fn in (ch.plot_variance_explained, ch.plot_ve_epochs):
        ax = fn(loaded)
        assert ax.get_ylabel()
        plt.close(ax.figure)
    figs = ch.rsm_explore_figures(r)
    assert list(figs) == ["convnet 0", "convnet 1", "convnet 2", "convnet 3", "resnet 0", "resnet 1", "resnet 2"]
    axes = ch.plot_rsms(r.analysis["convnet"], network=1)
    assert len(axes) == 4
    plt.close(axes[0].figure)
    ax = ch.plot_map_comparison(r.analysis["resnet"])
    assert "orthogonal" in ax.get_xlabel()
    plt.close(ax.figure)


def test_trajectory_animation_is_small_html():
    X, _ = rotated_networks(m=2, n=30, N=4)
    T = ch.trajectories_3d(X, window=2)
    html = ch.trajectory_animation(T, T, n_frames=3, dpi=40)
    assert "<script" in html and html.count("data:image/png;base64") == 3
    assert len(html) < 200_000
    # the page is read offline: no CDN stylesheet, no icon font, frames carry alt text
    assert "https://" not in html and "http://" not in html and 'class="fa ' not in html
    assert '<img alt="' in html and "\u25b6" in html
