"""Crossed grids, shards, resumable stores."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import repgeom_lite.grid as grid_mod
from repgeom_lite.ensemble import NetConfig, Records, TrainData, train_ensemble
from repgeom_lite.grid import Grid, grid_status, load_grid, parse_shard, run_grid


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4))
    Y = (rng.random((20, 2)) > 0.5).astype(float)
    return TrainData(X, Y, X[:6], Y[:6])


def small_grid(**fixed):
    base = {"epochs": 2, "batch_size": 5}
    base.update(fixed)
    return Grid(
        {"activation": ["relu", "tanh"], "hidden_size": [3, 4], "lr": [0.1, 0.05], "optimizer": ["sgd", "adam"]},
        fixed=base,
    )


RUN = dict(device="cpu", dtype=torch.float64, progress=False)


# --------------------------------------------------------------------------- grid object


def test_grid_product_order_table_and_levels():
    g = small_grid()
    assert len(g) == 16
    table = g.table()
    assert table[0] == {"activation": "relu", "hidden_size": 3, "lr": 0.1, "optimizer": "sgd"}
    assert table[1]["optimizer"] == "adam" and table[2]["lr"] == 0.05  # last factor fastest
    assert table[-1] == {"activation": "tanh", "hidden_size": 4, "lr": 0.05, "optimizer": "adam"}
    configs = g.configs()
    assert configs[0].hidden == (3,) and configs[0].epochs == 2 and configs[8].activation == "tanh"
    assert g.levels("activation").tolist() == [0] * 8 + [1] * 8
    assert "16 configs" in repr(g)
    with pytest.raises(ValueError, match="unknown factor 'width'"):
        g.levels("width")


def test_grid_composite_levels_and_hidden_tuples():
    g = Grid(
        {
            "act": [{"activation": "relu"}, {"activation": "clipped_relu", "act_param": 1.5},
                    {"activation": "shifted_relu", "act_param": -0.5}],
            "hidden": [(4,), (4, 4)],
        },
        fixed={"epochs": 1},
    )
    assert len(g) == 6
    assert g.configs()[2].act_param == 1.5 and g.configs()[3].hidden == (4, 4)
    assert g.levels("act").tolist() == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    "factors, fixed, match",
    [
        ({}, {}, "non-empty dict"),
        ({"width": [1, 2]}, {}, "unknown factor 'width'.*valid: hidden"),
        ({"lr": []}, {}, "no levels"),
        ({"lr": "0.1"}, {}, "must be a list"),
        ({"lr": [0.1, 0.1]}, {}, "duplicated levels"),
        ({"lr": [0.1, -0.1]}, {}, r"grid point 1 .*lr must be"),
        ({"activation": ["relu", "swish"]}, {}, "activation must be one of"),
        ({"hidden_size": [0]}, {}, "hidden"),
        ({"lr": [0.1]}, {"lr": 0.2}, "both factors and fixed"),
        ({"lr": [0.1]}, {"speed": 1}, "fixed has unknown"),
        ({"hidden": [(3,)], "hidden_size": [3]}, {}, "set by both"),
        ({"a": [{"colour": 1}]}, {}, "unknown NetConfig field"),
    ],
)
def test_grid_validation(factors, fixed, match):
    with pytest.raises(ValueError, match=match):
        Grid(factors, fixed)


@pytest.mark.parametrize("text, expected", [("0/1", (0, 1)), ("3/4", (3, 4)), (" 1/2 ", (1, 2)), (None, None)])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["1/1", "2/2", "-1/2", "a/b", "3", "1/2/3", "0/0", ""])
def test_parse_shard_errors(text):
    with pytest.raises(ValueError, match="shard must look like 'i/n'"):
        parse_shard(text)


@pytest.mark.parametrize("chunk_size", [1, 3, 16])
def test_shards_partition_the_grid(chunk_size):
    g = small_grid()
    for n in (1, 2, 3, 5):
        parts = [g.shard(i, n, chunk_size) for i in range(n)]
        flat = sorted(i for p in parts for i in p)
        assert flat == list(range(len(g)))  # disjoint and complete
        assert parts == [g.shard(i, n, chunk_size) for i in range(n)]  # deterministic
    chunks = g.chunks(chunk_size)
    assert sorted(i for c in chunks for i in c) == list(range(len(g)))
    with pytest.raises(ValueError, match="chunk_size"):
        g.chunks(0)


# --------------------------------------------------------------------------- run / store / resume


def test_run_grid_equals_direct_training(tmp_path, data):
    g = small_grid()
    rec = Records(probe=data.X[0, :3], probe_epochs=(0, 2))
    summary = run_grid(g, data, rec, tmp_path / "store", chunk_size=5, **RUN)
    assert summary.complete and summary.trained == [0, 1, 2, 3] and summary.skipped == []
    loaded = load_grid(tmp_path / "store")
    direct = train_ensemble(g.configs(), data, rec, **RUN)
    assert loaded.ids.tolist() == list(range(16)) and loaded.configs == g.configs()
    for i in range(16):
        for k, v in direct.params[i].items():
            np.testing.assert_allclose(loaded.params[i][k], v, atol=1e-12)
        np.testing.assert_allclose(loaded.probe[i], direct.probe[i], atol=1e-12)
    np.testing.assert_allclose(loaded.history["train_loss"], direct.history["train_loss"], atol=1e-12)
    index = json.loads((tmp_path / "store" / "index.json").read_text())
    assert index["n_configs"] == 16 and index["completed"] == [0, 1, 2, 3]
    assert sorted(i for c in index["chunks"] for i in c["indices"]) == list(range(16))
    assert not list((tmp_path / "store").glob(".*.tmp"))  # no temporary files left
    # a rerun trains nothing
    again = run_grid(g, data, rec, tmp_path / "store", chunk_size=5, **RUN)
    assert again.trained == [] and again.skipped == [0, 1, 2, 3]


def test_shards_fill_one_store(tmp_path, data):
    g = small_grid()
    store = tmp_path / "s"
    first = run_grid(g, data, None, store, shard="0/2", chunk_size=3, **RUN)
    assert first.shard_chunks == [0, 2, 4] and not first.complete
    with pytest.raises(ValueError, match=r"incomplete: chunks \[1, 3, 5\]"):
        load_grid(store)
    partial = load_grid(store, allow_partial=True)
    assert partial.ids.tolist() == sorted(i for k in (0, 2, 4) for i in g.chunks(3)[k])
    second = run_grid(g, data, None, store, shard=(1, 2), chunk_size=3, **RUN)
    assert second.complete and second.trained == [1, 3, 5]
    full = load_grid(store)
    direct = train_ensemble(g.configs(), data, None, **RUN)
    for i in range(len(g)):
        for k, v in direct.params[i].items():
            np.testing.assert_allclose(full.params[i][k], v, atol=1e-12)
    assert grid_status(store)["missing"] == []


def test_interrupted_run_resumes(tmp_path, data, monkeypatch):
    g = small_grid()
    store = tmp_path / "r"
    calls = []
    real = grid_mod.train_ensemble

    def failing(configs, *args, **kw):
        calls.append(len(configs))
        if len(calls) == 3:
            raise RuntimeError("simulated crash (e.g. preemption) in chunk 2")
        return real(configs, *args, **kw)

    monkeypatch.setattr(grid_mod, "train_ensemble", failing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_grid(g, data, None, store, chunk_size=4, **RUN)
    status = grid_status(store)
    assert status["completed"] == [0, 1] and status["missing"] == [2, 3]
    index = json.loads((store / "index.json").read_text())  # index is valid JSON after the crash
    assert index["completed"] == [0, 1]
    assert not (store / "chunk_00002.npz").exists()

    calls.clear()
    monkeypatch.setattr(grid_mod, "train_ensemble", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    resumed = run_grid(g, data, None, store, chunk_size=4, **RUN)
    assert resumed.skipped == [0, 1] and resumed.trained == [2, 3] and len(calls) == 2
    assert resumed.complete and len(load_grid(store)) == 16


def test_failed_write_leaves_no_chunk(tmp_path, data, monkeypatch):
    g = small_grid()
    store = tmp_path / "w"

    def broken_savez(fh, **arrays):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        run_grid(g, data, None, store, chunk_size=8, **RUN)
    assert not list(store.glob("chunk_*.npz")) and not list(store.glob(".*.tmp"))
    monkeypatch.undo()
    assert run_grid(g, data, None, store, chunk_size=8, **RUN).trained == [0, 1]


def test_changed_grid_or_data_is_refused(tmp_path, data):
    store = tmp_path / "c"
    run_grid(small_grid(), data, None, store, shard="0/4", chunk_size=8, **RUN)
    with pytest.raises(ValueError, match="different grid or data"):
        run_grid(small_grid(epochs=3), data, None, store, chunk_size=8, **RUN)
    other = TrainData(data.X[0] + 1.0, data.Y[0], data.X_test[0], data.Y_test[0])
    with pytest.raises(ValueError, match="different grid or data"):
        run_grid(small_grid(), other, None, store, chunk_size=8, **RUN)
    with pytest.raises(ValueError, match="different grid or data"):
        run_grid(small_grid(), data, None, store, chunk_size=4, **RUN)


def test_run_grid_validates_before_training(tmp_path, data):
    bad = Grid({"dataset": [0, 1]}, fixed={"epochs": 1})
    with pytest.raises(ValueError, match="dataset = 1"):
        run_grid(bad, data, None, tmp_path / "v", **RUN)
    assert not (tmp_path / "v").exists()
    with pytest.raises(ValueError, match="shard must look like"):
        run_grid(small_grid(), data, None, tmp_path / "v", shard="4/4", **RUN)
    with pytest.raises(ValueError, match="grid must be a Grid"):
        run_grid([NetConfig()], data, None, tmp_path / "v", **RUN)


def test_status_errors_and_cli(tmp_path, data, capsys):
    with pytest.raises(ValueError, match="no index.json"):
        grid_status(tmp_path)
    store = tmp_path / "st"
    run_grid(small_grid(), data, None, store, shard="0/2", chunk_size=8, **RUN)
    assert grid_mod.main(["status", str(store)]) == 1
    out = capsys.readouterr().out
    assert "1/2 chunks finished" in out and "missing chunks: [1]" in out
    empty = tmp_path / "empty"
    run_grid(small_grid(), data, None, empty, shard="1/2", chunk_size=16, **RUN)  # owns no chunk
    with pytest.raises(ValueError, match="no finished chunk"):
        load_grid(empty, allow_partial=True)


# --------------------------------------------------------------------------- per-network seeds, base rates, RDMs


def test_network_seed_is_deterministic_distinct_and_valid():
    from repgeom_lite.grid import network_seed

    seeds = [network_seed(0, i) for i in range(200)]
    assert seeds == [network_seed(0, i) for i in range(200)]
    assert len(set(seeds)) == 200 and network_seed(1, 5) != network_seed(0, 5)
    assert all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(ValueError, match=">= 0"):
        network_seed(-1, 0)
    with pytest.raises(ValueError, match="integers"):
        network_seed(0, 1.5)


def test_grid_per_point_seeds_and_relative_learning_rates():
    from repgeom_lite.grid import network_seed

    factors = {"activation": ["relu", "tanh"], "optimizer": ["sgd", "adam"], "hidden_size": [4, 8], "lr": [0.5, 2.0]}
    grid = Grid(factors, {"epochs": 1, "readout": "trainable"}, seed=3, base_lr={"sgd": 2.0, "adam": 0.01})
    for i, (c, row) in enumerate(zip(grid.configs(), grid.table())):
        assert c.seed == network_seed(3, i)
        assert c.lr == pytest.approx({"sgd": 2.0, "adam": 0.01}[row["optimizer"]] * row["lr"], rel=1e-15)
        assert c.hidden == (row["hidden_size"],) and c.optimizer == row["optimizer"]
    d = grid.to_dict()
    assert d["base_lr"] == {"sgd": 2.0, "adam": 0.01} and "network_seed(3" in d["seed_rule"]
    twin = grid.with_seed(4)  # a replicate: same configurations, other seeds
    assert [c.replace(seed=0) for c in twin.configs()] == [c.replace(seed=0) for c in grid.configs()]
    assert all(a.seed != b.seed for a, b in zip(twin.configs(), grid.configs()))
    plain = Grid({"lr": [0.1, 0.2]}, {"seed": 7})  # without seed= / base_lr=: unchanged behaviour
    assert [c.seed for c in plain.configs()] == [7, 7] and [c.lr for c in plain.configs()] == [0.1, 0.2]


@pytest.mark.parametrize("kw, match", [
    (dict(base_lr={"sgd": 1.0}), "no rate for optimizer"),
    (dict(base_lr={"sgd": 1.0, "adam": -1.0}), "finite number > 0"),
    (dict(base_lr={"sgd": True, "adam": 1.0}), "finite number > 0"),
    (dict(seed=-1), ">= 0"),
])
def test_grid_seed_and_base_lr_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        Grid({"optimizer": ["sgd", "adam"], "lr": [1.0]}, {"epochs": 1}, **kw)
    with pytest.raises(ValueError, match="do not also set 'seed'"):
        Grid({"lr": [1.0]}, {"seed": 1}, seed=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_rdm_transform_matches_metrics_rdm(seed):
    from repgeom_lite import metrics
    from repgeom_lite.grid import rdm_transform

    g = torch.Generator().manual_seed(seed)
    R = torch.randn(4, 7, 5, generator=g, dtype=torch.float64)
    R[1, 2] = 0.3  # a constant pattern: dissimilarity 1 to everything
    R[2] = torch.relu(R[2])
    U = rdm_transform(R).numpy()
    assert U.dtype == np.float32 and U.shape == (4, 21)
    np.testing.assert_allclose(U, metrics.rdm_upper(metrics.rdm(R.numpy())), atol=1e-6)
    np.testing.assert_allclose(rdm_transform(R[3:4]).numpy(), U[3:4], atol=0)  # networks independent


def test_stored_rdms_from_an_ensemble_run():
    from repgeom_lite import metrics
    from repgeom_lite.grid import rdm_transform, stored_rdms
    from repgeom_lite.models import hidden_responses

    rng = np.random.default_rng(0)
    X, probe = rng.normal(size=(30, 4)), rng.normal(size=(6, 4))
    data = TrainData(X, (rng.random((30, 2)) > 0.5).astype(float))
    configs = [NetConfig(hidden=(h,), epochs=2, batch_size=10, seed=s) for h, s in ((5, 0), (7, 1), (5, 2))]
    res = train_ensemble(configs, data, Records(probe=probe, probe_epochs=(2,), probe_transform=rdm_transform),
                         device="cpu", dtype=torch.float64, progress=False)
    R = stored_rdms(res, [2, 0])
    assert R.shape == (2, 6, 6) and np.allclose(R, R.transpose(0, 2, 1))
    for k, i in enumerate([2, 0]):
        Z = hidden_responses(res.params[i], probe, "relu", layers=[0])[0]
        np.testing.assert_allclose(R[k], metrics.rdm(Z), atol=1e-6)
    with pytest.raises(ValueError, match="no probe records"):
        stored_rdms(train_ensemble(configs[:1], data, device="cpu", progress=False))
