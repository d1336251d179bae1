"""Multi-head cross-entropy (loss "mce"): engine == solo reference, closed forms, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repgeom_lite.ensemble import Records, TrainData, train_ensemble
from repgeom_lite.models import NetConfig
from repgeom_lite.reference import train_single

TOL64 = 1e-10


def make_mce(seed=0, n=30, D=6, heads=(3, 3), G=None, n_test=12):
    rng = np.random.default_rng(seed)
    lead = () if G is None else (G,)
    X = rng.normal(size=(*lead, n, D))
    Y = np.stack([rng.integers(0, h, size=(*lead, n)) for h in heads], axis=-1)
    Xt = rng.normal(size=(*lead, n_test, D))
    Yt = np.stack([rng.integers(0, h, size=(*lead, n_test)) for h in heads], axis=-1)
    return TrainData(X, Y, Xt, Yt, heads=heads)


def run(configs, data, records=None, **kw):
    kw.setdefault("dtype", torch.float64)
    kw.setdefault("device", "cpu")
    return train_ensemble(configs, data, records, progress=False, **kw)


def max_diff(a, b):
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


@pytest.mark.parametrize("heads", [(3, 3), (2, 4, 3)])
@pytest.mark.parametrize("reference_algorithm", [False, True])
def test_multihead_ce_equals_reference(heads, reference_algorithm):
    """Every optimizer, mixed activations, L1/L2, frozen and trainable readouts: 1e-10 in float64."""
    data = make_mce(heads=heads)
    configs = [
        NetConfig(hidden=(5,), loss="mce", activation="tanh", readout="trainable", lr=0.3, batch_size=7,
                  epochs=3, seed=1, l1=0.01, l1_layers=(0, 1)),
        NetConfig(hidden=(5,), loss="mce", activation="relu", readout="trainable", lr=0.2, batch_size=7,
                  epochs=3, seed=2, l2=0.01),
        NetConfig(hidden=(5,), loss="mce", activation="sigmoid", readout="trainable", optimizer="adam",
                  lr=0.01, batch_size=7, epochs=3, seed=3),
        NetConfig(hidden=(4, 3), loss="mce", activation="relu", readout="gaussian", optimizer="momentum",
                  lr=0.1, batch_size=30, epochs=2, seed=4, data_seed=9),
    ]
    result = run(configs, data, Records(history=True), _reference_algorithm=reference_algorithm)
    for i, cfg in enumerate(configs):
        solo = train_single(cfg, data, Records(history=True), dtype=torch.float64)
        err = max_diff(result.params[i], solo.params[0])
        assert err < TOL64, f"network {i} differs from its solo run by {err:.3g}"
        for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
            T = solo.history[k].shape[1]
            np.testing.assert_allclose(result.history[k][i, :T], solo.history[k][0], atol=1e-10)


def test_multihead_per_dataset_streams_equal_reference():
    data = make_mce(G=2, heads=(2, 3))
    configs = [NetConfig(hidden=(4,), loss="mce", readout="trainable", lr=0.2, batch_size=8, epochs=2,
                         seed=s, dataset=s % 2, data_seed=10 + s) for s in range(3)]
    result = run(configs, data)
    for i, cfg in enumerate(configs):
        assert max_diff(result.params[i], train_single(cfg, data, dtype=torch.float64).params[0]) < TOL64


def test_one_head_is_plain_cross_entropy():
    """heads=(K,) is the single-softmax "ce" loss: same weights."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 5, size=20)
    cfg = NetConfig(hidden=(6,), loss="ce", readout="trainable", lr=0.5, batch_size=6, epochs=3, seed=0)
    a = run([cfg], TrainData(X, y, n_classes=5))
    b = run([cfg.replace(loss="mce")], TrainData(X, y[:, None], heads=(5,)))
    assert max_diff(a.params[0], b.params[0]) < 1e-12


