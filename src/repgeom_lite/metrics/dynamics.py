"""Weight dynamics on the inter-/intra-class plane (Alleman et al. 2024, §4.1, eq. 1, Fig. 1C-D).

For a hidden unit with input weights ``w`` (D,), bias ``b``, activation ``f`` and frozen
readout weight ``J``, under the paper's assumption of a *constant error direction*
(the error of every cluster keeps the sign of its label and a fixed magnitude), the
expected SGD update of ``w`` over the ``P`` clusters (centres ``x_p``, labels
``y_p`` in {-1, +1}, isotropic Gaussian input noise ``xi ~ N(0, sigma^2 I_D)``) is::

    Delta w = (1/P) sum_p eps_p E_xi[ f'(w^T (x_p + xi) + b) (x_p + xi) ],   eps_p = J y_p e_p

(eq. 1, with ``eps_p = w_o (y_p - yhat_p)``; ``e_p >= 0`` the error magnitude, 1 by
default). It is the negative gradient of the linearised loss
``L(w) = -(1/P) sum_p eps_p E[f(w^T (x_p + xi) + b)]``. Writing ``h_p = w^T x_p + b``,
``z = w^T xi ~ N(0, s^2)`` with ``s = sigma ||w||`` and using
``E[g(z) xi] = (w / ||w||^2) E[g(z) z]`` (the part of ``xi`` orthogonal to ``w`` is
independent of ``z``)::

    Delta w = (1/P) sum_p eps_p ( E[f'(h_p + z)] x_p + E[f'(h_p + z) z] w / ||w||^2 )

The 1-D expectations are closed forms for piecewise-linear activations (``f'`` is an
indicator of ``(lo, hi)``: ``E[f'] = Phi((hi-h)/s) - Phi((lo-h)/s)``,
``E[f' z] = s (phi((lo-h)/s) - phi((hi-h)/s))``) and Gauss–Hermite quadrature
(64 nodes) for tanh and sigmoid. At ``sigma = 0`` this is exactly eq. 1 on the centres.

The plane: inter-class axis ``u_1 = sum_p y_p x_p / ||.||`` and intra-class axis
``u_2`` = ``x_a - x_b`` for two same-label clusters (default the first two), made
orthogonal to ``u_1`` (Gram–Schmidt) and normalised. Coordinates are projections
on these unit axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr

from ._validation import check_choice, check_finite, check_int, check_labels, check_ndim, to_numpy

__all__ = [
    "weight_plane_axes",
    "project_weights",
    "expected_weight_update",
    "weight_vector_field",
    "VectorField",
]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "clipped_relu", "shifted_relu", "linear")
_N_QUAD = 64


def _check_centers_labels(centers: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    C = to_numpy(centers, "centers")
    if C.ndim != 2:
        raise ValueError(f"centers must have shape (P, D), got shape {C.shape}")
    check_finite(C, "centers")
    y_raw = to_numpy(labels, "labels")
    if y_raw.ndim != 1:
        raise ValueError(f"labels must have shape (P,) (one label per cluster), got shape {y_raw.shape}")
    y = check_labels(y_raw, "labels", C.shape[0], balanced=False)[:, 0]
    if np.all(y == y[0]):
        raise ValueError("labels must contain both -1 and +1 clusters")
    return C, y.astype(np.float64)


def weight_plane_axes(centers: Any, labels: Any, *, intra: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Orthonormal inter-/intra-class axes ``(2, D)`` of the cluster centres.

    ``centers: (P, D)``, ``labels: (P,)`` in {-1, +1}. Row 0: ``sum_p y_p x_p`` normalised
    (for the four-cluster task with labels (-1, -1, +1, +1): ``x3 + x4 - x1 - x2``).
    Row 1: ``x_a - x_b`` (``intra = (a, b)``, same label) minus its projection on row 0,
    normalised.

    Raises
    ------
    ValueError
        Bad shapes/labels, ``intra`` not two distinct same-label clusters, or degenerate
        axes (zero inter-class axis, e.g. δ = 0 XOR; intra axis parallel to it).
    """
    C, y = _check_centers_labels(centers, labels)
    P = C.shape[0]
    if (
        not isinstance(intra, (tuple, list))
        or len(intra) != 2
        or not all(isinstance(i, (int, np.integer)) and 0 <= i < P for i in intra)
        or intra[0] == intra[1]
    ):
        raise ValueError(f"intra must be two distinct cluster indices in 0..{P - 1}, got {intra!r}")
    a, b = int(intra[0]), int(intra[1])
    if y[a] != y[b]:
        raise ValueError(f"intra clusters {a} and {b} must have the same label, got {y[a]:+.0f} and {y[b]:+.0f}")
    scale = np.abs(C).max()
    inter = y @ C
    if np.linalg.norm(inter) <= 1e-12 * max(scale, 1e-300):
        raise ValueError("the inter-class axis sum_p y_p x_p of centers is zero (e.g. pure XOR); no plane")
    u1 = inter / np.linalg.norm(inter)
    d = C[a] - C[b]
    d = d - (d @ u1) * u1
    if np.linalg.norm(d) <= 1e-12 * max(scale, 1e-300):
        raise ValueError(f"the intra-class axis x_{a} - x_{b} is parallel to the inter-class axis (or zero)")
    return np.stack([u1, d / np.linalg.norm(d)])


