"""Weight vector field (Alleman et al. 2024 eq. 1): autograd, Monte Carlo, sign properties, bad input."""

import numpy as np
import pytest
import torch

from repgeom_lite.metrics import (
    VectorField,
    expected_weight_update,
    project_weights,
    weight_plane_axes,
    weight_vector_field,
)

TOL = 1e-10
LABELS = np.array([-1, -1, 1, 1])  # four-cluster task: clusters 1, 2 -> 0; 3, 4 -> 1
TORCH_F = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "linear": lambda a: a,
    "clipped_relu": lambda a: torch.clamp(a, 0.0, 1.5),
    "shifted_relu": lambda a: torch.relu(a - 0.5),
}
ACT_PARAM = {"clipped_relu": 1.5, "shifted_relu": -0.5}


def centers(seed, D=6):
    return np.random.default_rng(seed).standard_normal((4, D))


@pytest.mark.parametrize("activation", list(TORCH_F))
@pytest.mark.parametrize("seed", [0, 1])
def test_noise_free_field_is_minus_autograd_gradient(activation, seed):
    """sigma = 0: Delta w = -grad L, L(w) = -(1/P) sum_p J y_p f(w.x_p + b) (constant errors)."""
    rng = np.random.default_rng(seed)
    C, J, b = centers(seed), -1.0 if seed else 1.0, 0.2
    W = rng.standard_normal((5, 6))
    w = torch.tensor(W, requires_grad=True)
    h = w @ torch.tensor(C).T + b
    L = -(J * torch.tensor(LABELS, dtype=torch.float64) * TORCH_F[activation](h)).mean(-1).sum()
    L.backward()
    ours = expected_weight_update(
        W, C, LABELS, readout=J, activation=activation, act_param=ACT_PARAM.get(activation), bias=b
    )
    np.testing.assert_allclose(ours, -w.grad.numpy(), atol=TOL)


@pytest.mark.parametrize("activation", ["tanh", "relu", "clipped_relu", "sigmoid"])
def test_noisy_field_matches_monte_carlo(activation):
    rng = np.random.default_rng(0)
    C, sigma, b, J = centers(3, D=3), 0.8, 0.1, 1.0
    w = np.array([0.7, -0.4, 0.5])
    n = 400_000
    p = rng.integers(0, 4, n)
    x = C[p] + sigma * rng.standard_normal((n, 3))
    a = torch.tensor(x @ w + b, requires_grad=True)
    TORCH_F[activation](a).sum().backward()  # f'(a) elementwise
    fprime = a.grad.numpy()
    terms = (J * LABELS[p] * fprime)[:, None] * x
    mc, se = terms.mean(0), terms.std(0) / np.sqrt(n)
    ours = expected_weight_update(
        w, C, LABELS, readout=J, activation=activation, act_param=ACT_PARAM.get(activation), sigma=sigma, bias=b
    )
    assert np.all(np.abs(ours - mc) < 4 * se + 1e-4), (ours, mc, se)


def test_tanh_field_grows_inter_class_selectivity_from_small_weights():
    C = np.random.default_rng(0).standard_normal((4, 100))
    for J in (1.0, -1.0):
        f = weight_vector_field(C, LABELS, readout=J, activation="tanh", sigma=1.0, extent=0.1, grid=21)
        assert isinstance(f, VectorField) and f.d_inter.shape == (21, 21)
        assert np.all(J * f.d_inter > 0)  # toward the label's side of the inter-class axis
        assert np.all(np.abs(f.d_inter) > np.abs(f.d_intra))
    # at w = 0 the update is exactly J f'(0) sum_p y_p x_p / P
    zero = expected_weight_update(np.zeros(100), C, LABELS, activation="tanh", sigma=1.0)
    np.testing.assert_allclose(zero, LABELS @ C / 4, atol=TOL)


def test_linear_field_has_no_intra_class_component():
    C = np.random.default_rng(1).standard_normal((4, 50))
    f = weight_vector_field(C, LABELS, activation="linear", grid=7, extent=(-1, 2, -0.5, 0.5))
    np.testing.assert_allclose(f.d_intra, 0.0, atol=1e-12)
    np.testing.assert_allclose(f.d_inter, np.linalg.norm(LABELS @ C) / 4, atol=TOL)
    np.testing.assert_allclose(f.inter, np.linspace(-1, 2, 7))
    np.testing.assert_allclose(f.intra, np.linspace(-0.5, 0.5, 7))


