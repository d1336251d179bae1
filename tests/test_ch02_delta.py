"""Chapter 02 pipeline: task/grid wiring, measurement on known geometries, curve statistics,
claim measurement on synthetic sweeps, JSON round trip, plots and error paths."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import repgeom_lite as rgl  # noqa: E402
from repgeom_lite.chapters import ch02_delta as ch  # noqa: E402
from repgeom_lite.claims import evaluate_claims  # noqa: E402
from repgeom_lite.models import hidden_responses, stack_params  # noqa: E402

TOL = 1e-9
LABELS = np.array([-1, -1, 1, 1])


def tiny_cfg(**kw):
    base = dict(
        deltas=(0.0, 0.5, 1.0),
        train_noise_var=(0.0, 0.3),
        activations=("tanh", "relu"),
        seeds=(0, 1),
        task_seed=0,
        n_hidden=8,
        n_train=40,
        n_test=40,
        epochs=2,
        decode_sigmas=(1.0, 3.0),
        decode_folds=2,
        trajectory_deltas=(0.0, 1.0),
        trajectory_snapshots=3,
        device="cpu",
    )
    base.update(kw)
    return rgl.resolve_preset("02", "small", **base)


# --------------------------------------------------------------------------- presets


def test_presets_share_knobs_and_full_is_the_source_size():
    small, full = ch.PRESETS["small"], ch.PRESETS["full"]
    assert set(small) == set(full)
    for p in ch.PRESETS.values():
        assert set(p) == set(small)
    assert len(full["deltas"]) == 21 and full["deltas"][0] == 0 and full["deltas"][-1] == 1
    assert full["train_noise_var"] == (0.0, 0.1, 0.2, 0.3)
    assert len(full["seeds"]) == 20
    assert (full["n_hidden"], full["lr"], full["batch_size"], full["epochs"], full["tol"]) == (120, 0.1, 200, 5000, 1e-5)
    assert full["n_train"] == 5000 and full["n_test"] == 1000
    for spec in ch.CLAIMS.values():
        assert set(spec.threshold) >= set(ch.PRESETS)


def test_resolve_preset_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown preset 'huge' for chapter 02"):
        rgl.resolve_preset("02", "huge")
    with pytest.raises(ValueError, match="unknown parameter"):
        rgl.resolve_preset("02", "small", sigma_train=0.1)


# --------------------------------------------------------------------------- task + grid


def test_make_task_uses_the_noise_variance_and_delta_major_order():
    cfg = tiny_cfg()
    task = ch.make_task(cfg)
    assert len(task) == 6
    np.testing.assert_allclose(task.delta, [0, 0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(task.sigma_train, np.sqrt([0, 0.3] * 3), rtol=1e-12)
    assert task.X_train.shape == (6, 40, 120)
    with pytest.raises(ValueError, match="train_noise_var must be"):
        ch.make_task({**tiny_cfg(), "train_noise_var": (-0.1,)})  # past resolve_preset's own check


def test_network_grid_order_and_datasets():
    cfg = tiny_cfg()
    configs, index = ch.network_grid(cfg)
    assert len(configs) == 2 * 2 * 3 * 2 == index.shape[0]
    # C order of (activation, noise, delta, seed)
    np.testing.assert_array_equal(index[:4], [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 0, 1, 1]])
    for c, (a, s, d, r) in zip(configs, index):
        assert c.activation == cfg.activations[a]
        assert c.seed == cfg.seeds[r]
        assert c.dataset == d * 2 + s
        assert (c.hidden, c.readout, c.loss, c.batch_size) == ((8,), "balanced", "bce", cfg.batch_size)
    with pytest.raises(ValueError, match="seeds must be distinct"):
        ch.network_grid(tiny_cfg(seeds=(1, 1)))
    with pytest.raises(ValueError, match="must be non-empty"):
        ch.network_grid({**tiny_cfg(), "seeds": ()})  # past resolve_preset's own check
    with pytest.raises(ValueError, match="missing knob"):
        ch.network_grid({"activations": ("tanh",)})


# --------------------------------------------------------------------------- measurement


def test_centre_metrics_on_known_geometries():
    # a representation that is the label itself: target alignment 1, PS 1
    target = np.outer(LABELS, [1.0, 2.0, -1.0])
    # the pure-XOR input (δ = 0): zero alignment with the labels
    xor = np.array([[1, 1], [-1, -1], [-1, 1], [1, -1]], dtype=float)
    Z = np.stack([target, np.c_[xor, np.zeros(4)]])
    m = ch.centre_metrics(Z, np.stack([target, np.c_[xor, np.zeros(4)]]), LABELS)
    np.testing.assert_allclose(m["target_alignment"], [1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(m["input_alignment"], [1.0, 1.0], atol=1e-9)
    assert m["ps"][0] == pytest.approx(1.0)
    # XOR square: the two pairings give differences (2,0),(0,-2)... orthogonal or opposite -> PS <= 0
    assert m["ps"][1] <= 1e-9
    with pytest.raises(ValueError, match="labels must be"):
        ch.centre_metrics(Z, Z, LABELS[:, None])


def test_sample_metrics_separate_abstract_and_xor_codes():
    rng = np.random.default_rng(1)
    cond = np.repeat(np.arange(4), 30)
    abstract = np.outer(LABELS, [3.0, 0.0])[cond] + 0.3 * rng.normal(size=(120, 2))
    xor = np.array([[1, 1], [-1, -1], [-1, 1], [1, -1]], float)[cond] * 3 + 0.3 * rng.normal(size=(120, 2))
    dich = ch._trained_first_dichotomies(LABELS)
    assert dich.shape == (3, 4)
    np.testing.assert_array_equal(dich[0], LABELS)
    out = ch.sample_metrics(np.stack([abstract, xor]), cond, LABELS, dich, n_folds=2)
    assert out["ccgp"][0] > 0.95  # an abstract code generalises across conditions
    assert out["ccgp"][1] < 0.2  # the XOR square generalises the wrong way
    assert out["decoding"][0, 0] > 0.95 and out["decoding"][1, 0] < 0.7  # XOR not linearly decodable
    assert out["decoding"][1, 1:].min() > 0.95  # ... its inputs are
    assert "ccgp" not in ch.sample_metrics(abstract, cond, LABELS, dich, with_ccgp=False)


# --------------------------------------------------------------------------- curve statistics


def test_transition_delta_interpolates_the_halfway_crossing():
    x = np.array([0.0, 0.1, 0.2, 0.5, 1.0])
    step = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    ramp = x.copy()
    assert ch.transition_delta(x, step) == pytest.approx(0.15)
    assert ch.transition_delta(x, ramp) == pytest.approx(0.5)
    out = ch.transition_delta(x, np.stack([step, ramp, 1 - ramp]))
    np.testing.assert_allclose(out[:2], [0.15, 0.5])
    assert math.isnan(out[2])  # a falling curve has no transition
    with pytest.raises(ValueError, match="strictly increasing"):
        ch.transition_delta(x[::-1], step)
    with pytest.raises(ValueError, match="one per δ"):
        ch.transition_delta(x, step[:3])


def test_max_slope_and_noise_sensitivity():
    x = np.array([0.0, 0.1, 0.2, 0.5, 1.0])
    assert ch.max_slope(x, np.array([0, 0, 1, 1, 1.0])) == pytest.approx(10.0)
    assert ch.max_slope(x, x) == pytest.approx(1.0)
    v = np.zeros((2, 3, 5))
    v[0, -1] = 0.2
    v[1, -1, :2] = 0.5
    np.testing.assert_allclose(ch.noise_sensitivity(v), [0.2, 0.2])
    with pytest.raises(ValueError, match="strictly increasing"):
        ch.max_slope(np.array([0.0]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"\(\.\.\., S, Dl\)"):
        ch.noise_sensitivity(np.zeros(3))


# --------------------------------------------------------------------------- claims on synthetic sweeps


def synthetic_summary(tanh_shift=0.2, relu_ia=0.97, tanh_step=0.15, relu_noise=0.0, R=4, seed=0):
    """A sweep whose answer is known: tanh TA a step at ``tanh_step`` (+ shift with noise),
    ReLU TA a ramp; IA = 1 − 0.6 TA for tanh, constant ``relu_ia`` for ReLU."""
    rng = np.random.default_rng(seed)
    x = np.round(np.linspace(0, 1, 11), 2)
    var = np.array([0.0, 0.3])
    shape = (2, 2, len(x), R)
    TA, IA = np.empty(shape), np.empty(shape)
    for s in range(2):
        step = tanh_step + s * tanh_shift
        tanh = 0.1 + 0.85 * (x >= step)
        relu = 0.5 + 0.2 * x + s * relu_noise
        TA[0, s] = tanh[:, None] + 0.01 * rng.normal(size=(len(x), R))
        TA[1, s] = relu[:, None] + 0.01 * rng.normal(size=(len(x), R))
        IA[0, s] = 1 - 0.6 * TA[0, s]
        IA[1, s] = relu_ia
    low = np.where(x[None, None, :, None] == 0, 0.1, 0.9) * np.ones(shape)
    metrics = {
        "target_alignment": TA, "input_alignment": IA, "ps": low * 0.5, "ccgp": low,
        "decode_trained": np.ones(shape), "decode_untrained": np.ones(shape),
    }
    return ch.DeltaSummary(
        preset="small", deltas=x, train_noise_var=var, activations=("tanh", "relu"), seeds=tuple(range(R)),
        metrics=metrics, decoding=np.ones(shape + (2, 3)), decode_sigmas=(1.0, 3.0), sigma_test=1.0,
        input_output_alignment=x / np.sqrt(x**2 + 2), stop_epoch=np.full(shape, 10),
        final_train_acc=np.ones(shape), device="cpu", wall_time_s=1.0,
    )


def test_measure_claims_recovers_known_effects():
    m = ch.measure_claims(synthetic_summary())
    assert set(m) == set(ch.CLAIMS)
    assert m["delta0_target_alignment"].value == pytest.approx(0.5, abs=0.02)  # ReLU (the larger) at δ = 0
    assert m["delta0_ccgp"].value == pytest.approx(0.1)
    assert m["delta0_ps"].value == pytest.approx(0.05)
    # step between grid points 0.1 and 0.2 (halfway crossing interpolated)
    assert 0.1 <= m["tanh_transition_delta"].value <= 0.2
    assert m["tanh_noise_shift"].value == pytest.approx(0.2, abs=0.06)
    assert m["slope_tanh_minus_relu"].value > 5
    assert m["input_alignment_gap_min"].value == pytest.approx(0.97 - 0.94, abs=0.01)  # at δ = 0.1, below the step
    assert m["noise_sensitivity_tanh_minus_relu"].value > 0.05
    assert m["tanh_noise_shift"].spread is not None


def test_measure_claims_detects_the_opposite():
    """No noise shift, ReLU noise-sensitive, ReLU input alignment below tanh's: those claims fail."""
    m = ch.measure_claims(synthetic_summary(tanh_shift=0.0, relu_ia=0.2, relu_noise=0.3))
    assert abs(m["tanh_noise_shift"].value) < 0.02
    assert m["input_alignment_gap_min"].value < 0
    assert m["noise_sensitivity_tanh_minus_relu"].value < 0
    failed = {r.id for r in evaluate_claims(ch.CLAIMS, m, "small") if not r.holds}
    assert {"tanh_noise_shift", "input_alignment_gap_min", "noise_sensitivity_tanh_minus_relu"} <= failed