def project_weights(W: Any, axes: Any) -> np.ndarray:
    """Project input weights on the plane: ``W: (..., H, D), axes: (2, D) -> (..., H, 2)``.

    Column 0 is the inter-class coordinate ``W u_1``, column 1 the intra-class ``W u_2``
    (for trajectories, pass ``W`` of shape ``(epochs, H, D)``).
    """
    W_ = to_numpy(W, "W")
    A = to_numpy(axes, "axes")
    if A.ndim != 2 or A.shape[0] != 2:
        raise ValueError(f"axes must have shape (2, D), got shape {A.shape}")
    check_ndim(W_, "W", 1, "(..., H, D)")
    if W_.shape[-1] != A.shape[1]:
        raise ValueError(f"W has {W_.shape[-1]} input dims (axis -1) but axes have {A.shape[1]}")
    check_finite(W_, "W")
    check_finite(A, "axes")
    return W_ @ A.T


def _fprime_moments(h: np.ndarray, s: np.ndarray, activation: str, act_param: float):
    """``E[f'(h + z)]`` and ``E[f'(h + z) z]`` for ``z ~ N(0, s^2)`` (elementwise; s may be 0)."""
    if activation in ("relu", "clipped_relu", "shifted_relu", "linear"):
        lo, hi = {
            "relu": (0.0, np.inf),
            "clipped_relu": (0.0, act_param),
            "shifted_relu": (-act_param, np.inf),
            "linear": (-np.inf, np.inf),
        }[activation]
        with np.errstate(divide="ignore", invalid="ignore"):
            s_safe = np.where(s > 0, s, 1.0)
            zl, zh = (lo - h) / s_safe, (hi - h) / s_safe
            phi_l = np.where(np.isfinite(zl), np.exp(-0.5 * zl**2) / np.sqrt(2 * np.pi), 0.0)
            phi_h = np.where(np.isfinite(zh), np.exp(-0.5 * zh**2) / np.sqrt(2 * np.pi), 0.0)
            m0 = np.where(s > 0, ndtr(zh) - ndtr(zl), ((h > lo) & (h < hi)).astype(float))
            m1 = np.where(s > 0, s * (phi_l - phi_h), 0.0)
        return m0, m1
    t, wq = np.polynomial.hermite_e.hermegauss(_N_QUAD)
    wq = wq / np.sqrt(2 * np.pi)  # weights of N(0, 1)
    z = s[..., None] * t
    a = h[..., None] + z
    if activation == "tanh":
        fp = 1.0 - np.tanh(a) ** 2
    else:  # sigmoid
        sig = 0.5 * (1.0 + np.tanh(0.5 * a))
        fp = sig * (1.0 - sig)
    return fp @ wq, (fp * z) @ wq


