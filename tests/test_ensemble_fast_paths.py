"""The engine's hand-written fast paths (issue 22) against solo runs, each path forced on and off.

Every path the engine chooses by a size heuristic (fused Adam per run of equal
hyperparameters or the per-network seven-pass update) is forced both ways here, on
stacks where the choice matters: per-network learning rates, betas and eps (many
runs), penalties on some networks only, early stops (compaction rebuilds the
runs), shared and per-network data orders, with and without the cumulative
gradient record. float64, 1e-10 against :func:`repgeom_lite.reference.train_single`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repgeom_lite import ensemble as ens
from repgeom_lite.ensemble import NetConfig, Records, TrainData, train_ensemble
from repgeom_lite.reference import train_single

TOL64 = 1e-10


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def make_bce(seed=0, n=24, D=5, K=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D))
    Y = (rng.random((n, K)) > 0.5).astype(float)
    return TrainData(X, Y, X[:10], Y[:10])


def make_mce(seed=0, n=30, D=6, heads=(3, 4)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D))
    Y = np.stack([rng.integers(0, h, size=n) for h in heads], axis=-1)
    return TrainData(X, Y, X[:10], Y[:10], heads=heads)


def _adam_stack(data_seed=0, loss="bce"):
    """One Adam stack: interleaved activations, lrs, betas, eps, L1/L2 on some networks, staggered epochs."""
    acts = ["relu", "tanh", "sigmoid", "relu", "tanh", "sigmoid", "linear", "clipped_relu"]
    configs = []
    for i in range(16):
        a = acts[i % len(acts)]
        configs.append(NetConfig(
            hidden=(6,), activation=a, act_param=0.9 if a == "clipped_relu" else None, optimizer="adam",
            readout="trainable", loss=loss, lr=(0.01, 0.03, 0.002)[i % 3],
            betas=((0.9, 0.999), (0.8, 0.99))[(i // 3) % 2], eps=(1e-8, 1e-6)[(i // 5) % 2],
            l1=(0.0, 0.01)[i % 2], l2=(0.0, 0.02)[(i // 2) % 2], batch_size=7, epochs=(4, 3, 4, 2)[i % 4],
            seed=200 + i, data_seed=data_seed if data_seed is not None else i))
    return configs


def _check(result, data, rec):
    for i, cfg in enumerate(result.configs):
        solo = train_single(cfg, data, rec, dtype=torch.float64)
        for k, v in solo.params[0].items():
            err = float(np.max(np.abs(result.params[i][k] - v)))
            assert err < TOL64, f"network {i} {k} differs from its solo run by {err:.3g} ({cfg})"
        assert result.stop_epoch[i] == solo.stop_epoch[0]
        if rec.cumulative_grads:
            for k, v in solo.cumulative_grads[0].items():
                assert float(np.max(np.abs(result.cumulative_grads[i][k] - v))) < TOL64


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("data_seed", [0, None])
@pytest.mark.parametrize("cumulative", [False, True])
def test_adam_fused_and_per_network_paths_equal_solo(monkeypatch, fused, data_seed, cumulative):
    """Fused Adam (one kernel call per distinct lr/betas/eps, over all its runs) and the seven-pass path, forced."""
    monkeypatch.setattr(ens, "_ADAM_MIN_CALLS", 10**9 if fused else 0)
    monkeypatch.setattr(ens, "_ADAM_PARAMS_PER_CALL", 1 if fused else 10**12)
    seen = []
    orig = ens._Chunk._build_hp

    def spy(self):
        orig(self)
        seen.append((self.adam_fused, len(self.adam_runs)))

    monkeypatch.setattr(ens._Chunk, "_build_hp", spy)
    data = make_bce()
    configs = _adam_stack(data_seed)
    rec = Records(cumulative_grads=cumulative)
    result = train_ensemble(configs, data, rec, device="cpu", dtype=torch.float64, progress=False)
    assert seen and all(f == fused for f, _ in seen)
    assert max(n for _, n in seen) > 1  # several runs in one stack, rebuilt on compaction
    _check(result, data, rec)


@pytest.mark.parametrize("fused", [True, False])
def test_adam_paths_multihead_loss(monkeypatch, fused):
    monkeypatch.setattr(ens, "_ADAM_MIN_CALLS", 10**9 if fused else 0)
    monkeypatch.setattr(ens, "_ADAM_PARAMS_PER_CALL", 1 if fused else 10**12)
    data = make_mce()
    configs = _adam_stack(0, loss="mce")
    rec = Records()
    _check(train_ensemble(configs, data, rec, device="cpu", dtype=torch.float64, progress=False), data, rec)


def test_adam_runs_and_block_order():
    """Rows are ordered by activation, then by Adam hyperparameters; runs are maximal."""
    configs = _adam_stack()
    order = ens._block_order(configs, list(range(len(configs))))
    assert sorted(order) == list(range(len(configs)))
    acts = [ens._ACT_BLOCK_ORDER[configs[i].activation] for i in order]
    assert acts == sorted(acts)
    hp = {"lr": np.array([0.1, 0.1, 0.2, 0.2, 0.1]), "beta1": np.full(5, 0.9), "beta2": np.full(5, 0.999),
          "eps": np.array([1e-8, 1e-8, 1e-8, 1e-6, 1e-6])}
    assert ens._adam_runs(hp) == [(0, 2, 0.1, 0.9, 0.999, 1e-8), (2, 3, 0.2, 0.9, 0.999, 1e-8),
                                  (3, 4, 0.2, 0.9, 0.999, 1e-6), (4, 5, 0.1, 0.9, 0.999, 1e-6)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rows_finite_is_exact(dtype):
    """Sum-first finiteness check: NaN/inf rows flagged, finite rows whose sum overflows are not."""
    big = torch.finfo(dtype).max / 2
    p = torch.zeros(5, 3, 4, dtype=dtype)
    p[1, 0, 0] = float("nan")
    p[2, 2, 3] = float("inf")
    p[3] = big  # every entry finite, the row sum overflows to inf
    p[4, 0, 0], p[4, 0, 1] = float("inf"), float("-inf")  # sum is NaN
    assert ens._rows_finite(p).tolist() == [True, False, False, True, False]
    assert ens._rows_finite(p).tolist() == torch.isfinite(p).flatten(1).all(1).tolist()


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("cumulative", [False, True])
def test_l1_penalty_on_some_rows_only(optimizer, cumulative):
    """L1 on different layer sets and strengths per network (the sign pass runs on the penalised rows
    only, in several runs per layer), L2 on some; fused SGD (no record) and the materialised-gradient path."""
    data = make_bce()
    layer_sets = [(0,), (1,), (0, 1), (0,)]
    configs = [
        NetConfig(hidden=(6,), activation=("relu", "tanh", "sigmoid")[i % 3], optimizer=optimizer,
                  readout="trainable", lr=(0.05, 0.02)[i % 2] if optimizer != "adam" else (0.01, 0.004)[i % 2],
                  l1=(0.0, 0.01, 0.03)[i % 3], l1_layers=layer_sets[(i // 3) % 4], l2=(0.0, 0.02)[(i // 4) % 2],
                  batch_size=7, epochs=(3, 2)[i % 2], seed=300 + i)
        for i in range(15)
    ]
    rec = Records(cumulative_grads=cumulative)
    result = train_ensemble(configs, data, rec, device="cpu", dtype=torch.float64, progress=False)
    _check(result, data, rec)


def test_penalty_runs():
    l1 = np.array([0.0, 0.1, 0.1, 0.0, 0.2, 0.3])
    runs = ens._penalty_runs([l1, -2 * l1], "cpu", torch.float64)
    assert [(s, e) for s, e, *_ in runs] == [(1, 3), (4, 6)]
    assert runs[0][2] == 0.1 and runs[0][3] == -0.2
    assert runs[1][2].shape == (2, 1, 1) and runs[1][2].flatten().tolist() == [0.2, 0.3]
    assert ens._penalty_runs([np.zeros(3)], "cpu", torch.float64) == []


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_final_params_whole_chunk_and_staggered(dtype):
    """Whole chunk finishing at once (arrays kept as converted) and staggered stops give the same
    parameters; results are float64 arrays not tied to each other across networks' rows."""
    data = make_bce()
    base = [NetConfig(hidden=(5,), activation="tanh", lr=0.05, batch_size=6, epochs=3, seed=s) for s in range(4)]
    whole = train_ensemble(base, data, Records(history=False), device="cpu", dtype=dtype, progress=False)
    staggered = train_ensemble(base + [base[0].replace(seed=9, epochs=1)], data, Records(history=False),
                               device="cpu", dtype=dtype, progress=False)
    for i in range(4):
        for k, v in whole.params[i].items():
            assert v.dtype == np.float64
            np.testing.assert_array_equal(v, staggered.params[i][k])
    w = whole.params[0]["W0"]
    w += 1.0  # writing into one network's result leaves the others alone
    assert not np.array_equal(whole.params[0]["W0"], staggered.params[0]["W0"])
    np.testing.assert_array_equal(whole.params[1]["W0"], staggered.params[1]["W0"])


