"""Explore widgets that work live in Jupyter/Colab *and* in the static HTML book.

The book is static HTML: the widgets' state is embedded in the page but there is no
kernel behind it, so a slider that calls Python does nothing there. The widgets
here therefore hold every state precomputed: one image per parameter value, in a
:class:`ipywidgets.Stack` whose ``selected_index`` is linked to the control *in the
browser* (:func:`ipywidgets.jslink`). Moving the control switches the visible image
without Python, so the same widget is interactive in Jupyter, in Colab and in the
built book.

Typical use in a chapter's *Explore* cell::

    figs = {lr: plot_geometry(results[lr]) for lr in learning_rates}     # matplotlib Figures
    rgl.widgets.explore(figs, description="learning rate", caption="Hidden-layer RDM per learning rate")

    grid = {(act, n): plot_rdm(res[act, n]) for act in acts for n in sizes}
    rgl.widgets.explore_grid(grid, descriptions=("activation", "hidden units"))

Every figure is stored as a PNG in the page, so keep the number of states and the
``dpi`` modest: the total is capped by ``max_total_bytes`` (the book keeps each
chapter page under 5 MB).
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

__all__ = ["explore", "explore_grid", "figure_png", "EXPLORE_CLASS", "DEFAULT_MAX_TOTAL_BYTES"]

EXPLORE_CLASS = "repgeom-explore"  # CSS class of the outer box (the browser test looks for it)
DEFAULT_MAX_TOTAL_BYTES = 2_500_000  # PNG bytes per widget; base64 in the page adds a third


def figure_png(fig: Any, *, dpi: float = 80, close: bool = True) -> bytes:
    """Render a matplotlib Figure (or pass through PNG bytes) as PNG bytes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure or bytes
        A figure, or PNG data already rendered.
    dpi : float
        Resolution of the rendering.
    close : bool
        Close the figure in pyplot afterwards, so Jupyter does not also show it
        below the cell.

    Raises
    ------
    TypeError
        For anything that is neither a Figure nor PNG bytes.
    """
    if isinstance(fig, (bytes, bytearray, memoryview)):
        data = bytes(fig)
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise TypeError("bytes given to an explore widget must be PNG data")
        return data
    if not hasattr(fig, "savefig"):
        raise TypeError(f"expected a matplotlib Figure or PNG bytes, got {type(fig).__name__}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return buf.getvalue()


def _make_control(kind: str, labels: list[str], description: str, index: int) -> widgets.Widget:
    common = dict(description=description, index=index, style={"description_width": "initial"})
    if kind == "slider":
        control = widgets.SelectionSlider(
            options=labels, continuous_update=True, layout=widgets.Layout(width="min(100%, 36em)"), **common
        )
    elif kind == "dropdown":
        control = widgets.Dropdown(options=labels, **common)
    elif kind == "buttons":
        control = widgets.ToggleButtons(options=labels, **common)
    else:
        raise ValueError(f"control must be 'slider', 'dropdown' or 'buttons', got {kind!r}")
    control.add_class(f"{EXPLORE_CLASS}-control")
    return control


def explore_grid(
    figures: Mapping[tuple, Any],
    descriptions: Sequence[str],
    *,
    controls: str | Sequence[str] = "slider",
    caption: str = "",
    label: Callable[[Any], str] = str,
    dpi: float = 80,
    initial: tuple | None = None,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> widgets.VBox:
    """A figure per combination of parameter values, one control per parameter.

    Parameters
    ----------
    figures : mapping ``tuple -> Figure or PNG bytes``
        A complete grid: every combination of the values seen on each axis must be
        present. Axis values keep their order of first appearance.
    descriptions : sequence of str
        One label per key position (per control).
    controls : str or sequence of str
        ``"slider"``, ``"dropdown"`` or ``"buttons"``, for all controls or one each.
    caption : str
        Text shown under the image: say what the figure shows (the static book has
        no alt text for widget images, so this is what a screen reader gets).
    label : callable
        Formats an axis value for its control.
    dpi : float
        Resolution for Figures.
    initial : tuple, optional
        The key shown first (default: the first of each axis).
    max_total_bytes : int
        Upper bound on the PNG bytes stored in the widget.

    Returns
    -------
    ipywidgets.VBox
        ``[controls..., nested Stacks of Images, caption]``, CSS class ``repgeom-explore``.
        The Stacks' ``selected_index`` are ``jslink``-ed to the controls' ``index``, so
        the widget is interactive without a kernel (static HTML book); the links are
        kept in its ``links`` attribute.

    Raises
    ------
    ValueError
        Empty grid, keys of the wrong length, a missing combination, duplicate
        labels, an unknown control kind or too many bytes.
    """
    if not figures:
        raise ValueError("explore needs at least one figure")
    ndim = len(descriptions)
    if ndim < 1:
        raise ValueError("explore_grid needs one description per key position")
    for key in figures:
        if not isinstance(key, tuple) or len(key) != ndim:
            raise ValueError(
                f"every key must be a tuple of {ndim} values (one per description), got {key!r}"
            )
    kinds = [controls] * ndim if isinstance(controls, str) else list(controls)
    if len(kinds) != ndim:
        raise ValueError(f"controls must be one kind or {ndim} kinds, got {len(kinds)}")

    axes: list[list[Hashable]] = [[] for _ in range(ndim)]
    for key in figures:
        for d, v in enumerate(key):
            if v not in axes[d]:
                axes[d].append(v)
    expected = 1
    for values in axes:
        expected *= len(values)
    if expected != len(figures):
        missing = _first_missing(axes, figures)
        raise ValueError(
            f"the grid is incomplete: {len(figures)} figures for {expected} combinations "
            f"(e.g. {missing!r} is missing)"
        )
    labels = [[label(v) for v in values] for values in axes]
    for d, labs in enumerate(labels):
        if len(set(labs)) != len(labs):
            raise ValueError(f"labels for {descriptions[d]!r} are not unique: {labs}")
    if initial is None:
        initial = tuple(values[0] for values in axes)
    if initial not in figures:
        raise ValueError(f"initial key {initial!r} is not in the grid")

    pngs = {key: figure_png(fig, dpi=dpi) for key, fig in figures.items()}
    total = sum(len(p) for p in pngs.values())
    if total > max_total_bytes:
        raise ValueError(
            f"the explore widget would store {total / 1e6:.1f} MB of PNG (limit "
            f"{max_total_bytes / 1e6:.1f} MB): lower dpi, shrink the figures or show fewer values"
        )

    start = [axes[d].index(initial[d]) for d in range(ndim)]
    ctrl = [_make_control(kinds[d], labels[d], descriptions[d], start[d]) for d in range(ndim)]

    links: list[widgets.Widget] = []

    def build(depth: int, prefix: tuple) -> widgets.Widget:
        if depth == ndim:
            # no `tooltip` on the Image: the embedded widget manager (html-manager 1.0.6)
            # fails to render an Image that has one
            return widgets.Image(
                value=pngs[prefix],
                format="png",
                layout=widgets.Layout(max_width="100%", height="auto"),
            )
        stack = widgets.Stack(
            [build(depth + 1, prefix + (v,)) for v in axes[depth]], selected_index=start[depth]
        )
        stack.add_class(f"{EXPLORE_CLASS}-stack")
        links.append(widgets.jslink((ctrl[depth], "index"), (stack, "selected_index")))
        return stack

    children: list[widgets.Widget] = [*ctrl, build(0, ())]
    if caption:
        children.append(
            widgets.HTML(f'<p class="{EXPLORE_CLASS}-caption"><em>{html.escape(caption)}</em></p>')
        )
    box = widgets.VBox(children)
    box.add_class(EXPLORE_CLASS)
    box.links = tuple(links)
    return box


def _first_missing(axes: list[list[Hashable]], figures: Mapping[tuple, Any]) -> tuple | None:
    import itertools

    for key in itertools.product(*axes):
        if key not in figures:
            return key
    return None


def explore(
    figures: Mapping[Any, Any],
    description: str = "",
    *,
    control: str = "slider",
    caption: str = "",
    label: Callable[[Any], str] = str,
    dpi: float = 80,
    initial: Any = None,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> widgets.VBox:
    """One control over precomputed figures: ``{value: Figure or PNG bytes}``.

    Moving the control shows the figure of that value, live in Jupyter/Colab and in
    the static HTML book alike (see :func:`explore_grid`, which this wraps).

    >>> box = explore({0.1: png_a, 1.0: png_b}, description="learning rate")  # doctest: +SKIP
    """
    grid = {(k,): v for k, v in figures.items()}
    return explore_grid(
        grid,
        descriptions=(description,),
        controls=control,
        caption=caption,
        label=label,
        dpi=dpi,
        initial=None if initial is None else (initial,),
        max_total_bytes=max_total_bytes,
    )
