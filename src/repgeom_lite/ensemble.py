"""Batched training of many small MLPs as one computation.

``train_ensemble(configs, data)`` trains every :class:`NetConfig` of a list and
gives the same weights as training each network alone with
:func:`repgeom_lite.reference.train_single` (same seeds, same minibatches), equal
up to floating-point rounding: the tests check 1e-10 in float64 and 1e-5
relative in float32 for every optimizer, activation and init.

Precision note. On the CPU the forward pass, loss gradient, readout backward and
weight-gradient products are bitwise identical to autograd's, except float32
``tanh``, which is NumPy's vectorised kernel (at most 1.4 ulp from the exact
value against torch's 0.5 ulp, and 7x faster); the bias-gradient sums, the fused
SGD update and the fused Adam kernel round differently in the last bit. That is
invisible in float64 (1e-14 after hundreds of steps), but in float32 a
pre-activation that lies within one rounding error of a ReLU kink can take the
other branch, after which the two runs differ by about ``lr * |gradient|``
(measured: 4 of 256 networks of the CPU benchmark, 128-128-20, 189 SGD steps,
differ by up to 7e-5 relative; the other 252 by 1e-7). Use float64 when
networks must match a solo run exactly; the geometry measured on an ensemble is
unaffected (a different but equally valid rounding of the same training run).

How it is fast
--------------
* Networks are grouped by the keys that fix tensor shapes and the update rule
  (hidden widths, batch size, optimizer, trainable readout, bias); inside a group
  the parameters are stacked, ``W_l: (E, H_out, H_in)``, and every layer is one
  ``bmm``. Everything else (learning rate, momentum, betas, eps, L1, L2, init,
  activation and its parameter, seed, data seed, dataset, epochs, tol) is
  per-network data: a Python float when it is the same for the whole chunk,
  else an ``(E, 1, 1)`` tensor. Activations may be mixed within a group: the
  networks of a chunk are ordered so that each activation is one contiguous block
  of rows, and each activation (and its derivative) is applied in place to its
  own block only (results are returned in input order). The optimizer is part of
  the group key, so every chunk has a single update rule.
* Forward and backward are written out by hand (no autograd graph), in a
  "column" layout ``(E, units, batch)`` so that weights ``(E, out, in)`` multiply
  from the left. Derivatives use torch's own backward kernels
  (``threshold_backward``, ``tanh_backward``, ``sigmoid_backward``) so they equal
  autograd's, kinks included.
* When all networks of a chunk see the same minibatch (same ``data_seed`` and
  ``dataset``), the batch is gathered once and the first layer of all networks is
  a single ``(E*H, D) @ (D, B)`` matrix product (and its gradient another one).
* Plain SGD without cumulative-gradient records never materialises the weight
  gradient: the update is fused into the gradient product
  (``W.addmm_(delta, x, alpha=-lr)``), and the L1/L2 penalties are applied as
  ``W = W * (1 - lr l2) - lr l1 sign(W)`` before it. The L1 term (a ``sign``
  pass and an update pass) runs only on the rows of networks with an L1 penalty
  on that layer (they are ordered into contiguous runs), for every optimizer.
* Every per-step intermediate (pre-activations, deltas, weight gradients, Adam's
  denominator) lives in a buffer allocated once per chunk. Adam uses torch's
  fused kernel (``torch._fused_adam_``, one pass over parameters, gradients and
  moments instead of seven), one call per distinct ``lr``/``betas``/``eps`` over
  the contiguous runs of rows that share them; with many distinct values on small
  networks it falls back to the per-network path, which folds per-network step
  sizes into the denominator (one ``addcdiv_`` per tensor). Measured by
  ``benchmarks/bench_grid_cpu.py`` against the previous algorithm, kept as
  ``_reference_algorithm=True``.
* Early-stopped or diverged networks are removed from the stacked tensors at the
  end of the epoch (their state is written out), so they cost nothing afterwards
  and can never touch the others. Per-network numbers never mix: every operation
  is row-wise in the network index, so a NaN in one network stays there.
* Groups larger than the memory budget (or ``max_chunk``) are split into chunks.

Conventions (initialisation draws, data order, penalties, readouts) are the ones
documented in :mod:`repgeom_lite.models`; both the engine and the reference use
them.

Records
-------
:class:`Records` chooses what is kept. Epoch ``0`` means "at initialisation,
before training" and epoch ``e`` "after epoch ``e``". A network that stopped
(early stop, divergence, or fewer ``epochs`` than others) keeps its final state,
so weights/probe responses recorded at later epochs repeat the final ones; its
``history`` is NaN after its stop epoch.

* ``probe``: hidden responses (post-activation, every hidden layer) to probe
  inputs, per network ``(n_probe_epochs, L, P, H)`` (a list of per-layer
  ``(n_probe_epochs, P, H_l)`` arrays when widths differ). ``probe_transform``, if
  given, is called on-device on each hidden layer's responses of a chunk,
  ``(E, P, H) -> (E, ...)``, and its output is stored instead (e.g. keep only an
  RDM). It must treat the networks (first axis) independently. Probe records
  keep the run's dtype (float32 by default); parameters are returned as float64.
* ``weight_epochs``: parameter dicts at those epochs.
* ``cumulative_grads``: per network, the sum over all optimizer steps of the
  gradient the optimizer received (task loss + penalties), for trained
  parameters only.
* ``history``: train/test loss (task loss only, no penalty; mean as in the
  training loss) and accuracy on the full sets, at init and after every epoch.
  Accuracy: ``"bce"``: mean over samples and outputs of ``(logit > 0) == (target > 0.5)``;
  ``"ce"``: ``argmax(logits) == label``; ``"mce"``: mean over samples and heads of
  ``argmax(head's logits) == head's label``. Loss ``"mce"``: sum over heads of the
  head's mean cross-entropy (as in training).

Early stopping and divergence
-----------------------------
After every epoch, a network whose parameters are not all finite is marked
``diverged`` and frozen; otherwise, when its ``tol`` is set and the largest
absolute change of any trained parameter over the epoch is below ``tol``, it is
frozen. ``stop_epoch`` is the number of epochs it trained.
"""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .device import describe_device, resolve_device
from .models import (
    NetConfig,
    epoch_permutations,
    head_slices,
    init_params,
    param_names,
    validate_configs,
)

__all__ = [
    "NetConfig",
    "TrainData",
    "Records",
    "EnsembleResult",
    "train_ensemble",
    "concat_results",
    "save_result",
    "load_result",
    "group_key",
    "log_epochs",
    "head_accuracy",
]

_HISTORY_KEYS = ("train_loss", "train_acc", "test_loss", "test_acc")
_CPU_BUDGET_BYTES = 2 * 2**30
_EVAL_BLOCK_ELEMS = 2**25


# ----------------------------------------------------------------------------- data