def test_float32_cpu_tanh_block_within_two_ulp_of_torch():
    """float32 CPU tanh (NumPy's kernel) on a block in the middle of the stack: within 2 ulp of torch's,
    the other blocks untouched by it; float64 uses torch's kernel (bitwise)."""
    cfgs = [NetConfig(hidden=(4,), activation=a) for a in ("relu", "tanh", "tanh", "sigmoid")]
    order = ens._block_order(cfgs, list(range(4)))
    cfgs = [cfgs[i] for i in order]
    a = torch.randn(4, 4, 1000, dtype=torch.float64) * torch.logspace(-6, 1, 1000, dtype=torch.float64)
    for dtype in (torch.float32, torch.float64):
        act = ens._Activation(cfgs, torch.device("cpu"), dtype)
        x = a.to(dtype)
        z = act.forward_(x.clone())
        want = torch.tanh(x[1:3])
        if dtype == torch.float64:
            assert torch.equal(z[1:3], want)
        else:
            ulp = torch.finfo(dtype).eps * want.abs().clamp_min(torch.finfo(dtype).tiny)
            assert float(((z[1:3] - want).abs() / ulp).max()) <= 2.0
        assert torch.equal(z[0], torch.relu(x[0])) and torch.equal(z[3], torch.sigmoid(x[3]))


