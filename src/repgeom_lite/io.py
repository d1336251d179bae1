"""One ``save`` / ``load`` for results: JSON (+ a sibling ``.npz`` for large arrays), versioned.

What a chapter saves (summaries, measured numbers, small arrays) should be readable
by a person and by ``git diff``, survive NaN and ±inf, and come back with the same
types. :func:`save` writes::

    {"format": "repgeom_lite.io", "format_version": 1, "npz": null, "data": <encoded obj>}

with these encodings inside ``data`` (everything else is plain JSON):

=====================================  ==============================================================
Python                                  JSON
=====================================  ==============================================================
``float('nan')``, ``±inf`` (scalars)    ``{"__float__": "NaN"}`` / ``"Infinity"`` / ``"-Infinity"``
``tuple``                               ``{"__tuple__": [...]}``
``np.ndarray`` (small, bool/int/        ``{"__ndarray__": nested list, "dtype": "float32", "shape": [...]}``
uint/float/str)                         (non-finite floats as the strings ``"NaN"``, ``"Infinity"``, ...)
``np.ndarray`` (``size > max_inline``,  ``{"__npz__": "a0", "dtype": ..., "shape": [...]}``: stored under
or complex/bytes/datetime)              key ``a0`` of the sibling ``<stem>.npz``
dataclass instance                      ``{"__dataclass__": "module.QualName", "fields": {...}}``
dict with a non-``str`` key, or a key   ``{"__dict__": [[key, value], ...]}``
spelled like a marker (``__x__``)
NumPy scalar (``np.float32(1.5)``)      the Python scalar (``1.5``): the dtype is not kept
=====================================  ==============================================================

:func:`load` reverses this. Without ``cls`` it returns plain data: dicts, lists,
tuples, arrays, Python scalars; a stored dataclass comes back as a ``dict`` of its
fields. With ``cls=SomeDataclass`` it rebuilds that dataclass, and nested ones,
from the *type annotations* of its fields (``effects: FactorEffects``,
``trends: dict[str, TrendTest]``, ``level_pairs: tuple[np.ndarray, ...]``); nothing
is imported by the name stored in the file (the name is only checked against
``cls``). A field annotated as a dataclass but stored by another dataclass's
name raises ``ValueError``.

Version 0: a JSON file without the header (written by code before this module,
e.g. the committed ``notebooks/results/*/summary.json``) loads as plain JSON; with
``cls`` the annotations also convert lists to arrays (``null`` to NaN) and tuples,
and keys that are not fields are ignored. A file with a newer ``format_version``
than :data:`FORMAT_VERSION` raises ``ValueError`` (upgrade ``repgeom_lite``).

Writes are atomic (temporary file in the same folder, then :func:`os.replace`),
with file mode 0644; the ``.npz`` is written before the JSON that refers to it, and
both carry a random token so that a mismatched pair is detected on load.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
import types
import typing
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["FORMAT", "FORMAT_VERSION", "save", "load", "to_plain", "write_json"]

#: Value of the ``"format"`` key of every file written by :func:`save`.
FORMAT = "repgeom_lite.io"
#: Version written by :func:`save`; :func:`load` reads this and every older version.
FORMAT_VERSION = 1

_MARKERS = frozenset({"__float__", "__tuple__", "__ndarray__", "__npz__", "__dataclass__", "__dict__"})
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_INLINE_KINDS = "biufU"  # bool, int, uint, float, str
_NPZ_KINDS = "biufcUSmM"


# --------------------------------------------------------------------------- helpers


def _float_token(x: float) -> str:
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _replace_nonfinite(x: Any) -> Any:
    """Nested lists of floats with NaN/±inf replaced by their string tokens."""
    if isinstance(x, list):
        return [_replace_nonfinite(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return _float_token(x)
    return x


def _restore_nonfinite(x: Any) -> Any:
    if isinstance(x, list):
        return [_restore_nonfinite(v) for v in x]
    if isinstance(x, str):
        return _NONFINITE[x]
    return x


def _atomic_write(path: Path, write: Callable[[Any], None], mode: str) -> None:
    """Write via ``write(fh)`` to a temporary file beside ``path``, chmod 0644, ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _check_max_inline(max_inline: Any) -> int:
    if isinstance(max_inline, bool) or not isinstance(max_inline, (int, np.integer)) or max_inline < 0:
        raise ValueError(f"max_inline must be an integer >= 0; got {max_inline!r}")
    return int(max_inline)


