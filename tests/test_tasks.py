"""Task generators: shapes, reproducibility, label structure, exact geometry, error paths."""

from __future__ import annotations

import itertools
import math
import pickle
import struct

import numpy as np
import pytest
from scipy.optimize import linprog

from repgeom_lite import data, tasks

ALIGN_TOL = 1e-6  # C(K_X, K_Y) on the noise-free float32 centres vs the requested value
SEEDS = [0, 1, 7]
SMALL = dict(n_train=64, n_test=32)


# --------------------------------------------------------------------------- independent helpers


def cka(A, B):
    """Linear CKA / kernel alignment of two row-pattern matrices, written from the definition."""
    A = np.asarray(A, np.float64)
    B = np.asarray(B, np.float64)
    A = A - A.mean(0)
    B = B - B.mean(0)
    K, L = A @ A.T, B @ B.T
    return np.trace(K @ L) / math.sqrt(np.trace(K @ K) * np.trace(L @ L))


def linearly_separable(X, labels):
    """LP feasibility of labels_i (w · x_i + b) ≥ 1 (exact, no optimiser tolerance games)."""
    X = np.asarray(X, np.float64)
    y = np.asarray(labels, np.float64)
    A_ub = -y[:, None] * np.hstack([X, np.ones((len(X), 1))])
    res = linprog(np.zeros(X.shape[1] + 1), A_ub=A_ub, b_ub=-np.ones(len(X)),
                  bounds=[(None, None)] * (X.shape[1] + 1), method="highs")
    return res.status == 0


def participation_ratio(K):
    lam = np.linalg.eigvalsh(K)
    return lam.sum() ** 2 / np.sum(lam ** 2)


def array_fields(obj):
    return {k: v for k, v in vars(obj).items() if isinstance(v, np.ndarray)}


def assert_same(a, b):
    fa, fb = array_fields(a), array_fields(b)
    assert fa.keys() == fb.keys()
    for k in fa:
        np.testing.assert_array_equal(fa[k], fb[k], err_msg=k)


# --------------------------------------------------------------------------- four clusters


def test_four_cluster_shapes_and_labels():
    t = tasks.four_cluster_task(D=100, n_train=5000, n_test=1000, seed=0)
    assert t.X_train.shape == (5000, 100) and t.X_train.dtype == np.float32
    assert t.Y_train.shape == (5000, 1) and t.Y_train.dtype == np.float32
    assert t.X_test.shape == (1000, 100) and t.cond_test.shape == (1000,)
    assert t.centers.shape == (4, 100) and t.centers.dtype == np.float32
    assert (t.n_conditions, t.n_inputs, t.n_outputs) == (4, 100, 1)
    np.testing.assert_array_equal(t.labels[:, 0], [-1, -1, 1, 1])
    assert t.cond_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(t.cond_train), [1250] * 4)
    np.testing.assert_array_equal(t.Y_train[:, 0], np.isin(t.cond_train, [2, 3]))
    np.testing.assert_array_equal(t.Y_test[:, 0], np.isin(t.cond_test, [2, 3]))
    assert set(np.unique(t.Y_train)) == {0.0, 1.0}
    # centres ~ N(0, I); noise at sigma_train
    assert abs(t.centers.std() - 1) < 0.15
    assert abs((t.X_train - t.centers[t.cond_train]).std() - 1.0) < 0.02
    assert t.factor_labels is None and t.latents is None


@pytest.mark.parametrize("seed", SEEDS)
def test_four_cluster_reproducible(seed):
    a = tasks.four_cluster_task(seed=seed, **SMALL)
    assert_same(a, tasks.four_cluster_task(seed=seed, **SMALL))
    b = tasks.four_cluster_task(seed=seed + 100, **SMALL)
    assert not np.array_equal(a.centers, b.centers)
    assert not np.array_equal(a.X_train, b.X_train)


def test_balanced_conditions_uneven_n():
    t = tasks.aligned_kernel_task(8, 3, 0.2, n_train=5001, n_test=13)
    counts = np.bincount(t.cond_train, minlength=8)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 5001


