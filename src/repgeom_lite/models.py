"""Network configuration, activations and initialisation shared by the engine and the reference.

Everything that decides *which* network is trained lives here, in one place, so
that the batched engine (:mod:`repgeom_lite.ensemble`) and the plain per-network
reference (:mod:`repgeom_lite.reference`) cannot drift apart:

* :class:`NetConfig` -- one network and how it is trained (validated on construction);
* :func:`init_params` -- the initial weights, drawn in a fixed, documented order;
* :func:`epoch_permutations` -- the minibatch order (the data-order convention);
* the activation functions and their derivatives.

Model
-----
An MLP with ``L = len(hidden) >= 1`` hidden layers and a linear readout::

    z_0 = x                                  x: (D,)
    z_l = f(W_{l-1} z_{l-1} + b_{l-1})       W_{l-1}: (H_l, H_{l-1}),   l = 1..L
    y   = W_L z_L + b_L                      W_L = J: (K, H_L)  (readout, logits)

Parameters are named ``"W0", "b0", ..., "W{L}", "b{L}"``; the last pair is the
readout. Loss ``"bce"``: sigmoid + binary cross-entropy per output, averaged over
samples *and* outputs (``nn.BCEWithLogitsLoss()``); ``"ce"``: softmax
cross-entropy averaged over samples (``nn.CrossEntropyLoss()``); ``"mce"``: several
softmax heads on consecutive blocks of outputs (sizes ``TrainData.heads``), the sum over
heads of each head's cross-entropy averaged over samples.

Penalties (added to the minibatch loss, so they enter every gradient)::

    l1 * sum_{l in l1_layers} sum |W_l|   +   (l2 / 2) * sum_{trained W_l} ||W_l||_F^2

Biases are never penalised; a frozen readout is never penalised by ``l2`` (its
gradient would be discarded anyway) and may not be listed in ``l1_layers``.

Initialisation convention
-------------------------
Each network owns a CPU ``torch.Generator`` seeded with ``config.seed``. It draws,
in float64 and in this order: ``W0, W1, ..., W{L-1}`` (hidden layers, in layer
order), then the readout ``W{L}``. Biases start at 0 and draw nothing. The
float64 draws are cast to the run's dtype, so float32 and float64 runs start
from the same (rounded) weights.

* ``"gaussian"``: ``W ~ N(0, gain^2 / fan_in)`` (SPEC: ``W ~ N(0, 1/D)`` at gain 1).
* ``"he"``: ``W ~ N(0, 2 gain^2 / fan_in)`` (kaiming normal, fan_in mode, relu gain).
* ``"xavier_uniform"``: ``W ~ U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``,
  drawn as ``(2 u - 1) a`` with ``u = torch.rand(...)``.

Readout ``W{L}`` (``N = H_L`` units, ``K`` outputs):

* ``"balanced"`` (frozen): ``u = torch.rand(K, N)``; in each row ``k`` the ``N // 2``
  units with the smallest ``u`` get ``+1/sqrt(N)``, the others ``-1/sqrt(N)`` (so
  each output's weights are balanced across units, signs independent across
  outputs; one extra ``-`` when N is odd).
* ``"gaussian"`` (frozen): ``N(0, 1/N)`` (drawn as ``randn / sqrt(N)``).
* ``"trainable"``: drawn with the network's ``init`` rule and trained.

The readout bias is trained only with a trainable readout; otherwise it stays 0.

Data-order convention
---------------------
Each network owns a second CPU ``torch.Generator`` seeded with
``config.data_seed`` (``seed`` when ``None``). At the start of every epoch it
draws ``perm = torch.randperm(n)``; minibatch ``s`` is ``perm[s*B : (s+1)*B]``
(the last one may be smaller; nothing is dropped). Networks with the same
``data_seed``, ``dataset`` and ``batch_size`` therefore see identical
minibatches.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch

__all__ = [
    "ACTIVATIONS",
    "READOUTS",
    "LOSSES",
    "OPTIMIZERS",
    "INITS",
    "NetConfig",
    "validate_configs",
    "init_params",
    "param_names",
    "head_slices",
    "epoch_permutations",
    "activation_fn",
    "stack_params",
    "hidden_responses",
    "split_activation",
    "activation_label",
]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "clipped_relu", "shifted_relu", "linear")
READOUTS = ("balanced", "gaussian", "trainable")
LOSSES = ("bce", "ce", "mce")
OPTIMIZERS = ("sgd", "momentum", "adam")
INITS = ("gaussian", "xavier_uniform", "he")
_ACT_PARAM_DEFAULT = {"clipped_relu": 1.0, "shifted_relu": 0.0}
_MAX_SEED = 2**63 - 1


def _py_scalar(x: Any) -> Any:
    """NumPy integer/float/bool scalars -> Python int/float/bool; anything else unchanged."""
    import numpy as np

    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _choice(name: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, valid))}; got {value!r}")


def _real(name: str, value: Any, *, lo: float, lo_open: bool, hi: float | None = None,
          hi_open: bool = True, what: str) -> None:
    ok = _is_real(value) and math.isfinite(value)
    if ok:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if not ok:
        raise ValueError(f"{name} must be {what}; got {value!r}")


@dataclass(frozen=True)
class NetConfig:
    """One network of an ensemble and how it is trained (validated on construction).

    Attributes
    ----------
    hidden : tuple of int
        Hidden-layer widths ``(H_1, ..., H_L)``, ``L >= 1``, each ``>= 1``.
    activation : str
        ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"clipped_relu"`` (``min(max(a, 0), u)``),
        ``"shifted_relu"`` (``max(a + s, 0)``) or ``"linear"``.
    act_param : float or None
        ``u > 0`` for clipped ReLU (default 1.0), ``s`` for shifted ReLU (default 0.0);
        must be ``None`` for the other activations.
    readout : str
        ``"balanced"`` (frozen ±1/√N), ``"gaussian"`` (frozen N(0, 1/N)) or
        ``"trainable"`` (initialised with ``init``); see the module docstring.
    loss : str
        ``"bce"`` (targets ``(n, K)`` in [0, 1]), ``"ce"`` (targets ``(n,)`` class ids) or
        ``"mce"`` (targets ``(n, heads)`` class ids, one softmax per head; ``TrainData(heads=...)``).
    optimizer : str
        ``"sgd"``, ``"momentum"`` (SGD with momentum, dampening 0) or ``"adam"``,
        with the update formulas of ``torch.optim.SGD`` / ``torch.optim.Adam``.
    lr, momentum, betas, eps : float
        Optimizer hyperparameters (``momentum`` only for ``"momentum"``;
        ``betas``/``eps`` only for ``"adam"``).
    l1 : float
        L1 penalty ``l1 * sum |W_l|`` on the weight layers listed in ``l1_layers``
        (0 = first layer, ``len(hidden)`` = readout, trainable readout only).
    l2 : float
        L2 penalty ``(l2 / 2) * ||W||^2`` on every trained weight matrix (not biases).
    init, init_gain : str, float
        Weight initialisation rule and gain (see the module docstring).
    bias : bool
        Whether the layers have biases (initialised to 0).
    batch_size, epochs : int
        Minibatch size (``>= 1``) and number of epochs (``>= 0``).
    tol : float or None
        Early stopping: stop after the first epoch whose largest absolute
        parameter change (over all trained parameters) is below ``tol``.
    seed : int
        Initialisation seed (``0 <= seed < 2**63``).
    data_seed : int or None
        Minibatch-order seed; ``None`` means ``seed``.
    dataset : int
        Index into the stacked datasets of :class:`~repgeom_lite.ensemble.TrainData`.
    """

    hidden: tuple[int, ...] = (128,)
    activation: str = "relu"
    act_param: float | None = None
    readout: str = "balanced"
    loss: str = "bce"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    l1: float = 0.0
    l1_layers: tuple[int, ...] = (0,)
    l2: float = 0.0
    init: str = "gaussian"
    init_gain: float = 1.0
    bias: bool = True
    batch_size: int = 64
    epochs: int = 100
    tol: float | None = None
    seed: int = 0
    data_seed: int | None = None
    dataset: int = 0

    def __post_init__(self) -> None:
        # Coerce NumPy scalars (grids built with np.logspace, np.arange) to Python numbers
        # and list-likes (e.g. from JSON) to tuples, so configs stay hashable and JSON-able.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (list, tuple)):
                value = tuple(_py_scalar(v) for v in value)
            else:
                value = _py_scalar(value)
            object.__setattr__(self, f.name, value)
        if _is_int(self.hidden):
            object.__setattr__(self, "hidden", (self.hidden,))
        if (
            not isinstance(self.hidden, tuple)
            or len(self.hidden) == 0
            or not all(_is_int(h) and h >= 1 for h in self.hidden)
        ):
            raise ValueError(
                f"hidden must be a non-empty tuple of layer widths >= 1, e.g. (128,); got {self.hidden!r}"
            )
        _choice("activation", self.activation, ACTIVATIONS)
        if self.act_param is not None:
            if self.activation not in _ACT_PARAM_DEFAULT:
                raise ValueError(
                    f"act_param is only used by 'clipped_relu' (u) and 'shifted_relu' (s); "
                    f"it must be None for activation={self.activation!r}, got {self.act_param!r}"
                )
            if self.activation == "clipped_relu":
                _real("act_param", self.act_param, lo=0.0, lo_open=True,
                      what="a finite number > 0 (the clip level u of clipped_relu)")
            else:
                _real("act_param", self.act_param, lo=-math.inf, lo_open=True,
                      what="a finite number (the shift s of shifted_relu)")
        _choice("readout", self.readout, READOUTS)
        _choice("loss", self.loss, LOSSES)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _real("lr", self.lr, lo=0.0, lo_open=True, what="a finite number > 0")
        _real("momentum", self.momentum, lo=0.0, lo_open=False, hi=1.0, what="in [0, 1)")
        if not (isinstance(self.betas, tuple) and len(self.betas) == 2):
            raise ValueError(f"betas must be a pair (beta1, beta2), each in [0, 1); got {self.betas!r}")
        for i, b in enumerate(self.betas):
            _real(f"betas[{i}]", b, lo=0.0, lo_open=False, hi=1.0, what="in [0, 1)")
        _real("eps", self.eps, lo=0.0, lo_open=True, what="a finite number > 0")
        _real("l1", self.l1, lo=0.0, lo_open=False, what="a finite number >= 0")
        _real("l2", self.l2, lo=0.0, lo_open=False, what="a finite number >= 0")
        n_layers = len(self.hidden)
        if not isinstance(self.l1_layers, tuple) or not all(
            _is_int(i) and 0 <= i <= n_layers for i in self.l1_layers
        ):
            raise ValueError(
                f"l1_layers must be a tuple of weight-layer indices in 0..{n_layers} "
                f"(0 = first layer, {n_layers} = readout); got {self.l1_layers!r}"
            )
        if self.l1 > 0 and n_layers in self.l1_layers and self.readout != "trainable":
            raise ValueError(
                f"l1_layers contains the readout ({n_layers}) but readout={self.readout!r} is frozen; "
                "use readout='trainable' or list hidden layers only"
            )
        _choice("init", self.init, INITS)
        _real("init_gain", self.init_gain, lo=0.0, lo_open=True, what="a finite number > 0")
        if not isinstance(self.bias, bool):
            raise ValueError(f"bias must be True or False; got {self.bias!r}")
        if not (_is_int(self.batch_size) and self.batch_size >= 1):
            raise ValueError(f"batch_size must be an integer >= 1; got {self.batch_size!r}")
        if not (_is_int(self.epochs) and self.epochs >= 0):
            raise ValueError(f"epochs must be an integer >= 0; got {self.epochs!r}")
        if self.tol is not None:
            _real("tol", self.tol, lo=0.0, lo_open=True, what="None (off) or a finite number > 0")
        if not (_is_int(self.seed) and 0 <= self.seed <= _MAX_SEED):
            raise ValueError(f"seed must be an integer in [0, 2**63); got {self.seed!r}")
        if self.data_seed is not None and not (
            _is_int(self.data_seed) and 0 <= self.data_seed <= _MAX_SEED
        ):
            raise ValueError(f"data_seed must be None or an integer in [0, 2**63); got {self.data_seed!r}")
        if not (_is_int(self.dataset) and self.dataset >= 0):
            raise ValueError(f"dataset must be an integer >= 0 (index into stacked datasets); got {self.dataset!r}")

    # -- derived quantities -------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of hidden layers ``L``."""
        return len(self.hidden)

    @property
    def resolved_act_param(self) -> float:
        """``act_param`` with its default filled in (0.0 for activations without one)."""
        if self.act_param is not None:
            return float(self.act_param)
        return _ACT_PARAM_DEFAULT.get(self.activation, 0.0)

    @property
    def resolved_data_seed(self) -> int:
        """The minibatch-order seed (``data_seed``, or ``seed`` when ``None``)."""
        return self.seed if self.data_seed is None else self.data_seed

    @property
    def readout_trainable(self) -> bool:
        return self.readout == "trainable"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dict (tuples become lists); ``NetConfig(**d)`` restores it."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def replace(self, **changes: Any) -> "NetConfig":
        """A copy with some fields changed (validated)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = sorted(set(changes) - set(d))
        if unknown:
            raise ValueError(f"unknown NetConfig field(s) {unknown}; valid: {', '.join(d)}")
        d.update(changes)
        return NetConfig(**d)


NETCONFIG_FIELDS = tuple(f.name for f in fields(NetConfig))


def validate_configs(configs: Any) -> list[NetConfig]:
    """Check that ``configs`` is a non-empty sequence of :class:`NetConfig` (each already validated).

    Raises
    ------
    ValueError
        Empty sequence, or an element that is not a ``NetConfig`` (its position is named).
    """
    if isinstance(configs, NetConfig):
        configs = [configs]
    try:
        configs = list(configs)
    except TypeError:
        raise ValueError(f"configs must be a list of NetConfig; got {type(configs).__name__}") from None
    if not configs:
        raise ValueError("configs must contain at least one NetConfig; got an empty list")
    for i, c in enumerate(configs):
        if not isinstance(c, NetConfig):
            raise ValueError(f"configs[{i}] must be a NetConfig; got {type(c).__name__}")
    return configs


def head_slices(heads) -> list[slice]:
    """Output blocks of the ``"mce"`` heads: head ``j`` owns the next ``heads[j]`` outputs.

    ``head_slices((10, 10))`` -> ``[slice(0, 10), slice(10, 20)]``.
    """
    ends = [0]
    for h in heads:
        ends.append(ends[-1] + int(h))
    return [slice(a, b) for a, b in zip(ends[:-1], ends[1:])]


# -- initialisation ------------------------------------------------------------


def param_names(config: NetConfig) -> list[str]:
    """Names of the parameters in order ``["W0", "b0", ..., "W{L}", "b{L}"]`` (no biases if ``bias=False``)."""
    names = []
    for layer in range(config.n_layers + 1):
        names.append(f"W{layer}")
        if config.bias:
            names.append(f"b{layer}")
    return names


def _draw_weight(gen: torch.Generator, rule: str, gain: float, fan_out: int, fan_in: int) -> torch.Tensor:
    shape = (fan_out, fan_in)
    if rule == "gaussian":
        return torch.randn(shape, generator=gen, dtype=torch.float64) * (gain / math.sqrt(fan_in))
    if rule == "he":
        return torch.randn(shape, generator=gen, dtype=torch.float64) * (gain * math.sqrt(2.0 / fan_in))
    if rule == "xavier_uniform":
        a = gain * math.sqrt(6.0 / (fan_in + fan_out))
        return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2.0 - 1.0) * a
    raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}; got {rule!r}")


def init_params(config: NetConfig, n_inputs: int, n_outputs: int,
                dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
    """Initial parameters of one network, following the documented draw order.

    Parameters
    ----------
    config : NetConfig
    n_inputs, n_outputs : int
        Input dimension ``D`` and number of outputs ``K``.
    dtype : torch.dtype
        dtype of the returned tensors (the draws are made in float64 and cast).

    Returns
    -------
    dict
        ``{"W0": (H_1, D), "b0": (H_1,), ..., "W{L}": (K, H_L), "b{L}": (K,)}``,
        CPU tensors (no biases when ``config.bias`` is False).
    """
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(config.seed))
    sizes = [int(n_inputs), *config.hidden]
    out: dict[str, torch.Tensor] = {}
    L = config.n_layers
    for layer in range(L):
        out[f"W{layer}"] = _draw_weight(gen, config.init, config.init_gain, sizes[layer + 1], sizes[layer])
        if config.bias:
            out[f"b{layer}"] = torch.zeros(sizes[layer + 1], dtype=torch.float64)
    N, K = sizes[-1], int(n_outputs)
    if config.readout == "balanced":
        # one uniform draw per entry; in each row the N // 2 smallest get +1/sqrt(N)
        rank = torch.rand((K, N), generator=gen, dtype=torch.float64).argsort(dim=1).argsort(dim=1)
        J = torch.where(rank < N // 2, 1.0, -1.0).to(torch.float64) / math.sqrt(N)
    elif config.readout == "gaussian":
        J = torch.randn((K, N), generator=gen, dtype=torch.float64) / math.sqrt(N)
    else:
        J = _draw_weight(gen, config.init, config.init_gain, K, N)
    out[f"W{L}"] = J
    if config.bias:
        out[f"b{L}"] = torch.zeros(K, dtype=torch.float64)
    return {k: v.to(dtype) for k, v in out.items()}


def epoch_permutations(data_seed: int, n: int) -> "EpochPermutations":
    """Iterator over the per-epoch sample orders of one data stream (see the module docstring).

    >>> perms = epoch_permutations(0, 5)
    >>> first = next(perms)          # order of epoch 1, a permutation of range(5)
    """
    return EpochPermutations(data_seed, n)


class EpochPermutations:
    """``next()`` gives the next epoch's ``torch.randperm(n)`` of one data stream."""

    def __init__(self, data_seed: int, n: int):
        self.gen = torch.Generator(device="cpu")
        self.gen.manual_seed(int(data_seed))
        self.n = int(n)

    def __iter__(self) -> "EpochPermutations":
        return self

    def __next__(self) -> torch.Tensor:
        return torch.randperm(self.n, generator=self.gen)


