"""``repgeom`` command line: list chapters, run one with papermill.

Usage::

    repgeom list
    repgeom run 03 --preset full -p n_seeds=2 --output results/03_full
    repgeom scoreboard [--readme README.md]

Bad input (unknown chapter, preset or parameter, malformed ``-p``, a value of the
wrong type or out of range, an ``--output`` that is a file or read-only) prints one
line naming the valid choices and exits with status 2, before anything is written.

``run`` executes the notebook into a fresh folder next to ``--output``
(``.<name>.run-XXXX``) and moves it into place only when every cell succeeded, so a
failed or interrupted run never touches earlier results: its folder is kept as
``.<name>.failed`` (the error message gives the notebook's path) and the exit status
is 1 (130 when interrupted).
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .chapters import CHAPTERS, chapter_module, get_chapter

__all__ = ["main", "find_notebooks_dir", "parse_param"]

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input; reported in one line with exit status 2."""


def find_notebooks_dir(explicit: str | None = None) -> Path:
    """Locate the folder holding the chapter notebooks.

    Order: ``--notebooks``, ``$REPGEOM_NOTEBOOKS``, the repository this package
    was installed from (editable install), ``./notebooks``.
    """
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("REPGEOM_NOTEBOOKS"):
        candidates.append(Path(os.environ["REPGEOM_NOTEBOOKS"]))
    candidates.append(Path(__file__).resolve().parents[2] / "notebooks")
    candidates.append(Path.cwd() / "notebooks")
    for c in candidates:
        if (c / CHAPTERS["01"].notebook).exists() or (c / CHAPTERS["00"].notebook).exists():
            return c
    raise UsageError(
        "cannot find the chapter notebooks; pass --notebooks DIR or set REPGEOM_NOTEBOOKS "
        f"(looked in: {', '.join(str(c) for c in candidates)})"
    )


def parse_param(text: str) -> tuple[str, Any]:
    """Parse ``key=value``; the value is a Python literal when it parses as one, else a string.

    >>> parse_param("n_seeds=3"), parse_param("device=cuda"), parse_param("lrs=[0.1, 0.2]")
    (('n_seeds', 3), ('device', 'cuda'), ('lrs', [0.1, 0.2]))
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise UsageError(f"parameter must look like key=value, got {text!r}")
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        value = raw.strip()
    return key, value


def _runtime(info_id: str) -> dict[str, str]:
    try:
        return dict(getattr(chapter_module(info_id), "RUNTIME", {}))
    except ImportError:
        return {}


def cmd_list(args: argparse.Namespace) -> int:
    print(f"{'id':<3} {'title':<50} {'presets':<12} expected run time")
    for cid, info in CHAPTERS.items():
        try:
            presets = ", ".join(chapter_module(cid).PRESETS)
        except ImportError:
            presets = "(missing)"
        rt = _runtime(cid)
        times = "; ".join(f"{p}: {t}" for p, t in rt.items())
        print(f"{cid:<3} {info.title[:50]:<50} {presets:<12} {times}")
        print(f"    notebook: notebooks/{info.notebook}   source: {info.source}")
    return 0


def _notebook_parameters(path: Path) -> dict[str, Any]:
    import papermill

    return papermill.inspect_notebook(str(path))


#: Knobs naming a resumable store: a relative path is taken inside the final output
#: folder (not the run's temporary folder), so an interrupted run resumes, and the store
#: is carried over when a successful run replaces the folder.
STORE_KNOBS = ("store_dir",)


def _check_output(out: Path) -> None:
    """Refuse an ``--output`` that cannot become a results folder (one line, exit 2)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output {out} exists and is not a folder; give a folder path")
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"--output folder {out} is read-only; choose another --output or fix its permissions")
    ancestor = out.resolve().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"cannot create --output {out}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"cannot create --output {out}: {ancestor} is read-only; choose another --output")


def _staging_folder(out: Path) -> Path:
    """A fresh folder next to ``out`` (same file system, so the final move is a rename)."""
    import tempfile

    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.run-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes 0700; results are meant to be shared
    except OSError as err:
        raise UsageError(f"cannot write next to --output {out}: {err.strerror or err}") from None
    return staging