@pytest.mark.parametrize("sigma", [0.0, 0.5, 2.5])
def test_sample_noise_level(sigma):
    t = tasks.four_cluster_task(**SMALL)
    s = t.sample(4000, sigma, seed=3)
    assert s.X.shape == (4000, 100) and s.X.dtype == np.float32 and s.Y.shape == (4000, 1)
    np.testing.assert_array_equal(np.bincount(s.cond), [1000] * 4)
    np.testing.assert_array_equal(s.Y[:, 0], np.isin(s.cond, [2, 3]))
    resid = s.X - t.centers[s.cond]
    assert abs(resid.std() - sigma) < 0.02 * max(sigma, 1)
    assert_same(s, t.sample(4000, sigma, seed=3))
    if sigma > 0:
        assert not np.array_equal(s.X, t.sample(4000, sigma, seed=4).X)


def test_sample_errors():
    t = tasks.four_cluster_task(**SMALL)
    with pytest.raises(ValueError, match="n must be"):
        t.sample(0, 1.0)
    with pytest.raises(ValueError, match="sigma must be"):
        t.sample(10, -1.0)
    with pytest.raises(ValueError, match="seed must be"):
        t.sample(10, 1.0, seed=-1)


@pytest.mark.parametrize("kwargs,match", [
    ({"D": 0}, "D must be"),
    ({"sigma_train": -0.1}, "sigma_train must be"),
    ({"sigma_test": float("nan")}, "sigma_test must be"),
    ({"n_train": 0}, "n_train must be"),
    ({"n_test": 2.5}, "n_test must be"),
    ({"seed": -3}, "seed must be"),
    ({"seed": 1.5}, "seed must be"),
])
def test_four_cluster_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tasks.four_cluster_task(**kwargs)


# --------------------------------------------------------------------------- δ-XOR


@pytest.mark.parametrize("delta", [0.0, 0.3, 1.0])
def test_delta_xor_latent_structure(delta):
    t = tasks.delta_xor_task(delta, **SMALL)
    assert t.centers.shape == (4, 120) and t.X_train.shape == (64, 120)
    expected = {(1, 1, -delta), (-1, 1, delta), (1, -1, delta), (-1, -1, -delta)}  # SPEC, Finding 2
    assert {tuple(np.round(r, 6)) for r in t.latents.astype(np.float64)} == {
        tuple(np.round(r, 6)) for r in expected}
    # target = XOR of the first two signs; class 1 (label +1) when they differ
    xor = np.where(t.factor_labels[:, 0] != t.factor_labels[:, 1], 1, -1)
    np.testing.assert_array_equal(t.labels[:, 0], xor)
    np.testing.assert_array_equal(t.labels[:, 0], [-1, -1, 1, 1])  # paper order: x1, x2 class 0
    np.testing.assert_array_equal(t.factor_labels, np.sign(t.latents[:, :2]))
    np.testing.assert_allclose(t.latents[:, 2], delta * t.labels[:, 0], rtol=1e-6)
    for col in (t.labels, t.factor_labels):
        np.testing.assert_array_equal(col.sum(0), 0)  # balanced
    # each latent coordinate in its own 40-dim block, non-negative, norm sqrt(40)
    E = t.embedding.astype(np.float64)
    assert E.shape == (3, 120) and np.all(E >= 0)
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), math.sqrt(40), rtol=1e-6)
    for j in range(3):
        outside = np.delete(E[j], np.arange(40 * j, 40 * j + 40))
        assert np.all(outside == 0)
    np.testing.assert_allclose(t.centers, t.latents @ t.embedding, rtol=1e-5, atol=1e-5)


def test_delta_xor_separability():
    for delta, separable in [(0.0, False), (0.05, True), (0.5, True), (1.0, True)]:
        t = tasks.delta_xor_task(delta, **SMALL)
        assert linearly_separable(t.centers, t.labels[:, 0]) is separable, delta
    # the brief's check: logistic regression on the centres fails at δ = 0, succeeds at δ = 1
    from sklearn.linear_model import LogisticRegression

    for delta, ok in [(0.0, False), (1.0, True)]:
        t = tasks.delta_xor_task(delta, **SMALL)
        clf = LogisticRegression(C=1e4, max_iter=5000).fit(t.centers, t.labels[:, 0])
        assert (clf.score(t.centers, t.labels[:, 0]) == 1.0) is ok
    # the latent factors themselves are linearly decodable at every δ
    t = tasks.delta_xor_task(0.0, **SMALL)
    for f in range(2):
        assert linearly_separable(t.centers, t.factor_labels[:, f])


