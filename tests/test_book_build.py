"""The book build fails (non-zero exit) on a failing cell and on broken references or figures.

Each test builds a two-page book in a temporary folder with the project's own
``_config.yml``, Sphinx extension and vendored JS (the same flags as ``make book``),
so it checks the real settings: ``allow_errors: false``, warnings as errors,
nitpicky references, the figure alt-text check and the scoreboard page order.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")
FLAGS = ["--all", "--warningiserror", "--nitpick", "--keep-going"]

pytestmark = pytest.mark.slow


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text)


def code(src: str, **mystnb) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(src)
    if mystnb:
        cell.metadata["mystnb"] = mystnb
    return cell


PLOT = "import matplotlib.pyplot as plt\nplt.plot([0, 1]); plt.show()"


def mini_book(tmp_path: Path, pages: dict[str, str | nbformat.NotebookNode], chapters: list[str]) -> Path:
    """A book with the project's configuration; ``pages`` maps paths to Markdown text or notebooks."""
    book = tmp_path / "book_src"
    (book / "book").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    shutil.copytree(ROOT / "book" / "_ext", book / "book" / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "book" / "references.bib", book / "book" / "references.bib")
    (book / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "vendor_js.py", book / "tools" / "vendor_js.py")
    # the vendored JS: fetched (or found) once in the project's cache, shared here
    assert subprocess.run([sys.executable, str(ROOT / "tools" / "vendor_js.py"), "--root", str(ROOT)]).returncode == 0
    os.symlink(ROOT / ".cache", book / ".cache")
    for rel, content in pages.items():
        path = book / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            nbformat.write(content, path)
    toc = ["format: jb-book", "root: book/index", "chapters:"] + [f"  - file: {c}" for c in chapters]
    (book / "_toc.yml").write_text("\n".join(toc) + "\n")
    return book


def build(book: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(JUPYTER_BOOK), "build", str(book), *FLAGS],
        capture_output=True, text=True, timeout=600, cwd=book,
    )


INDEX = "# Mini book\n\nSee {doc}`scoreboard`.\n"
SCOREBOARD = "# Scoreboard\n\n```{repgeom-scoreboard}\n```\n"
CLAIMS = (
    "from repgeom_lite.claims import ClaimSpec, check_claims\n"
    "spec = {'c': ClaimSpec('mini claim holds', {'small': 0.5})}\n"
    "check_claims('01', 'small', {'c': 0.75}, seeds=[0], wall_time_s=1.0, device='cpu test',\n"
    "             output_dir='results/01_small', specs=spec)"
)


def test_good_book_builds_and_scoreboard_sees_this_builds_claims(tmp_path):
    book = mini_book(
        tmp_path,
        {
            "book/index.md": INDEX,
            "book/scoreboard.md": SCOREBOARD,
            # "notebooks/..." sorts after "book/...": the scoreboard must still be read last
            "notebooks/01_tanh_vs_relu.ipynb": notebook(
                md("# Chapter\n\nMaths $x^2$."),
                code(PLOT, image={"alt": "A rising line."}),
                code(PLOT, figure={"caption": "A rising line.", "name": "fig-line"}),
                code(CLAIMS),
            ),
        },
        ["notebooks/01_tanh_vs_relu", "book/scoreboard"],
    )
    proc = build(book)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    claims = json.loads((book / "notebooks" / "results" / "01_small" / "claims.json").read_text())
    assert claims["claims"][0]["value"] == 0.75
    html = (book / "_build" / "html" / "book" / "scoreboard.html").read_text()
    assert "mini claim holds" in html and "0.75 (&gt; 0.5)" in html
    chapter = (book / "_build" / "html" / "notebooks" / "01_tanh_vs_relu.html").read_text()
    assert 'alt="A rising line."' in chapter and "<figcaption>" in chapter
    # the chapter cell links to the chapter page, which is in this book
    assert 'href="../notebooks/01_tanh_vs_relu.html"' in html


def test_failing_cell_and_bad_references_fail_the_build(tmp_path):
    book = mini_book(
        tmp_path,
        {
            "book/index.md": INDEX + "\nA {doc}`missing page <does_not_exist>`.\n\n![A missing figure](nowhere.png)\n",
            "book/scoreboard.md": SCOREBOARD,
            "notebooks/a_fails.ipynb": notebook(md("# Fails"), code("raise ValueError('boom in a cell')")),
            "notebooks/b_no_alt.ipynb": notebook(md("# No alt"), code(PLOT)),
        },
        ["notebooks/a_fails", "notebooks/b_no_alt", "book/scoreboard"],
    )
    proc = build(book)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "boom in a cell" in log or "CellExecutionError" in log or "Executing notebook failed" in log
    assert "does_not_exist" in log  # unknown document
    assert "nowhere.png" in log  # missing image
    assert "image without alt text or caption" in log  # the project's figure check
