"""Presets: the one place where a chapter's sizes, seeds and thresholds live.

A notebook's ``parameters`` cell sets ``preset = "small"`` and leaves every other
knob at ``None``; :func:`resolve_preset` fills the knobs from the chapter's
``PRESETS[preset]`` and lets any knob that is not ``None`` (a papermill
``-p key value`` or a reader's edit) override it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .chapters import chapter_module, get_chapter

__all__ = ["ChapterConfig", "resolve_preset", "preset_names"]


class ChapterConfig(Mapping):
    """Read-only mapping of a chapter's resolved knobs, also readable as attributes.

    >>> cfg = ChapterConfig("01", "small", {"n_seeds": 3})
    >>> cfg.n_seeds, cfg["n_seeds"], cfg.preset
    (3, 3, 'small')
    """

    def __init__(self, chapter: str, preset: str, values: Mapping[str, Any]):
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "chapter", chapter)
        object.__setattr__(self, "preset", preset)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(
                f"chapter {self.chapter} has no parameter {key!r}; "
                f"valid: {', '.join(sorted(self._values))}"
            ) from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("ChapterConfig is read-only; pass overrides to resolve_preset")

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"ChapterConfig(chapter={self.chapter!r}, preset={self.preset!r}, {body})"


def preset_names(chapter: str | int) -> list[str]:
    """Names of the presets a chapter defines (``["small", "full"]``)."""
    return list(chapter_module(chapter).PRESETS)


def resolve_preset(chapter: str | int, preset: str = "small", **overrides: Any) -> ChapterConfig:
    """Fill a chapter's knobs from a preset, then apply overrides.

    Parameters
    ----------
    chapter : str or int
        Chapter id (``"01"``, ``1``).
    preset : str
        ``"small"`` (2-core CPU, about two minutes) or ``"full"`` (source size, one GPU).
    **overrides
        Knob values. ``None`` means "use the preset's value", so a notebook can pass
        every knob of its parameters cell unconditionally.

    Returns
    -------
    ChapterConfig

    Raises
    ------
    ValueError
        Unknown preset, or an override that is not a knob of this chapter; the
        message lists the valid names.
    """
    info = get_chapter(chapter)
    presets = chapter_module(info.id).PRESETS
    if preset not in presets:
        raise ValueError(
            f"unknown preset {preset!r} for chapter {info.id}; valid presets: {', '.join(presets)}"
        )
    values = dict(presets[preset])
    unknown = sorted(k for k in overrides if k not in values)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for chapter {info.id}; "
            f"valid: {', '.join(sorted(values))}"
        )
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
    return ChapterConfig(info.id, preset, values)
