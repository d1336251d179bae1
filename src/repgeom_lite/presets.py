"""Presets: the one place where a chapter's sizes, seeds and thresholds live.

A notebook's ``parameters`` cell sets ``preset = "small"`` and leaves every other
knob at ``None``; :func:`resolve_preset` fills the knobs from the chapter's
``PRESETS[preset]`` and lets any knob that is not ``None`` (a papermill
``-p key value`` or a reader's edit) override it.

Validation (one place, before any work)
---------------------------------------
Every resolved knob is checked against a :class:`Knob` -- its type, range and valid
values -- by :func:`resolve_preset`, which the CLI (``repgeom run``), papermill runs
and the notebooks all call first. The specification of a knob is, in order of
precedence:

1. the chapter module's optional ``KNOBS = {name: Knob(...)}`` (chapter-specific
   ranges and choices, e.g. ``accuracy_threshold`` in [0, 1]);
2. :data:`COMMON_KNOBS`, rules for knob names that mean the same in every chapter
   (``epochs >= 1``, ``device``, ``batch_size >= 1``, ...);
3. otherwise inferred from the presets' values: ``int`` (``1.5`` is an error, never
   truncated), ``float``, ``bool``, ``str``, list or tuple (elements inferred the same
   way), dict; a number that is ``>= 0`` in every preset must stay ``>= 0``; a knob
   that is ``None`` in some preset may be ``None``.

A rule from 1 or 2 only names what it fixes (e.g. ``Knob(ge=1)``); the rest (its
type, list elements) is still inferred from the presets.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .chapters import chapter_module, get_chapter

__all__ = ["ChapterConfig", "Knob", "COMMON_KNOBS", "resolve_preset", "preset_names", "knob_specs"]


@dataclass(frozen=True)
class Knob:
    """Type, range and valid values of one chapter knob.

    Every field is optional: ``None`` means "inferred from the presets" (``kind``,
    ``item``, ``optional``) or "no constraint" (the rest).

    Parameters
    ----------
    kind : {"int", "float", "bool", "str", "list", "dict", "any"}, optional
        ``"float"`` accepts integers too (``lr=1`` is 1.0); ``"int"`` accepts an
        integral float (``2.0`` is 2) but rejects ``1.5``; ``"list"`` accepts lists and
        tuples (stored as the presets store them).
    ge, gt, le, lt : float, optional
        Bounds of a number (or of each number inside a list or dict).
    choices : tuple, optional
        Valid values (of a string, or of each element of a list).
    pattern : str, optional
        Regular expression a string must match in full; ``describe`` says it in words.
    describe : str, optional
        Valid values in words, used in error messages (e.g. ``"'auto', 'cpu', 'cuda' or 'cuda:N'"``).
    item : Knob, optional
        Specification of each element of a list (of each value of a dict).
    min_len, max_len : int, optional
        Length bounds of a list.
    optional : bool, optional
        Whether ``None`` is a valid resolved value.
    """

    kind: str | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple | None = None
    pattern: str | None = None
    describe: str | None = None
    item: "Knob | None" = None
    min_len: int | None = None
    max_len: int | None = None
    optional: bool | None = None

    def merged(self, base: "Knob") -> "Knob":
        """This knob's fields where set, ``base``'s elsewhere (``item`` merged recursively).

        Bounds go together: a knob that sets any of ``ge, gt, le, lt`` replaces all
        of ``base``'s bounds (``Knob(gt=0)`` over an inferred ``ge=0`` is just ``> 0``).
        """
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        own_bounds = any(kw[b] is not None for b in _BOUNDS)
        for name, value in kw.items():
            if value is None and not (own_bounds and name in _BOUNDS):
                kw[name] = getattr(base, name)
        if self.item is not None and base.item is not None:
            kw["item"] = self.item.merged(base.item)
        return Knob(**kw)


_BOUNDS = ("ge", "gt", "le", "lt")
_KINDS = ("int", "float", "bool", "str", "list", "dict", "any")

#: Rules for knob names that mean the same in every chapter (a chapter's ``KNOBS`` wins).
COMMON_KNOBS: dict[str, Knob] = {
    "device": Knob(kind="str", pattern=r"auto|cpu|cuda(:\d+)?", describe="'auto', 'cpu', 'cuda' or 'cuda:N'"),
    "epochs": Knob(kind="int", ge=1),
    "batch_size": Knob(kind="int", ge=1),
    "lr": Knob(kind="float", gt=0),
    "n_train": Knob(kind="int", ge=1),
    "n_test": Knob(kind="int", ge=1),
    "n_hidden": Knob(kind="int", ge=1),
    "hidden_units": Knob(kind="int", ge=1),
    "input_dim": Knob(kind="int", ge=1),
    "decode_folds": Knob(kind="int", ge=2),
    "n_boot": Knob(kind="int", ge=1),
    "n_perm": Knob(kind="int", ge=1),
    "chunk_size": Knob(kind="int", ge=1),
    "num_threads": Knob(kind="int", ge=1),
    "torch_threads": Knob(kind="int", ge=1),
    "seeds": Knob(kind="list", min_len=1, item=Knob(kind="int", ge=0)),
    "seed": Knob(kind="int", ge=0),
    "task_seed": Knob(kind="int", ge=0),
}


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def infer_knob(values: list) -> Knob:
    """A knob's specification inferred from its values in every preset (see module docstring)."""
    present = [v for v in values if v is not None]
    optional = len(present) < len(values)
    if not present:
        return Knob(kind="any", optional=True)
    if all(isinstance(v, bool) for v in present):
        return Knob(kind="bool", optional=optional)
    if all(_is_number(v) for v in present):
        kind = "int" if all(_is_int(v) for v in present) else "float"
        return Knob(kind=kind, ge=0 if all(v >= 0 for v in present) else None, optional=optional)
    if all(isinstance(v, str) for v in present):
        return Knob(kind="str", optional=optional)
    if all(isinstance(v, (list, tuple)) for v in present):
        items = [x for v in present for x in v]
        return Knob(kind="list", item=infer_knob(items) if items else Knob(kind="any"), optional=optional)
    if all(isinstance(v, dict) for v in present):
        items = [x for v in present for x in v.values()]
        return Knob(kind="dict", item=infer_knob(items) if items else Knob(kind="any"), optional=optional)
    return Knob(kind="any", optional=optional)


