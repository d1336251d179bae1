import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from repgeom_lite import plotting


def test_error_band_draws_mean_and_band():
    ax = plotting.error_band([0, 1, 2], np.array([[0.0, 1, 2], [2, 3, 4]]), label="tanh")
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [1, 2, 3])
    assert len(ax.collections) == 1


def test_mean_band_band_edges_and_colour():
    ax = plotting.mean_band([0, 1, 2], [1.0, 2, 3], [0.5, 0.5, 1.0], color="#d62728", alpha=0.12, marker="o")
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [1, 2, 3])
    assert line.get_marker() == "o"
    (band,) = ax.collections
    verts = band.get_paths()[0].vertices
    np.testing.assert_allclose(verts[:, 1].min(), 0.5)  # 1 - 0.5
    np.testing.assert_allclose(verts[:, 1].max(), 4.0)  # 3 + 1
    np.testing.assert_allclose(band.get_facecolor()[0], matplotlib.colors.to_rgba("#d62728", 0.12))


def test_error_band_shape_error():
    with pytest.raises(ValueError, match="values must be \\(seeds, 3\\)"):
        plotting.error_band([0, 1, 2], np.zeros((2, 4)))
    with pytest.raises(ValueError, match="spread must be"):
        plotting.error_band([0, 1], np.zeros((2, 2)), spread="iqr")


def test_rdm_and_scatter_validate_shapes():
    assert plotting.rdm_image(np.zeros((3, 3))) is not None
    with pytest.raises(ValueError, match="square"):
        plotting.rdm_image(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="points must be \\(P, 2\\)"):
        plotting.condition_scatter(np.zeros((3, 3)))


def test_activation_colors_fixed():
    assert plotting.activation_color("tanh") != plotting.activation_color("relu")
    assert plotting.activation_color("unknown") == "#7f7f7f"


# --------------------------------------------------------------------------- shared figure helpers

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from repgeom_lite import tasks  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


CUBE = np.array([[s1, s2, s3] for s1 in (-1, 1) for s2 in (-1, 1) for s3 in (-1, 1)])  # (8, 3) factors


def _new_ax(projection=None):
    return plt.figure().add_subplot(projection=projection)


def test_activation_color_ignores_case_and_groups_take_it():
    assert plotting.activation_color("ReLU") == plotting.activation_color("relu") == "#d62728"
    assert plotting.activation_color("clipped ReLU") == plotting.ACTIVATION_COLORS["clipped_relu"]
    assert plotting.group_color(("tanh", "init")) == plotting.ACTIVATION_COLORS["tanh"]
    assert plotting.group_color("cube", 0) not in plotting.ACTIVATION_COLORS.values()


def test_get_ax_and_get_axes():
    ax = _new_ax()
    assert plotting.get_ax(ax) is ax
    assert hasattr(plotting.get_ax(None, projection="3d"), "get_zlim")
    assert plotting.get_axes(None, (2, 3)).shape == (2, 3)


@pytest.mark.parametrize("fn", [plotting.tuning_image, plotting.kernel_image])
def test_images_draw_into_given_ax_and_label_axes(fn):
    Z = np.random.default_rng(0).normal(size=(4, 30))
    ax = _new_ax()
    assert fn(Z, ax=ax, title="t") is ax
    assert ax.get_xlabel() == "condition" and ax.get_ylabel() in ("unit", "condition") and ax.get_title() == "t"
    assert fn(Z).get_xlabel() == "condition"  # new figure when ax is None
    with pytest.raises(ValueError, match="Z must be \\(P, N\\)"):
        fn(np.zeros(4))


def test_tuning_image_shows_first_units_and_kernel_image_is_centred():
    Z = np.arange(12.0).reshape(3, 4)
    img = plotting.tuning_image(Z, n_units=2).get_images()[0].get_array()
    np.testing.assert_array_equal(img, Z[:, :2].T)
    with pytest.raises(ValueError, match="n_units must be"):
        plotting.tuning_image(Z, n_units=0)
    K = plotting.kernel_image(Z + 5.0).get_images()[0].get_array()
    Zc = Z - Z.mean(0)
    np.testing.assert_allclose(K, Zc @ Zc.T)


