"""rgl.pages.glue: plain Python values out, clear errors, works with and without myst-nb."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from repgeom_lite.pages import glue


def test_glue_returns_plain_python_values():
    assert glue("a", np.float64(0.25)) == 0.25 and type(glue("a", np.float64(0.25))) is float
    assert type(glue("b", np.int64(3))) is int
    assert glue("c", np.array(1.5)) == 1.5
    assert glue("d", True) == 1
    assert glue("e", "cpu (2 cores)") == "cpu (2 cores)"
    assert np.isnan(glue("f", float("nan")))


@pytest.mark.parametrize("name", ["", "1a", "a b", "a-b", None])
def test_glue_rejects_bad_names(name):
    with pytest.raises(ValueError, match="glue name must be an identifier"):
        glue(name, 1.0)


def test_glue_rejects_bad_values():
    with pytest.raises(ValueError, match="single number"):
        glue("x", np.ones(2))
    with pytest.raises(ValueError, match="real number or a string"):
        glue("x", 1 + 2j)
    with pytest.raises(ValueError, match="real number or a string"):
        glue("x", [1.0])


def test_glue_without_myst_nb(monkeypatch):
    """Colab has no myst-nb: glue still returns the value and does nothing else."""
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import myst_nb -> ImportError
    assert glue("x", np.float32(2.0)) == 2.0
