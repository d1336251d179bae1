"""The scoreboard: every claim of every chapter, at every preset that was run, in one table.

Each chapter notebook writes ``claims.json`` (see :mod:`repgeom_lite.claims`) into
``notebooks/results/<id>_<preset>/``: the book build and the tests produce the
``small`` ones, the committed ``full`` ones come from GPU runs. This module reads
them back::

    rows = collect_claims("notebooks")
    print(scoreboard_markdown(rows))              # the book's scoreboard page
    update_readme("README.md", rows)              # the README's small-preset table

``repgeom scoreboard [--readme README.md]`` is the command-line front end.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .chapters import CHAPTERS, ChapterInfo

__all__ = [
    "ClaimRun",
    "ScoreRow",
    "collect_claims",
    "scoreboard_markdown",
    "readme_table",
    "update_readme",
    "README_START",
    "README_END",
]

RESULTS_SUBDIR = "results"
PRESET_ORDER = ("small", "full")
# Chapters that always get a row ("not run" until their claims exist); others (the
# primer) appear only when they write claims.
CLAIM_CHAPTERS = ("01", "02", "03", "04", "05")
README_START = "<!-- scoreboard:start -->"
README_END = "<!-- scoreboard:end -->"
NOT_RUN = "not run"


@dataclass(frozen=True)
class ClaimRun:
    """One claim measured at one preset (one entry of a ``claims.json``)."""

    preset: str
    value: float
    spread: float | None
    unit: str
    op: str
    threshold: float
    holds: bool
    passed: bool
    expected: str
    device: str
    n_seeds: int
    wall_time_s: float
    created: str

    def value_text(self) -> str:
        """``"0.223 ± 0.012"`` (with the unit, if any)."""
        spread = f" ± {self.spread:.2g}" if self.spread is not None else ""
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.value:.3g}{spread}{unit}"

    def check_text(self) -> str:
        """``"0.223 ± 0.012 (> 0.05)"``."""
        return f"{self.value_text()} ({self.op} {self.threshold:g})"

    @property
    def short_device(self) -> str:
        return self.device.split(", torch")[0]


@dataclass(frozen=True)
class ScoreRow:
    """One claim of one chapter, with its run at each preset.

    ``claim_id`` is ``None`` for a chapter that has not written any claims yet.
    """

    chapter: str
    title: str
    notebook: str
    claim_id: str | None
    statement: str
    source_value: str
    runs: Mapping[str, ClaimRun] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", MappingProxyType(dict(self.runs)))

    def run(self, preset: str) -> ClaimRun | None:
        return self.runs.get(preset)

    @property
    def deciding_run(self) -> ClaimRun | None:
        """The run that decides "replicated": full when it exists, else the largest other."""
        for preset in reversed(self._preset_order()):
            if preset in self.runs:
                return self.runs[preset]
        return None

    def _preset_order(self) -> list[str]:
        known = [p for p in PRESET_ORDER if p in self.runs]
        return [*sorted(p for p in self.runs if p not in PRESET_ORDER), *known]

    @property
    def status(self) -> str:
        """``"replicated"``, ``"not replicated"`` or ``"not run"`` (decided by the largest preset run)."""
        run = self.deciding_run
        if run is None:
            return NOT_RUN
        return "replicated" if run.holds else "not replicated"

    @property
    def status_text(self) -> str:
        run = self.deciding_run
        if run is None:
            return NOT_RUN
        note = "" if run.preset == "full" else f" ({run.preset} only)"
        if not run.passed:
            note += " — differs from the documented outcome"
        return f"{self.status}{note}"


def _read_claims_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read claims file {path}: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ValueError(f"{path} is not a claims.json written by repgeom_lite.claims.check_claims")
    return data


def _preset_key(preset: str) -> tuple[int, str]:
    return (PRESET_ORDER.index(preset), "") if preset in PRESET_ORDER else (len(PRESET_ORDER), preset)


def collect_claims(
    notebooks_dir: str | os.PathLike,
    chapters: Mapping[str, ChapterInfo] | None = None,
) -> list[ScoreRow]:
    """Gather every chapter's ``claims.json`` into scoreboard rows.

    Parameters
    ----------
    notebooks_dir : path
        Folder with the chapter notebooks; claims are read from
        ``<notebooks_dir>/results/<id>_<preset>/claims.json``.
    chapters : mapping, optional
        Chapter registry (default :data:`repgeom_lite.chapters.CHAPTERS`).

    Returns
    -------
    list of ScoreRow
        In chapter order, claims in the order the chapter wrote them. Chapters
        01–05 without any claims file give one row with ``claim_id=None``
        (shown as "not run").

    Raises
    ------
    ValueError
        A claims file that cannot be read or does not have the expected shape.
    """
    chapters = CHAPTERS if chapters is None else chapters
    results = Path(notebooks_dir) / RESULTS_SUBDIR
    rows: list[ScoreRow] = []
    for cid, info in chapters.items():
        files = {}
        for path in sorted(results.glob(f"{cid}_*/claims.json")):
            files[path.parent.name[len(cid) + 1 :]] = _read_claims_file(path)
        if not files:
            if cid in CLAIM_CHAPTERS:
                rows.append(ScoreRow(cid, info.title, info.notebook, None, "", ""))
            continue
        order: list[str] = []
        meta: dict[str, dict[str, Any]] = {}
        runs: dict[str, dict[str, ClaimRun]] = {}
        for preset in sorted(files, key=_preset_key):
            data = files[preset]
            for c in data["claims"]:
                if c["id"] not in meta:
                    order.append(c["id"])
                    meta[c["id"]] = c
                runs.setdefault(c["id"], {})[preset] = ClaimRun(
                    preset=str(data.get("preset", preset)),
                    value=float(c["value"]),
                    spread=None if c.get("spread") is None else float(c["spread"]),
                    unit=str(c.get("unit", "")),
                    op=str(c["op"]),
                    threshold=float(c["threshold"]),
                    holds=bool(c["holds"]),
                    passed=bool(c["passed"]),
                    expected=str(c.get("expected", "replicated")),
                    device=str(data.get("device", "")),
                    n_seeds=int(data.get("n_seeds", len(data.get("seeds", [])))),
                    wall_time_s=float(data.get("wall_time_s", float("nan"))),
                    created=str(data.get("created", "")),
                )
        for claim_id in order:
            rows.append(
                ScoreRow(
                    chapter=cid,
                    title=info.title,
                    notebook=info.notebook,
                    claim_id=claim_id,
                    statement=str(meta[claim_id].get("statement", claim_id)),
                    source_value=str(meta[claim_id].get("source_value", "")),
                    runs=runs[claim_id],
                )
            )
    return rows


def _cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: Sequence[str], body: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def scoreboard_markdown(
    rows: Sequence[ScoreRow],
    *,
    chapter_link: Callable[[ScoreRow], str] | None = None,
) -> str:
    """The scoreboard as one Markdown table.

    Columns: chapter, claim, source value, small-preset value, full-preset value
    (with device), replicated or not. A value reads ``measured ± spread (op threshold)``.

    Parameters
    ----------
    rows : sequence of ScoreRow
        From :func:`collect_claims`.
    chapter_link : callable, optional
        ``row -> Markdown`` for the chapter cell (the book links its pages); default
        the chapter id.
    """
    link = chapter_link or (lambda r: r.chapter)
    body = []
    for r in rows:
        if r.claim_id is None:
            body.append([link(r), f"{r.title}: no claims yet", "", NOT_RUN, NOT_RUN, NOT_RUN])
            continue
        small, full = r.run("small"), r.run("full")
        body.append(
            [
                link(r),
                r.statement,
                r.source_value or "—",
                small.check_text() if small else NOT_RUN,
                f"{full.check_text()} on {full.short_device}" if full else NOT_RUN,
                r.status_text,
            ]
        )
    header = ["Chapter", "Claim", "Source", "Small preset", "Full preset (device)", "Replicated?"]
    return _table(header, body)


def readme_table(rows: Sequence[ScoreRow], preset: str = "small") -> str:
    """The compact table the README shows: one preset's value and verdict per claim."""
    body = []
    for r in rows:
        run = r.run(preset) if r.claim_id is not None else None
        if run is None:
            body.append([r.chapter, r.statement or f"{r.title}: no claims yet", NOT_RUN, NOT_RUN])
            continue
        verdict = "holds" if run.holds else "does not hold"
        body.append([r.chapter, r.statement, run.check_text(), verdict])
    runs = [r.run(preset) for r in rows if r.claim_id is not None and r.run(preset)]
    stamp = max((run.created for run in runs), default="")
    devices = sorted({run.short_device for run in runs})
    head = f"Claims at the `{preset}` preset"
    if runs:
        head += f" (run {stamp[:10]} on {', '.join(devices)})"
    table = _table(["Chapter", "Claim", f"Measured ({preset})", "Inequality"], body)
    return f"{head}:\n\n{table}"


def update_readme(readme: str | os.PathLike, rows: Sequence[ScoreRow], preset: str = "small") -> bool:
    """Replace the README's table between ``README_START`` and ``README_END``.

    Returns ``True`` when the file changed.

    Raises
    ------
    ValueError
        When the README lacks the two marker lines (or has them in the wrong order).
    """
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.S)
    if len(pattern.findall(text)) != 1:
        raise ValueError(
            f"{path} must contain exactly one {README_START} ... {README_END} block "
            "(each marker on its own line) for the scoreboard table"
        )
    new = pattern.sub(
        lambda _: f"{README_START}\n{readme_table(rows, preset)}\n{README_END}", text, count=1
    )
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True
