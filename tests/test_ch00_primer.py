"""Chapter 00 (primer): toy geometries with known answers, helpers, checks, summary, tiny pipeline run."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from repgeom_lite import metrics as M  # noqa: E402
from repgeom_lite.chapters import ch00_primer as ch  # noqa: E402
from repgeom_lite.presets import resolve_preset  # noqa: E402

TOL = 1e-10
SEEDS = [0, 1, 7]


@pytest.fixture(autouse=True)
def _one_thread():
    """Single-threaded BLAS/torch: on a shared CPU, multi-threaded BLAS spin-waits (see ch.thread_limit)."""
    with ch.thread_limit(1):
        yield


# --------------------------------------------------------------------------- presets


def test_presets_differ_only_in_seeds_and_epochs():
    assert list(ch.PRESETS) == ["small", "full"]
    small, full = ch.PRESETS["small"], ch.PRESETS["full"]
    assert set(small) == set(full)
    assert {k for k in small if small[k] != full[k]} == {"seeds", "epochs"}
    assert len(full["seeds"]) == 20  # the source's networks per activation
    assert len(small["seeds"]) >= 2
    assert ch.CLAIMS == {}
    assert set(ch.RUNTIME) == {"small", "full"}


# --------------------------------------------------------------------------- toy geometries


def test_factor_labels():
    L = ch.factor_labels(3)
    assert L.shape == (8, 3) and L.dtype == np.int64
    assert len({tuple(r) for r in L}) == 8
    assert np.all(L.sum(0) == 0)
    assert ch.factor_labels(2).tolist() == [[1, 1], [1, -1], [-1, 1], [-1, -1]]
    with pytest.raises(ValueError, match="n_factors must be an integer >= 1"):
        ch.factor_labels(0)


@pytest.mark.parametrize("seed", SEEDS)
def test_cube_is_factorised(seed):
    L = ch.factor_labels(3)
    Z = ch.cube_geometry(L, 20, seed)
    assert Z.shape == (8, 20)
    np.testing.assert_allclose(Z @ Z.T, L @ L.T, atol=TOL)  # orthonormal coding directions
    np.testing.assert_allclose(M.parallelism_score(Z, L), 1.0, atol=TOL)
    assert abs(float(M.kernel_alignment(Z, L * 1.0)) - 1.0) < TOL


def test_cube_errors():
    with pytest.raises(ValueError, match="n_units must be an integer >= 3"):
        ch.cube_geometry(ch.factor_labels(3), 2)
    with pytest.raises(ValueError, match=r"labels must have shape \(P, k\)"):
        ch.cube_geometry(np.ones(4), 5)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_geometry_spread_and_structure(seed):
    L = ch.factor_labels(3)
    cube = ch.cube_geometry(L, 50, seed)
    R = ch.random_geometry(8, 50, seed, like=cube)
    np.testing.assert_allclose(R.mean(0), 0.0, atol=TOL)
    assert math.isclose(np.linalg.norm(R), np.linalg.norm(cube - cube.mean(0)), rel_tol=1e-12)
    assert np.max(np.abs(M.parallelism_score(R, L))) < 0.6


def test_random_geometry_errors():
    with pytest.raises(ValueError, match=r"like must have shape \(8, 5\)"):
        ch.random_geometry(8, 5, like=np.zeros((8, 4)))
    with pytest.raises(ValueError, match="n_conditions must be an integer >= 2"):
        ch.random_geometry(1, 5)


@pytest.mark.parametrize("seed", SEEDS)
def test_rotation_matrix(seed):
    Q = ch.rotation_matrix(12, 1.3, seed)
    np.testing.assert_allclose(Q.T @ Q, np.eye(12), atol=1e-12)
    assert math.isclose(np.linalg.det(Q), 1.0, rel_tol=1e-10)
    np.testing.assert_allclose(ch.rotation_matrix(12, 0.0, seed), np.eye(12), atol=0)
    assert np.abs(Q - np.eye(12)).max() > 0.1
    with pytest.raises(ValueError, match="amount must be a finite number"):
        ch.rotation_matrix(5, float("nan"))


@pytest.mark.parametrize("seed", SEEDS)
def test_perturb(seed):
    L = ch.factor_labels(3)
    cube = ch.cube_geometry(L, 10, seed)
    np.testing.assert_array_equal(ch.perturb(cube, "noise", 0.0, seed), cube)
    np.testing.assert_array_equal(ch.perturb(cube, "rotation", 0.0, seed), cube)
    rot = ch.perturb(cube, "rotation", 2.0, seed)
    assert abs(float(M.kernel_alignment(cube, rot)) - 1.0) < 1e-10
    noisy = ch.perturb(cube, "noise", 1.0, seed)
    E = noisy - cube  # a random geometry with the cube's spread
    assert math.isclose(np.linalg.norm(E), np.linalg.norm(cube - cube.mean(0)), rel_tol=1e-12)
    with pytest.raises(ValueError, match="kind must be one of"):
        ch.perturb(cube, "shear", 1.0)
    with pytest.raises(ValueError, match="level must be a finite number >= 0"):
        ch.perturb(cube, "noise", -1.0)
    with pytest.raises(ValueError, match=r"means must have shape \(P, N\)"):
        ch.perturb(np.ones(3), "noise", 1.0)


def test_noisy_samples():
    means = np.arange(12.0).reshape(4, 3)
    X, cond = ch.noisy_samples(means, 5, 0.0)
    assert X.shape == (20, 3) and cond.tolist() == sorted(cond.tolist())
    np.testing.assert_array_equal(X, means[cond])
    X1, _ = ch.noisy_samples(means, 5, 0.5, seed=3)
    X2, _ = ch.noisy_samples(2 * means, 5, 0.5, seed=3)
    np.testing.assert_allclose(X2 - 2 * means[cond], X1 - means[cond], atol=TOL)  # common random numbers
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0"):
        ch.noisy_samples(means, 5, -0.1)
    with pytest.raises(ValueError, match="n_per_condition must be an integer >= 1"):
        ch.noisy_samples(means, 0, 0.1)


def test_toy_dichotomies():
    L = ch.factor_labels(3)
    d = ch.toy_dichotomies(L, 8, seed=0)
    assert d.shape == (11, 8)
    np.testing.assert_array_equal(d[:3], (L * L[0]).T)
    assert np.all(d.sum(1) == 0) and np.all(d[:, 0] == 1)
    assert len({tuple(r) for r in d}) == 11
    assert ch.toy_dichotomies(L, 32).shape == (35, 8)
    with pytest.raises(ValueError, match="n_other must be at most 32"):
        ch.toy_dichotomies(L, 33)


@pytest.mark.parametrize("seed", SEEDS)
def test_measure_geometry_known_answers(seed):
    L = ch.factor_labels(3)
    cube = ch.cube_geometry(L, 20, seed)
    d = ch.toy_dichotomies(L, 4, seed)
    kw = dict(n_per_condition=8, sigma=0.05, n_folds=2, seed=seed)
    m, dec = ch.measure_geometry(cube, L, cube, d, **kw)
    assert dec.shape == (7,)
    for key in ("target_alignment", "cka", "rsa", "parallelism", "ccgp", "decoding_factors"):
        assert abs(getattr(m, key) - 1.0) < 1e-6, key
    assert m.procrustes_angle < 1e-6
    rand = ch.random_geometry(8, 20, seed, like=cube)
    mr, _ = ch.measure_geometry(rand, L, cube, d, **kw)
    assert mr.parallelism < 0.6 and mr.ccgp < 0.8 and mr.decoding_other > 0.9
    assert mr.procrustes_angle > 0.3
    assert set(m.as_dict()) == set(ch.METRIC_LABELS)


# --------------------------------------------------------------------------- network helpers


def test_epoch_schedule():
    assert ch.epoch_schedule(10, 6) == (0, 2, 4, 6, 8, 10)
    assert ch.epoch_schedule(1) == (0, 1)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        ch.epoch_schedule(0)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        ch.epoch_schedule(5, 1)


def test_hidden_layer_matches_formula():
    rng = np.random.default_rng(0)
    params = {"W0": rng.standard_normal((5, 3)), "b0": rng.standard_normal(5)}
    X = rng.standard_normal((7, 3))
    np.testing.assert_allclose(ch.hidden_layer(params, X, "tanh"), np.tanh(X @ params["W0"].T + params["b0"]), atol=TOL)
    np.testing.assert_allclose(ch.hidden_layer(params, X, "relu"),
                               np.maximum(X @ params["W0"].T + params["b0"], 0), atol=TOL)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 3\)"):
        ch.hidden_layer(params, X[:, :2], "tanh")


def test_unaligned_angle():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 6))
    assert ch.unaligned_angle(X, X + 2.0) < 1e-7
    assert abs(ch.unaligned_angle(X, -X) - np.pi) < 1e-7
    assert abs(ch.unaligned_angle(X, np.ones_like(X)) - np.pi / 2) < TOL  # constant: documented pi/2
    batch = ch.unaligned_angle(np.stack([X, X]), np.stack([X, -X]))
    np.testing.assert_allclose(batch, [0.0, np.pi], atol=1e-7)
    Q = ch.rotation_matrix(6, 3.0, 0)
    assert ch.unaligned_angle(X, X @ Q) > 0.3  # no alignment: a rotation is a different representation
    with pytest.raises(ValueError, match="same"):
        ch.unaligned_angle(X, X[:, :5])


def test_unaligned_variance_explained():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 5))
    ve = ch.unaligned_variance_explained([X[:30]] * 3, [X[30:]] * 3)
    np.testing.assert_allclose(ve, 1.0, atol=TOL)
    ve_rot = ch.unaligned_variance_explained([X[:30], X[:30] @ ch.rotation_matrix(5, 3.0)],
                                             [X[30:], X[30:] @ ch.rotation_matrix(5, 3.0)])
    assert np.all(ve_rot < 0.9)
    with pytest.raises(ValueError, match="at least 2 networks"):
        ch.unaligned_variance_explained([X], [X])
    with pytest.raises(ValueError, match="same number of units"):
        ch.unaligned_variance_explained([X, X[:, :4]], [X, X[:, :4]])


def test_seed_pairs_and_pca():
    assert ch.seed_pairs(3).tolist() == [[0, 1], [0, 2], [1, 2]]
    assert ch.seed_pairs(1).shape == (0, 2)
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 9))  # rank 2
    P = ch.pca(Z, 2)
    D = lambda A: np.linalg.norm(A[:, None] - A[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(D(P), D(Z), atol=1e-9)  # rank <= 2: distances kept
    assert ch.pca(np.ones((4, 3)), 3).shape == (4, 3)


def test_thread_limit_restores_threads():
    before = torch.get_num_threads()  # 1 here (autouse fixture); nesting must restore it too
    with ch.thread_limit(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with ch.thread_limit(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads must be an integer >= 1"):
        with ch.thread_limit(0):
            pass


# --------------------------------------------------------------------------- checks


def test_checks_pass_fail_and_markdown():
    ok = ch.Check("CKA", 1.0 + 1e-9, 1.0, 1e-6)
    bad = ch.Check("max |x|", 0.5, 0.0, 1e-6)
    assert ok.passed and not bad.passed
    assert not ch.Check("nan", float("nan"), 0.0, 1.0).passed
    ch.assert_checks([ok])
    with pytest.raises(AssertionError, match=r"(?s)1 closed-form fact\(s\) do not hold.*max \|x\|: 0.5, expected 0"):
        ch.assert_checks([ok, bad])
    table = ch.checks_markdown([ok, bad])
    assert "max \\|x\\|" in table and "FAIL" in table and "PASS" in table


# --------------------------------------------------------------------------- tiny pipeline


@pytest.fixture(scope="module")
def tiny():
    cfg = resolve_preset(
        "00", "small", seeds=[3, 4], epochs=2, hidden_units=8, input_dim=10, n_train=200, n_decode=40,
        n_stimuli=16, toy_units=6, toy_samples=6, toy_other_dichotomies=2, explore_levels=[0.0, 1.0],
        device="cpu",
    )
    return cfg, ch.run(cfg, progress=False)


def test_tiny_run_shapes(tiny):
    cfg, res = tiny
    nets, toys = res.networks, res.toys
    A, S = 2, 2
    R = len(nets.epochs)
    assert nets.target_alignment.shape == (A, S, R) and nets.epochs[0] == 0 and nets.epochs[-1] == 2
    assert nets.decoding.shape == (A, S, 2, 3) and nets.ccgp.shape == (A, S, 2)
    assert nets.rsa_trained.shape == (1 + A * S, 1 + A * S)
    assert nets.between["apc"].shape == (A, 2, 1) and nets.srm_ve.shape == (A, 2, S)
    assert nets.example_responses.shape == (A, 16, 8)
    assert set(nets.copies) == {"units permuted", "units rotated", "another tanh seed", "ReLU net, same seed"}
    assert abs(nets.copies["units permuted"]["apc"] - 1.0) < 1e-9
    assert nets.copies["units rotated"]["procrustes_angle"] < 1e-6
    np.testing.assert_allclose(nets.untrained_index, np.delete(np.arange(3), nets.trained_index))
    # the same seed gives the same tanh and ReLU initial weights: identical hidden kernels need not hold,
    # but input alignment at init is high for both (random features keep the input geometry)
    assert set(toys.explore_metrics) == {(k, lv) for k in ch.EXPLORE_KINDS for lv in (0.0, 1.0)}
    assert toys.explore_metrics["noise", 0.0] is toys.metrics["cube"]
    assert toys.explore_metrics["rotation", 1.0] is toys.metrics["rotated cube"]
    assert all(np.isfinite(v) for m in toys.metrics.values() for v in m.as_dict().values())


def test_tiny_run_closed_forms_hold(tiny):
    _, res = tiny
    checks = ch.closed_form_checks(res)
    assert len(checks) >= 15
    ch.assert_checks(checks)


def test_summary_roundtrip_and_markdown(tiny, tmp_path):
    _, res = tiny
    summary = ch.summarize(res)
    path = ch.save_summary(summary, tmp_path / "summary.json")
    loaded = ch.load_summary(path)
    assert loaded == summary
    assert loaded["networks"]["seeds"] == [3, 4] and loaded["networks"]["epochs"] == 2
    ta = loaded["networks"]["measures"]["target alignment"]["tanh"]["trained"]
    assert ta[0] == pytest.approx(np.mean(res.networks.target_alignment[0, :, -1]))
    assert ta[1] == pytest.approx(np.std(res.networks.target_alignment[0, :, -1], ddof=1))
    for text in (ch.toy_table_markdown(loaded), ch.network_table_markdown(loaded),
                 ch.copies_table_markdown(loaded), ch.findings_markdown(loaded)):
        assert "nan" not in text.lower()
    assert ch.network_table_markdown(loaded).count("\n") == 1 + len(loaded["networks"]["measures"])
    (tmp_path / "other.json").write_text('{"chapter": "01"}')
    with pytest.raises(ValueError, match="is not a chapter 00 summary"):
        ch.load_summary(tmp_path / "other.json")


def test_plots_return_axes(tiny):
    _, res = tiny
    toys, nets = res.toys, res.networks
    ax = ch.plot_tuning(toys.geometries["cube"])
    assert ax.get_xlabel() == "condition"
    assert ch.plot_kernel(toys.geometries["cube"]).get_ylabel() == "condition"
    fig = plt.figure()
    ax3 = ch.plot_toy_geometry(toys.geometries["cube"], toys.labels, ax=fig.add_subplot(projection="3d"))
    assert ax3.get_zlabel() == "PC 3 (a.u.)"
    assert ch.plot_toy_geometry(toys.geometries["random"], toys.labels).get_xlabel() == "PC 1 (a.u.)"
    assert ch.plot_four_cluster_task(nets.task).get_xlabel().startswith("PC 1")
    assert ch.plot_toy_metrics(toys).get_ylabel().startswith("value")
    assert ch.plot_toy_dichotomies(toys).get_ylabel() == "decoding accuracy"
    assert ch.plot_over_training(nets, "parallelism").get_xlabel() == "epoch"
    with pytest.raises(ValueError, match="metric must be"):
        ch.plot_over_training(nets, "ccgp")
    assert ch.plot_init_vs_trained(nets).get_ylim()[1] > 1
    assert ch.plot_rsa_matrix(nets) is not None
    assert ch.plot_between_seeds(nets).get_ylabel().startswith("value")
    fig = ch.explore_figure(toys, "rotation", 1.0)
    assert len(fig.axes) == 2 and fig.axes[1].get_xlabel() == "value (unitless)"
    with pytest.raises(ValueError, match="no explore state"):
        ch.explore_figure(toys, "noise", 0.5)
    plt.close("all")


def test_run_networks_errors():
    cfg = dict(ch.PRESETS["small"])
    with pytest.raises(ValueError, match="at least 2 distinct seeds"):
        ch.run_networks({**cfg, "seeds": [1]}, progress=False)
    with pytest.raises(ValueError, match="n_stimuli must be >= 160"):
        ch.run_networks({**cfg, "n_stimuli": 100}, progress=False)
    with pytest.raises(ValueError, match="explore_levels must list at least 2 levels"):
        ch.run_toys({**cfg, "explore_levels": [1.0]})


# --------------------------------------------------------------------------- map of the book


def test_book_map_links_only_built_chapters(tmp_path):
    nb = tmp_path / "notebooks"
    nb.mkdir()
    assert ch.linkable_chapters(nb) == set()  # no _toc.yml (e.g. Colab): no links
    (nb / "01_tanh_vs_relu.ipynb").write_text("{}")
    (nb / "04_underspecification.ipynb").write_text("{}")
    (tmp_path / "_toc.yml").write_text(
        "parts:\n  - caption: Chapters\n    chapters:\n      - file: notebooks/01_tanh_vs_relu\n"
        "      - file: notebooks/02_delta_separability\n"
    )
    linkable = ch.linkable_chapters(nb)
    assert linkable == {"01"}  # 02 is listed but missing, 04 exists but is not listed
    text = ch.book_map_markdown(linkable)
    assert "](01_tanh_vs_relu.ipynb)" in text
    assert "](04_underspecification.ipynb)" not in text and "*(in preparation)*" in text
    assert text.count("\n") == len(ch.BOOK_MAP) - 1