def test_delta_xor_zero_noise_and_reproducible():
    t = tasks.delta_xor_task(0.4, sigma_train=0.0, **SMALL)
    np.testing.assert_array_equal(t.X_train, t.centers[t.cond_train])
    assert_same(t, tasks.delta_xor_task(0.4, sigma_train=0.0, **SMALL))
    other = tasks.delta_xor_task(0.4, sigma_train=0.0, seed=5, **SMALL)
    assert not np.array_equal(t.embedding, other.embedding)


def test_delta_xor_stack_matches_single_tasks():
    deltas, sigmas = np.linspace(0, 1, 5), [0.0, 0.2, 0.3]
    stack = tasks.delta_xor_stack(deltas, sigmas, n_train=50, n_test=20, seed=2)
    G = len(deltas) * len(sigmas)
    assert len(stack) == G
    assert stack.X_train.shape == (G, 50, 120) and stack.X_test.shape == (G, 20, 120)
    assert stack.centers.shape == (G, 4, 120) and stack.Y_train.shape == (50, 1)
    for g, (d, s) in enumerate(itertools.product(deltas, sigmas)):  # δ-major order
        assert (stack.delta[g], stack.sigma_train[g]) == (d, s)
        single = tasks.delta_xor_task(float(d), sigma_train=s, n_train=50, n_test=20, seed=2)
        assert_same(stack.task(g), single)
        assert single.delta == d and single.sigma_train == s
    samples = stack.sample(40, 0.7, seed=1)
    assert samples.X.shape == (G, 40, 120)
    np.testing.assert_array_equal(samples.X[3], stack.task(3).sample(40, 0.7, seed=1).X)


@pytest.mark.parametrize("call,match", [
    (lambda: tasks.delta_xor_task(1.5), "delta must be"),
    (lambda: tasks.delta_xor_task(-0.1), "delta must be"),
    (lambda: tasks.delta_xor_task(0.5, sigma_train=-1), "sigma_train must be"),
    (lambda: tasks.delta_xor_task(0.5, D_block=0), "D_block must be"),
    (lambda: tasks.delta_xor_stack([]), "deltas must be"),
    (lambda: tasks.delta_xor_stack([0.2, 2.0]), "deltas must be"),
    (lambda: tasks.delta_xor_stack([float("nan")]), "deltas must be"),
    (lambda: tasks.delta_xor_stack([0.2], [-0.1]), "sigmas_train must be"),
    (lambda: tasks.delta_xor_stack([0.2], n_train=10, n_test=10).task(1), "g must be < 1"),
    (lambda: tasks.delta_xor_stack([0.2], n_train=10, n_test=10).task(-1), "g must be"),
])
def test_delta_xor_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- aligned kernels

GRID = [(P, k) for P in (8, 32) for k in (1, int(math.log2(P)), P - 1)]


@pytest.mark.parametrize("P,k", GRID)
@pytest.mark.parametrize("max_dim", [True, False])
def test_aligned_kernel_alignment_exact(P, k, max_dim):
    grid = tasks.alignment_grid(P, k, 12)
    assert grid[0] == tasks.min_alignment(P, k) and grid[-1] == tasks.max_alignment(P, k)
    if k < P - 1:
        assert grid[0] == 0.0
    for i, c in enumerate(grid):
        t = tasks.aligned_kernel_task(P, k, c, max_dim=max_dim, n_train=P, n_test=P, seed=i)
        assert t.centers.shape == (P, 100) and t.labels.shape == (P, k)
        assert abs(cka(t.centers, t.labels) - c) < ALIGN_TOL, (P, k, c)
        assert t.alignment == pytest.approx(c, abs=1e-12)
        # labels: balanced, distinct, mutually orthogonal ±1 dichotomies
        assert set(np.unique(t.labels)) == {-1, 1}
        np.testing.assert_array_equal(t.labels.sum(0), 0)
        np.testing.assert_array_equal(t.labels.T @ t.labels, P * np.eye(k))
        # K_X: centred, unit trace, PSD, the Gram matrix of the centres
        K = t.input_kernel
        np.testing.assert_allclose(K.sum(1), 0, atol=1e-10)
        assert np.trace(K) == pytest.approx(1.0)
        assert np.linalg.eigvalsh(K).min() > -1e-10
        np.testing.assert_allclose(t.centers @ t.centers.T / (P * 100), K, atol=1e-6)


