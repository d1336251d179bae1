"""Claim checks: each finding as an inequality on a measured effect with an interval.

A chapter declares its claims once, in its module's ``CLAIMS`` dict::

    CLAIMS = {
        "target_alignment_gap": ClaimSpec(
            statement="target alignment: tanh − ReLU > threshold",
            op=">",
            threshold={"small": 0.05, "full": 0.05},
            source_value="≈ 0.22 (tanh 1.0 vs ReLU 0.78, SPEC quick re-run)",
            expected={"full": "replicated"},
        ),
    }

and ends its notebook with :func:`check_claims`, which gives every claim one of
three **verdicts** from the interval of its measured effect (:class:`Measured`)::

    replicated      the inequality  value <op> threshold  holds at every point of [lo, hi]
    not replicated  it fails at every point of [lo, hi]
    inconclusive    it holds at some points and fails at others (the interval straddles)

For ``>`` that is: replicated when ``lo > threshold``, not replicated when
``hi <= threshold``; for ``>=``: ``lo >= t`` / ``hi < t``; for ``<``: ``hi < t`` /
``lo >= t``; for ``<=``: ``hi <= t`` / ``lo > t``.

Each claim's documented outcome (``ClaimSpec.expected``, per preset) is one of the
three verdicts. :func:`check_claims` writes ``claims.json`` and then

* raises ``AssertionError`` (with the numbers) only when the verdict contradicts the
  documented outcome outright: *replicated* where *not replicated* is documented, or
  the reverse;
* warns with :class:`ClaimWarning` (shown in the notebook cell, and recorded as
  ``"check": "moved"`` in ``claims.json`` and on the scoreboard) when the verdict
  moves to or from *inconclusive*: a reader who reruns a chapter at other seeds
  sees that the evidence changed, without a crash for what may be noise.

Intervals. A :class:`Measured` carries an interval ``lo``/``hi`` (e.g. a bootstrap
confidence interval from :mod:`repgeom_lite.stats`). Transitional rule, until every
chapter gives intervals: a measurement with only ``spread`` (a standard deviation
over seeds) gets the interval ``value ± spread``, and one with neither gets the
degenerate interval ``[value, value]`` (the verdict is then the inequality at the
point value, never *inconclusive*). ``claims.json`` records which kind each claim
used (``"interval_kind"``: ``"interval"``, ``"value ± spread"`` or ``"point"``).

Reading. :func:`load_claims` returns a ``claims.json`` as written, after a schema
check; :func:`read_claims` returns it as a :class:`ClaimsReport` whose verdicts are
derived again from value, interval, operator and threshold. Files written before
verdicts existed (``holds`` booleans, ``expected`` of two values) are read the same
way: their verdict comes from the numbers (with the transitional interval rule),
never from the stored ``holds``, which must agree with the numbers.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import InitVar, asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "REPLICATED",
    "NOT_REPLICATED",
    "INCONCLUSIVE",
    "VERDICTS",
    "INTERVAL_KINDS",
    "FORMAT",
    "ClaimSpec",
    "Measured",
    "ClaimResult",
    "ClaimsReport",
    "ClaimWarning",
    "ClaimsFileError",
    "interval_verdict",
    "compare_outcome",
    "evaluate_claims",
    "check_claims",
    "load_claims",
    "read_claims",
    "write_json_atomic",
]

FORMAT = "repgeom_lite.claims/2"

REPLICATED = "replicated"
NOT_REPLICATED = "not replicated"
INCONCLUSIVE = "inconclusive"
VERDICTS = (REPLICATED, NOT_REPLICATED, INCONCLUSIVE)

#: ``"check"`` values: the verdict equals the documented outcome; it moved to or from
#: inconclusive (warned); it contradicts the documented outcome (raised).
AS_DOCUMENTED = "as documented"
MOVED = "moved"
CONTRADICTS = "contradicts"
CHECKS = (AS_DOCUMENTED, MOVED, CONTRADICTS)

#: How a claim's interval was obtained.
INTERVAL_KINDS = {
    "interval": "interval given with the measurement (e.g. a bootstrap CI)",
    "value ± spread": "transitional: value ± spread (sd over seeds), no interval given",
    "point": "transitional: no interval or spread given, degenerate interval [value, value]",
}

VERDICT_RULE = (
    "replicated: value <op> threshold holds over the whole interval [lo, hi]; "
    "not replicated: it fails over the whole interval; inconclusive: the interval straddles the threshold"
)

_OPS = {
    ">": lambda v, t: v > t,
    ">=": lambda v, t: v >= t,
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
}


class ClaimWarning(UserWarning):
    """A claim's verdict moved to or from *inconclusive* relative to its documented outcome."""


