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
