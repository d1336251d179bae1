"""``models.hidden_responses`` / ``stack_params``: the one forward pass of recorded parameters.

Checked against the engine's own recorded probe responses (same epochs), against the
per-network reference model, and batched == per-network loop.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repgeom_lite.ensemble import NetConfig, Records, TrainData, train_ensemble
from repgeom_lite.models import head_slices, hidden_responses, stack_params
from repgeom_lite.reference import MLP

TOL = 1e-10


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _data(seed=0, n=20, D=5, K=2):
    rng = np.random.default_rng(seed)
    return TrainData(rng.normal(size=(n, D)), (rng.random((n, K)) > 0.5).astype(float))


@pytest.mark.parametrize("act, p", [("tanh", None), ("relu", None), ("clipped_relu", 0.7)])
def test_hidden_responses_equal_the_engines_recorded_probe(act, p):
    data = _data()
    epochs = (0, 1, 3)
    configs = [NetConfig(hidden=(6, 6), activation=act, act_param=p, readout="trainable", lr=0.1,
                         batch_size=5, epochs=3, seed=s) for s in range(3)]
    probe = np.random.default_rng(1).normal(size=(7, 5))
    rec = Records(probe=probe, probe_epochs=epochs, weight_epochs=epochs)
    res = train_ensemble(configs, data, rec, device="cpu", dtype=torch.float64, progress=False)
    recorded = res.stack("probe")  # (E, R, L, P, H)
    params = stack_params(res.weights_at)  # (E, R, ...)
    assert params["W0"].shape == (3, 3, 6, 5)
    got = hidden_responses(params, probe, act, p)
    assert len(got) == 3 and got[-1].shape == (3, 3, 7, 2)
    for layer in range(2):
        np.testing.assert_allclose(got[layer], recorded[:, :, layer], atol=TOL)
    # final params, one layer only, per network
    last = hidden_responses(stack_params(res.params), probe, act, p, layers=[1])
    np.testing.assert_allclose(last[0], recorded[:, -1, 1], atol=TOL)


@pytest.mark.parametrize("hidden, act, p", [((7,), "tanh", None), ((5, 6), "relu", None),
                                            ((4,), "clipped_relu", 0.5), ((3, 3, 4), "shifted_relu", -0.3)])
def test_hidden_responses_match_the_reference_model(hidden, act, p):
    cfg = NetConfig(hidden=hidden, activation=act, act_param=p, seed=4)
    model = MLP(cfg, 9, 2).double()
    with torch.no_grad():
        for lin in model.layers:
            lin.bias.normal_()
    params = {}
    for i, lin in enumerate(model.layers):
        params[f"W{i}"] = lin.weight.detach().numpy().copy()
        params[f"b{i}"] = lin.bias.detach().numpy().copy()
    X = np.random.default_rng(0).normal(size=(11, 9))
    out, hidden_ref = model(torch.as_tensor(X), return_hidden=True)
    got = hidden_responses(params, X, act, p)
    assert len(got) == len(hidden) + 1
    for g, h in zip(got[:-1], hidden_ref):
        np.testing.assert_allclose(g, h.detach().numpy(), atol=TOL)
    np.testing.assert_allclose(got[-1], out.detach().numpy(), atol=TOL)
    # torch parameters give the same; layers picks and orders outputs
    tparams = {k: torch.as_tensor(v) for k, v in params.items()}
    logits, first = hidden_responses(tparams, X, act, p, layers=[-1, 0])
    np.testing.assert_allclose(logits, got[-1], atol=TOL)
    np.testing.assert_allclose(first, got[0], atol=TOL)


def test_batched_equals_loop_with_per_network_inputs_and_no_bias():
    rng = np.random.default_rng(2)
    E, n, D, H, K = 4, 6, 3, 5, 2
    params = {"W0": rng.normal(size=(E, H, D)), "W1": rng.normal(size=(E, K, H))}
    X = rng.normal(size=(E, n, D))
    Z, logits = hidden_responses(params, X, "sigmoid")
    for e in range(E):
        z = 1 / (1 + np.exp(-X[e] @ params["W0"][e].T))
        np.testing.assert_allclose(Z[e], z, atol=TOL)
        np.testing.assert_allclose(logits[e], z @ params["W1"][e].T, atol=TOL)


def test_hidden_responses_errors():
    rng = np.random.default_rng(0)
    params = {"W0": rng.normal(size=(4, 3)), "b0": np.zeros(4), "W1": rng.normal(size=(1, 4))}
    X = rng.normal(size=(5, 3))
    with pytest.raises(ValueError, match="X expects 3 inputs, got 2"):
        hidden_responses(params, X[:, :2], "tanh")
    with pytest.raises(ValueError, match="at least one hidden layer and a readout"):
        hidden_responses({"W0": params["W0"]}, X, "tanh")
    with pytest.raises(ValueError, match="layers must hold integers in 0..1"):
        hidden_responses(params, X, "tanh", layers=[2])
    with pytest.raises(ValueError, match="X must have shape \\(n, D\\)"):
        hidden_responses(params, X[0], "tanh")
    with pytest.raises(ValueError, match="activation must be one of"):
        hidden_responses(params, X, "gelu")
    stacked = {k: np.stack([v, v]) for k, v in params.items()}
    with pytest.raises(ValueError, match="do not broadcast"):
        hidden_responses(stacked, rng.normal(size=(3, 5, 3)), "tanh")
    with pytest.raises(ValueError, match="layer 1 \\(W1\\) expects 3 inputs, got 4"):
        hidden_responses({**params, "W1": rng.normal(size=(1, 3))}, X, "tanh")


def test_stack_params_errors():
    a = {"W0": np.zeros((2, 3)), "W1": np.zeros((1, 2))}
    assert stack_params([[a, a]] * 3)["W0"].shape == (3, 2, 2, 3)
    with pytest.raises(ValueError, match="non-empty"):
        stack_params([])
    with pytest.raises(ValueError, match="has keys"):
        stack_params([a, {"W0": np.zeros((2, 3))}])
    with pytest.raises(ValueError, match="different shapes"):
        stack_params([a, {"W0": np.zeros((3, 3)), "W1": np.zeros((1, 3))}])


def test_head_slices_partition_the_outputs():
    assert head_slices((10, 10)) == [slice(0, 10), slice(10, 20)]
    sl = head_slices(np.array([3, 1, 4]))
    assert sl == [slice(0, 3), slice(3, 4), slice(4, 8)]
    assert np.arange(8)[np.r_[tuple(sl)]].tolist() == list(range(8))  # consecutive, no gap, no overlap
