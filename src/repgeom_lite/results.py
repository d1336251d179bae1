"""Committed large-run results, the same call in the book, locally and in Colab.

The full-preset runs of the chapters (too long to rerun when the book is built or a
reader opens a chapter) are committed *inside the package*, as package data in
``repgeom_lite/committed/<chapter>_<preset>/`` (``summary.json``, ``claims.json``,
...). A source checkout, an editable install, a wheel and ``pip install git+...``
(Colab) all carry them, so a chapter reads them with one call that needs no network::

    full = rgl.results.load("04", "full")                  # parsed summary.json, or None
    full_claims = rgl.results.claims("04", "full")          # parsed claims.json, or None
    path = rgl.results.path("04", "paper")                  # the file's path (a CPU-sized large run), or None

Adding a run: ``repgeom run NN --preset full --output DIR`` writes the executed
notebook, ``claims.json`` and the chapter's summaries into ``DIR``; copy the small
JSON files (not the executed notebook or large stores) into the committed folder::

    mkdir -p src/repgeom_lite/committed/NN_full
    cp DIR/claims.json DIR/summary.json src/repgeom_lite/committed/NN_full/

(:func:`committed_dir` prints the folder of the installed package.) Files matching
``committed/*/*.json`` and ``committed/*/*.npz`` are package data (``pyproject.toml``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["COMMITTED_DIR", "committed_dir", "path", "load", "claims", "available"]

#: Folder of the committed runs inside the installed package.
COMMITTED_DIR = Path(__file__).resolve().parent / "committed"

_CHAPTER = re.compile(r"^\d\d$")
_PRESET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def committed_dir() -> Path:
    """The folder holding the committed runs (``<package>/committed``)."""
    return COMMITTED_DIR


def _check(chapter: str, preset: str, name: str) -> None:
    if not isinstance(chapter, str) or not _CHAPTER.match(chapter):
        raise ValueError(f"chapter must be a two-digit id such as '04', got {chapter!r}")
    if not isinstance(preset, str) or not _PRESET.match(preset):
        raise ValueError(f"preset must be a preset name such as 'full', got {preset!r}")
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ValueError(f"name must be a file name such as 'summary.json' (no folders), got {name!r}")


def path(chapter: str, preset: str = "full", name: str = "summary.json") -> Path | None:
    """Path of a committed result file, or ``None`` when that run is not committed.

    Parameters
    ----------
    chapter : str
        Two-digit chapter id, e.g. ``"04"``.
    preset : str
        Preset of the run, default ``"full"``.
    name : str
        File name inside the run's folder, default ``"summary.json"``.

    Raises
    ------
    ValueError
        A malformed chapter id, preset or file name (not a missing file).
    """
    _check(chapter, preset, name)
    p = COMMITTED_DIR / f"{chapter}_{preset}" / name
    return p if p.is_file() else None


def load(chapter: str, preset: str = "full", name: str = "summary.json") -> Any:
    """A committed result file, read with :func:`repgeom_lite.io.load`, or ``None`` when not committed.

    Files written by :func:`repgeom_lite.io.save` come back as saved (arrays, tuples,
    NaN); plain JSON files (older runs) as parsed JSON. Works the same in the built
    book, in a local checkout and in Colab (the files are package data, no network
    needed).

    Raises
    ------
    ValueError
        A malformed argument (see :func:`path`), or a committed file that is not valid
        JSON or not a readable ``repgeom_lite.io`` file (the message names the file).
    """
    from . import io

    p = path(chapter, preset, name)
    if p is None:
        return None
    try:
        return io.load(p)
    except ValueError as err:
        raise ValueError(f"committed result {p} could not be read: {err}") from None


def claims(chapter: str, preset: str = "full") -> dict[str, Any] | None:
    """The committed ``claims.json`` of a run (schema-checked), or ``None`` when not committed.

    Raises
    ------
    repgeom_lite.claims.ClaimsFileError
        A committed file that does not follow the claims schema.
    """
    from .claims import load_claims

    p = path(chapter, preset, "claims.json")
    return None if p is None else load_claims(p)


def available() -> dict[str, list[str]]:
    """Committed runs: ``{"04_full": ["claims.json", "summary.json"], ...}``."""
    if not COMMITTED_DIR.is_dir():
        return {}
    return {
        d.name: sorted(f.name for f in d.iterdir() if f.is_file() and not f.name.startswith("."))
        for d in sorted(COMMITTED_DIR.iterdir())
        if d.is_dir() and "_" in d.name
    }