def _move_into_place(staging: Path, out: Path, keep: Sequence[str]) -> None:
    """Replace ``out`` by ``staging``; entries ``keep`` (stores) of the old ``out`` move over."""
    import shutil
    import tempfile

    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.resolve().parent))
        os.rename(out, old / "previous")
        for rel in keep:
            src, dst = old / "previous" / rel, staging / rel
            if src.exists() and not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.rename(src, dst)
    os.rename(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _keep_failed(staging: Path, out: Path) -> Path:
    """Move a failed run's folder to ``.<name>.failed`` next to ``out`` (replacing an older one)."""
    import shutil

    failed = out.resolve().parent / f".{out.name}.failed"
    if failed.exists():
        shutil.rmtree(failed, ignore_errors=True)
    try:
        os.rename(staging, failed)
    except OSError:
        return staging
    return failed


def cmd_run(args: argparse.Namespace) -> int:
    try:
        info = get_chapter(args.chapter)
    except ValueError as err:
        raise UsageError(str(err)) from None
    try:
        presets = list(chapter_module(info.id).PRESETS)
    except ModuleNotFoundError:
        raise UsageError(f"chapter {info.id} is not available in this version (module {info.module} missing)") from None
    if args.preset not in presets:
        raise UsageError(
            f"unknown preset {args.preset!r} for chapter {info.id}; valid presets: {', '.join(presets)}"
        )
    nb_dir = find_notebooks_dir(args.notebooks)
    nb_path = nb_dir / info.notebook
    if not nb_path.exists():
        raise UsageError(f"notebook {nb_path} not found")
    declared = _notebook_parameters(nb_path)
    knobs = [k for k in declared if k not in ("preset", "output_dir")]
    params: dict[str, Any] = {}
    for text in args.param or []:
        key, value = parse_param(text)
        if key == "preset":
            raise UsageError("set the preset with --preset, not -p preset=...")
        if key == "output_dir":
            raise UsageError("set the output folder with --output, not -p output_dir=...")
        if key not in declared:
            raise UsageError(
                f"unknown parameter {key!r} for chapter {info.id}; valid: {', '.join(knobs)} "
                "(and --preset, --output)"
            )
        params[key] = value
    # every knob validated (type, range, valid values) before anything is written
    from .presets import resolve_preset

    chapter_knobs = set(chapter_module(info.id).PRESETS[args.preset])
    try:
        cfg = resolve_preset(info.id, args.preset, **{k: v for k, v in params.items() if k in chapter_knobs})
    except ValueError as err:
        raise UsageError(str(err)) from None
    for key in params:
        if key in cfg:  # normalised (2.0 -> 2); papermill writes lists, the notebook makes tuples again
            params[key] = list(cfg[key]) if isinstance(cfg[key], tuple) else cfg[key]
    out = Path(args.output) if args.output else Path("results") / f"{info.id}_{args.preset}"
    _check_output(out)
    keep = []
    for key in STORE_KNOBS:
        store = cfg.get(key)
        if isinstance(store, str) and not Path(store).is_absolute():
            params[key] = str(out.resolve() / store)
            keep.append(store)
    if "output_dir" not in declared:
        raise UsageError(f"notebook {nb_path} has no output_dir parameter; cannot direct its results")
    if params.get("shard") is not None:
        return _run_shard(info, nb_path, nb_dir, out, params, args)

    import papermill

    staging = _staging_folder(out)
    params["preset"] = args.preset
    params["output_dir"] = str(staging)
    staged_nb = staging / info.notebook
    print(f"running chapter {info.id} ({info.title}) preset={args.preset} -> {out / info.notebook}")
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(nb_path),
            str(staged_nb),
            parameters=params,
            cwd=str(nb_dir),
            kernel_name=args.kernel,
            progress_bar=not args.quiet,
            log_output=args.log_output,
        )
    except (Exception, KeyboardInterrupt) as err:
        failed = _keep_failed(staging, out)
        what = "interrupted" if isinstance(err, KeyboardInterrupt) else f"failed ({_one_line(err)})"
        previous = f"the previous results in {out} are untouched" if out.exists() else f"nothing was written to {out}"
        print(
            f"repgeom: error: chapter {info.id} {what}; {previous}; the failed notebook is "
            f"{failed / info.notebook}",
            file=sys.stderr,
        )
        return 130 if isinstance(err, KeyboardInterrupt) else 1
    _point_notebook_at(staged_nb, staging, out.resolve())
    replaced = out.exists() and any(p.name not in keep for p in out.iterdir())
    _move_into_place(staging, out, keep)
    print(
        f"done in {time.perf_counter() - t0:.1f} s; results in {out}"
        + (" (replacing the previous results)" if replaced else "")
    )
    return 0


