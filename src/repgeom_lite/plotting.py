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
    "CLASS_COLORS",
    "activation_color",
    "group_color",
    "get_ax",
    "get_axes",
    "error_band",
    "mean_band",
    "metric_over_training",
    "rdm_image",
    "tuning_image",
    "kernel_image",
    "condition_scatter",
    "pca_scatter",
    "geometry_3d",
    "four_cluster_task",
    "bar_with_error",
    "grouped_bars",
    "decoding_panel",
    "animation_html",
    "weight_field",
]

ACTIVATION_COLORS = {
    "tanh": "#1f77b4",
    "relu": "#d62728",
    "sigmoid": "#2ca02c",
    "clipped_relu": "#9467bd",
    "shifted_relu": "#ff7f0e",
    "linear": "#7f7f7f",
}


#: Colours of the two classes of a binary dichotomy (label +1 / class 1, label -1 / class 0).
CLASS_COLORS = {1: "#2ca02c", -1: "#7f7f7f"}

# colours of groups that are not activations (distinct from every activation colour)
_OTHER_COLORS = ("#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939", "#843c39", "#7b4173")
# colours of the factors of a cube's edges (geometry_3d)
_FACTOR_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b")


def _activation_key(name) -> str | None:
    """The activation a group name refers to ("ReLU", "clipped ReLU" -> "relu", "clipped_relu"), or None."""
    if not isinstance(name, str):
        return None
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return key if key in ACTIVATION_COLORS else None


def activation_color(name: str) -> str:
    """Fixed colour of an activation (grey for unknown names).

    Case and spaces do not matter: ``"ReLU"``, ``"relu"`` and ``"clipped ReLU"`` /
    ``"clipped_relu"`` get the same colour in every chapter.
    """
    key = _activation_key(name)
    return ACTIVATION_COLORS[key] if key is not None else "#7f7f7f"


def group_color(name, index: int = 0) -> str:
    """Colour of a plotted group: its activation's colour, else the ``index``-th other colour.

    A tuple ``("tanh", "init")`` takes the colour of its first activation element.
    """
    parts = name if isinstance(name, tuple) else (name,)
    for part in parts:
        if _activation_key(part) is not None:
            return activation_color(part)
    return _OTHER_COLORS[index % len(_OTHER_COLORS)]


def _group_label(name) -> str:
    return ", ".join(map(str, name)) if isinstance(name, tuple) else str(name)


def get_ax(ax=None, figsize: tuple[float, float] = (4, 3), projection: str | None = None):
    """``ax`` itself, or the axes of a new figure (``constrained_layout``) when ``ax`` is None.

    Parameters
    ----------
    figsize : (width, height) in inches, for a new figure.
    projection : str, optional
        ``"3d"`` for a new 3-D axes.
    """
    if ax is None:
        fig = plt.figure(figsize=figsize, constrained_layout=True)
        ax = fig.add_subplot(projection=projection)
    return ax


def get_axes(axes=None, shape: tuple[int, int] = (1, 2), figsize: tuple[float, float] = (8, 3), **subplots_kw):
    """``axes`` as an array, or a new ``shape`` grid of axes (``constrained_layout``) when None.

    Returns
    -------
    ndarray of matplotlib.axes.Axes, of shape ``shape`` for a new grid (``np.asarray(axes)`` otherwise).

    Raises
    ------
    ValueError
        Given ``axes`` with fewer than ``nrows * ncols`` axes.
    """
    if axes is None:
        _, axes = plt.subplots(*shape, figsize=figsize, constrained_layout=True, squeeze=False, **subplots_kw)
    axes = np.asarray(axes)
    if axes.size < int(np.prod(shape)):
        raise ValueError(f"need {int(np.prod(shape))} axes; got {axes.size}")
    return axes


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
    ax = get_ax(ax)
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
    ax = get_ax(ax)
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
    ax = get_ax(ax)
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
    ax = get_ax(ax)
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


def _check_2d(name: str, x, layout: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"{name} must be {layout}, got shape {x.shape}")
    return x