def test_field_grid_equals_pointwise_update_projected():
    C = centers(2, D=8)
    f = weight_vector_field(C, LABELS, activation="relu", sigma=0.5, bias=0.1, grid=5, extent=2.0)
    j, i = 1, 3
    w = f.inter[i] * f.axes[0] + f.intra[j] * f.axes[1]
    dw = expected_weight_update(w, C, LABELS, activation="relu", sigma=0.5, bias=0.1)
    assert f.d_inter[j, i] == pytest.approx(dw @ f.axes[0], abs=TOL)
    assert f.d_intra[j, i] == pytest.approx(dw @ f.axes[1], abs=TOL)


def test_plane_axes_and_projection():
    C = centers(0, D=10)
    axes = weight_plane_axes(C, LABELS)
    np.testing.assert_allclose(axes @ axes.T, np.eye(2), atol=TOL)
    inter = LABELS @ C
    np.testing.assert_allclose(axes[0], inter / np.linalg.norm(inter), atol=TOL)
    d = C[0] - C[1]
    assert np.linalg.matrix_rank(np.stack([axes[0], axes[1], d]), tol=1e-8) == 2  # in span(u1, x1 - x2)
    W = np.random.default_rng(0).standard_normal((3, 7, 10))  # (epochs, H, D) trajectories
    proj = project_weights(W, axes)
    assert proj.shape == (3, 7, 2)
    np.testing.assert_allclose(proj[2, 4], axes @ W[2, 4], atol=TOL)
    np.testing.assert_allclose(project_weights(torch.tensor(W), axes), proj, atol=TOL)
    assert weight_plane_axes(C, LABELS, intra=(2, 3)).shape == (2, 10)


C4 = np.random.default_rng(0).standard_normal((4, 5))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: weight_plane_axes(C4, [0, 0, 1, 1]), r"labels must contain only -1 and \+1"),
        (lambda: weight_plane_axes(C4, [1, 1, 1, 1]), r"labels must contain both -1 and \+1"),
        (lambda: weight_plane_axes(C4, [1, -1, 1]), r"labels must have one row per condition: expected 4"),
        (lambda: weight_plane_axes(C4, np.ones((4, 2))), r"labels must have shape \(P,\)"),
        (lambda: weight_plane_axes(C4[0], LABELS), r"centers must have shape \(P, D\)"),
        (lambda: weight_plane_axes(C4, LABELS, intra=(0, 0)), r"intra must be two distinct cluster indices"),
        (lambda: weight_plane_axes(C4, LABELS, intra=(0, 7)), r"intra must be two distinct cluster indices in 0\.\.3"),
        (lambda: weight_plane_axes(C4, LABELS, intra=(0, 2)), r"intra clusters 0 and 2 must have the same label"),
        (
            lambda: weight_plane_axes(np.array([[1.0, 1], [-1, -1], [1, -1], [-1, 1]]), LABELS),
            r"inter-class axis .* is zero",
        ),
        (
            lambda: weight_plane_axes(np.array([[1.0, 0], [-1, 0], [3, 0], [2, 0]]), LABELS),
            r"intra-class axis x_0 - x_1 is parallel",
        ),
        (lambda: weight_plane_axes(np.full((4, 5), np.nan), LABELS), r"centers contains NaN or inf"),
        (lambda: weight_vector_field(C4, LABELS, activation="gelu"), r"activation must be one of 'relu'"),
        (lambda: weight_vector_field(C4, LABELS, activation="tanh", act_param=1.0), r"act_param is only used by"),
        (lambda: weight_vector_field(C4, LABELS, activation="clipped_relu", act_param=0.0), r"act_param must be a finite number \(> 0"),
        (lambda: weight_vector_field(C4, LABELS, sigma=-1.0), r"sigma must be a finite number >= 0"),
        (lambda: weight_vector_field(C4, LABELS, grid=1), r"grid must be an integer >= 2"),
        (lambda: weight_vector_field(C4, LABELS, extent=-1.0), r"extent must be a finite number > 0"),
        (lambda: weight_vector_field(C4, LABELS, extent=(1, 0, -1, 1)), r"extent must be \(inter_min, inter_max"),
        (lambda: weight_vector_field(C4, LABELS, errors=[1, 1, -1, 1]), r"errors must be 4 finite numbers >= 0"),
        (lambda: weight_vector_field(C4, LABELS, readout=np.inf), r"readout and bias must be finite"),
        (lambda: expected_weight_update(np.ones(4), C4, LABELS), r"W has 4 input dims \(axis -1\) but centers have 5"),
        (lambda: expected_weight_update(np.ones(()), C4, LABELS), r"W must have shape \(\.\.\., D\)"),
        (lambda: project_weights(np.ones((3, 5)), np.ones((3, 5))), r"axes must have shape \(2, D\)"),
        (lambda: project_weights(np.ones((3, 4)), np.ones((2, 5))), r"W has 4 input dims"),
        (lambda: project_weights(np.full((3, 5), np.inf), np.ones((2, 5))), r"W contains NaN or inf"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