def test_geometry_3d_draws_cube_edges_in_3d_and_2d():
    ax = plotting.geometry_3d(CUBE @ np.random.default_rng(0).normal(size=(3, 10)), CUBE, title="cube")
    assert hasattr(ax, "get_zlim") and ax.get_title() == "cube"
    assert len(ax.get_lines()) == 12  # a cube has 12 edges
    assert ax.get_xlabel() == "PC 1 (a.u.)" and ax.get_zlabel() == "PC 3 (a.u.)"
    ax2 = _new_ax()
    assert plotting.geometry_3d(CUBE * 1.0, CUBE, ax=ax2) is ax2
    with pytest.raises(ValueError, match="labels must be \\(P, k\\)"):
        plotting.geometry_3d(CUBE * 1.0, CUBE[:4])
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        plotting.geometry_3d(CUBE * 1.0, CUBE * 2)


def test_four_cluster_task_one_version_for_the_book():
    task = tasks.four_cluster_task(D=20, sigma_train=0.5, n_train=80, seed=0)
    ax = _new_ax()
    assert plotting.four_cluster_task(task, ax=ax, n_points=50) is ax
    assert ax.get_xlabel().startswith("PC 1 of the centres")
    samples0, samples1, centres = ax.collections
    assert len(samples0.get_offsets()) + len(samples1.get_offsets()) == 50
    assert to_hex(samples1.get_facecolor()[0], keep_alpha=False) == plotting.CLASS_COLORS[1]
    assert len(centres.get_offsets()) == 4


def test_pca_scatter_colours_levels_and_activations():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(6, 5))
    ax = _new_ax()
    assert plotting.pca_scatter(Z, ["tanh"] * 3 + ["relu"] * 3, ax=ax, what="networks") is ax
    cols = [to_hex(c.get_facecolor()[0], keep_alpha=False) for c in ax.collections]
    assert cols == [plotting.activation_color("tanh"), plotting.activation_color("relu")]
    assert ax.get_xlabel().startswith("PC 1 of networks") and "% of variance" in ax.get_xlabel()
    ax = plotting.pca_scatter(Z[:4], [-1, -1, 1, 1], annotate=["x1", "x2", "x3", "x4"])
    assert to_hex(ax.collections[1].get_facecolor()[0], keep_alpha=False) == plotting.CLASS_COLORS[1]
    with pytest.raises(ValueError, match="color_by must have one level per row of Z \\(6\\)"):
        plotting.pca_scatter(Z, [1, -1])
    with pytest.raises(ValueError, match="Z must be \\(P, N\\)"):
        plotting.pca_scatter(Z[0], [1])


def test_metric_over_training_one_band_per_group_in_activation_colours():
    epochs = np.arange(5)
    values = np.vstack([np.zeros((3, 5)), np.ones((2, 5))])
    ax = _new_ax()
    out = plotting.metric_over_training(epochs, values, ["tanh"] * 3 + ["relu"] * 2, ax=ax,
                                        label="{group} net", ylabel="target alignment")
    assert out is ax
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["tanh net", "relu net"]
    assert [ln.get_color() for ln in lines] == [plotting.activation_color("tanh"), plotting.activation_color("relu")]
    np.testing.assert_allclose(lines[1].get_ydata(), 1.0)
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "target alignment"
    with pytest.raises(ValueError, match="values must be \\(n_networks, 5\\)"):
        plotting.metric_over_training(epochs, values[:, :4], ["a"] * 5)
    with pytest.raises(ValueError, match="groups must have one entry per network \\(5\\)"):
        plotting.metric_over_training(epochs, values, ["a"] * 4)
    with pytest.raises(ValueError, match="label must be"):
        plotting.metric_over_training(epochs, values, ["a"] * 5, label=3)


