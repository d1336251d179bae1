"""Claim checks: each finding as a testable inequality, written to ``claims.json``.

A chapter declares its claims once, in its module's ``CLAIMS`` dict::

    CLAIMS = {
        "target_alignment_gap": ClaimSpec(
            statement="target alignment: tanh − ReLU > threshold",
            op=">",
            threshold={"small": 0.05, "full": 0.05},
            source_value="≈ 0.22 (tanh 1.0 vs ReLU 0.78, SPEC quick re-run)",
        ),
    }

and ends its notebook with :func:`check_claims`, which evaluates every measured
value against the preset's threshold, writes ``claims.json`` and raises
``AssertionError`` (with the numbers) when a claim does not come out as
documented.

"Not replicated" is a documented outcome, not a failure: when the full-size run
shows a claim does not hold, its spec says ``expected={"full": "not replicated"}``
and the check then asserts that the inequality *fails*, so the book can never
change its conclusion silently.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ClaimSpec",
    "Measured",
    "ClaimResult",
    "ClaimsReport",
    "evaluate_claims",
    "check_claims",
    "load_claims",
    "write_json_atomic",
]

_OPS = {
    ">": lambda v, t: v > t,
    ">=": lambda v, t: v >= t,
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
}
_OUTCOMES = ("replicated", "not replicated")


@dataclass(frozen=True)
class ClaimSpec:
    """A claim of the finding, stated as ``value <op> threshold``.

    Attributes
    ----------
    statement : str
        The inequality in words, e.g. ``"target alignment tanh − ReLU > threshold"``.
    threshold : dict
        Threshold per preset name. Chosen before looking at held-out seeds.
    op : str
        One of ``">"``, ``">="``, ``"<"``, ``"<="``.
    source_value : str
        What the source reports for this quantity (free text; ``""`` if nothing).
    expected : dict
        Documented outcome per preset, ``"replicated"`` (default) or
        ``"not replicated"``.
    unit : str
        Unit of the value, for display (``""`` for dimensionless).
    """

    statement: str
    threshold: dict[str, float]
    op: str = ">"
    source_value: str = ""
    expected: dict[str, str] = field(default_factory=dict)
    unit: str = ""

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {', '.join(_OPS)}, got {self.op!r}")
        for preset, outcome in self.expected.items():
            if outcome not in _OUTCOMES:
                raise ValueError(
                    f"expected[{preset!r}] must be one of {_OUTCOMES}, got {outcome!r}"
                )

    def expected_for(self, preset: str) -> str:
        return self.expected.get(preset, "replicated")


@dataclass(frozen=True)
class Measured:
    """A measured effect: its value and spread across seeds.

    Attributes
    ----------
    value : float
        The effect (e.g. a mean difference across seeds).
    spread : float or None
        Its spread across seeds (standard deviation, or CI half-width; say which in
        ``detail``).
    detail : str
        Free text shown next to the number (e.g. ``"mean ± sd over 3 seeds"``).
    """

    value: float
    spread: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class ClaimResult:
    """One evaluated claim, as written to ``claims.json``."""

    id: str
    statement: str
    value: float
    spread: float | None
    detail: str
    op: str
    threshold: float
    holds: bool
    expected: str
    passed: bool
    source_value: str
    unit: str


@dataclass(frozen=True)
class ClaimsReport:
    """All claims of one chapter run, with the run's provenance."""

    chapter: str
    preset: str
    seeds: list[int]
    wall_time_s: float
    device: str
    created: str
    claims: list[ClaimResult]

    @property
    def all_passed(self) -> bool:
        return all(c.passed for c in self.claims)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chapter": self.chapter,
            "preset": self.preset,
            "seeds": list(self.seeds),
            "n_seeds": len(self.seeds),
            "wall_time_s": self.wall_time_s,
            "device": self.device,
            "created": self.created,
            "all_passed": self.all_passed,
            "claims": [asdict(c) for c in self.claims],
        }

    def to_markdown(self) -> str:
        rows = [
            "| claim | measured | threshold | documented outcome | check |",
            "|---|---|---|---|---|",
        ]
        for c in self.claims:
            spread = f" ± {c.spread:.3g}" if c.spread is not None else ""
            rows.append(
                f"| {c.statement} | {c.value:.3g}{spread}{(' ' + c.unit) if c.unit else ''} "
                f"| {c.op} {c.threshold:g} | {c.expected} | {'PASS' if c.passed else 'FAIL'} |"
            )
        return "\n".join(rows)

    def _repr_markdown_(self) -> str:
        head = (
            f"**Claim checks — chapter {self.chapter}, preset `{self.preset}`, "
            f"{len(self.seeds)} seeds, {self.wall_time_s:.0f} s on {self.device}**\n\n"
        )
        return head + self.to_markdown()

    def __str__(self) -> str:
        lines = [f"chapter {self.chapter} preset={self.preset} seeds={len(self.seeds)}"]
        for c in self.claims:
            spread = f" ± {c.spread:.3g}" if c.spread is not None else ""
            lines.append(
                f"  [{'PASS' if c.passed else 'FAIL'}] {c.id}: {c.value:.4g}{spread} "
                f"{c.op} {c.threshold:g} -> holds={c.holds} (documented: {c.expected})"
            )
        return "\n".join(lines)