def test_measure_claims_needs_the_grid_ends():
    s = synthetic_summary()
    bad = ch.DeltaSummary(**{**s.__dict__, "deltas": s.deltas + 0.01})
    with pytest.raises(ValueError, match="needs δ = 0"):
        ch.measure_claims(bad)
    bad = ch.DeltaSummary(**{**s.__dict__, "train_noise_var": s.train_noise_var[::-1]})
    with pytest.raises(ValueError, match="first noise level must be 0"):
        ch.measure_claims(bad)
    bad = ch.DeltaSummary(**{**s.__dict__, "activations": ("tanh", "sigmoid")})
    with pytest.raises(ValueError, match="activation 'relu' not in this sweep"):
        ch.measure_claims(bad)


def test_transition_table_rows():
    rows = ch.transition_table(synthetic_summary())
    assert [(r["activation"], r["noise_var"]) for r in rows] == [("tanh", 0.0), ("tanh", 0.3), ("relu", 0.0), ("relu", 0.3)]
    assert rows[1]["mean"] - rows[0]["mean"] == pytest.approx(0.2, abs=0.06)
    assert rows[0]["n_undefined"] == 0 and len(rows[0]["per_seed"]) == 4


def test_summary_json_round_trip(tmp_path):
    s = synthetic_summary()
    s.metrics["ccgp"][0, 0, 0, 0] = np.nan
    path = s.to_json(tmp_path / "summary.json")
    back = ch.DeltaSummary.from_json(path)
    assert back.activations == s.activations and back.seeds == s.seeds
    np.testing.assert_allclose(back.metric("target_alignment"), s.metric("target_alignment"), atol=1e-6)
    assert np.isnan(back.metric("ccgp")[0, 0, 0, 0])
    assert back.decoding.shape == s.decoding.shape
    with pytest.raises(ValueError, match="unknown metric"):
        back.metric("nope")
    (tmp_path / "other.json").write_text('{"preset": "small"}')
    with pytest.raises(ValueError, match="not a chapter-02 summary"):
        ch.DeltaSummary.from_json(tmp_path / "other.json")


