"""Sphinx extension for the repgeom_lite book (loaded via ``_config.yml`` ``local_extensions``).

What it adds:

* **Offline assets.** At ``config-inited`` it runs ``tools/vendor_js.py`` so that
  require.js, the ipywidgets HTML manager and MathJax are in
  ``.cache/vendor-static/vendored/`` (fetched from the npm registry once, then
  cached), and checks that ``mathjax_path`` and ``nb_ipywidgets_js`` point at those
  local copies — a page of the built book never needs a CDN.
* **Scoreboard.** The ``repgeom-scoreboard`` directive renders one figure per
  chapter (each claim's interval against its threshold, coloured by verdict, drawn
  at build time and written as SVG into the build) and the table of every chapter's
  claims (:mod:`repgeom_lite.scoreboard`), from the build's ``claims.json`` files
  and the committed runs (:mod:`repgeom_lite.results`). The page holding it is read
  *after* every other document (so after the notebooks have executed and written
  their ``claims.json``) and is re-read on every build.
* **Chapter list.** The ``repgeom-chapters`` directive renders the chapter registry
  (title, source, expected run time per preset), linking the chapters that are in
  the table of contents.
* **Figure check.** Every image must have alt text or sit in a figure with a
  caption; otherwise a warning, which the build (``-W``) turns into an error.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

# Pages that display the scoreboard; read last and always rebuilt.
SCOREBOARD_DOCS_DEFAULT = ["book/scoreboard"]


def _load_vendor_module(srcdir: Path):
    path = srcdir / "tools" / "vendor_js.py"
    spec = importlib.util.spec_from_file_location("repgeom_vendor_js", path)
    if spec is None or spec.loader is None:  # pragma: no cover
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- vendored JS
def vendor_assets(app: Sphinx, config: Any) -> None:
    srcdir = Path(app.srcdir)
    vendor = _load_vendor_module(srcdir)
    try:
        static_dir = vendor.ensure_vendored(srcdir)
    except vendor.VendorError as err:
        raise RuntimeError(f"repgeom_book: {err}") from None
    rel_static = static_dir.relative_to(srcdir).as_posix()
    if rel_static not in [str(p) for p in config.html_static_path]:
        raise RuntimeError(
            f"repgeom_book: html_static_path must list {rel_static!r} (the vendored JavaScript)"
        )
    wanted = {
        "mathjax_path": vendor.MATHJAX_JS,
        "nb_ipywidgets_js": [vendor.REQUIRE_JS, vendor.WIDGETS_SHIM_JS, vendor.EMBED_AMD_JS],
    }
    if config.mathjax_path != wanted["mathjax_path"]:
        raise RuntimeError(
            f"repgeom_book: mathjax_path is {config.mathjax_path!r}; set it to "
            f"{wanted['mathjax_path']!r} so MathJax is served from the site"
        )
    if list(config.nb_ipywidgets_js) != wanted["nb_ipywidgets_js"]:
        raise RuntimeError(
            f"repgeom_book: nb_ipywidgets_js lists {list(config.nb_ipywidgets_js)}; it must list "
            f"{wanted['nb_ipywidgets_js']} (in that order) so widgets render offline"
        )


# --------------------------------------------------------------------------- scoreboard
def _notebooks_dir(app: Sphinx) -> Path:
    return Path(app.srcdir) / app.config.repgeom_notebooks_dir


def _chapter_docname(app: Sphinx, notebook: str) -> str:
    return f"{app.config.repgeom_notebooks_dir}/{Path(notebook).stem}"


class _MarkdownDirective(SphinxDirective):
    """Directive whose body is generated MyST Markdown."""

    has_content = False

    def markdown(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        container = nodes.container(classes=[self.name.replace(":", "-")])
        text = self.markdown()
        self.state.nested_parse(text.splitlines(), self.content_offset, container)
        return [container]

    def link(self, notebook: str, text: str) -> str:
        docname = _chapter_docname(self.env.app, notebook)
        if docname in self.env.found_docs:
            return f"{{doc}}`{text} </{docname}>`"
        return text


class ScoreboardDirective(_MarkdownDirective):
    """``repgeom-scoreboard``: one figure per chapter, then the table of every claim.

    The figures (:func:`repgeom_lite.scoreboard.chapter_figure`) are drawn at build
    time from the ``claims.json`` files and written as SVG into the build's
    ``_images/`` folder (HTML builders only); nothing is fetched.
    """

    def run(self) -> list[nodes.Node]:
        from repgeom_lite.results import COMMITTED_DIR
        from repgeom_lite.scoreboard import collect_claims, scoreboard_markdown

        app = self.env.app
        nb_dir = _notebooks_dir(app)
        rows = collect_claims(nb_dir)
        # depend on the claims files, so an incremental build notices new results
        for folder in (nb_dir / "results", COMMITTED_DIR):
            for path in sorted(folder.glob("*/claims.json")):
                self.env.note_dependency(str(path))
        container = nodes.container(classes=["repgeom-scoreboard"])
        container += self.figures(rows)
        table = scoreboard_markdown(rows, chapter_link=lambda r: self.link(r.notebook, r.chapter))
        self.state.nested_parse(table.splitlines(), self.content_offset, container)
        return [container]

    def figures(self, rows) -> list[nodes.Node]:
        """One SVG per chapter with claims, as raw HTML ``<figure>`` elements."""
        import html

        from sphinx.util.osutil import relative_uri

        from repgeom_lite.scoreboard import chapter_figure, figure_alt_text

        app = self.env.app
        if app.builder.format != "html":
            return []
        out_dir = Path(app.outdir) / "_images"
        out_dir.mkdir(parents=True, exist_ok=True)
        base = app.builder.get_target_uri(self.env.docname)
        stem = self.env.docname.replace("/", "-")
        found = []
        for chapter in dict.fromkeys(r.chapter for r in rows if r.claim_id is not None):
            fig = chapter_figure(rows, chapter)
            name = f"{stem}-claims-{chapter}.svg"
            with _deterministic_svg():
                fig.savefig(out_dir / name, format="svg", metadata={"Date": None})
            alt = html.escape(figure_alt_text(rows, chapter), quote=True)
            src = relative_uri(base, f"_images/{name}")
            found.append(
                nodes.raw(
                    "",
                    f'<figure class="repgeom-claims-figure" id="claims-figure-{chapter}">'
                    f'<img src="{src}" alt="{alt}" style="width:100%;max-width:760px" />'
                    "</figure>",
                    format="html",
                )
            )
        return found


def _deterministic_svg():
    """Same SVG bytes for the same figure (fixed ids), so rebuilt pages do not churn."""
    import matplotlib

    return matplotlib.rc_context({"svg.hashsalt": "repgeom-scoreboard"})


class ChaptersDirective(_MarkdownDirective):
    """``repgeom-chapters``: the chapter registry with run times, linking built chapters."""

    def markdown(self) -> str:
        from repgeom_lite.chapters import CHAPTERS, chapter_module
        from repgeom_lite.scoreboard import short_runtime

        lines = [
            "| Chapter | Finding | Source | Run time, small | Run time, large run |",
            "|---|---|---|---|---|",
        ]
        for cid, info in CHAPTERS.items():
            try:
                runtime = dict(getattr(chapter_module(cid), "RUNTIME", {}))
            except ImportError:
                runtime = {}
            title = self.link(info.notebook, info.title)
            if title == info.title:
                title += " *(in preparation)*"
            small = short_runtime(runtime.get("small", ""))
            small_device = small.split(", ", 1)[1] if ", " in small else None
            # the large run: `full` (one GPU) when it was run, else the CPU-sized `paper` preset
            large = short_runtime(runtime.get("full", ""), same_device=small_device)
            if large in ("not run yet", "—") and "paper" in runtime:
                paper = short_runtime(runtime["paper"], same_device=small_device)
                if paper not in ("not run yet", "—"):
                    large = f"`paper`: {paper}"
            lines.append(f"| {cid} | {title} | {info.source} | {small} | {large} |")
        return "\n".join(lines)


def read_scoreboard_last(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """Read the scoreboard pages after the notebooks (which write the claims)."""
    # (scoreboard_always_outdated has already put them in the list)
    for doc in app.config.repgeom_scoreboard_docs:
        if doc in docnames:
            docnames.remove(doc)
            docnames.append(doc)


def scoreboard_always_outdated(app: Sphinx, env: BuildEnvironment, added, changed, removed) -> list[str]:
    return [d for d in app.config.repgeom_scoreboard_docs if d in env.found_docs]


# --------------------------------------------------------------------------- figure check
def _ancestors(node: nodes.Node, cls: type) -> list[nodes.Element]:
    found = []
    parent = node.parent
    while parent is not None:
        if isinstance(parent, cls):
            found.append(parent)
        parent = parent.parent
    return found


def check_figures(app: Sphinx, doctree: nodes.document) -> None:
    """Warn about images without alt text that are not in a captioned figure."""
    docname = app.env.docname
    for img in doctree.findall(nodes.image):
        alt = (img.get("alt") or "").strip()
        captioned = any(
            isinstance(c, nodes.caption) and c.astext().strip()
            for fig in _ancestors(img, nodes.figure)
            for c in fig.children
        )
        if alt or captioned:
            continue
        hint = (
            'add to the cell metadata {"mystnb": {"image": {"alt": "..."}}} or '
            '{"mystnb": {"figure": {"caption": "..."}}}'
            if str(app.env.doc2path(docname)).endswith(".ipynb")
            else "give the image alt text or a figure caption"
        )
        logger.warning(
            f"image without alt text or caption ({img.get('uri', '?')}): {hint}",
            location=img,
            type="repgeom",
            subtype="figure",
        )


# --------------------------------------------------------------------------- page scripts
def dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Drop repeated identical <script> entries.

    Extensions that add scripts after the builder is set up (sphinx-thebe,
    sphinx-togglebutton, both loaded by Jupyter Book 1) end up listed twice; a
    repeated ``const THEBE_JS_URL = ...`` is a JavaScript error on every page.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set = set()
    unique = []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        filename = getattr(js, "filename", js) or ""  # inline scripts: None or ""
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("repgeom_scoreboard_docs", SCOREBOARD_DOCS_DEFAULT, "env")
    app.add_config_value("repgeom_notebooks_dir", "notebooks", "env")
    app.connect("config-inited", vendor_assets, priority=100)  # before Sphinx checks html_static_path
    app.add_directive("repgeom-scoreboard", ScoreboardDirective)
    app.add_directive("repgeom-chapters", ChaptersDirective)
    app.connect("env-before-read-docs", read_scoreboard_last, priority=900)
    app.connect("env-get-outdated", scoreboard_always_outdated)
    app.connect("doctree-read", check_figures)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"version": "0.1", "parallel_read_safe": False, "parallel_write_safe": True}