@pytest.mark.parametrize("P,k", [(8, 1), (8, 3), (32, 5)])
def test_aligned_kernel_max_dim_geometry(P, k):
    # alignment 0: K_max = projector on the centred null space of K_Y, rank P-1-k
    t0 = tasks.aligned_kernel_task(P, k, 0.0, **SMALL)
    assert participation_ratio(t0.input_kernel) == pytest.approx(P - 1 - k)
    assert np.linalg.matrix_rank(t0.input_kernel, tol=1e-9) == P - 1 - k
    # the largest alignment is the isotropic kernel: full dimension P - 1
    top = tasks.aligned_kernel_task(P, k, tasks.max_alignment(P, k), **SMALL)
    np.testing.assert_allclose(top.input_kernel, (np.eye(P) - 1 / P) / (P - 1), atol=1e-12)
    # max-dim is at least as high-dimensional as random draws of the same alignment
    for c in tasks.alignment_grid(P, k, 4):
        best = participation_ratio(tasks.aligned_kernel_task(P, k, c, **SMALL).input_kernel)
        for seed in range(3):
            other = tasks.aligned_kernel_task(P, k, c, max_dim=False, seed=seed, **SMALL)
            assert participation_ratio(other.input_kernel) <= best + 1e-9


def test_aligned_kernel_rank_option():
    t = tasks.aligned_kernel_task(32, 5, 0.2, max_dim=False, rank=3, **SMALL)
    assert abs(cka(t.centers, t.labels) - 0.2) < ALIGN_TOL
    # rank(source) + rank(perspective kernel) bounds the result: far below P - 1
    assert np.linalg.matrix_rank(t.input_kernel, tol=1e-9) < 31


def test_max_alignment_closed_form():
    assert tasks.max_alignment(8, 1) == pytest.approx(1 / math.sqrt(7))
    assert tasks.max_alignment(32, 5) == pytest.approx(math.sqrt(5 / 31))
    assert tasks.max_alignment(8, 7) == 1.0
    assert tasks.min_alignment(8, 7) == pytest.approx(1 / math.sqrt(7))
    assert tasks.min_alignment(32, 5) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_aligned_kernel_reproducible_and_noisy(seed):
    a = tasks.aligned_kernel_task(8, 3, 0.3, sigma_train=0.0, max_dim=False, seed=seed, **SMALL)
    assert_same(a, tasks.aligned_kernel_task(8, 3, 0.3, sigma_train=0.0, max_dim=False, seed=seed, **SMALL))
    b = tasks.aligned_kernel_task(8, 3, 0.3, sigma_train=0.0, max_dim=False, seed=seed + 10, **SMALL)
    assert not np.array_equal(a.centers, b.centers)
    np.testing.assert_array_equal(a.X_train, a.centers[a.cond_train])
    np.testing.assert_array_equal(a.Y_train, (a.labels[a.cond_train] + 1) / 2)
    # default scale: mean squared centre norm = D, like N(0, I_D) centres
    assert np.mean(np.sum(a.centers.astype(np.float64) ** 2, 1)) == pytest.approx(100, rel=1e-5)


