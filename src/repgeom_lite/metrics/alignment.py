"""Orthogonal alignment of networks: Procrustes and the Shared Response Model (SRM).

Why written here
----------------
- **Procrustes**: netrep (Williams et al. 2021) is the reference for shape metrics but
  is git-only (not on PyPI, last commit 2024), so it cannot be a dependency. We follow
  its conventions (centre columns, zero-pad the narrower representation, angular or
  Euclidean distance) and test against :func:`scipy.linalg.orthogonal_procrustes`.
- **SRM**: BrainIAK's ``brainiak.funcalign.srm`` imports ``mpi4py`` at module load
  (installs often fail without MPI) and its ``transform`` ignores the data mean
  (brainiak #406, open since 2019); its ``trace_xtx`` also uses the un-centred data.
  We implement the deterministic SRM (alternating Procrustes) and the probabilistic
  SRM (EM of Chen et al. 2015 as in BrainIAK's ``SRM``) in ~100 lines, centre each
  network and keep its means, and test against BrainIAK only as an optional oracle.

Orientation
-----------
Samples x units, as everywhere in this package: network ``i`` gives ``X_i: (t, v_i)``
(``t`` images, ``v_i`` units). The model is ``X_i - mu_i ≈ S W_i^T`` with
``W_i: (v_i, k)`` orthonormal columns (``W_i^T W_i = I_k``) and shared response
``S: (t, k)``. (BrainIAK's ``X_i ≈ W_i S`` with ``X_i: (v_i, t)`` is the transpose.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import torch

from ._validation import (
    broadcast_batch,
    check_choice,
    check_finite,
    check_int,
    check_ndim,
    check_same_axis,
    output,
    to_numpy,
)

__all__ = [
    "procrustes",
    "ProcrustesResult",
    "SharedResponseModel",
    "unaligned_angle",
    "unaligned_variance_explained",
    "zscore_patterns",
    "map_variance_explained",
    "pairwise_map_variance_explained",
    "between_rsm",
    "within_rsm",
    "rsm_agreement",
]

#: A representation counts as constant when max|X - mean| <= CONSTANT_RTOL * max|X|.
CONSTANT_RTOL = 1e-12


# ----------------------------------------------------------------------------- Procrustes
@dataclass(frozen=True)
class ProcrustesResult:
    """Result of :func:`procrustes` (leading batch dims ``...`` as the inputs).

    Attributes
    ----------
    rotation : ndarray, shape (..., p, p)
        Orthogonal ``R`` minimising ``||X_c R - Y_c||_F`` (``p = max(p_X, p_Y)`` after padding).
    distance : ndarray, shape (...)
        Euclidean residual ``||X_c R - Y_c||_F = sqrt(||X_c||^2 + ||Y_c||^2 - 2 sum(s))``
        (``s``: singular values of ``X_c^T Y_c``), netrep's ``score_method="euclidean"``.
    angular_distance : ndarray, shape (...)
        ``arccos(sum(s) / (||X_c||_F ||Y_c||_F))`` in [0, pi/2], netrep's default
        (``score_method="angular"``), computed as ``2 arcsin(||X_c R/||X_c|| - Y_c/||Y_c|| || / 2)``
        for accuracy near 0.
    X_mean, Y_mean : ndarray, shapes (..., p_X), (..., p_Y)
        Column means removed before alignment (zeros with ``center=False``).
    """

    rotation: np.ndarray
    distance: np.ndarray | np.float64
    angular_distance: np.ndarray | np.float64
    X_mean: np.ndarray
    Y_mean: np.ndarray


def procrustes(X: Any, Y: Any, *, center: bool = True) -> ProcrustesResult:
    r"""Orthogonal Procrustes alignment of ``X`` onto ``Y``.

    ``X: (..., n, p_X), Y: (..., n, p_Y) -> ProcrustesResult`` (batched over broadcast
    leading dims).

    With ``X_c, Y_c`` the column-centred data (``center=True``), the narrower one
    zero-padded to ``p = max(p_X, p_Y)`` columns (as netrep's ``zero_pad=True``)::

        X_c^T Y_c = U diag(s) V^T,   R = U V^T = argmin_{R^T R = I} ||X_c R - Y_c||_F

    (``scipy.linalg.orthogonal_procrustes(X_c, Y_c)`` returns the same ``R``). The
    Euclidean distance is the residual; the angular distance is
    ``arccos(sum(s) / (||X_c|| ||Y_c||))``, invariant to scaling either input.

    **Constant representation**: if ``X_c`` or ``Y_c`` is zero the angle is undefined; it
    is defined as pi/2 (nothing shared); ``distance`` is then the other's norm and
    ``rotation`` an arbitrary orthogonal matrix from the SVD.

    Raises
    ------
    ValueError
        Fewer than 2 dims, different ``n``, non-broadcastable batch dims, ``n < 2``, NaN/inf.
    """
    X_ = to_numpy(X, "X")
    Y_ = to_numpy(Y, "Y")
    check_ndim(X_, "X", 2, "(..., n_samples, n_units)")
    check_ndim(Y_, "Y", 2, "(..., n_samples, n_units)")
    check_same_axis(X_, Y_, -2, "samples", "X", "Y")
    if X_.shape[-2] < 2:
        raise ValueError(f"X and Y must have at least 2 samples (axis -2), got {X_.shape[-2]}")
    batch = broadcast_batch(X_.shape[:-2], Y_.shape[:-2], "X", "Y")
    check_finite(X_, "X")
    check_finite(Y_, "Y")
    X_mean = X_.mean(-2) if center else np.zeros(X_.shape[:-2] + X_.shape[-1:])
    Y_mean = Y_.mean(-2) if center else np.zeros(Y_.shape[:-2] + Y_.shape[-1:])
    Xc, Yc = X_ - X_mean[..., None, :], Y_ - Y_mean[..., None, :]
    p = max(Xc.shape[-1], Yc.shape[-1])
    Xc = _pad(Xc, p)
    Yc = _pad(Yc, p)
    Xc, Yc = np.broadcast_to(Xc, batch + Xc.shape[-2:]), np.broadcast_to(Yc, batch + Yc.shape[-2:])
    U, _, Vt = np.linalg.svd(np.swapaxes(Xc, -1, -2) @ Yc)
    R = U @ Vt
    XR = Xc @ R
    # residual computed directly, not as sqrt(||X||^2 + ||Y||^2 - 2 sum(s)) (cancellation)
    dist = np.linalg.norm(XR - Yc, axis=(-2, -1))
    nx = np.linalg.norm(Xc, axis=(-2, -1))
    ny = np.linalg.norm(Yc, axis=(-2, -1))
    constant = (np.abs(Xc).max(axis=(-2, -1)) <= CONSTANT_RTOL * np.abs(X_).max(axis=(-2, -1))) | (
        np.abs(Yc).max(axis=(-2, -1)) <= CONSTANT_RTOL * np.abs(Y_).max(axis=(-2, -1))
    )
    # angle between unit-norm X_c R and Y_c: chord c = ||x - y||, cos = 1 - c^2 / 2, so
    # theta = 2 arcsin(c / 2) -- accurate near 0 where arccos(cos) is not
    nx_s = np.where(constant, 1.0, nx)[..., None, None]
    ny_s = np.where(constant, 1.0, ny)[..., None, None]
    chord = np.linalg.norm(XR / nx_s - Yc / ny_s, axis=(-2, -1))
    angle = np.where(constant, np.pi / 2, 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0)))
    return ProcrustesResult(
        rotation=R,
        distance=output(dist),
        angular_distance=output(angle),
        X_mean=X_mean,
        Y_mean=Y_mean,
    )


def _pad(A: np.ndarray, p: int) -> np.ndarray:
    if A.shape[-1] == p:
        return A
    pad = [(0, 0)] * (A.ndim - 1) + [(0, p - A.shape[-1])]
    return np.pad(A, pad)


# ----------------------------------------------------------------------------- SRM
def _orthonormal_procrustes(A: np.ndarray) -> np.ndarray:
    """``argmax_{W^T W = I} tr(W^T A)`` for ``A: (v, k)``, i.e. ``U V^T`` from ``A = U s V^T``."""
    U, _, Vt = np.linalg.svd(A, full_matrices=False)
    return U @ Vt


class SharedResponseModel:
    r"""Shared Response Model (Chen et al. 2015), deterministic or probabilistic.

    Model, for networks ``i = 1..m`` shown the same ``t`` images::

        X_i = mu_i + S W_i^T + E_i,   X_i: (t, v_i),  S: (t, k),  W_i: (v_i, k),  W_i^T W_i = I_k

    - Deterministic (``probabilistic=False``; BrainIAK ``DetSRM``): minimise
      ``sum_i ||X_i - mu_i - S W_i^T||_F^2`` by block coordinate descent: from random
      orthonormal ``W_i``, ``S = (1/m) sum_i (X_i - mu_i) W_i``, then
      ``W_i = U V^T`` with ``(X_i - mu_i)^T S = U s V^T`` (Procrustes), repeat.
    - Probabilistic (default, ``probabilistic=True``; BrainIAK ``SRM``): rows of ``S`` ~
      ``N(0, Sigma_s)``, ``E_i`` ~ ``N(0, rho_i^2 I)``; EM: the E-step computes the
      posterior mean of ``S`` given ``Sigma_s, rho_i^2, W_i``; the M-step updates
      ``Sigma_s``, then ``W_i`` (Procrustes against the posterior mean) and ``rho_i^2``.
      (Unlike BrainIAK we use the centred data in ``rho_i^2`` and add no 0.001 diagonal
      perturbation before the SVD.)

    Each network is centred with its training means ``mu_i`` (stored in ``means_``) and
    the same means are removed from held-out data (BrainIAK's ``transform`` does not,
    brainiak #406).

    Parameters
    ----------
    n_components : int
        ``k``, at most ``min(v_i)`` and at most ``t``. Lu et al. (2018) use ``k`` = units.
    n_iter : int, default 10
        Iterations (BCD sweeps or EM steps); Lu et al. use 10.
    probabilistic : bool, default True
    init : "random" or sequence of arrays
        Initial ``W_i: (v_i, k)`` with orthonormal columns; ``"random"`` draws them by QR of
        Gaussian matrices from ``random_state``.
    random_state : int, default 0
        Seed of the random initialisation.

    Attributes (after :meth:`fit`)
    -------------------------------
    W_ : list of ndarray, (v_i, k)
    S_ : ndarray, (t, k)
        Shared response of the training images (posterior mean for the probabilistic SRM).
    means_ : list of ndarray, (v_i,)
    sigma_s_ : ndarray, (k, k)   (probabilistic only; covariance of the rows of ``S``)
    rho2_ : ndarray, (m,)        (probabilistic only; noise variance per network)
    n_networks_ : int

    Examples
    --------
    >>> srm = SharedResponseModel(n_components=10).fit(Xs_train)     # doctest: +SKIP
    >>> srm.variance_explained(Xs_test)                               # doctest: +SKIP
    """

    def __init__(
        self,
        n_components: int,
        n_iter: int = 10,
        probabilistic: bool = True,
        init: str | Sequence[Any] = "random",
        random_state: int = 0,
    ):
        self.n_components = n_components
        self.n_iter = n_iter
        self.probabilistic = probabilistic
        self.init = init
        self.random_state = random_state

    # -- validation -----------------------------------------------------------------
    def _check_Xs(self, Xs: Any, name: str, *, fitted: bool) -> list[np.ndarray]:
        if isinstance(Xs, (np.ndarray,)) and Xs.ndim == 3:
            Xs = list(Xs)
        if not isinstance(Xs, Sequence) or isinstance(Xs, (str, bytes)):
            raise ValueError(f"{name} must be a list of (n_samples, n_units) arrays, one per network")
        arrs = [to_numpy(X, f"{name}[{i}]") for i, X in enumerate(Xs)]
        if len(arrs) < 2:
            raise ValueError(f"{name} must hold at least 2 networks, got {len(arrs)}")
        for i, X in enumerate(arrs):
            if X.ndim != 2:
                raise ValueError(
                    f"{name}[{i}] must have shape (n_samples, n_units), got shape {X.shape}"
                )
            check_finite(X, f"{name}[{i}]")
        t = arrs[0].shape[0]
        for i, X in enumerate(arrs):
            if X.shape[0] != t:
                raise ValueError(
                    f"{name} must hold responses to the same samples: {name}[0] has {t} rows, "
                    f"{name}[{i}] has {X.shape[0]}"
                )
        if fitted:
            if len(arrs) != self.n_networks_:
                raise ValueError(
                    f"{name} must hold the {self.n_networks_} networks the model was fitted on, "
                    f"got {len(arrs)}"
                )
            for i, X in enumerate(arrs):
                if X.shape[1] != self.W_[i].shape[0]:
                    raise ValueError(
                        f"{name}[{i}] must have {self.W_[i].shape[0]} units (as in fit), got "
                        f"{X.shape[1]}"
                    )
        return arrs

    def _check_fitted(self) -> None:
        if not hasattr(self, "W_"):
            raise ValueError("this SharedResponseModel is not fitted yet; call fit(Xs) first")

    # -- fitting --------------------------------------------------------------------
    def fit(self, Xs: Sequence[Any], y: Any = None) -> "SharedResponseModel":
        """Fit on ``Xs``: list of ``m >= 2`` arrays ``(t, v_i)`` (same images, same order)."""
        k = check_int(self.n_components, "n_components", 1)
        n_iter = check_int(self.n_iter, "n_iter", 1)
        arrs = self._check_Xs(Xs, "Xs", fitted=False)
        t = arrs[0].shape[0]
        v = [X.shape[1] for X in arrs]
        if k > min(v):
            raise ValueError(f"n_components = {k} exceeds the smallest number of units ({min(v)})")
        if k > t:
            raise ValueError(f"n_components = {k} exceeds the number of samples ({t})")
        means = [X.mean(axis=0) for X in arrs]
        x = [(X - mu).T for X, mu in zip(arrs, means)]  # (v_i, t), BrainIAK orientation inside
        W = self._initial_W(v, k)
        if self.probabilistic:
            W, S, sigma_s, rho2 = _srm_em(x, W, n_iter)
            self.sigma_s_, self.rho2_ = sigma_s, rho2
        else:
            S = sum(Wi.T @ xi for Wi, xi in zip(W, x)) / len(x)
            for _ in range(n_iter):
                W = [_orthonormal_procrustes(xi @ S.T) for xi in x]
                S = sum(Wi.T @ xi for Wi, xi in zip(W, x)) / len(x)
        self.W_ = W
        self.S_ = S.T
        self.means_ = means
        self.n_networks_ = len(arrs)
        return self

    def _initial_W(self, v: list[int], k: int) -> list[np.ndarray]:
        if isinstance(self.init, str):
            check_choice(self.init, "init", ("random",))
            rng = np.random.default_rng(self.random_state)
            return [np.linalg.qr(rng.standard_normal((vi, k)))[0] for vi in v]
        if len(self.init) != len(v):
            raise ValueError(f"init must hold one (v_i, k) array per network ({len(v)}), got {len(self.init)}")
        W = []
        for i, (Wi, vi) in enumerate(zip(self.init, v)):
            Wi = to_numpy(Wi, f"init[{i}]")
            if Wi.shape != (vi, k):
                raise ValueError(f"init[{i}] must have shape {(vi, k)}, got {Wi.shape}")
            if not np.allclose(Wi.T @ Wi, np.eye(k), atol=1e-8):
                raise ValueError(f"init[{i}] must have orthonormal columns (W^T W = I)")
            W.append(Wi.copy())
        return W

    # -- applying -------------------------------------------------------------------
    def transform(self, Xs: Sequence[Any]) -> list[np.ndarray]:
        """Shared-space responses of each network: ``(X_i - mu_i) W_i``, list of ``(t', k)``."""
        self._check_fitted()
        arrs = self._check_Xs(Xs, "Xs", fitted=True)
        return [(X - mu) @ W for X, mu, W in zip(arrs, self.means_, self.W_)]

    def shared_response(self, Xs: Sequence[Any], exclude: int | None = None) -> np.ndarray:
        """Estimate ``S: (t', k)`` from data: mean of :meth:`transform` over networks.

        ``exclude=i`` leaves network ``i`` out (for held-out reconstruction of ``i``).
        """
        shared = self.transform(Xs)
        if exclude is not None:
            exclude = self._check_network(exclude, "exclude")
        keep = [j for j in range(len(shared)) if j != exclude]
        return np.mean([shared[j] for j in keep], axis=0)

    def reconstruct(self, S: Any, network: int) -> np.ndarray:
        """Network ``network``'s responses predicted from shared responses: ``S W_i^T + mu_i``."""
        self._check_fitted()
        S_ = to_numpy(S, "S")
        if S_.ndim != 2 or S_.shape[1] != self.W_[0].shape[1]:
            raise ValueError(f"S must have shape (n_samples, {self.W_[0].shape[1]}), got {S_.shape}")
        i = self._check_network(network, "network")
        return S_ @ self.W_[i].T + self.means_[i]

    def transform_to(self, X: Any, source: int, target: int) -> np.ndarray:
        """Map network ``source``'s responses ``X: (t', v_source)`` into network ``target``'s
        unit space: ``(X - mu_s) W_s W_t^T + mu_t`` -> ``(t', v_target)``."""
        self._check_fitted()
        s = self._check_network(source, "source")
        tgt = self._check_network(target, "target")
        X_ = to_numpy(X, "X")
        if X_.ndim != 2 or X_.shape[1] != self.W_[s].shape[0]:
            raise ValueError(
                f"X must have shape (n_samples, {self.W_[s].shape[0]}) (network {s}'s units), got {X_.shape}"
            )
        check_finite(X_, "X")
        return self.reconstruct((X_ - self.means_[s]) @ self.W_[s], tgt)

    def variance_explained(self, Xs: Sequence[Any], shared: str = "others", centred: bool = False) -> np.ndarray:
        r"""Variance of each network explained by the shared response, ``(m,)``.

        ``VE_i = 1 - mean((S_hat W_i^T + mu_i - X_i)^2) / var(X_i)`` (SPEC), on
        held-out images ``Xs`` (list of ``(t', v_i)``), with ``var`` over all entries and

        - ``shared="others"`` (default): ``S_hat = mean_{j != i} (X_j - mu_j) W_j`` — the
          shared response estimated from the *other* networks, so network ``i``'s own data
          cannot leak into its reconstruction;
        - ``shared="all"``: mean over all networks, ``i`` included;
        - ``shared="own"``: ``S_hat = (X_i - mu_i) W_i``, i.e. projection on ``W_i``'s span (Lu
          et al.'s code, ``calc_srm_var_exp``); trivially 1 when ``k = v_i``.

        ``centred=True`` divides by ``mean((X_i - mu_i)^2)`` instead of ``var(X_i)``: only the
        variation around the training means ``mu_i`` counts, so the unit means (given to
        the reconstruction for free) are not credited as explained variance -- the strict
        held-out measure. (``var(X_i)``, over all entries around one grand mean, includes
        the spread of the unit means, which the reconstruction is given.)

        A network whose held-out responses are constant gets VE = 0 (documented, not NaN).
        """
        check_choice(shared, "shared", ("others", "all", "own"))
        Z = self.transform(Xs)
        arrs = self._check_Xs(Xs, "Xs", fitted=True)
        m = len(arrs)
        total = np.sum(Z, axis=0)
        ve = np.empty(m)
        for i, X in enumerate(arrs):
            if shared == "others":
                S_hat = (total - Z[i]) / (m - 1)
            elif shared == "all":
                S_hat = total / m
            else:
                S_hat = Z[i]
            resid = S_hat @ self.W_[i].T + self.means_[i] - X
            var = np.mean((X - self.means_[i]) ** 2) if centred else X.var()
            ve[i] = 0.0 if var <= 0 else 1.0 - np.mean(resid**2) / var
        return ve

    def _check_network(self, i: Any, name: str) -> int:
        i = check_int(i, name, 0)
        if i >= self.n_networks_:
            raise ValueError(f"{name} must index a fitted network (0..{self.n_networks_ - 1}), got {i}")
        return i


# ----------------------------------------------------------------------------- no alignment (baselines)
def unaligned_angle(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Angle between two centred representations *without* any alignment, in [0, pi].

    ``X, Y: (..., n, N) -> (...)``: ``arccos(<X_c, Y_c>_F / (||X_c|| ||Y_c||))`` with
    ``X_c, Y_c`` column-centred, i.e. comparing unit ``j`` of one with unit ``j`` of the
    other. The baseline that :func:`repgeom_lite.metrics.procrustes` improves on by
    rotating first. A constant representation gives pi/2.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.shape[-2:] != Y.shape[-2:] or X.ndim < 2:
        raise ValueError(f"X and Y must have the same (n, N) shape, got {X.shape} and {Y.shape}")
    Xc = X - X.mean(axis=-2, keepdims=True)
    Yc = Y - Y.mean(axis=-2, keepdims=True)
    num = (Xc * Yc).sum(axis=(-2, -1))
    den = np.linalg.norm(Xc, axis=(-2, -1)) * np.linalg.norm(Yc, axis=(-2, -1))
    cos = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def unaligned_variance_explained(Xs_train: Sequence[np.ndarray], Xs_test: Sequence[np.ndarray]) -> np.ndarray:
    """Held-out variance explained by the other networks *without* alignment, ``(m,)``.

    ``VE_i = 1 - mean((S_hat + mu_i - X_i)^2) / var(X_i)`` with
    ``S_hat = mean_{j != i}(X_j - mu_j)`` on the test images and ``mu_j`` the training
    means -- the SRM's ``shared="others"`` variance explained with every ``W_i = I``
    (unit ``j`` of one network predicts unit ``j`` of another). Needs equal widths.
    """
    tr = [np.asarray(x, dtype=np.float64) for x in Xs_train]
    te = [np.asarray(x, dtype=np.float64) for x in Xs_test]
    m = len(tr)
    if m < 2 or len(te) != m:
        raise ValueError(f"need at least 2 networks with train and test responses, got {m} and {len(te)}")
    if len({x.shape[1] for x in tr + te}) != 1:
        raise ValueError("all networks must have the same number of units (no alignment is fitted)")
    mu = [x.mean(axis=0) for x in tr]
    centred = [x - u for x, u in zip(te, mu)]
    total = np.sum(centred, axis=0)
    ve = np.empty(m)
    for i in range(m):
        resid = (total - centred[i]) / (m - 1) + mu[i] - te[i]
        var = te[i].var()
        ve[i] = 0.0 if var <= 0 else 1.0 - np.mean(resid**2) / var
    return ve


def _srm_em(x: list[np.ndarray], W: list[np.ndarray], n_iter: int):
    """EM for the probabilistic SRM (Chen et al. 2015; BrainIAK ``SRM._srm``).

    ``x``: centred data ``(v_i, t)``; ``W``: initial ``(v_i, k)``. Returns ``W, S (k, t),
    Sigma_s (k, k), rho2 (m,)``. With ``rho0 = sum_i 1/rho_i^2`` and
    ``A = (Sigma_s^{-1} + rho0 I)^{-1}``:

    - E-step: ``S = Sigma_s (I - rho0 A) sum_i W_i^T x_i / rho_i^2`` (posterior mean).
    - M-step: ``Sigma_s = A + S S^T / t``; ``W_i = Procrustes(x_i S^T)``;
      ``rho_i^2 = (||x_i||^2 - 2 tr(W_i^T x_i S^T) + t tr(Sigma_s)) / (t v_i)``.
    """
    m = len(x)
    k = W[0].shape[1]
    t = x[0].shape[1]
    v = np.array([xi.shape[0] for xi in x])
    trace_xtx = np.array([np.sum(xi**2) for xi in x])
    rho2 = np.ones(m)
    sigma_s = np.eye(k)
    S = np.zeros((k, t))
    eye = np.eye(k)
    for _ in range(n_iter):
        rho0 = np.sum(1.0 / rho2)
        inv_sigma_s = scipy.linalg.cho_solve(scipy.linalg.cho_factor(sigma_s), eye)
        A = scipy.linalg.cho_solve(scipy.linalg.cho_factor(inv_sigma_s + rho0 * eye), eye)
        wt_invpsi_x = sum(Wi.T @ xi / r for Wi, xi, r in zip(W, x, rho2))
        S = sigma_s @ (eye - rho0 * A) @ wt_invpsi_x
        sigma_s = A + S @ S.T / t
        trace_sigma_s = t * np.trace(sigma_s)
        for i in range(m):
            a_i = x[i] @ S.T
            W[i] = _orthonormal_procrustes(a_i)
            rho2[i] = (trace_xtx[i] - 2.0 * np.sum(W[i] * a_i) + trace_sigma_s) / (t * v[i])
        # numerical guard (not in BrainIAK): a noise-free fit would drive rho_i^2 to 0 or
        # below by rounding, and 1 / rho_i^2 to inf
        rho2 = np.maximum(rho2, 1e-10 * trace_xtx / (t * v) + np.finfo(float).tiny)
    return W, S, sigma_s, rho2


# ----------------------------------------------------------------------------- maps between networks, RSMs
def zscore_patterns(X: Any, eps: float = 1e-12) -> np.ndarray:
    """Z-score every image's response pattern across units (Lu et al. 2018's preprocessing).

    ``X: (..., n_images, n_units) -> same shape``: each row gets mean 0 and standard
    deviation 1 across units (``StandardScaler`` on the transposed matrix). A constant
    row (e.g. every ReLU unit silent) becomes 0, not NaN.
    """
    X_ = to_numpy(X, "X")
    check_ndim(X_, "X", 1, "(..., n_units)")
    check_finite(X_, "X")
    mu = X_.mean(axis=-1, keepdims=True)
    sd = X_.std(axis=-1, keepdims=True)
    return np.where(sd > eps, (X_ - mu) / np.where(sd > eps, sd, 1.0), 0.0)


def _centred_ve(pred: np.ndarray, target: np.ndarray) -> float:
    denom = float(np.sum(target**2))
    return 0.0 if denom <= 0 else 1.0 - float(np.sum((pred - target) ** 2)) / denom


def map_variance_explained(
    X_fit: Any, Y_fit: Any, X_eval: Any, Y_eval: Any, kind: str = "orthogonal", *, alphas: Any = None
) -> float:
    r"""Variance of network ``Y`` explained by a map from network ``X``, fitted on other images.

    Both networks are centred with their means on the fitting images (``C = X - mu_fit``);
    the map is fitted on ``(C_X_fit, C_Y_fit)`` and scored on the evaluation images::

        VE = 1 - ||C_X_eval A - C_Y_eval||_F^2 / ||C_Y_eval||_F^2

    - ``kind="orthogonal"``: ``A`` orthogonal (a rigid rotation / reflection), the
      Procrustes solution :func:`procrustes` (the narrower network zero-padded).
    - ``kind="linear"``: ``A`` any matrix, ridge regression without intercept with the
      penalty chosen by efficient leave-one-out cross-validation on the fitting images
      (:class:`sklearn.linear_model.RidgeCV`; ``alphas`` default ``logspace(-3, 4, 15)``,
      one penalty for all output units) -- the unconstrained linear baseline.

    On the fitting images themselves (pass them as the evaluation images) least squares
    (``alphas`` near 0) explains at least as much as any orthogonal map; held out, either
    can win. A rotated copy ``Y = X Q`` is explained entirely (VE = 1) by the orthogonal map.

    Parameters
    ----------
    X_fit, Y_fit : (t, p_X), (t, p_Y)
        Responses of the two networks to the fitting images (same images, same order).
    X_eval, Y_eval : (t', p_X), (t', p_Y)
        Their responses to the evaluation images.

    Returns
    -------
    float
        Held-out variance explained (1 at best, 0 for predicting the fit means, negative
        when worse). A constant ``Y_eval`` gives 0.
    """
    check_choice(kind, "kind", ("orthogonal", "linear"))
    Xf, Yf, Xe, Ye = (to_numpy(a, n) for a, n in ((X_fit, "X_fit"), (Y_fit, "Y_fit"), (X_eval, "X_eval"),
                                                  (Y_eval, "Y_eval")))
    for a, n in ((Xf, "X_fit"), (Yf, "Y_fit"), (Xe, "X_eval"), (Ye, "Y_eval")):
        if a.ndim != 2:
            raise ValueError(f"{n} must have shape (n_images, n_units), got {a.shape}")
        check_finite(a, n)
    if Xf.shape[0] != Yf.shape[0] or Xe.shape[0] != Ye.shape[0]:
        raise ValueError("X and Y must hold responses to the same images (same number of rows)")
    if Xf.shape[1] != Xe.shape[1] or Yf.shape[1] != Ye.shape[1]:
        raise ValueError("fit and eval responses of a network must have the same units")
    mx, my = Xf.mean(axis=0), Yf.mean(axis=0)
    Cx, Cy, Ex, Ey = Xf - mx, Yf - my, Xe - mx, Ye - my
    if kind == "orthogonal":
        R = procrustes(Cx, Cy, center=False).rotation
        pred = (_pad(Ex, R.shape[0]) @ R)[:, : Cy.shape[1]]
    else:
        from sklearn.linear_model import RidgeCV

        grid = np.logspace(-3, 4, 15) if alphas is None else np.atleast_1d(np.asarray(alphas, dtype=float))
        pred = RidgeCV(alphas=grid, fit_intercept=False).fit(Cx, Cy).predict(Ex)
    return _centred_ve(pred, Ey)


def pairwise_map_variance_explained(Xs_fit: Any, Xs_eval: Any, kind: str = "orthogonal", *,
                                    alphas: Any = None) -> np.ndarray:
    """:func:`map_variance_explained` of every ordered pair of networks.

    ``Xs_fit: (m, t, N)``, ``Xs_eval: (m, t', N)`` (or lists of per-network arrays) ->
    ``(m, m)``, entry ``[i, j]`` = VE of network ``j`` predicted from network ``i``;
    NaN on the diagonal.
    """
    fit = [to_numpy(x, f"Xs_fit[{i}]") for i, x in enumerate(Xs_fit)]
    ev = [to_numpy(x, f"Xs_eval[{i}]") for i, x in enumerate(Xs_eval)]
    if len(fit) < 2 or len(ev) != len(fit):
        raise ValueError(f"need fit and eval responses of at least 2 networks, got {len(fit)} and {len(ev)}")
    m = len(fit)
    out = np.full((m, m), np.nan)
    for i in range(m):
        for j in range(m):
            if i != j:
                out[i, j] = map_variance_explained(fit[i], fit[j], ev[i], ev[j], kind, alphas=alphas)
    return out


def _row_unit(X: np.ndarray) -> np.ndarray:
    """Rows centred and scaled to unit norm, constant rows 0: the RDMs' scale-robust helper."""
    from .rsa import _unit_centred

    return _unit_centred(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))).numpy()


def between_rsm(X: Any, Y: Any) -> np.ndarray:
    """Between-network RSM: ``B[a, b] = pearson_r(x(a), y(b))`` across units.

    ``X, Y: (n_images, N) -> (n_images, n_images)``; the two must live in one unit space
    (the same network, or networks aligned into a shared space). Lu et al. (2018) take
    ``Y`` = the mean pattern of the *other* networks. A constant pattern correlates 0.
    """
    X_, Y_ = to_numpy(X, "X"), to_numpy(Y, "Y")
    if X_.ndim != 2 or X_.shape != Y_.shape:
        raise ValueError(f"X and Y must be (n_images, n_units) of the same shape, got {X_.shape} and {Y_.shape}")
    return _row_unit(X_) @ _row_unit(Y_).T


def within_rsm(X: Any) -> np.ndarray:
    """RSM of one network: ``R[a, b] = pearson_r(x(a), x(b))`` across units, ``(n, N) -> (n, n)``."""
    return between_rsm(X, X)


def rsm_agreement(A: Any, B: Any) -> float:
    """Pearson correlation of the off-diagonal (strictly lower-triangle) entries of two RSMs.

    (Lu et al.'s ``correlate_2RSMs``.) ``A, B: (n, n)`` with ``n >= 3``; 0 if either is
    constant off the diagonal.
    """
    A_, B_ = to_numpy(A, "A"), to_numpy(B, "B")
    if A_.shape != B_.shape or A_.ndim != 2 or A_.shape[0] != A_.shape[1] or A_.shape[0] < 3:
        raise ValueError(f"A and B must be square RSMs of the same size >= 3, got {A_.shape} and {B_.shape}")
    i, j = np.tril_indices(A_.shape[0], k=-1)
    a, b = A_[i, j] - A_[i, j].mean(), B_[i, j] - B_[i, j].mean()
    den = float(np.sqrt((a @ a) * (b @ b)))
    return 0.0 if den == 0 else float(a @ b) / den
