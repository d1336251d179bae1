"""Round trips of repgeom_lite.io: JSON + .npz, versions, atomic writes."""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass, field

import numpy as np
import pytest

from repgeom_lite import io as rio


@dataclass(frozen=True)
class Inner:
    name: str
    values: np.ndarray
    score: float


@dataclass(frozen=True)
class Outer:
    inner: Inner
    by_key: dict[str, Inner]
    pairs: tuple[np.ndarray, ...]
    example: tuple
    note: str | None = None
    extra: dict = field(default_factory=dict)


def make_outer() -> Outer:
    inner = Inner("a", np.array([1.0, np.nan, np.inf, -np.inf]), float("nan"))
    return Outer(
        inner=inner,
        by_key={"x": Inner("x", np.arange(3, dtype=np.int16), 1.5), "y": inner},
        pairs=(np.eye(2), np.zeros((0, 3))),
        example=(1, (2, 3)),
        extra={"k": [1, 2]},
    )


def assert_same(a, b):
    """Equal values and types (arrays: dtype, shape and values with NaN == NaN)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_roundtrip_plain_values(tmp_path):
    obj = {
        "nan": float("nan"),
        "inf": float("inf"),
        "-inf": -math.inf,
        "tuple": (1, ("a", (2.5, None)), []),
        "list": [True, False, None, "s", 3],
        "float_arrays": [np.array([1.5, np.nan], dtype=np.float32), np.array([[np.inf, -np.inf]]),
                         np.array([1.0], dtype=np.float16)],
        "int_arrays": [np.arange(4, dtype=np.int8), np.array([2**63 - 1]), np.array([2**64 - 1], dtype=np.uint64)],
        "bool_array": np.array([[True, False]]),
        "str_array": np.array(["tanh", "relu"]),
        "empty": np.zeros((0, 4)),
        "scalar_array": np.array(3.0),
        "nested": {"deep": {"deeper": (np.ones(2), {"x": math.nan})}},
    }
    back = rio.load(rio.save(obj, tmp_path / "r.json"))
    assert_same(back, obj)


def test_numpy_scalars_become_python_scalars(tmp_path):
    back = rio.load(rio.save({"f": np.float32(1.5), "i": np.int64(7), "b": np.bool_(True), "n": np.float64("nan")},
                             tmp_path / "s.json"))
    assert back["f"] == 1.5 and type(back["f"]) is float
    assert back["i"] == 7 and type(back["i"]) is int
    assert back["b"] is True
    assert math.isnan(back["n"])


def test_odd_dict_keys_roundtrip(tmp_path):
    obj = {1: "int key", (0, 1): "tuple key", "__tuple__": "marker-like key"}
    back = rio.load(rio.save(obj, tmp_path / "k.json"))
    assert back == obj


def test_file_is_standard_json_with_version(tmp_path):
    path = rio.save({"x": np.array([np.nan, 1.0]), "y": float("inf")}, tmp_path / "v.json")
    text = path.read_text()
    assert "NaN" in text
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert doc["format"] == rio.FORMAT and doc["format_version"] == rio.FORMAT_VERSION
    assert doc["npz"] is None
    assert not (tmp_path / "v.npz").exists()


def test_dataclass_plain_and_rebuilt(tmp_path):
    obj = make_outer()
    path = rio.save(obj, tmp_path / "d.json")
    plain = rio.load(path)
    assert isinstance(plain, dict) and isinstance(plain["inner"], dict)
    assert plain["inner"]["name"] == "a"
    back = rio.load(path, cls=Outer)
    assert isinstance(back, Outer) and isinstance(back.inner, Inner) and isinstance(back.by_key["x"], Inner)
    assert_same(back.inner.values, obj.inner.values)
    assert math.isnan(back.inner.score)
    assert back.by_key["x"].values.dtype == np.int16
    assert_same(back.pairs, obj.pairs)
    assert back.example == (1, (2, 3))
    assert back.note is None and back.extra == {"k": [1, 2]}


def test_npz_split(tmp_path):
    big = np.random.default_rng(0).normal(size=(50, 40)).astype(np.float32)
    small = np.arange(5)
    cplx = np.array([1 + 2j])
    path = rio.save({"big": big, "small": small, "cplx": cplx, "big_int": np.arange(200)}, tmp_path / "r.json",
                    max_inline=100)
    doc = json.loads(path.read_text())
    assert doc["npz"] == "r.npz" and (tmp_path / "r.npz").exists()
    assert "__npz__" in doc["data"]["big"] and "__ndarray__" in doc["data"]["small"]
    assert "__npz__" in doc["data"]["cplx"]
    back = rio.load(path)
    assert_same(back["big"], big)
    assert_same(back["small"], small)
    assert_same(back["cplx"], cplx)
    assert_same(back["big_int"], np.arange(200))
    # threshold: everything inline with a large max_inline
    rio.save({"big": big}, tmp_path / "inline.json", max_inline=big.size)
    assert json.loads((tmp_path / "inline.json").read_text())["npz"] is None


def test_npz_missing_or_mismatched(tmp_path):
    path = rio.save({"a": np.arange(10)}, tmp_path / "a.json", max_inline=0)
    other = rio.save({"a": np.arange(10)}, tmp_path / "b.json", max_inline=0)
    os.replace(tmp_path / "b.npz", tmp_path / "a.npz")
    with pytest.raises(ValueError, match="does not belong to"):
        rio.load(path)
    os.remove(tmp_path / "a.npz")
    with pytest.raises(ValueError, match="which is missing"):
        rio.load(path)
    assert other.exists()


def test_version_check(tmp_path):
    path = rio.save({"a": 1}, tmp_path / "v.json")
    doc = json.loads(path.read_text())
    doc["format_version"] = rio.FORMAT_VERSION + 1
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="newer than this repgeom_lite reads"):
        rio.load(path)
    doc["format_version"] = "one"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="bad format_version"):
        rio.load(path)


def test_version0_plain_json(tmp_path):
    """Files written before this module (plain JSON, NaN as null or NaN) load; cls converts by annotation."""
    legacy = {
        "format": "some.chapter/1",  # extra keys are ignored for version 0
        "inner": {"name": "a", "values": [1.0, None, 3.0], "score": None},
        "by_key": {"x": {"name": "x", "values": [[1, 2], [3, 4]], "score": 2}},
        "pairs": [[[1.0, 0.0], [0.0, 1.0]], [None, 1.0]],
        "example": [3, 4],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(legacy))
    assert rio.load(path) == legacy
    back = rio.load(path, cls=Outer)
    assert np.isnan(back.inner.values[1]) and back.inner.values.dtype == np.float64
    assert math.isnan(back.inner.score)
    assert back.by_key["x"].values.dtype.kind == "i" and back.by_key["x"].values.shape == (2, 2)
    assert back.by_key["x"].score == 2.0 and type(back.by_key["x"].score) is float
    assert isinstance(back.pairs, tuple) and back.pairs[0].shape == (2, 2) and np.isnan(back.pairs[1][0])
    assert back.example == (3, 4)


def test_container_hint(tmp_path):
    """cls may be a hint such as dict[str, Inner | dict]: union options are tried in order."""
    inner = make_outer().inner
    path = rio.save({"a": inner, "b": inner, "extra": {"x": 1}}, tmp_path / "c.json")
    back = rio.load(path, cls=dict[str, Inner | dict])
    assert isinstance(back["a"], Inner) and isinstance(back["b"], Inner) and back["extra"] == {"x": 1}
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps({"a": {"name": "a", "values": [1.0, None], "score": 1.0}, "extra": {"x": 1}}))
    back = rio.load(legacy, cls=dict[str, Inner | dict])
    assert isinstance(back["a"], Inner) and np.isnan(back["a"].values[1]) and back["extra"] == {"x": 1}
    assert rio.load(rio.save([inner], tmp_path / "l.json"), cls=list[Inner])[0].name == "a"


def test_cls_errors(tmp_path):
    path = rio.save(make_outer().inner, tmp_path / "inner.json")
    with pytest.raises(ValueError, match="holds a .*Inner, not a Outer"):
        rio.load(path, cls=Outer)
    with pytest.raises(ValueError, match="cls must be a dataclass type or a type hint"):
        rio.load(path, cls=dict)
    rio.save({"name": "a", "values": np.ones(1)}, tmp_path / "missing.json")
    with pytest.raises(ValueError, match="field 'score' of Inner is missing"):
        rio.load(tmp_path / "missing.json", cls=Inner)
    rio.save({"name": "a", "values": np.ones(1), "score": 1.0, "bogus": 1}, tmp_path / "extra.json")
    with pytest.raises(ValueError, match=r"\['bogus'\] are not fields of Inner"):
        rio.load(tmp_path / "extra.json", cls=Inner)
    rio.save([1, 2], tmp_path / "list.json")
    with pytest.raises(ValueError, match="expected a stored Inner, found list"):
        rio.load(tmp_path / "list.json", cls=Inner)


def test_save_errors(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['s'\]: cannot save an object of type set"):
        rio.save({"s": {1, 2}}, tmp_path / "x.json")
    with pytest.raises(TypeError, match="dtype object"):
        rio.save([np.array([{}, 1], dtype=object)], tmp_path / "x.json")
    with pytest.raises(TypeError, match="NumPy scalar of dtype complex128"):
        rio.save(np.complex128(1j), tmp_path / "x.json")
    with pytest.raises(ValueError, match="max_inline must be an integer >= 0"):
        rio.save({}, tmp_path / "x.json", max_inline=-1)
    assert not (tmp_path / "x.json").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary files left behind


def test_atomic_write_and_permissions(tmp_path, monkeypatch):
    path = rio.save({"a": np.arange(100)}, tmp_path / "sub" / "p.json", max_inline=10)
    for p in (path, tmp_path / "sub" / "p.npz"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o644
    # a failure while writing leaves the previous file intact and no temporary file
    original = path.read_text()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rio.json, "dump", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        rio.save({"a": 1}, path)
    assert path.read_text() == original
    assert sorted(p.name for p in path.parent.iterdir()) == ["p.json", "p.npz"]


def test_to_plain_and_write_json(tmp_path):
    obj = {"t": (1, 2), "a": np.array([1.0, np.nan]), "d": make_outer().inner, "g": np.int32(3), 5: "five"}
    plain = rio.to_plain(obj)
    assert plain == {"t": [1, 2], "a": [1.0, None], "d": {"name": "a", "values": [1.0, None, None, None],
                                                          "score": None}, "g": 3, "5": "five"}
    path = rio.write_json(obj, tmp_path / "plain.json")
    assert json.loads(path.read_text()) == plain
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    with pytest.raises(TypeError, match="cannot convert an object of type set"):
        rio.to_plain({1, 2})
    with pytest.raises(TypeError, match="cannot convert an array of dtype complex128"):
        rio.to_plain(np.array([1j]))
