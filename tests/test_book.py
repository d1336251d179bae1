"""The book's configuration, table of contents, chapter conventions and JS vendoring.

Fast checks on the sources (no build). The built site is checked by
``test_browser_site.py`` (marker ``browser``), the build's failure modes by
``test_book_build.py``.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import re
import sys
import tarfile
from pathlib import Path

import nbformat
import pytest
import yaml

from repgeom_lite.chapters import CHAPTERS

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]


def _load_vendor():
    spec = importlib.util.spec_from_file_location("vendor_js_under_test", ROOT / "tools" / "vendor_js.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


vendor_js = _load_vendor()


def toc_files(toc=TOC) -> list[str]:
    files = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                files.append(e["file"])
            walk(e.get("sections"))
            walk(e.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def chapter_notebooks() -> list[Path]:
    """Chapter notebooks that exist (the registry's, not the throwaway ``_demo_*``)."""
    return [ROOT / "notebooks" / c.notebook for c in CHAPTERS.values() if (ROOT / "notebooks" / c.notebook).exists()]


# --------------------------------------------------------------------------- _config.yml
def test_execution_settings():
    ex = CONFIG["execute"]
    assert ex["execute_notebooks"] == "force"
    assert ex["allow_errors"] is False
    assert ex["timeout"] >= 600
    assert ex["run_in_temp"] is False  # cwd = notebook folder -> notebooks/results/<id>_small/
    assert CONFIG["only_build_toc_files"] is True
    for pattern in (".venv", "_build", "src", "tests", ".cache"):
        assert pattern in CONFIG["exclude_patterns"]


def test_offline_assets_point_at_vendored_copies():
    cfg = CONFIG["sphinx"]["config"]
    assert cfg["html_static_path"] == [vendor_js.STATIC_DIR.as_posix()]
    assert "_static" not in vendor_js.STATIC_DIR.parts  # JB1 would inject every .js below a _static folder
    assert cfg["mathjax_path"] == vendor_js.MATHJAX_JS
    assert list(cfg["nb_ipywidgets_js"]) == [vendor_js.REQUIRE_JS, vendor_js.WIDGETS_SHIM_JS, vendor_js.EMBED_AMD_JS]
    for path in [cfg["mathjax_path"], *cfg["nb_ipywidgets_js"]]:
        assert not path.startswith(("http:", "https:", "//"))


def test_launch_buttons_and_repository():
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPO_URL)
    assert CONFIG["repository"]["branch"] == "main"
    assert CONFIG["repository"]["path_to_book"] == ""


def test_warnings_are_errors_in_the_book_command():
    makefile = (ROOT / "Makefile").read_text()
    line = next(l for l in makefile.splitlines() if "jupyter-book build" in l)
    for flag in ("--warningiserror", "--nitpick", "--all", "--keep-going"):
        assert flag in line
    assert CONFIG["sphinx"]["config"]["nitpicky"] is True


def test_pages_workflow_builds_with_the_book_command():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = [s.get("run", "") for job in wf["jobs"].values() for s in job.get("steps", [])]
    assert any(s.strip() == "make book" for s in steps)
    uses = [s.get("uses", "") for job in wf["jobs"].values() for s in job.get("steps", [])]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)
    on = wf.get("on", wf.get(True))  # PyYAML reads a bare `on:` key as True
    assert on["push"]["branches"] == ["main"]


# --------------------------------------------------------------------------- repository URL
URL_RE = re.compile(r"https://github\.com/repgeom-lite/[\w.-]+|git\+https://[^\s\"']+")


@pytest.mark.parametrize("path", ["book/how_to_run.md", "book/intro.md", "README.md", "pyproject.toml"])
def test_repository_url_is_the_configured_one(path):
    """The URL lives in _config.yml; wherever it is repeated in prose it must match."""
    text = (ROOT / path).read_text()
    for m in URL_RE.finditer(text):
        url = m.group(0).removeprefix("git+").rstrip(".")
        assert url == REPO_URL, f"{path}: {url} differs from _config.yml repository.url {REPO_URL}"


