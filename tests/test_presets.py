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
    """Each chapter module defines small and full presets with the same knobs, run times and claims."""
    mod = chapters.chapter_module(cid)
    assert list(mod.PRESETS)[:2] == ["small", "full"]
    assert set(mod.PRESETS["small"]) == set(mod.PRESETS["full"])
    assert set(mod.RUNTIME) >= {"small", "full"}
    if cid != "00":
        assert mod.CLAIMS, "a chapter must state at least one claim"
        for claim_id, spec in mod.CLAIMS.items():
            assert set(spec.threshold) >= {"small", "full"}, claim_id