def _as_tensor(x: Any, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    try:
        return torch.as_tensor(np.asarray(x))
    except Exception as err:  # pragma: no cover - defensive
        raise ValueError(f"{name} must be an array; got {type(x).__name__}") from err


@dataclass(frozen=True, eq=False)
class TrainData:
    """Training (and optional test) data, one dataset or ``G`` stacked datasets.

    Parameters
    ----------
    X : array, ``(n, D)`` or ``(G, n, D)``
        Training inputs.
    Y : array
        ``"bce"`` targets: float ``(n, K)`` in [0, 1] (or ``(G, n, K)``);
        ``"ce"`` targets: integer class ids ``(n,)`` (or ``(G, n)``);
        ``"mce"`` targets (with ``heads``): integer class ids ``(n, h)`` (or ``(G, n, h)``),
        column ``j`` the class of head ``j``.
    X_test, Y_test : array, optional
        Test set, same layout (``n_test`` may differ from ``n``).
    n_classes : int, optional
        Number of classes for ``"ce"`` (default: largest label + 1).
    heads : sequence of int, optional
        Classes per head for the multi-head loss ``"mce"`` (e.g. ``(10, 10)``): the
        network has ``sum(heads)`` outputs, head ``j`` owns the next ``heads[j]`` of
        them and has its own softmax. ``n_classes`` is then ``sum(heads)``.

    After construction the arrays are CPU tensors with a leading dataset axis:
    ``X: (G, n, D)`` float64, ``Y: (G, n, K)`` float64, ``(G, n)`` or ``(G, n, h)`` int64.
    """

    X: Any
    Y: Any
    X_test: Any = None
    Y_test: Any = None
    n_classes: int | None = None
    heads: Any = None

    def __post_init__(self) -> None:
        X = _as_tensor(self.X, "X")
        Y = _as_tensor(self.Y, "Y")
        if X.ndim == 2:
            X = X.unsqueeze(0)
        if X.ndim != 3:
            raise ValueError(f"X must have shape (n, D) or (G, n, D); got {tuple(X.shape)}")
        if not torch.is_floating_point(X):
            X = X.to(torch.float64)
        X = X.to(torch.float64)
        G, n, D = X.shape
        if n < 1 or D < 1:
            raise ValueError(f"X must have at least one sample and one feature; got {tuple(X.shape)}")
        kind = "bce" if torch.is_floating_point(Y) else "ce"
        heads = self.heads
        if heads is not None:
            heads = self._check_heads(heads, Y, self.n_classes)
            kind = "mce"
        Y = self._check_targets(Y, kind, G, n, "Y", heads)
        n_classes = self.n_classes
        if kind == "mce":
            n_classes = sum(heads)
        elif kind == "ce":
            top = int(Y.max()) + 1
            if n_classes is None:
                n_classes = top
            elif not (isinstance(n_classes, int) and n_classes >= top and n_classes >= 1):
                raise ValueError(
                    f"n_classes must be an integer >= largest label + 1 = {top}; got {n_classes!r}"
                )
        elif n_classes is not None:
            raise ValueError("n_classes is only used with integer ('ce') targets; leave it None for float targets")
        Xt, Yt = self.X_test, self.Y_test
        if (Xt is None) != (Yt is None):
            raise ValueError("X_test and Y_test must be given together (or both None)")
        if Xt is not None:
            Xt = _as_tensor(Xt, "X_test").to(torch.float64)
            if Xt.ndim == 2:
                Xt = Xt.unsqueeze(0)
            if Xt.ndim != 3 or Xt.shape[0] != G or Xt.shape[2] != D or Xt.shape[1] < 1:
                raise ValueError(
                    f"X_test must have shape (n_test, {D}) or ({G}, n_test, {D}); got {tuple(Xt.shape)}"
                )
            Yt = _as_tensor(Yt, "Y_test")
            if torch.is_floating_point(Yt) != (kind == "bce"):
                raise ValueError("Y_test must have the same kind as Y (float targets for bce, integer ids for ce)")
            Yt = self._check_targets(Yt, kind, G, Xt.shape[1], "Y_test", heads)
            if kind == "bce" and Yt.shape[-1] != Y.shape[-1]:
                raise ValueError(f"Y_test must have K = {Y.shape[-1]} outputs; got {Yt.shape[-1]}")
            if kind == "ce" and int(Yt.max()) >= n_classes:
                raise ValueError(f"Y_test labels must be < n_classes = {n_classes}; got {int(Yt.max())}")
        for name, value in (("X", X), ("X_test", Xt)):
            if value is not None and not bool(torch.isfinite(value).all()):
                raise ValueError(f"{name} contains NaN or inf")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "Y", Y)
        object.__setattr__(self, "X_test", Xt)
        object.__setattr__(self, "Y_test", Yt)
        object.__setattr__(self, "n_classes", n_classes)
        object.__setattr__(self, "heads", heads)

    @staticmethod
    def _check_heads(heads, Y: torch.Tensor, n_classes) -> tuple[int, ...]:
        if isinstance(heads, (str, bytes)) or not hasattr(heads, "__len__") or len(heads) < 1 or not all(
                isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1 for h in heads):
            raise ValueError(f"heads must be a non-empty list of class counts >= 1, e.g. (10, 10); got {heads!r}")
        if torch.is_floating_point(Y):
            raise ValueError("heads needs integer class ids Y of shape (n, len(heads)); got float targets")
        if n_classes is not None:
            raise ValueError("give either n_classes (one softmax) or heads (one softmax per head), not both")
        return tuple(int(h) for h in heads)

    @staticmethod
    def _check_targets(Y: torch.Tensor, kind: str, G: int, n: int, name: str, heads=None) -> torch.Tensor:
        if kind == "mce":
            h = len(heads)
            if Y.dtype == torch.bool:
                raise ValueError(f"{name}: class ids must be integers, not bool")
            if Y.ndim == 2:
                Y = Y.unsqueeze(0)
            if Y.ndim != 3 or Y.shape[0] != G or Y.shape[1] != n or Y.shape[2] != h:
                raise ValueError(f"{name} must have shape ({n}, {h}) or ({G}, {n}, {h}) for {h} heads; "
                                 f"got {tuple(Y.shape)}")
            Y = Y.to(torch.int64)
            top = torch.as_tensor(heads)
            if int(Y.min()) < 0 or bool((Y >= top).any()):
                raise ValueError(f"{name}: class ids of head j must lie in 0..heads[j] - 1 (heads = {heads})")
            return Y
        if kind == "bce":
            if Y.ndim == 1:
                raise ValueError(
                    f"{name}: float targets need shape (n, K) (use Y[:, None] for one output), "
                    f"integer class ids shape (n,); got {tuple(Y.shape)}"
                )
            if Y.ndim == 2:
                Y = Y.unsqueeze(0)
            if Y.ndim != 3 or Y.shape[0] != G or Y.shape[1] != n:
                raise ValueError(f"{name} must have shape ({n}, K) or ({G}, {n}, K); got {tuple(Y.shape)}")
            Y = Y.to(torch.float64)
            if not bool(((Y >= 0) & (Y <= 1)).all()):
                raise ValueError(f"{name}: bce targets must lie in [0, 1]")
            return Y
        if Y.dtype == torch.bool:
            raise ValueError(f"{name}: class ids must be integers, not bool")
        if Y.ndim == 1:
            Y = Y.unsqueeze(0)
        if Y.ndim != 2 or Y.shape[0] != G or Y.shape[1] != n:
            raise ValueError(f"{name} must have shape ({n},) or ({G}, {n}); got {tuple(Y.shape)}")
        Y = Y.to(torch.int64)
        if int(Y.min()) < 0:
            raise ValueError(f"{name}: class ids must be >= 0")
        return Y

    @property
    def n_datasets(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_inputs(self) -> int:
        return int(self.X.shape[2])

    @property
    def loss(self) -> str:
        """``"bce"`` for float targets, ``"ce"`` for class ids, ``"mce"`` for class ids per head."""
        if self.heads is not None:
            return "mce"
        return "bce" if torch.is_floating_point(self.Y) else "ce"

    @property
    def n_outputs(self) -> int:
        return int(self.Y.shape[-1]) if self.loss == "bce" else int(self.n_classes)

    def targets_onehot(self, test: bool = False) -> torch.Tensor:
        """Targets as float ``(G, n, K)`` (one-hot for class ids; heads side by side for ``"mce"``)."""
        Y = self.Y_test if test else self.Y
        if self.loss == "bce":
            return Y
        if self.loss == "mce":
            return torch.cat([torch.nn.functional.one_hot(Y[..., j], h) for j, h in enumerate(self.heads)],
                             dim=-1).to(torch.float64)
        return torch.nn.functional.one_hot(Y, self.n_outputs).to(torch.float64)


def _check_epochs(name: str, value: Any) -> tuple[int, ...]:
    try:
        epochs = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of epochs >= 0; got {value!r}") from None
    if not all(isinstance(e, (int, np.integer)) and not isinstance(e, bool) and e >= 0 for e in epochs):
        raise ValueError(f"{name} must contain integers >= 0 (0 = at init); got {value!r}")
    epochs = tuple(int(e) for e in epochs)
    if list(epochs) != sorted(set(epochs)):
        raise ValueError(f"{name} must be strictly increasing; got {value!r}")
    return epochs


@dataclass(frozen=True, eq=False)
class Records:
    """What to record during training (everything optional and free when off).

    Parameters
    ----------
    probe : array, ``(P, D)`` or ``(G, P, D)``, optional
        Inputs whose hidden responses are recorded (per dataset when 3-D).
    probe_epochs : sequence of int
        Epochs at which to record them (0 = at init; strictly increasing).
    probe_transform : callable, optional
        Applied on-device to each hidden layer's responses of a chunk,
        ``(E, P, H) -> (E, ...)``, before storing. Must act on each network
        (first axis) independently.
    weight_epochs : sequence of int
        Epochs at which to keep a copy of every parameter.
    cumulative_grads : bool
        Keep the sum over steps of each trained parameter's gradient.
    history : bool
        Train/test loss and accuracy at init and after every epoch.
    """

    probe: Any = None
    probe_epochs: Sequence[int] = ()
    probe_transform: Callable[[torch.Tensor], torch.Tensor] | None = None
    weight_epochs: Sequence[int] = ()
    cumulative_grads: bool = False
    history: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "probe_epochs", _check_epochs("probe_epochs", self.probe_epochs))
        object.__setattr__(self, "weight_epochs", _check_epochs("weight_epochs", self.weight_epochs))
        if self.probe is not None:
            P = _as_tensor(self.probe, "probe").to(torch.float64)
            if P.ndim == 2:
                P = P.unsqueeze(0)
            if P.ndim != 3 or P.shape[1] < 1:
                raise ValueError(f"probe must have shape (P, D) or (G, P, D); got {tuple(P.shape)}")
            n_bad = int((~torch.isfinite(P)).sum())
            if n_bad:
                raise ValueError(f"probe contains NaN or inf ({n_bad} entries); give finite probe inputs")
            object.__setattr__(self, "probe", P)
        if self.probe_epochs and self.probe is None:
            raise ValueError("probe_epochs is set but probe is None; give probe inputs (P, D)")
        if self.probe_transform is not None and not callable(self.probe_transform):
            raise ValueError("probe_transform must be callable (E, P, H) -> (E, ...) or None")
        for name in ("cumulative_grads", "history"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False; got {getattr(self, name)!r}")


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class EnsembleResult:
    """Trained ensemble, NumPy arrays, networks in input order.

    Attributes
    ----------
    configs : list of NetConfig
    params : list of dict
        Per network ``{"W0": (H_1, D), "b0": (H_1,), ..., "W{L}": (K, H_L), "b{L}": (K,)}``.
    history : dict
        ``train_loss, train_acc, test_loss, test_acc`` of shape ``(E, T + 1)``
        (``T`` = largest ``epochs``); NaN after a network's stop epoch and for
        test metrics without test data. Empty when not recorded.
    stop_epoch : ndarray, ``(E,)`` int
        Epochs each network actually trained.
    diverged : ndarray, ``(E,)`` bool
    probe : list or None
        Per network ``(n_probe_epochs, L, P, H)`` (list of per-layer arrays when
        widths differ; transform output when a transform was given).
    probe_epochs, weight_epochs : tuple of int
    weights_at : list or None
        Per network, a list (one per weight epoch) of params dicts.
    cumulative_grads : list or None
        Per network dict of summed gradients of the trained parameters.
    ids : ndarray, ``(E,)`` int
        Identifier of each network (position in the input list, or grid index).
    device : str
    wall_time_s : float
    """

    configs: list
    params: list
    history: dict
    stop_epoch: np.ndarray
    diverged: np.ndarray
    probe: list | None = None
    probe_epochs: tuple = ()
    weights_at: list | None = None
    weight_epochs: tuple = ()
    cumulative_grads: list | None = None
    ids: np.ndarray | None = None
    device: str = ""
    wall_time_s: float = float("nan")

    def __len__(self) -> int:
        return len(self.configs)

    def stack(self, name: str) -> np.ndarray:
        """Stack one parameter (``"W0"``, ``"b1"``, ...) or ``"probe"`` over networks -> ``(E, ...)``.

        Raises
        ------
        ValueError
            Unknown name, or shapes that differ between networks.
        """
        if name == "probe":
            if self.probe is None:
                raise ValueError("no probe responses were recorded (Records.probe_epochs is empty)")
            items = self.probe
        else:
            missing = [i for i, p in enumerate(self.params) if name not in p]
            if missing:
                valid = sorted(set().union(*(p.keys() for p in self.params)))
                raise ValueError(
                    f"parameter {name!r} is missing in network(s) {missing[:5]}; valid names: {valid} or 'probe'"
                )
            items = [p[name] for p in self.params]
        if any(isinstance(a, list) for a in items):
            raise ValueError(f"{name}: per-layer widths differ within a network; stack per layer instead")
        shapes = {np.shape(a) for a in items}
        if len(shapes) != 1:
            raise ValueError(f"{name} has different shapes across networks: {sorted(shapes)}")
        return np.stack(items)

    def subset(self, indices: Sequence[int] | np.ndarray) -> "EnsembleResult":
        """The result restricted to the networks at ``indices`` (positions, or a boolean mask)."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"boolean indices must have shape ({len(self)},); got {idx.shape}")
            idx = np.flatnonzero(idx)
        idx = idx.astype(int).ravel()
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise ValueError(f"indices must be in [0, {len(self)}); got min {idx.min()}, max {idx.max()}")

        def pick(seq):
            return None if seq is None else [seq[i] for i in idx]

        return EnsembleResult(
            configs=pick(self.configs),
            params=pick(self.params),
            history={k: v[idx] for k, v in self.history.items()},
            stop_epoch=self.stop_epoch[idx],
            diverged=self.diverged[idx],
            probe=pick(self.probe),
            probe_epochs=self.probe_epochs,
            weights_at=pick(self.weights_at),
            weight_epochs=self.weight_epochs,
            cumulative_grads=pick(self.cumulative_grads),
            ids=self._ids()[idx],
            device=self.device,
            wall_time_s=self.wall_time_s,
        )

    def _ids(self) -> np.ndarray:
        return np.arange(len(self)) if self.ids is None else np.asarray(self.ids)

    def __repr__(self) -> str:
        return (
            f"EnsembleResult({len(self)} networks, stopped early {int((self.stop_epoch < [c.epochs for c in self.configs]).sum()) if len(self) else 0}, "
            f"diverged {int(self.diverged.sum())}, device={self.device!r}, wall_time_s={self.wall_time_s:.3g})"
        )


def concat_results(results: Sequence[EnsembleResult]) -> EnsembleResult:
    """Concatenate results (histories are NaN-padded to the longest)."""
    results = list(results)
    if not results:
        raise ValueError("results must contain at least one EnsembleResult")
    first = results[0]
    for r in results[1:]:
        if r.probe_epochs != first.probe_epochs or r.weight_epochs != first.weight_epochs:
            raise ValueError("results record different probe_epochs/weight_epochs and cannot be concatenated")
    keys = [set(r.history) for r in results]
    hist_keys = sorted(set.intersection(*keys)) if keys else []
    history = {}
    for k in hist_keys:
        width = max(r.history[k].shape[1] for r in results)
        parts = []
        for r in results:
            h = r.history[k]
            pad = np.full((h.shape[0], width - h.shape[1]), np.nan)
            parts.append(np.concatenate([h, pad], axis=1))
        history[k] = np.concatenate(parts)

    def cat(attr):
        vals = [getattr(r, attr) for r in results]
        if any(v is None for v in vals):
            return None
        return [x for v in vals for x in v]

    return EnsembleResult(
        configs=[c for r in results for c in r.configs],
        params=[p for r in results for p in r.params],
        history=history,
        stop_epoch=np.concatenate([r.stop_epoch for r in results]),
        diverged=np.concatenate([r.diverged for r in results]),
        probe=cat("probe"),
        probe_epochs=first.probe_epochs,
        weights_at=cat("weights_at"),
        weight_epochs=first.weight_epochs,
        cumulative_grads=cat("cumulative_grads"),
        ids=np.concatenate([r._ids() for r in results]),
        device=first.device,
        wall_time_s=float(sum(r.wall_time_s for r in results)),
    )


# ---- (de)serialisation: one .npz per result, ragged arrays flattened ------------


def _pack_ragged(out: dict, key: str, arrays: list) -> None:
    present = [a for a in arrays if a is not None]
    ndim = max((np.ndim(a) for a in present), default=0)
    shapes = np.full((len(arrays), ndim), -1, dtype=np.int64)
    flat = []
    for i, a in enumerate(arrays):
        if a is None:
            continue
        a = np.asarray(a)
        shapes[i] = a.shape
        flat.append(a.ravel())
    out[f"{key}::shapes"] = shapes
    out[f"{key}::data"] = np.concatenate(flat) if flat else np.zeros(0)


def _unpack_ragged(src, key: str) -> list:
    shapes = src[f"{key}::shapes"]
    data = src[f"{key}::data"]
    out, pos = [], 0
    for shape in shapes:
        if shape.size and shape[0] < 0:
            out.append(None)
            continue
        size = int(np.prod(shape)) if shape.size else 1
        out.append(data[pos : pos + size].reshape(tuple(int(s) for s in shape)))
        pos += size
    return out


def _result_to_arrays(result: EnsembleResult) -> tuple[dict, dict]:
    arrays: dict[str, np.ndarray] = {}
    names = sorted(set().union(*(p.keys() for p in result.params))) if result.params else []
    for name in names:
        _pack_ragged(arrays, f"params/{name}", [p.get(name) for p in result.params])
    for k, v in result.history.items():
        arrays[f"history/{k}"] = v
    arrays["stop_epoch"] = result.stop_epoch
    arrays["diverged"] = result.diverged
    arrays["ids"] = result._ids()
    meta: dict[str, Any] = {
        "configs": [c.to_dict() for c in result.configs],
        "probe_epochs": list(result.probe_epochs),
        "weight_epochs": list(result.weight_epochs),
        "device": result.device,
        "wall_time_s": result.wall_time_s,
        "param_names": names,
        "probe_layout": None,
    }
    if result.probe is not None:
        is_list = [isinstance(p, list) for p in result.probe]
        meta["probe_layout"] = "list" if any(is_list) else "array"
        if any(is_list):
            n_layers = max(len(p) for p in result.probe)
            for layer in range(n_layers):
                _pack_ragged(arrays, f"probe/{layer}",
                             [p[layer] if layer < len(p) else None for p in result.probe])
            meta["probe_n_layers"] = n_layers
        else:
            _pack_ragged(arrays, "probe", list(result.probe))
    if result.weights_at is not None:
        for r in range(len(result.weight_epochs)):
            for name in names:
                _pack_ragged(arrays, f"weights_at/{r}/{name}",
                             [w[r].get(name) for w in result.weights_at])
    if result.cumulative_grads is not None:
        gnames = sorted(set().union(*(g.keys() for g in result.cumulative_grads)))
        meta["grad_names"] = gnames
        for name in gnames:
            _pack_ragged(arrays, f"cumulative_grads/{name}", [g.get(name) for g in result.cumulative_grads])
    return arrays, meta


def _result_from_arrays(src, meta: dict) -> EnsembleResult:
    configs = [NetConfig(**d) for d in meta["configs"]]
    E = len(configs)
    params = [dict() for _ in range(E)]
    for name in meta["param_names"]:
        for i, a in enumerate(_unpack_ragged(src, f"params/{name}")):
            if a is not None:
                params[i][name] = a
    history = {k.split("/", 1)[1]: src[k] for k in src.files if k.startswith("history/")}
    probe = None
    if meta.get("probe_layout") == "array":
        probe = _unpack_ragged(src, "probe")
    elif meta.get("probe_layout") == "list":
        layers = [_unpack_ragged(src, f"probe/{layer}") for layer in range(meta["probe_n_layers"])]
        probe = [[layers[layer][i] for layer in range(len(layers)) if layers[layer][i] is not None]
                 for i in range(E)]
    weights_at = None
    if any(k.startswith("weights_at/") for k in src.files):
        weights_at = [[dict() for _ in meta["weight_epochs"]] for _ in range(E)]
        for r in range(len(meta["weight_epochs"])):
            for name in meta["param_names"]:
                for i, a in enumerate(_unpack_ragged(src, f"weights_at/{r}/{name}")):
                    if a is not None:
                        weights_at[i][r][name] = a
    cum = None
    if "grad_names" in meta:
        cum = [dict() for _ in range(E)]
        for name in meta["grad_names"]:
            for i, a in enumerate(_unpack_ragged(src, f"cumulative_grads/{name}")):
                if a is not None:
                    cum[i][name] = a
    return EnsembleResult(
        configs=configs,
        params=params,
        history=history,
        stop_epoch=src["stop_epoch"],
        diverged=src["diverged"],
        probe=probe,
        probe_epochs=tuple(meta["probe_epochs"]),
        weights_at=weights_at,
        weight_epochs=tuple(meta["weight_epochs"]),
        cumulative_grads=cum,
        ids=src["ids"],
        device=meta.get("device", ""),
        wall_time_s=float(meta.get("wall_time_s", float("nan"))),
    )


def save_result(result: EnsembleResult, path: str | os.PathLike, extra_meta: dict | None = None) -> None:
    """Write ``result`` to one ``.npz`` file atomically (temporary file + rename).

    ``extra_meta`` (JSON-serialisable) is stored alongside and returned by
    :func:`load_result` with ``return_meta=True``.
    """
    import json
    from pathlib import Path

    from .io import _atomic_write  # the package's one atomic writer (temporary file, 0644, rename)

    arrays, meta = _result_to_arrays(result)
    meta["extra"] = extra_meta or {}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    _atomic_write(Path(os.path.abspath(path)), lambda fh: np.savez(fh, **arrays), "wb")


def load_result(path: str | os.PathLike, return_meta: bool = False):
    """Read a result written by :func:`save_result` (``(result, extra_meta)`` with ``return_meta``)."""
    import json

    with np.load(path, allow_pickle=False) as src:
        meta = json.loads(src["__meta__"].tobytes().decode("utf-8"))
        loaded = {k: src[k] for k in src.files}

    class _Src(dict):
        @property
        def files(self):
            return list(self.keys())

    result = _result_from_arrays(_Src(loaded), meta)
    return (result, meta.get("extra", {})) if return_meta else result


# ----------------------------------------------------------------------------- engine internals


def group_key(config: NetConfig) -> tuple:
    """Networks with equal keys are trained stacked together (shapes and update rule agree)."""
    return (config.hidden, config.batch_size, config.optimizer, config.readout_trainable, config.bias, config.loss)


def _per_net(values, device, dtype) -> float | torch.Tensor:
    """A Python float when all networks agree, else an ``(E, 1, 1)`` tensor."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size and np.all(arr == arr[0]):
        return float(arr[0])
    return torch.as_tensor(arr, dtype=dtype, device=device).view(-1, 1, 1)


#: order of the activation blocks inside a chunk (see :func:`_block_order`)
_ACT_BLOCK_ORDER = {"relu": 0, "tanh": 1, "sigmoid": 2, "linear": 3, "clipped_relu": 4, "shifted_relu": 5}


def _block_order(configs: list[NetConfig], members: list[int]) -> list[int]:
    """``members`` reordered so that each activation is one contiguous run of rows.

    Inside each activation block the networks with an L1 penalty come after
    those without (per layer, so the penalty's ``sign`` pass runs only on their
    rows, see :func:`_penalty_runs`), and then by their Adam hyperparameters
    (``lr``, ``betas``, ``eps``), so that networks sharing them are contiguous runs
    too (few views per fused Adam call, see :func:`_adam_runs`). Results are
    scattered back by network index, so the order inside a chunk is free; the
    stable sort keeps the data-stream order within each run.
    """
    def key(i):
        c = configs[i]
        l1 = tuple(c.l1 > 0 and l in c.l1_layers for l in range(c.n_layers + 1))
        return (_ACT_BLOCK_ORDER[c.activation], l1, c.lr, tuple(c.betas), c.eps)

    return sorted(members, key=key)


def _row_runs(cols: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    """Maximal runs ``(start, end)`` of consecutive rows on which every column of ``cols`` is constant."""
    E = len(cols[0])
    runs, s = [], 0
    for e in range(1, E + 1):
        if e == E or any(c[e] != c[s] for c in cols):
            runs.append((s, e))
            s = e
    return runs


def _penalty_runs(coefs: Sequence[np.ndarray], device, dtype) -> list[tuple]:
    """Maximal runs of consecutive rows where ``coefs[0]`` is not zero: ``(start, end, c_0, c_1, ...)``.

    Each ``c_j`` is ``coefs[j]`` on the run, a float when it is the same for the
    whole run, else an ``(end - start, 1, 1)`` tensor (:func:`_per_net`). Rows
    outside the runs would add ``0 * sign(W)``: skipping them changes nothing.
    """
    nz = coefs[0] != 0
    return [(s, e, *(_per_net(c[s:e], device, dtype) for c in coefs)) for s, e in _row_runs([nz]) if nz[s]]


#: Fused Adam is used when a chunk's rows have at most ``max(_ADAM_MIN_CALLS,
#: n_params // _ADAM_PARAMS_PER_CALL)`` distinct ``(lr, betas, eps)`` (one
#: ``torch._fused_adam_`` call each). A call costs about 4 us of dispatch on the
#: 2-core CPU (plus about 0.35 us per run of rows in it) and saves about 0.9 ns per
#: parameter against the seven-pass update (measured on the chapter-3 grid's
#: shapes, float32, 1 thread): with fewer than ~4000 parameters per call the
#: per-network path is as fast.
_ADAM_MIN_CALLS = 4
_ADAM_PARAMS_PER_CALL = 4096


def _fused_adam_available(device, dtype) -> bool:
    """Whether this torch has a fused Adam kernel for ``device`` and ``dtype`` (on the CPU: torch >= 2.4).

    Tried on one-element tensors (microseconds) rather than read off the version,
    so builds without the kernel fall back to the per-network path.
    """
    fn = getattr(torch, "_fused_adam_", None)
    if fn is None:
        return False
    p, g, m, v = (torch.zeros(1, device=device, dtype=dtype) for _ in range(4))
    step = torch.ones((), device=device, dtype=torch.float32)
    try:
        fn([p], [g], [m], [v], [], [step], lr=0.0, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8,
           amsgrad=False, maximize=False)
    except (RuntimeError, NotImplementedError):
        return False
    return True


def _adam_runs(np_hp: dict) -> list[tuple[int, int, float, float, float, float]]:
    """Maximal runs of consecutive rows with equal ``(lr, beta1, beta2, eps)``: ``(start, end, lr, b1, b2, eps)``."""
    cols = [np_hp[k] for k in ("lr", "beta1", "beta2", "eps")]
    return [(s, e, *(float(c[s]) for c in cols)) for s, e in _row_runs(cols)]


class _Activation:
    """Stacked activation, evaluated block by block on contiguous runs of rows.

    The networks of a chunk are ordered by activation (:func:`_block_order`), so
    every activation is applied only to its own networks, in place on a slice of
    the stacked pre-activations (no evaluation of every activation on every
    network and no ``torch.where`` merge). Any row order still works (one block
    per run). Backward uses torch's own kernels (``threshold_backward``,
    ``tanh_backward``, ``sigmoid_backward``, ``hardtanh_backward``) on the saved
    responses, so derivatives equal autograd's, kinks included:

    * relu, shifted relu ``relu(a + s)``: ``threshold_backward(dz, z, 0)``
      (``z > 0`` iff ``a + s > 0``);
    * clipped relu ``min(max(a, 0), u)``: gradient where ``0 < z < u`` (the same
      open interval as ``hardtanh_backward`` on ``a``);
    * linear: identity.
    """

    def __init__(self, configs: list[NetConfig], device, dtype):
        self.device, self.dtype = device, dtype
        # float32 tanh on the CPU through NumPy (see forward_)
        self._numpy_tanh = torch.device(device).type == "cpu" and dtype == torch.float32
        self._kind = np.array([c.activation for c in configs])
        self._param = np.array([c.resolved_act_param if c.resolved_act_param is not None else 0.0
                                for c in configs], dtype=np.float64)
        self._build()

    def _build(self) -> None:
        kind, E = self._kind, len(self._kind)
        self.blocks = []
        s = 0
        for e in range(1, E + 1):
            if e == E or kind[e] != kind[s]:
                p = _per_net(self._param[s:e], self.device, self.dtype)
                self.blocks.append((str(kind[s]), s, e, p, s == 0 and e == E))
                s = e

    def select(self, keep: np.ndarray) -> None:
        self._kind, self._param = self._kind[keep], self._param[keep]
        self._build()

    def forward_(self, a: torch.Tensor) -> torch.Tensor:
        """Responses ``z = f(a)``, written into ``a``; ``z`` is what backward needs."""
        for kind, s, e, p, whole in self.blocks:
            x = a if whole else a[s:e]
            if kind == "relu":
                x.relu_()
            elif kind == "tanh":
                if self._numpy_tanh and x.is_contiguous():
                    # torch's float32 CPU tanh (SLEEF, 0.5 ulp) costs 2.9 ns per element here, six
                    # times its sigmoid and ~5 % of a chapter-3 grid run; NumPy's vectorised
                    # tanh (1.4 ulp at most, measured) costs 0.4 ns. The rounding difference
                    # is far below float32's engine-vs-solo tolerance (module note); float64
                    # and CUDA keep torch's kernel.
                    xn = x.numpy()
                    np.tanh(xn, out=xn)
                else:
                    x.tanh_()
            elif kind == "sigmoid":
                x.sigmoid_()
            elif kind == "clipped_relu":
                x.relu_()
                x.clamp_(max=p) if isinstance(p, float) else torch.minimum(x, p, out=x)
            elif kind == "shifted_relu":
                x.add_(p).relu_()
            # linear: nothing to do
        return a

    def backward_(self, dz: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``dL/da`` from ``dL/dz`` and the saved responses, written into ``dz``."""
        aten = torch.ops.aten
        for kind, s, e, p, whole in self.blocks:
            g, zz = (dz, z) if whole else (dz[s:e], z[s:e])
            if kind in ("relu", "shifted_relu"):
                aten.threshold_backward.grad_input(g, zz, 0, grad_input=g)
            elif kind == "tanh":
                aten.tanh_backward.grad_input(g, zz, grad_input=g)
            elif kind == "sigmoid":
                aten.sigmoid_backward.grad_input(g, zz, grad_input=g)
            elif kind == "clipped_relu":
                if isinstance(p, float):
                    aten.hardtanh_backward.grad_input(g, zz, 0.0, p, grad_input=g)
                else:
                    g.masked_fill_((zz <= 0) | (zz >= p), 0.0)
        return dz


class _MergedActivation:
    """Reference algorithm (benchmark baseline only): every activation on every network, merged with ``torch.where``.

    Stacked activation with per-network kind and parameter.

    Kinds: piecewise-linear ``clamp(a + s, lo, hi)`` (relu: s=0, lo=0, hi=inf;
    clipped: hi=u; shifted: s; linear: lo=-inf), ``tanh`` and ``sigmoid``.
    """

    def __init__(self, configs: list[NetConfig], device, dtype):
        self.device, self.dtype = device, dtype
        fam = []
        s, lo, hi = [], [], []
        for c in configs:
            a = c.activation
            fam.append({"tanh": 1, "sigmoid": 2}.get(a, 0))
            p = c.resolved_act_param
            s.append(p if a == "shifted_relu" else 0.0)
            lo.append(-math.inf if a == "linear" else 0.0)
            hi.append(p if a == "clipped_relu" else math.inf)
        self._fam = np.asarray(fam)
        self._s, self._lo, self._hi = np.asarray(s), np.asarray(lo), np.asarray(hi)
        self._build()

    def _build(self) -> None:
        fam = self._fam
        self.families = sorted(set(fam.tolist()))
        dev, dt = self.device, self.dtype
        self.pure_relu = self.families == [0] and np.all(self._s == 0) and np.all(self._lo == 0) and np.all(
            np.isinf(self._hi)
        )
        pl = fam == 0
        if pl.any():
            # only the piecewise-linear networks' values matter; fill the others neutrally
            s = np.where(pl, self._s, 0.0)
            lo = np.where(pl, self._lo, 0.0)
            hi = np.where(pl, self._hi, math.inf)
            self.s = _per_net(s, dev, dt)
            self.lo = _per_net(lo, dev, dt)
            self.hi = _per_net(hi, dev, dt)
        self.masks = {
            f: torch.as_tensor(fam == f, device=dev).view(-1, 1, 1) for f in self.families
        } if len(self.families) > 1 else {}

    def select(self, keep: np.ndarray) -> None:
        self._fam, self._s, self._lo, self._hi = (x[keep] for x in (self._fam, self._s, self._lo, self._hi))
        self._build()

    # z = f(a) and what backward needs
    def _pl(self, a):
        u = a if (isinstance(self.s, float) and self.s == 0.0) else a + self.s
        if isinstance(self.lo, float) and isinstance(self.hi, float):
            lo = None if self.lo == -math.inf else self.lo
            hi = None if self.hi == math.inf else self.hi
            z = u if lo is None and hi is None else torch.clamp(u, min=lo, max=hi)
        else:
            lo = self.lo if isinstance(self.lo, torch.Tensor) else torch.full((1, 1, 1), self.lo, device=a.device, dtype=a.dtype)
            hi = self.hi if isinstance(self.hi, torch.Tensor) else torch.full((1, 1, 1), self.hi, device=a.device, dtype=a.dtype)
            z = torch.clamp(u, min=lo, max=hi)
        return z, u

    def _pl_back(self, dz, u):
        mask = (u > self.lo) & (u < self.hi)
        return dz.mul_(mask)

    def forward(self, a: torch.Tensor):
        if self.pure_relu:
            z = torch.relu(a)
            return z, z
        if len(self.families) == 1:
            f = self.families[0]
            if f == 1:
                z = torch.tanh(a)
                return z, z
            if f == 2:
                z = torch.sigmoid(a)
                return z, z
            return self._pl(a)
        z = None
        saved = {}
        for f in self.families:
            if f == 0:
                zf, u = self._pl(a)
                saved["u"] = u
            elif f == 1:
                zf = torch.tanh(a)
            else:
                zf = torch.sigmoid(a)
            z = zf if z is None else torch.where(self.masks[f], zf, z)
        saved["z"] = z
        return z, saved

    def backward(self, dz: torch.Tensor, saved) -> torch.Tensor:
        if self.pure_relu:
            return torch.ops.aten.threshold_backward(dz, saved, 0)
        if len(self.families) == 1:
            f = self.families[0]
            if f == 1:
                return torch.ops.aten.tanh_backward(dz, saved)
            if f == 2:
                return torch.ops.aten.sigmoid_backward(dz, saved)
            return self._pl_back(dz, saved)
        z = saved["z"]
        out = None
        for f in self.families:
            if f == 0:
                df = self._pl_back(dz.clone(), saved["u"])
            elif f == 1:
                df = torch.ops.aten.tanh_backward(dz, z)
            else:
                df = torch.ops.aten.sigmoid_backward(dz, z)
            out = df if out is None else torch.where(self.masks[f], df, out)
        return out


def _rows_finite(p: torch.Tensor) -> torch.Tensor:
    """Per row (network) of ``p``, whether all its entries are finite: ``(E,)`` bool.

    A row whose sum is finite has only finite entries (an infinite or NaN entry
    makes the sum infinite or NaN), so one summing pass settles almost every row;
    rows whose sum is not finite (a non-finite entry, or a float overflow of the
    sum) get the exact ``isfinite`` test. ``torch.isfinite(p)`` on the whole stack
    allocates two stack-sized temporaries (``abs`` and the comparisons), which cost
    about 3 ms per epoch for a 96-network, 64-unit chunk on the 2-core CPU.
    """
    ok = torch.isfinite(p.flatten(1).sum(1))
    if not bool(ok.all()):
        bad = (~ok).nonzero().flatten()
        ok[bad] = _rows_finite_exact(p[bad])
    return ok


def _rows_finite_exact(p: torch.Tensor) -> torch.Tensor:
    """:func:`_rows_finite` entry by entry (the reference algorithm's check): ``(E,)`` bool."""
    return torch.isfinite(p).flatten(1).all(1)


class _DeviceData:
    """Training data on the device, flattened for row gathers."""

    def __init__(self, data: TrainData, records: Records, device, dtype):
        G, n, D = data.X.shape
        self.G, self.n, self.D, self.K = G, n, D, data.n_outputs
        self.loss = data.loss
        self.X = data.X.to(device=device, dtype=dtype)  # (G, n, D)
        self.X_flat = self.X.reshape(G * n, D)
        self.Y = data.targets_onehot().to(device=device, dtype=dtype)  # (G, n, K)
        self.Y_flat = self.Y.reshape(G * n, self.K)
        self.heads = data.heads
        self.labels = data.Y.to(device) if self.loss != "bce" else None
        self.has_test = data.X_test is not None
        if self.has_test:
            self.X_test = data.X_test.to(device=device, dtype=dtype)
            self.Y_test = data.targets_onehot(test=True).to(device=device, dtype=dtype)
            self.labels_test = data.Y_test.to(device) if self.loss != "bce" else None
        self.probe = None
        if records.probe is not None:
            P = records.probe
            if P.shape[-1] != D:
                raise ValueError(f"probe must have D = {D} features like X; got {P.shape[-1]}")
            if P.shape[0] not in (1, G):
                raise ValueError(f"probe must have 1 or G = {G} datasets on its first axis; got {P.shape[0]}")
            self.probe = P.to(device=device, dtype=dtype)


def _bytes_per_net(config: NetConfig, D: int, K: int, records: Records, shared: bool, itemsize: int) -> int:
    sizes = [D, *config.hidden, K]
    n_par = sum(sizes[i + 1] * sizes[i] + sizes[i + 1] for i in range(len(sizes) - 1))
    copies = 2 + {"sgd": 0, "momentum": 1, "adam": 2}[config.optimizer]
    copies += (config.tol is not None) + records.cumulative_grads + bool(records.weight_epochs)
    B = config.batch_size
    act = B * ((0 if shared else D) + 4 * sum(config.hidden) + 4 * K)
    return (copies * n_par + act) * itemsize


def _memory_budget(device: torch.device) -> int:
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(0.5 * free)
    return _CPU_BUDGET_BYTES


def _plan_chunks(configs: list[NetConfig], data: TrainData, records: Records, device, dtype,
                 max_chunk: int | None) -> list[list[int]]:
    """Group networks by :func:`group_key`, order each group by data stream, cut into chunks."""
    groups: "OrderedDict[tuple, list[int]]" = OrderedDict()
    for i, c in enumerate(configs):
        groups.setdefault(group_key(c), []).append(i)
    budget = None if max_chunk is not None else _memory_budget(device)
    itemsize = torch.empty((), dtype=dtype).element_size()
    chunks = []
    for members in groups.values():
        members = sorted(members, key=lambda i: (configs[i].dataset, configs[i].resolved_data_seed, i))
        if max_chunk is not None:
            cap = max_chunk
        else:
            streams = {(configs[i].dataset, configs[i].resolved_data_seed) for i in members}
            per = max(_bytes_per_net(configs[i], data.n_inputs, data.n_outputs, records,
                                     len(streams) == 1, itemsize) for i in members)
            cap = max(1, budget // per)
        n_chunks = math.ceil(len(members) / cap)
        size = math.ceil(len(members) / n_chunks)  # balanced chunk sizes
        chunks.extend(members[k : k + size] for k in range(0, len(members), size))
    return chunks


class _Chunk:
    """One stacked group of networks, trained together."""

    _act_cls = _Activation
    #: whether Adam may use torch's fused kernel (:meth:`_fused_adam`); the reference algorithm may not
    _fuse_adam = True
    #: per-row finiteness check of a parameter stack (:meth:`_max_change_and_finite`)
    _rows_finite = staticmethod(_rows_finite)

    def __init__(self, configs: list[NetConfig], dd: _DeviceData, records: Records, device, dtype):
        self.configs = configs
        self.dd, self.rec, self.device, self.dtype = dd, records, device, dtype
        c0 = configs[0]
        E = self.E0 = len(configs)
        self.L = c0.n_layers
        self.sizes = [dd.D, *c0.hidden, dd.K]
        self.bias = c0.bias
        self.train_readout = c0.readout_trainable
        self.opt = c0.optimizer
        self.B = c0.batch_size
        self.names = param_names(c0)
        inits = [init_params(c, dd.D, dd.K, dtype=torch.float64) for c in configs]
        self.W = [torch.stack([p[f"W{l}"] for p in inits]).to(device=device, dtype=dtype)
                  for l in range(self.L + 1)]
        self.b = [torch.stack([p[f"b{l}"] for p in inits]).unsqueeze(-1).to(device=device, dtype=dtype)
                  if self.bias else None for l in range(self.L + 1)]
        del inits
        self.n_trained_layers = self.L + 1 if self.train_readout else self.L
        # per-network numbers (numpy, sliced on compaction)
        self.np_hp = {
            "lr": np.array([c.lr for c in configs]),
            "momentum": np.array([c.momentum for c in configs]),
            "beta1": np.array([c.betas[0] for c in configs]),
            "beta2": np.array([c.betas[1] for c in configs]),
            "eps": np.array([c.eps for c in configs]),
            "l2": np.array([c.l2 for c in configs]),
        }
        for l in range(self.L + 1):
            self.np_hp[f"l1_{l}"] = np.array([c.l1 if l in c.l1_layers else 0.0 for c in configs])
        self.epochs = np.array([c.epochs for c in configs])
        self.tol = np.array([np.nan if c.tol is None else c.tol for c in configs])
        self.act = self._act_cls(configs, device, dtype)
        self._bufs: dict = {}
        self._adam = None
        self.alive = np.arange(E)  # chunk-local ids of the rows still training
        # data streams
        stream_keys = [(c.dataset, c.resolved_data_seed) for c in configs]
        uniq = sorted(set(stream_keys))
        self.streams = {k: epoch_permutations(k[1], dd.n) for k in uniq}
        self.net_stream = stream_keys
        self.net_dataset = np.array([c.dataset for c in configs])
        self._rebuild_streams()
        self._build_hp()
        # optimizer state
        self.t = 0
        self.state: dict[str, list] = {}
        trained = self._trained()
        if self.opt == "momentum":
            self.state["buf"] = [torch.zeros_like(p) for p in trained]
        elif self.opt == "adam":
            self.state["m"] = [torch.zeros_like(p) for p in trained]
            self.state["v"] = [torch.zeros_like(p) for p in trained]
        self.cum = [torch.zeros_like(p) for p in trained] if records.cumulative_grads else None
        self.fused = self.opt == "sgd" and not records.cumulative_grads
        self._init_outputs()

    # -- bookkeeping ---------------------------------------------------------
    def _trained(self) -> list[torch.Tensor]:
        """Trained tensors in a fixed order: W0, b0, W1, b1, ... (readout last if trainable)."""
        out = []
        for l in range(self.n_trained_layers):
            out.append(self.W[l])
            if self.bias:
                out.append(self.b[l])
        return out

    def _trained_names(self) -> list[str]:
        out = []
        for l in range(self.n_trained_layers):
            out.append(f"W{l}")
            if self.bias:
                out.append(f"b{l}")
        return out

    def _build_hp(self) -> None:
        dev, dt = self.device, self.dtype
        self.hp = {k: _per_net(v, dev, dt) for k, v in self.np_hp.items()}
        # derived per-network coefficients of the fused updates (see _sgd_decay)
        lr = self.np_hp["lr"]
        self.hp["neg_lr"] = _per_net(-lr, dev, dt)
        self.hp["sgd_keep_l2"] = _per_net(1.0 - lr * self.np_hp["l2"], dev, dt)
        self.any_l2 = bool(np.any(self.np_hp["l2"] > 0))
        self.any_l1 = [bool(np.any(self.np_hp[f"l1_{l}"] > 0)) for l in range(self.L + 1)]
        # rows with an L1 penalty on layer l: (start, end, l1, -lr * l1) per run
        self.l1_runs = [_penalty_runs([self.np_hp[f"l1_{l}"], -lr * self.np_hp[f"l1_{l}"]], dev, dt)
                        for l in range(self.L + 1)]
        self._adam_views = None  # per-run views of the stacked tensors (built at the first fused step)
        self._l1_view_cache: dict = {}  # per layer, see _l1_views
        self.adam_fused = False
        if self.opt == "adam" and self._fuse_adam and _fused_adam_available(dev, dt):
            self.adam_runs = _adam_runs(self.np_hp)
            n_par = sum(p.numel() for p in self._trained())
            n_calls = len({run[2:] for run in self.adam_runs})
            self.adam_fused = n_calls <= max(_ADAM_MIN_CALLS, n_par // _ADAM_PARAMS_PER_CALL)

    def _rebuild_streams(self) -> None:
        keys = [self.net_stream[i] for i in self.alive]
        # streams in order of first appearance: with one stream per network the rows
        # then map to the streams one to one (no per-step reindexing of the batch),
        # whatever order the rows are in
        uniq = list(dict.fromkeys(keys))
        self.stream_list = uniq
        pos = {k: j for j, k in enumerate(uniq)}
        idx = np.array([pos[k] for k in keys], dtype=np.int64)
        self.shared = len(uniq) == 1
        self.identity_streams = len(uniq) == len(keys) and np.array_equal(idx, np.arange(len(keys)))
        self.net_stream_idx = torch.as_tensor(idx, device=self.device)
        ds = self.net_dataset[self.alive]
        self.shared_dataset = bool(np.all(ds == ds[0])) if len(ds) else True
        self.ds_tensor = torch.as_tensor(ds, device=self.device)

    def _init_outputs(self) -> None:
        E, rec = self.E0, self.rec
        T = int(self.epochs.max())
        self.T = T
        self.final = {}
        self.stop_epoch = np.zeros(E, dtype=np.int64)
        self.diverged = np.zeros(E, dtype=bool)
        self.history = {k: np.full((E, T + 1), np.nan) for k in _HISTORY_KEYS} if rec.history else {}
        self.probe_store: list | None = None  # per layer: (E, R, ...)
        self.weights_store: dict | None = None  # name -> (E, Rw, ...)
        self.cum_final: dict = {}

    # -- scratch buffers -------------------------------------------------------
    def _scratch(self, name: str, shape) -> torch.Tensor:
        """A preallocated tensor for per-step intermediates (reused every step).

        Allocating the layer outputs, gradients and optimizer temporaries anew at
        every step costs the CPU allocator (large blocks come from ``mmap`` and are
        page-faulted in on first touch) about as much as the arithmetic itself; the
        buffers live until the stack is compacted (``_finish``), which drops them.
        """
        key = (name, tuple(shape))
        buf = self._bufs.get(key)
        if buf is None:
            buf = self._bufs[key] = torch.empty(key[1], device=self.device, dtype=self.dtype)
        return buf

    # -- forward -------------------------------------------------------------
    def _forward(self, X: torch.Tensor, shared: bool, scratch: bool = False):
        """Forward pass in column layout.

        X : ``(B, D)`` shared by all networks, or ``(E, B, D)`` per network.
        Returns hidden responses ``[(E, H_l, B)]``, saved tensors for backward, logits ``(E, K, B)``.
        With ``scratch`` the outputs are written into the step's reusable buffers
        (valid until the next step; evaluation and probes allocate fresh tensors).
        """
        E = self.W[0].shape[0]
        Bs = X.shape[-2]
        hs, saved = [], []
        h = None
        for l in range(self.L):
            W, b = self.W[l], self.b[l]
            H = W.shape[1]
            a = self._scratch(f"a{l}", (E, H, Bs)) if scratch else torch.empty(
                (E, H, Bs), device=self.device, dtype=self.dtype)
            if l == 0 and shared:
                Wf, af = W.view(E * H, W.shape[2]), a.view(E * H, Bs)
                if b is not None:
                    torch.addmm(b.view(E * H, 1), Wf, X.t(), out=af)
                else:
                    torch.mm(Wf, X.t(), out=af)
            else:
                inp = X.transpose(1, 2) if l == 0 else h
                if b is not None:
                    torch.baddbmm(b, W, inp, out=a)
                else:
                    torch.bmm(W, inp, out=a)
            z = self.act.forward_(a)  # in place: a now holds the responses
            hs.append(z)
            saved.append(z)
            h = z
        J, c = self.W[self.L], self.b[self.L]
        K = J.shape[1]
        logits = self._scratch("logits", (E, K, Bs)) if scratch else torch.empty(
            (E, K, Bs), device=self.device, dtype=self.dtype)
        if c is not None:
            torch.baddbmm(c, J, h, out=logits)
        else:
            torch.bmm(J, h, out=logits)
        return hs, saved, logits

    # -- one optimizer step ------------------------------------------------------
    def step(self, Xb: torch.Tensor, Yb: torch.Tensor, shared: bool) -> None:
        L, K = self.L, self.dd.K
        Bs = Xb.shape[-2]
        hs, saved, logits = self._forward(Xb, shared, scratch=True)
        # shared batch: a contiguous (K, B) copy (B*K elements) keeps the broadcast
        # subtraction below on the vectorised path; the transposed view does not
        Yt = Yb.t().contiguous() if shared else Yb.transpose(1, 2)  # (K, B) or (E, K, B)
        if self.dd.loss == "bce":
            # the logits buffer becomes the output delta (logits are not needed afterwards)
            d = logits.sigmoid_().sub_(Yt).div_(Bs * K)
        else:
            # softmax written straight into the delta buffer (no allocation and copy)
            heads = self.dd.heads if self.dd.loss == "mce" else (K,)
            d = _softmax_heads_into(logits, heads, self._scratch("delta", logits.shape)).sub_(Yt).mul_(1.0 / Bs)
        deltas = [None] * (L + 1)
        deltas[L] = d
        E = d.shape[0]
        if L > 0:
            dz = torch.bmm(self.W[L].transpose(1, 2), d, out=self._scratch(f"dz{L - 1}", (E, self.sizes[L], Bs)))
        for l in reversed(range(L)):
            da = self.act.backward_(dz, saved[l])  # in place on dz
            deltas[l] = da
            if l > 0:
                dz = torch.bmm(self.W[l].transpose(1, 2), da,
                               out=self._scratch(f"dz{l - 1}", (E, self.sizes[l], Bs)))
        self.t += 1
        if self.opt == "adam" and not self.adam_fused:
            self._adam_coefficients()
        k = 0
        for l in range(self.n_trained_layers):
            inp = Xb if l == 0 else hs[l - 1]
            k = self._update_layer(l, deltas[l], inp, shared and l == 0, k)
        if self.adam_fused:
            self._fused_adam()

    def _add_penalty(self, l: int, W: torch.Tensor, g: torch.Tensor) -> None:
        """``g += l1 * sign(W) + l2 * W`` (per-network coefficients), in place."""
        hp = self.hp
        if self.any_l1[l]:
            # only on the rows that have an L1 penalty (sign is a full pass over W)
            for w, sgn, gg, c, _ in self._l1_views(l, g):
                torch.sign(w, out=sgn)
                gg.add_(sgn, alpha=c) if isinstance(c, float) else gg.addcmul_(sgn, c)
        if self.any_l2:
            c = hp["l2"]
            g.add_(W, alpha=c) if isinstance(c, float) else g.addcmul_(W, c)

    def _sgd_decay(self, l: int, W: torch.Tensor) -> None:
        """Fused SGD: ``W -= lr * (l1 * sign(W) + l2 * W)`` as ``W = W * (1 - lr l2) - lr l1 sign(W)``.

        Two passes over ``W`` (three with L1) instead of materialising the penalty
        gradient; equal to the reference up to rounding (the float64 tests hold).
        """
        hp = self.hp
        views = self._l1_views(l, None) if self.any_l1[l] else []
        for w, sgn, _, _, _ in views:  # sign of W before the update, on the rows with an L1 penalty only
            torch.sign(w, out=sgn)
        if self.any_l2:
            W.mul_(hp["sgd_keep_l2"])
        for w, sgn, _, _, c in views:
            w.add_(sgn, alpha=c) if isinstance(c, float) else w.addcmul_(sgn, c)

    def _l1_views(self, l: int, g: torch.Tensor | None) -> list[tuple]:
        """Per L1 run of layer ``l``: views ``(W, sign buffer, g or None)`` of its rows and its two coefficients.

        Built once per stack (slicing three tensors per run and step costs about as
        much Python time as the small runs' arithmetic); valid while ``W``, the
        ``tmp`` scratch buffer and ``g`` (the layer's gradient buffer, or ``None``
        for fused SGD) stay the same tensors, i.e. until compaction, which rebuilds
        the runs (:meth:`_build_hp`).
        """
        views = self._l1_view_cache.get(l)
        if views is None:
            W = self.W[l]
            tmp = self._scratch("tmp", W.shape)
            views = self._l1_view_cache[l] = [
                (W[s:e], tmp[s:e], None if g is None else g[s:e], c, c_sgd)
                for s, e, c, c_sgd in self.l1_runs[l]
            ]
        return views

    def _update_layer(self, l: int, delta: torch.Tensor, inp: torch.Tensor, shared_inp: bool, k: int) -> int:
        W, b = self.W[l], self.b[l]
        E, O = W.shape[0], W.shape[1]
        lr = self.hp["lr"]
        if self.fused:
            self._sgd_decay(l, W)
            if isinstance(lr, float):
                dl, alpha = delta, -lr
            else:
                dl, alpha = delta.mul_(self.hp["neg_lr"]), 1.0  # delta is not needed afterwards
            if shared_inp:
                W.view(E * O, -1).addmm_(dl.reshape(E * O, -1), inp, alpha=alpha)
            else:
                inpT = inp if l == 0 else inp.transpose(1, 2)  # (E, B, I)
                W.baddbmm_(dl, inpT, alpha=alpha)
            if b is not None:
                # dl already carries -lr when lr is per network
                gb = dl.sum(2, keepdim=True)
                b.sub_(gb, alpha=lr) if isinstance(lr, float) else b.add_(gb)
            return k
        # general path: materialise the gradient (into a reused buffer)
        g = self._scratch(f"g{l}", W.shape)
        if shared_inp:
            torch.mm(delta.reshape(E * O, -1), inp, out=g.view(E * O, -1))
        else:
            inpT = inp if l == 0 else inp.transpose(1, 2)
            torch.bmm(delta, inpT, out=g)
        self._add_penalty(l, W, g)
        self._apply(W, g, k)
        k += 1
        if b is not None:
            gb = torch.sum(delta, 2, keepdim=True, out=self._scratch(f"gb{l}", b.shape))
            self._apply(b, gb, k)
            k += 1
        return k

    def _fused_adam(self) -> None:
        """Adam on every trained tensor: one ``torch._fused_adam_`` call per set of equal hyperparameters.

        The per-network path (:meth:`_apply`) makes seven passes over every parameter
        tensor per step (lerp, two for ``v``, sqrt, two for the denominator,
        addcdiv), each a round trip to memory for the chunk's multi-megabyte
        stacks; torch's fused kernel does the same arithmetic in one pass (measured
        3x faster on the chapter-3 grid's shapes). Its learning rate and betas are
        scalars, so it runs on the contiguous runs of rows that share them (the
        chunk's rows are ordered that way, :func:`_block_order`), all runs of one
        ``(lr, betas, eps)`` in one call (its tensor lists take any views). The gradients
        (penalties included, already added to the cumulative record) are in the
        step's ``g``/``gb`` buffers; the views into them and into the parameters and
        moments are built once per stack and dropped on compaction.
        """
        if self._adam_views is None:
            params = self._trained()
            grads = []
            for l in range(self.n_trained_layers):
                grads.append(self._scratch(f"g{l}", self.W[l].shape))
                if self.bias:
                    grads.append(self._scratch(f"gb{l}", self.b[l].shape))
            m, v = self.state["m"], self.state["v"]
            self._step_t = torch.zeros((), dtype=torch.float32, device=self.device)
            # one call per distinct (lr, betas, eps): its tensor lists hold the views of all its runs
            calls: dict = {}
            for s, e, *hps in self.adam_runs:
                ps, gs, ms, vs = calls.setdefault(tuple(hps), ([], [], [], []))
                ps.extend(p[s:e] for p in params)
                gs.extend(g[s:e] for g in grads)
                ms.extend(x[s:e] for x in m)
                vs.extend(x[s:e] for x in v)
            self._adam_views = [(ps, gs, ms, vs, [self._step_t] * len(ps), *hps)
                                for hps, (ps, gs, ms, vs) in calls.items()]
        # the kernel reads the step count (torch.optim.Adam increments it before the call)
        self._step_t.fill_(self.t)
        for ps, gs, ms, vs, steps, lr, b1, b2, eps in self._adam_views:
            torch._fused_adam_(ps, gs, ms, vs, [], steps, lr=lr, beta1=b1, beta2=b2, weight_decay=0.0, eps=eps,
                               amsgrad=False, maximize=False)

    def _adam_coefficients(self) -> None:
        """Per-step Adam scalars (float, or ``(E, 1, 1)`` when they differ between networks)."""
        hp, t = self.hp, self.t
        b1, b2, eps, lr = hp["beta1"], hp["beta2"], hp["eps"], hp["lr"]
        bc1 = 1 - b1**t
        bc2_sqrt = (1 - b2**t) ** 0.5
        step_size = lr / bc1
        if all(isinstance(x, float) for x in (step_size, bc2_sqrt, eps)):
            self._adam = (step_size, bc2_sqrt, eps, 1.0, 0.0)
        else:
            # p -= step * m / (sqrt(v) / bc2_sqrt + eps) == m / (sqrt(v) * inv + e), with
            # per-network inv = 1 / (bc2_sqrt * step) and e = eps / step: two in-place passes
            # and one addcdiv_ per tensor, no temporaries (the reference's m / denom * step
            # needs two more passes and two allocations)
            self._adam = (step_size, bc2_sqrt, eps, 1.0 / (bc2_sqrt * step_size), eps / step_size)

    def _apply(self, p: torch.Tensor, g: torch.Tensor, k: int) -> None:
        hp = self.hp
        if self.cum is not None:
            self.cum[k].add_(g)
        if self.adam_fused:
            return  # applied to all tensors at once by _fused_adam
        lr = hp["lr"]
        if self.opt == "sgd":
            if isinstance(lr, float):
                p.sub_(g, alpha=lr)
            else:
                p.addcmul_(g, hp["neg_lr"])
            return
        if self.opt == "momentum":
            buf = self.state["buf"][k]
            buf.mul_(hp["momentum"]).add_(g)
            if isinstance(lr, float):
                p.sub_(buf, alpha=lr)
            else:
                p.addcmul_(buf, hp["neg_lr"])
            return
        # adam (torch.optim.Adam, single-tensor path, amsgrad=False, weight_decay=0)
        m, v = self.state["m"][k], self.state["v"][k]
        b1, b2 = hp["beta1"], hp["beta2"]
        m.lerp_(g, 1 - b1)
        if isinstance(b2, float):
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
        else:
            v.mul_(b2).addcmul_(g, g * (1 - b2))
        step_size, bc2_sqrt, eps, inv, e = self._adam
        # "tmp" (shared with the L1 sign, consumed before): one scratch tensor per shape
        # keeps the working set of a step small enough to stay in cache
        denom = torch.sqrt(v, out=self._scratch("tmp", v.shape))
        if isinstance(inv, float):  # the reference's exact sequence of roundings
            denom.div_(bc2_sqrt).add_(eps)
            p.addcdiv_(m, denom, value=-step_size)
        else:
            # (E, 1, 1) factors: mul_/add_ broadcast them on the vectorised path, which a
            # single torch.addcmul(e, denom, inv) does not (measured 4x slower)
            denom.mul_(inv).add_(e)
            p.addcdiv_(m, denom, value=-1.0)

    # -- evaluation ------------------------------------------------------------
    def _eval_split(self, test: bool) -> tuple[np.ndarray, np.ndarray]:
        """Task loss and accuracy of every live network on the full train/test set."""
        dd = self.dd
        X = dd.X_test if test else dd.X
        Y = dd.Y_test if test else dd.Y
        labels = (dd.labels_test if test else dd.labels)
        E = self.W[0].shape[0]
        n = X.shape[1]
        width = max(self.sizes)
        blk = max(1, min(n, _EVAL_BLOCK_ELEMS // max(1, E * width)))
        loss = torch.zeros(E, device=self.device, dtype=torch.float64)
        correct = torch.zeros(E, device=self.device, dtype=torch.float64)
        K = dd.K
        for s in range(0, n, blk):
            if self.shared_dataset:
                g = int(self.net_dataset[self.alive[0]])
                xb = X[g, s : s + blk]
                _, _, logits = self._forward(xb, True)
                yt = Y[g, s : s + blk].t()
                lab = labels[g, s : s + blk] if labels is not None else None
            else:
                xb = X[self.ds_tensor, s : s + blk]
                _, _, logits = self._forward(xb, False)
                yt = Y[self.ds_tensor, s : s + blk].transpose(1, 2)
                lab = labels[self.ds_tensor, s : s + blk] if labels is not None else None
            if dd.loss == "bce":
                yt = yt.expand_as(logits)
                loss += torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, yt, reduction="none").sum((1, 2)).double()
                correct += ((logits > 0) == (yt > 0.5)).sum((1, 2)).double()
            elif dd.loss == "mce":
                for j, s_ in enumerate(head_slices(dd.heads)):
                    logp = torch.log_softmax(logits[:, s_], dim=1)
                    loss -= (logp * yt[..., s_, :]).sum((1, 2)).double()
                    correct += (logits[:, s_].argmax(1) == lab[..., j]).sum(1).double()
            else:
                logp = torch.log_softmax(logits, dim=1)
                loss -= (logp * yt).sum((1, 2)).double()
                correct += (logits.argmax(1) == lab).sum(1).double()
        denom = n * K if dd.loss == "bce" else n
        if dd.loss == "mce":
            return (loss / n).cpu().numpy(), (correct / (n * len(dd.heads))).cpu().numpy()
        return (loss / denom).cpu().numpy(), (correct / denom).cpu().numpy()

    def _probe_responses(self) -> list[np.ndarray]:
        """Per hidden layer, ``(E, P, H)`` responses (or transform output) of the live networks."""
        P = self.dd.probe
        if P.shape[0] == 1:
            hs, _, _ = self._forward(P[0], True)
        else:
            hs, _, _ = self._forward(P[self.ds_tensor], False)
        out = []
        for h in hs:
            r = h.transpose(1, 2)
            if self.rec.probe_transform is not None:
                r = self.rec.probe_transform(r)
                if not isinstance(r, torch.Tensor) or r.ndim == 0 or r.shape[0] != h.shape[0]:
                    raise ValueError(
                        "probe_transform must return a tensor with the networks on its first axis, "
                        f"(E, ...) with E = {h.shape[0]}"
                    )
            out.append(r.detach().cpu().numpy())
        return out

    def _params_numpy(self) -> dict[str, np.ndarray]:
        out = {}
        for l in range(self.L + 1):
            out[f"W{l}"] = self.W[l].detach().to("cpu", torch.float64).numpy()
            if self.bias:
                out[f"b{l}"] = self.b[l].detach().to("cpu", torch.float64).numpy()[..., 0]
        return out

    def _record(self, epoch: int) -> None:
        """History, probe and weight records at ``epoch`` for the live networks."""
        rows = self.alive
        if self.rec.history:
            tl, ta = self._eval_split(False)
            self.history["train_loss"][rows, epoch] = tl
            self.history["train_acc"][rows, epoch] = ta
            if self.dd.has_test:
                vl, va = self._eval_split(True)
                self.history["test_loss"][rows, epoch] = vl
                self.history["test_acc"][rows, epoch] = va
        if epoch in self.rec.probe_epochs:
            self._store_probe(self.rec.probe_epochs.index(epoch), rows, self._probe_responses())
        if epoch in self.rec.weight_epochs:
            self._store_weights(self.rec.weight_epochs.index(epoch), rows, self._params_numpy())

    def _store_probe(self, r, rows, resp: list[np.ndarray]) -> None:
        if self.probe_store is None:
            R = len(self.rec.probe_epochs)
            self.probe_store = [np.full((self.E0, R, *x.shape[1:]), np.nan,
                                        dtype=np.result_type(x.dtype, np.float32)) for x in resp]
        if isinstance(r, int):
            r = [r]
        for layer, x in enumerate(resp):
            for rr in r:
                self.probe_store[layer][rows, rr] = x

    def _store_weights(self, r, rows, params: dict) -> None:
        if self.weights_store is None:
            R = len(self.rec.weight_epochs)
            self.weights_store = {k: np.full((self.E0, R, *v.shape[1:]), np.nan) for k, v in params.items()}
        if isinstance(r, int):
            r = [r]
        for k, v in params.items():
            for rr in r:
                self.weights_store[k][rows, rr] = v

    # -- freezing --------------------------------------------------------------
    def _store_final(self, rows: np.ndarray, done: np.ndarray, params: dict) -> None:
        """Final parameters of the networks ``rows`` (chunk ids; ``done`` masks the live rows).

        When the whole chunk finishes at once (the usual case: same epochs, no
        early stop) the fresh float64 arrays of :meth:`_params_numpy` are kept as
        they are; gathering and scattering them row by row into new arrays cost
        about 8 ms per 96-network chunk (two copies of every parameter, page faults
        on fresh memory).
        """
        whole = len(rows) == self.E0 and bool(done.all()) and np.array_equal(rows, np.arange(self.E0))
        # float64 on the CPU: .to(float64) returned the stacked tensor itself, so copy
        alias = self.dtype == torch.float64 and self.device.type == "cpu"
        for k, v in params.items():
            if whole and k not in self.final:
                self.final[k] = v.copy() if alias else v
                continue
            if k not in self.final:
                self.final[k] = np.empty((self.E0, *v.shape[1:]))
            self.final[k][rows] = v[done]

    def _finish(self, done: np.ndarray, epoch: int, diverged: np.ndarray) -> None:
        """Write out the networks in ``done`` (mask over live rows) and drop them from the stack."""
        rows = self.alive[done]
        self.stop_epoch[rows] = epoch
        self.diverged[rows] = diverged[done]
        params = self._params_numpy()
        self._store_final(rows, done, params)
        later_probe = [i for i, e in enumerate(self.rec.probe_epochs) if e > epoch]
        if later_probe:
            resp = self._probe_responses()
            self._store_probe(later_probe, rows, [x[done] for x in resp])
        later_w = [i for i, e in enumerate(self.rec.weight_epochs) if e > epoch]
        if later_w:
            self._store_weights(later_w, rows, {k: v[done] for k, v in params.items()})
        if self.cum is not None:
            for name, g in zip(self._trained_names(), self.cum):
                arr = g.detach().to("cpu", torch.float64).numpy()
                if name.startswith("b"):
                    arr = arr[..., 0]
                if name not in self.cum_final:
                    self.cum_final[name] = np.empty((self.E0, *arr.shape[1:]))
                self.cum_final[name][rows] = arr[done]
        keep = ~done
        if keep.all():
            return
        self._bufs.clear()
        self.alive = self.alive[keep]
        if len(self.alive) == 0:
            return
        idx = torch.as_tensor(np.flatnonzero(keep), device=self.device)

        def sel(t):
            return None if t is None else t.index_select(0, idx).contiguous()

        self.W = [sel(w) for w in self.W]
        self.b = [sel(b) for b in self.b]
        for key in self.state:
            self.state[key] = [sel(s) for s in self.state[key]]
        if self.cum is not None:
            self.cum = [sel(g) for g in self.cum]
        self.np_hp = {k: v[keep] for k, v in self.np_hp.items()}
        self._build_hp()
        self.act.select(keep)
        self._rebuild_streams()

    def _max_change_and_finite(self, prev: list[torch.Tensor] | None):
        trained = self._trained()
        E = trained[0].shape[0]
        finite = torch.ones(E, dtype=torch.bool, device=self.device)
        for l in range(self.L + 1):  # frozen readout can't go non-finite, but check every param
            finite &= self._rows_finite(self.W[l])
            if self.b[l] is not None:
                finite &= self._rows_finite(self.b[l])
        dmax = None
        if prev is not None:
            dmax = torch.zeros(E, dtype=self.dtype, device=self.device)
            for p, q in zip(trained, prev):
                dmax = torch.maximum(dmax, (p - q).abs().flatten(1).amax(1))
            dmax = dmax.cpu().numpy()
        return finite.cpu().numpy(), dmax

    # -- the epoch loop --------------------------------------------------------
    def run(self, pbar=None) -> None:
        dd = self.dd
        n, B = dd.n, self.B
        self._record(0)
        done0 = self.epochs[self.alive] == 0
        if done0.any():
            self._finish(done0, 0, np.zeros(len(self.alive), dtype=bool))
        for epoch in range(1, self.T + 1):
            if len(self.alive) == 0:
                break
            perms = torch.stack([next(self.streams[k]) + k[0] * n for k in self.stream_list])
            perms = perms.to(self.device)
            track = bool(np.any(~np.isnan(self.tol[self.alive])))
            prev = [p.clone() for p in self._trained()] if track else None
            for s in range(0, n, B):
                rows = perms[:, s : s + B]
                if self.shared:
                    r = rows[0]
                    self.step(dd.X_flat.index_select(0, r), dd.Y_flat.index_select(0, r), True)
                else:
                    Xu = dd.X_flat[rows]  # (U, Bs, D)
                    Yu = dd.Y_flat[rows]
                    if not self.identity_streams:
                        Xu = Xu.index_select(0, self.net_stream_idx)
                        Yu = Yu.index_select(0, self.net_stream_idx)
                    self.step(Xu, Yu, False)
            finite, dmax = self._max_change_and_finite(prev)
            self._record(epoch)
            tol = self.tol[self.alive]
            converged = np.zeros(len(self.alive), dtype=bool)
            if dmax is not None:
                with np.errstate(invalid="ignore"):
                    converged = ~np.isnan(tol) & (dmax < tol)
            done = ~finite | converged | (self.epochs[self.alive] <= epoch)
            if done.any():
                self._finish(done, epoch, ~finite)
            if pbar is not None:
                pbar.update(1)
                pbar.set_postfix(live=len(self.alive), refresh=False)

    def outputs(self) -> dict:
        E = self.E0
        params = [{k: self.final[k][i] for k in self.names} for i in range(E)]
        probe = None
        if self.probe_store is not None:
            layers = self.probe_store
            same = len({x.shape[2:] for x in layers}) == 1
            if same:
                stacked = np.stack(layers, axis=2)  # (E, R, L, ...)
                probe = [stacked[i] for i in range(E)]
            else:
                probe = [[x[i] for x in layers] for i in range(E)]
        weights_at = None
        if self.weights_store is not None:
            R = len(self.rec.weight_epochs)
            weights_at = [[{k: self.weights_store[k][i, r] for k in self.names} for r in range(R)]
                          for i in range(E)]
        cum = None
        if self.cum is not None:
            cum = [{k: v[i] for k, v in self.cum_final.items()} for i in range(E)]
        return dict(params=params, probe=probe, weights_at=weights_at, cumulative_grads=cum,
                    history=self.history, stop_epoch=self.stop_epoch, diverged=self.diverged)


class _ReferenceChunk(_Chunk):
    """The engine's previous algorithm, kept only as the benchmark's same-process baseline.

    Every activation is evaluated on every network of the chunk and merged with
    ``torch.where`` (:class:`_MergedActivation`); every step allocates its
    intermediates and the optimizer temporaries. Selected with
    ``train_ensemble(..., _reference_algorithm=True)``
    (``benchmarks/bench_grid_cpu.py`` reports the ratio); not used otherwise.
    """

    _act_cls = _MergedActivation
    _fuse_adam = False
    _rows_finite = staticmethod(_rows_finite_exact)

    def _store_final(self, rows: np.ndarray, done: np.ndarray, params: dict) -> None:
        for k, v in params.items():
            if k not in self.final:
                self.final[k] = np.empty((self.E0, *v.shape[1:]))
            self.final[k][rows] = v[done]

    # -- forward -------------------------------------------------------------
    def _forward(self, X: torch.Tensor, shared: bool):
        """Forward pass in column layout.

        X : ``(B, D)`` shared by all networks, or ``(E, B, D)`` per network.
        Returns hidden responses ``[(E, H_l, B)]``, saved tensors for backward, logits ``(E, K, B)``.
        """
        E = self.W[0].shape[0]
        hs, saved = [], []
        h = None
        for l in range(self.L):
            W, b = self.W[l], self.b[l]
            H = W.shape[1]
            if l == 0 and shared:
                Wf = W.view(E * H, W.shape[2])
                a = (torch.addmm(b.view(E * H, 1), Wf, X.t()) if b is not None else torch.mm(Wf, X.t()))
                a = a.view(E, H, X.shape[0])
            else:
                inp = X.transpose(1, 2) if l == 0 else h
                a = torch.baddbmm(b, W, inp) if b is not None else torch.bmm(W, inp)
            z, s = self.act.forward(a)
            hs.append(z)
            saved.append(s)
            h = z
        J, c = self.W[self.L], self.b[self.L]
        logits = torch.baddbmm(c, J, h) if c is not None else torch.bmm(J, h)
        return hs, saved, logits

    # -- one optimizer step ------------------------------------------------------
    def step(self, Xb: torch.Tensor, Yb: torch.Tensor, shared: bool) -> None:
        L, K = self.L, self.dd.K
        Bs = Xb.shape[-2]
        hs, saved, logits = self._forward(Xb, shared)
        Yt = Yb.t() if shared else Yb.transpose(1, 2)  # (K, B) or (E, K, B)
        if self.dd.loss == "bce":
            d = torch.sigmoid(logits).sub_(Yt).div_(Bs * K)
        elif self.dd.loss == "mce":
            d = _softmax_heads_into(logits, self.dd.heads, torch.empty_like(logits)).sub_(Yt).mul_(1.0 / Bs)
        else:
            d = torch.softmax(logits, dim=1).sub_(Yt).mul_(1.0 / Bs)
        deltas = [None] * (L + 1)
        deltas[L] = d
        dz = torch.bmm(self.W[L].transpose(1, 2), d)
        for l in reversed(range(L)):
            da = self.act.backward(dz, saved[l])
            deltas[l] = da
            if l > 0:
                dz = torch.bmm(self.W[l].transpose(1, 2), da)
        self.t += 1
        k = 0
        for l in range(self.n_trained_layers):
            inp = Xb if l == 0 else hs[l - 1]
            k = self._update_layer(l, deltas[l], inp, shared and l == 0, k)

    def _penalty(self, l: int, W: torch.Tensor) -> torch.Tensor | None:
        pen = None
        if self.any_l1[l]:
            pen = torch.sign(W).mul_(self.hp[f"l1_{l}"])
        if self.any_l2:
            p2 = W * self.hp["l2"]
            pen = p2 if pen is None else pen.add_(p2)
        return pen

    def _update_layer(self, l: int, delta: torch.Tensor, inp: torch.Tensor, shared_inp: bool, k: int) -> int:
        W, b = self.W[l], self.b[l]
        E, O = W.shape[0], W.shape[1]
        lr = self.hp["lr"]
        if self.fused:
            pen = self._penalty(l, W)
            if pen is not None:
                W.sub_(pen.mul_(lr))
            if isinstance(lr, float):
                dl, alpha = delta, -lr
            else:
                dl, alpha = delta * (-lr), 1.0
            if shared_inp:
                W.view(E * O, -1).addmm_(dl.reshape(E * O, -1), inp, alpha=alpha)
            else:
                inpT = inp if l == 0 else inp.transpose(1, 2)  # (E, B, I)
                W.baddbmm_(dl, inpT, alpha=alpha)
            if b is not None:
                gb = delta.sum(2, keepdim=True)
                if isinstance(lr, float):
                    b.sub_(gb, alpha=lr)
                else:
                    b.sub_(gb.mul_(lr))
            return k
        # general path: materialise the gradient
        if shared_inp:
            g = torch.mm(delta.reshape(E * O, -1), inp).view(E, O, -1)
        else:
            inpT = inp if l == 0 else inp.transpose(1, 2)
            g = torch.bmm(delta, inpT)
        pen = self._penalty(l, W)
        if pen is not None:
            g.add_(pen)
        self._apply(W, g, k)
        k += 1
        if b is not None:
            gb = delta.sum(2, keepdim=True)
            self._apply(b, gb, k)
            k += 1
        return k

    def _apply(self, p: torch.Tensor, g: torch.Tensor, k: int) -> None:
        hp = self.hp
        if self.cum is not None:
            self.cum[k].add_(g)
        lr = hp["lr"]
        if self.opt == "sgd":
            if isinstance(lr, float):
                p.sub_(g, alpha=lr)
            else:
                p.sub_(g * lr)
            return
        if self.opt == "momentum":
            buf = self.state["buf"][k]
            buf.mul_(hp["momentum"]).add_(g)
            if isinstance(lr, float):
                p.sub_(buf, alpha=lr)
            else:
                p.sub_(buf * lr)
            return
        # adam (torch.optim.Adam, single-tensor path, amsgrad=False, weight_decay=0)
        m, v = self.state["m"][k], self.state["v"][k]
        b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
        m.lerp_(g, 1 - b1)
        if isinstance(b2, float):
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
        else:
            v.mul_(b2).add_(g * g * (1 - b2))
        t = self.t
        bc1 = 1 - b1**t
        bc2 = 1 - b2**t
        step_size = lr / bc1
        bc2_sqrt = bc2**0.5
        denom = (v.sqrt() / bc2_sqrt).add_(eps)
        if isinstance(step_size, float):
            p.addcdiv_(m, denom, value=-step_size)
        else:
            p.sub_(m / denom * step_size)


# ----------------------------------------------------------------------------- public entry point


def _softmax_heads_into(logits: torch.Tensor, heads: Sequence[int], out: torch.Tensor) -> torch.Tensor:
    """Softmax over each head's block of outputs (axis 1 of ``(E, K, B)``), written into ``out``; returns ``out``.

    Same kernel and values as ``torch.softmax``, but into a preallocated buffer: a fresh ``(E, K, B)`` result (about 1 MB on the chapter-3
    grid with ``B = 128``) comes from ``mmap`` and is page-faulted in at every step,
    which cost five times the softmax itself (measured).
    """
    sm = torch.ops.aten._softmax.out
    if len(set(heads)) == 1:  # equal heads: one softmax over a (E, h, c, B) view
        E, K, B = logits.shape
        shape = (E, len(heads), heads[0], B)
        sm(logits.view(shape), 2, False, out=out.view(shape))
        return out
    for s_ in head_slices(heads):
        out[:, s_] = torch.softmax(logits[:, s_], dim=1)
    return out


def _check_against_data(configs: list[NetConfig], data: TrainData) -> None:
    for i, c in enumerate(configs):
        if c.dataset >= data.n_datasets:
            raise ValueError(
                f"configs[{i}].dataset = {c.dataset} but the data hold {data.n_datasets} dataset(s); "
                f"valid: 0..{data.n_datasets - 1}"
            )
        if c.loss != data.loss:
            raise ValueError(
                f"configs[{i}].loss = {c.loss!r} does not match the targets: "
                f"{ {'bce': 'float (n, K) targets need', 'ce': 'integer class ids need'}.get(data.loss, 'per-head class ids (TrainData heads) need')} "
                f"loss={data.loss!r}"
            )


def train_ensemble(
    configs: Sequence[NetConfig],
    data: TrainData,
    records: Records | None = None,
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.float32,
    max_chunk: int | None = None,
    progress: bool = True,
    *,
    _reference_algorithm: bool = False,
) -> EnsembleResult:
    """Train every network of ``configs`` on ``data``, batched; results in input order.

    Parameters
    ----------
    configs : sequence of NetConfig
        One entry per network (any mix of architectures and hyperparameters).
    data : TrainData
        ``X: (G, n, D)``; each network trains on ``data`` set ``config.dataset``.
    records : Records, optional
        What to record (default: ``Records()``, i.e. history only).
    device : str or torch.device
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    dtype : torch.dtype
        ``torch.float32`` or ``torch.float64``.
    max_chunk : int, optional
        Largest number of networks trained at once; default from the memory
        budget (half the free GPU memory, or 2 GiB on the CPU).
    progress : bool
        tqdm progress bars over chunks and epochs.
    _reference_algorithm : bool
        Private, for the benchmarks: train with the engine's previous algorithm
        (:class:`_ReferenceChunk`) to measure the speed-up in the same process.
        Same results up to rounding.

    Returns
    -------
    EnsembleResult

    Raises
    ------
    ValueError
        Bad configs, data or records (checked before any training starts).
    """
    t0 = time.perf_counter()
    configs = validate_configs(configs)
    if not isinstance(data, TrainData):
        raise ValueError(f"data must be a TrainData; got {type(data).__name__}")
    records = Records() if records is None else records
    if not isinstance(records, Records):
        raise ValueError(f"records must be a Records; got {type(records).__name__}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64; got {dtype!r}")
    if max_chunk is not None and not (isinstance(max_chunk, int) and max_chunk >= 1):
        raise ValueError(f"max_chunk must be None or an integer >= 1; got {max_chunk!r}")
    _check_against_data(configs, data)
    dev = resolve_device(device)
    dd = _DeviceData(data, records, dev, dtype)
    if dd.probe is not None and dd.probe.shape[0] not in (1,):
        for i, c in enumerate(configs):
            if c.dataset >= dd.probe.shape[0]:
                raise ValueError(f"configs[{i}].dataset = {c.dataset} has no probe set (probe has {dd.probe.shape[0]})")
    chunks = _plan_chunks(configs, data, records, dev, dtype, max_chunk)
    chunk_cls = _ReferenceChunk if _reference_algorithm else _Chunk
    if not _reference_algorithm:
        chunks = [_block_order(configs, members) for members in chunks]

    E = len(configs)
    T = max(c.epochs for c in configs)
    params: list = [None] * E
    probe: list | None = [None] * E if records.probe_epochs else None
    weights_at: list | None = [None] * E if records.weight_epochs else None
    cum: list | None = [None] * E if records.cumulative_grads else None
    history = {k: np.full((E, T + 1), np.nan) for k in _HISTORY_KEYS} if records.history else {}
    stop_epoch = np.zeros(E, dtype=np.int64)
    diverged = np.zeros(E, dtype=bool)

    from tqdm.auto import tqdm

    outer = tqdm(total=len(chunks), desc="chunks", disable=not progress or len(chunks) == 1, leave=False)
    queue = deque(chunks)
    try:
        while queue:
            members = queue.popleft()
            chunk = None
            try:
                with torch.no_grad():
                    chunk = chunk_cls([configs[i] for i in members], dd, records, dev, dtype)
                    inner = tqdm(total=chunk.T, desc=f"epochs ({len(members)} nets)", disable=not progress,
                                 leave=False)
                    try:
                        chunk.run(inner)
                    finally:
                        inner.close()
            except torch.cuda.OutOfMemoryError:
                if len(members) == 1:
                    raise
                # the memory estimate was too optimistic: split this chunk and retry both halves
                del chunk
                torch.cuda.empty_cache()
                half = len(members) // 2
                queue.appendleft(members[half:])
                queue.appendleft(members[:half])
                outer.total += 1
                continue
            out = chunk.outputs()
            del chunk
            for j, i in enumerate(members):
                params[i] = out["params"][j]
                if probe is not None:
                    probe[i] = out["probe"][j]
                if weights_at is not None:
                    weights_at[i] = out["weights_at"][j]
                if cum is not None:
                    cum[i] = out["cumulative_grads"][j]
            rows = np.asarray(members)
            for k, v in out["history"].items():
                history[k][rows, : v.shape[1]] = v
            stop_epoch[rows] = out["stop_epoch"]
            diverged[rows] = out["diverged"]
            outer.update(1)
    finally:
        outer.close()
    return EnsembleResult(
        configs=list(configs),
        params=params,
        history=history,
        stop_epoch=stop_epoch,
        diverged=diverged,
        probe=probe,
        probe_epochs=records.probe_epochs,
        weights_at=weights_at,
        weight_epochs=records.weight_epochs,
        cumulative_grads=cum,
        ids=np.arange(E),
        device=describe_device(dev),
        wall_time_s=time.perf_counter() - t0,
    )


def head_accuracy(result: EnsembleResult, X: Any, y: Any, heads: Sequence[int], *, block: int = 128) -> np.ndarray:
    """Accuracy of each softmax head of each trained network on ``(X, y)``: ``(E, len(heads))``.

    Head ``j`` owns the next ``heads[j]`` outputs (the ``"mce"`` layout); its prediction
    is the argmax of its logits. Networks are evaluated in float64 with
    :func:`repgeom_lite.models.hidden_responses` (the engine's forward pass), ``block`` at a time.

    Parameters
    ----------
    result : EnsembleResult
        Final parameters ``result.params`` and ``result.configs`` are used.
    X : (n, D) array
    y : (n, len(heads)) int array
        Class of every sample for every head.
    heads : sequence of int
        Classes per head, ``sum(heads)`` = number of outputs.

    Returns
    -------
    ndarray, (E, len(heads))
        Fraction correct; NaN for a network with non-finite parameters.

    Raises
    ------
    ValueError
        Shapes that do not match ``heads`` or the networks.
    """
    from .models import hidden_responses, stack_params

    heads = tuple(int(h) for h in heads)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0], len(heads)):
        raise ValueError(f"X must be (n, D) and y (n, {len(heads)}); got {X.shape} and {y.shape}")
    out = np.full((len(result), len(heads)), np.nan)
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(result.configs):
        groups.setdefault((c.hidden, c.activation, c.act_param, c.bias), []).append(i)
    slices = head_slices(heads)
    for (_, act, act_param, _), members in groups.items():
        for s_ in range(0, len(members), block):
            idx = members[s_ : s_ + block]
            P = stack_params([result.params[i] for i in idx])
            L = sum(1 for k in P if k.startswith("W")) - 1
            if P[f"W{L}"].shape[1] != sum(heads):
                raise ValueError(f"networks have {P[f'W{L}'].shape[1]} outputs, heads {heads} need {sum(heads)}")
            finite = np.all([np.isfinite(v).reshape(len(idx), -1).all(1) for v in P.values()], axis=0)
            with np.errstate(all="ignore"):
                logits = hidden_responses(P, X, act, act_param, layers=[L])[0]  # (e, n, K)
            acc = np.stack([(logits[..., sl].argmax(-1) == y[:, j]).mean(-1) for j, sl in enumerate(slices)], 1)
            acc[~finite] = np.nan
            out[idx] = acc
    return out


def log_epochs(epochs: int, n: int) -> tuple[int, ...]:
    """About ``n`` record epochs from 0 (initialisation) to ``epochs``, evenly spaced on a log(1 + e) scale.

    For :class:`Records` (``probe_epochs``, ``weight_epochs``): early training, where the
    geometry moves fastest, gets more records. Always contains 0 and ``epochs``.

    >>> log_epochs(25, 6)
    (0, 1, 3, 6, 13, 25)

    Raises
    ------
    ValueError
        ``epochs < 1`` or ``n < 2``.
    """
    if isinstance(epochs, bool) or not (isinstance(epochs, (int, np.integer)) and epochs >= 1):
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    if isinstance(n, bool) or not (isinstance(n, (int, np.integer)) and n >= 2):
        raise ValueError(f"the number of record epochs n must be an integer >= 2, got {n!r}")
    grid = np.expm1(np.linspace(0.0, math.log1p(int(epochs)), int(n)))
    return tuple(sorted({int(round(e)) for e in grid} | {0, int(epochs)}))