@pytest.mark.parametrize("kwargs,match", [
    (dict(P=8, k=1, alignment=0.5), "alignment must lie in"),  # above sqrt(1/7)
    (dict(P=32, k=5, alignment=-0.01), "alignment must lie in"),
    (dict(P=8, k=7, alignment=0.0), "alignment must lie in"),  # k = P-1: min 1/sqrt(7)
    (dict(P=8, k=1, alignment=float("nan")), "alignment must be"),
    (dict(P=12, k=1, alignment=0.1), "P must be a power of two"),
    (dict(P=1, k=1, alignment=0.1), "P must be"),
    (dict(P=8, k=8, alignment=0.1), "k must be at most"),
    (dict(P=8, k=0, alignment=0.1), "k must be"),
    (dict(P=32, k=5, alignment=0.1, D=20), "D must be"),
    (dict(P=8, k=1, alignment=0.1, scale=0.0), "scale must be"),
    (dict(P=8, k=1, alignment=0.1, max_dim=False, rank=0), "rank must be"),
    (dict(P=8, k=1, alignment=0.1, sigma_train=-1.0), "sigma_train must be"),
])
def test_aligned_kernel_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tasks.aligned_kernel_task(**kwargs)


def test_alignment_grid_errors():
    with pytest.raises(ValueError, match="n must be"):
        tasks.alignment_grid(8, 1, 0)
    with pytest.raises(ValueError, match="k must be at most"):
        tasks.max_alignment(8, 9)


def test_deep_net_tasks():
    easy = tasks.deep_net_task("easy", **SMALL)
    hard = tasks.deep_net_task("hard", **SMALL)
    for t in (easy, hard):
        assert t.centers.shape == (32, 100) and t.labels.shape == (32, 5)
        assert abs(cka(t.centers, t.labels)) < ALIGN_TOL
        np.testing.assert_array_equal(t.labels.T @ t.labels, 32 * np.eye(5))
    assert (easy.name, hard.name) == ("deep-easy", "deep-hard")
    assert np.linalg.matrix_rank(easy.input_kernel, tol=1e-9) == 26
    assert np.linalg.matrix_rank(hard.input_kernel, tol=1e-9) == 5
    # hard: the 32 conditions are all settings of 5 binary latents; target 0 is their parity
    assert len({tuple(r) for r in hard.factor_labels}) == 32
    np.testing.assert_array_equal(hard.labels[:, 0], np.prod(hard.factor_labels, axis=1))
    np.testing.assert_array_equal(hard.latents, hard.factor_labels)
    # the centres are a linear image of the latent cube, on which the parity is not separable
    F = np.hstack([hard.factor_labels, np.ones((32, 1))]).astype(np.float64)
    coef, *_ = np.linalg.lstsq(F, hard.centers.astype(np.float64), rcond=None)
    np.testing.assert_allclose(F @ coef, hard.centers, atol=1e-5)
    assert not linearly_separable(hard.factor_labels, hard.labels[:, 0])
    assert linearly_separable(hard.factor_labels, hard.factor_labels[:, 0])
    # targets have order ≥ 4 in the latent bits: orthogonal to all pairwise products too
    pairs = np.stack([hard.factor_labels[:, i] * hard.factor_labels[:, j]
                      for i, j in itertools.combinations(range(5), 2)], 1)
    np.testing.assert_array_equal(pairs.T @ hard.labels, 0)
    assert_same(hard, tasks.deep_net_task("hard", **SMALL))


@pytest.mark.parametrize("args,match", [
    (("medium",), "difficulty must be"),
    (("hard", 32, 27), "k must be at most P - 1 - log2"),
    (("hard", 32, 5, 10), "D must be"),
    (("hard", 32, 5, 100, -1.0), "sigma_train must be"),
])
def test_deep_net_errors(args, match):
    with pytest.raises(ValueError, match=match):
        tasks.deep_net_task(*args)


@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_deep_net_scale_error(difficulty):
    with pytest.raises(ValueError, match="scale must be"):
        tasks.deep_net_task(difficulty, scale=float("inf"))


# --------------------------------------------------------------------------- dual digits


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


@pytest.fixture(scope="module")
def dual():
    return tasks.dual_digits_task("digits", n_train=2000, n_test=500, seed=0)