def tuning_image(Z: np.ndarray, ax=None, title: str = "", n_units: int = 20, vmax: float | None = None):
    """Tuning of the first ``n_units`` units over the conditions, as an image.

    Parameters
    ----------
    Z : (P, N) array
        Responses of ``N`` units to ``P`` conditions (e.g. condition means).
    n_units : int
        How many units (the first ones) to show.
    vmax : float, optional
        Colour limit, symmetric ``[-vmax, vmax]`` (default: the largest |response| shown).

    Returns
    -------
    matplotlib.axes.Axes
        x: condition, y: unit, colour: response (a.u.).
    """
    Z = _check_2d("Z", Z, "(P, N): conditions × units")
    if not (isinstance(n_units, (int, np.integer)) and n_units >= 1):
        raise ValueError(f"n_units must be an integer >= 1, got {n_units!r}")
    M = Z[:, :n_units]
    ax = get_ax(ax)
    if vmax is None:
        vmax = (float(np.abs(M).max()) if M.size else 0.0) or 1.0
    v = float(vmax)
    im = ax.imshow(M.T, cmap="RdBu_r", vmin=-v, vmax=v, aspect="auto", interpolation="nearest")
    ax.set_xlabel("condition")
    ax.set_ylabel("unit")
    ax.set_xticks(range(M.shape[0]))
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, label="response (a.u.)", fraction=0.046, pad=0.04)
    return ax


def kernel_image(Z: np.ndarray, ax=None, title: str = ""):
    """The centred linear kernel ``K = Z_c Z_c^T`` of a representation, as an image.

    Parameters
    ----------
    Z : (P, N) array
        Representation of ``P`` conditions; ``Z_c`` subtracts the mean over conditions.
        (For a target kernel pass the labels ``Y: (P, k)``.)

    Returns
    -------
    matplotlib.axes.Axes
        x, y: condition; colour: inner product (a.u.), symmetric colour limits.
    """
    Z = _check_2d("Z", Z, "(P, N): conditions × units")
    Zc = Z - Z.mean(axis=0)
    K = Zc @ Zc.T
    ax = get_ax(ax)
    v = float(np.abs(K).max()) or 1.0
    im = ax.imshow(K, cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
    ax.set_xlabel("condition")
    ax.set_ylabel("condition")
    ax.set_xticks(range(K.shape[0]))
    ax.set_yticks(range(K.shape[0]))
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, label="inner product (a.u.)", fraction=0.046, pad=0.04)
    return ax


def _level_colors(levels: Sequence, colors=None) -> dict:
    """One colour per level: ``colors[level]``, the class colours for ±1, activation colours, else a cycle."""
    colors = dict(colors or {})
    out = {}
    as_class = all(isinstance(v, (int, float, np.integer, np.floating)) and v in (-1, 1) for v in levels)
    for i, v in enumerate(levels):
        if v in colors:
            out[v] = colors[v]
        elif as_class:
            out[v] = CLASS_COLORS[int(v)]
        else:
            out[v] = group_color(v, i)
    return out


def pca_scatter(
    Z: np.ndarray,
    color_by: Sequence,
    ax=None,
    *,
    fit_on: np.ndarray | None = None,
    colors: dict | None = None,
    annotate: Sequence[str] | None = None,
    legend: bool = True,
    s: float = 40,
    title: str | None = None,
    what: str = "",
):
    """Rows of ``Z`` on their first two principal components, coloured by a factor.

    Parameters
    ----------
    Z : (P, N) array
        Conditions (or samples, or networks) × units.
    color_by : (P,) sequence
        The factor's level of each row (±1 labels, activation names, any hashable).
        ±1 take :data:`CLASS_COLORS`, activations :func:`activation_color`.
    fit_on : (Q, N) array, optional
        Rows on which the PCA is fitted (default ``Z``); see :func:`repgeom_lite.metrics.pca`.
    colors : dict, optional
        ``{level: colour}`` overriding the defaults.
    annotate : (P,) sequence of str, optional
        Text next to each point.
    what : str
        What the components are of (e.g. ``"hidden condition means"``), for the x label.

    Returns
    -------
    matplotlib.axes.Axes
        x, y: PC 1 and PC 2 scores (a.u.), with their share of the variance of the fitted rows.
    """
    from .metrics import pca

    Z = _check_2d("Z", Z, "(P, N): rows × units")
    color_by = list(np.asarray(color_by).tolist()) if np.ndim(color_by) else []
    if len(color_by) != Z.shape[0]:
        raise ValueError(f"color_by must have one level per row of Z ({Z.shape[0]}), got {len(color_by)}")
    F = Z if fit_on is None else _check_2d("fit_on", fit_on, "(Q, N): rows × units")
    xy = pca(Z, 2, fit_on=fit_on)
    total = float(((F - F.mean(0)) ** 2).sum())
    ev = (pca(F, 2) ** 2).sum(0) / total if total > 0 else np.zeros(2)
    ax = get_ax(ax)
    levels = list(dict.fromkeys(color_by))
    cmap = _level_colors(levels, colors)
    c = np.array(color_by, dtype=object)
    for v in levels:
        sel = np.array([x == v for x in c])
        ax.scatter(xy[sel, 0], xy[sel, 1], color=cmap[v], s=s, edgecolor="k", linewidths=0.5, zorder=3, label=str(v))
    if annotate is not None:
        for (px, py), text in zip(xy, annotate):
            ax.annotate(str(text), (px, py), textcoords="offset points", xytext=(5, 4), fontsize=8)
    of = f" of {what}" if what else ""
    ax.set_xlabel(f"PC 1{of} ({100 * ev[0]:.0f} % of variance, a.u.)")
    ax.set_ylabel(f"PC 2 ({100 * ev[1]:.0f} %, a.u.)")
    if legend and len(levels) > 1:
        ax.legend(fontsize=7, markerscale=0.8)
    if title:
        ax.set_title(title)
    return ax