# -- activations ---------------------------------------------------------------


def activation_fn(name: str, act_param: float | None = None):
    """The activation as a plain (autograd-differentiable) function ``a -> f(a)``.

    This is what the reference model uses; the engine reproduces the same values
    and the same derivatives (including torch's conventions at the kinks:
    relu'(0) = 0, clipped relu' = 1 on the open interval (0, u) only).

    - relu: ``torch.relu(a)``
    - tanh, sigmoid: ``torch.tanh``, ``torch.sigmoid``
    - clipped_relu: ``F.hardtanh(a, 0, u)`` = ``min(max(a, 0), u)``
    - shifted_relu: ``torch.relu(a + s)``
    - linear: identity
    """
    import torch.nn.functional as F

    _choice("activation", name, ACTIVATIONS)
    p = _ACT_PARAM_DEFAULT.get(name, 0.0) if act_param is None else float(act_param)
    if name == "relu":
        return torch.relu
    if name == "tanh":
        return torch.tanh
    if name == "sigmoid":
        return torch.sigmoid
    if name == "clipped_relu":
        return lambda a: F.hardtanh(a, 0.0, p)
    if name == "shifted_relu":
        return lambda a: torch.relu(a + p)
    return lambda a: a


# -- forward pass of recorded parameters ------------------------------------------