def test_explore_deltas():
    assert ch.explore_deltas(range(5), 11) == [0, 1, 2, 3, 4]
    idx = ch.explore_deltas(range(21), 11)
    assert idx[0] == 0 and idx[-1] == 20 and len(idx) == 11
    with pytest.raises(ValueError, match="max_values"):
        ch.explore_deltas(range(3), 0)
    with pytest.raises(ValueError, match="empty"):
        ch.explore_deltas([], 3)


# --------------------------------------------------------------------------- tiny end-to-end run + plots


@pytest.fixture(scope="module")
def tiny_results():
    return ch.run(tiny_cfg(), progress=False)


def test_run_shapes_and_consistency(tiny_results):
    res = tiny_results
    s = res.summary
    assert s.preset == "small"
    for name in ch.METRICS:
        assert s.metric(name).shape == (2, 2, 3, 2)
        assert np.all(np.isfinite(s.metric(name)))
    assert s.decoding.shape == (2, 2, 3, 2, 2, 3)
    assert res.hidden_centres.shape == (2, 2, 3, 2, 4, 8)
    np.testing.assert_allclose(s.metric("decode_trained"), s.decoding[..., 0, 0])
    # orthogonal latent blocks: C(K_X, K_Y) = δ² / sqrt(2 + δ⁴) (0 for XOR, 1/√3 at δ = 1)
    d = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(s.input_output_alignment, d**2 / np.sqrt(2 + d**4), atol=1e-5)
    assert np.all(s.stop_epoch == 2)
    # the recorded hidden responses are those of the trained networks on the centres
    tr = res.trajectories
    assert tr.coords.shape[:3] == (2, 2, len(tr.epochs))
    assert np.isnan(tr.coords[:, 0]).all()  # δ = 0: no plane
    assert np.isfinite(tr.coords[:, 1]).all()
    assert tr.fields[("tanh", 0.0)] is None and tr.fields[("relu", 1.0)] is not None
    assert tr.epochs[0] == 0 and tr.epochs[-1] == 2


