"""Chapter 01 pipeline: helpers, claim measurement on known inputs, save/load, tiny end-to-end run."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from repgeom_lite import metrics as M  # noqa: E402
from repgeom_lite.chapters import ch01_tanh_relu as ch  # noqa: E402
from repgeom_lite.claims import evaluate_claims  # noqa: E402
from repgeom_lite.reference import MLP  # noqa: E402
from repgeom_lite.ensemble import NetConfig  # noqa: E402

TOL = 1e-10


# --------------------------------------------------------------------------- presets and claims


def test_presets_share_knobs_and_claims_have_both_thresholds():
    assert list(ch.PRESETS) == ["small", "full"]
    assert set(ch.PRESETS["small"]) == set(ch.PRESETS["full"])
    for cid, spec in ch.CLAIMS.items():
        assert set(spec.threshold) >= {"small", "full"}, cid
    full = ch.PRESETS["full"]
    assert len(full["seeds"]) == 20 and len(full["aligned_seeds"]) == 10  # the source's sizes
    assert full["aligned_runs"] == [[8, 1], [8, 3], [8, 7], [32, 1], [32, 5], [32, 31]]
    assert full["n_alignments"] == 12 and full["epochs"] == 5000 and full["tol"] == 1e-5
    # held-out seeds: the small preset does not reuse the development seeds 0-2
    assert not set(ch.PRESETS["small"]["seeds"]) & {0, 1, 2, 10, 11, 12}
    assert ch.PRESETS["small"]["task_seed"] not in (0, 1)


# --------------------------------------------------------------------------- helpers


def test_probe_schedule():
    assert ch.probe_schedule(25, 6) == (0, 1, 3, 6, 13, 25)
    e = ch.probe_schedule(5000, 30)
    assert e[0] == 0 and e[-1] == 5000 and list(e) == sorted(set(e))
    assert ch.probe_schedule(1, 5) == (0, 1)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        ch.probe_schedule(0, 3)
    with pytest.raises(ValueError, match="number of probe epochs"):
        ch.probe_schedule(10, 1)


def test_parse_and_label_activations():
    assert ch.parse_activation("tanh") == ("tanh", None)
    assert ch.parse_activation(("clipped_relu", 2)) == ("clipped_relu", 2.0)
    assert ch.activation_label("relu") == "ReLU"
    assert ch.activation_label("clipped_relu", 1.5) == "clipped ReLU u=1.5"
    assert ch.activation_label("shifted_relu", -0.5) == "shifted ReLU s=-0.5"
    with pytest.raises(ValueError, match="name or a \\(name, parameter\\) pair"):
        ch.parse_activation(("relu", 1, 2))


def test_aligned_task_seed_is_deterministic_and_distinct():
    a = ch.aligned_task_seed(1, 8, 3, 0)
    assert a == ch.aligned_task_seed(1, 8, 3, 0)
    others = {ch.aligned_task_seed(1, 8, 3, 1), ch.aligned_task_seed(1, 8, 1, 0), ch.aligned_task_seed(2, 8, 3, 0),
              ch.aligned_task_seed(1, 32, 3, 0)}
    assert a not in others and len(others) == 4


@pytest.mark.parametrize("P, k, frac", [(8, 1, 0.0), (8, 3, 0.5), (8, 7, 0.9), (32, 5, 0.3)])
def test_aligned_task_hits_the_requested_alignment(P, k, frac):
    from repgeom_lite import tasks

    lo, hi = tasks.min_alignment(P, k), tasks.max_alignment(P, k)
    c = lo + frac * (hi - lo)
    t = ch.aligned_task(P, k, 0, c, D=100, sigma_train=1.0, n_train=16, task_seed=3)
    # measured on the generated float32 centres, as the chapter does
    assert abs(float(M.kernel_alignment(t.centers, t.labels.astype(float))) - c) < 1e-5
    assert t.labels.shape == (P, k) and t.centers.shape == (P, 100)


@pytest.mark.parametrize("hidden, act, p", [((7,), "tanh", None), ((5, 6), "relu", None), ((4,), "clipped_relu", 0.5),
                                            ((3, 3, 4), "shifted_relu", -0.3)])
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
    got = ch.hidden_responses(params, X, act, p)
    assert len(got) == len(hidden) + 1
    for g, h in zip(got[:-1], hidden_ref):
        np.testing.assert_allclose(g, h.detach().numpy(), atol=TOL)
    np.testing.assert_allclose(got[-1], out.detach().numpy(), atol=TOL)
    with pytest.raises(ValueError, match="expects 9 inputs"):
        ch.hidden_responses(params, X[:, :5], act, p)
    with pytest.raises(ValueError, match="at least one hidden layer"):
        ch.hidden_responses({"W0": params["W0"]}, X, act, p)


def test_pca_2d_keeps_distances_of_planar_points_and_fixes_signs():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(6, 2))
    Q = np.linalg.qr(rng.normal(size=(10, 10)))[0][:2]  # embed the plane in 10-d, rotated
    Z = pts @ Q + 3.0
    xy = ch.pca_2d(Z)
    d = lambda A: np.linalg.norm(A[:, None] - A[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(d(xy), d(pts), atol=1e-10)
    for i in range(2):
        assert xy[np.argmax(np.abs(xy[:, i])), i] > 0
    line = np.outer(np.arange(4.0), np.ones(5))
    assert np.allclose(ch.pca_2d(line)[:, 1], 0)
    with pytest.raises(ValueError, match="shape \\(P, H\\)"):
        ch.pca_2d(np.ones(3))


def test_paired_difference_and_slopes():
    m, sd = ch.paired_difference([1.0, 2.0, 4.0], [0.0, 0.0, 1.0])
    assert m == pytest.approx(2.0) and sd == pytest.approx(1.0)
    assert ch.paired_difference([1.0], [0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError, match="1-D with the same"):
        ch.paired_difference([], [])
    x = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.stack([2 * x + 1, -x])
    np.testing.assert_allclose(ch.slopes(x, y), [2.0, -1.0])
    with pytest.raises(ValueError, match="G >= 2"):
        ch.slopes(x, y[:, :3])
    with pytest.raises(ValueError, match="not be constant"):
        ch.slopes(np.ones(3), np.ones(3))


# --------------------------------------------------------------------------- synthetic results with known answers


def _four_cluster(ta_t, ta_r, ia_t, ia_r, ps_t, ps_r, dec, ccgp) -> ch.FourClusterResult:
    S, R, Q = len(ta_t), 3, 2
    dich = M.balanced_dichotomies(4)

    def curve(end):
        return np.stack([np.linspace(0.5, e, R) for e in end])

    return ch.FourClusterResult(
        activations=("tanh", "relu"), seeds=np.arange(S), epochs=np.array([0, 1, 2]),
        target_alignment=np.stack([curve(ta_t), curve(ta_r)]),
        input_alignment=np.stack([curve(ia_t), curve(ia_r)]),
        parallelism=np.stack([curve(ps_t), curve(ps_r)]),
        decode_epochs=np.array([0, 2]), sigma_test=np.array([1.0, 3.0]), decoding=dec, ccgp=ccgp,
        dichotomies=dich, trained_index=0, test_accuracy=np.ones((2, S)), task_alignment=0.55,
        weight_epochs=np.array([0, 1, 2]), trajectories=np.zeros((2, 3, 4, 2)),
        field_inter=np.tile(np.linspace(-1, 1, 3), (2, 1)), field_intra=np.tile(np.linspace(-1, 1, 3), (2, 1)),
        field=np.ones((2, 3, 3, 2)),
    )


def _aligned(runs, acts, params, ta) -> ch.AlignedResult:
    K, A, G, S = ta.shape
    P_max = max(P for P, _ in runs)
    return ch.AlignedResult(
        runs=np.asarray(runs), activations=tuple(acts), act_params=np.asarray(params, dtype=float),
        alignment=np.tile(np.linspace(0.0, 0.6, G), (K, 1)), alignment_measured=np.tile(np.linspace(0.0, 0.6, G), (K, 1)),
        seeds=np.arange(S), target_alignment=ta.copy(), input_alignment=1 - ta, parallelism=ta / 2, ccgp=ta.copy(),
        test_accuracy=np.ones_like(ta), geometry=np.random.default_rng(0).normal(size=(K, A, G, P_max, 2)),
        labels_first=np.tile(np.r_[np.ones(P_max // 2), -np.ones(P_max // 2)], (K, G, 1)),
    )


def synthetic_results() -> ch.Ch01Results:
    S = 3
    # decoding (A, S, Q, T, 3): trained index 0; untrained at sigma 3 (T=1) go 0.8 -> 0.9 (ReLU), 0.8 -> 0.7 (tanh)
    dec = np.ones((2, S, 2, 2, 3))
    dec[:, :, :, 0, 0] = 0.97
    dec[0, :, 0, 1, 1:] = 0.8
    dec[0, :, 1, 1, 1:] = 0.7
    dec[1, :, 0, 1, 1:] = 0.8
    dec[1, :, 1, 1, 1:] = np.array([0.88, 0.9, 0.92])[:, None]
    ccgp = np.full((2, S, 2, 2), 0.6)
    ccgp[0, :, -1, 1] = 0.9
    fc = _four_cluster([1.0, 0.98, 0.99], [0.9, 0.88, 0.89], [0.6, 0.6, 0.6], [0.9, 0.8, 0.85],
                       [0.9, 0.9, 0.9], [0.5, 0.5, 0.5], dec, ccgp)
    G = 4
    x = np.linspace(0.0, 0.6, G)
    # run 0: tanh slope 1.0, ReLU 0.5; run 1: tanh 0.4, ReLU 0.3 -> smallest gap 0.1
    ta = np.empty((2, 2, G, S))
    for k, (st, sr) in enumerate([(1.0, 0.5), (0.4, 0.3)]):
        ta[k, 0] = (0.3 + st * x)[:, None]
        ta[k, 1] = (0.3 + sr * x)[:, None]
    al = _aligned([(8, 1), (32, 5)], ["tanh", "relu"], [np.nan, np.nan], ta)
    # perturbation: clipped u=1 at 0.1 from tanh and 0.3 from ReLU; u=2 halfway (0.2/0.2)
    tp = np.empty((1, 5, G, S))
    tp[0, 0], tp[0, 1] = 0.9, 0.5
    tp[0, 2], tp[0, 3], tp[0, 4] = 0.8, 0.7, 0.6
    pt = _aligned([(32, 5)], ["tanh", "relu", "clipped_relu", "clipped_relu", "shifted_relu"],
                  [np.nan, np.nan, 1.0, 2.0, 0.5], tp)
    dp = ch.DepthResult(depths=np.array([2]), tasks=("easy",), activations=("tanh", "relu"), seeds=np.arange(2),
                        target_alignment=np.full((1, 1, 2, 2, 2), 0.5), input_alignment=np.full((1, 1, 2, 2, 2), 0.4),
                        test_accuracy=np.ones((1, 1, 2, 2)))
    return ch.Ch01Results(preset="small", config={"seeds": [0, 1, 2], "tol": None}, four_cluster=fc, aligned=al,
                          perturbation=pt, depth=dp, device="cpu test", wall_time_s=1.0)


def test_measure_claims_on_known_inputs():
    m = ch.measure_claims(synthetic_results())
    assert set(m) == set(ch.CLAIMS)
    assert m["target_alignment_tanh_minus_relu"].value == pytest.approx(0.1)
    assert m["target_alignment_tanh_minus_relu"].spread == pytest.approx(0.0, abs=1e-12)
    assert m["input_alignment_relu_minus_tanh"].value == pytest.approx(0.25)
    assert m["input_alignment_relu_minus_tanh"].spread == pytest.approx(0.05)
    assert m["ps_tanh_minus_relu"].value == pytest.approx(0.4)
    assert m["ccgp_tanh_minus_relu"].value == pytest.approx(0.3)
    assert m["untrained_decoding_change_relu"].value == pytest.approx(0.1)
    assert m["untrained_decoding_change_relu"].spread == pytest.approx(0.02)
    assert m["untrained_decoding_change_tanh"].value == pytest.approx(-0.1)
    assert m["trained_decoding_min"].value == pytest.approx(0.97)
    assert m["aligned_slope_tanh_minus_relu"].value == pytest.approx(0.1)
    assert "(8, 1) 0.500" in m["aligned_slope_tanh_minus_relu"].detail
    assert m["clipped_relu_closer_to_tanh"].value == pytest.approx(0.0, abs=1e-12)  # u=2 is halfway
    assert "u=1, (P, k)=(32, 5): 0.200" in m["clipped_relu_closer_to_tanh"].detail
    results = evaluate_claims(ch.CLAIMS, m, "small")
    by_id = {r.id: r for r in results}
    assert by_id["target_alignment_tanh_minus_relu"].holds
    assert by_id["untrained_decoding_change_tanh"].holds
    assert not by_id["clipped_relu_closer_to_tanh"].holds  # 0 is not > 0.02


def test_measure_claims_sign_flips_when_activations_swap():
    res = synthetic_results()
    fc = res.four_cluster
    swapped = ch.FourClusterResult(**{**{f: getattr(fc, f) for f in fc.__dataclass_fields__},
                                      "activations": ("relu", "tanh")})
    m0 = ch.measure_claims(res)
    m1 = ch.measure_claims(ch.Ch01Results(**{**{f: getattr(res, f) for f in res.__dataclass_fields__},
                                             "four_cluster": swapped}))
    for key in ("target_alignment_tanh_minus_relu", "input_alignment_relu_minus_tanh", "ps_tanh_minus_relu"):
        assert m1[key].value == pytest.approx(-m0[key].value)


def test_measure_claims_needs_a_clipped_relu():
    res = synthetic_results()
    pt = res.perturbation
    no_clip = ch.AlignedResult(**{**{f: getattr(pt, f) for f in pt.__dataclass_fields__},
                                  "activations": ("tanh", "relu", "shifted_relu", "shifted_relu", "shifted_relu")})
    bad = ch.Ch01Results(**{**{f: getattr(res, f) for f in res.__dataclass_fields__}, "perturbation": no_clip})
    with pytest.raises(ValueError, match="no clipped ReLU"):
        ch.measure_claims(bad)


def test_aligned_result_lookups():
    al = synthetic_results().perturbation
    assert al.index("clipped_relu", 2.0) == 3 and al.index("tanh") == 0
    assert al.labels()[2:] == ["clipped ReLU u=1", "clipped ReLU u=2", "shifted ReLU s=+0.5"]
    assert al.run_index(32, 5) == 0
    with pytest.raises(ValueError, match="was not run"):
        al.index("sigmoid")
    with pytest.raises(ValueError, match="was not trained"):
        al.run_index(8, 3)


def test_save_load_roundtrip(tmp_path):
    res = synthetic_results()
    res.aligned.ccgp[0, 0, 0, 0] = np.nan
    path = ch.save_results(res, tmp_path / "r.json")
    back = ch.load_results(path)
    assert back.four_cluster.activations == ("tanh", "relu")
    assert np.isnan(back.aligned.ccgp[0, 0, 0, 0])
    np.testing.assert_allclose(back.aligned.target_alignment, res.aligned.target_alignment, atol=1e-6)
    assert back.four_cluster.dichotomies.dtype.kind == "i"
    m0, m1 = ch.measure_claims(res), ch.measure_claims(back)
    for key in m0:
        assert m1[key].value == pytest.approx(m0[key].value, abs=1e-5)
    (tmp_path / "other.json").write_text(json.dumps({"chapter": "01"}))
    with pytest.raises(ValueError, match="not a chapter-01 results file"):
        ch.load_results(tmp_path / "other.json")
    with pytest.raises(ValueError, match="must be a Ch01Results"):
        ch.save_results({"a": 1}, tmp_path / "x.json")


def test_tables_and_findings_are_computed_from_results():
    res = synthetic_results()
    table = ch.comparison_table(res)
    assert "| target alignment, tanh | 0.990 ± 0.010 | ≈ 1.0 |" in table
    text = ch.findings_markdown(res)
    assert "tanh 1.00 vs ReLU 0.50" in text  # slope of run (8, 1)
    assert "Generator check" in text


def test_plot_functions_return_their_axes():
    res = synthetic_results()
    fc, al = res.four_cluster, res.aligned
    for metric in ("target_alignment", "input_alignment", "parallelism"):
        assert ch.plot_metric_over_training(fc, metric) is not None
    _, ax = plt.subplots()
    assert ch.plot_decoding(fc, 1, ax=ax) is ax
    assert ch.plot_decoding(fc, 0, measure="ccgp").get_ylabel() == "CCGP (accuracy)"
    assert ch.plot_weight_dynamics(fc, "relu").get_title() == "ReLU"
    assert ch.plot_metric_vs_alignment(al, 1, "ccgp").get_title() == "P = 32, k = 5"
    assert ch.plot_metric_vs_alignment(res.perturbation, 0).get_legend_handles_labels()[1][2] == "clipped ReLU u=1"
    assert ch.plot_depth(res.depth, "easy").get_xlabel() == "hidden layer"
    assert "C(K_X, K_Y) = 0.20" in ch.plot_geometry(al, 0, 1, 1).get_title()
    assert ch.plot_kernel(np.eye(4) - 0.25, title="K").get_title() == "K"
    plt.close("all")
    figs = ch.geometry_figures(al, 0)
    assert set(figs) == {(a, f"{c:.3f}") for a in ("tanh", "ReLU") for c in al.alignment[0]}
    with pytest.raises(ValueError, match="metric must be"):
        ch.plot_metric_over_training(fc, "ccgp")
    with pytest.raises(ValueError, match="metric must be one of"):
        ch.plot_metric_vs_alignment(al, 0, "nope")
    with pytest.raises(ValueError, match="measure must be"):
        ch.plot_decoding(fc, measure="nope")
    plt.close("all")


# --------------------------------------------------------------------------- tiny end-to-end run

TINY = dict(
    seeds=[0, 1], task_seed=0, hidden_units=8, input_dim=32, sigma_train=1.0, n_train=128, lr=0.1, batch_size=32,
    epochs=2, tol=None, n_probe_epochs=3, sigma_test=[1.0, 3.0], n_decode=64, decode_folds=2, n_decode_epochs=2,
    aligned_runs=[[8, 1]], n_alignments=2, aligned_seeds=[0, 1], aligned_epochs=2, aligned_n_train=64,
    n_ccgp_per_condition=4, ccgp_max_splits=2, perturb_P=8, perturb_k=[1], clipped_u=[1.0], shifted_s=[0.5],
    depth_layers=[2], depth_tasks=["easy"], depth_seeds=[0], depth_epochs=1, depth_n_train=64, explore_run=[8, 1],
    device="cpu",
)


@pytest.fixture(scope="module")
def tiny_results():
    return ch.run(TINY, progress=False)


def test_tiny_run_shapes_and_ranges(tiny_results):
    r = tiny_results
    fc = r.four_cluster
    R = len(ch.probe_schedule(2, 3))
    assert fc.target_alignment.shape == (2, 2, R) and fc.decoding.shape == (2, 2, 2, 2, 3)
    for arr in (fc.target_alignment, fc.input_alignment, fc.decoding, fc.ccgp):
        assert np.all(np.isfinite(arr)) and arr.min() >= 0 and arr.max() <= 1 + 1e-9
    # the trained dichotomy of the four-cluster task is [-1, -1, +1, +1] up to sign
    assert abs(fc.dichotomies[fc.trained_index] @ np.array([-1, -1, 1, 1])) == 4
    # tanh and ReLU networks of one seed start from the same weights: the same initial trajectories
    np.testing.assert_allclose(fc.trajectories[0, 0], fc.trajectories[1, 0])
    assert np.max(np.abs(r.aligned.alignment_measured - r.aligned.alignment)) < 1e-5
    assert r.aligned.target_alignment.shape == (1, 2, 2, 2)
    assert np.all(np.isfinite(r.aligned.ccgp)) and np.all(np.isnan(r.perturbation.ccgp[:, 2:]))
    assert r.perturbation.labels() == ["tanh", "ReLU", "clipped ReLU u=1", "shifted ReLU s=+0.5"]
    assert r.depth.target_alignment.shape == (1, 1, 2, 1, 2)
    assert r.all_seeds == [0, 1]
    assert set(ch.measure_claims(r)) == set(ch.CLAIMS)


def test_perturbation_reuses_tanh_and_relu_of_the_aligned_sweep(tiny_results):
    """Reused tanh/ReLU numbers equal a fresh training of the same networks on the same tasks."""
    fresh = ch.run_aligned(TINY, [(8, 1)], ["tanh", "relu"], seeds=TINY["aligned_seeds"], abstraction=False,
                           device="cpu", progress=False)
    np.testing.assert_allclose(tiny_results.perturbation.target_alignment[:, :2], fresh.target_alignment,
                               atol=1e-6)


def test_pipeline_errors():
    with pytest.raises(ValueError, match="at least one \\(P, k\\)"):
        ch.run_aligned(TINY, [], ["tanh"], seeds=[0], progress=False)
    with pytest.raises(ValueError, match="must not be empty"):
        ch.run_depth({**TINY, "depth_layers": []}, progress=False)
