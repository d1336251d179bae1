"""PS, CCGP, dichotomy decoding and balanced dichotomies: closed forms, brute force, bad input."""

import itertools
import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import RidgeClassifier

from repgeom_lite.metrics import (
    CCGPResult,
    DecodingResult,
    balanced_dichotomies,
    ccgp,
    dichotomy_decoding,
    parallelism_score,
)
from repgeom_lite.metrics import abstraction

TOL = 1e-10
SEEDS = [0, 1, 2]
CUBE3 = np.array(list(itertools.product([-1, 1], repeat=3)))  # (8, 3) full factorial
TRAINED4 = np.array([-1, -1, 1, 1])  # chapter 1: clusters 1, 2 -> 0; 3, 4 -> 1


def rotation(rng, n):
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def samples(rng, means, n_per, sigma):
    cond = np.repeat(np.arange(means.shape[0]), n_per)
    return means[cond] + sigma * rng.standard_normal((cond.size, means.shape[1])), cond


def brute_force_ps(means, y):
    """Independent oracle: loop over all pairings, mean of pairwise cosines with np.dot."""
    plus, minus = np.flatnonzero(y > 0), np.flatnonzero(y < 0)
    best = -np.inf
    for perm in itertools.permutations(minus):
        d = [means[a] - means[b] for a, b in zip(plus, perm)]
        cos = [
            np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
            for u, v in itertools.combinations(d, 2)
        ]
        best = max(best, np.mean(cos))
    return best