def test_float32_tanh_networks_equal_solo():
    data = make_bce(n=40, D=8, K=3)
    configs = [NetConfig(hidden=(16,), activation=a, optimizer=o, readout="trainable", lr=0.02, batch_size=8,
                         epochs=3, seed=s, data_seed=0)
               for s, (a, o) in enumerate([("tanh", "sgd"), ("relu", "sgd"), ("tanh", "sgd"), ("tanh", "adam")])]
    result = train_ensemble(configs, data, Records(), device="cpu", dtype=torch.float32, progress=False)
    for i, cfg in enumerate(configs):
        solo = train_single(cfg, data, Records(), dtype=torch.float32)
        for k, v in solo.params[0].items():
            scale = max(1.0, float(np.max(np.abs(v))))
            assert float(np.max(np.abs(result.params[i][k] - v))) / scale < 1e-5
        np.testing.assert_allclose(result.history["train_loss"][i], solo.history["train_loss"][0], rtol=1e-5)


def test_adam_without_fused_kernel_falls_back(monkeypatch):
    """A torch without a fused Adam kernel for the device (CPU before torch 2.4) uses the per-network path."""
    def missing(*args, **kwargs):
        raise NotImplementedError("no fused adam kernel for this device")

    monkeypatch.setattr(torch, "_fused_adam_", missing)
    assert not ens._fused_adam_available(torch.device("cpu"), torch.float64)
    data = make_bce()
    configs = _adam_stack(0)
    rec = Records(cumulative_grads=True)
    _check(train_ensemble(configs, data, rec, device="cpu", dtype=torch.float64, progress=False), data, rec)


def test_fused_adam_available_here():
    """torch >= 2.4 has the CPU kernel (the engine's fused path is then the one the other tests force)."""
    if tuple(int(x) for x in torch.__version__.split(".")[:2]) >= (2, 4):
        assert ens._fused_adam_available(torch.device("cpu"), torch.float32)
        assert ens._fused_adam_available(torch.device("cpu"), torch.float64)
