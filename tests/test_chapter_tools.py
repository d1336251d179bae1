"""Small package tools the chapter notebooks call on the page: activation specs, record
epochs, slopes and the weight-field figure (added for chapter 1, reusable by any chapter)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from repgeom_lite import metrics as M  # noqa: E402
from repgeom_lite import plotting, stats  # noqa: E402
from repgeom_lite.ensemble import log_epochs  # noqa: E402
from repgeom_lite.models import NetConfig, activation_label, split_activation  # noqa: E402


# --------------------------------------------------------------------------- activation specs


@pytest.mark.parametrize("spec, expected", [
    ("tanh", ("tanh", None)),
    ("relu", ("relu", None)),
    (("clipped_relu", 1), ("clipped_relu", 1.0)),
    (["shifted_relu", -0.5], ("shifted_relu", -0.5)),
    (("shifted_relu", None), ("shifted_relu", None)),
])
def test_split_activation_gives_netconfig_fields(spec, expected):
    assert split_activation(spec) == expected
    name, p = split_activation(spec)
    assert NetConfig(activation=name, act_param=p).activation == name  # a valid NetConfig


def test_split_activation_errors():
    with pytest.raises(ValueError, match="name or a \\(name, parameter\\) pair"):
        split_activation(("relu", 1, 2))
    with pytest.raises(ValueError, match="name or a \\(name, parameter\\) pair"):
        split_activation(3)
    with pytest.raises(ValueError, match="activation"):
        split_activation("swish")


def test_activation_label():
    assert activation_label("relu") == "ReLU"
    assert activation_label("tanh") == "tanh"
    assert activation_label(("clipped_relu", 1.5)) == "clipped ReLU u=1.5"
    assert activation_label("clipped_relu") == "clipped ReLU u=1"  # the default u
    assert activation_label(("shifted_relu", -0.5)) == "shifted ReLU s=-0.5"
    assert activation_label(("shifted_relu", 0.5)) == "shifted ReLU s=+0.5"


# --------------------------------------------------------------------------- record epochs


def test_log_epochs():
    assert log_epochs(25, 6) == (0, 1, 3, 6, 13, 25)
    e = log_epochs(5000, 30)
    assert e[0] == 0 and e[-1] == 5000 and list(e) == sorted(set(e))
    assert log_epochs(1, 5) == (0, 1)
    assert log_epochs(np.int64(10), 2) == (0, 10)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        log_epochs(0, 3)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        log_epochs(True, 3)
    with pytest.raises(ValueError, match="number of record epochs"):
        log_epochs(10, 1)


# --------------------------------------------------------------------------- slope

TOL = 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slope_matches_polyfit_and_is_exact_on_lines(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, 7)
    y = rng.standard_normal((3, 4, 7))
    want = np.array([[np.polyfit(x, y[i, j], 1)[0] for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(stats.slope(x, y), want, atol=1e-10)
    assert stats.slope(x, 2.5 * x - 1) == pytest.approx(2.5, abs=TOL)
    # invariances: shifting y or x leaves it; scaling y scales it
    np.testing.assert_allclose(stats.slope(x + 3, y + 1), stats.slope(x, y), atol=1e-10)
    np.testing.assert_allclose(stats.slope(x, 3 * y), 3 * stats.slope(x, y), atol=1e-10)


def test_slope_errors():
    with pytest.raises(ValueError, match="x must have shape"):
        stats.slope([1.0], [1.0])
    with pytest.raises(ValueError, match="y must have shape"):
        stats.slope([0.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="not be constant"):
        stats.slope([1.0, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        stats.slope([0.0, 1.0], [np.nan, 2.0])


# --------------------------------------------------------------------------- weight field figure


def test_weight_field_draws_field_and_trajectories():
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((4, 10))
    labels = np.array([-1, -1, 1, 1])
    field = M.weight_vector_field(centers, labels, activation="tanh", grid=6, extent=1.0)
    traj = rng.standard_normal((5, 3, 2)) * 0.3
    ax = plotting.weight_field(field, traj, color="#1f77b4", title="tanh")
    assert ax.get_title() == "tanh"
    assert len(ax.get_lines()) == 3  # one line per unit
    assert ax.get_xlim() == pytest.approx((field.inter[0], field.inter[-1]))
    plt.close("all")
    assert plotting.weight_field(field) is not None  # the field alone
    with pytest.raises(ValueError, match="trajectories must have shape"):
        plotting.weight_field(field, traj[..., 0])
    plt.close("all")
