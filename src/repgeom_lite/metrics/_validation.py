"""Input checks shared by every metric: one place, one wording, every path tested.

All checks raise :class:`ValueError` whose message names the offending argument
and says why (``"X must have at least 2 conditions (axis -2), got shape (1, 5)"``).

Array rule of the whole :mod:`repgeom_lite.metrics` package
------------------------------------------------------------
*Anything array-like in, NumPy out.* Inputs may be NumPy arrays, nested lists or
:class:`torch.Tensor` (any device, any float or int dtype, ``requires_grad``
allowed). Computation runs in float64. The torch-backed metrics (CKA, RDMs, RSA)
run on the device of their torch input, or on ``device=`` when given; the others
run in NumPy/SciPy/scikit-learn on the CPU. Results are always NumPy float64
arrays (NumPy scalars for 0-d results), so notebooks can plot, print and save them
without ``.cpu().numpy()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "to_numpy",
    "to_tensor",
    "check_finite",
    "check_ndim",
    "check_same_axis",
    "broadcast_batch",
    "check_labels",
    "check_conditions",
    "check_int",
    "check_choice",
    "check_square_symmetric",
    "scale_to_unit",
    "output",
]


def _describe(x: Any) -> str:
    return f"shape {tuple(x.shape)}" if hasattr(x, "shape") else f"type {type(x).__name__}"


def to_numpy(x: Any, name: str) -> np.ndarray:
    """Convert array-like ``x`` (NumPy, list, torch tensor on any device) to a float64 array.

    Raises
    ------
    ValueError
        If ``x`` is not numeric (strings, objects, complex numbers).
    """
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise ValueError(f"{name} must be real-valued, got a complex tensor")
        return x.detach().to("cpu", torch.float64).numpy()
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:  # ragged lists
        raise ValueError(f"{name} must be a numeric array, could not convert ({err})") from err
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def to_tensor(x: Any, name: str, device: str | torch.device | None = None) -> torch.Tensor:
    """Convert array-like ``x`` to a float64 :class:`torch.Tensor`.

    A tensor stays on its own device unless ``device`` is given; anything else goes
    to ``device`` (default CPU).
    """
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise ValueError(f"{name} must be real-valued, got a complex tensor")
        t = x.detach()
        return t.to(device=device if device is not None else t.device, dtype=torch.float64)
    arr = to_numpy(x, name)
    return torch.as_tensor(arr, dtype=torch.float64, device=device)


def check_finite(x: np.ndarray | torch.Tensor, name: str) -> None:
    """Raise if ``x`` contains NaN or ±inf (the count is reported)."""
    if isinstance(x, torch.Tensor):
        n_bad = int((~torch.isfinite(x)).sum().item())
    else:
        n_bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
    if n_bad:
        raise ValueError(f"{name} contains NaN or inf ({n_bad} entries); clean it before measuring")


def check_ndim(x: Any, name: str, min_ndim: int, layout: str) -> None:
    """Raise unless ``x.ndim >= min_ndim``; ``layout`` describes the expected shape."""
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have shape {layout}, got {_describe(x)}")


def check_same_axis(x: Any, y: Any, axis: int, what: str, x_name: str, y_name: str) -> None:
    """Raise unless ``x.shape[axis] == y.shape[axis]`` (``what`` names the axis)."""
    if x.shape[axis] != y.shape[axis]:
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of {what} (axis {axis}), "
            f"got {x.shape[axis]} and {y.shape[axis]}"
        )


def broadcast_batch(shape_x: Sequence[int], shape_y: Sequence[int], x_name: str, y_name: str):
    """Broadcast two leading (batch) shapes, raising a readable error if impossible."""
    try:
        return tuple(torch.broadcast_shapes(tuple(shape_x), tuple(shape_y)))
    except RuntimeError as err:
        raise ValueError(
            f"leading (batch) dimensions of {x_name} {tuple(shape_x)} and {y_name} "
            f"{tuple(shape_y)} do not broadcast"
        ) from err


def check_labels(
    labels: Any, name: str, n_conditions: int | None = None, *, balanced: bool = True
) -> np.ndarray:
    """Validate condition labels in {-1, +1}; return them as an int64 ``(P, k)`` array.

    Parameters
    ----------
    labels : array-like, shape (P,) or (P, k)
        One column per binary variable; ``(P,)`` is treated as one column.
    name : str
        Argument name used in error messages.
    n_conditions : int, optional
        Expected ``P`` (the number of condition means / conditions).
    balanced : bool
        Require each column to have as many +1 as -1 entries.
    """
    arr = to_numpy(labels, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (P,) or (P, k), got {_describe(arr)}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column (k >= 1), got {_describe(arr)}")
    if n_conditions is not None and arr.shape[0] != n_conditions:
        raise ValueError(
            f"{name} must have one row per condition: expected {n_conditions} rows, "
            f"got {arr.shape[0]}"
        )
    check_finite(arr, name)
    if not np.all(np.isin(arr, (-1.0, 1.0))):
        bad = np.unique(arr[~np.isin(arr, (-1.0, 1.0))])[:5]
        raise ValueError(
            f"{name} must contain only -1 and +1 (got values such as {bad.tolist()}); "
            "convert 0/1 labels with 2 * y - 1"
        )
    if balanced:
        sums = arr.sum(axis=0)
        if np.any(sums != 0):
            col = int(np.flatnonzero(sums != 0)[0])
            raise ValueError(
                f"{name} must be balanced (as many +1 as -1 in every column); column {col} "
                f"has {int((arr[:, col] > 0).sum())} x +1 and {int((arr[:, col] < 0).sum())} x -1"
            )
    return arr.astype(np.int64)


def check_conditions(conditions: Any, n_samples: int, n_conditions: int, name: str) -> np.ndarray:
    """Validate per-sample condition indices in ``[0, P)``; return an int64 ``(n,)`` array."""
    arr = to_numpy(conditions, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must have shape (n_samples,), got {_describe(arr)}")
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} must have one entry per sample: expected {n_samples}, got {arr.shape[0]}"
        )
    check_finite(arr, name)
    if np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must contain integer condition indices")
    arr = arr.astype(np.int64)
    if arr.min(initial=0) < 0 or arr.max(initial=0) >= n_conditions:
        raise ValueError(
            f"{name} must index conditions 0..{n_conditions - 1} (rows of labels), got values in "
            f"[{arr.min()}, {arr.max()}]"
        )
    missing = np.setdiff1d(np.arange(n_conditions), arr)
    if missing.size:
        raise ValueError(f"{name} has no samples of conditions {missing[:10].tolist()}")
    return arr


def check_int(value: Any, name: str, minimum: int) -> int:
    """Raise unless ``value`` is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Raise unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_square_symmetric(rdms: torch.Tensor, name: str) -> None:
    """Raise unless ``rdms`` has shape ``(..., n, n)`` with ``n >= 3`` and is symmetric."""
    check_ndim(rdms, name, 2, "(..., n, n)")
    n = rdms.shape[-1]
    if rdms.shape[-2] != n:
        raise ValueError(f"{name} must be square in its last two axes, got shape {tuple(rdms.shape)}")
    if n < 3:
        raise ValueError(
            f"{name} must compare at least 3 conditions (n >= 3) for a correlation of "
            f"upper triangles, got n = {n}"
        )
    check_finite(rdms, name)
    scale = float(rdms.abs().max()) if rdms.numel() else 0.0
    asym = float((rdms - rdms.transpose(-1, -2)).abs().max()) if rdms.numel() else 0.0
    if asym > 1e-8 * max(scale, 1.0):
        raise ValueError(f"{name} must be symmetric (max |D - D^T| = {asym:.3g})")


def scale_to_unit(x, dims: int | tuple[int, ...]):
    """``x / max|x|`` over ``dims`` (kept), and that maximum; an all-zero slice is left as is.

    The numerical guard of every scale-invariant metric: dividing by the largest
    magnitude first keeps squares and products of the entries far from float64
    overflow (above about 1e154) and underflow (below about 1e-154), so correlations,
    cosines and kernel alignments are the same from 1e-200 to 1e200. Works on
    :class:`torch.Tensor` and NumPy arrays (returns the same kind).
    """
    if isinstance(x, torch.Tensor):
        scale = x.abs().amax(dim=dims, keepdim=True)
        return x / torch.where(scale > 0, scale, torch.ones_like(scale)), scale
    scale = np.abs(x).max(axis=dims, keepdims=True, initial=0.0)
    return x / np.where(scale > 0, scale, 1.0), scale


def output(t: torch.Tensor | np.ndarray) -> np.ndarray | np.float64:
    """The package's return rule: NumPy float64; a 0-d result becomes a NumPy scalar."""
    if isinstance(t, torch.Tensor):
        t = t.detach().to("cpu", torch.float64).numpy()
    arr = np.asarray(t, dtype=np.float64)
    return arr[()] if arr.ndim == 0 else arr