def geometry_3d(means: np.ndarray, labels: np.ndarray, ax=None, title: str = ""):
    """Condition means on their first principal components, with the edges of the factor cube.

    Two conditions that differ in exactly one binary factor ``i`` are joined by a line
    of factor ``i``'s colour: in a factorised geometry the lines of one colour are
    parallel (PS = 1). Points are coloured by factor 1 (:data:`CLASS_COLORS`).

    Parameters
    ----------
    means : (P, N) array
        Condition means.
    labels : (P, k) array of ±1
        The binary factors of each condition.
    ax : matplotlib 3-D axes, optional
        A new 3-D axes when None; a 2-D axes shows two components.

    Returns
    -------
    matplotlib.axes.Axes
        PC 1, PC 2 (, PC 3) scores in a.u.
    """
    import itertools

    from .metrics import pca

    means = _check_2d("means", means, "(P, N): conditions × units")
    L = np.asarray(labels)
    if L.ndim == 1:
        L = L[:, None]
    if L.ndim != 2 or L.shape[0] != means.shape[0]:
        raise ValueError(f"labels must be (P, k) with P = {means.shape[0]} rows of ±1, got shape {L.shape}")
    if not np.all(np.isin(L, (-1, 1))):
        raise ValueError("labels must contain only -1 and +1")
    ax = get_ax(ax, (3.4, 3.2), projection="3d")
    three_d = hasattr(ax, "get_zlim")
    pts = pca(means, 3 if three_d else 2)
    for p, q in itertools.combinations(range(len(L)), 2):
        diff = np.flatnonzero(L[p] != L[q])
        if diff.size == 1:
            ax.plot(*pts[[p, q]].T, color=_FACTOR_COLORS[diff[0] % len(_FACTOR_COLORS)], lw=1.2, alpha=0.8)
    colors = [CLASS_COLORS[int(v)] for v in L[:, 0]]
    if three_d:
        ax.scatter(*pts.T, c=colors, s=45, edgecolor="k", depthshade=False, zorder=3)
        ax.set_zlabel("PC 3 (a.u.)", labelpad=-2)
        ax.tick_params(labelsize=6, pad=0)
        ax.set_box_aspect(None, zoom=0.85)
    else:
        ax.scatter(*pts.T, c=colors, s=45, edgecolor="k", zorder=3)
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("PC 1 (a.u.)")
    ax.set_ylabel("PC 2 (a.u.)")
    if title:
        ax.set_title(title)
    return ax