# --------------------------------------------------------------------------- encode


class _Encoder:
    def __init__(self, max_inline: int):
        self.max_inline = max_inline
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, a: np.ndarray, where: str) -> dict:
        kind = a.dtype.kind
        if kind == "O" or kind == "V":
            raise TypeError(f"{where}: cannot save an array of dtype {a.dtype} (object or structured)")
        if kind in _INLINE_KINDS and a.size <= self.max_inline:
            data = a.tolist()
            if kind == "f" and not np.all(np.isfinite(a)):
                data = _replace_nonfinite(data)
            return {"__ndarray__": data, "dtype": a.dtype.str if kind == "U" else a.dtype.name, "shape": list(a.shape)}
        if kind not in _NPZ_KINDS:  # pragma: no cover - every other kind is handled above
            raise TypeError(f"{where}: cannot save an array of dtype {a.dtype}")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        return {"__npz__": key, "dtype": a.dtype.str, "shape": list(a.shape)}

    def __call__(self, obj: Any, where: str = "obj") -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"__float__": _float_token(obj)}
        if isinstance(obj, np.ndarray):
            return self.array(obj, where)
        if isinstance(obj, np.generic):
            if isinstance(obj, np.complexfloating) or obj.dtype.kind in "OVmMS":
                raise TypeError(f"{where}: cannot save a NumPy scalar of dtype {obj.dtype}")
            return self(obj.item(), where)
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            cls = type(obj)
            fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            return {"__dataclass__": f"{cls.__module__}.{cls.__qualname__}", "fields": self(fields, where)}
        if isinstance(obj, tuple):
            return {"__tuple__": [self(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            if all(isinstance(k, str) and k not in _MARKERS for k in obj):
                return {k: self(v, f"{where}[{k!r}]") for k, v in obj.items()}
            return {"__dict__": [[self(k, f"{where} key"), self(v, f"{where}[{k!r}]")] for k, v in obj.items()]}
        if isinstance(obj, os.PathLike):
            return os.fspath(obj)
        hint = " (call .detach().cpu().numpy() first)" if type(obj).__module__.startswith("torch") else ""
        raise TypeError(f"{where}: cannot save an object of type {type(obj).__name__}{hint}")


# --------------------------------------------------------------------------- decode


@dataclasses.dataclass(frozen=True)
class _Stored:
    """A dataclass as read from the file, before ``cls`` decides what it becomes."""

    name: str
    fields: dict


class _Decoder:
    def __init__(self, npz: Any, version: int):
        self.npz = npz
        self.version = version

    def __call__(self, x: Any) -> Any:
        if isinstance(x, list):
            return [self(v) for v in x]
        if not isinstance(x, dict) or self.version == 0:
            if isinstance(x, dict):
                return {k: self(v) for k, v in x.items()}
            return x
        if "__float__" in x:
            return _NONFINITE[x["__float__"]]
        if "__tuple__" in x:
            return tuple(self(v) for v in x["__tuple__"])
        if "__ndarray__" in x:
            data = x["__ndarray__"]
            dtype = np.dtype(x["dtype"])
            if dtype.kind == "f":
                data = _restore_nonfinite(data)
            return np.array(data, dtype=dtype).reshape(x["shape"])
        if "__npz__" in x:
            if self.npz is None:
                raise ValueError(f"the file refers to array {x['__npz__']!r} of its .npz, which is missing")
            a = self.npz[x["__npz__"]]
            return a.astype(np.dtype(x["dtype"]), copy=False).reshape(x["shape"])
        if "__dataclass__" in x:
            return _Stored(x["__dataclass__"], self(x["fields"]))
        if "__dict__" in x:
            return {_hashable(self(k)): self(v) for k, v in x["__dict__"]}
        return {k: self(v) for k, v in x.items()}


def _hashable(k: Any) -> Any:
    return k.item() if isinstance(k, np.ndarray) and k.ndim == 0 else k


def _legacy_array(value: Any) -> np.ndarray:
    """Version-0 list (``null`` for NaN) to an array."""
    a = np.array(value, dtype=object) if not isinstance(value, np.ndarray) else value
    if a.dtype == object:
        if any(v is None for v in a.ravel()):
            a = np.where(a == None, np.nan, a)  # noqa: E711 (elementwise)
        a = np.array(a.tolist())
        if a.dtype == object:
            a = a.astype(np.float64)
    return a


def _hints(cls: type) -> dict:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # annotations that do not evaluate: build without them
        return {}


class _Builder:
    """Turns decoded data into ``cls`` following the type annotations."""

    def __init__(self, version: int):
        self.legacy = version == 0

    def plain(self, x: Any) -> Any:
        if isinstance(x, _Stored):
            return {k: self.plain(v) for k, v in x.fields.items()}
        if isinstance(x, dict):
            return {k: self.plain(v) for k, v in x.items()}
        if isinstance(x, list):
            return [self.plain(v) for v in x]
        if isinstance(x, tuple):
            return tuple(self.plain(v) for v in x)
        return x

    def dataclass(self, cls: type, x: Any, where: str) -> Any:
        if isinstance(x, _Stored):
            stored = x.name.rsplit(".", 1)[-1] if "." in x.name else x.name
            if stored != cls.__qualname__.rsplit(".", 1)[-1]:
                raise ValueError(f"{where}: the file holds a {x.name}, not a {cls.__qualname__}")
            values = x.fields
        elif isinstance(x, dict):
            values = x
        else:
            raise ValueError(f"{where}: expected a stored {cls.__qualname__}, found {type(x).__name__}")
        hints = _hints(cls)
        init = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(values) - set(init))
        if unknown and not self.legacy:
            raise ValueError(f"{where}: {unknown} are not fields of {cls.__qualname__}")
        kwargs = {}
        for name, f in init.items():
            if name in values:
                kwargs[name] = self(values[name], hints.get(name), f"{where}.{name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{where}: field {name!r} of {cls.__qualname__} is missing from the file")
        return cls(**kwargs)

    def __call__(self, x: Any, hint: Any, where: str) -> Any:
        if hint is None or hint is Any:
            return self.plain(x)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            if x is None:
                return None
            options = [a for a in args if a is not type(None)]
            for option in options[:-1]:  # the first option that fits, in order
                try:
                    return self(x, option, where)
                except (ValueError, TypeError):
                    continue
            return self(x, options[-1], where)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self.dataclass(hint, x, where)
        if hint is np.ndarray or origin is np.ndarray:
            if isinstance(x, (list, tuple)) or (self.legacy and x is None):
                return _legacy_array(x if x is not None else np.nan)
            return x
        if hint is float and (x is None and self.legacy):
            return math.nan
        if hint is float and isinstance(x, int) and not isinstance(x, bool):
            return float(x)
        if (hint is tuple or origin is tuple) and isinstance(x, (list, tuple)):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(self(v, args[0], f"{where}[{i}]") for i, v in enumerate(x))
            if args and len(args) == len(x):
                return tuple(self(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(x, args)))
            return tuple(self.plain(v) for v in x)
        if (hint is list or origin is list) and isinstance(x, (list, tuple)):
            arg = args[0] if args else None
            return [self(v, arg, f"{where}[{i}]") for i, v in enumerate(x)]
        if (hint is dict or origin is dict) and isinstance(x, dict):
            arg = args[1] if len(args) == 2 else None
            return {k: self(v, arg, f"{where}[{k!r}]") for k, v in x.items()}
        return self.plain(x)


# --------------------------------------------------------------------------- public


def _npz_path(path: Path) -> Path:
    return path.with_name(path.stem + ".npz") if path.suffix else path.with_name(path.name + ".npz")


def save(obj: Any, path: str | os.PathLike, *, max_inline: int = 10_000, indent: int | None = 1) -> Path:
    """Write ``obj`` to ``path`` (JSON) and, if it holds large arrays, to a sibling ``.npz``.

    Parameters
    ----------
    obj : any
        Nested dataclasses, dicts, lists, tuples, NumPy arrays and scalars, Python
        scalars (NaN and ±inf included), strings, ``None``; see the module docstring
        for the encoding.
    path : path
        The JSON file (parent folders are created). Large arrays go to
        ``path.with_suffix(".npz")`` (``summary.json`` -> ``summary.npz``).
    max_inline : int
        Arrays with at most this many elements are written into the JSON; larger
        ones (and complex, bytes or datetime arrays of any size) go to the ``.npz``.
        ``0`` sends every non-empty array there.
    indent : int or None
        JSON indentation (``None``: one line).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError
        An object of a type listed nowhere above (e.g. a torch tensor, a set, an
        object-dtype array); the message names where in ``obj`` it sits.
    ValueError
        ``max_inline`` is not an integer >= 0.
    """
    max_inline = _check_max_inline(max_inline)
    path = Path(path)
    enc = _Encoder(max_inline)
    data = enc(obj)
    token = uuid.uuid4().hex
    npz = None
    if enc.arrays:
        npz_path = _npz_path(path)
        npz = npz_path.name
        arrays = {**enc.arrays, "__token__": np.array(token)}
        _atomic_write(npz_path, lambda fh: np.savez_compressed(fh, **arrays), "wb")
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "token": token, "npz": npz, "data": data}

    def write(fh):
        json.dump(doc, fh, indent=indent, ensure_ascii=False, allow_nan=False)
        fh.write("\n")

    _atomic_write(path, write, "w")
    return path


def load(path: str | os.PathLike, cls: Any = None) -> Any:
    """Read a file written by :func:`save` (or a plain JSON file: version 0).

    Parameters
    ----------
    path : path
    cls : dataclass type, or a type hint built from dataclasses, optional
        Rebuild this dataclass (and, from the field annotations, the dataclasses,
        arrays and tuples inside it); a hint such as ``dict[str, Summary | dict]``
        rebuilds a container of them (a union tries its options in order). Without
        it, plain data is returned (stored dataclasses become dicts of their fields).

    Returns
    -------
    any
        ``cls`` instance, or plain dicts / lists / tuples / arrays / scalars.

    Raises
    ------
    ValueError
        A newer ``format_version`` than :data:`FORMAT_VERSION`; a missing or
        mismatched ``.npz``; with ``cls``: a file holding another dataclass, a
        missing field, or (version >= 1) a stored field that ``cls`` does not have;
        ``cls`` neither a dataclass type nor a generic type hint.
    """
    is_dataclass = isinstance(cls, type) and dataclasses.is_dataclass(cls)
    if cls is not None and not is_dataclass and typing.get_origin(cls) is None:
        raise ValueError(f"cls must be a dataclass type or a type hint such as dict[str, MyResult]; got {cls!r}")
    path = Path(path)
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if isinstance(doc, dict) and doc.get("format") == FORMAT:
        version = doc.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"{path}: bad format_version {version!r}")
        if version > FORMAT_VERSION:
            raise ValueError(
                f"{path} was written with format version {version}, newer than this repgeom_lite reads "
                f"({FORMAT_VERSION}); upgrade repgeom_lite"
            )
        npz = None
        if doc.get("npz"):
            npz_path = path.with_name(doc["npz"])
            if not npz_path.exists():
                raise ValueError(f"{path} stores large arrays in {npz_path.name}, which is missing")
            with np.load(npz_path, allow_pickle=False) as src:
                npz = {k: src[k] for k in src.files}
            if str(npz.pop("__token__", "")) != doc.get("token"):
                raise ValueError(f"{npz_path.name} does not belong to {path.name} (written by another save)")
        data = _Decoder(npz, version)(doc["data"])
    else:
        version = 0
        data = doc
    builder = _Builder(version)
    if cls is None:
        return builder.plain(data)
    if is_dataclass:
        return builder.dataclass(cls, data, cls.__qualname__)
    return builder(data, cls, "data")