def stack_params(params: Any) -> dict[str, Any]:
    """Stack recorded parameter dicts into one dict of arrays with leading (batch) dims.

    Parameters
    ----------
    params : dict, or (nested) list of dicts
        ``EnsembleResult.params`` (a list over networks: leading dims ``(E,)``),
        ``EnsembleResult.weights_at`` (networks × weight epochs: ``(E, R)``), one
        network's ``weights_at[i]`` (``(R,)``), or a single dict (returned as arrays).

    Returns
    -------
    dict of str -> ndarray
        ``{"W0": (..., H_1, D), "b0": (..., H_1), ..., "W{L}": (..., K, H_L), ...}``.

    Raises
    ------
    ValueError
        Empty lists, dicts with different keys, or shapes that differ between items.
    """
    import numpy as np

    if isinstance(params, dict):
        return {k: np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v) for k, v in params.items()}
    if not isinstance(params, (list, tuple)) or len(params) == 0:
        raise ValueError(f"params must be a dict or a non-empty (nested) list of dicts; got {type(params).__name__}")
    items = [stack_params(p) for p in params]
    keys = set(items[0])
    for i, it in enumerate(items):
        if set(it) != keys:
            raise ValueError(f"params[{i}] has keys {sorted(it)}, params[0] has {sorted(keys)}")
    out = {}
    for k in items[0]:
        shapes = {it[k].shape for it in items}
        if len(shapes) != 1:
            raise ValueError(f"{k} has different shapes across items: {sorted(shapes)}")
        out[k] = np.stack([it[k] for it in items])
    return out