def evaluate_claims(
    specs: dict[str, ClaimSpec],
    measured: dict[str, Measured | float],
    preset: str,
) -> list[ClaimResult]:
    """Evaluate measured values against the claims' thresholds for ``preset``.

    Raises
    ------
    ValueError
        A claim without a measurement, a measurement without a claim, a claim
        without a threshold for this preset, or a non-finite value.
    """
    missing = sorted(set(specs) - set(measured))
    extra = sorted(set(measured) - set(specs))
    if missing or extra:
        raise ValueError(
            f"measured claims must match the chapter's CLAIMS: missing {missing}, unknown {extra}"
        )
    results = []
    for cid, spec in specs.items():
        m = measured[cid]
        if not isinstance(m, Measured):
            m = Measured(float(m))
        if preset not in spec.threshold:
            raise ValueError(f"claim {cid!r} has no threshold for preset {preset!r}")
        value = float(m.value)
        if not math.isfinite(value):
            raise ValueError(f"claim {cid!r}: measured value is {value}, not a finite number")
        threshold = float(spec.threshold[preset])
        holds = bool(_OPS[spec.op](value, threshold))
        expected = spec.expected_for(preset)
        passed = holds if expected == "replicated" else not holds
        results.append(
            ClaimResult(
                id=cid,
                statement=spec.statement,
                value=value,
                spread=None if m.spread is None else float(m.spread),
                detail=m.detail,
                op=spec.op,
                threshold=threshold,
                holds=holds,
                expected=expected,
                passed=passed,
                source_value=spec.source_value,
                unit=spec.unit,
            )
        )
    return results


def write_json_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """Write JSON to ``path`` atomically (temporary file in the same folder + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def check_claims(
    chapter: str,
    preset: str,
    measured: dict[str, Measured | float],
    *,
    seeds: list[int],
    wall_time_s: float,
    device: str,
    output_dir: str | os.PathLike | None,
    specs: dict[str, ClaimSpec] | None = None,
) -> ClaimsReport:
    """Evaluate, write ``claims.json`` and fail loudly when a claim does not come out as documented.

    Parameters
    ----------
    chapter, preset : str
        Chapter id and preset name.
    measured : dict
        ``{claim_id: Measured(value, spread, detail)}``.
    seeds : list of int
        Seeds the measurement used.
    wall_time_s : float
        Wall time of the chapter run so far.
    device : str
        Where it ran (see :func:`repgeom_lite.device.describe_device`).
    output_dir : path or None
        Folder for ``claims.json``; ``None`` writes nothing.
    specs : dict, optional
        Claim specs; default: the chapter module's ``CLAIMS``.

    Returns
    -------
    ClaimsReport
        Displayed as a table in Jupyter.

    Raises
    ------
    AssertionError
        When any claim does not come out as documented (after writing the file,
        so the failing numbers are kept).
    """
    if specs is None:
        from .chapters import chapter_module

        specs = chapter_module(chapter).CLAIMS
    results = evaluate_claims(specs, measured, preset)
    report = ClaimsReport(
        chapter=str(chapter),
        preset=preset,
        seeds=[int(s) for s in seeds],
        wall_time_s=float(wall_time_s),
        device=device,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        claims=results,
    )
    if output_dir is not None:
        write_json_atomic(report.to_dict(), Path(output_dir) / "claims.json")
    failed = [c for c in results if not c.passed]
    if failed:
        raise AssertionError(
            f"{len(failed)} claim(s) of chapter {chapter} did not come out as documented "
            f"at preset {preset!r}:\n"
            + "\n".join(
                f"  {c.id}: {c.statement}: measured {c.value:.4g}"
                + (f" ± {c.spread:.3g}" if c.spread is not None else "")
                + f", needs {c.op} {c.threshold:g} (documented outcome: {c.expected})"
                for c in failed
            )
        )
    return report


def load_claims(path: str | os.PathLike) -> dict[str, Any]:
    """Read a ``claims.json`` written by :func:`check_claims`."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