# ----------------------------------------------------------------------------- dichotomies
def test_balanced_dichotomies_p4_and_counts():
    np.testing.assert_array_equal(
        balanced_dichotomies(4), [[1, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1]]
    )
    for P in [2, 4, 6, 8, 10]:
        d = balanced_dichotomies(P)
        assert d.shape == (math.comb(P, P // 2) // 2, P)
        assert np.all(d.sum(1) == 0) and np.all(d[:, 0] == 1)
        assert len({tuple(r) for r in d}) == len(d)  # distinct; with d[:, 0] = 1 also up to sign


def test_balanced_dichotomies_sampling_is_seeded():
    a = balanced_dichotomies(32, max_dichotomies=20, seed=3)
    assert a.shape == (20, 32) and np.all(a.sum(1) == 0) and np.all(a[:, 0] == 1)
    assert len({tuple(r) for r in a}) == 20
    np.testing.assert_array_equal(a, balanced_dichotomies(32, max_dichotomies=20, seed=3))
    assert not np.array_equal(a, balanced_dichotomies(32, max_dichotomies=20, seed=4))
    b = balanced_dichotomies(8, max_dichotomies=5, seed=0)
    full = {tuple(r) for r in balanced_dichotomies(8)}
    assert b.shape == (5, 8) and all(tuple(r) in full for r in b)
    assert balanced_dichotomies(8, max_dichotomies=100).shape == (35, 8)


# ----------------------------------------------------------------------------- PS
@pytest.mark.parametrize("seed", SEEDS)
def test_ps_is_one_for_factorised_geometry(seed):
    rng = np.random.default_rng(seed)
    means = CUBE3 @ rng.standard_normal((3, 20)) + rng.standard_normal(20)
    np.testing.assert_allclose(parallelism_score(means, CUBE3), 1.0, atol=TOL)
    np.testing.assert_allclose(parallelism_score(means, CUBE3, mode="general"), 1.0, atol=TOL)
    # invariant to rotation, scaling and translation of the representation
    moved = 3.0 * means @ rotation(rng, 20) - 1.0
    np.testing.assert_allclose(parallelism_score(moved, CUBE3), 1.0, atol=TOL)


def test_ps_near_zero_for_random_geometry():
    rng = np.random.default_rng(0)
    ps = np.array([parallelism_score(rng.standard_normal((8, 400)), CUBE3) for _ in range(20)])
    assert abs(ps.mean()) < 0.03 and np.abs(ps).max() < 0.2
    gen = np.array([parallelism_score(rng.standard_normal((4, 400)), TRAINED4) for _ in range(20)])
    assert gen.mean() < 0.1  # max over 2 pairings of a ~0-mean cosine


@pytest.mark.parametrize("seed", SEEDS)
def test_ps_general_equals_brute_force_and_bounds_factor_pairing(seed):
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((8, 6)) + 0.7 * (CUBE3 @ rng.standard_normal((3, 6)))
    gen = parallelism_score(means, CUBE3, mode="general")
    fac = parallelism_score(means, CUBE3, mode="factors")
    for i in range(3):
        assert gen[i] == pytest.approx(brute_force_ps(means, CUBE3[:, i]), abs=TOL)
    assert np.all(gen >= fac - TOL)
    y = balanced_dichotomies(8)[7]
    assert parallelism_score(means, y) == pytest.approx(brute_force_ps(means, y), abs=TOL)


def test_ps_factor_mode_uses_other_factors():
    rng = np.random.default_rng(0)
    means = rng.standard_normal((8, 5))
    fac = parallelism_score(means, CUBE3)  # auto -> factors
    for i in range(3):
        others = np.delete(CUBE3, i, 1)
        d = [
            means[p] - means[q]
            for p in np.flatnonzero(CUBE3[:, i] > 0)
            for q in np.flatnonzero(CUBE3[:, i] < 0)
            if np.array_equal(others[p], others[q])
        ]
        cos = [u @ v / np.linalg.norm(u) / np.linalg.norm(v) for u, v in itertools.combinations(d, 2)]
        assert fac[i] == pytest.approx(np.mean(cos), abs=TOL)


def test_ps_search_is_a_tight_lower_bound(monkeypatch):
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(6), -np.ones(6)].astype(int)
    exact, approx = [], []
    for _ in range(5):
        means = rng.standard_normal((12, 8)) + 0.5 * np.outer(y, rng.standard_normal(8))
        exact.append(parallelism_score(means, y))
        monkeypatch.setattr(abstraction, "MAX_EXACT_SIDE", 2)
        approx.append(parallelism_score(means, y))
        monkeypatch.setattr(abstraction, "MAX_EXACT_SIDE", 8)
    exact, approx = np.array(exact), np.array(approx)
    assert np.all(approx <= exact + TOL)
    assert np.all(exact - approx < 0.05)
    # large P runs (P = 32, heuristic) and gives 1 on a factorised geometry
    L5 = np.array(list(itertools.product([-1, 1], repeat=5)))
    cube = L5 @ rng.standard_normal((5, 30))
    np.testing.assert_allclose(parallelism_score(cube, L5, mode="general"), 1.0, atol=TOL)


def test_ps_batched_shapes_torch_and_constant():
    rng = np.random.default_rng(0)
    means = rng.standard_normal((3, 4, 8, 6))
    out = parallelism_score(means, CUBE3)
    assert out.shape == (3, 4, 3)
    np.testing.assert_allclose(out[2, 1], parallelism_score(means[2, 1], CUBE3), atol=TOL)
    np.testing.assert_allclose(parallelism_score(torch.tensor(means), CUBE3), out, atol=TOL)
    assert parallelism_score(means[0, 0, :4], TRAINED4).shape == ()
    assert parallelism_score(means[:, :, :4], TRAINED4).shape == (3, 4)
    # constant representation: all coding vectors are zero -> PS = 0, not NaN
    assert np.all(parallelism_score(np.full((8, 6), 0.7), CUBE3) == 0.0)
    assert parallelism_score(np.zeros((4, 3)), TRAINED4) == 0.0


# ----------------------------------------------------------------------------- CCGP
@pytest.mark.parametrize("mode", ["factors", "general"])
def test_ccgp_is_one_for_factorised_geometry(mode):
    rng = np.random.default_rng(0)
    means = CUBE3 @ rng.standard_normal((3, 30))
    X, cond = samples(rng, means, 20, 0.2)
    res = ccgp(X, cond, CUBE3, mode=mode)
    assert isinstance(res, CCGPResult) and res.mode == mode
    np.testing.assert_allclose(res.scores, 1.0)


def test_ccgp_near_chance_for_random_geometry():
    rng = np.random.default_rng(0)
    scores = []
    for _ in range(6):
        X, cond = samples(rng, rng.standard_normal((8, 40)), 10, 0.2)
        scores.append(ccgp(X, cond, CUBE3).scores)
    assert abs(np.mean(scores) - 0.5) < 0.12


def test_ccgp_split_structure():
    rng = np.random.default_rng(0)
    X, cond = samples(rng, rng.standard_normal((8, 10)), 6, 0.5)
    fac = ccgp(X, cond, CUBE3)
    assert fac.mode == "factors" and fac.split_scores.shape == (3, 4)
    assert fac.train_conditions.shape == (3, 4, 2)
    for i in range(3):  # the 2 training conditions differ only in factor i
        for pair in fac.train_conditions[i]:
            a, b = CUBE3[pair]
            assert a[i] != b[i] and np.array_equal(np.delete(a, i), np.delete(b, i))
    np.testing.assert_allclose(fac.scores, fac.split_scores.mean(-1))
    gen = ccgp(X, cond, CUBE3, mode="general")
    assert gen.split_scores.shape == (3, 16) and gen.train_conditions.shape == (3, 16, 6)
    two = ccgp(X, cond, CUBE3, mode="general", n_train_per_side=2, max_splits=10, seed=1)
    assert two.train_conditions.shape == (3, 10, 4)
    again = ccgp(X, cond, CUBE3, mode="general", n_train_per_side=2, max_splits=10, seed=1)
    np.testing.assert_array_equal(two.train_conditions, again.train_conditions)
    np.testing.assert_array_equal(two.scores, again.scores)
    # P = 4 trained dichotomy (chapter 1): train on one condition per side, 4 splits
    X4, c4 = samples(rng, rng.standard_normal((4, 10)), 6, 0.5)
    r4 = ccgp(X4, c4, TRAINED4)
    assert r4.mode == "general" and r4.scores.shape == () and r4.split_scores.shape == (4,)
    # P = 32 general dichotomies: capped and seeded
    X32, c32 = samples(rng, rng.standard_normal((32, 10)), 3, 0.5)
    r32 = ccgp(X32, c32, balanced_dichotomies(32, max_dichotomies=2).T, max_splits=5)
    assert r32.split_scores.shape == (2, 5) and r32.train_conditions.shape == (2, 5, 30)
    # half of each side (C(16, 8)^2 ~ 1.7e8 splits): sampled directly, distinct, balanced
    y32 = balanced_dichotomies(32, max_dichotomies=1, seed=2)[0]
    half = ccgp(X32, c32, y32, n_train_per_side=8, max_splits=6, seed=0)
    assert half.train_conditions.shape == (1, 6, 16)
    assert len({tuple(t) for t in half.train_conditions[0]}) == 6
    assert np.all(y32[half.train_conditions[0]].sum(-1) == 0)


def test_ccgp_batched_equals_loop_and_custom_clf():
    rng = np.random.default_rng(1)
    L2 = np.array(list(itertools.product([-1, 1], repeat=2)))
    cond = np.repeat(np.arange(4), 15)
    X = rng.standard_normal((2, 3, 60, 8)) + 0.5 * rng.standard_normal((2, 3, 4, 8))[:, :, cond]
    res = ccgp(X, cond, L2)
    assert res.scores.shape == (2, 3, 2) and res.split_scores.shape == (2, 3, 2, 2)
    np.testing.assert_allclose(res.scores[1, 2], ccgp(X[1, 2], cond, L2).scores)
    ridge = ccgp(X[0, 0], cond, L2, clf=RidgeClassifier())
    assert ridge.scores.shape == (2,) and np.all((ridge.scores >= 0) & (ridge.scores <= 1))


# ----------------------------------------------------------------------------- decoding
def test_decoding_all_dichotomies_of_separated_clusters():
    rng = np.random.default_rng(0)
    X, cond = samples(rng, 5 * rng.standard_normal((4, 20)), 20, 0.1)
    res = dichotomy_decoding(X, cond)
    assert isinstance(res, DecodingResult)
    np.testing.assert_array_equal(res.dichotomies, balanced_dichotomies(4))
    assert res.scores.shape == (3,) and res.fold_scores.shape == (3, 5)
    np.testing.assert_allclose(res.scores, 1.0)


def test_decoding_trained_vs_untrained_on_collapsed_geometry():
    # geometry that only encodes the trained labels: untrained dichotomies at chance
    rng = np.random.default_rng(0)
    axis = rng.standard_normal(10)
    means = np.outer(TRAINED4, axis)
    X, cond = samples(rng, means, 40, 0.3)
    res = dichotomy_decoding(X, cond, n_folds=4, seed=2)
    assert res.scores[0] == 1.0  # [+1 +1 -1 -1] is the trained dichotomy up to sign
    assert np.all(np.abs(res.scores[1:] - 0.5) < 0.15)
    custom = dichotomy_decoding(X, cond, TRAINED4, n_folds=4, seed=2)
    assert custom.scores.shape == (1,) and custom.scores[0] == 1.0
    batched = dichotomy_decoding(np.stack([X, X]), cond, n_folds=4, seed=2)
    np.testing.assert_allclose(batched.scores[1], res.scores)


# ----------------------------------------------------------------------------- bad input
MEANS8 = np.random.default_rng(0).standard_normal((8, 5))
X40 = np.random.default_rng(0).standard_normal((40, 5))
COND40 = np.repeat(np.arange(8), 5)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: balanced_dichotomies(5), r"n_conditions must be even"),
        (lambda: balanced_dichotomies(1), r"n_conditions must be an integer >= 2"),
        (lambda: balanced_dichotomies(4.0), r"n_conditions must be an integer"),
        (lambda: balanced_dichotomies(32), r"pass max_dichotomies"),
        (lambda: balanced_dichotomies(8, max_dichotomies=0), r"max_dichotomies must be an integer >= 1"),
        (lambda: parallelism_score(MEANS8[:2], [1, -1]), r"at least 4 conditions .* P = 2"),
        (lambda: parallelism_score(MEANS8[0], [1, -1]), r"means must have shape \(\.\.\., P, N\)"),
        (lambda: parallelism_score(MEANS8[:4], [0, 0, 1, 1]), r"labels must contain only -1 and \+1 .* 2 \* y - 1"),
        (lambda: parallelism_score(MEANS8[:4], [1, 1, 1, -1]), r"labels must be balanced .* column 0"),
        (lambda: parallelism_score(MEANS8, TRAINED4), r"labels must have one row per condition: expected 8 rows"),
        (lambda: parallelism_score(MEANS8, CUBE3[:, :0]), r"labels must have at least one column"),
        (lambda: parallelism_score(MEANS8, np.ones((8, 2, 2))), r"labels must have shape \(P,\) or \(P, k\)"),
        (lambda: parallelism_score(np.full((4, 3), np.nan), TRAINED4), r"means contains NaN or inf"),
        (lambda: parallelism_score(MEANS8[:4], TRAINED4, mode="factors"), r"not a full factorial design"),
        (lambda: parallelism_score(MEANS8, CUBE3, mode="max"), r"mode must be one of 'auto', 'factors', 'general'"),
        (lambda: ccgp(X40, COND40, [1, -1]), r"at least 4 conditions \(2 per side\)"),
        (lambda: ccgp(X40, COND40[:-1], CUBE3), r"conditions must have one entry per sample: expected 40"),
        (lambda: ccgp(X40, COND40 + 1, CUBE3), r"conditions must index conditions 0\.\.7"),
        (lambda: ccgp(X40, COND40 * 0.5, CUBE3), r"conditions must contain integer condition indices"),
        (lambda: ccgp(X40, np.minimum(COND40, 6), CUBE3), r"conditions has no samples of conditions \[7\]"),
        (lambda: ccgp(X40, COND40[:, None], CUBE3), r"conditions must have shape \(n_samples,\)"),
        (lambda: ccgp(X40[0], COND40, CUBE3), r"X must have shape \(\.\.\., n_samples, n_units\)"),
        (lambda: ccgp(np.where(X40 > 2, np.inf, X40), COND40, CUBE3), r"X contains NaN or inf"),
        (lambda: ccgp(X40, COND40, CUBE3, mode="general", n_train_per_side=4), r"n_train_per_side must be between 1 and 3"),
        (lambda: ccgp(X40, COND40, CUBE3, max_splits=0), r"max_splits must be an integer >= 1"),
        (lambda: ccgp(X40, COND40, 2 * CUBE3), r"labels must contain only -1 and \+1"),
        (lambda: dichotomy_decoding(X40, COND40, n_folds=1), r"n_folds must be an integer >= 2"),
        (lambda: dichotomy_decoding(X40, COND40, n_folds=6), r"at least n_folds = 6 samples each"),
        (lambda: dichotomy_decoding(X40, COND40, np.ones(8)), r"row 0 has a single class"),
        (lambda: dichotomy_decoding(X40, COND40, np.zeros((2, 8))), r"dichotomies \(rows\) must contain only -1 and \+1"),
        (lambda: dichotomy_decoding(X40, COND40, np.ones((2, 2, 8))), r"dichotomies must have shape \(D, P\)"),
        (lambda: dichotomy_decoding(X40, np.zeros(40)), r"conditions must contain at least 2 conditions"),
        (lambda: dichotomy_decoding(X40, np.zeros((40, 2))), r"conditions must have shape \(n_samples,\)"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
