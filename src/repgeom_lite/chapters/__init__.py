"""Chapter registry: which notebook belongs to which chapter, its presets and run times.

Each chapter module (``chNN_*.py``) defines

``PRESETS``
    ``{"small": {...}, "full": {...}}`` (and, where a GPU-sized ``full`` run is out of
    reach of the 2-core CPU, a ``paper`` preset sized for about an hour there) -- every
    knob the notebook reads. The small preset runs in about two minutes on a 2-core
    CPU; the full preset is the source's size, meant for one GPU.
``KNOBS`` (optional)
    Ranges and choices of knobs, checked by :func:`repgeom_lite.resolve_preset`.
``RUNTIME``
    ``{"small": "...", "full": "..."}`` -- measured wall time, with the device.
``CLAIMS``
    ``{claim_id: ClaimSpec}`` -- the finding as testable inequalities, with the
    threshold per preset (see :mod:`repgeom_lite.claims`).
``SOURCE``
    What the source reports, for the chapter's comparisons.

Every chapter keeps only these (and small helpers for its figures or sizes) in its
module; the task, the networks, the training call and every measurement are visible
package calls in the notebook ("the experiment on the page").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

__all__ = ["ChapterInfo", "CHAPTERS", "get_chapter", "chapter_module"]


@dataclass(frozen=True)
class ChapterInfo:
    """Static facts about one chapter.

    Attributes
    ----------
    id : str
        Two-digit chapter number, e.g. ``"03"``.
    title : str
        Title shown by ``repgeom list`` and the book.
    notebook : str
        File name inside ``notebooks/``.
    module : str
        Dotted module name holding ``PRESETS``, ``RUNTIME`` and ``CLAIMS``.
    source : str
        Short citation of the replicated work.
    """

    id: str
    title: str
    notebook: str
    module: str
    source: str


CHAPTERS: dict[str, ChapterInfo] = {
    c.id: c
    for c in [
        ChapterInfo(
            "00",
            "Primer: reading representational geometry",
            "00_primer.ipynb",
            "repgeom_lite.chapters.ch00_primer",
            "(this book)",
        ),
        ChapterInfo(
            "01",
            "tanh vs ReLU: target-aligned or input-preserving geometry",
            "01_tanh_vs_relu.ipynb",
            "repgeom_lite.chapters.ch01_tanh_relu",
            "Alleman, Lindsey & Fusi 2024",
        ),
        ChapterInfo(
            "02",
            "δ-separability and training noise",
            "02_delta_separability.ipynb",
            "repgeom_lite.chapters.ch02_delta",
            "Alleman, Lindsey & Fusi 2024",
        ),
        ChapterInfo(
            "03",
            "Hyperparameter grid RSA",
            "03_hyperparameter_grid.ipynb",
            "repgeom_lite.chapters.ch03_grid",
            "Devolder, Wientjes & Holroyd",
        ),
        ChapterInfo(
            "04",
            "Permutation-matched underspecification",
            "04_underspecification.ipynb",
            "repgeom_lite.chapters.ch04_underspec",
            "Fowler et al. 2022",
        ),
        ChapterInfo(
            "05",
            "Orthogonal alignment of hidden representations",
            "05_orthogonal_alignment.ipynb",
            "repgeom_lite.chapters.ch05_alignment",
            "Lu et al. 2018",
        ),
    ]
}


def get_chapter(chapter: str | int) -> ChapterInfo:
    """Look a chapter up by ``"3"``, ``"03"`` or ``3``.

    Raises
    ------
    ValueError
        If no such chapter exists; the message lists the valid ids.
    """
    key = str(chapter).strip()
    if key.isdigit():
        key = f"{int(key):02d}"
    if key not in CHAPTERS:
        raise ValueError(
            f"unknown chapter {chapter!r}; valid chapters: {', '.join(CHAPTERS)}"
        )
    return CHAPTERS[key]


def chapter_module(chapter: str | int) -> ModuleType:
    """Import and return the module holding a chapter's presets, knobs and claims."""
    return importlib.import_module(get_chapter(chapter).module)