def test_history_at_init_equals_numpy_closed_form():
    """Loss at initialisation = sum over heads of the mean -log softmax (numpy, from the initial weights)."""
    from repgeom_lite.models import init_params

    heads = (2, 5)
    data = make_mce(heads=heads)
    cfg = NetConfig(hidden=(3,), loss="mce", activation="tanh", readout="trainable", lr=0.1, batch_size=30,
                    epochs=1, seed=0)
    res = run([cfg], data, Records(history=True))
    p = {k: v.numpy() for k, v in init_params(cfg, 6, 7, dtype=torch.float64).items()}
    for X, Y, key in ((data.X[0].numpy(), data.Y[0].numpy(), "train"), (data.X_test[0].numpy(), data.Y_test[0].numpy(), "test")):
        logits = np.tanh(X @ p["W0"].T + p["b0"]) @ p["W1"].T + p["b1"]
        loss, acc = 0.0, []
        for j, (a, b) in enumerate([(0, 2), (2, 7)]):
            z = logits[:, a:b] - logits[:, a:b].max(1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(1, keepdims=True))
            loss -= logp[np.arange(len(Y)), Y[:, j]].mean()
            acc.append(logits[:, a:b].argmax(1) == Y[:, j])
        assert res.history[f"{key}_loss"][0, 0] == pytest.approx(loss, abs=1e-12)
        assert res.history[f"{key}_acc"][0, 0] == pytest.approx(np.mean(acc), abs=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(heads=(3, 3), Y=np.zeros((10, 3), int)), r"shape \(10, 2\)"),
        (dict(heads=(2, 2), Y=np.full((10, 2), 2)), "class ids of head j"),
        (dict(heads=(0, 2), Y=np.zeros((10, 2), int)), "heads must be"),
        (dict(heads=(2, 2), Y=np.zeros((10, 2))), "integer class ids"),
        (dict(heads=(2, 2), Y=np.zeros((10, 2), int), n_classes=4), "either n_classes"),
    ],
)
def test_multihead_validation(kwargs, match):
    X = np.zeros((10, 3))
    with pytest.raises(ValueError, match=match):
        TrainData(X, **kwargs)


def test_loss_must_match_targets():
    data = make_mce()
    with pytest.raises(ValueError, match="per-head class ids"):
        run([NetConfig(hidden=(3,), loss="ce")], data)
    assert data.loss == "mce" and data.n_outputs == 6


def test_head_accuracy_equals_numpy_and_marks_diverged():
    from repgeom_lite.ensemble import head_accuracy

    heads = (2, 3)
    data = make_mce(heads=heads, n=40)
    configs = [NetConfig(hidden=(h,), loss="mce", activation=a, readout="trainable", lr=0.3, batch_size=8, epochs=2,
                         seed=s) for s, (h, a) in enumerate([(5, "relu"), (4, "tanh"), (5, "sigmoid")])]
    configs.append(configs[0].replace(lr=1e200, seed=9))  # diverges
    res = run(configs, data)
    X, y = data.X_test[0].numpy(), data.Y_test[0].numpy()
    acc = head_accuracy(res, X, y, heads)
    assert acc.shape == (4, 2) and np.isnan(acc[3]).all() and res.diverged[3]
    f = {"relu": lambda a: np.maximum(a, 0), "tanh": np.tanh, "sigmoid": lambda a: 1 / (1 + np.exp(-a))}
    for i in range(3):
        p = res.params[i]
        logits = f[configs[i].activation](X @ p["W0"].T + p["b0"]) @ p["W1"].T + p["b1"]
        expect = [np.mean(logits[:, :2].argmax(1) == y[:, 0]), np.mean(logits[:, 2:].argmax(1) == y[:, 1])]
        np.testing.assert_allclose(acc[i], expect, atol=0)
    with pytest.raises(ValueError, match=r"y \(n, 2\)"):
        head_accuracy(res, X, y[:, :1], heads)
    with pytest.raises(ValueError, match="outputs"):
        head_accuracy(res, X, np.zeros((len(X), 2), int), (2, 2))
