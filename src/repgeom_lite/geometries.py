"""Toy geometries with known answers: the primer's test bed for every measurement.

A *geometry* is a matrix of condition means ``(P, N)`` (``P`` conditions, ``N`` units),
the shape convention of :mod:`repgeom_lite.metrics`. The tools here build the ones
whose measurements are known in closed form:

* :func:`factor_labels` — the ``P = 2^k`` settings of ``k`` binary factors, ``(P, k)``;
* :func:`cube_geometry` — a perfectly factorised geometry (each factor along its own
  orthonormal direction): target alignment 1, parallelism score 1;
* :func:`random_geometry` — unstructured means with a chosen overall spread;
* :func:`rotation_matrix` — a random rotation of the units, a smooth path in ``amount``;
* :func:`perturb` — a geometry with noise added or its units rotated;
* :func:`noisy_samples` — trial-to-trial samples around condition means (for decoders
  and CCGP);
* :func:`dichotomies_with_others` — the factor dichotomies and a sample of the other
  balanced dichotomies of ``P`` conditions.

Every function takes its ``seed`` explicitly and touches no global random state.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "PERTURBATIONS",
    "factor_labels",
    "cube_geometry",
    "random_geometry",
    "rotation_matrix",
    "perturb",
    "noisy_samples",
    "dichotomies_with_others",
]

#: The kinds of :func:`perturb`.
PERTURBATIONS = ("noise", "rotation")


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def factor_labels(n_factors: int) -> np.ndarray:
    """All ``P = 2^k`` settings of ``k`` binary factors, ``(P, k)`` int64 in {-1, +1}.

    Row ``p`` holds the bits of ``p`` (most significant first), bit 0 -> +1, bit 1 -> -1,
    so condition 0 is ``(+1, ..., +1)``.

    >>> factor_labels(2).tolist()
    [[1, 1], [1, -1], [-1, 1], [-1, -1]]
    """
    k = _check_int("n_factors", n_factors, 1)
    bits = (np.arange(2**k)[:, None] >> np.arange(k - 1, -1, -1)[None, :]) & 1
    return (1 - 2 * bits).astype(np.int64)


def cube_geometry(labels: np.ndarray, n_units: int, seed: int = 0) -> np.ndarray:
    """A perfectly factorised geometry: ``means = labels @ A``, ``(P, N)``.

    ``A: (k, N)`` has orthonormal rows (a random ``k``-dimensional subspace of the ``N``
    units), so factor ``i`` is coded along its own unit-length direction and the
    conditions sit on the corners of a ``k``-cube of side 2. Its kernel is
    ``labels @ labels.T``: target alignment 1, parallelism score 1.

    Parameters
    ----------
    labels : (P, k) array of ±1
    n_units : int
        ``N >= k``.
    seed : int
    """
    L = np.asarray(labels, dtype=np.float64)
    if L.ndim != 2:
        raise ValueError(f"labels must have shape (P, k), got {L.shape}")
    N = _check_int("n_units", n_units, L.shape[1])
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((N, L.shape[1])))
    return L @ Q.T


def random_geometry(n_conditions: int, n_units: int, seed: int = 0, like: np.ndarray | None = None) -> np.ndarray:
    """Random condition means ``(P, N)``: Gaussian, centred over conditions.

    With ``like: (P, N)``, rescaled so that its centred Frobenius norm equals that of
    ``like`` (same overall spread, no structure).
    """
    P = _check_int("n_conditions", n_conditions, 2)
    N = _check_int("n_units", n_units, 1)
    G = np.random.default_rng(seed).standard_normal((P, N))
    G -= G.mean(axis=0)
    if like is not None:
        like = np.asarray(like, dtype=np.float64)
        if like.shape != (P, N):
            raise ValueError(f"like must have shape {(P, N)}, got {like.shape}")
        G *= np.linalg.norm(like - like.mean(axis=0)) / np.linalg.norm(G)
    return G


def rotation_matrix(n_units: int, amount: float, seed: int = 0) -> np.ndarray:
    """A rotation ``Q = expm(amount * S)`` of the ``N`` units, ``(N, N)``.

    ``S = (G - G^T) / sqrt(2N)`` is a fixed random skew-symmetric generator (``G`` Gaussian,
    from ``seed``), so ``Q^T Q = I`` and ``det Q = 1`` for every ``amount``; ``amount = 0``
    is the identity and the typical rotation angle grows with ``amount`` (the
    eigenvalues of ``S`` lie within about ±2i, i.e. rotations of up to ~2 rad per unit
    of ``amount`` in each invariant plane).
    """
    import scipy.linalg

    N = _check_int("n_units", n_units, 1)
    if not np.isfinite(amount):
        raise ValueError(f"amount must be a finite number, got {amount!r}")
    G = np.random.default_rng(seed).standard_normal((N, N))
    S = (G - G.T) / math.sqrt(2 * N)
    return scipy.linalg.expm(float(amount) * S)


def perturb(means: np.ndarray, kind: str, level: float, seed: int = 0) -> np.ndarray:
    """The geometry ``means: (P, N)`` with noise added or rotated, ``(P, N)``.

    - ``"noise"``: ``means + level * E``, ``E`` a :func:`random_geometry` with the same
      spread as ``means`` (level 1: structure and noise equally large).
    - ``"rotation"``: ``means @ rotation_matrix(N, level, seed)``.

    ``seed`` fixes ``E`` / the rotation generator, so levels of one kind are a path.
    """
    M = np.asarray(means, dtype=np.float64)
    if M.ndim != 2:
        raise ValueError(f"means must have shape (P, N), got {M.shape}")
    if not (np.isfinite(level) and level >= 0):
        raise ValueError(f"level must be a finite number >= 0, got {level!r}")
    if kind == "noise":
        return M + float(level) * random_geometry(M.shape[0], M.shape[1], seed, like=M)
    if kind == "rotation":
        return M @ rotation_matrix(M.shape[1], level, seed)
    raise ValueError(f"kind must be one of {PERTURBATIONS}, got {kind!r}")


def noisy_samples(means: np.ndarray, n_per_condition: int, sigma: float, seed: int = 0):
    """Noisy samples around condition means.

    Returns ``X: (P * n, N)`` = ``means[cond] + sigma * N(0, I)`` and ``cond: (P * n,)``
    int64, sorted by condition. The same seed gives the same noise for any ``means`` of
    the same shape (common random numbers across geometries).
    """
    M = np.asarray(means, dtype=np.float64)
    n = _check_int("n_per_condition", n_per_condition, 1)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    cond = np.repeat(np.arange(M.shape[0], dtype=np.int64), n)
    Z = np.random.default_rng(seed).standard_normal((cond.size, M.shape[1]))
    return M[cond] + float(sigma) * Z, cond


def dichotomies_with_others(labels: np.ndarray, n_other: int, seed: int = 0) -> np.ndarray:
    """The factor dichotomies followed by ``n_other`` other balanced dichotomies, ``(k + n_other, P)``.

    Signs follow :func:`repgeom_lite.metrics.balanced_dichotomies` (condition 0 on the +1
    side). The others are a random sample (``seed``) of the balanced dichotomies that are
    not factors, in the order :func:`~repgeom_lite.metrics.balanced_dichotomies` lists them.
    """
    from . import metrics as M

    L = np.asarray(labels, dtype=np.int64)
    if L.ndim != 2:
        raise ValueError(f"labels must have shape (P, k), got {L.shape}")
    P, k = L.shape
    factors = (L * L[0]).T  # (k, P), condition 0 on the +1 side
    all_d = M.balanced_dichotomies(P)
    is_factor = (all_d[:, None, :] == factors[None]).all(-1).any(-1)
    others = all_d[~is_factor]
    n_other = _check_int("n_other", n_other, 0)
    if n_other > len(others):
        raise ValueError(f"n_other must be at most {len(others)} (the non-factor dichotomies of P = {P}), got {n_other}")
    keep = np.sort(np.random.default_rng(seed).choice(len(others), n_other, replace=False))
    return np.concatenate([factors, others[keep]])
