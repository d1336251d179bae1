"""repgeom_lite.widgets: explore widgets wired in the browser (they work without a kernel).

The browser test (test_browser_site.py) moves the controls in headless Chromium; these
tests check the widget tree and the links that make that work, and every error path.
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from repgeom_lite.widgets import EXPLORE_CLASS, explore, explore_grid, figure_png  # noqa: E402


def fig(title: str):
    f, ax = plt.subplots(figsize=(2, 1.5))
    ax.set_title(title)
    ax.plot([0, 1], [0, len(title)])
    return f


def png(title: str) -> bytes:
    f = fig(title)
    buf = io.BytesIO()
    f.savefig(buf, format="png", dpi=30)
    plt.close(f)
    return buf.getvalue()


def links_of(box) -> list:
    """The box's jslink objects, checked to connect its own controls."""
    controls = [c for c in box.children if isinstance(c, widgets.ValueWidget)]
    for link in box.links:
        assert type(link).__name__ == "Link"
        assert any(link.source[0] is c for c in controls)
        assert (link.source[1], link.target[1]) == ("index", "selected_index")
    return list(box.links)


def test_explore_one_control():
    figs = {lr: fig(f"lr {lr}") for lr in (0.01, 0.1, 1.0)}
    box = explore(figs, description="learning rate", caption="Loss curve per learning rate")
    assert EXPLORE_CLASS in box._dom_classes
    control, stack, caption = box.children
    assert isinstance(control, widgets.SelectionSlider)
    assert control.options == ("0.01", "0.1", "1.0") and control.description == "learning rate"
    assert isinstance(stack, widgets.Stack) and len(stack.children) == 3
    assert all(isinstance(c, widgets.Image) and bytes(c.value).startswith(b"\x89PNG") for c in stack.children)
    assert len({bytes(c.value) for c in stack.children}) == 3
    assert "Loss curve per learning rate" in caption.value
    (link,) = links_of(box)
    assert link.source == (control, "index") and link.target == (stack, "selected_index")
    # figures handed over are closed, so Jupyter does not show them twice
    assert not any(plt.fignum_exists(f.number) for f in figs.values())
    # (jslink acts in the browser only: moving the control is tested in test_browser_site.py)


def test_explore_controls_and_initial_value():
    box = explore({"a": png("a"), "b": png("b")}, control="dropdown", initial="b")
    assert isinstance(box.children[0], widgets.Dropdown)
    assert box.children[0].index == 1 and box.children[1].selected_index == 1
    assert len(box.children) == 2  # no caption
    assert isinstance(explore({"a": png("a")}, control="buttons").children[0], widgets.ToggleButtons)


def test_explore_grid_nests_one_stack_per_axis():
    grid = {(act, n): png(f"{act} {n}") for act in ("relu", "tanh") for n in (16, 64, 256)}
    box = explore_grid(grid, descriptions=("activation", "hidden units"), controls=("dropdown", "slider"))
    c_act, c_n, outer = box.children
    assert isinstance(c_act, widgets.Dropdown) and isinstance(c_n, widgets.SelectionSlider)
    assert c_n.options == ("16", "64", "256")
    assert len(outer.children) == 2 and all(len(inner.children) == 3 for inner in outer.children)
    assert bytes(outer.children[1].children[2].value) == grid[("tanh", 256)]
    links = links_of(box)
    assert len(links) == 1 + 2  # activation -> outer stack; hidden units -> each inner stack
    assert {l.target[0].model_id for l in links if l.source[0] is c_n} == {s.model_id for s in outer.children}


def test_figure_png_passthrough_and_errors():
    data = png("x")
    assert figure_png(data) == data
    with pytest.raises(TypeError, match="PNG"):
        figure_png(b"GIF89a")
    with pytest.raises(TypeError, match="matplotlib Figure or PNG bytes"):
        figure_png("not a figure")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: explore({}), "at least one figure"),
        (lambda: explore({"a": b"\x89PNG\r\n\x1a\n"}, control="knob"), "slider"),
        (lambda: explore({1: b"\x89PNG\r\n\x1a\n", "1": b"\x89PNG\r\n\x1a\n"}), "not unique"),
        (lambda: explore({"a": b"\x89PNG\r\n\x1a\n"}, initial="z"), "initial key"),
        (lambda: explore({"a": b"\x89PNG\r\n\x1a\n" + b"0" * 100}, max_total_bytes=50), "MB of PNG"),
        (lambda: explore_grid({("a", 1): b"", ("b", 2): b""}, descriptions=("x", "y")), "incomplete"),
        (lambda: explore_grid({("a",): b""}, descriptions=("x", "y")), "tuple of 2"),
        (lambda: explore_grid({"a": b""}, descriptions=("x",)), "tuple of 1"),
        (lambda: explore_grid({("a",): b""}, descriptions=()), "one description"),
        (lambda: explore_grid({("a", 1): b""}, descriptions=("x", "y"), controls=("slider",)), "2 kinds"),
    ],
    ids=["empty", "control", "labels", "initial", "bytes", "incomplete", "keylen", "notuple", "nodesc", "kinds"],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