INSTALL_RE = re.compile(
    r"try:\s*\n\s+import repgeom_lite\s*\nexcept ImportError:\s*\n"
    r"\s+%pip install -q \"repgeom-lite @ git\+(?P<url>[^\"]+)\"\s*$"
)


def install_cell_url(nb) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "code" and "import repgeom_lite" in cell.source and "%pip" in cell.source:
            m = INSTALL_RE.search(cell.source.strip())
            assert m, f"install cell does not follow the standard form:\n{cell.source}"
            assert "torch" not in cell.source, "the install cell must never (re)install torch"
            return m.group("url")
    return None


def test_install_cell_pattern_matches_the_standard_form():
    cell = nbformat.v4.new_code_cell(
        f'try:\n    import repgeom_lite\nexcept ImportError:\n    %pip install -q "repgeom-lite @ git+{REPO_URL}"'
    )
    assert install_cell_url(nbformat.v4.new_notebook(cells=[cell])) == REPO_URL


@pytest.mark.parametrize("nb_path", chapter_notebooks(), ids=lambda p: p.name)
def test_chapter_install_cell_uses_the_configured_url(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    assert install_cell_url(nb) == REPO_URL


@pytest.mark.parametrize("nb_path", chapter_notebooks(), ids=lambda p: p.name)
def test_chapter_opens_with_what_you_learn_and_run_times(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown").source.lower()
    assert first.lstrip().startswith("# "), "the first markdown cell starts with the chapter title"
    assert "you will learn" in first, "say what the reader will learn in the first markdown cell"
    assert "run time" in first and "small" in first and "full" in first, (
        "give the expected run time of the small and the full preset in the first markdown cell"
    )


# --------------------------------------------------------------------------- _toc.yml
def test_toc_files_exist():
    for f in toc_files():
        candidates = [ROOT / f"{f}{ext}" for ext in ("", ".md", ".ipynb")]
        assert any(c.is_file() for c in candidates), f"_toc.yml lists {f}, which does not exist"


def test_toc_lists_every_existing_chapter_in_order():
    files = toc_files()
    listed = [f for f in files if f.startswith("notebooks/") and not Path(f).name.startswith("_demo_")]
    existing = [f"notebooks/{p.stem}" for p in chapter_notebooks()]
    assert listed == existing, (
        "every chapter notebook in notebooks/ must be in _toc.yml, in chapter order "
        f"(missing: {sorted(set(existing) - set(listed))}, extra: {sorted(set(listed) - set(existing))})"
    )


def test_toc_has_the_book_pages():
    files = toc_files()
    assert files[0] == "book/intro"
    for page in ("book/how_to_run", "book/methods", "book/scoreboard", "book/references"):
        assert page in files
    assert CONFIG["sphinx"]["config"]["repgeom_scoreboard_docs"] == ["book/scoreboard"]


def test_methods_defines_every_metric():
    text = (ROOT / "book" / "methods.md").read_text()
    for heading in (
        "Kernel alignment",
        "Parallelism score",
        "CCGP",
        "Dichotomy decoding",
        "vector field",
        "RSA",
        "APC and PE",
        "Procrustes",
        "Shared response model",
        "Training engine",
    ):
        assert re.search(rf"^## .*{re.escape(heading)}", text, re.M | re.I), heading


def test_every_citation_is_in_the_bibliography():
    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, re.M))
    for required in (
        "alleman2024task",
        "devolder_hyperparameters",
        "fowler2022underspecification",
        "lu2018shared",
        "chen2015reduced",
        "kornblith2019similarity",
        "bernardi2020geometry",
        "kriegeskorte2008representational",
        "song2012feature",
    ):
        assert required in keys
    for page in (ROOT / "book").glob("*.md"):
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", page.read_text()):
            for key in group.split(","):
                assert key.strip() in keys, f"{page.name} cites unknown key {key}"