def _check_activation(activation: str, act_param: float | None) -> float:
    check_choice(activation, "activation", ACTIVATIONS)
    defaults = {"clipped_relu": 1.0, "shifted_relu": 0.0}
    if activation not in defaults:
        if act_param is not None:
            raise ValueError(
                f"act_param is only used by 'clipped_relu' (u) and 'shifted_relu' (s); it must be "
                f"None for activation={activation!r}"
            )
        return 0.0
    p = defaults[activation] if act_param is None else float(act_param)
    if not np.isfinite(p) or (activation == "clipped_relu" and p <= 0):
        raise ValueError(f"act_param must be a finite number (> 0 for clipped_relu), got {act_param!r}")
    return p


def expected_weight_update(
    W: Any,
    centers: Any,
    labels: Any,
    *,
    readout: float = 1.0,
    activation: str = "tanh",
    act_param: float | None = None,
    sigma: float = 0.0,
    bias: float = 0.0,
    errors: Any = None,
) -> np.ndarray:
    r"""Expected weight update ``Delta w`` (eq. 1, see module docstring) at any weights.

    ``W: (..., D)`` (any number of weight vectors), ``centers: (P, D)``, ``labels: (P,)``
    ±1 -> ``(..., D)``. It equals ``-grad_w L`` of the linearised loss
    ``L = -(1/P) sum_p J y_p e_p E[f(w^T (x_p + xi) + b)]`` (descent direction, learning
    rate 1).

    Parameters
    ----------
    readout : float
        ``J``, the unit's frozen readout weight (its sign selects the group).
    activation, act_param : str, float
        As in :class:`repgeom_lite.models.NetConfig`: ``"relu"``, ``"tanh"``, ``"sigmoid"``,
        ``"clipped_relu"`` (``u``, default 1), ``"shifted_relu"`` (``s``, default 0), ``"linear"``.
    sigma : float
        Input noise standard deviation (>= 0).
    bias : float
        The unit's bias ``b``.
    errors : array-like, shape (P,), optional
        Error magnitudes ``e_p >= 0`` (default all 1: the constant-error assumption).
    """
    C, y = _check_centers_labels(centers, labels)
    W_ = to_numpy(W, "W")
    check_ndim(W_, "W", 1, "(..., D)")
    if W_.shape[-1] != C.shape[1]:
        raise ValueError(f"W has {W_.shape[-1]} input dims (axis -1) but centers have {C.shape[1]}")
    check_finite(W_, "W")
    p = _check_activation(activation, act_param)
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    if not np.isfinite(readout) or not np.isfinite(bias):
        raise ValueError("readout and bias must be finite numbers")
    e = np.ones_like(y) if errors is None else to_numpy(errors, "errors")
    if e.shape != y.shape or np.any(~np.isfinite(e)) or np.any(e < 0):
        raise ValueError(f"errors must be {y.shape[0]} finite numbers >= 0 (one per cluster)")
    eps = readout * y * e  # (P,)
    h = W_ @ C.T + bias  # (..., P)
    norm2 = (W_**2).sum(-1, keepdims=True)  # (..., 1)
    s = sigma * np.sqrt(norm2)  # (..., 1)
    m0, m1 = _fprime_moments(h, np.broadcast_to(s, h.shape), activation, p)
    P = C.shape[0]
    term_x = (m0 * eps) @ C / P  # (..., D)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(norm2 > 0, (m1 * eps).sum(-1, keepdims=True) / P / norm2, 0.0)
    return term_x + coef * W_