def four_cluster_task(task, ax=None, n_points: int = 400):
    """Training samples of the four-cluster task on the first two PCs of the cluster centres.

    Parameters
    ----------
    task : repgeom_lite.tasks.ClusterTask
        ``centers (4, D)``, ``labels (4, k)`` in ±1 (column 0 is the class), ``X_train (n, D)``,
        ``Y_train (n, K)`` (column 0 > 0.5 is class 1).
    n_points : int
        How many training samples (the first ones) to draw.

    Returns
    -------
    matplotlib.axes.Axes
        x, y: PC 1, PC 2 of the centres (input units); samples and centres (stars,
        x1..x4) coloured by class (:data:`CLASS_COLORS`).
    """
    from .metrics import pca

    C = _check_2d("task.centers", task.centers, "(P, D)")
    X = _check_2d("task.X_train", task.X_train, "(n, D)")[:n_points]
    Y = np.asarray(task.Y_train)[:n_points]
    if X.shape[1] != C.shape[1] or Y.shape[0] != X.shape[0]:
        raise ValueError(f"task.X_train must be (n, {C.shape[1]}) with one Y_train row per sample; "
                         f"got {X.shape} and {Y.shape}")
    px, pc = pca(X, 2, fit_on=C), pca(C, 2)
    cls = (Y[:, 0] if Y.ndim == 2 else Y) > 0.5
    ax = get_ax(ax, (3.6, 3.4))
    ax.scatter(px[~cls, 0], px[~cls, 1], s=6, color=CLASS_COLORS[-1], alpha=0.4, label="class 0 samples")
    ax.scatter(px[cls, 0], px[cls, 1], s=6, color=CLASS_COLORS[1], alpha=0.4, label="class 1 samples")
    star = [CLASS_COLORS[1 if v > 0 else -1] for v in np.asarray(task.labels)[:, 0]]
    ax.scatter(pc[:, 0], pc[:, 1], marker="*", s=200, c=star, edgecolor="k", zorder=3)
    for i, (x, y) in enumerate(pc):
        ax.annotate(f"x{i + 1}", (x, y), textcoords="offset points", xytext=(6, 6), weight="bold")
    ax.set_xlabel("PC 1 of the centres (input units)")
    ax.set_ylabel("PC 2 of the centres (input units)")
    ax.legend(loc="best", fontsize=7, markerscale=2)
    return ax


def _labeller(label):
    if label is None:
        return _group_label
    if callable(label):
        return label
    if isinstance(label, dict):
        return lambda g: label.get(g, _group_label(g))
    if isinstance(label, str):
        return lambda g: label.format(group=_group_label(g))
    raise ValueError(f"label must be None, a format string with {{group}}, a dict or a callable; got {label!r}")


