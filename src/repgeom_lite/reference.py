"""Plain per-network training: the oracle for the batched engine and the benchmark's naive loop.

:func:`train_single` is what a user would write: an ``nn.Module`` MLP, a
``torch.optim`` optimizer and a minibatch loop with autograd. It follows the
same conventions as the engine (documented in :mod:`repgeom_lite.models`):

* initial weights from :func:`repgeom_lite.models.init_params` (per-network CPU
  generator seeded with ``config.seed``; draws ``W0, ..., W{L-1}``, then the readout);
* data order from :func:`repgeom_lite.models.epoch_permutations`: a CPU generator
  seeded with ``config.data_seed`` (or ``seed``) draws ``torch.randperm(n)`` at the
  start of each epoch; minibatches are consecutive slices of it, the last one
  possibly smaller;
* loss = task loss (``BCEWithLogitsLoss()``, ``CrossEntropyLoss()`` or, for ``"mce"``,
  the sum over heads of ``CrossEntropyLoss()`` on each head's logits; mean reduction) ``+ l1 * sum_{l in l1_layers} |W_l|_1 + (l2 / 2) * sum_{trained W} ||W||^2``;
* the readout (weight and bias) is frozen unless ``readout == "trainable"``;
* after each epoch: a network with a non-finite parameter is marked diverged
  and stops; else it stops when ``tol`` is set and the largest absolute change of
  any trained parameter over the epoch is below ``tol``.

It returns an :class:`~repgeom_lite.ensemble.EnsembleResult` with one network, so
its fields can be compared one to one with the engine's.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn

from .device import describe_device, resolve_device
from .ensemble import EnsembleResult, Records, TrainData, _check_against_data
from .models import NetConfig, activation_fn, epoch_permutations, head_slices, init_params, param_names

__all__ = ["MLP", "train_single"]


class MLP(nn.Module):
    """``L`` hidden layers ``z_l = f(W_{l-1} z_{l-1} + b_{l-1})`` and a linear readout (logits).

    Parameters
    ----------
    config : NetConfig
    n_inputs, n_outputs : int
        ``D`` and ``K``.
    """

    def __init__(self, config: NetConfig, n_inputs: int, n_outputs: int):
        super().__init__()
        sizes = [n_inputs, *config.hidden, n_outputs]
        self.layers = nn.ModuleList(
            nn.Linear(sizes[i], sizes[i + 1], bias=config.bias) for i in range(len(sizes) - 1)
        )
        self.f = activation_fn(config.activation, config.act_param)

    def forward(self, x: torch.Tensor, return_hidden: bool = False):
        """``x: (B, D) -> logits (B, K)`` (and the list of hidden responses ``(B, H_l)``)."""
        hidden = []
        for lin in self.layers[:-1]:
            x = self.f(lin(x))
            hidden.append(x)
        out = self.layers[-1](x)
        return (out, hidden) if return_hidden else out


def _loss_fn(config: NetConfig, heads=None):
    if config.loss == "mce":  # one softmax per head, the heads' mean cross-entropies summed
        ce, slices = nn.CrossEntropyLoss(), head_slices(heads)
        return lambda out, Y: sum(ce(out[:, s], Y[:, j]) for j, s in enumerate(slices))
    return nn.BCEWithLogitsLoss() if config.loss == "bce" else nn.CrossEntropyLoss()


def _accuracy(logits: torch.Tensor, Y: torch.Tensor, loss: str, heads=None) -> float:
    if loss == "bce":
        return ((logits > 0) == (Y > 0.5)).double().mean().item()
    if loss == "mce":
        return torch.stack([logits[:, s].argmax(1) == Y[:, j] for j, s in enumerate(head_slices(heads))],
                           1).double().mean().item()
    return (logits.argmax(1) == Y).double().mean().item()


def train_single(
    config: NetConfig,
    data: TrainData,
    records: Records | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> EnsembleResult:
    """Train one network the plain way (module + optimizer + loop).

    Parameters
    ----------
    config : NetConfig
    data : TrainData
        The network uses dataset ``config.dataset``.
    records : Records, optional
        Same meaning as for :func:`repgeom_lite.ensemble.train_ensemble`.
    dtype : torch.dtype
    device : str

    Returns
    -------
    EnsembleResult
        With a single network.
    """
    with torch.enable_grad():  # works when called under torch.no_grad() too
        return _train_single(config, data, records, dtype, device)


def _train_single(config, data, records, dtype, device) -> EnsembleResult:
    t0 = time.perf_counter()
    records = Records() if records is None else records
    _check_against_data([config], data)
    dev = resolve_device(device)
    g = config.dataset
    X = data.X[g].to(dev, dtype)
    Y = data.Y[g].to(dev, dtype) if data.loss == "bce" else data.Y[g].to(dev)
    has_test = data.X_test is not None
    if has_test:
        Xt = data.X_test[g].to(dev, dtype)
        Yt = data.Y_test[g].to(dev, dtype) if data.loss == "bce" else data.Y_test[g].to(dev)
    probe = None
    if records.probe is not None:
        P = records.probe
        probe = (P[0] if P.shape[0] == 1 else P[g]).to(dev, dtype)
    n, D = X.shape
    K = data.n_outputs
    L = config.n_layers

    model = MLP(config, D, K).to(dev, dtype)
    init = init_params(config, D, K, dtype=dtype)
    with torch.no_grad():
        for l, lin in enumerate(model.layers):
            lin.weight.copy_(init[f"W{l}"])
            if config.bias:
                lin.bias.copy_(init[f"b{l}"])
    readout = model.layers[-1]
    if not config.readout_trainable:
        for p in readout.parameters():
            p.requires_grad_(False)
    trained_named = [(n_, p) for n_, p in _named(model, config) if p.requires_grad]
    trained = [p for _, p in trained_named]
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(trained, lr=config.lr, foreach=False)
    elif config.optimizer == "momentum":
        opt = torch.optim.SGD(trained, lr=config.lr, momentum=config.momentum, foreach=False)
    else:
        opt = torch.optim.Adam(trained, lr=config.lr, betas=config.betas, eps=config.eps, foreach=False)
    loss_fn = _loss_fn(config, data.heads)
    l1_weights = [model.layers[l].weight for l in config.l1_layers] if config.l1 > 0 else []
    l2_weights = [lin.weight for lin in model.layers if lin.weight.requires_grad] if config.l2 > 0 else []

    T = config.epochs
    hist = {k: np.full((1, T + 1), np.nan) for k in ("train_loss", "train_acc", "test_loss", "test_acc")} \
        if records.history else {}
    probe_rec = [None] * len(records.probe_epochs)
    weight_rec = [None] * len(records.weight_epochs)
    cum = {n_: torch.zeros_like(p) for n_, p in trained_named} if records.cumulative_grads else None

    def params_np():
        return {n_: p.detach().to("cpu", torch.float64).numpy().copy() for n_, p in _named(model, config)}

    def probe_np():
        with torch.no_grad():
            _, hidden = model(probe, return_hidden=True)
        out = []
        for h in hidden:
            h = h.unsqueeze(0)
            if records.probe_transform is not None:
                h = records.probe_transform(h)
            out.append(h[0].detach().to("cpu", torch.float64).numpy())
        return out

    def record(epoch: int):
        if records.history:
            with torch.no_grad():
                out = model(X)
                hist["train_loss"][0, epoch] = loss_fn(out, Y).item()
                hist["train_acc"][0, epoch] = _accuracy(out, Y, config.loss, data.heads)
                if has_test:
                    out = model(Xt)
                    hist["test_loss"][0, epoch] = loss_fn(out, Yt).item()
                    hist["test_acc"][0, epoch] = _accuracy(out, Yt, config.loss, data.heads)
        for i, e in enumerate(records.probe_epochs):
            if e == epoch:
                probe_rec[i] = probe_np()
        for i, e in enumerate(records.weight_epochs):
            if e == epoch:
                weight_rec[i] = params_np()

    def fill_later(epoch: int):
        """A stopped network keeps its final state for the records of later epochs."""
        if any(e > epoch for e in records.probe_epochs):
            resp = probe_np()
            for i, e in enumerate(records.probe_epochs):
                if e > epoch:
                    probe_rec[i] = resp
        if any(e > epoch for e in records.weight_epochs):
            final = params_np()
            for i, e in enumerate(records.weight_epochs):
                if e > epoch:
                    weight_rec[i] = final

    record(0)
    stop, diverged = 0, False
    order = epoch_permutations(config.resolved_data_seed, n)
    B = config.batch_size
    for epoch in range(1, T + 1):
        prev = [p.detach().clone() for p in trained] if config.tol is not None else None
        perm = next(order).to(dev)
        for s in range(0, n, B):
            idx = perm[s : s + B]
            out = model(X[idx])
            loss = loss_fn(out, Y[idx])
            if l1_weights:
                loss = loss + config.l1 * sum(W.abs().sum() for W in l1_weights)
            if l2_weights:
                loss = loss + config.l2 / 2 * sum(W.pow(2).sum() for W in l2_weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cum is not None:
                for n_, p in trained_named:
                    cum[n_].add_(p.grad)
            opt.step()
        stop = epoch
        record(epoch)
        finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
        if not finite:
            diverged = True
            break
        if prev is not None:
            dmax = max(float((p.detach() - q).abs().max()) for p, q in zip(trained, prev))
            if dmax < config.tol:
                break
    fill_later(stop)
    params = params_np()
    probe_out = None
    if records.probe_epochs:
        same = len({x.shape for x in probe_rec[0]}) == 1
        probe_out = [np.stack([np.stack(r) for r in probe_rec]) if same
                     else [np.stack([r[layer] for r in probe_rec]) for layer in range(L)]]
    cum_out = None
    if cum is not None:
        cum_out = [{n_: v.detach().to("cpu", torch.float64).numpy() for n_, v in cum.items()}]
    return EnsembleResult(
        configs=[config],
        params=[params],
        history=hist,
        stop_epoch=np.array([stop]),
        diverged=np.array([diverged]),
        probe=probe_out,
        probe_epochs=records.probe_epochs,
        weights_at=[weight_rec] if records.weight_epochs else None,
        weight_epochs=records.weight_epochs,
        cumulative_grads=cum_out,
        ids=np.array([0]),
        device=describe_device(dev),
        wall_time_s=time.perf_counter() - t0,
    )


def _named(model: MLP, config: NetConfig):
    """``[("W0", weight), ("b0", bias), ...]`` in the package's naming."""
    out = []
    for l, lin in enumerate(model.layers):
        out.append((f"W{l}", lin.weight))
        if config.bias:
            out.append((f"b{l}", lin.bias))
    assert [n for n, _ in out] == param_names(config)
    return out