def to_plain(obj: Any) -> Any:
    """A plain-JSON view of ``obj`` (lossy; for keys, indexes and tables, not for round trips).

    Dataclasses become dicts of their fields, tuples and arrays become (nested)
    lists, NumPy scalars Python scalars, dict keys strings, paths strings, and
    non-finite floats ``None``. Use :func:`save`/:func:`load` to keep types.

    Raises
    ------
    TypeError
        Objects :func:`save` cannot store either.
    """
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in _INLINE_KINDS:
            raise TypeError(f"cannot convert an array of dtype {obj.dtype} to plain JSON")
        return to_plain(obj.tolist())
    if isinstance(obj, np.generic):
        return to_plain(obj.item())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"cannot convert an object of type {type(obj).__name__} to plain JSON")


def write_json(obj: Any, path: str | os.PathLike, *, indent: int | None = 2) -> Path:
    """Write ``to_plain(obj)`` as JSON to ``path`` atomically (mode 0644); returns ``path``.

    For files other programs read as plain JSON (a store's index, a claims report);
    results that must round-trip go through :func:`save`.
    """
    path = Path(path)
    doc = to_plain(obj)

    def write(fh):
        json.dump(doc, fh, indent=indent, ensure_ascii=False, allow_nan=False)
        fh.write("\n")

    _atomic_write(path, write, "w")
    return path
