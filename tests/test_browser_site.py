"""Checks of the built site, ``_build/html`` (run by ``make test`` after ``make book``).

* internal links and anchors resolve; page weight is reported and chapter pages stay
  under 5 MB (the shared ``_static`` folder, with the vendored JS, counted once);
* chapter pages open with what the reader will learn, the run time of each preset and
  Colab / .ipynb buttons pointing at that chapter's notebook; the scoreboard shows the
  claims this build produced;
* in headless Chromium, from ``file://`` with every other request aborted: no console
  errors, every image loaded, maths typeset, every embedded widget rendered and every
  explore widget interactive. Screenshots go to ``_build/screenshots/``.

Marked ``browser``: they need the built book (``make book``) and, for the last group,
Chromium — found on the PATH or installed with apt-get when running as root; skipped
with a message where neither is possible.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

from repgeom_lite.chapters import CHAPTERS
from test_book import CONFIG, REPO_URL, ROOT, toc_files

pytestmark = pytest.mark.browser

HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHAPTER_LIMIT_BYTES = 5_000_000
EXTERNAL = ("http:", "https:", "mailto:", "data:", "javascript:", "blob:", "tel:")

PAGES = toc_files()
CHAPTER_PAGES = [p for p in PAGES if p.startswith("notebooks/")]


@pytest.fixture(scope="module")
def site() -> Path:
    if not (HTML / "index.html").is_file():
        pytest.fail("no built book in _build/html: run `make book` first (make test does)")
    shutil.rmtree(SHOTS, ignore_errors=True)  # screenshots of this run only
    return HTML


def html_files(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if not p.relative_to(site).parts[0] in ("_static", "_sources"))


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


# --------------------------------------------------------------------------- links
def test_internal_links_and_anchors_resolve(site):
    ids: dict[Path, set[str]] = {}

    def anchors(path: Path) -> set[str]:
        if path not in ids:
            doc = soup(path)
            ids[path] = {t["id"] for t in doc.find_all(id=True)} | {t["name"] for t in doc.find_all("a", attrs={"name": True})}
        return ids[path]

    broken, checked = [], 0
    for page in html_files(site):
        doc = soup(page)
        refs = [(t.name, t.get("href")) for t in doc.find_all(["a", "link"], href=True)]
        refs += [(t.name, t.get("src")) for t in doc.find_all(["img", "script", "source", "iframe"], src=True)]
        for tag, ref in refs:
            ref = ref.strip()
            if not ref or ref == "#" or ref.lower().startswith(EXTERNAL) or ref.startswith("//"):
                continue
            parts = urlsplit(ref)
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: <{tag}> {ref} -> missing {target}")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in anchors(target):
                broken.append(f"{page.relative_to(site)}: <{tag}> {ref} -> no anchor #{parts.fragment}")
    assert checked > 100
    assert not broken, "broken internal links:\n" + "\n".join(broken[:50])


# --------------------------------------------------------------------------- page weight
def page_weight(site: Path, page: Path) -> tuple[int, int]:
    """(HTML bytes, bytes of the page's own images); shared _static files are not counted."""
    own = set()
    for img in soup(page).find_all(["img", "source"], src=True):
        src = img["src"]
        if src.lower().startswith(EXTERNAL):
            continue
        target = (page.parent / unquote(urlsplit(src).path)).resolve()
        if target.is_file() and "_static" not in target.relative_to(site.resolve()).parts:
            own.add(target)
    return page.stat().st_size, sum(p.stat().st_size for p in own)


def test_page_weight(site, capsys):
    rows, too_heavy = [], []
    for doc in PAGES:
        page = site / f"{doc}.html"
        html_b, img_b = page_weight(site, page)
        rows.append((doc, html_b, img_b))
        if doc in CHAPTER_PAGES and html_b + img_b > CHAPTER_LIMIT_BYTES:
            too_heavy.append(doc)
    static = site / "_static"
    vendored = sum(f.stat().st_size for f in (static / "vendored").rglob("*") if f.is_file())
    shared = sum(f.stat().st_size for f in static.rglob("*") if f.is_file())
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    lines = [f"{'page':<42} {'html':>9} {'images':>9} {'total':>9}"]
    lines += [f"{d:<42} {h / 1e3:>7.0f}kB {i / 1e3:>7.0f}kB {(h + i) / 1e6:>7.2f}MB" for d, h, i in rows]
    lines.append(f"shared _static/: {shared / 1e6:.1f} MB (vendored JS, fonts, MathJax: {vendored / 1e6:.1f} MB)")
    lines.append(f"whole site _build/html: {total / 1e6:.1f} MB")
    report = "\n".join(lines)
    (site.parent / "page_weight.txt").write_text(report + "\n")
    with capsys.disabled():
        print("\n\nPage weight (" + str(site.parent / "page_weight.txt") + ")\n" + report)
    assert not too_heavy, f"chapter pages over {CHAPTER_LIMIT_BYTES / 1e6:.0f} MB: {too_heavy}"


# --------------------------------------------------------------------------- chapter pages
def article_text_before_first_cell(page: Path) -> str:
    html = page.read_text(encoding="utf-8")
    start = html.find('<article class="bd-article"')
    assert start >= 0
    end = html.find('class="cell', start)
    return BeautifulSoup(html[start : end if end > 0 else None], "html.parser").get_text(" ").lower()


@pytest.mark.parametrize("doc", CHAPTER_PAGES)
def test_chapter_page_opening_and_buttons(site, doc):
    page = site / f"{doc}.html"
    intro = article_text_before_first_cell(page)
    assert "you will learn" in intro, f"{doc}: say what the reader will learn at the top"
    assert "run time" in intro and "small" in intro and "full" in intro, f"{doc}: give each preset's run time at the top"
    doc_html = soup(page)
    hrefs = [a["href"] for a in doc_html.find_all("a", href=True)]
    org_repo = urlsplit(REPO_URL).path.strip("/")
    colab = f"{CONFIG['launch_buttons']['colab_url']}/github/{org_repo}/blob/{CONFIG['repository']['branch']}/{doc}.ipynb"
    assert colab in hrefs, f"{doc}: no Colab button to {colab}"
    download = [h for h in hrefs if h.endswith(f"_sources/{doc}.ipynb")]
    assert download, f"{doc}: no .ipynb download button"
    assert (page.parent / download[0]).resolve().is_file()


# "The experiment on the page" (see book/how_to_run.md, "How a chapter is written").
# Every chapter, with calls that must be visible (not folded) on its page: the task, the
# networks being configured and trained, and the chapter's main measurements.
ON_THE_PAGE = {
    "notebooks/00_primer": ("train_ensemble(", "NetConfig(", "kernel_alignment("),
    "notebooks/01_tanh_vs_relu": ("train_ensemble(", "NetConfig(", "kernel_alignment("),
    "notebooks/02_delta_separability": ("train_ensemble(", "NetConfig(", "kernel_alignment("),
    "notebooks/03_hyperparameter_grid": ("dual_digits_task(", "Grid(", "run_grid(", "factor_effects(", "eta_squared("),
    "notebooks/04_underspecification": ("class_subset_task(", "train_ensemble(", "NetConfig(", "match_units(",
                                        "permutation_equivalence(", "interior_peak_test("),
    "notebooks/05_orthogonal_alignment": ("train_conv_ensemble(", "SharedResponseModel(",
                                          "pairwise_map_variance_explained(", "check_claims("),
}


@pytest.mark.parametrize("doc", sorted(ON_THE_PAGE))
def test_chapter_shows_the_experiment_on_the_page(site, doc):
    """Visible science cells, folded layout cells, no install cell, glued numbers in the prose."""
    page = soup(site / f"{doc}.html")
    cells = page.select("div.cell")
    folded = [c for c in cells if "tag_hide-input" in c.get("class", [])]
    visible = [c for c in cells if "tag_hide-input" not in c.get("class", [])]
    code = "\n".join(c.select_one("div.cell_input").get_text() for c in visible if c.select_one("div.cell_input"))
    assert folded, f"{doc}: no figure-layout cell is folded (hide-input)"
    for call in ON_THE_PAGE[doc]:
        assert call in code, f"{doc}: {call} is not a visible call on the page"
    text = page.get_text(" ")
    assert "pip install" not in text, f"{doc}: the Colab install cell is shown"
    assert "{glue" not in text, f"{doc}: a glue role was not replaced by its number"
    found = page.find(id="what-we-found")
    assert found is not None, f"{doc}: no 'What we found' section"
    assert re.search(r"\d\.\d\d", found.get_text(" ")), f"{doc}: no glued number in 'What we found'"


def test_scoreboard_shows_this_builds_claims(site):
    board = site / "book" / "scoreboard.html"
    text = soup(board).get_text(" ")
    results = ROOT / "notebooks" / "results"
    in_book = {Path(d).name for d in CHAPTER_PAGES}
    for cid, info in CHAPTERS.items():
        claims_file = results / f"{cid}_small" / "claims.json"
        if Path(info.notebook).stem in in_book and cid != "00":
            assert claims_file.is_file(), f"chapter {cid} is in the book but wrote no {claims_file}"
        if not claims_file.is_file():
            continue
        data = json.loads(claims_file.read_text())
        assert board.stat().st_mtime >= claims_file.stat().st_mtime, "scoreboard page older than the claims"
        for c in data["claims"]:
            # Sphinx's smartquotes turn ' and " into typographic quotes on the page
            plain = text.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'}))
            assert " ".join(c["statement"].split()) in plain, f"claim {c['id']} of chapter {cid} not on the scoreboard"
    assert "Verdict" in text
    # one figure per chapter with claims (drawn at build time, SVG in the site), each with alt text
    figs = [img for img in soup(board).find_all("img") if "scoreboard-claims-" in img.get("src", "")]
    assert figs and all(img.get("alt") for img in figs)
    assert all((board.parent / img["src"]).is_file() for img in figs)
    front = soup(site / "book" / "intro.html")
    assert any(a["href"].endswith("scoreboard.html") for a in front.find_all("a", href=True))


# --------------------------------------------------------------------------- headless Chromium
def _works(exe: str | None) -> bool:
    if not exe or not Path(exe).exists():
        return False
    try:
        return subprocess.run([exe, "--version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def find_chromium() -> str | None:
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    candidates = [os.environ.get("CHROMIUM")] + [shutil.which(n) for n in names]
    return next((c for c in candidates if _works(c)), None)


def install_chromium() -> str:
    """apt-get install chromium (Debian), as root or with passwordless sudo. Returns a log line."""
    if not shutil.which("apt-get"):
        return "no apt-get on this machine"
    if os.geteuid() == 0:
        prefix = []
    elif shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        prefix = ["sudo", "-n"]
    else:
        return "not root and no passwordless sudo, so apt-get cannot install chromium"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    t0 = time.perf_counter()
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        proc = subprocess.run(prefix + cmd, capture_output=True, text=True, env=env, timeout=900)
        if proc.returncode != 0:
            return f"`{' '.join(cmd)}` failed: {proc.stderr.strip()[-300:]}"
    return f"installed chromium with apt-get in {time.perf_counter() - t0:.0f} s"


@pytest.fixture(scope="session")
def chromium() -> str:
    exe = find_chromium()
    if exe is None:
        note = install_chromium()
        exe = find_chromium()
        if exe is None:
            pytest.skip(f"headless Chromium not available and not installable here ({note}); "
                        "install chromium or set CHROMIUM=/path/to/chrome to run the browser checks")
        print(f"\n[browser] {note}")
    return exe


@pytest.fixture(scope="module")
def browser(chromium):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class PageLog:
    """A page opened offline: console errors, page errors, failed and blocked requests."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000})
        self.blocked: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            return route.continue_()
        self.blocked.append(url)
        return route.abort()

    def close(self):
        self.context.close()


VISIBLE_IMAGES = """box => Array.from(box.querySelectorAll('img'))
    .filter(i => i.offsetParent !== null && i.complete && i.naturalWidth > 0).map(i => i.src)"""


def move_control(page, box, control) -> str:
    """Change one explore control to another value; return what was done."""
    handle = control.locator(".noUi-handle")
    if handle.count():
        now = int(float(handle.first.get_attribute("aria-valuenow")))
        top = int(float(handle.first.get_attribute("aria-valuemax")))
        handle.first.focus()
        page.keyboard.press("ArrowLeft" if now >= top else "ArrowRight")
        return "slider"
    select = control.locator("select")
    if select.count():
        n = select.first.locator("option").count()
        current = select.first.evaluate("s => s.selectedIndex")
        select.first.select_option(index=(current + 1) % n)
        return "dropdown"
    buttons = control.locator("button:not(.mod-active)")
    if buttons.count():
        buttons.first.click()
        return "buttons"
    raise AssertionError(f"unknown explore control: {control.inner_html()[:200]}")


def check_explore_widgets(page) -> int:
    boxes = page.locator(".repgeom-explore")
    moved = 0
    for i in range(boxes.count()):
        box = boxes.nth(i)
        box.scroll_into_view_if_needed()
        controls = box.locator(".repgeom-explore-control")
        assert controls.count() >= 1
        for j in range(controls.count()):
            before = box.evaluate(VISIBLE_IMAGES)
            assert len(before) == 1, f"explore widget {i}: expected one visible image, got {before}"
            kind = move_control(page, box, controls.nth(j))
            deadline = time.time() + 10
            while box.evaluate(VISIBLE_IMAGES) == before and time.time() < deadline:
                page.wait_for_timeout(100)
            after = box.evaluate(VISIBLE_IMAGES)
            assert len(after) == 1 and after != before, f"explore widget {i}: moving its {kind} did not change the figure"
            moved += 1
    return moved


def check_page(page, *, require_math: bool = False) -> dict:
    # MathJax 3 (deferred) typesets after load
    page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=30_000)
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => true) : true")
    n_math = page.locator("span.math, div.math").count()
    n_typeset = page.locator("span.math mjx-container, div.math mjx-container").count()
    assert n_typeset >= n_math, f"{n_math - n_typeset} of {n_math} maths elements not typeset"
    assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    if require_math:
        assert page.locator("mjx-container").count() > 0, "no typeset maths on this page"
    # embedded widgets: one rendered view per view script, no error widget
    n_views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if n_views:
        page.wait_for_function(
            f"() => document.querySelectorAll('.widget-subarea > *').length >= {n_views}", timeout=30_000
        )
        assert page.locator(".jupyter-widgets-error-widget").count() == 0, "a widget failed to render"
    moved = check_explore_widgets(page)
    # every @font-face file the page's stylesheets name exists (the browser fetches a font
    # only when some text needs it, so a wrong font URL shows up as a failed request only
    # sometimes; this checks all of them every time)
    fonts = page.evaluate(r"""() => {
      const out = [];
      for (const sheet of document.styleSheets) {
        let rules;
        try { rules = sheet.cssRules; } catch (e) { continue; }
        for (const r of rules) {
          if (!(r instanceof CSSFontFaceRule)) continue;
          for (const m of r.style.getPropertyValue("src").matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/g)) {
            if (!m[1].startsWith("data:")) out.push(new URL(m[1], sheet.href || document.baseURI).href);
          }
        }
      }
      return out;
    }""")
    missing = sorted({u for u in fonts if u.startswith("file:") and not Path(unquote(urlsplit(u).path)).is_file()})
    assert not missing, f"@font-face files that do not exist: {missing}"
    # every image loaded
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert not broken, f"images that did not load: {broken}"
    return {"math": n_typeset, "widgets": n_views, "explore_moves": moved, "images": page.locator("img").count()}


def screenshot_name(doc: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / (doc.replace("/", "__") + ".png")


@pytest.mark.parametrize("doc", ["index", *PAGES])
def test_page_in_headless_chromium_offline(site, browser, doc, capsys):
    log = PageLog(browser)
    try:
        log.page.goto((site / f"{doc}.html").as_uri(), wait_until="load", timeout=60_000)
        if doc == "index":  # the redirect to the front page
            log.page.wait_for_url(re.compile(r".*/book/intro\.html$"), timeout=30_000)
        stats = check_page(log.page, require_math=(doc == "book/methods"))
        log.page.screenshot(path=str(screenshot_name(doc)), full_page=True)
        with capsys.disabled():
            print(f"\n[browser] {doc}: {stats}; screenshot {screenshot_name(doc).relative_to(ROOT)}", end="")
        assert not log.blocked, f"the page tried to reach the network: {log.blocked}"
        assert not log.failed, f"failed requests: {log.failed}"
        assert not log.errors, "JavaScript errors:\n" + "\n".join(log.errors)
    finally:
        log.close()


def test_explore_widget_is_interactive_without_a_kernel(site, browser, tmp_path):
    """repgeom_lite.widgets.explore / explore_grid, embedded the way the book embeds them."""
    import ipywidgets
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ipywidgets.embed import embed_data

    from repgeom_lite.widgets import explore, explore_grid

    def fig(a, b=0):
        f, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1, 2], [0, a, b])
        ax.set_title(f"a={a} b={b}")
        return f

    boxes = [
        explore({a: fig(a) for a in (1, 2, 3)}, description="a", caption="Line per a."),
        explore_grid({(a, b): fig(a, b) for a in (1, 2) for b in (0, 5, 9)}, descriptions=("a", "b"),
                     controls=("dropdown", "slider"), caption="Line per a and b."),
        explore({"x": fig(7), "y": fig(8)}, description="which", control="buttons"),
    ]
    data = embed_data(views=boxes)
    vendored = (site / "_static" / "vendored").as_uri()
    views = "\n".join(
        f'<div class="cell_output"><script type="application/vnd.jupyter.widget-view+json">{json.dumps(v)}</script></div>'
        for v in data["view_specs"]
    )
    page_html = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>explore widgets</title>
<script src="{vendored}/requirejs/require.js"></script>
<script src="{vendored}/widgets-offline.js"></script>
<script src="{vendored}/html-manager/dist/embed-amd.js"></script>
<script type="application/vnd.jupyter.widget-state+json">{json.dumps(data["manager_state"])}</script>
</head><body>{views}</body></html>"""
    page_path = tmp_path / "explore.html"
    page_path.write_text(page_html)
    log = PageLog(browser)
    try:
        log.page.goto(page_path.as_uri(), wait_until="load")
        stats = check_page(log.page)
        log.page.screenshot(path=str(screenshot_name("widgets_explore_demo")), full_page=True)
        assert stats["widgets"] == 3 and stats["explore_moves"] == 1 + 2 + 1
        assert not log.blocked and not log.failed and not log.errors, (log.blocked, log.failed, log.errors)
    finally:
        log.close()
    assert ipywidgets.__version__.startswith("8.")