class ClaimsFileError(ValueError):
    """A ``claims.json`` that cannot be read or does not follow the schema (names file and field)."""


def _show_claim_warnings_every_time() -> None:
    """Show every ClaimWarning (not once per code location) unless a filter already names it.

    Appended, so that filters the user sets (``"error"``, ``"ignore"``) keep priority.
    Called before warning, not at import, because test runners and notebook kernels
    may reset the filter list after import.
    """
    if not any(f[2] is ClaimWarning for f in warnings.filters):
        warnings.filterwarnings("always", category=ClaimWarning, append=True)


def interval_verdict(lo: float, hi: float, op: str, threshold: float) -> str:
    """The verdict of the inequality ``x <op> threshold`` over the interval ``[lo, hi]``.

    Returns
    -------
    str
        ``"replicated"`` when it holds at every point of the interval,
        ``"not replicated"`` when it fails at every point, ``"inconclusive"`` otherwise.

    Raises
    ------
    ValueError
        Unknown ``op``, non-finite bounds or ``lo > hi``.
    """
    if op not in _OPS:
        raise ValueError(f"op must be one of {', '.join(_OPS)}, got {op!r}")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"interval bounds must be finite, got [{lo}, {hi}]")
    if lo > hi:
        raise ValueError(f"interval must have lo <= hi, got [{lo}, {hi}]")
    holds = _OPS[op]
    # The set where the inequality holds is a half-line, so checking the two ends decides.
    at_lo, at_hi = holds(lo, threshold), holds(hi, threshold)
    if at_lo and at_hi:
        return REPLICATED
    if not at_lo and not at_hi:
        return NOT_REPLICATED
    return INCONCLUSIVE


def compare_outcome(verdict: str, expected: str) -> str:
    """``"as documented"``, ``"moved"`` (to or from inconclusive) or ``"contradicts"``."""
    if verdict == expected:
        return AS_DOCUMENTED
    if INCONCLUSIVE in (verdict, expected):
        return MOVED
    return CONTRADICTS


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
        Documented outcome per preset: ``"replicated"`` (default), ``"not replicated"``
        or ``"inconclusive"``.
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
            if outcome not in VERDICTS:
                raise ValueError(f"expected[{preset!r}] must be one of {VERDICTS}, got {outcome!r}")

    def expected_for(self, preset: str) -> str:
        return self.expected.get(preset, REPLICATED)