def hidden_responses(params: dict, X: Any, activation: str, act_param: float | None = None,
                     layers: Any = None) -> list:
    """Responses of every layer of (stacks of) networks to inputs: the model of this module.

    ``z_0 = X``, ``z_l = f(z_{l-1} W_{l-1}^T + b_{l-1})`` for ``l = 1..L`` and
    ``logits = z_L W_L^T + b_L`` (no biases when the params hold none), computed in
    float64 with :func:`activation_fn` -- the same function the engine and the
    reference use. Leading dims of the parameters (networks, epochs, ...) are
    batched; stack recorded parameters with :func:`stack_params`
    (``stack_params(res.weights_at)`` -> ``(E, R, ...)``).

    Parameters
    ----------
    params : dict
        ``{"W0": (..., H_1, D), "b0": (..., H_1), ..., "W{L}": (..., K, H_L), "b{L}": (..., K)}``
        as in :class:`repgeom_lite.ensemble.EnsembleResult` (NumPy or torch); the
        last weight ``W{L}`` is the linear readout, so ``L >= 1`` hidden layers need
        ``W0`` and ``W1``.
    X : array-like, (n, D) or (..., n, D)
        Inputs; leading dims broadcast against the parameters' (one input set per
        network: ``(E, n, D)``).
    activation, act_param : str, float or None
        As in :class:`NetConfig`.
    layers : sequence of int, optional
        Which outputs to return: ``0..L-1`` are the hidden layers ``z_1..z_L``,
        ``L`` (or ``-1``) the logits. Default: all, ``[z_1, ..., z_L, logits]``.
        Only the layers up to the deepest requested one are computed.

    Returns
    -------
    list of ndarray, float64
        One ``(..., n, H_l)`` array per requested layer (``(..., n, K)`` for the logits).

    Raises
    ------
    ValueError
        Missing weights, input width or leading dims that do not match, or a layer
        index out of range.
    """
    import numpy as np

    f = activation_fn(activation, act_param)

    def as_t(v: Any, name: str) -> torch.Tensor:
        if isinstance(v, torch.Tensor):
            return v.detach().to("cpu", torch.float64)
        arr = np.asarray(v)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
        return torch.as_tensor(arr, dtype=torch.float64)

    n_w = 0
    while f"W{n_w}" in params:
        n_w += 1
    L = n_w - 1
    if L < 1:
        raise ValueError(
            f"params must hold at least one hidden layer and a readout (W0 and W1); got keys {sorted(params)}"
        )
    if layers is None:
        wanted = list(range(L + 1))
    else:
        wanted = []
        for layer in layers:
            if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -(L + 1) <= layer <= L:
                raise ValueError(f"layers must hold integers in 0..{L} (or -{L + 1}..-1); got {layer!r}")
            wanted.append(int(layer) % (L + 1))
    z = as_t(X, "X")
    if z.ndim < 2:
        raise ValueError(f"X must have shape (n, D) or (..., n, D), got shape {tuple(z.shape)}")
    out: dict[int, torch.Tensor] = {}
    for layer in range(max(wanted) + 1):
        W = as_t(params[f"W{layer}"], f"W{layer}")
        if W.ndim < 2:
            raise ValueError(f"W{layer} must have shape (..., out, in), got shape {tuple(W.shape)}")
        if z.shape[-1] != W.shape[-1]:
            what = "X" if layer == 0 else f"layer {layer} (W{layer})"
            raise ValueError(f"{what} expects {W.shape[-1]} inputs, got {z.shape[-1]} (shape {tuple(z.shape)})")
        try:
            a = z @ W.transpose(-1, -2)
            if f"b{layer}" in params:
                a = a + as_t(params[f"b{layer}"], f"b{layer}").unsqueeze(-2)
        except RuntimeError as err:
            raise ValueError(
                f"leading (batch) dims of the inputs {tuple(z.shape[:-2])} and W{layer} {tuple(W.shape[:-2])} "
                f"do not broadcast ({err})"
            ) from err
        z = f(a) if layer < L else a
        out[layer] = z
    return [out[layer].numpy() for layer in wanted]


