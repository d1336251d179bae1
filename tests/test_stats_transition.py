"""repgeom_lite.stats.halfway_crossing / crossing_ci: closed forms, a planted shift, loop agreement, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from repgeom_lite import stats as st

TOL = 1e-12
X = np.array([0.0, 0.1, 0.2, 0.5, 1.0])


def test_halfway_crossing_closed_forms():
    # a step between 0.1 and 0.2 from 0 to 1: level 0.5 reached halfway by linear interpolation
    assert st.halfway_crossing(X, [0, 0, 1, 1, 1]) == pytest.approx(0.15, abs=TOL)
    # a straight line y = x crosses its halfway level 0.5 at 0.5
    assert st.halfway_crossing(X, X) == pytest.approx(0.5, abs=TOL)
    # reaching the level exactly on a grid point returns that point
    assert st.halfway_crossing(X, [0, 0.5, 0.7, 0.9, 1.0]) == pytest.approx(0.1, abs=TOL)
    # invariant to shifting and (positively) scaling the curve
    y = np.array([0.1, 0.3, 0.8, 0.9, 1.0])
    assert st.halfway_crossing(X, 3 * y + 2) == pytest.approx(st.halfway_crossing(X, y), abs=TOL)
    # a curve that does not rise has no crossing
    assert math.isnan(st.halfway_crossing(X, [1, 1, 1, 1, 1]))
    assert math.isnan(st.halfway_crossing(X, X[::-1]))
    assert math.isnan(st.halfway_crossing(X, [np.nan, 0, 1, 1, 1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_halfway_crossing_batched_equals_loop(seed):
    y = np.random.default_rng(seed).random((3, 4, X.size)).cumsum(-1)
    batched = st.halfway_crossing(X, y)
    assert batched.shape == (3, 4)
    loop = np.array([[st.halfway_crossing(X, y[i, j]) for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(batched, loop, atol=TOL)


def test_crossing_ci_identical_seeds_is_a_point():
    v = np.tile([0, 0, 1, 1, 1.0], (4, 1))
    iv = st.crossing_ci(X, v)
    assert (iv.estimate, iv.lo, iv.hi, iv.n) == (pytest.approx(0.15), pytest.approx(0.15), pytest.approx(0.15), 4)
    shift = st.crossing_ci(X, v, baseline=v)
    assert shift.estimate == pytest.approx(0) and shift.lo == pytest.approx(0) and shift.hi == pytest.approx(0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crossing_ci_covers_planted_transition_and_shift(seed):
    rng = np.random.default_rng(seed)
    grid = np.linspace(0, 1, 21)

    def curves(t0, n=8):
        return 1 / (1 + np.exp(-(grid - t0) / 0.03)) + 0.02 * rng.standard_normal((n, grid.size))

    low, high = curves(0.2), curves(0.35)
    iv = st.crossing_ci(grid, low, seed=seed)
    assert iv.lo <= iv.estimate <= iv.hi
    assert iv.lo < 0.2 + 0.02 and iv.hi > 0.2 - 0.02 and iv.hi - iv.lo < 0.05
    shift = st.crossing_ci(grid, high, baseline=low, seed=seed)
    assert 0.1 < shift.lo <= shift.estimate <= shift.hi < 0.2
    # the estimate is the crossing of the mean curve
    assert iv.estimate == pytest.approx(float(st.halfway_crossing(grid, low.mean(0))))


def test_crossing_ci_one_seed_has_no_interval():
    iv = st.crossing_ci(X, [[0, 0, 1, 1, 1.0]])
    assert iv.estimate == pytest.approx(0.15) and math.isnan(iv.lo) and math.isnan(iv.hi)


def test_crossing_errors():
    with pytest.raises(ValueError, match="strictly increasing"):
        st.halfway_crossing([0, 0, 1], [0, 1, 2])
    with pytest.raises(ValueError, match="strictly increasing"):
        st.halfway_crossing([0.0], [1.0])
    with pytest.raises(ValueError, match="shape"):
        st.halfway_crossing(X, [0, 1])
    with pytest.raises(ValueError, match="one curve per seed"):
        st.crossing_ci(X, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="baseline"):
        st.crossing_ci(X, np.zeros((2, X.size)), baseline=np.zeros((3, X.size)))
    with pytest.raises(ValueError):
        st.crossing_ci(X, np.full((2, X.size), np.nan))