def test_dual_digits_shapes(dual):
    assert dual.X_train.shape == (2000, 128) and dual.X_train.dtype == np.float32
    assert dual.X_test.shape == (500, 128) and dual.image_shape == (8, 16)
    assert dual.y_train.shape == (2000, 2) and dual.y_train.dtype == np.int64
    assert dual.Y_train.shape == (2000, 20) and dual.Y_train.dtype == np.float32
    assert 0 <= dual.X_train.min() and dual.X_train.max() <= 1
    assert dual.stimuli.shape == (100, 128) and dual.stimulus_labels.shape == (100, 2)


def test_dual_digits_pairs(dual, digits):
    images, labels = digits
    for X, y, Y, cond, index in [
        (dual.X_train, dual.y_train, dual.Y_train, dual.cond_train, dual.source_index_train),
        (dual.X_test, dual.y_test, dual.Y_test, dual.cond_test, dual.source_index_test),
    ]:
        # one-hot heads agree with class ids; cond = 10 * left + right, balanced
        np.testing.assert_array_equal(Y[:, :10].argmax(1), y[:, 0])
        np.testing.assert_array_equal(Y[:, 10:].argmax(1), y[:, 1])
        np.testing.assert_array_equal(Y.sum(1), 2)
        np.testing.assert_array_equal(cond, 10 * y[:, 0] + y[:, 1])
        counts = np.bincount(cond, minlength=100)
        assert counts.max() - counts.min() <= 1
        # the input is the left image beside the right image
        np.testing.assert_array_equal(labels[index], y)
        pictures = X.reshape(-1, 8, 16)
        np.testing.assert_array_equal(pictures[:, :, :8], images[index[:, 0]])
        np.testing.assert_array_equal(pictures[:, :, 8:], images[index[:, 1]])
    # held-out split: test pairs use only images never seen in training pairs
    assert not set(dual.source_index_train.ravel()) & set(dual.source_index_test.ravel())


def test_dual_digits_stimuli(dual):
    a, b = dual.stimulus_labels.T
    np.testing.assert_array_equal(10 * a + b, np.arange(100))
    for j in (0, 37, 99):
        np.testing.assert_allclose(dual.stimuli[j], dual.X_test[dual.cond_test == j].mean(0), rtol=1e-6)


def test_dual_digits_reproducible(dual):
    again = tasks.dual_digits_task("digits", n_train=2000, n_test=500, seed=0)
    assert_same(dual, again)
    other = tasks.dual_digits_task("digits", n_train=2000, n_test=500, seed=1)
    assert not np.array_equal(other.source_index_train, dual.source_index_train)


def test_dual_digits_mnist_and_custom():
    m = tasks.dual_digits_task("mnist", n_train=200, n_test=100)
    assert m.X_train.shape == (200, 1568) and m.image_shape == (28, 56) and m.source == "mnist"
    rng = np.random.default_rng(0)
    images = rng.random((60, 5, 4)).astype(np.float32)
    c = tasks.dual_digits_task((images, np.arange(60) % 10), n_train=30, n_test=100)
    assert c.X_train.shape == (30, 40) and c.source == "custom"


@pytest.mark.parametrize("kwargs,match", [
    ({"n_test": 99}, "n_test must be"),
    ({"n_train": 0}, "n_train must be"),
    ({"test_fraction": 1.0}, "test_fraction must be"),
    ({"source": "fashion"}, "source must be"),
    ({"source": 3}, "source must be"),
    ({"source": (np.zeros((10, 64)), np.arange(10))}, "source images must be"),
    ({"source": (np.zeros((10, 8, 8)), np.arange(10) % 5)}, "all ten digit classes"),
    ({"seed": -1}, "seed must be"),
])
def test_dual_digits_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tasks.dual_digits_task(**kwargs)


# --------------------------------------------------------------------------- class subsets


