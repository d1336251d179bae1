"""RDMs and RDM comparison: rsatoolbox/scipy oracles, batched vs loop, ties, bad input."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist, squareform
from scipy.stats import kendalltau, pearsonr, spearmanr

from repgeom_lite.metrics import compare_rdms, rdm, rdm_upper, rsa_matrix, rsa_vectors

TOL = 1e-10
ORACLE_TOL = 1e-6  # agreement with independent implementations (issue 5)
SEEDS = [0, 1, 2]


def random_rdms(rng, m, n, p=12):
    return rdm(rng.standard_normal((m, n, p)))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("metric", ["correlation", "euclidean", "sqeuclidean"])
def test_rdm_matches_scipy(seed, metric):
    X = np.random.default_rng(seed).standard_normal((15, 9))
    D = rdm(X, metric)
    np.testing.assert_allclose(D, squareform(pdist(X, metric)), atol=TOL)
    assert np.all(np.diag(D) == 0) and np.array_equal(D, D.T)


@pytest.mark.parametrize("seed", SEEDS)
def test_rdm_matches_rsatoolbox(seed):
    rsatoolbox = pytest.importorskip("rsatoolbox")
    X = np.random.default_rng(seed).standard_normal((20, 11))
    ds = rsatoolbox.data.Dataset(X)
    ref = rsatoolbox.rdm.calc_rdm(ds, method="correlation").get_matrices()[0]
    np.testing.assert_allclose(rdm(X), ref, atol=ORACLE_TOL)
    ref_vec = rsatoolbox.rdm.calc_rdm(ds, method="correlation").get_vectors()[0]
    np.testing.assert_allclose(rdm_upper(rdm(X)), ref_vec, atol=ORACLE_TOL)


def test_rdm_batched_and_torch():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 2, 10, 6))
    D = rdm(X)
    assert D.shape == (3, 2, 10, 10)
    np.testing.assert_allclose(D[1, 0], rdm(X[1, 0]), atol=TOL)
    np.testing.assert_allclose(rdm(torch.tensor(X, dtype=torch.float32)), D, atol=1e-5)


def test_rdm_upper_order_matches_squareform():
    D = rdm(np.random.default_rng(0).standard_normal((7, 4)))
    np.testing.assert_array_equal(rdm_upper(D), squareform(D, checks=False))
    assert rdm_upper(np.stack([D, D])).shape == (2, 21)


@pytest.mark.parametrize("seed", SEEDS)
def test_compare_matches_scipy_including_ties(seed):
    rng = np.random.default_rng(seed)
    A, B = random_rdms(rng, 2, 12)
    a, b = rdm_upper(A), rdm_upper(B)
    assert compare_rdms(A, B) == pytest.approx(spearmanr(a, b).statistic, abs=TOL)
    assert compare_rdms(A, B, "pearson") == pytest.approx(pearsonr(a, b).statistic, abs=TOL)
    assert compare_rdms(A, B, "kendall") == pytest.approx(kendalltau(a, b).statistic, abs=TOL)
    # heavy ties: integer-valued dissimilarities (average ranks needed)
    T1 = squareform(rng.integers(0, 4, a.size).astype(float))
    T2 = squareform(rng.integers(0, 3, a.size).astype(float))
    t1, t2 = rdm_upper(T1), rdm_upper(T2)
    assert compare_rdms(T1, T2) == pytest.approx(spearmanr(t1, t2).statistic, abs=TOL)
    assert compare_rdms(T1, T2, "kendall") == pytest.approx(kendalltau(t1, t2).statistic, abs=TOL)


@pytest.mark.parametrize("method, rsa_method", [("spearman", "spearman"), ("pearson", "corr"), ("kendall", "kendall")])
def test_compare_matches_rsatoolbox(method, rsa_method):
    rsatoolbox = pytest.importorskip("rsatoolbox")
    rng = np.random.default_rng(3)
    R = random_rdms(rng, 4, 10)
    R[3] = np.round(R[3], 1)  # ties
    R[3] = 0.5 * (R[3] + R[3].T)
    ref = rsatoolbox.rdm.compare(
        rsatoolbox.rdm.RDMs(rdm_upper(R)), rsatoolbox.rdm.RDMs(rdm_upper(R)), method=rsa_method
    )
    ours = np.array([[compare_rdms(R[i], R[j], method) for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(ours, ref, atol=ORACLE_TOL)
    if method != "kendall":
        np.testing.assert_allclose(rsa_matrix(R, method=method), ref, atol=ORACLE_TOL)


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_rsa_matrix_equals_pairwise_loop(method):
    rng = np.random.default_rng(0)
    R = random_rdms(rng, 9, 8)
    R[4] = squareform(rng.integers(0, 3, 28).astype(float))  # ties
    M = rsa_matrix(R, method=method)
    loop = np.array([[compare_rdms(a, b, method) for b in R] for a in R])
    np.testing.assert_allclose(M, loop, atol=TOL)
    np.testing.assert_allclose(M, M.T, atol=TOL)
    np.testing.assert_allclose(np.diag(M), 1.0, atol=TOL)
    # chunking and a second set give the same numbers
    np.testing.assert_allclose(rsa_matrix(R, method=method, chunk_size=2), M, atol=TOL)
    np.testing.assert_allclose(rsa_matrix(R[:3], R, method=method), M[:3], atol=TOL)
    np.testing.assert_allclose(compare_rdms(R, R[0], method), M[:, 0], atol=TOL)


def test_rsa_matrix_torch_input():
    R = random_rdms(np.random.default_rng(1), 5, 6)
    np.testing.assert_allclose(rsa_matrix(torch.tensor(R)), rsa_matrix(R), atol=TOL)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_rsa_matrix_cuda():
    R = random_rdms(np.random.default_rng(1), 5, 6)
    np.testing.assert_allclose(rsa_matrix(R, device="cuda"), rsa_matrix(R), atol=TOL)
    np.testing.assert_allclose(rdm(torch.tensor(R[:, :, :3], device="cuda")), rdm(R[:, :, :3]), atol=TOL)


def test_constant_pattern_and_constant_rdm():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 6))
    X[2] = 0.3  # a stimulus with the same response in every unit
    D = rdm(X)
    assert np.all(np.isfinite(D))
    np.testing.assert_allclose(D[2, [0, 1, 3, 4]], 1.0)
    assert D[2, 2] == 0.0
    const = np.ones((5, 5)) - np.eye(5)  # all dissimilarities equal
    other = rdm(rng.standard_normal((5, 3)))
    for method in ["spearman", "pearson", "kendall"]:
        assert compare_rdms(const, other, method) == 0.0
    M = rsa_matrix(np.stack([const, other, other]))
    np.testing.assert_allclose(M[0], 0.0)
    np.testing.assert_allclose(M[1:, 1:], 1.0, atol=TOL)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: rdm(np.ones((4, 3)), "cosine"), r"metric must be one of 'correlation'"),
        (lambda: rdm(np.ones(4)), r"X must have shape \(\.\.\., n_conditions, n_units\)"),
        (lambda: rdm(np.ones((1, 4))), r"X must have at least 2 conditions"),
        (lambda: rdm(np.ones((3, 1))), r"X must have at least 2 units .* correlation"),
        (lambda: rdm(np.array([[1.0, np.nan], [0, 1]])), r"X contains NaN or inf"),
        (lambda: rdm_upper(np.ones((3, 4))), r"rdms must be square"),
        (lambda: rdm_upper(np.ones((2, 2)) - np.eye(2)), r"at least 3 conditions"),
        (lambda: rdm_upper(np.arange(9.0).reshape(3, 3)), r"rdms must be symmetric"),
        (lambda: rdm_upper(np.ones(3)), r"rdms must have shape \(\.\.\., n, n\)"),
        (lambda: compare_rdms(np.zeros((3, 3)), np.zeros((4, 4))), r"A and B must be RDMs of the same conditions"),
        (lambda: compare_rdms(np.zeros((3, 3)), np.zeros((3, 3)), "cosine"), r"method must be one of"),
        (lambda: compare_rdms(np.zeros((2, 3, 3)), np.zeros((3, 3, 3))), r"leading \(batch\) dimensions of A"),
        (lambda: compare_rdms(np.full((3, 3), np.inf), np.zeros((3, 3))), r"A contains NaN or inf"),
        (lambda: rsa_matrix(np.zeros((3, 3))), r"rdms must have shape \(m, n, n\)"),
        (lambda: rsa_matrix(np.zeros((2, 3, 3)), method="kendall"), r"method must be one of 'spearman', 'pearson'"),
        (lambda: rsa_matrix(np.zeros((2, 3, 3)), np.zeros((2, 4, 4))), r"rdms and other must be RDMs of the same"),
        (lambda: rsa_matrix(np.zeros((2, 3, 3)), np.zeros((3, 3))), r"other must have shape \(m2, n, n\)"),
        (lambda: rsa_matrix(np.zeros((2, 3, 3)), chunk_size=0), r"chunk_size must be an integer >= 1"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_rank_helpers_match_scipy_rankdata():
    """Both ranking paths (NumPy on CPU, torch elsewhere) give scipy's average ranks."""
    from scipy.stats import rankdata

    from repgeom_lite.metrics import rsa

    rng = np.random.default_rng(0)
    for v in [rng.standard_normal((4, 50)), rng.integers(0, 4, (6, 40)).astype(float), np.ones((2, 5))]:
        ref = rankdata(v, axis=-1)
        np.testing.assert_array_equal(rsa._average_ranks_numpy(v), ref)
        np.testing.assert_array_equal(rsa._average_ranks_torch(torch.tensor(v)).numpy(), ref)


def test_rsa_vectors_are_the_embedding_of_rsa_matrix():
    """z_a · z_b = ρ_ab, unit norm, and ||z_a − z_b||² = 2 (1 − ρ_ab); errors as rsa_matrix."""
    rng = np.random.default_rng(0)
    R = np.stack([rdm(rng.normal(size=(6, 4))) for _ in range(5)])
    for method in ("spearman", "pearson"):
        Z = rsa_vectors(R, method=method)
        assert Z.shape == (5, 15)
        np.testing.assert_allclose(Z @ Z.T, rsa_matrix(R, method=method), atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="shape \\(m, n, n\\)"):
        rsa_vectors(R[0])
    with pytest.raises(ValueError, match="method"):
        rsa_vectors(R, method="kendall")