@dataclass(frozen=True)
class VectorField:
    """Result of :func:`weight_vector_field` (``quiver(inter, intra, d_inter, d_intra)``).

    Attributes
    ----------
    inter, intra : ndarray, shape (G,)
        Grid coordinates along the inter- and intra-class unit axes.
    d_inter, d_intra : ndarray, shape (G, G)
        Components of the expected update ``Delta w`` along the two axes at the grid point
        ``w = inter[i] u_1 + intra[j] u_2``, indexed ``[j, i]`` (rows = intra, as
        :func:`numpy.meshgrid` with ``indexing="xy"``).
    axes : ndarray, shape (2, D)
        The orthonormal axes ``u_1`` (inter) and ``u_2`` (intra).
    """

    inter: np.ndarray
    intra: np.ndarray
    d_inter: np.ndarray
    d_intra: np.ndarray
    axes: np.ndarray


def weight_vector_field(
    centers: Any,
    labels: Any,
    *,
    readout: float = 1.0,
    activation: str = "tanh",
    act_param: float | None = None,
    sigma: float = 0.0,
    bias: float = 0.0,
    errors: Any = None,
    grid: int = 21,
    extent: float | tuple[float, float, float, float] = 1.0,
    intra: tuple[int, int] = (0, 1),
) -> VectorField:
    r"""Expected-gradient vector field of a hidden unit's input weights (Fig. 1D).

    ``centers: (P, D)``, ``labels: (P,)`` ±1 -> :class:`VectorField` on a ``grid x grid``
    lattice of the inter-/intra-class plane (:func:`weight_plane_axes`). At each point
    ``w = a u_1 + c u_2`` (weights assumed to lie in the plane; out-of-plane components
    are 0), :func:`expected_weight_update` is computed and projected back:
    ``d_inter = Delta w . u_1``, ``d_intra = Delta w . u_2``.

    For tanh (odd, symmetric ``f'``) and ``J = +1`` the field points toward increasing
    inter-class selectivity from small weights (at ``w = 0`` it is exactly
    ``J f'(b) sum_p y_p x_p / P``); for a linear unit it has no intra-class component.

    Parameters
    ----------
    grid : int
        Points per axis (>= 2; the paper's figure uses 21).
    extent : float or (inter_min, inter_max, intra_min, intra_max)
        Grid range; a float ``e`` means ``[-e, e]`` on both axes.
    intra : (int, int)
        Same-label clusters defining the intra-class axis.
    readout, activation, act_param, sigma, bias, errors
        As in :func:`expected_weight_update`.
    """
    axes = weight_plane_axes(centers, labels, intra=intra)
    G = check_int(grid, "grid", 2)
    if np.isscalar(extent):
        e = float(extent)
        if not np.isfinite(e) or e <= 0:
            raise ValueError(f"extent must be a finite number > 0 or a 4-tuple, got {extent!r}")
        lims = (-e, e, -e, e)
    else:
        lims = tuple(float(v) for v in extent)
        if len(lims) != 4 or not all(np.isfinite(lims)) or lims[0] >= lims[1] or lims[2] >= lims[3]:
            raise ValueError(
                f"extent must be (inter_min, inter_max, intra_min, intra_max) with min < max, got {extent!r}"
            )
    a = np.linspace(lims[0], lims[1], G)
    c = np.linspace(lims[2], lims[3], G)
    A, Cg = np.meshgrid(a, c, indexing="xy")  # (G, G), [j, i]
    W = A[..., None] * axes[0] + Cg[..., None] * axes[1]
    dW = expected_weight_update(
        W,
        centers,
        labels,
        readout=readout,
        activation=activation,
        act_param=act_param,
        sigma=sigma,
        bias=bias,
        errors=errors,
    )
    proj = dW @ axes.T
    return VectorField(inter=a, intra=c, d_inter=proj[..., 0], d_intra=proj[..., 1], axes=axes)