# --------------------------------------------------------------------------- vendoring
def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_pinned_packages_are_exact_versions():
    for pkg in vendor_js.PACKAGES:
        assert re.fullmatch(r"\d+\.\d+\.\d+", pkg.version), pkg
        assert pkg.integrity.startswith("sha512-")
    assert vendor_js.Package("@a/b", "1.0.0", "", "t", ()).tarball_name == "a-b-1.0.0.tgz"
    assert (
        vendor_js.Package("@a/b", "1.0.0", "", "t", ()).registry_url("https://r.example/")
        == "https://r.example/@a/b/-/b-1.0.0.tgz"
    )


def test_integrity_check():
    data = b"hello"
    vendor_js.check_integrity(data, _integrity(data))
    with pytest.raises(vendor_js.VendorError, match="integrity mismatch"):
        vendor_js.check_integrity(b"other", _integrity(data))
    with pytest.raises(vendor_js.VendorError, match="unsupported"):
        vendor_js.check_integrity(data, "sha1-xyz")


def test_extract_keeps_only_wanted_files(tmp_path):
    pkg = vendor_js.Package("x", "1.0.0", "", "x", include=("dist/*", "LICENSE"), exclude=("*.map",))
    data = _tarball({"dist/a.js": b"a", "dist/a.js.map": b"m", "LICENSE": b"l", "src/b.ts": b"b", "../evil": b"e"})
    assert vendor_js.extract(pkg, data, tmp_path) == 2
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "LICENSE",
        "dist/a.js",
    ]
    with pytest.raises(vendor_js.VendorError, match="no files matched"):
        vendor_js.extract(vendor_js.Package("y", "1", "", "y", include=("nothing",)), data, tmp_path / "y")


def test_ensure_vendored_offline_from_cache_and_http_fallback(tmp_path, monkeypatch):
    """Fetch once (HTTP fallback, here from a file:// 'registry'), then work from the cache."""
    data = _tarball({"dist/main.js": b"console.log(1)", "LICENSE": b"MIT"})
    pkg = vendor_js.Package("demo", "1.2.3", _integrity(data), "demo", include=("dist/*", "LICENSE"))
    registry = tmp_path / "registry"
    (registry / "demo" / "-").mkdir(parents=True)
    (registry / "demo" / "-" / "demo-1.2.3.tgz").write_bytes(data)
    monkeypatch.setattr(vendor_js, "PACKAGES", (pkg,))
    monkeypatch.setattr(vendor_js, "ENTRY_POINTS", ("vendored/demo/dist/main.js", vendor_js.WIDGETS_SHIM_JS))
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", registry.as_uri())
    monkeypatch.setattr(vendor_js.shutil, "which", lambda name: None)  # no npm: HTTP fallback

    root = tmp_path / "repo"
    static = vendor_js.ensure_vendored(root)
    assert static == root / ".cache" / "vendor-static"
    assert (static / "vendored" / "demo" / "dist" / "main.js").read_bytes() == b"console.log(1)"
    assert (static / vendor_js.WIDGETS_SHIM_JS).read_text() == vendor_js.WIDGETS_SHIM
    assert vendor_js.is_complete(static)

    # complete: a second call needs neither the registry nor the tarball cache
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", (tmp_path / "nowhere").as_uri())
    vendor_js.ensure_vendored(root)
    # incomplete but cached: re-extracted from the cache, still without the registry
    (static / "vendored" / "demo" / "dist" / "main.js").unlink()
    vendor_js.ensure_vendored(root)
    assert vendor_js.is_complete(static)
    # a corrupt cached tarball is refetched; with no registry that is a clear error
    (root / ".cache" / "npm" / "demo-1.2.3.tgz").write_bytes(b"garbage")
    with pytest.raises(vendor_js.VendorError, match="cannot fetch demo@1.2.3"):
        vendor_js.ensure_vendored(root, force=True)


def test_widgets_shim_is_plain_es5_compatible():
    shim = vendor_js.WIDGETS_SHIM
    assert "require.config" in shim and "MathJax" in shim
    assert "=>" not in shim  # runs before anything else on the page; keep it conservative
