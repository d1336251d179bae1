"""Figure helpers shared by the chapters.

Every function takes ``ax=None`` (a new figure is made when omitted) and returns
the axes, so notebooks only style and arrange. Colours for the activations are
fixed here so that tanh and ReLU look the same in every chapter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "ACTIVATION_COLORS",
    "activation_color",
    "error_band",
    "mean_band",
    "rdm_image",
    "condition_scatter",
    "bar_with_error",
    "animation_html",
]

ACTIVATION_COLORS = {
    "tanh": "#1f77b4",
    "relu": "#d62728",
    "sigmoid": "#2ca02c",
    "clipped_relu": "#9467bd",
    "shifted_relu": "#ff7f0e",
    "linear": "#7f7f7f",
}


def activation_color(name: str) -> str:
    """Fixed colour of an activation (grey for unknown names)."""
    return ACTIVATION_COLORS.get(name, "#7f7f7f")


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3), constrained_layout=True)
    return ax


def error_band(
    x: Sequence[float],
    values: np.ndarray,
    *,
    ax=None,
    label: str | None = None,
    color: str | None = None,
    spread: str = "sd",
    **line_kw,
):
    """Mean line with a shaded band across seeds.

    Parameters
    ----------
    x : (T,) array
        Positions on the horizontal axis.
    values : (S, T) array
        One row per seed (NaNs are ignored per column).
    spread : {"sd", "sem"}
        Band half-width: standard deviation across seeds, or standard error.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    values = np.atleast_2d(np.asarray(values, dtype=float))
    x = np.asarray(x, dtype=float)
    if values.shape[-1] != x.shape[0]:
        raise ValueError(f"values must be (seeds, {x.shape[0]}), got {values.shape}")
    if spread not in ("sd", "sem"):
        raise ValueError(f"spread must be 'sd' or 'sem', got {spread!r}")
    mean = np.nanmean(values, axis=0)
    sd = np.nanstd(values, axis=0)
    if spread == "sem":
        sd = sd / np.sqrt(np.maximum(np.sum(~np.isnan(values), axis=0), 1))
    return mean_band(x, mean, sd, ax=ax, label=label, color=color, **line_kw)


def mean_band(
    x: Sequence[float],
    mean: np.ndarray,
    half_width: np.ndarray,
    *,
    ax=None,
    label: str | None = None,
    color=None,
    alpha: float = 0.25,
    **line_kw,
):
    """Line of precomputed means with a shaded band ``mean ± half_width``.

    Parameters
    ----------
    x, mean, half_width : (T,) arrays
        Positions, means and band half-widths (e.g. sd across seeds).
    alpha : float
        Opacity of the band (the line's colour).
    **line_kw
        Passed to ``ax.plot`` (e.g. ``marker``, ``ms``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    x, mean, half_width = (np.asarray(v, dtype=float) for v in (x, mean, half_width))
    (line,) = ax.plot(x, mean, label=label, color=color, **line_kw)
    ax.fill_between(x, mean - half_width, mean + half_width, color=line.get_color(), alpha=alpha, linewidth=0)
    return ax


def rdm_image(
    rdm: np.ndarray,
    *,
    ax=None,
    title: str | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = None,
    colorbar: bool = True,
    label: str = "dissimilarity (1 − Pearson r)",
):
    """Show a representational dissimilarity matrix.

    Parameters
    ----------
    rdm : (P, P) array
    """
    ax = _ax(ax)
    rdm = np.asarray(rdm, dtype=float)
    if rdm.ndim != 2 or rdm.shape[0] != rdm.shape[1]:
        raise ValueError(f"rdm must be a square (P, P) array, got shape {rdm.shape}")
    im = ax.imshow(rdm, vmin=vmin, vmax=vmax, cmap="viridis", interpolation="nearest")
    ax.set_xlabel("condition")
    ax.set_ylabel("condition")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label=label, fraction=0.046, pad=0.04)
    return ax


def condition_scatter(
    points: np.ndarray,
    *,
    ax=None,
    colors: Sequence | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    xlabel: str = "PC 1 (a.u.)",
    ylabel: str = "PC 2 (a.u.)",
):
    """Scatter of condition means in two dimensions (e.g. their first two PCs).

    Parameters
    ----------
    points : (P, 2) array
    """
    ax = _ax(ax)
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (P, 2), got shape {points.shape}")
    ax.scatter(points[:, 0], points[:, 1], c=colors, s=60, edgecolor="k", zorder=3)
    if labels is not None:
        for (px, py), text in zip(points, labels):
            ax.annotate(str(text), (px, py), textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def bar_with_error(
    names: Sequence[str],
    values: np.ndarray,
    errors: np.ndarray | None = None,
    *,
    ax=None,
    colors: Sequence | None = None,
    ylabel: str = "",
    reference: float | None = None,
):
    """Bars with error bars, optionally a dashed horizontal reference line (e.g. a floor).

    Parameters
    ----------
    names : (B,) labels
    values, errors : (B,) arrays
    """
    ax = _ax(ax)
    values = np.asarray(values, dtype=float)
    ax.bar(range(len(names)), values, yerr=errors, color=colors, capsize=3)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    if reference is not None:
        ax.axhline(reference, ls="--", color="k", lw=1)
    return ax


# Text glyphs for the buttons of matplotlib's JavaScript player, which otherwise draws
# them with Font Awesome 4 icons loaded from a CDN (the book must work offline).
_PLAYER_GLYPHS = {
    "fa-minus": "\u2212",            # slower
    "fa-fast-backward": "\u23ee",    # first frame
    "fa-step-backward": "\u25c0|",   # one frame back
    "fa-play fa-flip-horizontal": "\u25c0",  # play backwards
    "fa-pause": "\u275a\u275a",       # pause
    "fa-play": "\u25b6",             # play
    "fa-step-forward": "|\u25b6",    # one frame on
    "fa-fast-forward": "\u23ed",     # last frame
    "fa-plus": "+",                  # faster
}


def animation_html(anim, alt: str, **to_jshtml) -> str:
    """Self-contained HTML player of a matplotlib animation, for pages read offline.

    ``anim.to_jshtml(**to_jshtml)`` with two changes: the stylesheet link to the Font
    Awesome CDN is removed and the player's icon buttons are drawn with text glyphs, so
    the page makes no network request; ``alt`` becomes the frame image's alt text.

    Parameters
    ----------
    anim : matplotlib.animation.Animation
    alt : str
        Alternative text of the animation frames.
    **to_jshtml
        Passed to :meth:`~matplotlib.animation.Animation.to_jshtml` (e.g. ``fps``,
        ``embed_frames``, ``default_mode``).

    Returns
    -------
    str
        HTML (display with ``IPython.display.HTML``).
    """
    html = anim.to_jshtml(**to_jshtml)
    html = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*"\s*>', "", html)
    for cls, glyph in _PLAYER_GLYPHS.items():
        html = html.replace(f'<i class="fa {cls}"></i>', glyph)
    html = html.replace('<img id="_anim_img', f'<img alt="{alt}" id="_anim_img', 1)
    if "http://" in html or "https://" in html or 'class="fa ' in html:
        raise RuntimeError("matplotlib's player changed: it still refers to the network or to icon fonts")
    return html