def test_grouped_bars_means_errors_hatches_and_colours():
    vals = {("tanh", "init"): {"TA": [0.1, 0.3], "PS": [0.2, 0.2]},
            ("tanh", "trained"): {"TA": [0.8, 1.0], "PS": [0.5, 0.7]},
            ("relu", "trained"): {"TA": [0.4, 0.6]}}
    ax = _new_ax()
    assert plotting.grouped_bars(vals, ax=ax, ylabel="value (unitless)", reference=0.5) is ax
    bars = ax.patches
    assert len(bars) == 6  # 3 groups × 2 categories (relu's missing PS bar is NaN)
    heights = [b.get_height() for b in bars]
    np.testing.assert_allclose(heights[:4], [0.2, 0.2, 0.9, 0.6])
    assert bars[0].get_hatch() == "//" and bars[2].get_hatch() is None
    assert to_hex(bars[4].get_facecolor(), keep_alpha=False) == plotting.activation_color("relu")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["TA", "PS"]
    assert ax.get_ylabel() == "value (unitless)"
    # intervals instead of the spread
    ax = plotting.grouped_bars({"tanh": {"TA": [0.5]}}, intervals={"tanh": {"TA": (0.3, 0.9)}})
    (err,) = [c for c in ax.collections]
    np.testing.assert_allclose(err.get_segments()[0][:, 1], [0.3, 0.9])
    with pytest.raises(ValueError, match="values must be a non-empty dict"):
        plotting.grouped_bars({"tanh": [1, 2]})
    with pytest.raises(ValueError, match="spread must be"):
        plotting.grouped_bars(vals, spread="iqr")
    with pytest.raises(ValueError, match="must contain the mean"):
        plotting.grouped_bars({"tanh": {"TA": [0.5]}}, intervals={"tanh": {"TA": (0.6, 0.9)}})


def test_bar_with_error_shapes():
    ax = plotting.bar_with_error(["a", "b"], [1.0, 2.0], [[0.1, 0.2], [0.3, 0.4]], ylabel="y")
    assert len(ax.patches) == 2 and ax.get_ylabel() == "y"
    with pytest.raises(ValueError, match="values must be \\(2,\\)"):
        plotting.bar_with_error(["a", "b"], [1.0])
    with pytest.raises(ValueError, match="errors must be \\(2,\\) or \\(2, 2\\)"):
        plotting.bar_with_error(["a", "b"], [1.0, 2.0], [0.1])


def test_decoding_panel_bars_and_over_training():
    acc = {"tanh": np.array([[1.0, 0.5, 0.6], [1.0, 0.7, 0.6]]), "relu": np.array([[1.0, 0.9, 0.9]])}
    ax = _new_ax()
    assert plotting.decoding_panel(acc, ax=ax, trained=0) is ax
    assert len(ax.patches) >= 6
    assert [t.get_text() for t in ax.get_xticklabels()] == ["t1", "d1", "d2"]
    assert ax.get_ylabel() == "decoding accuracy (fraction correct)"
    assert to_hex(ax.patches[3].get_facecolor(), keep_alpha=False) == plotting.activation_color("relu")
    over = {"relu": np.random.default_rng(0).random((3, 4, 3))}
    ax = plotting.decoding_panel(over, epochs=[0, 1, 2, 3], trained=[0])
    trained, other = ax.get_lines()[:2]
    np.testing.assert_allclose(trained.get_ydata(), over["relu"][..., 0].mean(0))
    np.testing.assert_allclose(other.get_ydata(), over["relu"][..., 1:].mean((0, 2)))
    assert ax.get_xlabel() == "epoch" and trained.get_color() == plotting.activation_color("relu")
    with pytest.raises(ValueError, match="must be \\(n_networks, T, n_dichotomies\\)"):
        plotting.decoding_panel(acc, epochs=[0, 1])
    with pytest.raises(ValueError, match="trained must index the 3 dichotomies"):
        plotting.decoding_panel(acc, trained=5)
    with pytest.raises(ValueError, match="same number of dichotomies"):
        plotting.decoding_panel({"a": np.ones((1, 3)), "b": np.ones((1, 2))})
    with pytest.raises(ValueError, match="must have 3 epochs on axis 1"):
        plotting.decoding_panel(over, epochs=[0, 1, 2])
