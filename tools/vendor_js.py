#!/usr/bin/env python3
"""Vendor the book's JavaScript so that the built site works with no network.

The static HTML book needs three things that Sphinx, MyST-NB and ipywidgets would
otherwise load from CDNs: require.js, the ipywidgets HTML manager
(``@jupyter-widgets/html-manager``, ``embed-amd.js`` plus its fonts) and MathJax 3.
This script fetches pinned versions from the npm registry (``npm pack``; plain
HTTPS download of the same tarball when npm is missing), checks each tarball's
sha512 integrity, caches it under ``.cache/npm/`` and extracts the files the site
needs into ``.cache/vendor-static/vendored/``. ``_config.yml`` lists
``.cache/vendor-static`` in ``html_static_path``, so the files end up in
``_build/html/_static/vendored/`` and ``mathjax_path`` / ``nb_ipywidgets_js`` point
there. (The folder must not be called ``_static``: Jupyter Book 1 would inject
every ``.js`` file below it into every page.)

Run by the book's Sphinx extension (``book/_ext/repgeom_book.py``) before each
build; a second run with a complete cache does nothing and needs no network.
Standalone: ``python tools/vendor_js.py [--root DIR] [--force]``.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CACHE_DIR = Path(".cache/npm")  # downloaded tarballs (relative to the repository root)
STATIC_DIR = Path(".cache/vendor-static")  # listed in html_static_path
VENDOR_SUBDIR = "vendored"  # -> _build/html/_static/vendored/ (the theme already uses _static/vendor/)
MANIFEST = "MANIFEST.json"
DEFAULT_REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Package:
    """One pinned npm package and the files of it that the site serves.

    ``include`` / ``exclude`` are glob patterns on paths inside the tarball's
    ``package/`` folder; ``target`` is the folder under ``_static/vendored/``.
    """

    name: str
    version: str
    integrity: str  # npm's "sha512-<base64>" of the tarball
    target: str
    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:
        # npm pack names scoped packages "scope-name-version.tgz"
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    def registry_url(self, registry: str = DEFAULT_REGISTRY) -> str:
        base = self.name.split("/")[-1]
        return f"{registry.rstrip('/')}/{self.name}/-/{base}-{self.version}.tgz"

    def wanted(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, p) for p in self.include) and not any(
            fnmatch.fnmatchcase(path, p) for p in self.exclude
        )


# Versions: require.js and the widget manager are the ones MyST-NB 1.4 would load from
# its CDN defaults (html-manager 1.x renders ipywidgets 8 state); MathJax 3 is what
# Sphinx 7.4 loads by default (its tex-mml-chtml component).
PACKAGES: tuple[Package, ...] = (
    Package(
        name="requirejs",
        version="2.3.4",
        integrity="sha512-qPD5gRrj6kGQ0ZySAJgqbArkaDqPMbQIT0zSZDkIv1mfA17w/tR2Faq5l2qqRf2CdQx6FWln9nUrgd2UDzb19A==",
        target="requirejs",
        include=("require.js", "README.md"),
    ),
    Package(
        name="@jupyter-widgets/html-manager",
        version="1.0.6",
        integrity="sha512-+Mn+Ra8wyIHrYaUpfmf9A3dsLkt/NuwzPQN8sthdxBD35VV5cOJbpmgMhNR27n/rmP3mKyEe0PWCJrtZrXTXDQ==",
        target="html-manager",
        # embed-amd.js and the font files it loads relative to itself
        include=("LICENSE", "dist/*"),
        exclude=("*.map", "dist/embed.js", "dist/libembed-amd.js", "dist/*.embed.js"),
    ),
    Package(
        name="mathjax",
        version="3.2.2",
        integrity="sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        target="mathjax",
        # the tex-mml-chtml component and everything it may load lazily (TeX extensions,
        # CHTML fonts, menu, accessibility incl. the speech-rule engine, SVG output
        # selectable from the menu)
        include=("LICENSE", "es5/*"),
        exclude=(
            "es5/tex-chtml.js",
            "es5/tex-chtml-full*.js",
            "es5/tex-svg*.js",
            "es5/tex-mml-svg.js",
            "es5/mml-*.js",
            "es5/node-main.js",
            "es5/adaptors/*",
        ),
    ),
)

# The files the book's _config.yml points at (relative to _static/); checked by the
# Sphinx extension and the tests.
REQUIRE_JS = f"{VENDOR_SUBDIR}/requirejs/require.js"
WIDGETS_SHIM_JS = f"{VENDOR_SUBDIR}/widgets-offline.js"
EMBED_AMD_JS = f"{VENDOR_SUBDIR}/html-manager/dist/embed-amd.js"
MATHJAX_JS = f"{VENDOR_SUBDIR}/mathjax/es5/tex-mml-chtml.js"
ENTRY_POINTS = (REQUIRE_JS, WIDGETS_SHIM_JS, EMBED_AMD_JS, MATHJAX_JS)

# Loaded between require.js and embed-amd.js (see nb_ipywidgets_js in _config.yml).
WIDGETS_SHIM = """\
// Written by tools/vendor_js.py. Makes the vendored ipywidgets HTML manager work offline
// next to MathJax 3, on pages at any depth of the site.
(function () {
  // 1. Each AMD module of embed-amd.js ("@jupyter-widgets/base", "/controls",
  //    "/html-manager" and "/html-manager/dist/libembed-amd") loads the icon fonts
  //    relative to its own module URL; without a path, require.js resolves those names
  //    against the page's folder (a missing @jupyter-widgets/*.woff2 next to the page).
  //    Map every one of them into the vendored dist/ folder, where the fonts are.
  var here = document.currentScript && document.currentScript.src;
  if (here && window.require && window.require.config) {
    var dist = here.replace(/[^/]*$/, "") + "html-manager/dist";
    window.require.config({
      paths: {
        "@jupyter-widgets/html-manager/dist": dist,
        "@jupyter-widgets/html-manager": dist + "/html-manager",
        "@jupyter-widgets/controls": dist + "/controls",
        "@jupyter-widgets/base": dist + "/base",
      },
    });
  }
  // 2. Widgets typeset their labels with the MathJax 2 API (MathJax.Hub.Queue);
  //    the book loads MathJax 3. Bridge the one call once MathJax 3 has loaded
  //    (it is a deferred script, so it has run by DOMContentLoaded; widgets render
  //    at window load, later).
  document.addEventListener("DOMContentLoaded", function () {
    var MJ = window.MathJax;
    if (!MJ || MJ.Hub || !MJ.version || MJ.version.charAt(0) !== "3") return;
    MJ.Hub = {
      Queue: function (cmd) {
        if (!cmd || cmd[0] !== "Typeset" || !MJ.typesetPromise) return;
        var el = cmd[2];
        (MJ.startup && MJ.startup.promise ? MJ.startup.promise : Promise.resolve())
          .then(function () { return MJ.typesetPromise(el ? [el] : undefined); })
          .catch(function (err) { console.warn("MathJax typeset of a widget failed", err); });
      },
    };
  });
})();
"""


class VendorError(RuntimeError):
    """The JavaScript could not be vendored (no cache and no registry, or a bad tarball)."""


def _log(msg: str) -> None:
    print(f"[vendor_js] {msg}", file=sys.stderr, flush=True)


def check_integrity(data: bytes, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    if algo != "sha512":
        raise VendorError(f"unsupported integrity algorithm {algo!r}")
    got = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if got != expected:
        raise VendorError(f"integrity mismatch: expected sha512-{expected}, got sha512-{got}")


def _registry() -> str:
    return os.environ.get("NPM_CONFIG_REGISTRY") or os.environ.get("npm_config_registry") or DEFAULT_REGISTRY


def _fetch_with_npm(pkg: Package, dest: Path) -> Path:
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        subprocess.run(
            ["npm", "pack", pkg.spec, "--pack-destination", tmp, "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=300,
        )
        produced = list(Path(tmp).glob("*.tgz"))
        if len(produced) != 1:
            raise VendorError(f"npm pack {pkg.spec} produced {produced}")
        final = dest / pkg.tarball_name
        os.replace(produced[0], final)
        return final


def _fetch_with_http(pkg: Package, dest: Path) -> Path:
    url = pkg.registry_url(_registry())
    with urllib.request.urlopen(url, timeout=120) as resp:  # noqa: S310 (https registry URL)
        data = resp.read()
    final = dest / pkg.tarball_name
    tmp = final.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, final)
    return final


def fetch_tarball(pkg: Package, cache_dir: Path, *, use_npm: bool | None = None) -> bytes:
    """Return the package's tarball bytes, from the cache or the registry; integrity-checked."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / pkg.tarball_name
    if path.exists():
        data = path.read_bytes()
        try:
            check_integrity(data, pkg.integrity)
            return data
        except VendorError:
            _log(f"cached {path.name} is corrupt; fetching it again")
            path.unlink()
    if use_npm is None:
        use_npm = shutil.which("npm") is not None
    t0 = time.perf_counter()
    try:
        path = _fetch_with_npm(pkg, cache_dir) if use_npm else _fetch_with_http(pkg, cache_dir)
    except (OSError, subprocess.SubprocessError) as err:
        raise VendorError(
            f"cannot fetch {pkg.spec} from the npm registry ({err}); the book needs it to "
            f"work offline. Connect once (the tarball is cached in {cache_dir}) or copy "
            f"{pkg.tarball_name} there."
        ) from err
    data = path.read_bytes()
    try:
        check_integrity(data, pkg.integrity)
    except VendorError as err:
        path.unlink()
        raise VendorError(f"{pkg.spec}: {err}") from None
    _log(f"fetched {pkg.spec} ({len(data) / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    return data


def extract(pkg: Package, data: bytes, dest: Path) -> int:
    """Extract the wanted files of ``pkg`` into ``dest`` (a fresh folder); return the count."""
    n = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            top, _, rel = member.name.partition("/")
            if not rel or ".." in Path(rel).parts or Path(rel).is_absolute():
                continue
            if not pkg.wanted(rel):
                continue
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src:  # type: ignore[union-attr]
                out.write_bytes(src.read())
            n += 1
    if n == 0:
        raise VendorError(f"{pkg.spec}: no files matched {pkg.include}")
    return n


def _manifest() -> dict:
    return {
        "shim_sha256": hashlib.sha256(WIDGETS_SHIM.encode()).hexdigest(),
        "packages": [
            {"name": p.name, "version": p.version, "integrity": p.integrity, "target": p.target}
            for p in PACKAGES
        ]
    }


def is_complete(static_dir: Path) -> bool:
    vendor = static_dir / VENDOR_SUBDIR
    try:
        manifest = json.loads((vendor / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return manifest == _manifest() and all(
        (static_dir / e).is_file() for e in ENTRY_POINTS
    )


def ensure_vendored(root: str | os.PathLike = ".", *, force: bool = False) -> Path:
    """Make ``<root>/.cache/vendor-static/vendored/`` hold every pinned package.

    Returns the static folder (``<root>/.cache/vendor-static``) to list in
    ``html_static_path``. Does nothing when it is already complete (no network).

    Raises
    ------
    VendorError
        When a package is neither cached nor fetchable, or fails its integrity check.
    """
    root = Path(root)
    static_dir = root / STATIC_DIR
    if not force and is_complete(static_dir):
        return static_dir
    t0 = time.perf_counter()
    static_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=static_dir, prefix=".tmp-") as tmp:
        staging = Path(tmp) / VENDOR_SUBDIR
        for pkg in PACKAGES:
            data = fetch_tarball(pkg, root / CACHE_DIR)
            n = extract(pkg, data, staging / pkg.target)
            _log(f"{pkg.spec}: {n} files -> _static/{VENDOR_SUBDIR}/{pkg.target}/")
        (staging.parent / WIDGETS_SHIM_JS).write_text(WIDGETS_SHIM)
        (staging / MANIFEST).write_text(json.dumps(_manifest(), indent=2) + "\n")
        final = static_dir / VENDOR_SUBDIR
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    _log(f"vendored {len(PACKAGES)} packages in {time.perf_counter() - t0:.1f} s")
    return static_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]), help="repository root")
    parser.add_argument("--force", action="store_true", help="re-extract even when complete")
    args = parser.parse_args(argv)
    try:
        static_dir = ensure_vendored(args.root, force=args.force)
    except VendorError as err:
        print(f"vendor_js: error: {err}", file=sys.stderr)
        return 1
    size = sum(f.stat().st_size for f in (static_dir / VENDOR_SUBDIR).rglob("*") if f.is_file())
    print(f"{static_dir / VENDOR_SUBDIR}: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