def _range_text(k: Knob) -> str:
    parts = []
    for op, bound in ((">=", k.ge), (">", k.gt), ("<=", k.le), ("<", k.lt)):
        if bound is not None:
            parts.append(f"{op} {bound:g}")
    return " and ".join(parts)


_NOUNS = {
    "int": ("an integer", "integers"),
    "float": ("a number", "numbers"),
    "bool": ("True or False", "booleans"),
    "str": ("a string", "strings"),
    "list": ("a list", "lists"),
    "dict": ("a dict", "dicts"),
    "any": ("a value", "values"),
}


def describe_knob(k: Knob, plural: bool = False) -> str:
    """Valid values of a knob in words (``"an integer >= 1"``, ``"one of 'digits', 'mnist'"``)."""
    kind = k.kind or "any"
    if k.describe:
        text = k.describe
    elif k.choices is not None and kind != "list":
        text = ("values from " if plural else "one of ") + ", ".join(map(repr, k.choices))
    elif kind in ("list", "dict"):
        item = k.item or Knob(kind="any")
        if kind == "list" and k.choices is not None:
            item = dataclasses.replace(item, choices=k.choices)
        inner = describe_knob(item, plural=True)
        text = _NOUNS[kind][plural] + (" of " + inner if inner != "values" else "")
        if kind == "dict":
            text = text.replace("a dict of ", "a dict {name: value} of ", 1)
        if k.min_len is not None and k.max_len is not None:
            text += f" ({k.min_len} to {k.max_len} entries)"
        elif k.min_len is not None:
            text += f" (at least {k.min_len} {'entry' if k.min_len == 1 else 'entries'})"
        elif k.max_len is not None:
            text += f" (at most {k.max_len} {'entry' if k.max_len == 1 else 'entries'})"
    else:
        text = _NOUNS[kind][plural]
        rng = _range_text(k)
        if rng:
            text += " " + rng
    if k.optional:
        text += " or None"
    return text


class _Invalid(ValueError):
    pass


