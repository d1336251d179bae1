"""Small convnets and residual nets, many instances trained as one batched computation.

The MLP engine (:mod:`repgeom_lite.ensemble`) does not do convolutions; this module
trains ``E`` instances of one convolutional architecture together (Lu et al. 2018
train 10 convnets and 5 ResNet-18 from different seeds on the same images).

Architectures
-------------
:class:`ConvNetArch` -> :class:`ConvNet`
    The source's MNIST convnet (``qihongl/nnsrm-neurips18``, ``models.py``):
    ``conv3x3 (same) -> ReLU -> conv3x3 (valid) -> ReLU -> maxpool 2 -> flatten ->
    fc (hidden) -> ReLU -> fc (classes)``: 2 conv + 2 fully connected layers. The
    source's CIFAR variant has two such conv pairs and dropout; we use no dropout.
:class:`ResNetArch` -> :class:`ResNet`
    A CIFAR-style residual net: ``conv3x3 stem -> [norm] -> ReLU``, then stages of
    basic blocks ``y = ReLU(x' + norm(conv(ReLU(norm(conv(x))))))`` (``x'``: the input,
    or a strided 1x1 projection when the shape changes; He et al. 2016), global average
    pooling and a linear readout. ``ResNetArch.resnet18()`` gives ResNet-18's widths
    and depths (64-128-256-512, two blocks per stage). **Normalisation**: ``"none"``
    (default; the last conv of every residual branch starts at zero, as torchvision's
    ``zero_init_residual``, so the net starts as its shortcut path and trains stably
    without normalisation) or ``"group"`` (GroupNorm, per sample, so it batches exactly).
    BatchNorm is not offered: its running statistics are per-network module state
    outside the stacked parameters, and its train/eval switch would make the recorded
    responses depend on that state rather than on the weights alone.

Initialisation (per network, own :class:`torch.Generator`, global RNG untouched)
    ConvNet: Glorot-uniform weights, zero biases (Keras defaults, as the source).
    ResNet: He-normal weights ``N(0, 2 / fan_in)``, zero biases, GroupNorm weight 1 and
    bias 0, residual-branch last conv zero when ``norm="none"``. Parameters are drawn
    in the order of ``model.named_parameters()``.

Training (:func:`train_conv_ensemble`)
    Cross-entropy, RMSprop as in Keras 2 (``v <- rho v + (1 - rho) g^2``,
    ``p <- p - lr_t g / (sqrt(v) + eps)``, ``lr_t = lr / (1 + decay t)`` with ``t`` the
    number of updates done; the source: ``lr = 1e-4``, ``decay = 1e-6``, ``rho = 0.9``,
    ``eps = 1e-7``), minibatches of ``batch_size``. Each network has its own data order:
    a CPU generator seeded with its ``data_seed`` draws ``torch.randperm(n)`` at the
    start of every epoch (:func:`repgeom_lite.models.epoch_permutations`, the MLP
    engine's convention); batches are consecutive slices, the last one possibly smaller.

How it is batched (:func:`stacked_forward`)
    The parameters of the ``E`` networks are stacked (every tensor gets a leading
    network axis, as ``torch.func.stack_module_state``). Network ``e`` owns channels
    ``e*C .. (e+1)*C - 1`` of one ``(B, E*C, H, W)`` activation tensor, so every
    convolution of all ``E`` networks is one grouped convolution (``groups=E``; the
    first layer, when all networks see the same images, one dense convolution with
    ``E*C_out`` channels), GroupNorm uses ``E*G`` groups (a group never straddles two
    networks), and the fully connected layers are batched matrix products
    (``baddbmm``). Each network gets its own minibatch: ``x: (E, B, C, H, W)`` is laid
    out as ``(B, E*C, H, W)``. The loss is the sum of the ``E`` networks' mean
    cross-entropies; since network ``e``'s parameters reach only its own term, one
    backward pass gives every network its own gradient, and the RMSprop update is
    elementwise on the stacked tensors. Nothing mixes across the network axis, which
    is why the result equals training each network alone (:func:`train_single_convnet`,
    plain ``nn.Module`` + ``torch.optim.RMSprop``); ``tests/test_convnets.py`` checks it
    in float64 to 1e-10. (``torch.func.vmap(grad(...))`` over the same stacked
    parameters gives the same numbers; on a CPU it was about 1.4x slower.) On a CPU
    these small convolutions are compute-bound, so batching gains little over a loop
    there (``benchmarks/bench_convnets.py``); on a GPU it turns ``E`` small kernels
    into one.

Shapes follow the package convention: hidden responses are ``(E, n_images, n_units)``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .device import describe_device, resolve_device
from .models import epoch_permutations

__all__ = [
    "ConvNetArch",
    "ResNetArch",
    "ConvNet",
    "ResNet",
    "RMSpropConfig",
    "ConvEnsembleResult",
    "build_model",
    "init_conv_params",
    "train_conv_ensemble",
    "train_single_convnet",
    "hidden_responses",
    "n_hidden_units",
    "stacked_forward",
]


# ============================================================================ architectures
@dataclass(frozen=True)
class ConvNetArch:
    """Plain convnet: 2 conv layers + 2 fully connected layers (Lu et al.'s MNIST convnet).

    Attributes
    ----------
    channels : tuple of 2 int
        Output channels of the two 3x3 convolutions (source: 32, 32).
    hidden : int
        Units of the last hidden (fully connected) layer (source: 256 for MNIST,
        512 for CIFAR).
    """

    channels: tuple[int, int] = (32, 32)
    hidden: int = 256

    def __post_init__(self) -> None:
        ch = tuple(int(c) for c in self.channels)
        if len(ch) != 2 or min(ch) < 1:
            raise ValueError(f"channels must be two positive ints, got {self.channels!r}")
        object.__setattr__(self, "channels", ch)
        if int(self.hidden) < 1:
            raise ValueError(f"hidden must be a positive int, got {self.hidden!r}")
        object.__setattr__(self, "hidden", int(self.hidden))

    @property
    def name(self) -> str:
        return "convnet"


@dataclass(frozen=True)
class ResNetArch:
    """Residual net of basic blocks (CIFAR-style stem, no max-pool).

    Attributes
    ----------
    widths : tuple of int
        Channels per stage; every stage after the first halves the spatial size.
    blocks : tuple of int
        Basic blocks per stage (same length as ``widths``).
    norm : {"none", "group"}
        Normalisation after each convolution.
    groups : int
        GroupNorm groups (must divide every width) when ``norm="group"``.
    """

    widths: tuple[int, ...] = (32, 64)
    blocks: tuple[int, ...] = (1, 1)
    norm: str = "none"
    groups: int = 8

    def __post_init__(self) -> None:
        widths = tuple(int(w) for w in self.widths)
        blocks = tuple(int(b) for b in self.blocks)
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be positive ints, got {self.widths!r}")
        if len(blocks) != len(widths) or min(blocks) < 1:
            raise ValueError(
                f"blocks must give a positive number of blocks per stage ({len(widths)} stages), "
                f"got {self.blocks!r}"
            )
        if self.norm not in ("none", "group"):
            raise ValueError(f"norm must be 'none' or 'group', got {self.norm!r}")
        if self.norm == "group" and any(w % int(self.groups) for w in widths):
            raise ValueError(f"groups = {self.groups} must divide every width {widths}")
        object.__setattr__(self, "widths", widths)
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "groups", int(self.groups))

    @property
    def name(self) -> str:
        return "resnet"

    @property
    def hidden(self) -> int:
        """Units of the last hidden layer (globally pooled features)."""
        return self.widths[-1]

    @classmethod
    def resnet18(cls, norm: str = "group", groups: int = 32) -> "ResNetArch":
        """ResNet-18's widths and depths (He et al. 2016), CIFAR-style stem."""
        return cls(widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2), norm=norm, groups=groups)