@dataclass(frozen=True)
class Measured:
    """A measured effect: its value and the interval that decides its verdict.

    ``Measured(0.22, lo=0.17, hi=0.27, detail="95% bootstrap CI over seeds")`` or
    ``Measured(0.22, interval=(0.17, 0.27), detail=...)``.

    Transitional rule (until the chapters give intervals from :mod:`repgeom_lite.stats`):
    without ``lo``/``hi``, a measurement with ``spread`` gets the interval
    ``value ± spread`` (``interval_kind == "value ± spread"``) and one with neither
    gets ``[value, value]`` (``interval_kind == "point"``).

    Attributes
    ----------
    value : float
        The effect (e.g. a mean difference across seeds).
    spread : float or None
        Its spread across seeds (a standard deviation; say so in ``detail``).
    detail : str
        Free text shown next to the number (e.g. ``"mean, 95% bootstrap CI over 5 seeds"``).
    lo, hi : float or None
        The interval, both or neither.
    interval : (float, float), optional
        Init-only alternative to ``lo=``/``hi=``.

    Raises
    ------
    ValueError
        Only one of ``lo``/``hi``, both ``interval`` and ``lo``/``hi``, ``lo > hi``,
        non-finite bounds or a negative spread.
    """

    value: float
    spread: float | None = None
    detail: str = ""
    lo: float | None = None
    hi: float | None = None
    interval: InitVar[tuple[float, float] | None] = None

    def __post_init__(self, interval: tuple[float, float] | None) -> None:
        if interval is not None:
            if self.lo is not None or self.hi is not None:
                raise ValueError("give the interval either as interval=(lo, hi) or as lo=, hi=, not both")
            try:
                lo, hi = interval
            except (TypeError, ValueError):
                raise ValueError(f"interval must be a pair (lo, hi), got {interval!r}") from None
            object.__setattr__(self, "lo", lo)
            object.__setattr__(self, "hi", hi)
        if (self.lo is None) != (self.hi is None):
            raise ValueError(f"give both ends of the interval, got lo={self.lo}, hi={self.hi}")
        if self.lo is not None:
            lo, hi = float(self.lo), float(self.hi)
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError(f"interval bounds must be finite, got [{lo}, {hi}]")
            if lo > hi:
                raise ValueError(f"interval must have lo <= hi, got [{lo}, {hi}]")
            object.__setattr__(self, "lo", lo)
            object.__setattr__(self, "hi", hi)
        if self.spread is not None and not float(self.spread) >= 0:
            raise ValueError(f"spread must be >= 0, got {self.spread}")

    @property
    def interval_kind(self) -> str:
        """``"interval"``, ``"value ± spread"`` or ``"point"`` (see the class docstring)."""
        if self.lo is not None:
            return "interval"
        if self.spread is not None:
            return "value ± spread"
        return "point"

    def bounds(self) -> tuple[float, float]:
        """The interval used for the verdict, ``(lo, hi)``, after the transitional rule."""
        if self.lo is not None:
            return float(self.lo), float(self.hi)
        value = float(self.value)
        s = float(self.spread) if self.spread is not None else 0.0
        return value - s, value + s


@dataclass(frozen=True)
class ClaimResult:
    """One evaluated claim, as written to ``claims.json``.

    ``verdict`` comes from the interval ``[lo, hi]`` (:func:`interval_verdict`);
    ``holds`` is the inequality at the point value; ``check`` compares the verdict
    with the documented outcome ``expected`` (:func:`compare_outcome`) and
    ``passed`` is ``check == "as documented"``.
    """

    id: str
    statement: str
    value: float
    spread: float | None
    lo: float
    hi: float
    interval_kind: str
    detail: str
    op: str
    threshold: float
    verdict: str
    expected: str
    check: str
    holds: bool
    passed: bool
    source_value: str
    unit: str

    @property
    def contradicts(self) -> bool:
        return self.check == CONTRADICTS

    @property
    def moved(self) -> bool:
        return self.check == MOVED

    def interval_text(self, digits: int = 3) -> str:
        """``"0.22 [0.17, 0.27]"``, ``"0.22 ± 0.05"`` or ``"0.22"`` depending on the interval kind."""
        v = f"{self.value:.{digits}g}"
        if self.interval_kind == "interval":
            return f"{v} [{self.lo:.{digits}g}, {self.hi:.{digits}g}]"
        if self.interval_kind == "value ± spread":
            return f"{v} ± {self.spread:.{digits}g}"
        return v

    def check_message(self) -> str:
        """One line with the numbers, for errors and warnings."""
        return (
            f"{self.id}: {self.statement}: measured {self.interval_text(4)}"
            f"{' (interval ' + self.interval_kind + ')' if self.interval_kind != 'interval' else ''}"
            f", needs {self.op} {self.threshold:g} -> {self.verdict} (documented outcome: {self.expected})"
        )


