"""Chapter 03 pipeline: grid, RDM transform, accuracy, factor effects, claims (tiny sizes)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import repgeom_lite as rgl
from repgeom_lite.chapters import ch03_grid as ch
from repgeom_lite.ensemble import NetConfig

TOL = 1e-10


# --------------------------------------------------------------------------- grid


def test_network_seed_is_deterministic_distinct_and_valid():
    seeds = [ch.network_seed(0, i) for i in range(200)]
    assert seeds == [ch.network_seed(0, i) for i in range(200)]
    assert len(set(seeds)) == 200
    assert ch.network_seed(1, 5) != ch.network_seed(0, 5)
    assert all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(ValueError, match=">= 0"):
        ch.network_seed(-1, 0)
    with pytest.raises(ValueError, match="integers"):
        ch.network_seed(0, 1.5)


def _small_grid(**kw):
    factors = {"activation": ["relu", "tanh"], "optimizer": ["sgd", "adam"], "hidden_size": [4, 8], "lr": [0.5, 2.0]}
    return ch.ChapterGrid(factors, {"epochs": 1, "readout": "trainable"}, seed=kw.get("seed", 3),
                          base_lr=kw.get("base_lr", {"sgd": 2.0, "adam": 0.01}))


def test_chapter_grid_seeds_and_relative_learning_rates():
    grid = _small_grid()
    configs, table = grid.configs(), grid.table()
    assert len(configs) == 16
    for i, (c, row) in enumerate(zip(configs, table)):
        assert c.seed == ch.network_seed(3, i)
        base = {"sgd": 2.0, "adam": 0.01}[row["optimizer"]]
        assert c.lr == pytest.approx(base * row["lr"], rel=1e-15)
        assert c.hidden == (row["hidden_size"],) and c.optimizer == row["optimizer"]
    assert grid.to_dict()["base_lr"] == {"sgd": 2.0, "adam": 0.01}
    # the chunk partition (used by run_grid's shards) covers every network once
    chunks = grid.chunks(5)
    assert sorted(i for c in chunks for i in c) == list(range(16))


def test_chapter_grid_errors():
    with pytest.raises(ValueError, match="no reference rate"):
        _small_grid(base_lr={"sgd": 1.0})
    with pytest.raises(ValueError, match="finite number > 0"):
        _small_grid(base_lr={"sgd": 1.0, "adam": -1.0})
    with pytest.raises(ValueError, match="sets the seeds itself"):
        ch.ChapterGrid({"lr": [1.0]}, {"seed": 1}, seed=0, base_lr={"sgd": 1.0})
    with pytest.raises(ValueError, match="needs an 'lr' factor"):
        ch.ChapterGrid({"activation": ["relu"]}, {}, seed=0, base_lr={"sgd": 1.0})


def test_presets_have_the_same_knobs_and_the_full_grid_is_4608():
    assert set(ch.PRESETS["small"]) == set(ch.PRESETS["full"])
    assert len(ch.make_grid(rgl.resolve_preset("03", "full"))) == ch.SOURCE["n_networks"] == 4608
    assert set(ch.RUNTIME) == {"small", "full"}
    assert set(ch.CLAIMS) == {"activation_largest", "hidden_optimizer_lr_next", "l1_l2_negligible",
                              "same_accuracy_different_geometry"}
    for spec in ch.CLAIMS.values():
        assert set(spec.threshold) == {"small", "full"}


# --------------------------------------------------------------------------- RDMs


@pytest.mark.parametrize("seed", [0, 1])
def test_rdm_upper_transform_matches_metrics_rdm(seed):
    g = torch.Generator().manual_seed(seed)
    R = torch.randn(4, 7, 5, generator=g, dtype=torch.float64)
    R[1, 2] = 0.3  # a constant pattern (dissimilarity 1 to everything)
    R[2] = torch.relu(R[2])
    U = ch.rdm_upper_transform(R).numpy()
    ref = rgl.metrics.rdm_upper(rgl.metrics.rdm(R.numpy()))
    assert U.dtype == np.float32 and U.shape == (4, 21)
    np.testing.assert_allclose(U, ref, atol=1e-6)
    # networks are independent: transforming one alone gives its row
    np.testing.assert_allclose(ch.rdm_upper_transform(R[3:4]).numpy(), U[3:4], atol=0)


def test_square_rdms_round_trip_and_errors():
    rng = np.random.default_rng(0)
    R = rgl.metrics.rdm(rng.normal(size=(3, 6, 4)))
    np.testing.assert_allclose(ch.square_rdms(rgl.metrics.rdm_upper(R)), R, atol=TOL)
    with pytest.raises(ValueError, match="P \\(P - 1\\) / 2"):
        ch.square_rdms(np.zeros((2, 7)))
    with pytest.raises(ValueError, match="shape \\(m, d\\)"):
        ch.square_rdms(np.zeros(6))


def test_rdm_pca_distances_match_spearman():
    rng = np.random.default_rng(1)
    U = rng.random((6, 15))
    coords, explained = ch.rdm_pca(U, n_components=5)
    rho = rgl.metrics.rsa_matrix(ch.square_rdms(U), method="spearman")
    d2 = ((coords[:, None] - coords[None]) ** 2).sum(-1)
    np.testing.assert_allclose(d2, 2 * (1 - rho), atol=1e-9)
    assert explained.shape == (5,) and np.all(np.diff(explained) <= 1e-12)
    with pytest.raises(ValueError, match="m > n_components"):
        ch.rdm_pca(U[:2])


# --------------------------------------------------------------------------- accuracy


def _identity_net(flip_right: bool = False):
    """H = 20 ReLU units copying one-hot inputs: logits = inputs (right head negated if flip)."""
    W1 = np.eye(20)
    if flip_right:
        W1[10:, 10:] *= -1
    return {"W0": np.eye(20), "b0": np.zeros(20), "W1": W1, "b1": np.zeros(20)}


def test_head_accuracy_known_values():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 10, size=(50, 2))
    X = np.zeros((50, 20))
    X[np.arange(50), y[:, 0]] = 1
    X[np.arange(50), 10 + y[:, 1]] = 1
    y_wrong = y.copy()
    y_wrong[:10, 0] = (y[:10, 0] + 1) % 10  # 10 of 50 left labels wrong
    configs = [NetConfig(hidden=(20,), activation="relu")] * 3
    params = [_identity_net(), _identity_net(flip_right=True), {**_identity_net(), "W0": np.full((20, 20), np.nan)}]
    acc = ch.head_accuracy(configs, params, X, y_wrong, block=2)
    np.testing.assert_allclose(acc[0], [0.8, 1.0])
    assert acc[1, 0] == pytest.approx(0.8) and acc[1, 1] < 0.2  # negated logits: argmax never the class
    assert np.all(np.isnan(acc[2]))
    with pytest.raises(ValueError, match="same length"):
        ch.head_accuracy(configs[:2], params, X, y)
    with pytest.raises(ValueError, match="y \\(n, 2\\)"):
        ch.head_accuracy(configs, params, X, y[:, 0])
    with pytest.raises(ValueError, match="one"):
        ch.head_accuracy([NetConfig(hidden=(20, 20))], params[:1], X, y)


# --------------------------------------------------------------------------- factor effects


def _design(levels_per_factor):
    """All level combinations, (m, F) int."""
    grids = np.meshgrid(*[np.arange(n) for n in levels_per_factor], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1)


def _gram(Z):
    return Z @ Z.T


# --------------------------------------------------------------------------- claims on synthetic summaries


def _synthetic_results():
    """A GridResults built from known geometry: activation moves RDMs most, L1/L2/init not at all."""
    cfg = dict(rgl.resolve_preset("03", "small"))
    factors = {f: list(cfg[ch.LEVEL_KNOBS[f]]) for f in ch.FACTORS}
    levels = _design([len(factors[f]) for f in ch.FACTORS])
    rng = np.random.default_rng(11)
    d = 40
    dirs = {f: rng.normal(size=(len(factors[f]), d)) for f in ch.FACTORS}
    size = {"activation": 1.0, "hidden_size": 0.5, "optimizer": 0.5, "lr": 0.5, "batch_size": 0.2,
            "init": 0.0, "l1": 0.0, "l2": 0.0}
    Z = rng.normal(size=(len(levels), d)) * 0.2
    for k, f in enumerate(ch.FACTORS):
        Z += size[f] * dirs[f][levels[:, k]] / math.sqrt(d)
    act = levels[:, 0]
    Z[act == 0] += 1.0 * dirs["activation"][0] / math.sqrt(d)  # ReLU set apart
    rho = _gram(Z)
    floor = 0.5 * ((0.2 * rng.normal(size=(40, d))) ** 2).sum(axis=1) * 2
    eff = rgl.stats.factor_effects(rho, levels, floor, ch.FACTORS, n_boot=100, n_perm=50, seed=0)
    two = rgl.stats.two_factor_effects(rho, levels, ch.FACTORS)
    acc = np.clip(0.95 + 0.003 * rng.normal(size=(len(levels), 2)), 0, 1)
    comp = rgl.stats.comparable_accuracy(1 - rho / np.sqrt(np.outer(np.diag(rho), np.diag(rho))), acc.mean(1), floor,
                                  n_boot=20)
    E = len(levels)
    return ch.GridResults(
        config=cfg, factors=factors, levels=levels, accuracy=acc, passed=np.ones(E, bool),
        diverged=np.zeros(E, bool), rdms=rng.random((E, 4950)).astype(np.float32), rsa=rho,
        pca=rng.normal(size=(E, 2)), pca_explained=np.array([0.3, 0.1]), floor_index=np.arange(40),
        floor_accuracy=acc[:40], floor_dissimilarity=floor, effects=eff, two_factor=two, comparable=comp,
        timings={"train_grid": 1.0, "train_floor": 0.5, "rsa": 0.1, "effects": 0.1, "total": 2.0}, device="cpu",
        stimulus_labels=np.zeros((100, 2), int),
    )


@pytest.fixture(scope="module")
def synthetic():
    return _synthetic_results()


def test_measure_claims_on_known_geometry(synthetic):
    summary = ch.summarize(synthetic)
    measured = ch.measure_claims(summary)
    assert set(measured) == set(ch.CLAIMS)
    assert measured["activation_largest"].value > 0
    assert measured["hidden_optimizer_lr_next"].value > 0
    assert measured["l1_l2_negligible"].value < 0.05
    for m in measured.values():
        assert math.isfinite(m.value) and m.spread is not None and m.spread >= 0
    # the report goes through check_claims with the chapter's specs
    report = rgl.claims.evaluate_claims(ch.CLAIMS, measured, "small")
    assert len(report) == len(ch.CLAIMS)


def test_summary_json_round_trip(synthetic, tmp_path):
    summary = ch.summarize(synthetic)
    path = ch.save_summary(summary, tmp_path / "summary.json")
    back = ch.load_summary(path)
    assert back.n_passed == summary.n_passed and back.factors == summary.factors
    np.testing.assert_allclose(back.effects.shift, summary.effects.shift, atol=TOL)
    np.testing.assert_allclose(back.effects.level_pairs[0], summary.effects.level_pairs[0], atol=TOL)
    np.testing.assert_allclose(back.pca, summary.pca, atol=1e-5)
    a, b = ch.measure_claims(back), ch.measure_claims(summary)
    for k in a:
        assert a[k].value == pytest.approx(b[k].value, abs=1e-9)
    (tmp_path / "other.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a chapter-03 summary"):
        ch.load_summary(tmp_path / "other.json")


def test_committed_full_summary_loads():
    """The committed full-size summary (written before repgeom_lite.io) still loads and measures."""
    path = rgl.results.path("03", "full")
    if path is None:
        pytest.skip("no committed full-size run of chapter 03")
    summary = ch.load_summary(path)
    assert isinstance(summary.effects, rgl.stats.FactorEffects)
    assert summary.levels.shape == (summary.n_passed, len(ch.FACTORS)) and summary.levels.dtype.kind == "i"
    assert isinstance(summary.comparable.example, tuple)
    assert set(ch.measure_claims(summary)) == set(ch.CLAIMS)


def test_measure_claims_errors(synthetic):
    summary = ch.summarize(synthetic)
    e = summary.effects
    no_pairs = dataclasses.replace(e, shift=np.where(np.arange(8) == 6, np.nan, e.shift))
    with pytest.raises(ValueError, match="hidden_size"):
        ch.measure_claims(dataclasses.replace(summary, effects=no_pairs))


def test_tables_and_figures(synthetic):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = ch.summarize(synthetic)
    assert ch.grid_table(synthetic.config).loc["networks", "n"] == 384
    assert ch.pass_table(summary)["passed"].sum() == 8 * summary.n_passed
    assert ch.effects_table(summary).index[0] == "activation"
    for fn in (ch.plot_pass_by_factor, ch.plot_factor_effects, ch.plot_rdm_pair):
        axes = fn(summary)
        assert axes[0].get_xlabel() or axes[0].get_ylabel()
    for ax in (ch.plot_pca(summary, "lr"), ch.plot_two_factor(summary), ch.plot_rsa_matrix(synthetic),
               ch.plot_accuracy_vs_geometry(synthetic)):
        assert ax.get_xlabel() and ax.get_ylabel()
    with pytest.raises(ValueError, match="unknown factor"):
        ch.plot_pca(summary, "colour")
    plt.close("all")


# --------------------------------------------------------------------------- end to end (tiny)


def _tiny_cfg(**kw):
    values = dict(
        n_train=300, n_test=200, epochs=2, activations=["relu", "tanh", "sigmoid"], optimizers=["adam"],
        inits=["he"], l1_levels=[0.0], l2_levels=[0.0], batch_sizes=[64], hidden_sizes=[8, 16],
        lr_multipliers=[1.0, 2.0], accuracy_threshold=0.0, n_floor=4, n_boot=20, n_perm=20, device="cpu",
    )
    values.update(kw)
    return rgl.resolve_preset("03", "small", **values)


def test_run_end_to_end_tiny_and_resumes_from_store(tmp_path):
    cfg = _tiny_cfg(store_dir="store")
    res = ch.run(cfg, output_dir=tmp_path, progress=False)
    assert res.passed.all() and res.rsa.shape == (12, 12) and res.rdms.shape == (12, 4950)
    np.testing.assert_allclose(np.diag(res.rsa), 1.0, atol=1e-9)
    assert res.floor_index.size == 4 and np.isfinite(res.floor_dissimilarity).all()
    assert (tmp_path / "store" / "floor.npz").exists()
    again = ch.run(cfg, output_dir=tmp_path, progress=False)  # finished chunks and floor are reused
    np.testing.assert_array_equal(again.rdms, res.rdms)
    np.testing.assert_array_equal(again.floor_dissimilarity, res.floor_dissimilarity)
    summary = ch.summarize(res)
    assert summary.n_networks == 12 and summary.pass_by_factor["activation"]["n_total"] == [4, 4, 4]


def test_run_fails_clearly_when_nothing_passes():
    with pytest.raises(RuntimeError, match="reached 100%"):
        ch.run(_tiny_cfg(accuracy_threshold=1.0, activations=["relu"], hidden_sizes=[8], lr_multipliers=[1.0]),
               progress=False)


def test_findings_markdown_reports_both_runs(synthetic):
    summary = ch.summarize(synthetic)
    measured = ch.measure_claims(summary)
    report = rgl.claims.ClaimsReport("03", "small", [0, 1], 12.0, "cpu", "now",
                                     rgl.claims.evaluate_claims(ch.CLAIMS, measured, "small"))
    text = ch.findings_markdown(summary, report.to_dict(), summary, report.to_dict())
    assert text.count("| claim `") == len(ch.CLAIMS)
    assert "**Activation** moves the geometry most" in text and "Full-size run" in text
    assert f"{summary.n_passed} of {summary.n_networks}" in text
    assert "nan" not in text.lower()
    assert [name for name, _ in ch.ranking(summary)][0] == "activation"
