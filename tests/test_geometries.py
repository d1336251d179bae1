"""Toy geometries with known answers (repgeom_lite.geometries): closed forms and error paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from repgeom_lite import geometries as G
from repgeom_lite import metrics as M

TOL = 1e-10
SEEDS = [0, 1, 7]


def test_factor_labels():
    L = G.factor_labels(3)
    assert L.shape == (8, 3) and L.dtype == np.int64
    assert len({tuple(r) for r in L}) == 8
    assert np.all(L.sum(0) == 0)
    assert G.factor_labels(2).tolist() == [[1, 1], [1, -1], [-1, 1], [-1, -1]]
    with pytest.raises(ValueError, match="n_factors must be an integer >= 1"):
        G.factor_labels(0)


@pytest.mark.parametrize("seed", SEEDS)
def test_cube_is_factorised(seed):
    L = G.factor_labels(3)
    Z = G.cube_geometry(L, 20, seed)
    assert Z.shape == (8, 20)
    np.testing.assert_allclose(Z @ Z.T, L @ L.T, atol=TOL)  # orthonormal coding directions
    np.testing.assert_allclose(M.parallelism_score(Z, L), 1.0, atol=TOL)
    assert abs(float(M.kernel_alignment(Z, L * 1.0)) - 1.0) < TOL


def test_cube_errors():
    with pytest.raises(ValueError, match="n_units must be an integer >= 3"):
        G.cube_geometry(G.factor_labels(3), 2)
    with pytest.raises(ValueError, match=r"labels must have shape \(P, k\)"):
        G.cube_geometry(np.ones(4), 5)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_geometry_spread_and_structure(seed):
    L = G.factor_labels(3)
    cube = G.cube_geometry(L, 50, seed)
    R = G.random_geometry(8, 50, seed, like=cube)
    np.testing.assert_allclose(R.mean(0), 0.0, atol=TOL)
    assert math.isclose(np.linalg.norm(R), np.linalg.norm(cube - cube.mean(0)), rel_tol=1e-12)
    assert np.max(np.abs(M.parallelism_score(R, L))) < 0.6


def test_random_geometry_errors():
    with pytest.raises(ValueError, match=r"like must have shape \(8, 5\)"):
        G.random_geometry(8, 5, like=np.zeros((8, 4)))
    with pytest.raises(ValueError, match="n_conditions must be an integer >= 2"):
        G.random_geometry(1, 5)


@pytest.mark.parametrize("seed", SEEDS)
def test_rotation_matrix(seed):
    Q = G.rotation_matrix(12, 1.3, seed)
    np.testing.assert_allclose(Q.T @ Q, np.eye(12), atol=1e-12)
    assert math.isclose(np.linalg.det(Q), 1.0, rel_tol=1e-10)
    np.testing.assert_allclose(G.rotation_matrix(12, 0.0, seed), np.eye(12), atol=0)
    assert np.abs(Q - np.eye(12)).max() > 0.1
    with pytest.raises(ValueError, match="amount must be a finite number"):
        G.rotation_matrix(5, float("nan"))


@pytest.mark.parametrize("seed", SEEDS)
def test_perturb(seed):
    L = G.factor_labels(3)
    cube = G.cube_geometry(L, 10, seed)
    np.testing.assert_array_equal(G.perturb(cube, "noise", 0.0, seed), cube)
    np.testing.assert_array_equal(G.perturb(cube, "rotation", 0.0, seed), cube)
    rot = G.perturb(cube, "rotation", 2.0, seed)
    assert abs(float(M.kernel_alignment(cube, rot)) - 1.0) < 1e-10
    noisy = G.perturb(cube, "noise", 1.0, seed)
    E = noisy - cube  # a random geometry with the cube's spread
    assert math.isclose(np.linalg.norm(E), np.linalg.norm(cube - cube.mean(0)), rel_tol=1e-12)
    with pytest.raises(ValueError, match="kind must be one of"):
        G.perturb(cube, "shear", 1.0)
    with pytest.raises(ValueError, match="level must be a finite number >= 0"):
        G.perturb(cube, "noise", -1.0)
    with pytest.raises(ValueError, match=r"means must have shape \(P, N\)"):
        G.perturb(np.ones(3), "noise", 1.0)


def test_noisy_samples():
    means = np.arange(12.0).reshape(4, 3)
    X, cond = G.noisy_samples(means, 5, 0.0)
    assert X.shape == (20, 3) and cond.tolist() == sorted(cond.tolist())
    np.testing.assert_array_equal(X, means[cond])
    X1, _ = G.noisy_samples(means, 5, 0.5, seed=3)
    X2, _ = G.noisy_samples(2 * means, 5, 0.5, seed=3)
    np.testing.assert_allclose(X2 - 2 * means[cond], X1 - means[cond], atol=TOL)  # common random numbers
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0"):
        G.noisy_samples(means, 5, -0.1)
    with pytest.raises(ValueError, match="n_per_condition must be an integer >= 1"):
        G.noisy_samples(means, 0, 0.1)


def test_toy_dichotomies():
    L = G.factor_labels(3)
    d = G.dichotomies_with_others(L, 8, seed=0)
    assert d.shape == (11, 8)
    np.testing.assert_array_equal(d[:3], (L * L[0]).T)
    assert np.all(d.sum(1) == 0) and np.all(d[:, 0] == 1)
    assert len({tuple(r) for r in d}) == 11
    assert G.dichotomies_with_others(L, 32).shape == (35, 8)
    with pytest.raises(ValueError, match="n_other must be at most 32"):
        G.dichotomies_with_others(L, 33)


@pytest.mark.parametrize("seed", SEEDS)
def test_toy_measurements_known_answers(seed):
    """The cube scores 1 on every abstraction measure; a random geometry does not."""
    L = G.factor_labels(3)
    cube = G.cube_geometry(L, 20, seed)
    X, cond = G.noisy_samples(cube, 8, 0.05, seed=seed)
    assert abs(float(M.kernel_alignment(cube, L)) - 1) < 1e-9
    assert np.min(M.parallelism_score(cube, L)) > 1 - 1e-9
    assert np.min(M.ccgp(X, cond, L, seed=seed).scores) == 1.0
    rand = G.random_geometry(8, 20, seed, like=cube)
    Xr, _ = G.noisy_samples(rand, 8, 0.05, seed=seed)
    d = G.dichotomies_with_others(L, 4, seed)
    assert np.mean(M.parallelism_score(rand, L)) < 0.6
    assert np.mean(M.dichotomy_decoding(Xr, cond, d[3:], n_folds=2, seed=seed).scores) > 0.9
    assert float(M.procrustes(rand, cube).angular_distance) > 0.3


def test_dichotomies_with_others_errors():
    with pytest.raises(ValueError, match=r"labels must have shape \(P, k\)"):
        G.dichotomies_with_others(np.ones(4), 1)
    with pytest.raises(ValueError, match="n_other must be an integer >= 0"):
        G.dichotomies_with_others(G.factor_labels(2), -1)