def _result(cid: str, spec_like: Mapping[str, Any], m: Measured, threshold: float, expected: str) -> ClaimResult:
    value = float(m.value)
    lo, hi = m.bounds()
    op = spec_like["op"]
    verdict = interval_verdict(lo, hi, op, threshold)
    check = compare_outcome(verdict, expected)
    return ClaimResult(
        id=cid,
        statement=spec_like["statement"],
        value=value,
        spread=None if m.spread is None else float(m.spread),
        lo=lo,
        hi=hi,
        interval_kind=m.interval_kind,
        detail=m.detail,
        op=op,
        threshold=threshold,
        verdict=verdict,
        expected=expected,
        check=check,
        holds=bool(_OPS[op](value, threshold)),
        passed=check == AS_DOCUMENTED,
        source_value=spec_like["source_value"],
        unit=spec_like["unit"],
    )


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
        """Every verdict equals its documented outcome."""
        return all(c.passed for c in self.claims)

    @property
    def contradictions(self) -> list[ClaimResult]:
        return [c for c in self.claims if c.contradicts]

    @property
    def moved(self) -> list[ClaimResult]:
        return [c for c in self.claims if c.moved]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "chapter": self.chapter,
            "preset": self.preset,
            "seeds": list(self.seeds),
            "n_seeds": len(self.seeds),
            "wall_time_s": self.wall_time_s,
            "device": self.device,
            "created": self.created,
            "all_passed": self.all_passed,
            "verdict_rule": VERDICT_RULE,
            "interval_kinds": dict(INTERVAL_KINDS),
            "claims": [asdict(c) for c in self.claims],
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "claims.json") -> ClaimsReport:
        """Validate a ``claims.json`` (current or pre-verdict format) and derive every verdict.

        Raises
        ------
        ClaimsFileError
            Naming ``source`` and the offending field.
        """
        _validate(data, source)
        claims = []
        for i, c in enumerate(data["claims"]):
            where = f"{source}: claims[{i}] ({c['id']!r})"
            m = Measured(
                c["value"],
                c.get("spread"),
                str(c.get("detail", "")),
                lo=c.get("lo") if c.get("interval_kind", "interval") == "interval" else None,
                hi=c.get("hi") if c.get("interval_kind", "interval") == "interval" else None,
            )
            spec_like = {
                "op": c["op"],
                "statement": str(c.get("statement", c["id"])),
                "source_value": str(c.get("source_value", "")),
                "unit": str(c.get("unit", "")),
            }
            r = _result(c["id"], spec_like, m, float(c["threshold"]), c.get("expected", REPLICATED))
            if "verdict" in c and c["verdict"] != r.verdict:
                raise ClaimsFileError(
                    f"{where}: field 'verdict' is {c['verdict']!r} but value {r.interval_text(4)} "
                    f"{r.op} {r.threshold:g} gives {r.verdict!r}"
                )
            claims.append(r)
        seeds = data.get("seeds", [])
        return cls(
            chapter=str(data.get("chapter", "")),
            preset=str(data.get("preset", "")),
            seeds=[int(s) for s in seeds],
            wall_time_s=float(data.get("wall_time_s", float("nan"))),
            device=str(data.get("device", "")),
            created=str(data.get("created", "")),
            claims=claims,
        )

    def to_markdown(self) -> str:
        rows = [
            "| claim | measured | threshold | verdict | documented outcome | check |",
            "|---|---|---|---|---|---|",
        ]
        marks = {AS_DOCUMENTED: "as documented", MOVED: "⚠ moved", CONTRADICTS: "✗ CONTRADICTS"}
        for c in self.claims:
            rows.append(
                f"| {c.statement} | {c.interval_text()}{(' ' + c.unit) if c.unit else ''} "
                f"| {c.op} {c.threshold:g} | {c.verdict} | {c.expected} | {marks[c.check]} |"
            )
        kinds = sorted({c.interval_kind for c in self.claims} - {"interval"})
        if kinds:
            rows.append("")
            rows.append(
                "Intervals: " + "; ".join(f"*{k}* — {INTERVAL_KINDS[k]}" for k in kinds) + "."
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
            lines.append(f"  [{c.check}] {c.check_message()}")
        return "\n".join(lines)


def evaluate_claims(
    specs: dict[str, ClaimSpec],
    measured: dict[str, Measured | float],
    preset: str,
) -> list[ClaimResult]:
    """Evaluate measured effects against the claims' thresholds for ``preset``.

    A plain number is taken as ``Measured(value)`` (a point: degenerate interval).

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
        if m.spread is not None and not math.isfinite(float(m.spread)):
            raise ValueError(f"claim {cid!r}: spread is {m.spread}, not a finite number")
        spec_like = {
            "op": spec.op,
            "statement": spec.statement,
            "source_value": spec.source_value,
            "unit": spec.unit,
        }
        results.append(_result(cid, spec_like, m, float(spec.threshold[preset]), spec.expected_for(preset)))
    return results


def write_json_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """Write JSON to ``path`` atomically, mode 0644 (:func:`repgeom_lite.io.write_json`).

    Non-finite floats are written as ``null`` (which the claims schema then rejects).
    """
    from .io import write_json

    return write_json(obj, path, indent=2)


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
    """Evaluate, write ``claims.json``, warn on a move to/from inconclusive, fail on a contradiction.

    Parameters
    ----------
    chapter, preset : str
        Chapter id and preset name.
    measured : dict
        ``{claim_id: Measured(value, lo=..., hi=..., detail=...)}`` (or a plain number).
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

    Warns
    -----
    ClaimWarning
        One per claim whose verdict moved to or from *inconclusive* relative to its
        documented outcome.

    Raises
    ------
    AssertionError
        When a verdict contradicts its documented outcome (replicated ↔ not
        replicated), after writing the file so the numbers are kept.
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
    if report.moved:
        _show_claim_warnings_every_time()
    for c in report.moved:
        warnings.warn(
            f"chapter {chapter}, preset {preset!r}: verdict moved from the documented outcome: "
            + c.check_message(),
            ClaimWarning,
            stacklevel=2,
        )
    failed = report.contradictions
    if failed:
        raise AssertionError(
            f"{len(failed)} claim(s) of chapter {chapter} contradict their documented outcome "
            f"at preset {preset!r}:\n" + "\n".join("  " + c.check_message() for c in failed)
        )
    return report


# --------------------------------------------------------------------------- reading
def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _validate(data: Any, source: str) -> None:
    """Schema check of a ``claims.json`` (both formats); raises :class:`ClaimsFileError`."""
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ClaimsFileError(
            f"{source} is not a claims.json written by repgeom_lite.claims.check_claims "
            "(expected an object with a 'claims' list)"
        )
    for key in ("chapter", "preset", "device", "created"):
        if key in data and not isinstance(data[key], str):
            raise ClaimsFileError(f"{source}: field {key!r} must be a string, got {data[key]!r}")
    if "seeds" in data and not (
        isinstance(data["seeds"], list) and all(isinstance(s, int) and not isinstance(s, bool) for s in data["seeds"])
    ):
        raise ClaimsFileError(f"{source}: field 'seeds' must be a list of integers")
    if "wall_time_s" in data and not _is_number(data["wall_time_s"]):
        raise ClaimsFileError(f"{source}: field 'wall_time_s' must be a number, got {data['wall_time_s']!r}")
    seen = set()
    for i, c in enumerate(data["claims"]):
        where = f"{source}: claims[{i}]"
        if not isinstance(c, dict):
            raise ClaimsFileError(f"{where} must be an object, got {type(c).__name__}")
        if not isinstance(c.get("id"), str) or not c["id"]:
            raise ClaimsFileError(f"{where}: field 'id' is missing or not a non-empty string")
        if c["id"] in seen:
            raise ClaimsFileError(f"{where}: claim id {c['id']!r} appears twice")
        seen.add(c["id"])
        where = f"{where} ({c['id']!r})"
        for key in ("value", "threshold"):
            if key not in c:
                raise ClaimsFileError(f"{where}: field {key!r} is missing")
            if not _is_number(c[key]) or not math.isfinite(c[key]):
                raise ClaimsFileError(f"{where}: field {key!r} must be a finite number, got {c[key]!r}")
        if c.get("op") not in _OPS:
            raise ClaimsFileError(f"{where}: field 'op' must be one of {', '.join(_OPS)}, got {c.get('op')!r}")
        spread = c.get("spread")
        if spread is not None and (not _is_number(spread) or not math.isfinite(spread) or spread < 0):
            raise ClaimsFileError(f"{where}: field 'spread' must be null or a finite number >= 0, got {spread!r}")
        kind = c.get("interval_kind")
        if kind is not None and kind not in INTERVAL_KINDS:
            raise ClaimsFileError(f"{where}: field 'interval_kind' must be one of {list(INTERVAL_KINDS)}, got {kind!r}")
        has_lo, has_hi = c.get("lo") is not None, c.get("hi") is not None
        if has_lo != has_hi:
            raise ClaimsFileError(f"{where}: fields 'lo' and 'hi' must be given together")
        if has_lo:
            lo, hi = c["lo"], c["hi"]
            if not (_is_number(lo) and _is_number(hi) and math.isfinite(lo) and math.isfinite(hi)):
                raise ClaimsFileError(f"{where}: fields 'lo'/'hi' must be finite numbers, got {lo!r}, {hi!r}")
            if lo > hi:
                raise ClaimsFileError(f"{where}: interval has lo > hi ({lo} > {hi})")
        elif kind == "interval":
            raise ClaimsFileError(f"{where}: interval_kind is 'interval' but 'lo'/'hi' are missing")
        expected = c.get("expected", REPLICATED)
        if expected not in VERDICTS:
            raise ClaimsFileError(f"{where}: field 'expected' must be one of {VERDICTS}, got {expected!r}")
        if "verdict" in c and c["verdict"] not in VERDICTS:
            raise ClaimsFileError(f"{where}: field 'verdict' must be one of {VERDICTS}, got {c['verdict']!r}")
        for key in ("holds", "passed"):
            if key in c and not isinstance(c[key], bool):
                raise ClaimsFileError(f"{where}: field {key!r} must be true or false, got {c[key]!r}")
        if "holds" in c and c["holds"] != _OPS[c["op"]](c["value"], c["threshold"]):
            raise ClaimsFileError(
                f"{where}: field 'holds' is {str(c['holds']).lower()} but value {c['value']!r} "
                f"{c['op']} threshold {c['threshold']!r} is {str(_OPS[c['op']](c['value'], c['threshold'])).lower()}"
            )
        for key in ("statement", "detail", "source_value", "unit"):
            if key in c and not isinstance(c[key], str):
                raise ClaimsFileError(f"{where}: field {key!r} must be a string, got {c[key]!r}")


def _read_json(path: str | os.PathLike) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as err:
        raise ClaimsFileError(f"cannot read claims file {path}: {err}") from None


def load_claims(path: str | os.PathLike) -> dict[str, Any]:
    """Read a ``claims.json`` as written (either format), after a schema check.

    Raises
    ------
    ClaimsFileError
        Unreadable JSON, or a field of the wrong type or inconsistent with the numbers
        (e.g. ``"holds"`` that disagrees with value, operator and threshold); the
        message names the file and the field.
    """
    data = _read_json(path)
    ClaimsReport.from_dict(data, source=str(path))
    return data


def read_claims(path: str | os.PathLike) -> ClaimsReport:
    """Read a ``claims.json`` (either format) with every verdict derived from its numbers.

    Raises
    ------
    ClaimsFileError
        As :func:`load_claims`.
    """
    return ClaimsReport.from_dict(_read_json(path), source=str(path))