def _run_shard(info, nb_path: Path, nb_dir: Path, out: Path, params: dict, args: argparse.Namespace) -> int:
    """``-p shard=i/n``: run the notebook up to its cell tagged ``shard-stop`` (training), nothing after.

    The shard trains its chunks into the store inside ``out`` and writes its executed notebook to
    ``out/shards/``; ``out`` is neither replaced nor cleaned, so shards may run at the same time
    (one store, disjoint chunk files). A final run without ``shard`` reuses every finished chunk.
    """
    import nbformat
    import papermill

    from .grid import parse_shard

    try:
        i, n = parse_shard(params["shard"])
    except ValueError as err:
        raise UsageError(str(err)) from None
    if not params.get("store_dir"):
        raise UsageError("-p shard=i/n needs a store shared by all shards: this preset has none, "
                         "give -p store_dir=grid_store (inside --output) or an absolute folder")
    nb = nbformat.read(nb_path, as_version=4)
    stops = [k for k, c in enumerate(nb.cells) if "shard-stop" in c.metadata.get("tags", [])]
    if not stops:
        raise UsageError(f"chapter {info.id} cannot run in shards (no cell tagged 'shard-stop' in {nb_path.name})")
    nb.cells = nb.cells[: stops[0] + 1]
    shards = out / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    source = shards / f".{info.id}_shard_{i}of{n}.source.ipynb"
    nbformat.write(nb, source)
    params = {**params, "preset": args.preset, "output_dir": str(out.resolve())}
    target = shards / f"{Path(info.notebook).stem}_shard_{i}of{n}.ipynb"
    print(f"running chapter {info.id} preset={args.preset} shard {i}/{n} (training only) -> {target}")
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(str(source), str(target), parameters=params, cwd=str(nb_dir),
                                   kernel_name=args.kernel, progress_bar=not args.quiet, log_output=args.log_output)
    except (Exception, KeyboardInterrupt) as err:
        what = "interrupted" if isinstance(err, KeyboardInterrupt) else f"failed ({_one_line(err)})"
        print(f"repgeom: error: chapter {info.id} shard {i}/{n} {what}; finished chunks are kept in the store; "
              f"the notebook is {target}", file=sys.stderr)
        return 130 if isinstance(err, KeyboardInterrupt) else 1
    finally:
        source.unlink(missing_ok=True)
    print(f"shard {i}/{n} done in {time.perf_counter() - t0:.1f} s; run without -p shard to merge and analyse")
    return 0


def _one_line(err: BaseException) -> str:
    """The gist of an exception in one line (papermill's cell errors: the exception name and value)."""
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    text = f"{ename}: {evalue}" if ename else f"{type(err).__name__}: {err}"
    text = " ".join(str(text).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _point_notebook_at(nb_file: Path, staging: Path, final: Path) -> None:
    """Rewrite the staging path in the executed notebook's injected parameters to the final folder."""
    import nbformat

    nb = nbformat.read(nb_file, as_version=4)
    changed = False
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []) and str(staging) in cell.source:
            cell.source = cell.source.replace(str(staging), str(final))
            changed = True
    if changed:
        nbformat.write(nb, nb_file)


def cmd_scoreboard(args: argparse.Namespace) -> int:
    from .scoreboard import collect_claims, scoreboard_markdown, update_readme

    nb_dir = find_notebooks_dir(args.notebooks)
    try:
        rows = collect_claims(nb_dir)
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(scoreboard_markdown(rows))
    if args.readme:
        readme = Path(args.readme)
        if not readme.is_file():
            raise UsageError(f"README {readme} not found")
        try:
            changed = update_readme(readme, rows, preset=args.preset)
        except ValueError as err:
            raise UsageError(str(err)) from None
        print(f"{readme}: {'updated' if changed else 'already up to date'} ({args.preset} preset table)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="repgeom", description=__doc__.split("\n")[0])
    p.add_argument("--notebooks", help="folder with the chapter notebooks (default: found automatically)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="chapters, presets and expected run time").set_defaults(func=cmd_list)
    r = sub.add_parser(
        "run",
        help="run a chapter notebook with papermill",
        description="Run a chapter notebook with papermill; the executed notebook, claims.json and "
        "the chapter's summaries go into --output.",
        epilog="To commit a full run so that the book and Colab show it (rgl.results), copy its JSON "
        "files into the package: mkdir -p src/repgeom_lite/committed/NN_full && "
        "cp DIR/claims.json DIR/summary.json src/repgeom_lite/committed/NN_full/ "
        "(see book/how_to_run.md, 'Committed full-size results').",
    )
    r.add_argument("chapter", help="chapter id, e.g. 03")
    r.add_argument("--preset", default="small", help="small (CPU, ~2 min) or full (source size, GPU)")
    r.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="override a notebook parameter")
    r.add_argument(
        "--output",
        metavar="DIR",
        help="output folder (default: results/<id>_<preset>), replaced only when the run succeeds; "
        "a full run's JSON files can be copied "
        "from here into src/repgeom_lite/committed/<id>_full/ to commit them",
    )
    r.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")
    r.add_argument("--log-output", action="store_true", help="echo cell output while running")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)
    s = sub.add_parser("scoreboard", help="print the table of every chapter's claims")
    s.add_argument(
        "--readme",
        metavar="PATH",
        help="also rewrite the table between the scoreboard markers of this README",
    )
    s.add_argument("--preset", default="small", help="preset shown in the README table (default: small)")
    s.set_defaults(func=cmd_scoreboard)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its message
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except UsageError as err:
        print(f"repgeom: error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