def test_trajectory_network_matches_the_sweep(tiny_results):
    """The trajectory run trains the sweep's (σ² = 0, first seed) networks: same final weights."""
    res = tiny_results
    tr = res.trajectories
    from repgeom_lite.metrics import project_weights, weight_plane_axes

    # δ = 1 is index 2 of the sweep and index 1 of the trajectories; tanh = activation 0
    axes = weight_plane_axes(res.task.centers[2 * 2 + 0], LABELS, intra=(2, 3))
    configs, index = ch.network_grid(tiny_cfg())
    e = int(np.flatnonzero((index == [0, 0, 2, 0]).all(1))[0])
    Z_sweep = res.hidden_centres[0, 0, 2, 0]
    final = tr.coords[0, 1, -1]  # (H, 2)
    # rebuild the hidden responses from the projected weights is impossible; instead check the run is
    # deterministic: retrain that network alone and compare both records
    from repgeom_lite.ensemble import Records, train_ensemble

    one = train_ensemble([configs[e]], ch._train_data(res.task), Records(history=False), device="cpu", progress=False)
    np.testing.assert_allclose(project_weights(one.params[0]["W0"], axes), final, atol=1e-5)
    Z_one = hidden_responses(stack_params(one.params), res.task.centers[2 * 2 + 0], "tanh", layers=[0])[0][0]
    np.testing.assert_allclose(Z_one, Z_sweep, atol=1e-5)


