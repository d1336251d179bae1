"""Batched engine == per-network reference, records, early stopping, divergence, validation.

Sizes are tiny on purpose (the whole file runs in seconds on 2 cores).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from repgeom_lite.ensemble import (
    EnsembleResult,
    NetConfig,
    Records,
    TrainData,
    concat_results,
    load_result,
    save_result,
    train_ensemble,
)
from repgeom_lite.models import ACTIVATIONS, INITS, OPTIMIZERS, epoch_permutations, init_params
from repgeom_lite.reference import train_single



pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


TOL64 = 1e-10  # float64: engine vs reference, absolute
RTOL32 = 1e-5  # float32: relative to the largest entry


def make_bce(seed=0, n=24, D=5, K=2, G=None, n_test=10):
    rng = np.random.default_rng(seed)
    lead = () if G is None else (G,)
    X = rng.normal(size=(*lead, n, D))
    Y = (rng.random((*lead, n, K)) > 0.5).astype(float)
    Xt = rng.normal(size=(*lead, n_test, D))
    Yt = (rng.random((*lead, n_test, K)) > 0.5).astype(float)
    return TrainData(X, Y, Xt, Yt)


def make_ce(seed=0, n=24, D=5, n_classes=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D))
    Y = rng.integers(0, n_classes, size=n)
    return TrainData(X, Y, X[:8], Y[:8], n_classes=n_classes)


def run(configs, data, records=None, **kw):
    kw.setdefault("dtype", torch.float64)
    kw.setdefault("device", "cpu")
    kw.setdefault("progress", False)
    return train_ensemble(configs, data, records, **kw)


def max_param_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def assert_same_as_solo(result: EnsembleResult, data, records=None, dtype=torch.float64):
    for i, cfg in enumerate(result.configs):
        solo = train_single(cfg, data, records, dtype=dtype)
        if dtype == torch.float64:
            err = max_param_diff(result.params[i], solo.params[0])
            assert err < TOL64, f"network {i} ({cfg}) differs from its solo run by {err:.3g}"
        else:
            for k, v in solo.params[0].items():
                scale = max(1.0, float(np.max(np.abs(v))))
                err = float(np.max(np.abs(result.params[i][k] - v))) / scale
                assert err < RTOL32, f"network {i} {k}: relative error {err:.3g} ({cfg})"
        assert result.stop_epoch[i] == solo.stop_epoch[0]
        assert result.diverged[i] == solo.diverged[0]
    return True


# --------------------------------------------------------------------------- equivalence


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_engine_equals_reference_float64(optimizer, activation):
    """Every optimizer x activation x init (x frozen/trainable readout), to 1e-10 in float64."""
    data = make_bce()
    act_param = {"clipped_relu": 0.7, "shifted_relu": -0.3}.get(activation)
    configs = [
        NetConfig(hidden=(6,), activation=activation, act_param=act_param, optimizer=optimizer,
                  init=init, init_gain=1.3, readout=readout, lr=0.05, batch_size=7, epochs=4,
                  seed=10 * j + k, l1=0.01, l2=0.02)
        for j, init in enumerate(INITS)
        for k, readout in enumerate(("balanced", "trainable"))
    ]
    result = run(configs, data)
    assert_same_as_solo(result, data)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_engine_equals_reference_float32(optimizer):
    data = make_bce(n=40, D=8, K=3)
    configs = [NetConfig(hidden=(16,), activation=a, optimizer=optimizer, readout="trainable",
                         lr=0.02, batch_size=8, epochs=3, seed=s, data_seed=0)
               for s, a in enumerate(("relu", "tanh", "sigmoid"))]
    result = run(configs, data, dtype=torch.float32)
    assert_same_as_solo(result, data, dtype=torch.float32)


def test_cross_entropy_and_deep_nets_equal_reference():
    data = make_ce()
    configs = [
        NetConfig(hidden=(5, 4), loss="ce", activation="tanh", readout="trainable", lr=0.1,
                  batch_size=5, epochs=3, seed=1, l1=0.01, l1_layers=(0, 1, 2)),
        NetConfig(hidden=(5, 4, 3), loss="ce", activation="relu", optimizer="adam", readout="gaussian",
                  lr=0.01, batch_size=5, epochs=3, seed=2, bias=False),
        NetConfig(hidden=(6,), loss="ce", optimizer="momentum", readout="balanced", lr=0.1,
                  batch_size=24, epochs=2, seed=3),
    ]
    result = run(configs, data)
    assert_same_as_solo(result, data)


def test_mixed_ensemble_equals_solo_runs():
    """Different widths, depths, batch sizes, activations, optimizers, lrs, datasets, seeds, epochs."""
    data = make_bce(G=2)
    configs = [
        NetConfig(hidden=(6,), activation="relu", lr=0.1, batch_size=5, epochs=3, seed=0, dataset=0),
        NetConfig(hidden=(6,), activation="tanh", lr=0.05, batch_size=5, epochs=3, seed=1, dataset=1),
        NetConfig(hidden=(6,), activation="clipped_relu", act_param=1.5, lr=0.2, batch_size=5,
                  epochs=2, seed=2, dataset=1, data_seed=7),
        NetConfig(hidden=(6,), activation="sigmoid", lr=0.3, batch_size=5, epochs=3, seed=3, l2=0.1),
        NetConfig(hidden=(4,), activation="shifted_relu", act_param=0.5, batch_size=8, epochs=3, seed=4),
        NetConfig(hidden=(4, 3), activation="tanh", optimizer="adam", lr=0.01, batch_size=8, epochs=3, seed=5),
        NetConfig(hidden=(6,), activation="relu", optimizer="momentum", momentum=0.5, lr=0.05,
                  batch_size=5, epochs=3, seed=6, readout="trainable", init="he"),
        NetConfig(hidden=(6,), activation="linear", lr=0.01, batch_size=5, epochs=0, seed=7),
        NetConfig(hidden=(6,), activation="tanh", optimizer="adam", betas=(0.8, 0.99), eps=1e-6,
                  lr=0.02, batch_size=5, epochs=3, seed=8, readout="trainable", init="xavier_uniform"),
    ]
    result = run(configs, data)
    assert_same_as_solo(result, data)
    assert result.stop_epoch.tolist() == [c.epochs for c in configs]
    # the epochs=0 network is its initialisation
    init = init_params(configs[7], data.n_inputs, data.n_outputs)
    assert max_param_diff(result.params[7], {k: v.numpy() for k, v in init.items()}) == 0.0


def test_shared_minibatch_and_per_network_order_agree():
    """Same networks, trained in one group with a shared data stream or with separate streams."""
    data = make_bce()
    base = [NetConfig(hidden=(5,), lr=0.1, batch_size=6, epochs=3, seed=s, data_seed=3) for s in range(3)]
    mixed = base + [NetConfig(hidden=(5,), lr=0.1, batch_size=6, epochs=3, seed=9, data_seed=4)]
    shared = run(base, data)
    separate = run(mixed, data)
    for i in range(3):
        assert max_param_diff(shared.params[i], separate.params[i]) < 1e-12


def test_chunking_gives_same_result():
    data = make_bce(G=2)
    configs = [NetConfig(hidden=(5,), activation=a, lr=0.1, batch_size=6, epochs=3, seed=s, dataset=s % 2)
               for s, a in enumerate(["relu", "tanh"] * 3)]
    rec = Records(probe=data.X[0, :4], probe_epochs=(0, 3), cumulative_grads=True)
    whole = run(configs, data, rec)
    chunked = run(configs, data, rec, max_chunk=2)
    for i in range(len(configs)):
        assert max_param_diff(whole.params[i], chunked.params[i]) < 1e-12
        assert np.max(np.abs(whole.probe[i] - chunked.probe[i])) < 1e-12
    np.testing.assert_allclose(whole.history["train_loss"], chunked.history["train_loss"], atol=1e-12)


def test_seed_determinism_and_independence():
    data = make_bce()
    cfg = NetConfig(hidden=(5,), lr=0.1, batch_size=6, epochs=2, seed=3)
    a = run([cfg], data)
    b = run([cfg, cfg.replace(seed=4)], data)
    assert max_param_diff(a.params[0], b.params[0]) < 1e-12
    assert max_param_diff(b.params[0], b.params[1]) > 1e-3


# --------------------------------------------------------------------------- conventions


def test_init_distributions():
    D, H = 400, 300
    for rule, gain, var in [("gaussian", 1.5, 1.5**2 / D), ("he", 1.0, 2.0 / D),
                            ("xavier_uniform", 2.0, 2.0**2 * 2.0 / (D + H))]:
        W = init_params(NetConfig(hidden=(H,), init=rule, init_gain=gain), D, 1)["W0"].numpy()
        assert abs(W.mean()) < 0.01 * math.sqrt(var) * 10
        assert abs(W.var() / var - 1) < 0.02, rule
    W = init_params(NetConfig(hidden=(H,), init="xavier_uniform", init_gain=2.0), D, 1)["W0"].numpy()
    assert np.abs(W).max() <= 2.0 * math.sqrt(6.0 / (D + H))


def test_balanced_and_gaussian_readouts():
    p = init_params(NetConfig(hidden=(10,), readout="balanced"), 3, 4)
    J = p["W1"].numpy()
    np.testing.assert_allclose(np.abs(J), 1 / math.sqrt(10))
    assert (np.sign(J).sum(axis=1) == 0).all()  # balanced across units, per output
    assert (p["b1"].numpy() == 0).all()
    Jg = init_params(NetConfig(hidden=(2000,), readout="gaussian"), 3, 5)["W1"].numpy()
    assert abs(Jg.var() * 2000 - 1) < 0.05


def test_data_order_convention():
    perms = epoch_permutations(5, 10)
    gen = torch.Generator().manual_seed(5)
    for _ in range(3):
        assert torch.equal(next(perms), torch.randperm(10, generator=gen))


# --------------------------------------------------------------------------- records


def _np_forward(params: dict, X: np.ndarray, cfg: NetConfig) -> list[np.ndarray]:
    """Independent NumPy forward pass: hidden responses per layer, (P, H_l)."""
    f = {
        "relu": lambda a: np.maximum(a, 0),
        "tanh": np.tanh,
        "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
        "clipped_relu": lambda a: np.minimum(np.maximum(a, 0), cfg.resolved_act_param),
        "shifted_relu": lambda a: np.maximum(a + cfg.resolved_act_param, 0),
        "linear": lambda a: a,
    }[cfg.activation]
    out, h = [], X
    for layer in range(cfg.n_layers):
        h = f(h @ params[f"W{layer}"].T + params.get(f"b{layer}", 0.0))
        out.append(h)
    return out


def test_probe_responses_match_forward_of_recorded_weights():
    data = make_bce()
    epochs = (0, 1, 3)
    configs = [NetConfig(hidden=(5, 4), activation="tanh", lr=0.1, batch_size=6, epochs=3, seed=0),
               NetConfig(hidden=(5, 4), activation="clipped_relu", lr=0.1, batch_size=6, epochs=3, seed=1)]
    probe = data.X[0, :7].numpy()
    rec = Records(probe=probe, probe_epochs=epochs, weight_epochs=epochs)
    result = run(configs, data, rec)
    for i, cfg in enumerate(configs):
        assert isinstance(result.probe[i], list)  # widths 5 and 4 differ -> per-layer arrays
        assert [a.shape for a in result.probe[i]] == [(3, 7, 5), (3, 7, 4)]
        for r in range(len(epochs)):
            expected = _np_forward(result.weights_at[i][r], probe, cfg)
            for layer, h in enumerate(expected):
                got = result.probe[i][layer][r]
                np.testing.assert_allclose(got, h, atol=1e-12)
        assert max_param_diff(result.weights_at[i][-1], result.params[i]) == 0.0
    solo = train_single(configs[0], data, rec, dtype=torch.float64)
    for layer in range(2):
        np.testing.assert_allclose(result.probe[0][layer], solo.probe[0][layer], atol=TOL64)


def test_probe_equal_widths_array_layout_and_transform():
    data = make_bce()
    cfg = NetConfig(hidden=(5, 5), lr=0.1, batch_size=6, epochs=2, seed=0)
    probe = data.X[0, :6]
    plain = run([cfg], data, Records(probe=probe, probe_epochs=(0, 2)))
    assert plain.probe[0].shape == (2, 2, 6, 5)  # (n_probe_epochs, L, P, H)
    assert plain.stack("probe").shape == (1, 2, 2, 6, 5)

    def gram(h):  # (E, P, H) -> (E, P, P)
        return h @ h.transpose(1, 2)

    tr = run([cfg], data, Records(probe=probe, probe_epochs=(0, 2), probe_transform=gram))
    assert tr.probe[0].shape == (2, 2, 6, 6)
    np.testing.assert_allclose(tr.probe[0], plain.probe[0] @ np.swapaxes(plain.probe[0], -1, -2), atol=1e-12)
    solo = train_single(cfg, data, Records(probe=probe, probe_epochs=(0, 2), probe_transform=gram),
                        dtype=torch.float64)
    np.testing.assert_allclose(tr.probe[0], solo.probe[0], atol=TOL64)


def test_probe_per_dataset():
    data = make_bce(G=2)
    configs = [NetConfig(hidden=(4,), epochs=1, batch_size=8, seed=0, dataset=d) for d in (0, 1)]
    probe = np.stack([data.X[0, :3].numpy(), data.X[1, :3].numpy()])  # (G, P, D)
    result = run(configs, data, Records(probe=probe, probe_epochs=(1,)))
    for i, cfg in enumerate(configs):
        h = _np_forward(result.params[i], probe[cfg.dataset], cfg)[0]
        np.testing.assert_allclose(result.probe[i][0, 0], h, atol=1e-12)


def test_cumulative_grads_equal_reference_and_sgd_identity():
    data = make_bce()
    cfg_sgd = NetConfig(hidden=(5,), activation="tanh", readout="trainable", lr=0.1, batch_size=6,
                        epochs=3, seed=0, l1=0.01, l2=0.05)
    cfg_adam = cfg_sgd.replace(optimizer="adam", lr=0.01, seed=1)
    rec = Records(cumulative_grads=True, weight_epochs=(0,))
    result = run([cfg_sgd, cfg_adam], data, rec)
    for i, cfg in enumerate([cfg_sgd, cfg_adam]):
        solo = train_single(cfg, data, rec, dtype=torch.float64)
        assert max_param_diff(result.cumulative_grads[i], solo.cumulative_grads[0]) < TOL64
    # plain SGD: final = init - lr * (sum of gradients)
    init, final, G = result.weights_at[0][0], result.params[0], result.cumulative_grads[0]
    for k in G:
        np.testing.assert_allclose(final[k], init[k] - cfg_sgd.lr * G[k], atol=1e-12)
    # frozen readout: no gradient recorded for it
    frozen = run([cfg_sgd.replace(readout="balanced")], data, rec)
    assert set(frozen.cumulative_grads[0]) == {"W0", "b0"}


def test_history_matches_reference():
    data = make_bce()
    cfgs = [NetConfig(hidden=(5,), lr=0.2, batch_size=6, epochs=3, seed=s) for s in range(2)]
    result = run(cfgs, data)
    assert result.history["train_loss"].shape == (2, 4)
    for i, cfg in enumerate(cfgs):
        solo = train_single(cfg, data, dtype=torch.float64)
        for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
            np.testing.assert_allclose(result.history[k][i], solo.history[k][0], atol=1e-10)
    assert ((result.history["train_acc"] >= 0) & (result.history["train_acc"] <= 1)).all()
    ce = make_ce()
    cfg = NetConfig(hidden=(5,), loss="ce", lr=0.2, batch_size=6, epochs=2, seed=0)
    r, s = run([cfg], ce), train_single(cfg, ce, dtype=torch.float64)
    for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
        np.testing.assert_allclose(r.history[k][0], s.history[k][0], atol=1e-10)


def test_no_test_data_gives_nan_and_records_off():
    rng = np.random.default_rng(0)
    data = TrainData(rng.normal(size=(12, 3)), (rng.random((12, 1)) > 0.5).astype(float))
    cfg = NetConfig(hidden=(4,), epochs=2, batch_size=4)
    r = run([cfg], data)
    assert np.isnan(r.history["test_loss"]).all() and np.isfinite(r.history["train_loss"]).all()
    off = run([cfg], data, Records(history=False))
    assert off.history == {} and off.probe is None and off.weights_at is None and off.cumulative_grads is None


# --------------------------------------------------------------------------- stopping and divergence


def _epoch_changes(cfg, data):
    """Largest parameter change per epoch of a network trained alone (via recorded weights)."""
    full = cfg.replace(tol=None)
    rec = Records(weight_epochs=tuple(range(cfg.epochs + 1)), history=False)
    w = train_single(full, data, rec, dtype=torch.float64).weights_at[0]
    return [max(float(np.max(np.abs(w[e + 1][k] - w[e][k]))) for k in ("W0", "b0"))
            for e in range(cfg.epochs)]


def test_early_stopping_freezes_one_network_only():
    data = make_bce()
    cfg = NetConfig(hidden=(5,), activation="tanh", lr=0.1, batch_size=6, epochs=8, seed=0)
    d = _epoch_changes(cfg, data)
    tol = float(np.sort(d)[3]) * 1.0000001  # stops before the last epoch, after at least one
    stopper = cfg.replace(tol=tol)
    runner = cfg.replace(seed=1)
    rec = Records(weight_epochs=(0, 8), probe=data.X[0, :3], probe_epochs=(8,))
    result = run([stopper, runner], data, rec)
    solo = train_single(stopper, data, rec, dtype=torch.float64)
    expected = 1 + next(e for e, x in enumerate(d) if x < tol)
    assert 1 <= expected < 8
    assert result.stop_epoch[0] == solo.stop_epoch[0] == expected
    assert result.stop_epoch[1] == 8
    assert max_param_diff(result.params[0], solo.params[0]) < TOL64
    # frozen after stopping: weights at epoch 8 are the final weights of epoch `expected`
    assert max_param_diff(result.weights_at[0][1], result.params[0]) == 0.0
    assert np.isnan(result.history["train_loss"][0, expected + 1:]).all()
    assert np.isfinite(result.history["train_loss"][0, : expected + 1]).all()
    assert np.isfinite(result.history["train_loss"][1]).all()
    # the other network is unaffected
    alone = train_single(runner, data, rec, dtype=torch.float64)
    assert max_param_diff(result.params[1], alone.params[0]) < TOL64
    np.testing.assert_allclose(result.probe[0], solo.probe[0], atol=TOL64)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_divergence_is_isolated(optimizer):
    data = make_bce()
    good = [NetConfig(hidden=(5,), activation="linear", readout="trainable", optimizer=optimizer,
                      lr=0.01, batch_size=6, epochs=4, seed=s, data_seed=0) for s in range(3)]
    bad = good[0].replace(lr=1e200, seed=9)
    configs = [good[0], bad, good[1], good[2]]
    with np.errstate(all="ignore"):
        result = run(configs, data, Records(probe=data.X[0, :3], probe_epochs=(0, 4)))
        solo_bad = train_single(bad, data, dtype=torch.float64)
    assert result.diverged.tolist() == [False, True, False, False]
    assert solo_bad.diverged[0] and result.stop_epoch[1] == solo_bad.stop_epoch[0] < 4
    assert not np.isfinite(np.concatenate([v.ravel() for v in result.params[1].values()])).all()
    for i in (0, 2, 3):
        solo = train_single(configs[i], data, dtype=torch.float64)
        assert max_param_diff(result.params[i], solo.params[0]) < TOL64
        assert np.isfinite(result.probe[i]).all()
    assert np.isnan(result.history["train_loss"][1, result.stop_epoch[1] + 1:]).all()


# --------------------------------------------------------------------------- result object


def test_result_stack_subset_concat_and_roundtrip(tmp_path):
    data = make_bce()
    configs = [NetConfig(hidden=(4,), epochs=1, batch_size=8, seed=s) for s in range(3)]
    configs.append(NetConfig(hidden=(3, 2), epochs=1, batch_size=8, seed=9))
    rec = Records(probe=data.X[0, :2], probe_epochs=(1,), weight_epochs=(0,), cumulative_grads=True)
    r = run(configs, data, rec)
    assert len(r) == 4 and r.subset([0, 1, 2]).stack("W0").shape == (3, 4, 5)
    with pytest.raises(ValueError, match="different shapes"):
        r.stack("W0")
    with pytest.raises(ValueError, match="missing"):
        r.stack("W2")
    with pytest.raises(ValueError, match="per layer"):
        r.stack("probe")
    sub = r.subset([2, 0])
    assert sub.ids.tolist() == [2, 0] and sub.configs[0].seed == 2
    assert r.subset(np.array([True, False, False, True])).ids.tolist() == [0, 3]
    with pytest.raises(ValueError, match="boolean indices"):
        r.subset(np.array([True]))
    with pytest.raises(ValueError, match="indices must be in"):
        r.subset([7])
    both = concat_results([r.subset([0]), r.subset([3])])
    assert both.ids.tolist() == [0, 3]
    path = tmp_path / "res.npz"
    save_result(r, path, extra_meta={"note": "x"})
    back, meta = load_result(path, return_meta=True)
    assert meta == {"note": "x"} and back.configs == r.configs
    assert path.stat().st_mode & 0o777 == 0o644  # shared results, like every other file the package writes
    assert not list(tmp_path.glob(".res.npz.*"))  # no temporary file left behind
    for i in range(4):
        assert max_param_diff(back.params[i], r.params[i]) == 0.0
        assert max_param_diff(back.cumulative_grads[i], r.cumulative_grads[i]) == 0.0
        assert max_param_diff(back.weights_at[i][0], r.weights_at[i][0]) == 0.0
    for layer in range(2):
        np.testing.assert_array_equal(back.probe[3][layer], r.probe[3][layer])
    np.testing.assert_array_equal(back.history["train_loss"], r.history["train_loss"])
    assert "networks" in repr(r)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(hidden=()), "hidden"),
        (dict(hidden=(4, 0)), "hidden"),
        (dict(hidden=(4.5,)), "hidden"),
        (dict(activation="gelu"), "activation must be one of 'relu'"),
        (dict(activation="relu", act_param=1.0), "act_param"),
        (dict(activation="clipped_relu", act_param=0.0), "act_param"),
        (dict(activation="shifted_relu", act_param=float("inf")), "act_param"),
        (dict(readout="learned"), "readout must be one of"),
        (dict(loss="mse"), "loss must be one of 'bce', 'ce'"),
        (dict(optimizer="rmsprop"), "optimizer must be one of 'sgd', 'momentum', 'adam'"),
        (dict(lr=-0.1), "lr must be"),
        (dict(lr=0.0), "lr must be"),
        (dict(lr=float("nan")), "lr must be"),
        (dict(lr="0.1"), "lr must be"),
        (dict(momentum=1.0), "momentum"),
        (dict(betas=(0.9, 1.0)), r"betas\[1\]"),
        (dict(betas=(0.9,)), "betas must be a pair"),
        (dict(eps=0.0), "eps"),
        (dict(l1=-1.0), "l1 must be"),
        (dict(l2=-1.0), "l2 must be"),
        (dict(l1_layers=(2,)), "l1_layers"),
        (dict(l1=0.1, l1_layers=(1,)), "l1_layers contains the readout"),
        (dict(init="orthogonal"), "init must be one of 'gaussian', 'xavier_uniform', 'he'"),
        (dict(init_gain=0.0), "init_gain"),
        (dict(bias=1), "bias must be True or False"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=True), "batch_size"),
        (dict(epochs=-1), "epochs"),
        (dict(tol=0.0), "tol"),
        (dict(seed=-1), "seed"),
        (dict(data_seed=-2), "data_seed"),
        (dict(dataset=-1), "dataset"),
    ],
)
def test_netconfig_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NetConfig(**kwargs)


def test_netconfig_coercion_and_replace():
    c = NetConfig(hidden=[3, 2], betas=[0.9, 0.99], l1_layers=[0, 1])
    assert c.hidden == (3, 2) and c.betas == (0.9, 0.99) and c.l1_layers == (0, 1)
    assert NetConfig(hidden=7).hidden == (7,)
    n = NetConfig(hidden=(np.int64(3),), lr=np.float64(0.1), batch_size=np.int32(4), bias=np.bool_(False))
    assert type(n.hidden[0]) is int and type(n.lr) is float and type(n.batch_size) is int and n.bias is False
    assert NetConfig(**c.to_dict()) == c
    with pytest.raises(ValueError, match="unknown NetConfig field"):
        c.replace(width=3)
    assert NetConfig(activation="clipped_relu").resolved_act_param == 1.0
    assert NetConfig(seed=4).resolved_data_seed == 4


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: TrainData(np.zeros(5), np.zeros((5, 1))), "X must have shape"),
        (lambda: TrainData(np.zeros((5, 2)), np.zeros((4, 1))), "Y must have shape"),
        (lambda: TrainData(np.zeros((5, 2)), np.full((5, 1), 2.0)), r"in \[0, 1\]"),
        (lambda: TrainData(np.zeros((5, 2)), np.zeros(5)), "float targets need shape"),
        (lambda: TrainData(np.zeros((5, 2)), -np.ones(5, dtype=int)), "class ids must be >= 0"),
        (lambda: TrainData(np.zeros((5, 2)), np.ones(5, dtype=bool)), "not bool"),
        (lambda: TrainData(np.zeros((5, 2)), np.arange(5), n_classes=3), "n_classes"),
        (lambda: TrainData(np.zeros((5, 2)), np.zeros((5, 1)), n_classes=3), "n_classes is only used"),
        (lambda: TrainData(np.zeros((5, 2)), np.zeros((5, 1)), X_test=np.zeros((2, 2))), "given together"),
        (lambda: TrainData(np.zeros((5, 2)), np.zeros((5, 1)), np.zeros((2, 3)), np.zeros((2, 1))), "X_test"),
        (lambda: TrainData(np.zeros((5, 2)), np.zeros((5, 1)), np.zeros((2, 2)), np.zeros((2, 2))), "K = 1"),
        (lambda: TrainData(np.zeros((5, 2)), np.zeros((5, 1)), np.zeros((2, 2)), np.zeros(2, dtype=int)),
         "same kind"),
        (lambda: TrainData(np.full((5, 2), np.nan), np.zeros((5, 1))), "NaN"),
        (lambda: TrainData(np.zeros((5, 2)), np.arange(5), np.zeros((2, 2)), np.array([0, 9]), n_classes=5),
         "Y_test labels"),
    ],
)
def test_traindata_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(probe_epochs=(2, 1), probe=np.zeros((2, 5))), "strictly increasing"),
        (dict(weight_epochs=(-1,)), "integers >= 0"),
        (dict(weight_epochs=3), "sequence"),
        (dict(probe_epochs=(1,)), "probe is None"),
        (dict(probe=np.zeros(5)), "probe must have shape"),
        (dict(probe=np.zeros((2, 5)), probe_transform="rdm"), "callable"),
        (dict(history=1), "history must be True or False"),
    ],
)
def test_records_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Records(**kwargs)


def test_train_ensemble_validation():
    data = make_bce(G=2)
    ok = NetConfig(hidden=(3,), epochs=1)
    cases = [
        (lambda: run([], data), "at least one"),
        (lambda: run([ok, {"hidden": 3}], data), r"configs\[1\] must be a NetConfig"),
        (lambda: run([ok.replace(dataset=2)], data), r"dataset = 2 .* valid: 0..1"),
        (lambda: run([ok.replace(loss="ce")], data), "loss='bce'"),
        (lambda: run([ok], make_ce()), "loss='ce'"),
        (lambda: run([ok], data, dtype=torch.float16), "dtype"),
        (lambda: run([ok], data, max_chunk=0), "max_chunk"),
        (lambda: run([ok], data, device="tpu"), "device"),
        (lambda: run([ok], (data.X, data.Y)), "TrainData"),
        (lambda: run([ok], data, Records(probe=np.zeros((2, 4)), probe_epochs=(0,))), "D = 5"),
        (lambda: run([ok], data, Records(probe=np.zeros((3, 2, 5)), probe_epochs=(0,))), "1 or G = 2"),
        (lambda: run([ok], data, Records(probe=np.zeros((2, 5)), probe_epochs=(0,),
                                         probe_transform=lambda h: h.sum())), "probe_transform must return"),
        (lambda: run([ok], data, "history"), "Records"),
    ]
    for fn, match in cases:
        with pytest.raises(ValueError, match=match):
            fn()


def test_progress_bar_runs(capsys):
    data = make_bce()
    r = train_ensemble([NetConfig(hidden=(3,), epochs=2, batch_size=8)], data, device="cpu",
                       dtype=torch.float64, progress=True, max_chunk=1)
    assert r.stop_epoch[0] == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_equals_cpu_reference():
    data = make_bce()
    configs = [NetConfig(hidden=(6,), activation=a, optimizer=o, lr=0.05, batch_size=7, epochs=3, seed=s,
                         readout="trainable")
               for s, (a, o) in enumerate([("relu", "sgd"), ("tanh", "momentum"), ("sigmoid", "adam")])]
    rec = Records(probe=data.X[0, :4], probe_epochs=(0, 3), cumulative_grads=True)
    result = run(configs, data, rec, device="cuda")
    assert "cuda" in result.device
    assert_same_as_solo(result, data, rec)


def test_out_of_memory_chunk_is_split_and_retried(monkeypatch):
    """A CUDA OOM in a chunk splits it in half; results are unchanged (simulated on the CPU)."""
    import repgeom_lite.ensemble as ens

    data = make_bce()
    configs = [NetConfig(hidden=(4,), lr=0.1, batch_size=6, epochs=2, seed=s) for s in range(4)]
    expected = run(configs, data)
    real_run = ens._Chunk.run
    sizes = []

    def flaky(self, pbar=None):
        sizes.append(self.E0)
        if self.E0 > 1:
            raise torch.cuda.OutOfMemoryError("simulated")
        return real_run(self, pbar)

    monkeypatch.setattr(ens._Chunk, "run", flaky)
    result = run(configs, data)
    assert sizes == [4, 2, 1, 1, 2, 1, 1]
    for i in range(4):
        assert max_param_diff(result.params[i], expected.params[i]) < 1e-12


# --------------------------------------------------------------------------- activation blocks (issue 22)


def _heterogeneous_chunk(optimizer, data_seed=0):
    """One stack (same shapes and optimizer) with every activation interleaved and per-network hps."""
    acts = [("relu", None), ("tanh", None), ("sigmoid", None), ("clipped_relu", 0.7), ("shifted_relu", -0.3),
            ("linear", None), ("clipped_relu", 1.4), ("shifted_relu", 0.2)]
    configs = []
    for j in range(2):
        for k, (a, p) in enumerate(acts):
            i = len(configs)
            configs.append(NetConfig(
                hidden=(6,), activation=a, act_param=p, optimizer=optimizer, readout="trainable",
                lr=(0.05, 0.02, 0.1)[i % 3], l1=(0.0, 0.01)[i % 2], l2=(0.0, 0.02)[(i // 2) % 2],
                batch_size=7, epochs=(4, 3, 4, 2)[i % 4], seed=100 + i,
                data_seed=data_seed if data_seed is not None else i))
    return configs


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("data_seed", [0, None])
def test_interleaved_activations_in_one_stack_equal_solo(optimizer, data_seed):
    """Activations interleaved in the input (blocks are formed inside the chunk), per-network lr/L1/L2,
    clipped/shifted parameters that differ within a block, networks stopping at different epochs
    (compaction), shared and per-network data orders: every network equals its solo run (float64)."""
    data = make_bce()
    configs = _heterogeneous_chunk(optimizer, data_seed)
    rec = Records(probe=data.X[0, :3], probe_epochs=(0, 4), cumulative_grads=optimizer != "sgd")
    result = run(configs, data, rec)
    assert_same_as_solo(result, data, rec)
    for i, cfg in enumerate(configs):
        solo = train_single(cfg, data, rec, dtype=torch.float64)
        np.testing.assert_allclose(result.probe[i], solo.probe[0], atol=TOL64)
        h = solo.history["train_loss"][0]
        np.testing.assert_allclose(result.history["train_loss"][i, : len(h)], h, atol=TOL64)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_reference_algorithm_gives_the_same_networks(optimizer):
    """The benchmark's baseline (the previous algorithm) trains the same networks as the engine."""
    data = make_bce()
    configs = _heterogeneous_chunk(optimizer)
    new = run(configs, data)
    old = run(configs, data, _reference_algorithm=True)
    for i in range(len(configs)):
        assert max_param_diff(new.params[i], old.params[i]) < TOL64
    assert new.stop_epoch.tolist() == old.stop_epoch.tolist()
