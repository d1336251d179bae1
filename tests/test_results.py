"""repgeom_lite.results: committed full-size runs, read through the package (book, local, Colab)."""

from __future__ import annotations

import json

import pytest

import repgeom_lite as rgl
from repgeom_lite import results
from repgeom_lite.claims import ClaimsFileError


def test_committed_runs_load_through_the_package():
    avail = rgl.results.available()
    assert {"03_full", "04_paper"} <= set(avail) and "claims.json" in avail["04_paper"]
    s = rgl.results.load("04", "paper")  # summary.json by default
    assert isinstance(s, dict) and s["chapter"] == "04" and s["preset"] == "paper"
    assert rgl.results.load("04", "paper", "summary.json") == s
    assert rgl.results.load("04") is None  # the default preset "full" of chapter 04 is not committed
    c = rgl.results.claims("04", "paper")
    assert c["chapter"] == "04" and c["claims"]
    p = rgl.results.path("03", "full")
    assert p is not None and p.parent == results.COMMITTED_DIR / "03_full"
    assert rgl.results.committed_dir() == results.COMMITTED_DIR
    assert rgl.results.load("00", "full") is not None  # the primer's committed summary


def test_missing_runs_are_none_not_errors():
    assert rgl.results.load("01", "full") is None
    assert rgl.results.path("02", "medium") is None
    assert rgl.results.claims("01") is None
    assert rgl.results.load("04", "full", "nothing.json") is None


@pytest.mark.parametrize(
    "args, match",
    [
        (("4",), "two-digit id"),
        (("04", "../x"), "preset name"),
        (("04", "full", "../../pyproject.toml"), "file name"),
        (("04", "full", "a/b.json"), "file name"),
        ((4,), "two-digit id"),
    ],
)
def test_bad_arguments_are_clear_errors(args, match):
    with pytest.raises(ValueError, match=match):
        rgl.results.load(*args)


def test_broken_committed_files_are_named(tmp_path, monkeypatch):
    d = tmp_path / "09_full"
    d.mkdir()
    (d / "summary.json").write_text("{broken")
    (d / "claims.json").write_text(json.dumps({"claims": [{"id": "x", "value": "1", "op": ">", "threshold": 0}]}))
    monkeypatch.setattr(results, "COMMITTED_DIR", tmp_path)
    with pytest.raises(ValueError, match="09_full/summary.json could not be read: Expecting property name"):
        results.load("09")
    with pytest.raises(ClaimsFileError, match="field 'value' must be a finite number"):
        results.claims("09")
    assert results.available() == {"09_full": ["claims.json", "summary.json"]}


def test_io_files_come_back_as_saved(tmp_path, monkeypatch):
    """A run written with rgl.io.save (format header, arrays, NaN) loads as it was saved."""
    import numpy as np

    d = tmp_path / "09_full"
    d.mkdir()
    rgl.io.save({"chapter": "09", "x": np.arange(3.0), "nan": float("nan")}, d / "summary.json")
    monkeypatch.setattr(results, "COMMITTED_DIR", tmp_path)
    got = results.load("09")
    assert got["chapter"] == "09" and np.array_equal(got["x"], np.arange(3.0)) and np.isnan(got["nan"])
