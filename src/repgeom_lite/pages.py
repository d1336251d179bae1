"""Helpers for chapter pages: numbers from the executed notebook into hand-written prose.

A chapter's "What we found" is markdown written by hand with numbers glued in by
myst-nb (``{glue:text}`ta_tanh:.2f```): the notebook computes a number, :func:`glue`
stores it under a name, and the book build puts it into the sentence. Nothing here
writes prose.

Why a wrapper around ``myst_nb.glue``: the book builds with myst-nb installed, but a
chapter opened in Colab or Jupyter has no myst-nb (and does not need it: the glue roles
only matter to the book build). :func:`glue` works in both places, converts NumPy
scalars to plain Python numbers (myst-nb formats ``{glue:text}`name:.2f``` from the
value's text form, and NumPy 2 writes ``np.float64(0.5)``, which would not parse), and
returns the value so the cell can print it for readers outside the book.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["glue"]


def glue(name: str, value: Any) -> float | int | str:
    """Store a number (or short text) for the prose of the book page, and return it.

    Parameters
    ----------
    name : str
        Key used in the markdown, e.g. ``{glue:text}`ta_tanh:.2f```. Letters, digits
        and ``_`` only.
    value : number, 0-d array or str
        A real number (Python, NumPy scalar or 0-d array), shown with
        ``{glue:text}`name:fmt```, or a short string, glued as markdown and shown with
        ``{glue:md}`name``` (``{glue:text}`` would show its repr, quotes included).

    Returns
    -------
    float, int or str
        The value as a plain Python object (what was glued).

    Raises
    ------
    ValueError
        If ``name`` is not an identifier, or ``value`` is an array with more than one
        element, a complex number, or another type.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be an identifier (letters, digits, _), got {name!r}")
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"glue {name!r}: value must be a single number, got an array of shape {value.shape}")
        value = value.reshape(()).item()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real):
        value = float(value)  # NaN/inf are kept: the prose then shows the reader what happened
    elif not isinstance(value, str):
        raise ValueError(f"glue {name!r}: value must be a real number or a string, got {type(value).__name__}")
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:  # Colab / plain Jupyter: no book build, nothing to store
        return value
    if isinstance(value, str):
        from IPython.display import Markdown

        _myst_glue(name, Markdown(value), display=False)
    else:
        _myst_glue(name, value, display=False)
    return value