def metric_over_training(
    epochs: Sequence[float],
    values: np.ndarray,
    groups: Sequence,
    ax=None,
    label=None,
    ylabel: str = "value (unitless)",
    *,
    spread: str = "sd",
    colors: dict | None = None,
    legend: bool = True,
    **line_kw,
):
    """A metric over training: one mean ± spread band per group of networks.

    Parameters
    ----------
    epochs : (T,) array
        Epochs of the measurements.
    values : (n_networks, T) array
        The metric of each network at each epoch (NaNs ignored).
    groups : (n_networks,) sequence
        Group of each network (e.g. its activation); bands in order of first appearance.
        Activation names take :func:`activation_color`.
    label : None, str, dict or callable
        Legend label of a group: the group itself (None), ``label.format(group=g)``,
        ``label[g]`` or ``label(g)``.
    spread : {"sd", "sem"}
        Band half-width across the networks of a group (see :func:`error_band`).
    colors : dict, optional
        ``{group: colour}`` overriding the defaults.
    legend : bool
        Draw a legend when there are several groups.
    **line_kw
        Passed to ``ax.plot`` (``marker``, ``ls``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        x: epoch, y: ``ylabel``.
    """
    epochs = np.asarray(epochs, dtype=float)
    values = np.asarray(values, dtype=float)
    if epochs.ndim != 1 or values.ndim != 2 or values.shape[1] != epochs.shape[0]:
        raise ValueError(f"values must be (n_networks, {epochs.size}) for {epochs.size} epochs, got shape {values.shape}")
    groups = list(groups)
    if len(groups) != values.shape[0]:
        raise ValueError(f"groups must have one entry per network ({values.shape[0]}), got {len(groups)}")
    fmt = _labeller(label)
    ax = get_ax(ax)
    colors = colors or {}
    for i, g in enumerate(dict.fromkeys(groups)):
        rows = [j for j, x in enumerate(groups) if x == g]
        error_band(epochs, values[rows], ax=ax, label=fmt(g), color=colors.get(g, group_color(g, i)),
                   spread=spread, **line_kw)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if legend and len(set(groups)) > 1:
        ax.legend(fontsize=7)
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
    offset: float = 0.0,
    width: float = 0.8,
    label: str | None = None,
    **bar_kw,
):
    """Bars with error bars, optionally a dashed horizontal reference line (e.g. a floor).

    Parameters
    ----------
    names : (B,) labels
        Tick label of each bar (at x = 0..B-1).
    values : (B,) array
    errors : (B,) array, or (2, B) array of (lower, upper) distances, optional
        Half-widths (e.g. sd) or asymmetric intervals (e.g. a CI: ``[mean - lo, hi - mean]``).
    offset, width : float
        Shift of the bars from the ticks and their width (for groups of bars side by side).
    label : str, optional
        Legend label of this series.
    **bar_kw
        Passed to ``ax.bar`` (``hatch``, ``alpha``, ...).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.shape[0] != len(names):
        raise ValueError(f"values must be ({len(names)},), one per name, got shape {values.shape}")
    if errors is not None:
        errors = np.asarray(errors, dtype=float)
        if errors.shape not in ((len(names),), (2, len(names))):
            raise ValueError(f"errors must be ({len(names)},) or (2, {len(names)}), got shape {errors.shape}")
    ax.bar(np.arange(len(names)) + offset, values, width, yerr=errors, color=colors, capsize=3, label=label,
           **bar_kw)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    if reference is not None:
        ax.axhline(reference, ls="--", color="k", lw=1)
    return ax


_HATCHED = ("init", "initialisation", "before", "untrained")


def grouped_bars(
    values: dict,
    ax=None,
    *,
    intervals: dict | None = None,
    spread: str = "sd",
    colors: dict | None = None,
    hatched: Sequence[str] = _HATCHED,
    ylabel: str = "value (unitless)",
    reference: float | None = None,
    legend: bool = True,
):
    """Grouped bars with error bars: categories on x, one bar per group in each category.

    Parameters
    ----------
    values : dict
        ``{group: {category: samples}}``: samples is a scalar or a ``(n,)`` array (e.g.
        one value per seed); the bar is their mean. Groups are str or tuples of str
        (``("tanh", "init")``); a group takes its activation's colour
        (:func:`activation_color`), and a group containing one of ``hatched``
        (``"init"``, ``"before"``, ...) is hatched and lighter. Categories in order
        of first appearance.
    intervals : dict, optional
        ``{group: {category: (lo, hi)}}``: draw these intervals (e.g. bootstrap CIs)
        instead of the spread of the samples.
    spread : {"sd", "sem", "none"}
        Error bar of the samples (sd with ``ddof=1``; none for a single sample).
    colors : dict, optional
        ``{group: colour}`` overriding the defaults.
    reference : float, optional
        Dashed horizontal line (e.g. chance 0.5).

    Returns
    -------
    matplotlib.axes.Axes
        x: category, y: ``ylabel``.
    """
    if not isinstance(values, dict) or not values or not all(isinstance(v, dict) for v in values.values()):
        raise ValueError("values must be a non-empty dict {group: {category: samples}}")
    if spread not in ("sd", "sem", "none"):
        raise ValueError(f"spread must be 'sd', 'sem' or 'none', got {spread!r}")
    categories = list(dict.fromkeys(c for v in values.values() for c in v))
    groups = list(values)
    ax = get_ax(ax, (max(4.0, 1.2 * len(categories) * max(1, len(groups)) / 2), 3.2))
    colors = colors or {}
    w = 0.8 / len(groups)
    for i, g in enumerate(groups):
        mean = np.full(len(categories), np.nan)
        err = np.zeros((2, len(categories)))
        for j, c in enumerate(categories):
            if c not in values[g]:
                continue
            x = np.asarray(values[g][c], dtype=float).ravel()
            if x.size == 0:
                raise ValueError(f"values[{g!r}][{c!r}] is empty")
            mean[j] = np.nanmean(x)
            if intervals is not None and c in intervals.get(g, {}):
                lo, hi = (float(v) for v in intervals[g][c])
                err[:, j] = mean[j] - lo, hi - mean[j]
            elif spread != "none" and np.sum(~np.isnan(x)) > 1:
                sd = np.nanstd(x, ddof=1)
                err[:, j] = sd / np.sqrt(np.sum(~np.isnan(x))) if spread == "sem" else sd
        if np.any(err < -1e-12):
            raise ValueError(f"intervals of group {g!r} must contain the mean of its samples")
        parts = g if isinstance(g, tuple) else (g,)
        hatch = "//" if any(str(p) in hatched for p in parts) else None
        bar_with_error(categories, mean, np.clip(err, 0, None), ax=ax, colors=colors.get(g, group_color(g, i)),
                       offset=(i - (len(groups) - 1) / 2) * w, width=w, label=_group_label(g),
                       hatch=hatch, alpha=0.45 if hatch else 1.0, ylabel=ylabel, reference=reference)
    ax.set_xticks(range(len(categories)), categories, rotation=0, ha="center", fontsize=8)
    if legend and len(groups) > 1:
        ax.legend(fontsize=7)
    return ax


def decoding_panel(
    accuracy: dict,
    ax=None,
    *,
    trained: int | Sequence[int] = 0,
    epochs: Sequence[float] | None = None,
    dichotomy_labels: Sequence[str] | None = None,
    chance: float | None = 0.5,
    colors: dict | None = None,
):
    """Decoding accuracy of the trained dichotomy (or dichotomies) against the others.

    Two views of the same arrays:

    * ``epochs=None``: one bar per dichotomy (mean ± sd over networks), one colour per
      group, the trained dichotomies shaded grey.
    * ``epochs`` given: over training, the trained dichotomies (solid) and the mean
      of the others (dashed), mean ± sd over networks.

    Parameters
    ----------
    accuracy : dict
        ``{group: array}`` with arrays ``(n_networks, n_dichotomies)`` (or
        ``(n_dichotomies,)`` for one network), or ``(n_networks, T, n_dichotomies)``
        when ``epochs`` is given. Activation groups take :func:`activation_color`.
    trained : int or sequence of int
        Index (indices) of the trained dichotomies.
    epochs : (T,) array, optional
        Switches to the over-training view.
    dichotomy_labels : (n_dichotomies,) sequence of str, optional
        Tick labels (default: ``t1..`` for trained, ``d1..`` for the others).
    chance : float or None
        Dotted chance line.

    Returns
    -------
    matplotlib.axes.Axes
        x: dichotomy (or epoch), y: decoding accuracy (fraction correct).
    """
    if not isinstance(accuracy, dict) or not accuracy:
        raise ValueError("accuracy must be a non-empty dict {group: array}")
    want = 2 if epochs is None else 3
    arrays = {}
    for g, a in accuracy.items():
        a = np.asarray(a, dtype=float)
        if epochs is None and a.ndim == 1:
            a = a[None]
        if a.ndim != want:
            layout = "(n_networks, n_dichotomies)" if epochs is None else "(n_networks, T, n_dichotomies)"
            raise ValueError(f"accuracy[{g!r}] must be {layout}, got shape {a.shape}")
        arrays[g] = a
    D = {a.shape[-1] for a in arrays.values()}
    if len(D) != 1:
        raise ValueError(f"every group must have the same number of dichotomies, got {sorted(D)}")
    D = D.pop()
    tr = sorted({int(t) % D for t in np.atleast_1d(trained)}) if D else []
    if not tr or any(not -D <= int(t) < D for t in np.atleast_1d(trained)):
        raise ValueError(f"trained must index the {D} dichotomies, got {trained!r}")
    others = [d for d in range(D) if d not in tr]
    colors = colors or {}
    ax = get_ax(ax, (5.0, 3.2))
    if epochs is None:
        if dichotomy_labels is None:
            it = iter(range(1, D + 1))
            io = iter(range(1, D + 1))
            dichotomy_labels = [f"t{next(it)}" if d in tr else f"d{next(io)}" for d in range(D)]
        if len(dichotomy_labels) != D:
            raise ValueError(f"dichotomy_labels must have {D} entries, got {len(dichotomy_labels)}")
        w = 0.8 / len(arrays)
        for i, (g, a) in enumerate(arrays.items()):
            sd = np.nanstd(a, axis=0, ddof=1) if a.shape[0] > 1 else None
            bar_with_error(list(dichotomy_labels), np.nanmean(a, axis=0), sd, ax=ax,
                           colors=colors.get(g, group_color(g, i)), offset=(i - (len(arrays) - 1) / 2) * w,
                           width=w, label=_group_label(g), ylabel="decoding accuracy (fraction correct)")
        for t in tr:
            ax.axvspan(t - 0.5, t + 0.5, color="k", alpha=0.08, lw=0)
        ax.set_xticks(range(D), list(dichotomy_labels), rotation=0, ha="center")
        ax.set_xlabel("dichotomy (shaded: trained)")
        ax.set_ylim(0, 1.05)
    else:
        epochs = np.asarray(epochs, dtype=float)
        for i, (g, a) in enumerate(arrays.items()):
            if a.shape[1] != epochs.size:
                raise ValueError(f"accuracy[{g!r}] must have {epochs.size} epochs on axis 1, got shape {a.shape}")
            c = colors.get(g, group_color(g, i))
            error_band(epochs, a[..., tr].mean(-1), ax=ax, color=c, label=f"{_group_label(g)}, trained", marker="o")
            if others:
                error_band(epochs, a[..., others].mean(-1), ax=ax, color=c, ls="--", marker="s",
                           label=f"{_group_label(g)}, other dichotomies")
        ax.set_xlabel("epoch")
        ax.set_ylabel("decoding accuracy (fraction correct)")
    if chance is not None:
        ax.axhline(chance, color="k", lw=0.8, ls=":")
    if len(arrays) > 1 or epochs is not None:
        ax.legend(fontsize=7)
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


def weight_field(field, trajectories=None, ax=None, *, color=None, title: str = "", max_units: int = 64):
    """A weight vector field (Alleman et al. 2024, Fig. 1D) with unit trajectories on top.

    Parameters
    ----------
    field : repgeom_lite.metrics.VectorField
        From :func:`repgeom_lite.metrics.weight_vector_field`: ``inter, intra (G,)``,
        ``d_inter, d_intra (G, G)`` indexed ``[intra, inter]``. Drawn as grey streamlines,
        width proportional to the update's magnitude.
    trajectories : (T, U, 2) array, optional
        Each unit's (inter, intra) coordinates over ``T`` records
        (:func:`repgeom_lite.metrics.project_weights`); circles mark the first record.
    color : str, optional
        Trajectory colour (default: matplotlib's next colour).
    max_units : int
        Draw at most this many trajectories.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax, figsize=(4.5, 4))
    gx = np.linspace(field.inter[0], field.inter[-1], len(field.inter))  # streamplot needs an exact even grid
    gy = np.linspace(field.intra[0], field.intra[-1], len(field.intra))
    U, V = np.asarray(field.d_inter, dtype=float), np.asarray(field.d_intra, dtype=float)
    if U.shape != (len(gy), len(gx)) or V.shape != U.shape:
        raise ValueError(f"field.d_inter and d_intra must have shape ({len(gy)}, {len(gx)}); got {U.shape}, {V.shape}")
    norm = np.hypot(U, V)
    ax.streamplot(gx, gy, U, V, color="0.6", linewidth=0.4 + 1.6 * norm / (norm.max() or 1.0), density=0.9,
                  arrowsize=0.9, zorder=1)
    if trajectories is not None:
        tr = np.asarray(trajectories, dtype=float)
        if tr.ndim != 3 or tr.shape[-1] != 2:
            raise ValueError(f"trajectories must have shape (T, U, 2); got {tr.shape}")
        tr = tr[:, :max_units]
        (line,) = ax.plot(tr[:, 0, 0], tr[:, 0, 1], color=color, lw=0.8, alpha=0.7)
        c = line.get_color()
        for u in range(1, tr.shape[1]):
            ax.plot(tr[:, u, 0], tr[:, u, 1], color=c, lw=0.8, alpha=0.7)
        ax.scatter(tr[0, :, 0], tr[0, :, 1], s=10, facecolor="none", edgecolor=c, lw=0.8, zorder=3,
                   label="initial weights")
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    ax.set_xlabel("inter-class weight  w·u_inter")
    ax.set_ylabel("intra-class weight  w·u_intra")
    if title:
        ax.set_title(title)
    return ax