def _check_value(value: Any, k: Knob, where: str) -> Any:
    """``value`` checked against ``k`` and normalised (``2.0`` -> 2 for an int); raises ``_Invalid``."""
    if value is None:
        if k.optional:
            return None
        raise _Invalid(where)
    kind = k.kind or "any"
    if kind == "bool":
        if not isinstance(value, bool):
            raise _Invalid(where)
        return value
    if kind in ("int", "float"):
        if not _is_number(value):
            raise _Invalid(where)
        if kind == "int":
            if _is_int(value):
                value = int(value)
            elif isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
                value = int(value)
            else:
                raise _Invalid(where)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise _Invalid(where)
        if ((k.ge is not None and not value >= k.ge) or (k.gt is not None and not value > k.gt)
                or (k.le is not None and not value <= k.le) or (k.lt is not None and not value < k.lt)):
            raise _Invalid(where)
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise _Invalid(where)
        if k.choices is not None and value not in k.choices:
            raise _Invalid(where)
        if k.pattern is not None and not re.fullmatch(k.pattern, value):
            raise _Invalid(where)
        return value
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            raise _Invalid(where)
        if (k.min_len is not None and len(value) < k.min_len) or (k.max_len is not None and len(value) > k.max_len):
            raise _Invalid(where)
        item = k.item or Knob(kind="any")
        if k.choices is not None:
            item = dataclasses.replace(item, choices=k.choices)
        return [_check_value(v, item, where) for v in value]
    if kind == "dict":
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise _Invalid(where)
        item = k.item or Knob(kind="any")
        return {key: _check_value(v, item, where) for key, v in value.items()}
    return value


def knob_specs(chapter: str | int) -> dict[str, Knob]:
    """The full specification of every knob of a chapter (``KNOBS`` > :data:`COMMON_KNOBS` > inferred).

    Raises
    ------
    ValueError
        If the chapter's ``KNOBS`` names a knob its presets do not have, or a kind
        that does not exist (a mistake in the chapter module).
    """
    info = get_chapter(chapter)
    module = chapter_module(info.id)
    presets = module.PRESETS
    explicit = dict(getattr(module, "KNOBS", {}))
    names = list(dict.fromkeys(k for p in presets.values() for k in p))
    stray = sorted(set(explicit) - set(names))
    if stray:
        raise ValueError(f"chapter {info.id}: KNOBS names {stray}, which no preset has; valid: {', '.join(sorted(names))}")
    specs = {}
    for name in names:
        spec = infer_knob([p.get(name) for p in presets.values()])
        if name in COMMON_KNOBS:
            spec = COMMON_KNOBS[name].merged(spec)
        if name in explicit:
            spec = explicit[name].merged(spec)
        if spec.kind not in _KINDS:
            raise ValueError(f"chapter {info.id}: knob {name!r} has unknown kind {spec.kind!r}; valid: {', '.join(_KINDS)}")
        specs[name] = spec
    return specs


def check_knob(chapter_id: str, name: str, value: Any, spec: Knob, container: type = list) -> Any:
    """One knob's value checked and normalised, or ``ValueError`` naming the knob and its valid values."""
    try:
        checked = _check_value(value, spec, name)
    except _Invalid:
        raise ValueError(
            f"chapter {chapter_id}: parameter {name!r} must be {describe_knob(spec)}; got {value!r}"
        ) from None
    if isinstance(checked, list) and container is tuple:
        checked = tuple(checked)
    return checked


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
    """Fill a chapter's knobs from a preset, apply overrides, validate every knob.

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
        Every value checked against :func:`knob_specs` and normalised: an integral
        float becomes an int (``2.0`` -> 2), an int for a float knob a float, a list
        for a knob the presets store as a tuple a tuple.

    Raises
    ------
    ValueError
        Unknown preset, an override that is not a knob of this chapter (the message
        lists the valid names), or a value of the wrong type, out of range or not
        among the valid values (the message names the knob and says what is valid:
        ``"chapter 03: parameter 'epochs' must be an integer >= 1; got 2.5"``).
    """
    info = get_chapter(chapter)
    presets = chapter_module(info.id).PRESETS
    if not isinstance(preset, str) or preset not in presets:
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
    specs = knob_specs(info.id)
    for key in values:
        container = tuple if any(isinstance(p.get(key), tuple) for p in presets.values()) else list
        values[key] = check_knob(info.id, key, values[key], specs[key], container)
    return ChapterConfig(info.id, preset, values)