Arch = ConvNetArch | ResNetArch


def n_hidden_units(arch: Arch) -> int:
    """Number of units of the last hidden layer of ``arch``."""
    return arch.hidden


# ============================================================================ modules
def _norm(arch: ResNetArch, channels: int, device) -> nn.Module:
    if arch.norm == "group":
        return nn.GroupNorm(arch.groups, channels, device=device)
    return nn.Identity()


class ConvNet(nn.Module):
    """``x: (B, C, H, W) -> logits (B, K)``; see :class:`ConvNetArch`.

    ``forward(x, hidden="pre"|"post")`` also returns the last hidden layer ``(B, hidden)``:
    ``"pre"`` is the fully connected layer's output before its ReLU (what Lu et al.
    recorded: Keras ``Dense`` outputs, the activation being a separate layer), ``"post"``
    after it (the readout's input).
    """

    def __init__(self, arch: ConvNetArch, in_shape: Sequence[int], n_classes: int, device=None):
        super().__init__()
        C, H, W = (int(s) for s in in_shape)
        c1, c2 = arch.channels
        if H < 4 or W < 4:
            raise ValueError(f"ConvNet needs images of at least 4x4 pixels, got {H}x{W}")
        self.conv1 = nn.Conv2d(C, c1, 3, padding=1, device=device)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=0, device=device)
        n_flat = c2 * ((H - 2) // 2) * ((W - 2) // 2)
        self.fc1 = nn.Linear(n_flat, arch.hidden, device=device)
        self.fc2 = nn.Linear(arch.hidden, n_classes, device=device)

    def forward(self, x: torch.Tensor, hidden: str | None = None):
        z = F.relu(self.conv1(x))
        z = F.relu(self.conv2(z))
        z = F.max_pool2d(z, 2)
        pre = self.fc1(z.flatten(1))
        post = F.relu(pre)
        logits = self.fc2(post)
        if hidden is None:
            return logits
        return logits, (pre if hidden == "pre" else post)


class BasicBlock(nn.Module):
    """``y = ReLU(shortcut(x) + n2(conv2(ReLU(n1(conv1(x))))))``; pre-ReLU sum kept for ``hidden="pre"``."""

    def __init__(self, arch: ResNetArch, c_in: int, c_out: int, stride: int, device=None):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, device=device)
        self.n1 = _norm(arch, c_out, device)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, device=device)
        self.n2 = _norm(arch, c_out, device)
        self.proj = (
            nn.Conv2d(c_in, c_out, 1, stride=stride, device=device)
            if (stride != 1 or c_in != c_out)
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns the pre-ReLU sum; the caller applies the ReLU."""
        h = F.relu(self.n1(self.conv1(x)))
        h = self.n2(self.conv2(h))
        return h + (x if self.proj is None else self.proj(x))


class ResNet(nn.Module):
    """``x: (B, C, H, W) -> logits (B, K)``; see :class:`ResNetArch`.

    ``forward(x, hidden="pre"|"post")`` also returns the last hidden layer
    ``(B, widths[-1])``: the global average of the last block's pre-ReLU sum (``"pre"``,
    like the BatchNorm output Lu et al. recorded in the last ResNet-18 stage) or of its
    ReLU (``"post"``, the readout's input).
    """

    def __init__(self, arch: ResNetArch, in_shape: Sequence[int], n_classes: int, device=None):
        super().__init__()
        C = int(in_shape[0])
        w0 = arch.widths[0]
        self.stem = nn.Conv2d(C, w0, 3, padding=1, device=device)
        self.stem_norm = _norm(arch, w0, device)
        blocks = []
        c_in = w0
        for s, (w, nb) in enumerate(zip(arch.widths, arch.blocks)):
            for b in range(nb):
                stride = 2 if (s > 0 and b == 0) else 1
                blocks.append(BasicBlock(arch, c_in, w, stride, device))
                c_in = w
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(c_in, n_classes, device=device)

    def forward(self, x: torch.Tensor, hidden: str | None = None):
        z = F.relu(self.stem_norm(self.stem(x)))
        s = z
        for block in self.blocks:
            s = block(z)
            z = F.relu(s)
        post = z.mean(dim=(-2, -1))
        logits = self.fc(post)
        if hidden is None:
            return logits
        return logits, (s.mean(dim=(-2, -1)) if hidden == "pre" else post)


def build_model(arch: Arch, in_shape: Sequence[int], n_classes: int, device: Any = "meta") -> nn.Module:
    """The ``nn.Module`` of ``arch`` (on the ``meta`` device by default: no storage, no RNG).

    Parameters are not initialised here (``meta`` tensors); use :func:`init_conv_params`
    and ``torch.func.functional_call``, or ``module.to_empty(device=...)`` followed by
    ``load_state_dict``. Building on ``meta`` never touches the global RNG.
    """
    if isinstance(arch, ConvNetArch):
        return ConvNet(arch, in_shape, n_classes, device=device)
    if isinstance(arch, ResNetArch):
        return ResNet(arch, in_shape, n_classes, device=device)
    raise TypeError(f"arch must be a ConvNetArch or a ResNetArch, got {type(arch).__name__}")


def _fans(shape: torch.Size) -> tuple[int, int]:
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def init_conv_params(
    arch: Arch,
    in_shape: Sequence[int],
    n_classes: int,
    seed: int,
    *,
    dtype: torch.dtype = torch.float32,
) -> dict[str, torch.Tensor]:
    """Initial parameters of one network (CPU), drawn from its own generator.

    See the module docstring for the distributions. Returns ``{name: tensor}`` in the
    order of ``named_parameters()``.
    """
    model = build_model(arch, in_shape, n_classes)
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    params: dict[str, torch.Tensor] = {}
    zero_init = {
        f"blocks.{i}.conv2.weight" for i in range(len(getattr(model, "blocks", [])))
    } if (isinstance(arch, ResNetArch) and arch.norm == "none") else set()
    for name, p in model.named_parameters():
        shape = p.shape
        leaf = name.rsplit(".", 1)[-1]
        module_name = name.rsplit(".", 1)[0]
        module = model.get_submodule(module_name)
        if isinstance(module, nn.GroupNorm):
            value = torch.ones(shape, dtype=dtype) if leaf == "weight" else torch.zeros(shape, dtype=dtype)
        elif leaf == "bias":
            value = torch.zeros(shape, dtype=dtype)
        elif name in zero_init:
            value = torch.zeros(shape, dtype=dtype)
        elif isinstance(arch, ConvNetArch):  # Glorot uniform
            fan_in, fan_out = _fans(shape)
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            value = (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * limit
        else:  # He normal
            fan_in, _ = _fans(shape)
            value = torch.randn(shape, generator=gen, dtype=torch.float64) * math.sqrt(2.0 / fan_in)
        params[name] = value.to(dtype)
    return params


# ============================================================================ stacked forward
def _gconv(z: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, E: int, shared: bool,
           stride: int = 1, padding: int = 0) -> torch.Tensor:
    """``E`` convolutions as one: ``z: (B, E*C_in, H, W)`` (or ``(B, C_in, H, W)`` shared by all
    networks), ``w: (E, C_out, C_in, k, k)``, ``b: (E, C_out)`` -> ``(B, E*C_out, H', W')``.

    Network ``e`` owns channels ``e*C .. (e+1)*C - 1``; a grouped convolution (``groups=E``)
    keeps the networks apart. A shared input needs no groups: one dense convolution with
    ``E*C_out`` output channels.
    """
    weight = w.reshape(-1, *w.shape[2:])
    bias = None if b is None else b.reshape(-1)
    return F.conv2d(z, weight, bias, stride=stride, padding=padding, groups=1 if shared else E)


def _gnorm(arch: ResNetArch, z: torch.Tensor, P: dict, name: str, E: int) -> torch.Tensor:
    if arch.norm == "none":
        return z
    # groups of C / G consecutive channels never straddle two networks' channel blocks
    return F.group_norm(z, E * arch.groups, P[f"{name}.weight"].reshape(-1), P[f"{name}.bias"].reshape(-1))


def _to_networks(z: torch.Tensor, E: int) -> torch.Tensor:
    """``(B, E*F...)`` -> ``(E, B, F)`` (per-network flattening, channel-major as ``nn.Flatten``)."""
    return z.reshape(z.shape[0], E, -1).transpose(0, 1)


def _glinear(z: torch.Tensor, P: dict, name: str) -> torch.Tensor:
    """``z: (E, B, F_in) -> (E, B, F_out)`` with ``W: (E, F_out, F_in)``, ``b: (E, F_out)``."""
    return torch.baddbmm(P[f"{name}.bias"].unsqueeze(1), z, P[f"{name}.weight"].transpose(1, 2))


def stacked_forward(arch: Arch, P: dict, x: torch.Tensor, hidden: str | None = None):
    """All ``E`` networks at once: logits ``(E, B, K)`` (and the last hidden layer ``(E, B, N)``).

    Parameters
    ----------
    arch : ConvNetArch or ResNetArch
    P : dict of str -> Tensor
        Stacked parameters, ``(E, ...)`` each, names as in the ``nn.Module``.
    x : Tensor
        ``(E, B, C, H, W)``: each network its own images; or ``(B, C, H, W)``: the same
        images for every network.
    hidden : {None, "pre", "post"}

    The same function as ``E`` calls of :class:`ConvNet` / :class:`ResNet` (tested).
    """
    first = next(iter(P.values()))
    E = first.shape[0]
    shared = x.ndim == 4
    if not shared:
        if x.shape[0] != E:
            raise ValueError(f"x holds images for {x.shape[0]} networks, the parameters for {E}")
        x = x.transpose(0, 1).reshape(x.shape[1], -1, *x.shape[3:])  # (B, E*C, H, W)
    if isinstance(arch, ConvNetArch):
        z = F.relu(_gconv(x, P["conv1.weight"], P["conv1.bias"], E, shared, padding=1))
        z = F.relu(_gconv(z, P["conv2.weight"], P["conv2.bias"], E, False))
        z = F.max_pool2d(z, 2)
        pre = _glinear(_to_networks(z, E), P, "fc1")
        post = F.relu(pre)
        logits = _glinear(post, P, "fc2")
    else:
        z = F.relu(_gnorm(arch, _gconv(x, P["stem.weight"], P["stem.bias"], E, shared, padding=1), P, "stem_norm", E))
        s = z
        i = 0
        for st, nb in enumerate(arch.blocks):
            for bk in range(nb):
                stride = 2 if (st > 0 and bk == 0) else 1
                n = f"blocks.{i}"
                h = _gconv(z, P[f"{n}.conv1.weight"], P[f"{n}.conv1.bias"], E, False, stride, 1)
                h = F.relu(_gnorm(arch, h, P, f"{n}.n1", E))
                h = _gnorm(arch, _gconv(h, P[f"{n}.conv2.weight"], P[f"{n}.conv2.bias"], E, False, 1, 1), P, f"{n}.n2", E)
                short = z if f"{n}.proj.weight" not in P else _gconv(
                    z, P[f"{n}.proj.weight"], P[f"{n}.proj.bias"], E, False, stride, 0
                )
                s = h + short
                z = F.relu(s)
                i += 1
        post = _to_networks(z.mean(dim=(-2, -1)), E)
        logits = _glinear(post, P, "fc")
        pre = _to_networks(s.mean(dim=(-2, -1)), E)
    if hidden is None:
        return logits
    return logits, (pre if hidden == "pre" else post)


# ============================================================================ training
@dataclass(frozen=True)
class RMSpropConfig:
    """Optimiser and schedule (Keras 2 RMSprop; source values as defaults).

    Attributes
    ----------
    lr : float
        Learning rate (source: 1e-4).
    epochs : int
        Passes over the training images (source: 50).
    batch_size : int
        Minibatch size (source: 32).
    rho : float
        Decay of the squared-gradient average (Keras: 0.9; ``alpha`` in torch).
    eps : float
        Added to ``sqrt(v)`` (Keras: 1e-7).
    decay : float
        ``lr_t = lr / (1 + decay * t)``, ``t`` = updates done (source: 1e-6).
    """

    lr: float = 1e-4
    epochs: int = 50
    batch_size: int = 32
    rho: float = 0.9
    eps: float = 1e-7
    decay: float = 1e-6

    def __post_init__(self) -> None:
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if int(self.epochs) < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs!r}")
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size!r}")
        if not 0 <= self.rho < 1:
            raise ValueError(f"rho must be in [0, 1), got {self.rho!r}")
        if not self.eps > 0:
            raise ValueError(f"eps must be > 0, got {self.eps!r}")
        if not self.decay >= 0:
            raise ValueError(f"decay must be >= 0, got {self.decay!r}")
        object.__setattr__(self, "epochs", int(self.epochs))
        object.__setattr__(self, "batch_size", int(self.batch_size))


@dataclass(frozen=True, eq=False)
class ConvEnsembleResult:
    """``E`` trained instances of one architecture.

    Attributes
    ----------
    arch : ConvNetArch or ResNetArch
    in_shape : tuple of int
        ``(C, H, W)``.
    n_classes : int
    seeds, data_seeds : tuple of int, (E,)
        Initialisation and data-order seeds.
    params : dict of str -> Tensor, (E, ...) each
        Final parameters, stacked (CPU).
    train_loss : ndarray, (E, epochs + 1)
        Mean training cross-entropy: column 0 on all training images at initialisation,
        column ``e`` the mean over epoch ``e``'s minibatches.
    eval_acc : ndarray, (E, epochs + 1)
        Accuracy on the evaluation images (NaN when none were given) at initialisation
        and after every epoch.
    recorded : dict of int -> ndarray (E, n_record, hidden)
        Last-hidden-layer responses to ``X_record`` after the epochs in
        ``record_epochs`` (0 = initialisation).
    config : RMSpropConfig
    hidden : str
        ``"pre"`` or ``"post"`` (which responses ``recorded`` holds).
    dtype : str
    device : str
    wall_time_s : float
    """

    arch: Any
    in_shape: tuple
    n_classes: int
    seeds: tuple
    data_seeds: tuple
    params: dict
    train_loss: np.ndarray
    eval_acc: np.ndarray
    recorded: dict
    config: RMSpropConfig
    hidden: str
    dtype: str
    device: str
    wall_time_s: float

    @property
    def n_networks(self) -> int:
        return len(self.seeds)

    def network_params(self, e: int) -> dict[str, torch.Tensor]:
        """Parameters of network ``e`` (unstacked views)."""
        return {k: v[e] for k, v in self.params.items()}


def _check_images(X: Any, y: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    Xt = torch.as_tensor(np.asarray(X))
    if Xt.ndim != 4:
        raise ValueError(f"{name} images must have shape (n, C, H, W), got {tuple(Xt.shape)}")
    if y is None:
        return Xt, None
    yt = torch.as_tensor(np.asarray(y)).long()
    if yt.shape != (Xt.shape[0],):
        raise ValueError(f"{name} labels must have shape ({Xt.shape[0]},), got {tuple(yt.shape)}")
    return Xt, yt


def _seeds(seeds: Sequence[int], data_seeds: Sequence[int] | None) -> tuple[tuple, tuple]:
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must list at least one network seed")
    if data_seeds is None:
        data_seeds = seeds
    data_seeds = tuple(int(s) for s in data_seeds)
    if len(data_seeds) != len(seeds):
        raise ValueError(f"data_seeds must have one entry per seed ({len(seeds)}), got {len(data_seeds)}")
    return seeds, data_seeds


def _hidden_kind(hidden: str) -> str:
    if hidden not in ("pre", "post"):
        raise ValueError(f"hidden must be 'pre' or 'post', got {hidden!r}")
    return hidden


def train_conv_ensemble(
    arch: Arch,
    X_train: Any,
    y_train: Any,
    seeds: Sequence[int],
    *,
    data_seeds: Sequence[int] | None = None,
    config: RMSpropConfig = RMSpropConfig(),
    n_classes: int | None = None,
    X_eval: Any = None,
    y_eval: Any = None,
    X_record: Any = None,
    record_epochs: Sequence[int] = (),
    hidden: str = "pre",
    device: Any = "auto",
    dtype: torch.dtype = torch.float32,
    progress: bool = True,
    desc: str | None = None,
    num_threads: int | None = None,
) -> ConvEnsembleResult:
    """Train one instance of ``arch`` per seed, all together (see the module docstring).

    Parameters
    ----------
    arch : ConvNetArch or ResNetArch
    X_train : array, (n, C, H, W)
        Training images (the same for every network).
    y_train : array of int, (n,)
    seeds : sequence of int, (E,)
        Initialisation seed of each network.
    data_seeds : sequence of int, (E,), optional
        Data-order seed of each network (default: ``seeds``).
    config : RMSpropConfig
    n_classes : int, optional
        Default ``max(y_train) + 1``.
    X_eval, y_eval : arrays, optional
        Accuracy after every epoch (``eval_acc``).
    X_record : array (n_record, C, H, W), optional
        Images whose last-hidden-layer responses are kept at ``record_epochs``.
    record_epochs : sequence of int
        Epochs (0 = initialisation) at which to record; the final epoch is always
        recorded when ``X_record`` is given.
    hidden : {"pre", "post"}
        Which last-hidden-layer responses to record (see :class:`ConvNet`, :class:`ResNet`).
    device : "auto", "cpu", "cuda", ...
    dtype : torch dtype
        ``torch.float64`` for the equivalence tests.
    progress : bool
        tqdm bar over epochs.
    num_threads : int, optional
        CPU threads for torch during this call (restored afterwards); ``None`` keeps
        the current setting. These networks are small: on a CPU shared with other
        work, one thread avoids the cost of idle-waiting threads (measured on a busy
        2-core machine: 1 thread 15x faster than 2); on an idle one, 2 threads gain
        at most 2x.

    Returns
    -------
    ConvEnsembleResult
    """
    if num_threads is not None:
        if int(num_threads) < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads!r}")
        before = torch.get_num_threads()
        torch.set_num_threads(int(num_threads))
        try:
            return train_conv_ensemble(
                arch, X_train, y_train, seeds, data_seeds=data_seeds, config=config, n_classes=n_classes,
                X_eval=X_eval, y_eval=y_eval, X_record=X_record, record_epochs=record_epochs, hidden=hidden,
                device=device, dtype=dtype, progress=progress, desc=desc, num_threads=None,
            )
        finally:
            torch.set_num_threads(before)
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    dev = resolve_device(device)
    seeds, data_seeds = _seeds(seeds, data_seeds)
    hidden = _hidden_kind(hidden)
    Xtr, ytr = _check_images(X_train, y_train, "X_train")
    n, in_shape = Xtr.shape[0], tuple(int(s) for s in Xtr.shape[1:])
    if n < 1:
        raise ValueError("X_train must hold at least one image")
    K = int(n_classes) if n_classes is not None else int(ytr.max()) + 1
    if int(ytr.min()) < 0 or int(ytr.max()) >= K:
        raise ValueError(f"labels must lie in 0..{K - 1}")
    Xev, yev = (None, None) if X_eval is None else _check_images(X_eval, y_eval, "X_eval")
    if Xev is not None and (yev is None or tuple(Xev.shape[1:]) != in_shape):
        raise ValueError(f"X_eval must have labels and the training images' shape {in_shape}")
    Xrec = None
    if X_record is not None:
        Xrec, _ = _check_images(X_record, None, "X_record")
        if tuple(Xrec.shape[1:]) != in_shape:
            raise ValueError(f"X_record images must have shape {in_shape}, got {tuple(Xrec.shape[1:])}")
    rec_epochs = sorted({int(e) for e in record_epochs} | ({config.epochs} if Xrec is not None else set()))
    if any(e < 0 or e > config.epochs for e in rec_epochs):
        raise ValueError(f"record_epochs must lie in 0..{config.epochs}, got {list(record_epochs)}")

    E = len(seeds)
    build_model(arch, in_shape, K)  # validates the architecture against the image size
    per_net = [init_conv_params(arch, in_shape, K, s, dtype=dtype) for s in seeds]
    params = {k: torch.stack([p[k] for p in per_net]).to(dev).requires_grad_() for k in per_net[0]}
    names = list(params)
    tensors = [params[k] for k in names]
    sq_avg = [torch.zeros_like(p) for p in tensors]
    Xtr_d = Xtr.to(dev, dtype)
    ytr_d = ytr.to(dev)

    def evaluate_loss_acc(X, y):
        losses = torch.zeros(E, dtype=torch.float64, device=dev)
        correct = torch.zeros(E, dtype=torch.float64, device=dev)
        with torch.no_grad():
            for s in range(0, X.shape[0], _EVAL_BATCH):
                xb, yb = X[s:s + _EVAL_BATCH].to(dev, dtype), y[s:s + _EVAL_BATCH].to(dev)
                logits = stacked_forward(arch, params, xb)  # (E, b, K)
                losses += F.cross_entropy(
                    logits.reshape(-1, K), yb.repeat(E), reduction="none"
                ).reshape(E, -1).sum(1).double()
                correct += (logits.argmax(-1) == yb).sum(1).double()
        return (losses / X.shape[0]).cpu().numpy(), (correct / X.shape[0]).cpu().numpy()

    def record() -> np.ndarray:
        with torch.no_grad():
            out = [stacked_forward(arch, params, Xrec[s:s + _EVAL_BATCH].to(dev, dtype), hidden)[1]
                   for s in range(0, Xrec.shape[0], _EVAL_BATCH)]
        return torch.cat(out, dim=1).double().cpu().numpy()

    T = config.epochs
    train_loss = np.full((E, T + 1), np.nan)
    eval_acc = np.full((E, T + 1), np.nan)
    recorded: dict[int, np.ndarray] = {}
    train_loss[:, 0] = evaluate_loss_acc(Xtr, ytr)[0]
    if Xev is not None:
        eval_acc[:, 0] = evaluate_loss_acc(Xev, yev)[1]
    if 0 in rec_epochs:
        recorded[0] = record()

    perms = [epoch_permutations(ds, n) for ds in data_seeds]
    B = config.batch_size
    t_step = 0
    bar = tqdm(total=T, desc=desc or f"{arch.name} x{E}", disable=not progress, leave=False)
    for epoch in range(1, T + 1):
        order = torch.stack([next(p) for p in perms]).to(dev)  # (E, n)
        epoch_loss = torch.zeros(E, dtype=torch.float64, device=dev)
        n_batches = 0
        for s in range(0, n, B):
            idx = order[:, s:s + B]  # (E, b)
            logits = stacked_forward(arch, params, Xtr_d[idx])  # (E, b, K)
            losses = F.cross_entropy(logits.transpose(1, 2), ytr_d[idx], reduction="none").mean(1)  # (E,)
            # network e's parameters only reach losses[e], so d(sum)/dP_e = dL_e/dP_e
            grads = torch.autograd.grad(losses.sum(), tensors)
            lr_t = config.lr / (1.0 + config.decay * t_step)
            with torch.no_grad():
                for p, g, v in zip(tensors, grads, sq_avg):
                    v.mul_(config.rho).addcmul_(g, g, value=1.0 - config.rho)
                    p.addcdiv_(g, v.sqrt().add_(config.eps), value=-lr_t)
            epoch_loss += losses.detach().double()
            n_batches += 1
            t_step += 1
        train_loss[:, epoch] = (epoch_loss / n_batches).cpu().numpy()
        if Xev is not None:
            eval_acc[:, epoch] = evaluate_loss_acc(Xev, yev)[1]
        if epoch in rec_epochs:
            recorded[epoch] = record()
        bar.update(1)
        if Xev is not None:
            bar.set_postfix(acc=f"{np.nanmean(eval_acc[:, epoch]):.3f}")
    bar.close()
    return ConvEnsembleResult(
        arch=arch,
        in_shape=in_shape,
        n_classes=K,
        seeds=seeds,
        data_seeds=data_seeds,
        params={k: v.detach().cpu() for k, v in params.items()},
        train_loss=train_loss,
        eval_acc=eval_acc,
        recorded=recorded,
        config=config,
        hidden=hidden,
        dtype=str(dtype).replace("torch.", ""),
        device=describe_device(dev),
        wall_time_s=time.perf_counter() - t0,
    )


_EVAL_BATCH = 1024


def train_single_convnet(
    arch: Arch,
    X_train: Any,
    y_train: Any,
    seed: int,
    *,
    data_seed: int | None = None,
    config: RMSpropConfig = RMSpropConfig(),
    n_classes: int | None = None,
    dtype: torch.dtype = torch.float64,
) -> tuple[nn.Module, list[float]]:
    """Train one network the plain way: ``nn.Module`` + ``torch.optim.RMSprop`` + autograd.

    The oracle of :func:`train_conv_ensemble` (same initialisation, data order and
    update rule; ``decay`` via ``LambdaLR`` stepped after every update).

    Returns
    -------
    model : nn.Module
        The trained network (CPU).
    epoch_losses : list of float
        Mean minibatch loss of every epoch.
    """
    Xtr, ytr = _check_images(X_train, y_train, "X_train")
    in_shape = tuple(int(s) for s in Xtr.shape[1:])
    K = int(n_classes) if n_classes is not None else int(ytr.max()) + 1
    model = build_model(arch, in_shape, K).to_empty(device="cpu").to(dtype)
    model.load_state_dict(init_conv_params(arch, in_shape, K, seed, dtype=dtype))
    opt = torch.optim.RMSprop(model.parameters(), lr=config.lr, alpha=config.rho, eps=config.eps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1.0 + config.decay * t))
    perms = epoch_permutations(seed if data_seed is None else data_seed, Xtr.shape[0])
    X = Xtr.to(dtype)
    losses = []
    for _ in range(config.epochs):
        order = next(perms)
        total, nb = 0.0, 0
        for s in range(0, X.shape[0], config.batch_size):
            idx = order[s:s + config.batch_size]
            opt.zero_grad()
            loss = F.cross_entropy(model(X[idx]), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
            nb += 1
        losses.append(total / nb)
    return model, losses


def hidden_responses(
    result: ConvEnsembleResult,
    X: Any,
    *,
    hidden: str | None = None,
    device: Any = "auto",
    batch_size: int = _EVAL_BATCH,
) -> np.ndarray:
    """Last-hidden-layer responses of every trained network to images ``X``.

    Parameters
    ----------
    result : ConvEnsembleResult
    X : array, (n, C, H, W)
    hidden : {"pre", "post"}, optional
        Default: the kind the result was trained to record.

    Returns
    -------
    ndarray, float64, (E, n, n_units)
    """
    hidden = _hidden_kind(result.hidden if hidden is None else hidden)
    Xt, _ = _check_images(X, None, "X")
    if tuple(Xt.shape[1:]) != tuple(result.in_shape):
        raise ValueError(f"X images must have shape {tuple(result.in_shape)}, got {tuple(Xt.shape[1:])}")
    dev = resolve_device(device)
    dtype = getattr(torch, result.dtype)
    params = {k: v.to(dev) for k, v in result.params.items()}
    with torch.no_grad():
        out = [stacked_forward(result.arch, params, Xt[s:s + batch_size].to(dev, dtype), hidden)[1]
               for s in range(0, Xt.shape[0], batch_size)]
    return torch.cat(out, dim=1).double().cpu().numpy()
