"""Presets: filling knobs, overrides, and clear errors for unknown presets and knobs."""

import sys
import types

import pytest

import repgeom_lite.chapters as chapters
from repgeom_lite.chapters import ChapterInfo, get_chapter
from repgeom_lite.presets import ChapterConfig, preset_names, resolve_preset


@pytest.fixture
def fake_chapter(monkeypatch):
    mod = types.ModuleType("repgeom_lite_fake_chapter")
    mod.PRESETS = {
        "small": {"n_seeds": 3, "epochs": 10, "device": "auto"},
        "full": {"n_seeds": 20, "epochs": 5000, "device": "auto"},
    }
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    info = ChapterInfo("42", "fake", "42_fake.ipynb", mod.__name__, "nobody")
    monkeypatch.setitem(chapters.CHAPTERS, "42", info)
    return mod


def test_resolve_fills_from_preset_and_overrides(fake_chapter):
    cfg = resolve_preset("42", "small", n_seeds=None, epochs=7)
    assert isinstance(cfg, ChapterConfig)
    assert (cfg.preset, cfg.n_seeds, cfg.epochs, cfg["device"]) == ("small", 3, 7, "auto")
    assert resolve_preset(42, "full").n_seeds == 20
    assert preset_names("42") == ["small", "full"]


def test_unknown_preset_lists_valid_ones(fake_chapter):
    with pytest.raises(ValueError, match="unknown preset 'huge' for chapter 42; valid presets: small, full"):
        resolve_preset("42", "huge")


def test_unknown_knob_lists_valid_ones(fake_chapter):
    with pytest.raises(ValueError, match="unknown parameter\\(s\\) 'lr' for chapter 42; valid: device, epochs, n_seeds"):
        resolve_preset("42", "small", lr=0.1)


def test_config_is_read_only(fake_chapter):
    cfg = resolve_preset("42")
    with pytest.raises(AttributeError, match="read-only"):
        cfg.n_seeds = 5
    with pytest.raises(AttributeError, match="has no parameter 'nope'"):
        cfg.nope


@pytest.mark.parametrize("key, expected", [("3", "03"), (3, "03"), ("03", "03"), (" 5 ", "05")])
def test_get_chapter_normalises_ids(key, expected):
    assert get_chapter(key).id == expected


def test_get_chapter_unknown():
    with pytest.raises(ValueError, match="unknown chapter '9'; valid chapters: 00, 01, 02, 03, 04, 05"):
        get_chapter("9")


@pytest.mark.parametrize("cid", sorted(chapters.CHAPTERS))
def test_every_registered_chapter_has_two_presets_runtimes_and_claims(cid):
    """Each chapter module defines small (first) and full presets (and maybe a CPU-sized
    ``paper`` one) with the same knobs, run times and claims."""
    mod = chapters.chapter_module(cid)
    assert list(mod.PRESETS)[0] == "small" and "full" in mod.PRESETS
    assert all(set(p) == set(mod.PRESETS["small"]) for p in mod.PRESETS.values())
    assert set(mod.RUNTIME) >= {"small", "full"}
    if cid != "00":
        assert mod.CLAIMS, "a chapter must state at least one claim"
        for claim_id, spec in mod.CLAIMS.items():
            assert set(spec.threshold) >= {"small", "full"}, claim_id


# --------------------------------------------------------------------------- knob validation
@pytest.fixture
def typed_chapter(monkeypatch):
    from repgeom_lite.presets import Knob

    mod = types.ModuleType("repgeom_lite_fake_typed_chapter")
    mod.PRESETS = {
        "small": {"epochs": 10, "lr": 0.1, "flag": True, "name": "a", "levels": (0.5, 1.0), "runs": [[8, 1]],
                  "lrs": {"sgd": 1.0}, "tol": None, "path": None, "shift": -1.0, "anything": None},
        "full": {"epochs": 50, "lr": 0.01, "flag": False, "name": "b", "levels": (0.5,), "runs": [],
                 "lrs": {"adam": 0.1}, "tol": 1e-5, "path": None, "shift": 2.0, "anything": None},
    }
    mod.KNOBS = {"name": Knob(choices=("a", "b")), "path": Knob(kind="str", optional=True),
                 "levels": Knob(min_len=1, max_len=3, item=Knob(le=1))}
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(chapters.CHAPTERS, "43", ChapterInfo("43", "typed", "43.ipynb", mod.__name__, "-"))
    return mod


@pytest.mark.parametrize(
    "knob, value, valid",
    [
        ("epochs", 1.5, "an integer >= 1"),
        ("epochs", True, "an integer >= 1"),
        ("epochs", 0, "an integer >= 1"),
        ("lr", 0.0, "a number > 0"),
        ("lr", float("inf"), "a number > 0"),
        ("lr", "fast", "a number > 0"),
        ("flag", 1, "True or False"),
        ("name", "c", "one of 'a', 'b'"),
        ("name", 3, "one of 'a', 'b'"),
        ("levels", [], "a list of numbers <= 1 (1 to 3 entries)"),
        ("levels", [0.5, 2.0], "a list of numbers <= 1"),
        ("levels", [0.1, 0.2, 0.3, 0.4], "a list of numbers <= 1 (1 to 3 entries)"),
        ("levels", 0.5, "a list of numbers <= 1"),
        ("runs", [[8, -1]], "a list of lists of integers >= 0"),
        ("runs", [8, 1], "a list of lists of integers >= 0"),
        ("lrs", {1: 0.1}, "a dict {name: value} of numbers >= 0"),
        ("lrs", [0.1], "a dict {name: value} of numbers >= 0"),
        ("tol", -1e-5, "a number >= 0 or None"),
        ("path", 3, "a string or None"),
        ("device", "tpu", "'auto', 'cpu', 'cuda' or 'cuda:N'"),
    ],
)
def test_every_kind_of_bad_value_names_the_knob_and_the_valid_values(typed_chapter, knob, value, valid):
    if knob == "device":
        typed_chapter.PRESETS["small"]["device"] = typed_chapter.PRESETS["full"]["device"] = "auto"
    with pytest.raises(ValueError) as err:
        resolve_preset("43", "small", **{knob: value})
    assert str(err.value).startswith(f"chapter 43: parameter {knob!r} must be {valid}")
    assert str(err.value).endswith(f"; got {value!r}")


def test_valid_values_are_normalised(typed_chapter):
    cfg = resolve_preset("43", "small", epochs=3.0, lr=1, levels=[1, 0.5], path="x", shift=-5, anything=object)
    assert (cfg.epochs, cfg.lr, cfg.levels, cfg.path, cfg.shift) == (3, 1.0, (1.0, 0.5), "x", -5.0)
    assert type(cfg.epochs) is int and type(cfg.lr) is float and cfg.anything is object
    assert resolve_preset("43", "full").tol == 1e-5 and resolve_preset("43", "small").tol is None
    assert resolve_preset("43", "small", runs=[(32, 5)]).runs == [[32, 5]]


def test_chapter_knobs_mistakes_are_reported(typed_chapter):
    from repgeom_lite.presets import Knob, knob_specs

    typed_chapter.KNOBS = {"epoch": Knob(ge=1)}
    with pytest.raises(ValueError, match=r"chapter 43: KNOBS names \['epoch'\], which no preset has"):
        knob_specs("43")
    typed_chapter.KNOBS = {"epochs": Knob(kind="integer")}
    with pytest.raises(ValueError, match="knob 'epochs' has unknown kind 'integer'"):
        resolve_preset("43")
