"""The scoreboard: every claim of every chapter, at every preset that was run, in one table.

Each chapter notebook writes ``claims.json`` (see :mod:`repgeom_lite.claims`) into
``notebooks/results/<id>_<preset>/`` (the book build and the tests produce the
``small`` ones); the committed ``full`` runs are package data, in
``repgeom_lite/committed/<id>_<preset>/`` (:mod:`repgeom_lite.results`). This module
reads both back, derives every verdict again from the numbers (never from a stored
``holds``) and draws one figure per chapter::

    rows = collect_claims("notebooks")
    print(scoreboard_markdown(rows))              # the book's scoreboard table
    fig = chapter_figure(rows, "04")              # each claim's interval vs its threshold
    update_readme("README.md", rows)              # the README's small-preset table

``repgeom scoreboard [--readme README.md]`` is the command-line front end.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .chapters import CHAPTERS, ChapterInfo
from .claims import INCONCLUSIVE, NOT_REPLICATED, REPLICATED, ClaimsFileError, ClaimsReport

__all__ = [
    "ClaimRun",
    "ScoreRow",
    "collect_claims",
    "scoreboard_markdown",
    "readme_table",
    "update_readme",
    "chapter_figure",
    "short_runtime",
    "figure_alt_text",
    "VERDICT_COLORS",
    "README_START",
    "README_END",
]

RESULTS_SUBDIR = "results"
# "paper": a chapter's large run on the 2-core CPU where no GPU ran "full" (between the two)
PRESET_ORDER = ("small", "paper", "full")
# Chapters that always get a row ("not run" until their claims exist); others (the
# primer) appear only when they write claims.
CLAIM_CHAPTERS = ("01", "02", "03", "04", "05")
README_START = "<!-- scoreboard:start -->"
README_END = "<!-- scoreboard:end -->"
NOT_RUN = "not run"
_DEFAULT = object()

#: One colour per verdict (Okabe–Ito: bluish green, vermilion, grey).
VERDICT_COLORS = {REPLICATED: "#009E73", NOT_REPLICATED: "#D55E00", INCONCLUSIVE: "#8c8c8c"}


@dataclass(frozen=True)
class ClaimRun:
    """One claim measured at one preset (one entry of a ``claims.json``).

    ``verdict`` is derived from ``lo``, ``hi``, ``op`` and ``threshold``
    (:func:`repgeom_lite.claims.interval_verdict`); ``check`` compares it with the
    documented outcome ``expected`` (``"as documented"``, ``"moved"`` to or from
    inconclusive, or ``"contradicts"``).
    """

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
    lo: float = float("nan")
    hi: float = float("nan")
    interval_kind: str = "point"
    verdict: str = ""
    check: str = ""
    source: str = ""

    def value_text(self) -> str:
        """``"0.223 [0.2, 0.25]"``, ``"0.223 ± 0.012"`` or ``"0.223"`` (with the unit, if any)."""
        if self.interval_kind == "interval":
            rng = f" [{self.lo:.2g}, {self.hi:.2g}]"
        elif self.spread is not None:
            rng = f" ± {self.spread:.2g}"
        else:
            rng = ""
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.value:.3g}{rng}{unit}"

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
        """The verdict of the deciding run (largest preset run), or ``"not run"``."""
        run = self.deciding_run
        return NOT_RUN if run is None else run.verdict

    @property
    def status_text(self) -> str:
        run = self.deciding_run
        if run is None:
            return NOT_RUN
        note = {"full": "", "paper": " (paper preset)"}.get(run.preset, f" ({run.preset} only)")
        if run.check == "moved":
            note += f" — ⚠ moved from the documented outcome ({run.expected})"
        elif run.check == "contradicts":
            note += f" — ✗ differs from the documented outcome ({run.expected})"
        return f"{self.status}{note}"


def _read_claims_file(path: Path, chapter: str, preset: str) -> ClaimsReport:
    """Read and schema-check one ``claims.json``; it must belong to its folder's chapter and preset."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ClaimsFileError(f"cannot read claims file {path}: {err}") from None
    report = ClaimsReport.from_dict(data, source=str(path))
    if not report.claims:
        raise ClaimsFileError(f"{path}: field 'claims' is empty (a chapter run writes at least one claim)")
    if "chapter" in data and report.chapter != chapter:
        raise ClaimsFileError(
            f"{path}: field 'chapter' is {report.chapter!r} but the file is in the folder of chapter {chapter!r}"
        )
    if "preset" in data and report.preset != preset:
        raise ClaimsFileError(
            f"{path}: field 'preset' is {report.preset!r} but the file is in the folder of preset {preset!r}"
        )
    return report