def test_class_subset_mapping(digits):
    first = tasks.class_subset_task(2)
    for n in range(2, 11):
        t = tasks.class_subset_task(n)
        assert t.X_train.shape[1] == 64 and t.X_train.dtype == np.float32
        assert 0 <= t.X_train.min() and t.X_train.max() <= 1
        for y, orig in [(t.y_train, t.original_y_train), (t.y_test, t.original_y_test)]:
            np.testing.assert_array_equal(y, np.where(orig < n, orig, 0))
            assert set(np.unique(y)) == set(range(n)) and y.dtype == np.int64
        # fixed split: the same images for every n_classes
        np.testing.assert_array_equal(t.X_train, first.X_train)
        np.testing.assert_array_equal(t.original_y_test, first.original_y_test)
    assert len(first.X_train) + len(first.X_test) == len(digits.labels)
    assert len(first.X_test) == pytest.approx(0.2 * 1797, abs=10)
    other = tasks.class_subset_task(2, seed=1)
    assert not np.array_equal(other.original_y_train, first.original_y_train)


def test_class_subset_test_source():
    rng = np.random.default_rng(0)
    train = (rng.random((30, 3, 3)), np.arange(30) % 10)
    test = (rng.random((10, 3, 3)), np.arange(10))
    t = tasks.class_subset_task(4, source=train, test_source=test)
    assert t.X_train.shape == (30, 9) and t.X_test.shape == (10, 9)
    np.testing.assert_array_equal(t.y_test, [0, 1, 2, 3, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="test_source images"):
        tasks.class_subset_task(4, source=train, test_source=(rng.random((10, 2, 2)), np.arange(10)))


@pytest.mark.parametrize("kwargs,match", [
    ({"n_classes": 1}, "n_classes must be"),
    ({"n_classes": 11}, "n_classes must be between 2 and 10"),
    ({"n_classes": 3, "test_fraction": 0}, "test_fraction must be"),
    ({"n_classes": 3, "source": "cifar10"}, "source must be"),
])
def test_class_subset_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tasks.class_subset_task(**kwargs)


# --------------------------------------------------------------------------- image classification data


def test_image_data_digits():
    d = tasks.image_classification_data("digits", heldout_fraction=0.25, seed=0)
    assert d.X_train.shape[1:] == (1, 8, 8) and d.X_train.dtype == np.float32
    assert len(d.X_train) + len(d.X_heldout) == 1797 and d.n_classes == 10
    assert len(d.X_heldout) == pytest.approx(0.25 * 1797, abs=10)
    assert d.y_heldout.dtype == np.int64
    assert_same(d, tasks.image_classification_data("digits", heldout_fraction=0.25, seed=0))
    small = tasks.image_classification_data("digits", n_train=100, n_heldout=50, seed=0)
    assert small.X_train.shape == (100, 1, 8, 8) and small.X_heldout.shape == (50, 1, 8, 8)


def _write_tiny_cifar(root, rng):
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": list(range(4))}
        (folder / name).write_bytes(pickle.dumps(batch))


def _write_tiny_mnist(root, rng):
    for kind, n in (("train", 12), ("t10k", 5)):
        for what, array in (("images-idx3", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
                            ("labels-idx1", (np.arange(n) % 10).astype(np.uint8))):
            header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            (root / f"{kind}-{what}-ubyte").write_bytes(header + array.tobytes())


def test_image_data_from_files(tmp_path):
    rng = np.random.default_rng(0)
    _write_tiny_cifar(tmp_path, rng)
    c = tasks.image_classification_data("cifar10", path=tmp_path, n_heldout=3)
    assert c.X_train.shape == (20, 3, 32, 32) and c.X_heldout.shape == (3, 3, 32, 32)
    _write_tiny_mnist(tmp_path, rng)
    m = tasks.image_classification_data("mnist", path=tmp_path)
    assert m.X_train.shape == (12, 1, 28, 28) and m.X_heldout.shape == (5, 1, 28, 28)


@pytest.mark.parametrize("kwargs,match", [
    ({"source": "svhn"}, "source must be"),
    ({"source": "cifar100"}, "path is required"),
    ({"n_train": 0}, "n_train must be"),
    ({"n_heldout": -2}, "n_heldout must be"),
    ({"heldout_fraction": 1.5}, "heldout_fraction must be"),
])
def test_image_data_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tasks.image_classification_data(**kwargs)