# -- activation specs as a reader writes them in a notebook ------------------------


def split_activation(spec: Any) -> tuple[str, float | None]:
    """``"tanh"`` -> ``("tanh", None)``; ``("shifted_relu", 0.5)`` -> ``("shifted_relu", 0.5)``.

    The form a chapter's one-line activation list takes
    (``activations = ["tanh", "relu", ("clipped_relu", 1.0)]``), split into the
    ``activation`` and ``act_param`` fields of :class:`NetConfig`.

    Raises
    ------
    ValueError
        Not a name or a ``(name, parameter)`` pair, or an unknown activation name.
    """
    if isinstance(spec, str):
        name, param = spec, None
    elif isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str):
        name, param = spec[0], None if spec[1] is None else float(spec[1])
    else:
        raise ValueError(f"an activation must be a name or a (name, parameter) pair, e.g. ('shifted_relu', 0.5); got {spec!r}")
    _choice("activation", name, ACTIVATIONS)
    return name, param


def activation_label(spec: Any) -> str:
    """Display label of an activation spec: ``"tanh"``, ``"ReLU"``, ``"clipped ReLU u=1"``, ``"shifted ReLU s=+0.5"``."""
    name, p = split_activation(spec)
    if name == "clipped_relu":
        return f"clipped ReLU u={_ACT_PARAM_DEFAULT[name] if p is None else p:g}"
    if name == "shifted_relu":
        return f"shifted ReLU s={_ACT_PARAM_DEFAULT[name] if p is None else p:+g}"
    return {"relu": "ReLU"}.get(name, name)
