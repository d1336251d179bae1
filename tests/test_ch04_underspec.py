"""Chapter 04 (permutation-matched underspecification): pipeline, statistics and claims.

Fast: tiny synthetic inputs with known answers, and one tiny end-to-end run on the
8×8 digits (2 epochs). The full notebook is executed by nbval, not here.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from repgeom_lite.chapters import ch04_underspec as ch  # noqa: E402
from repgeom_lite.claims import Measured  # noqa: E402
from repgeom_lite.metrics import apc, permutation_equivalence  # noqa: E402
from repgeom_lite.presets import ChapterConfig  # noqa: E402

SEEDS = [0, 1, 2]
TOL = 1e-10


def _rand_net(rng, H=8, D=20, C=5):
    return rng.normal(size=(H, D)), rng.normal(size=(C, H))


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize("seed", SEEDS)
def test_pair_metrics_agree_with_the_package_metrics(seed):
    rng = np.random.default_rng(seed)
    W1r, W2r = _rand_net(rng)
    W1, W2 = _rand_net(rng)
    m = ch.pair_metrics(W1r, W1, W2r, W2)
    assert m.apc1 == pytest.approx(apc(W1r, W1), abs=TOL)
    assert m.apc2 == pytest.approx(apc(W2r.T, W2.T), abs=TOL)
    assert m.pe == pytest.approx(permutation_equivalence(W1r, W1, W2r, W2), abs=TOL)
    r = np.corrcoef(W1r, W1)[:8, 8:]
    assert m.apc1_identity == pytest.approx(np.abs(np.diag(r)).mean(), abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_permuted_copy_is_fully_matched_but_not_without_matching(seed):
    rng = np.random.default_rng(seed)
    W1r, W2r = _rand_net(rng)
    perm = rng.permutation(8)
    m = ch.pair_metrics(W1r, -W1r[perm], W2r, 3 * W2r[:, perm])  # sign and scale do not matter
    assert (m.apc1, m.apc2, m.pe) == pytest.approx((1.0, 1.0, 1.0))
    assert m.apc1_identity < 0.9
    np.testing.assert_array_equal(m.perm1, np.argsort(perm))


def test_pair_metrics_rejects_inconsistent_hidden_sizes():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same H"):
        ch.pair_metrics(rng.normal(size=(8, 5)), rng.normal(size=(8, 5)), rng.normal(size=(3, 7)),
                        rng.normal(size=(3, 7)))


def test_pe_null_is_chance_for_an_identical_network():
    rng = np.random.default_rng(1)
    W1r, W2r = _rand_net(rng, H=8, C=6)
    null = ch.pe_null_draws(W1r, W1r, W2r, W2r, 3000, np.random.default_rng(0))
    assert ch.pair_metrics(W1r, W1r, W2r, W2r).pe == 1.0
    assert null.shape == (3000,)
    assert null.mean() == pytest.approx(1 / 8, abs=0.015)  # fixed points of a random permutation


def test_with_two_classes_the_W2_matching_is_arbitrary():
    """With 2 outputs every |r| is 1: all W2 assignments tie, so even an identical network gets PE ≈ chance."""
    from repgeom_lite.metrics import unit_correlations

    rng = np.random.default_rng(2)
    W1r, W2r = _rand_net(rng, H=6, C=2)
    np.testing.assert_allclose(np.abs(unit_correlations(W2r.T, W2r.T)), 1.0, atol=1e-12)
    assert ch.pair_metrics(W1r, W1r, W2r, W2r).apc2 == pytest.approx(1.0)
    null = ch.pe_null_draws(W1r, W1r, W2r, W2r, 2000, np.random.default_rng(0))
    # a perfect copy, yet the W2 matching cannot reliably recover it: the ties are broken by
    # rounding noise (mean 0.56 with the scale-robust standardisation of metrics.matching,
    # lower before it), far from the 1.0 a real match would give
    assert null.mean() < 0.9


def test_pe_null_rejects_bad_draw_counts():
    rng = np.random.default_rng(0)
    W1, W2 = _rand_net(rng)
    with pytest.raises(ValueError, match="n_null"):
        ch.pe_null_draws(W1, W1, W2, W2, 0, rng)


def test_matching_grid_shapes_and_reference_cells():
    rng = np.random.default_rng(3)
    K, L, C, S, H, D = 2, 2, 2, 3, 5, 7
    W1 = rng.normal(size=(K, L, C, S, H, D))
    W1[:, :, :, 1] = W1[:, :, :, 0][..., ::-1, :]  # seed 1 = seed 0 with units reversed
    W2 = []
    for nc in (3, 4):
        w = rng.normal(size=(K, L, S, nc, H))
        w[:, :, 1] = w[:, :, 0][..., ::-1]
        W2.append(w)
    g = ch.matching_grid(W1, W2, n_null=4, seed=0)
    assert g.pe.shape == (K, L, C, S - 1) and g.pe_null.shape == (K, L, C, 4, S - 1)
    np.testing.assert_allclose(g.pe[..., 0], 1.0)
    np.testing.assert_allclose(g.apc1[..., 0], 1.0)
    assert ch.matching_grid(W1, W2).pe_null.shape[3] == 0


def test_matching_grid_error_paths():
    rng = np.random.default_rng(0)
    W1 = rng.normal(size=(2, 1, 2, 3, 4, 5))
    W2 = [rng.normal(size=(2, 1, 3, 3, 4))] * 2
    with pytest.raises(ValueError, match="kinds, L, C, S, H, D"):
        ch.matching_grid(W1[0], W2)
    with pytest.raises(ValueError, match="one array per n_classes"):
        ch.matching_grid(W1, W2[:1])
    with pytest.raises(ValueError, match="at least 2 seeds"):
        ch.matching_grid(W1[:, :, :, :1], [w[:, :, :1] for w in W2])
    with pytest.raises(ValueError, match=r"W2\[1\] must be"):
        ch.matching_grid(W1, [W2[0], rng.normal(size=(2, 1, 3, 3, 6))])


def test_init_apc_matches_the_engine_initialisation():
    from repgeom_lite.models import init_params

    a1, a2 = ch.init_apc([0, 42, 7], 64, [2, 5])
    assert a1.shape == (2,) and a2.shape == (2, 2)
    W = [init_params(ch.make_configs([0.0], [s], epochs=1)[0], 64, 5) for s in (0, 42)]
    assert a1[0] == pytest.approx(apc(W[0]["W0"].numpy(), W[1]["W0"].numpy()))
    assert a2[1, 0] == pytest.approx(apc(W[0]["W1"].numpy().T, W[1]["W1"].numpy().T))
    np.testing.assert_allclose(a2[0], 1.0)  # 2 outputs: every correlation is ±1


# --------------------------------------------------------------------------- trend statistics


def test_range_slope_closed_form_and_errors():
    x = np.array([2, 4, 6, 10])
    Y = np.stack([0.5 + 0.01 * x, 3 - 0.2 * x])
    np.testing.assert_allclose(ch.range_slope(x, Y), [0.08, -1.6])
    np.testing.assert_allclose(ch.range_slope(x, Y.T, axis=0), [0.08, -1.6])
    with pytest.raises(ValueError, match="at least 2 points"):
        ch.range_slope([1], np.ones((3, 1)))
    with pytest.raises(ValueError, match="len\\(x\\)"):
        ch.range_slope([1, 2], np.ones((3, 3)))


def _grid(L, C, P, f):
    """values[l, c, p] = f(l, c, p)."""
    return np.fromfunction(np.vectorize(f), (L, C, P), dtype=float)


def test_trend_statistics_on_known_grids():
    nc = [2, 4, 6, 8, 10]
    lam = [0.0, 0.001, 0.005, 0.05]
    pe = _grid(4, 5, 3, lambda l, c, p: 0.05 + 0.01 * nc[int(c)] + 0.02 * p)
    np.testing.assert_allclose(ch.pe_class_rise(pe, nc), 0.08)
    peaked = _grid(4, 5, 3, lambda l, c, p: [0.1, 0.2, 0.4, 0.1][int(l)])
    np.testing.assert_allclose(ch.pe_lambda_peak_contrast(peaked, lam), 0.3)
    apc2 = _grid(4, 5, 2, lambda l, c, p: 1 - 0.05 * nc[int(c)])
    np.testing.assert_allclose(ch.apc2_class_fall(apc2, nc), -0.4)
    apc1 = np.stack([
        _grid(4, 5, 2, lambda l, c, p: [0.2, 0.3, 0.3, 0.3][int(l)]),  # params: rise by 0.1
        _grid(4, 5, 2, lambda l, c, p: [0.7, 0.1, 0.1, 0.1][int(l)]),  # grads: drop by 0.6
    ])
    np.testing.assert_allclose(ch.apc1_regularisation_gap(apc1, lam), 0.7)


def test_trend_statistics_error_paths():
    pe = np.zeros((3, 2, 2))
    with pytest.raises(ValueError, match="must be one of the λ values"):
        ch.pe_lambda_peak_contrast(pe, [0.0, 0.001, 0.05])
    with pytest.raises(ValueError, match="strictly inside"):
        ch.pe_lambda_peak_contrast(pe, [0.0, 0.001, 0.005])
    with pytest.raises(ValueError, match="λ = 0 exactly once"):
        ch.apc1_regularisation_gap(np.zeros((2, 2, 2, 2)), [0.001, 0.005])


def test_permute_labels_keeps_kinds_together_and_permutes_each_slice():
    rng = np.random.default_rng(0)
    v = np.arange(2 * 4 * 3 * 5, dtype=float).reshape(2, 4, 3, 5)
    v[1] = v[0] + 1000
    out = ch._permute_labels(v, -3, rng)
    np.testing.assert_array_equal(out[1], out[0] + 1000)
    np.testing.assert_array_equal(np.sort(out, axis=-3), np.sort(v, axis=-3))
    assert not np.array_equal(out, v)


def test_label_permutation_test_detects_a_trend_and_not_a_flat_grid():
    nc = [2, 4, 6, 8, 10]
    rng = np.random.default_rng(1)
    trend = _grid(3, 5, 6, lambda l, c, p: 0.05 * c) + 0.001 * rng.normal(size=(3, 5, 6))
    t = ch.label_permutation_test(trend, lambda v: ch.pe_class_rise(v, nc), -2, n_perm=200, seed=0)
    assert t.p_value == pytest.approx(1 / 201)
    assert t.value == pytest.approx(0.2, abs=0.01) and t.per_pair.shape == (6,)  # 0.025 per class × 8
    less = ch.label_permutation_test(-trend, lambda v: ch.apc2_class_fall(v, nc), -2, n_perm=200,
                                     alternative="less")
    assert less.p_value == pytest.approx(1 / 201)
    flat = ch.label_permutation_test(np.ones((3, 5, 6)), lambda v: ch.pe_class_rise(v, nc), -2, n_perm=50)
    assert flat.p_value == 1.0
    m = t.measured()
    assert isinstance(m, Measured) and m.spread == pytest.approx(t.spread) and "p = " in m.detail


def test_label_permutation_test_error_paths():
    v = np.zeros((2, 3, 2))
    with pytest.raises(ValueError, match="axis must be"):
        ch.label_permutation_test(v, lambda x: x.mean((0, 1)), -1)
    with pytest.raises(ValueError, match="alternative"):
        ch.label_permutation_test(v, lambda x: x.mean((0, 1)), -2, alternative="two-sided")
    with pytest.raises(ValueError, match="n_perm"):
        ch.label_permutation_test(v, lambda x: x.mean((0, 1)), -2, n_perm=0)


def test_pe_excess_over_null_known_values_and_errors():
    pe = np.full((2, 3, 4), 0.25)
    null = np.full((2, 3, 10, 4), 1 / 16)
    excess, null_means, p = ch.pe_excess_over_null(pe, null)
    np.testing.assert_allclose(excess, 0.25 - 1 / 16)
    assert null_means.shape == (10,) and p == pytest.approx(1 / 11)
    _, _, p_same = ch.pe_excess_over_null(null.mean(2), null)
    assert p_same == 1.0
    with pytest.raises(ValueError, match="must be \\(L, C, B, P\\)"):
        ch.pe_excess_over_null(pe, null[..., :3])
    with pytest.raises(ValueError, match="no draws"):
        ch.pe_excess_over_null(pe, null[:, :, :0])


# --------------------------------------------------------------------------- demo, embeddings, gradients


def test_permutation_demo_function_is_unchanged():
    rng = np.random.default_rng(0)
    params = {"W0": rng.normal(size=(16, 12)), "b0": rng.normal(size=16), "W1": rng.normal(size=(4, 16)),
              "b1": rng.normal(size=4)}
    d = ch.permutation_demo(params, rng.normal(size=(30, 12)), seed=3)
    assert d.max_logit_change < 1e-12
    assert d.apc1_matched == pytest.approx(1.0) and d.apc1_unmatched < 0.5
    with pytest.raises(ValueError, match="missing 'b1'"):
        ch.permutation_demo({k: v for k, v in params.items() if k != "b1"}, np.ones((2, 12)))


def test_embedding_pcs_undo_rotations_between_seeds():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 40, 6)) * np.array([5, 3, 1, 0.5, 0.2, 0.1])  # (R, n, H)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    emb = np.stack([base, base @ Q, -base])
    pcs = ch.embedding_pcs(emb)
    assert pcs.shape == (3, 3, 40, 2)
    np.testing.assert_allclose(pcs[1], pcs[0], atol=1e-8)
    np.testing.assert_allclose(pcs[2], pcs[0], atol=1e-8)
    cka = ch.embedding_cka(emb)
    assert cka.shape == (3, 2)
    np.testing.assert_allclose(cka, 1.0, atol=1e-10)
    with pytest.raises(ValueError, match="seeds, epochs, n, H"):
        ch.embedding_pcs(base)


def test_cumulative_gradient_is_the_displacement_and_L1_makes_it_the_initialisation():
    """Σ g = (W_init − W_final) / lr for plain SGD; pixels without signal carry W_init under L1."""
    import torch

    from repgeom_lite.ensemble import Records, TrainData, train_ensemble
    from repgeom_lite.models import init_params

    rng = np.random.default_rng(0)
    X = rng.random((64, 10))
    X[:, 5:] = 0.0  # "border pixels": never active, no data gradient
    y = (X[:, 0] > 0.5).astype(np.int64) + (X[:, 1] > 0.5)
    cfgs = ch.make_configs([0.0, 0.05], [11], epochs=30, lr=0.05, batch_size=16, n_hidden=4)
    res = train_ensemble(cfgs, TrainData(X, y, n_classes=3), Records(cumulative_grads=True, history=False),
                         device="cpu", dtype=torch.float64, progress=False)
    W_init = init_params(cfgs[0], 10, 3)["W0"].numpy()
    for i in range(2):
        np.testing.assert_allclose(res.cumulative_grads[i]["W0"], (W_init - res.params[i]["W0"]) / 0.05,
                                   atol=1e-8)
    G = np.stack([res.cumulative_grads[i]["W0"] for i in range(2)])[:, None, None]  # (L, C, S, H, D)
    corr = ch.grad_init_correlation(G, [11], n_hidden=4)
    assert corr.shape == (2, 1, 1)
    assert corr[1, 0, 0] > corr[0, 0, 0] + 0.3


def test_make_configs_follow_the_report():
    cfgs = ch.make_configs([0.0, 0.01], [0, 42, 7], epochs=5)
    assert [(c.l1, c.seed) for c in cfgs[:4]] == [(0.0, 0), (0.0, 42), (0.0, 7), (0.01, 0)]
    c = cfgs[3]
    assert (c.hidden, c.activation, c.readout, c.loss, c.optimizer) == ((16,), "relu", "trainable", "ce", "sgd")
    assert (c.init, c.init_gain, c.lr, c.batch_size, c.l1_layers, c.bias) == (
        "xavier_uniform", pytest.approx(math.sqrt(2)), 0.01, 64, (0,), True)
    assert c.resolved_data_seed == c.seed  # each seed shuffles its own way


def test_load_tasks_rejects_unknown_sources():
    with pytest.raises(ValueError, match="source must be"):
        ch.load_tasks("cifar", [2])


# --------------------------------------------------------------------------- presets and claims


def test_presets_and_claims_are_consistent():
    small, full = ch.PRESETS["small"], ch.PRESETS["full"]
    assert set(small) == set(full)
    assert full["seeds"] == list(ch.SOURCE_SEEDS) and full["lambdas"] == list(ch.LAMBDAS)
    assert full["n_classes"] == list(range(2, 11)) and full["epochs"] == 50
    assert not set(ch.DEV_SEEDS) & set(ch.SOURCE_SEEDS + ch.EXTRA_SEEDS)
    for p in (small, full):
        assert 0.0 in p["lambdas"] and ch.REPORT_PE_PEAK_LAMBDA in p["lambdas"]
        assert p["embed_n_classes"] in p["n_classes"]
    for spec in ch.CLAIMS.values():
        assert set(spec.threshold) == {"small", "full"}


# --------------------------------------------------------------------------- end to end (tiny)


def _tiny_cfg(**over):
    vals = dict(ch.PRESETS["small"])
    vals.update(n_classes=[2, 3], lambdas=[0.0, 0.005, 0.05], seeds=[0, 42, 1337], extra_seeds=[5],
                epochs=2, embed_n_classes=3, embed_epochs=[0, 1], n_probe_per_class=3, n_null=5, n_perm=20,
                device="cpu")
    vals.update(over)
    return ChapterConfig("04", "small", vals)


@pytest.fixture(scope="module")
def tiny():
    return ch.run(_tiny_cfg(), progress=False)


def test_run_shapes(tiny):
    L, C, S = 3, 2, 4
    assert tiny.seeds == (0, 42, 1337, 5) and tiny.n_headline == 3
    assert tiny.grid.pe.shape == (2, L, C, S - 1) and tiny.grid.pe_null.shape == (2, L, C, 5, S - 1)
    assert tiny.test_acc.shape == (L, C, S) and np.all((tiny.test_acc >= 0) & (tiny.test_acc <= 1))
    assert tiny.embed_epochs == (0, 1, 2)  # the last epoch is always recorded
    assert tiny.embeddings.shape == (L, S, 3, 30, 16)
    assert tiny.embed_cka.shape == (L, 3, S - 1)
    assert tiny.majority_acc[0] == pytest.approx(0.9, abs=0.01)  # 2 classes: class 0 holds 9 digits
    assert tiny.demo.max_logit_change < 1e-9
    assert tiny.reference_W1.shape == (S, 16, 64)


def test_summaries_claims_and_text(tiny, tmp_path):
    head = ch.summarize(tiny, "headline")
    both = ch.summarize(tiny, "all")
    assert head.n_pairs == 2 and both.n_pairs == 3
    assert head.seeds == (0, 42, 1337)
    assert (head.label, both.label) == ("3 seeds", "4 seeds (all)")
    assert ch._seed_label(ch.SOURCE_SEEDS, "headline") == "7 seeds (the report's)"
    np.testing.assert_allclose(head.mean["pe"], tiny.grid.pe[..., :2].mean(-1))
    measured = ch.measure_claims(head)
    assert set(measured) == set(ch.CLAIMS)
    assert all(np.isfinite(m.value) for m in measured.values())
    assert ch.measure_claims(tiny)["grad_apc1_hit_harder"].value == pytest.approx(
        measured["grad_apc1_hit_harder"].value)
    path = ch.save_summary({"headline": head, "all": both}, tmp_path / "summary.json", extra={"x": 1})
    loaded = ch.load_summary(path)
    assert loaded["extra"] == {"x": 1}
    np.testing.assert_allclose(loaded["all"].mean["apc1"], both.mean["apc1"])
    assert loaded["headline"].trends["pe_rises_with_classes"].value == pytest.approx(
        head.trends["pe_rises_with_classes"].value)
    assert "0.48" in ch.comparison_markdown(loaded["headline"])
    assert isinstance(loaded["headline"].pe_excess, ch.TrendTest) and loaded["headline"].n_classes == head.n_classes
    (tmp_path / "other.json").write_text('{"headline": {"label": "x"}}')
    with pytest.raises(ValueError, match="not a chapter-04 summary"):
        ch.load_summary(tmp_path / "other.json")
    from repgeom_lite.claims import check_claims

    specs = {k: ch.CLAIMS[k].__class__(**{**ch.CLAIMS[k].__dict__, "expected": {}, "op": ">",
                                           "threshold": {"small": -1e9, "full": -1e9}})
             for k in ch.CLAIMS}
    report = check_claims("04", "small", measured, seeds=[0, 42, 1337], wall_time_s=1.0, device="cpu",
                          output_dir=tmp_path, specs=specs)
    table = ch.claims_markdown(report.to_dict())
    assert table.count("PASS") == len(ch.CLAIMS)
    text = ch.findings_markdown(report.to_dict(), None)
    assert "not run" in text and "pe_rises_with_classes" in text
    text = ch.findings_markdown(report.to_dict(), report.to_dict(), both)
    assert "full preset, 4 seeds" in text and "not run" not in text and "4 in all" in text


def test_run_error_paths():
    with pytest.raises(ValueError, match="distinct"):
        ch.run(_tiny_cfg(extra_seeds=[42]), progress=False)
    with pytest.raises(ValueError, match="embed_n_classes"):
        ch.run(_tiny_cfg(embed_n_classes=10), progress=False)
    with pytest.raises(ValueError, match="lambdas must contain 0"):
        ch.run(_tiny_cfg(lambdas=[0.001, 0.005]), progress=False)
    with pytest.raises(ValueError, match="at least 2 distinct"):
        ch.run(_tiny_cfg(n_classes=[3]), progress=False)


def test_plots_return_axes(tiny):
    summ = ch.summarize(tiny)
    ax = ch.plot_metric_heatmap(summ, "pe", "grads")
    assert ax.get_xlabel() == "number of classes"
    with pytest.raises(ValueError, match="metric must be"):
        ch.plot_metric_heatmap(summ, "cka")
    with pytest.raises(ValueError, match="kind must be"):
        ch.plot_metric_heatmap(summ, "pe", "weights")
    assert ch.plot_metric_lines(summ, "pe", along="n_classes").get_ylabel() == "PE"
    assert ch.plot_metric_lines(summ, "apc1", "grads", along="lambda").get_xlabel() == "L1 strength λ"
    with pytest.raises(ValueError, match="along"):
        ch.plot_metric_lines(summ, "pe", along="epochs")
    assert ch.plot_matching_bars(summ) is not None
    assert ch.plot_embedding_cka(summ).get_ylabel() == "linear CKA across seeds"
    assert ch.plot_trend_effects({"headline": summ}) is not None
    assert ch.plot_accuracy(summ).get_ylabel() == "test accuracy"
    assert ch.plot_label_folding([2, 5, 10]).get_ylabel() == "n_classes"
    axes = ch.plot_embeddings(tiny, 0.0, 2, n_seeds=3)
    assert len(axes) == 3
    with pytest.raises(ValueError, match="was not trained"):
        ch.plot_embeddings(tiny, 0.3, 2)
    with pytest.raises(ValueError, match="not recorded"):
        ch.plot_embeddings(tiny, 0.0, 7)
    assert ch.plot_matched_units(tiny.reference_W1, tiny.image_shape, n_units=4).shape == (3, 4)
    frames = ch.embedding_frames(tiny, n_seeds=2)
    assert set(frames) == {(lam, e) for lam in tiny.lambdas for e in tiny.embed_epochs}
    assert all(png.startswith(b"\x89PNG") for png in frames.values())
    plt.close("all")
