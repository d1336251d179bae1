"""``repgeom`` command line: list chapters, run one with papermill.

Usage::

    repgeom list
    repgeom run 03 --preset full -p n_seeds=2 --output results/03_full
    repgeom scoreboard [--readme README.md]

Bad input (unknown chapter, preset or parameter, malformed ``-p``) prints one line
naming the valid choices and exits with status 2, before anything is written.
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
    params: dict[str, Any] = {}
    for text in args.param or []:
        key, value = parse_param(text)
        if key not in declared:
            raise UsageError(
                f"unknown parameter {key!r} for chapter {info.id}; valid: {', '.join(declared)}"
            )
        params[key] = value
    if "preset" in params:
        raise UsageError("set the preset with --preset, not -p preset=...")
    out = Path(args.output) if args.output else Path("results") / f"{info.id}_{args.preset}"
    params["preset"] = args.preset
    if "output_dir" in declared:
        params["output_dir"] = str(out.resolve())

    import papermill

    out.mkdir(parents=True, exist_ok=True)
    out_nb = out / info.notebook
    print(f"running chapter {info.id} ({info.title}) preset={args.preset} -> {out_nb}")
    t0 = time.perf_counter()
    papermill.execute_notebook(
        str(nb_path),
        str(out_nb),
        parameters=params,
        cwd=str(nb_dir),
        kernel_name=args.kernel,
        progress_bar=not args.quiet,
        log_output=args.log_output,
    )
    print(f"done in {time.perf_counter() - t0:.1f} s; results in {out}")
    return 0


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
    r = sub.add_parser("run", help="run a chapter notebook with papermill")
    r.add_argument("chapter", help="chapter id, e.g. 03")
    r.add_argument("--preset", default="small", help="small (CPU, ~2 min) or full (source size, GPU)")
    r.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="override a notebook parameter")
    r.add_argument("--output", help="output folder (default: results/<id>_<preset>)")
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
