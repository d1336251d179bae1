"""Kernel alignment (linear CKA): closed forms, invariances, oracles, batching, bad input."""

import itertools

import numpy as np
import pytest
import torch

from repgeom_lite.metrics import kernel_alignment

TOL = 1e-10
SEEDS = [0, 1, 2]


def naive_cka(X, Y):
    """Independent oracle: HSIC with the centring matrix H, K = X X^T (no batching)."""
    n = X.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    K, L = X @ X.T, Y @ Y.T

    def hsic(A, B):
        return np.trace(A @ H @ B @ H)

    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


def brute_hsic_u(K, L):
    """Unbiased HSIC as the U-statistic over distinct ordered 4-tuples (Song et al. 2012)."""
    n = K.shape[0]
    total = 0.0
    for i, j, q, r in itertools.permutations(range(n), 4):
        total += K[i, j] * L[i, j] + K[i, j] * L[q, r] - 2 * K[i, j] * L[i, q]
    return total / (n * (n - 1) * (n - 2) * (n - 3))


def random_rotation(rng, n):
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


@pytest.mark.parametrize("seed", SEEDS)
def test_closed_form_invariances(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((12, 7))
    Q = random_rotation(rng, 7)
    assert kernel_alignment(X, X) == pytest.approx(1.0, abs=TOL)
    # rotation, isotropic scaling and translation of one argument
    assert kernel_alignment(X, 2.5 * X @ Q + rng.standard_normal(7)) == pytest.approx(1.0, abs=TOL)
    Y = rng.standard_normal((12, 4))
    base = kernel_alignment(X, Y)
    assert kernel_alignment(X @ Q, Y) == pytest.approx(base, abs=TOL)
    assert kernel_alignment(0.1 * X + 3.0, Y) == pytest.approx(base, abs=TOL)
    # a permutation of units is a rotation too
    assert kernel_alignment(X[:, rng.permutation(7)], Y) == pytest.approx(base, abs=TOL)
    # symmetric and bounded
    assert kernel_alignment(Y, X) == pytest.approx(base, abs=TOL)
    assert 0.0 <= base <= 1.0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(6, 30, 4), (40, 3, 5)])  # gram-space / feature-space paths
def test_matches_naive_oracle(seed, shape):
    P, N, M = shape
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((P, N)), rng.standard_normal((P, M))
    assert kernel_alignment(X, Y) == pytest.approx(naive_cka(X, Y), abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_unbiased_matches_brute_force_u_statistic(seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 4))
    Y[:, 0] += X[:, 0]  # some shared structure
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    K, L = Xc @ Xc.T, Yc @ Yc.T
    expected = brute_hsic_u(K, L) / np.sqrt(brute_hsic_u(K, K) * brute_hsic_u(L, L))
    assert kernel_alignment(X, Y, unbiased=True) == pytest.approx(expected, abs=TOL)
    # the U-statistic is translation invariant, so centring first changes nothing
    K0, L0 = X @ X.T, Y @ Y.T
    assert brute_hsic_u(K0, L0) == pytest.approx(brute_hsic_u(K, L), abs=1e-9)


def test_unbiased_removes_small_sample_inflation():
    rng = np.random.default_rng(0)
    biased, unbiased = [], []
    for _ in range(30):
        X, Y = rng.standard_normal((32, 64)), rng.standard_normal((32, 64))
        biased.append(kernel_alignment(X, Y))
        unbiased.append(kernel_alignment(X, Y, unbiased=True))
    assert np.mean(biased) > 0.3  # inflated although X and Y are independent
    assert abs(np.mean(unbiased)) < 0.05
    X = rng.standard_normal((32, 8))
    assert kernel_alignment(X, X @ random_rotation(rng, 8) * 3, unbiased=True) == pytest.approx(1.0, abs=TOL)


@pytest.mark.parametrize("unbiased", [False, True])
def test_batched_equals_loop(unbiased):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 4, 10, 6))  # (seeds, epochs, P, N)
    Y = rng.standard_normal((10, 2))  # one target
    out = kernel_alignment(X, Y, unbiased=unbiased)
    assert out.shape == (3, 4)
    loop = np.array([[kernel_alignment(X[i, j], Y, unbiased=unbiased) for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(out, loop, atol=TOL)
    # broadcasting both ways
    Y2 = rng.standard_normal((4, 10, 5))
    np.testing.assert_allclose(
        kernel_alignment(X, Y2, unbiased=unbiased),
        [[kernel_alignment(X[i, j], Y2[j], unbiased=unbiased) for j in range(4)] for i in range(3)],
        atol=TOL,
    )


def test_torch_inputs_and_return_type():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 8, 5)), rng.standard_normal((8, 4))
    ref = kernel_alignment(X, Y)
    out = kernel_alignment(torch.tensor(X, dtype=torch.float32, requires_grad=True), torch.tensor(Y))
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_allclose(out, ref, atol=1e-6)  # float32 input
    assert isinstance(kernel_alignment(X[0], Y), np.float64)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((5, 8, 6)), rng.standard_normal((8, 3))
    np.testing.assert_allclose(
        kernel_alignment(torch.tensor(X, device="cuda"), Y), kernel_alignment(X, Y), atol=TOL
    )
    np.testing.assert_allclose(kernel_alignment(X, Y, device="cuda"), kernel_alignment(X, Y), atol=TOL)


@pytest.mark.parametrize("unbiased", [False, True])
def test_constant_representation_gives_zero(unbiased):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 5))
    const = np.full((8, 3), 0.1)  # rows identical; mean-centring leaves rounding dust
    assert kernel_alignment(X, const, unbiased=unbiased) == 0.0
    assert kernel_alignment(const, const, unbiased=unbiased) == 0.0
    assert kernel_alignment(np.zeros((8, 2)), X, unbiased=unbiased) == 0.0
    batch = np.stack([X, np.ones((8, 5)), 2 * X])
    out = kernel_alignment(batch, X, unbiased=unbiased)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [1.0, 0.0, 1.0], atol=TOL)


@pytest.mark.parametrize(
    "X, Y, kwargs, match",
    [
        (np.ones(5), np.ones((5, 2)), {}, r"X must have shape \(\.\.\., P, N\)"),
        (np.ones((5, 2)), np.ones(5), {}, r"Y must have shape"),
        (np.ones((5, 2)), np.ones((6, 2)), {}, r"X and Y must have the same number of conditions"),
        (np.ones((2, 5, 2)), np.ones((3, 5, 2)), {}, r"leading \(batch\) dimensions of X"),
        (np.ones((1, 2)), np.ones((1, 3)), {}, r"at least 2 conditions"),
        (np.ones((3, 2)), np.ones((3, 3)), {"unbiased": True}, r"at least 4 conditions .*unbiased"),
        (np.array([[np.nan, 1], [0, 1]]), np.ones((2, 2)), {}, r"X contains NaN or inf \(1 entries\)"),
        (np.ones((2, 2)), np.array([[np.inf, 1], [0, 1]]), {}, r"Y contains NaN or inf"),
        (np.array([["a", "b"], ["c", "d"]]), np.ones((2, 2)), {}, r"X must be a real numeric array"),
        (torch.ones(3, 2, dtype=torch.complex64), np.ones((3, 2)), {}, r"X must be real-valued"),
    ],
)
def test_bad_input(X, Y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kernel_alignment(X, Y, **kwargs)