def test_plots_return_axes(tiny_results):
    s = tiny_results.summary
    ax = ch.plot_metric_vs_delta(s, "target_alignment")
    assert ax.get_xlabel() == "separability δ" and len(ax.get_lines()) == 2
    ax = ch.plot_heatmap(s, "ccgp", "relu")
    assert ax.get_ylabel() == "training noise σ²"
    ax = ch.plot_trajectories(tiny_results.trajectories, "relu", 1.0)
    assert ax.get_xlabel().startswith("inter-class")
    ax = ch.plot_trajectories(tiny_results.trajectories, "tanh", 0.0)  # no plane: a note instead
    assert not ax.axison
    ax = ch.plot_condition_geometry(tiny_results.hidden_centres[0, 0, 2, 0], title="t")
    assert ax.get_title() == "t"
    ax = ch.plot_transition(s)
    assert ax.get_ylabel().startswith("transition δ")
    ax = ch.plot_task_geometry(0.5)
    assert ax.get_title() == "δ = 0.5"
    with pytest.raises(ValueError, match="not recorded"):
        ch.plot_trajectories(tiny_results.trajectories, "relu", 0.3)
    with pytest.raises(ValueError, match="not recorded"):
        ch.plot_trajectories(tiny_results.trajectories, "sigmoid", 1.0)
    with pytest.raises(ValueError, match="Z must be"):
        ch.plot_condition_geometry(np.zeros((3, 2)))
    plt.close("all")


def test_torch_threads_restores_the_setting():
    import torch

    before = torch.get_num_threads()
    with ch.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with ch.torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="torch_threads must be None or an integer"):
        with ch.torch_threads(0):
            pass


def test_findings_text_follows_the_numbers():
    text = ch.findings_markdown(synthetic_summary())
    m = ch.measure_claims(synthetic_summary())
    assert f"{m['tanh_transition_delta'].value:.3g}" in text
    assert "*not* higher at every δ > 0" not in text  # ReLU IA 0.97 > tanh's everywhere
    low = synthetic_summary(relu_ia=0.5)
    text = ch.findings_markdown(synthetic_summary(), low)
    assert "*not* higher at every δ > 0" in text and "does not hold at the smallest δ" in text


def test_explore_panel(tiny_results):
    fig = ch.plot_explore_panel(tiny_results, 1, 2)
    assert len(fig.axes) == 3 and "δ = 1" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="i_noise must be"):
        ch.plot_explore_panel(tiny_results, 5, 0)
    plt.close("all")


def test_markdown_tables_and_noise_curves():
    s = synthetic_summary()
    t = ch.transition_markdown(s)
    assert t.count("\n") == 2 + 3 and "| tanh | 0.3 | 0.55 |" in t
    c = ch.source_comparison_markdown(s)
    assert "transition δ = " in c and "shift at σ² = 0.3" in c
    claims = {"claims": [{"statement": "x > t", "value": 0.5, "spread": None, "op": ">", "threshold": 0.1,
                          "holds": True, "expected": "replicated"}]}
    assert "| x > t | 0.5 | > 0.1 | yes | replicated |" in ch.claims_file_markdown(claims)
    ax = ch.plot_noise_curves(s, "relu")
    assert len(ax.get_lines()) == 2 and ax.get_xlabel() == "separability δ"
    plt.close("all")


def test_load_larger_run(tmp_path):
    assert ch.load_larger_run(tmp_path, "small") == (None, None)
    s = synthetic_summary()
    s.to_json(tmp_path / "02_medium" / "summary.json")
    big, claims = ch.load_larger_run(tmp_path, "small")
    assert big is not None and claims is None and big.seeds == s.seeds
    assert ch.load_larger_run(tmp_path, "medium") == (None, None)  # the run being made is skipped
    (tmp_path / "02_medium" / "claims.json").write_text('{"claims": []}')
    assert ch.load_larger_run(tmp_path, "full")[1] == {"claims": []}