def _preset_key(preset: str) -> tuple[int, str]:
    return (PRESET_ORDER.index(preset), "") if preset in PRESET_ORDER else (len(PRESET_ORDER), preset)


def claims_files(
    notebooks_dir: str | os.PathLike,
    chapter: str,
    committed_dir: str | os.PathLike | None | object = _DEFAULT,
) -> dict[str, Path]:
    """``{preset: path}`` of a chapter's ``claims.json`` files; a committed run wins over a local one."""
    if committed_dir is _DEFAULT:
        from .results import COMMITTED_DIR as committed_dir
    dirs = [Path(notebooks_dir) / RESULTS_SUBDIR]
    if committed_dir is not None:
        dirs.append(Path(committed_dir))
    files: dict[str, Path] = {}
    for d in dirs:  # later folders override earlier ones
        for path in sorted(d.glob(f"{chapter}_*/claims.json")):
            files[path.parent.name[len(chapter) + 1 :]] = path
    return files


def collect_claims(
    notebooks_dir: str | os.PathLike,
    chapters: Mapping[str, ChapterInfo] | None = None,
    *,
    committed_dir: str | os.PathLike | None | object = _DEFAULT,
) -> list[ScoreRow]:
    """Gather every chapter's ``claims.json`` into scoreboard rows.

    Parameters
    ----------
    notebooks_dir : path
        Folder with the chapter notebooks; runs are read from
        ``<notebooks_dir>/results/<id>_<preset>/claims.json``.
    chapters : mapping, optional
        Chapter registry (default :data:`repgeom_lite.chapters.CHAPTERS`).
    committed_dir : path or None, optional
        Folder of committed runs, ``<committed_dir>/<id>_<preset>/claims.json``
        (default: the package's, :data:`repgeom_lite.results.COMMITTED_DIR`; ``None``:
        none). For a preset found in both places the committed run is shown.

    Returns
    -------
    list of ScoreRow
        In chapter order, claims in the order the chapter wrote them. Chapters
        01–05 without any claims file give one row with ``claim_id=None``
        (shown as "not run").

    Raises
    ------
    repgeom_lite.claims.ClaimsFileError
        (a ``ValueError``) A claims file that cannot be read, does not follow the
        schema, has no claims or sits in another chapter's or preset's folder; the
        message names the file and the field.
    """
    chapters = CHAPTERS if chapters is None else chapters
    rows: list[ScoreRow] = []
    for cid, info in chapters.items():
        paths = claims_files(notebooks_dir, cid, committed_dir)
        if not paths:
            if cid in CLAIM_CHAPTERS:
                rows.append(ScoreRow(cid, info.title, info.notebook, None, "", ""))
            continue
        order: list[str] = []
        meta: dict[str, Any] = {}
        runs: dict[str, dict[str, ClaimRun]] = {}
        for preset in sorted(paths, key=_preset_key):
            report = _read_claims_file(paths[preset], cid, preset)
            for c in report.claims:
                if c.id not in meta:
                    order.append(c.id)
                    meta[c.id] = c
                runs.setdefault(c.id, {})[preset] = ClaimRun(
                    preset=preset,
                    value=c.value,
                    spread=c.spread,
                    unit=c.unit,
                    op=c.op,
                    threshold=c.threshold,
                    holds=c.holds,
                    passed=c.passed,
                    expected=c.expected,
                    device=report.device,
                    n_seeds=len(report.seeds),
                    wall_time_s=report.wall_time_s,
                    created=report.created,
                    lo=c.lo,
                    hi=c.hi,
                    interval_kind=c.interval_kind,
                    verdict=c.verdict,
                    check=c.check,
                    source=str(paths[preset]),
                )
        for claim_id in order:
            rows.append(
                ScoreRow(
                    chapter=cid,
                    title=info.title,
                    notebook=info.notebook,
                    claim_id=claim_id,
                    statement=meta[claim_id].statement,
                    source_value=meta[claim_id].source_value,
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
    (with device), verdict (replicated / not replicated / inconclusive, decided by
    the largest preset run, marked when it moved from or contradicts the documented
    outcome). A value reads ``measured [lo, hi] (op threshold)`` for a claim with an
    interval, ``measured ± spread (op threshold)`` for one with only a spread.

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
        large = full or r.run("paper")  # a chapter's large run: full, else its CPU-sized paper preset
        body.append(
            [
                link(r),
                r.statement,
                r.source_value or "—",
                small.check_text() if small else NOT_RUN,
                (f"{large.check_text()} on {large.short_device}" + ("" if full else " (paper preset)"))
                if large else NOT_RUN,
                r.status_text,
            ]
        )
    header = ["Chapter", "Claim", "Source", "Small preset", "Full preset (device)", "Verdict"]
    return _table(header, body)


def readme_table(rows: Sequence[ScoreRow], preset: str = "small") -> str:
    """The compact table the README shows: one preset's value and verdict per claim."""
    body = []
    for r in rows:
        run = r.run(preset) if r.claim_id is not None else None
        if run is None:
            body.append([r.chapter, r.statement or f"{r.title}: no claims yet", NOT_RUN, NOT_RUN])
            continue
        mark = {"moved": " ⚠", "contradicts": " ✗"}.get(run.check, "")
        body.append([r.chapter, r.statement, run.check_text(), run.verdict + mark])
    runs = [r.run(preset) for r in rows if r.claim_id is not None and r.run(preset)]
    stamp = max((run.created for run in runs), default="")
    devices = sorted({run.short_device for run in runs})
    head = f"Claims at the `{preset}` preset"
    if runs:
        head += f" (run {stamp[:10]} on {', '.join(devices)})"
    table = _table(["Chapter", "Claim", f"Measured ({preset})", "Verdict"], body)
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


# --------------------------------------------------------------------------- figure
_SIDE = {">": 1.0, ">=": 1.0, "<": -1.0, "<=": -1.0}
#: Marker and vertical offset per preset (small above, full below its claim's line).
_PRESET_STYLE = {"small": ("o", 0.17, True), "paper": ("D", -0.17, False), "full": ("s", -0.17, False)}
_FLAGS = {"moved": "⚠", "contradicts": "✗"}
FIGURE_XLABEL = (
    "distance from the threshold, toward the claim's side (right = claim holds),\n"
    "divided per claim by its largest |interval end − threshold| over both presets"
)


def _margin(run: ClaimRun, x: float) -> float:
    """Signed distance of ``x`` from the threshold, positive on the claim's side."""
    return _SIDE[run.op] * (x - run.threshold)


def _claim_scale(runs: Iterable[ClaimRun]) -> float:
    d = [abs(_margin(r, x)) for r in runs for x in (r.lo, r.hi, r.value) if math.isfinite(x)]
    scale = max(d, default=0.0)
    return scale if scale > 0 else 1.0


def _chapter_rows(rows: Sequence[ScoreRow], chapter: str) -> list[ScoreRow]:
    return [r for r in rows if r.chapter == chapter and r.claim_id is not None]


def figure_alt_text(rows: Sequence[ScoreRow], chapter: str) -> str:
    """One-sentence description of :func:`chapter_figure` (alt text): verdict counts per preset."""
    mine = _chapter_rows(rows, chapter)
    parts = []
    for preset in sorted({p for r in mine for p in r.runs}, key=_preset_key):
        counts = {v: 0 for v in VERDICT_COLORS}
        for r in mine:
            if preset in r.runs:
                counts[r.runs[preset].verdict] += 1
        parts.append(f"{preset} preset: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n))
    return (
        f"Chapter {chapter}: each of its {len(mine)} claims' measured effect with its interval, "
        f"relative to the claim's threshold; " + "; ".join(parts) + "."
    )


def chapter_figure(rows: Sequence[ScoreRow], chapter: str, *, width: float = 7.2):
    """One chapter's claims: each measured effect with its interval against its threshold.

    One line per claim; one marker per preset (small: open circle above the line,
    full: filled square below), with the interval as an error bar, coloured by the
    verdict (:data:`VERDICT_COLORS`). Effects have different scales, so each claim is
    normalised: the x-axis is ``side · (x − threshold) / s`` with ``side = +1`` for
    ``>``/``>=`` and ``−1`` for ``<``/``<=`` (so the claim's side is always to the
    right, shaded) and ``s`` the claim's largest ``|interval end − threshold|``
    over its runs (so every claim spans at most [−1, 1]). The threshold is the
    vertical line at 0; a claim is *replicated* when its bar lies right of it,
    *not replicated* when left, *inconclusive* when it crosses. A ⚠ (moved to or
    from inconclusive) or ✗ (contradicts) on the right marks a run whose verdict
    differs from the documented outcome.

    Parameters
    ----------
    rows : sequence of ScoreRow
        From :func:`collect_claims`.
    chapter : str
        Chapter id.
    width : float
        Figure width in inches (the height follows the number of claims).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When the chapter has no claims in ``rows``.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    mine = _chapter_rows(rows, chapter)
    if not mine:
        raise ValueError(f"chapter {chapter!r} has no claims to draw")
    n = len(mine)
    fig = Figure(figsize=(width, 0.36 * n + 1.55), layout="constrained")
    ax = fig.add_subplot()
    ax.axvspan(0, 1.2, color="#009E73", alpha=0.07, lw=0)
    ax.axvline(0, color="black", lw=1)
    labels: list[str] = []
    any_flag = False
    for i, r in enumerate(mine):
        y = n - 1 - i
        scale = _claim_scale(r.runs.values())
        if i % 2 == 0:
            ax.axhspan(y - 0.5, y + 0.5, color="0.5", alpha=0.06, lw=0)
        flags = []
        for preset, run in sorted(r.runs.items(), key=lambda kv: _preset_key(kv[0])):
            marker, dy, hollow = _PRESET_STYLE.get(preset, ("D", 0.0, False))
            color = VERDICT_COLORS.get(run.verdict, "black")
            a, b = sorted((_margin(run, run.lo) / scale, _margin(run, run.hi) / scale))
            v = _margin(run, run.value) / scale
            ax.plot([a, b], [y + dy, y + dy], color=color, lw=2, solid_capstyle="butt")
            ax.plot([a, a], [y + dy - 0.07, y + dy + 0.07], color=color, lw=1)
            ax.plot([b, b], [y + dy - 0.07, y + dy + 0.07], color=color, lw=1)
            ax.plot(v, y + dy, marker=marker, ms=6, color=color, mfc="white" if hollow else color, mew=1.5)
            if run.check in _FLAGS:
                flags.append(f"{_FLAGS[run.check]} {preset}")
        run0 = next(iter(r.runs.values()))
        labels.append(f"{r.claim_id} ({run0.op} {run0.threshold:g})" + (f"  [{', '.join(flags)}]" if flags else ""))
        any_flag |= bool(flags)
    ax.set_yticks(range(n - 1, -1, -1), labels, fontsize=7.5)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(-1.2, 1.2)
    ax.set_xticks([-1, -0.5, 0, 0.5, 1], ["−1", "−0.5", "0 = threshold", "0.5", "1"])
    ax.tick_params(axis="x", labelsize=7.5)
    flag_note = "\n⚠: verdict moved to/from inconclusive vs the documented outcome · ✗: contradicts it"
    ax.set_xlabel(FIGURE_XLABEL + (flag_note if any_flag else ""), fontsize=7.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{chapter} · {mine[0].title}", fontsize=9, loc="left")
    handles = [Patch(color=c, label=v) for v, c in VERDICT_COLORS.items()] + [
        Line2D([], [], marker="o", ls="", color="0.3", mfc="white", mew=1.5, label="small preset"),
        Line2D([], [], marker="s", ls="", color="0.3", label="full preset"),
        Patch(color="#009E73", alpha=0.12, label="claim's side"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=6, fontsize=7, frameon=False,
               handlelength=1.2, columnspacing=1.0)
    return fig


# --------------------------------------------------------------------------- run times
_DURATION = re.compile(r"(≈\s*|~\s*|about\s+)?(\d+(?:\.\d+)?)\s*(s|sec|min|h|hours?)\b")
_CORES = re.compile(r"(\d+)[- ]core|\((\d+) cores?\)")
_NO_GPU = re.compile(r"no GPU|not (?:yet )?run on a GPU|none was available", re.I)


def _device_of(text: str) -> str | None:
    m = _CORES.search(text)
    if m:
        return f"{m.group(1) or m.group(2)}-core CPU"
    if re.search(r"\b(GPU|cuda|H100|H200|A100|V100)\b", text) and not _NO_GPU.search(text):
        return "GPU"
    if re.search(r"\bcpu\b", text, re.I) and "same" not in text:
        return "CPU"
    return None


def short_runtime(text: str, same_device: str | None = None) -> str:
    """A chapter's ``RUNTIME`` sentence as a short figure: ``"≈ 30 s, 2-core CPU"``.

    The first duration in the text (``"28 s"``, ``"≈ 91 min"``) and the device
    (``"N-core CPU"``, ``"GPU"``, ``"CPU"``; ``same_device`` when the text says "the
    same ... CPU"). A text starting with "not run" gives ``"not run yet"``; one without
    a duration gives its first clause.
    """
    t = " ".join(str(text).split())
    if not t:
        return "—"
    if t.lower().startswith("not run"):
        return "not run yet"
    m = _DURATION.search(t)
    if m is None:
        return re.split(r"[;,(]", t)[0].strip()
    unit = {"sec": "s", "hour": "h", "hours": "h"}.get(m.group(3), m.group(3))
    device = _device_of(t) or (same_device if "same" in t else None)
    return f"≈ {m.group(2)} {unit}" + (f", {device}" if device else "")
