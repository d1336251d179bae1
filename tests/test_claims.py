"""Claim checks: intervals, three verdicts, documented outcomes, claims.json (both formats)."""

import json
import warnings
from pathlib import Path

import pytest

from repgeom_lite.claims import (
    INCONCLUSIVE,
    NOT_REPLICATED,
    REPLICATED,
    ClaimsFileError,
    ClaimSpec,
    ClaimWarning,
    Measured,
    check_claims,
    compare_outcome,
    evaluate_claims,
    interval_verdict,
    load_claims,
    read_claims,
    write_json_atomic,
)
from repgeom_lite.results import COMMITTED_DIR

SPECS = {
    "gap": ClaimSpec(statement="tanh − ReLU > threshold", threshold={"small": 0.1, "full": 0.2}),
    "low": ClaimSpec(statement="value < threshold", op="<", threshold={"small": 0.5, "full": 0.5}),
}


def spec(op=">", t=0.0, expected=REPLICATED):
    return {"c": ClaimSpec(statement="c holds", op=op, threshold={"small": t}, expected={"small": expected})}


def run(tmp_path, m, *, op=">", t=0.0, expected=REPLICATED):
    return check_claims("01", "small", {"c": m}, seeds=[0, 1], wall_time_s=1.0, device="cpu",
                        output_dir=tmp_path, specs=spec(op, t, expected))


# --------------------------------------------------------------------------- the verdict rule
@pytest.mark.parametrize(
    "op, lo, hi, verdict",
    [
        (">", 0.1, 0.3, REPLICATED), (">", -0.3, -0.1, NOT_REPLICATED), (">", -0.1, 0.1, INCONCLUSIVE),
        (">", 0.0, 0.2, INCONCLUSIVE),   # touches the threshold: > fails at lo
        (">", -0.2, 0.0, NOT_REPLICATED),
        (">=", 0.0, 0.2, REPLICATED), (">=", -0.2, -0.01, NOT_REPLICATED), (">=", -0.2, 0.0, INCONCLUSIVE),
        ("<", -0.3, -0.1, REPLICATED), ("<", 0.1, 0.3, NOT_REPLICATED), ("<", -0.1, 0.1, INCONCLUSIVE),
        ("<", -0.2, 0.0, INCONCLUSIVE), ("<", 0.0, 0.2, NOT_REPLICATED),
        ("<=", -0.2, 0.0, REPLICATED), ("<=", 0.01, 0.2, NOT_REPLICATED), ("<=", 0.0, 0.2, INCONCLUSIVE),
        (">", 0.5, 0.5, REPLICATED), (">", 0.0, 0.0, NOT_REPLICATED),   # degenerate intervals
    ],
)
def test_interval_verdict_all_ops(op, lo, hi, verdict):
    assert interval_verdict(lo, hi, op, 0.0) == verdict


def test_interval_verdict_rejects_bad_input():
    with pytest.raises(ValueError, match="op must be one of"):
        interval_verdict(0, 1, "!=", 0)
    with pytest.raises(ValueError, match="lo <= hi"):
        interval_verdict(1, 0, ">", 0)
    with pytest.raises(ValueError, match="finite"):
        interval_verdict(float("nan"), 1, ">", 0)


def test_compare_outcome():
    assert compare_outcome(REPLICATED, REPLICATED) == "as documented"
    assert compare_outcome(REPLICATED, NOT_REPLICATED) == "contradicts"
    assert compare_outcome(NOT_REPLICATED, REPLICATED) == "contradicts"
    assert compare_outcome(INCONCLUSIVE, REPLICATED) == "moved"
    assert compare_outcome(NOT_REPLICATED, INCONCLUSIVE) == "moved"


# --------------------------------------------------------------------------- Measured
def test_measured_interval_forms_and_kinds():
    a = Measured(0.2, lo=0.1, hi=0.3, detail="95% bootstrap CI")
    b = Measured(0.2, interval=(0.1, 0.3))
    assert a.bounds() == b.bounds() == (0.1, 0.3) and a.interval_kind == b.interval_kind == "interval"
    s = Measured(0.2, 0.05)  # transitional: value ± spread
    assert s.interval_kind == "value ± spread" and s.bounds() == pytest.approx((0.15, 0.25))
    p = Measured(0.2)  # transitional: degenerate interval
    assert p.interval_kind == "point" and p.bounds() == (0.2, 0.2)
    # an interval given wins over the spread for the verdict
    assert Measured(0.2, 0.5, lo=0.1, hi=0.3).bounds() == (0.1, 0.3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lo": 0.1}, "both ends"),
        ({"lo": 0.3, "hi": 0.1}, "lo <= hi"),
        ({"lo": float("-inf"), "hi": 0.1}, "finite"),
        ({"interval": (0.1, 0.3), "lo": 0.1, "hi": 0.3}, "not both"),
        ({"interval": 0.3}, "pair"),
        ({"spread": -0.1}, "spread must be >= 0"),
    ],
)
def test_measured_rejects_bad_intervals(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Measured(0.2, **kwargs)


# --------------------------------------------------------------------------- evaluation
def test_evaluate_uses_the_presets_threshold():
    res = evaluate_claims(SPECS, {"gap": Measured(0.15, 0.02), "low": 0.3}, "small")
    assert [r.verdict for r in res] == [REPLICATED, REPLICATED] and all(r.passed for r in res)
    res = evaluate_claims(SPECS, {"gap": Measured(0.15, 0.02), "low": 0.3}, "full")
    assert res[0].verdict == NOT_REPLICATED and res[0].check == "contradicts" and not res[0].passed
    assert res[0].threshold == 0.2 and res[0].spread == 0.02 and res[0].holds is False


def test_the_three_verdicts_with_intervals(tmp_path):
    r = run(tmp_path, Measured(0.2, lo=0.1, hi=0.3)).claims[0]
    assert (r.verdict, r.check, r.lo, r.hi, r.interval_kind) == (REPLICATED, "as documented", 0.1, 0.3, "interval")
    r = run(tmp_path, Measured(-0.2, lo=-0.3, hi=-0.1), expected=NOT_REPLICATED).claims[0]
    assert (r.verdict, r.check) == (NOT_REPLICATED, "as documented")
    r = run(tmp_path, Measured(0.05, lo=-0.1, hi=0.2), expected=INCONCLUSIVE).claims[0]
    assert (r.verdict, r.check) == (INCONCLUSIVE, "as documented")
    assert r.holds is True  # the point value is on the claim's side, the interval is not


@pytest.mark.parametrize(
    "measured, expected",
    [
        (Measured(0.2, lo=0.1, hi=0.3), NOT_REPLICATED),   # replicated where "not replicated" is documented
        (Measured(-0.2, lo=-0.3, hi=-0.1), REPLICATED),   # not replicated where "replicated" is documented
        (Measured(-0.2, 0.05), REPLICATED),                # transitional value ± spread
        (-0.2, REPLICATED),                                # a bare number (point)
    ],
)
def test_a_contradiction_raises_with_the_numbers_after_writing(tmp_path, measured, expected):
    with pytest.raises(AssertionError, match=r"(?s)1 claim\(s\) of chapter 01 contradict.*c: c holds: measured -?0\.2"):
        run(tmp_path, measured, expected=expected)
    data = load_claims(tmp_path / "claims.json")
    assert data["claims"][0]["check"] == "contradicts" and data["all_passed"] is False


@pytest.mark.parametrize(
    "measured, expected, verdict",
    [
        (Measured(0.05, lo=-0.1, hi=0.2), REPLICATED, INCONCLUSIVE),       # to inconclusive
        (Measured(0.05, lo=-0.1, hi=0.2), NOT_REPLICATED, INCONCLUSIVE),
        (Measured(0.2, lo=0.1, hi=0.3), INCONCLUSIVE, REPLICATED),         # from inconclusive
        (Measured(-0.2, lo=-0.3, hi=-0.1), INCONCLUSIVE, NOT_REPLICATED),
    ],
)
def test_a_move_to_or_from_inconclusive_warns_but_does_not_raise(tmp_path, measured, expected, verdict):
    with pytest.warns(ClaimWarning, match=rf"verdict moved.*-> {verdict} \(documented outcome: {expected}\)"):
        report = run(tmp_path, measured, expected=expected)
    (c,) = report.claims
    assert c.verdict == verdict and c.check == "moved" and not report.all_passed
    data = json.loads((tmp_path / "claims.json").read_text())
    assert data["claims"][0]["check"] == "moved" and data["claims"][0]["verdict"] == verdict
    assert "⚠ moved" in report._repr_markdown_()


def test_chapter_4_seed_noise_case_warns_instead_of_crashing(tmp_path):
    """Issue 15: documented 'not replicated' from 0.029 vs 0.03; at other seeds 0.041 ± 0.049."""
    with pytest.warns(ClaimWarning, match="pe_peak"):
        report = check_claims(
            "04", "full", {"pe_peak": Measured(0.041, 0.049)}, seeds=[1, 2], wall_time_s=1.0, device="cpu",
            output_dir=None,
            specs={"pe_peak": ClaimSpec("PE peak", {"full": 0.03}, expected={"full": NOT_REPLICATED})},
        )
    assert report.claims[0].verdict == INCONCLUSIVE and report.claims[0].interval_kind == "value ± spread"


def test_warning_is_shown_every_time(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        for _ in range(2):
            run(tmp_path, Measured(0.05, lo=-0.1, hi=0.2))
    assert sum(issubclass(w.category, ClaimWarning) for w in caught) == 2


def test_no_warning_when_as_documented(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClaimWarning)
        report = run(tmp_path, Measured(0.2, lo=0.1, hi=0.3))
    assert report.all_passed
    md = report._repr_markdown_()
    assert "| c holds | 0.2 [0.1, 0.3] | > 0 | replicated | replicated | as documented |" in md


def test_claims_json_records_interval_kind_and_rule(tmp_path):
    check_claims("01", "small", {"gap": Measured(0.3, 0.01), "low": 0.1}, seeds=[0], wall_time_s=1.0,
                 device="cpu", output_dir=tmp_path, specs=SPECS)
    data = json.loads((tmp_path / "claims.json").read_text())
    assert data["format"] == "repgeom_lite.claims/2" and "straddles" in data["verdict_rule"]
    gap, low = data["claims"]
    assert gap["interval_kind"] == "value ± spread" and gap["lo"] == pytest.approx(0.29)
    assert low["interval_kind"] == "point" and low["lo"] == low["hi"] == 0.1
    assert set(data["interval_kinds"]) == {"interval", "value ± spread", "point"}
    # written and read back: the same verdicts
    assert [c.verdict for c in read_claims(tmp_path / "claims.json").claims] == [REPLICATED, REPLICATED]


@pytest.mark.parametrize(
    "measured, match",
    [
        ({"gap": 0.3}, "missing \\['low'\\]"),
        ({"gap": 0.3, "low": 0.1, "other": 1.0}, "unknown \\['other'\\]"),
        ({"gap": float("nan"), "low": 0.1}, "claim 'gap': measured value is nan"),
        ({"gap": Measured(0.3, float("inf")), "low": 0.1}, "claim 'gap': spread is inf"),
    ],
)
def test_evaluate_rejects_bad_measurements(measured, match):
    with pytest.raises(ValueError, match=match):
        evaluate_claims(SPECS, measured, "small")


def test_evaluate_rejects_missing_threshold():
    with pytest.raises(ValueError, match="no threshold for preset 'tiny'"):
        evaluate_claims(SPECS, {"gap": 1.0, "low": 0.0}, "tiny")


def test_spec_validation():
    with pytest.raises(ValueError, match="op must be one of"):
        ClaimSpec(statement="x", threshold={"small": 0}, op="!=")
    with pytest.raises(ValueError, match="expected\\['full'\\] must be one of"):
        ClaimSpec(statement="x", threshold={"small": 0}, expected={"full": "maybe"})
    assert ClaimSpec("x", {"small": 0}, expected={"small": INCONCLUSIVE}).expected_for("small") == INCONCLUSIVE


def test_atomic_write_leaves_no_temp_files(tmp_path):
    path = write_json_atomic({"a": 1}, tmp_path / "sub" / "x.json")
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]
    assert path.stat().st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------- reading claims.json
def old_claim(**over):
    """An entry of the pre-verdict format (holds booleans, two-valued expected)."""
    c = {"id": "gap", "statement": "gap > t", "value": 0.25, "spread": 0.01, "detail": "", "op": ">",
         "threshold": 0.05, "holds": True, "expected": "replicated", "passed": True, "source_value": "",
         "unit": ""}
    c.update(over)
    return c


def write(tmp_path, claims, **top) -> Path:
    data = {"chapter": "01", "preset": "small", "seeds": [0, 1], "n_seeds": 2, "wall_time_s": 3.0,
            "device": "cpu", "created": "2026-01-02T03:04:05+0000", "all_passed": True, "claims": claims}
    data.update(top)
    f = tmp_path / "claims.json"
    f.write_text(json.dumps(data))
    return f


def test_old_format_verdicts_come_from_the_numbers(tmp_path):
    f = write(tmp_path, [
        old_claim(),
        old_claim(id="straddles", value=0.029, spread=0.047, threshold=0.03, holds=False,
                  expected="not replicated"),
        old_claim(id="below", op="<", value=-0.38, spread=0.03, threshold=-0.15),
        old_claim(id="point", value=0.0, spread=None, threshold=0.0, op=">=", holds=True),
    ])
    report = read_claims(f)
    got = {c.id: (c.verdict, c.check, c.interval_kind) for c in report.claims}
    assert got == {
        "gap": (REPLICATED, "as documented", "value ± spread"),
        "straddles": (INCONCLUSIVE, "moved", "value ± spread"),
        "below": (REPLICATED, "as documented", "value ± spread"),
        "point": (REPLICATED, "as documented", "point"),
    }
    assert load_claims(f)["claims"][0]["holds"] is True  # returned as written


def test_committed_old_format_files_read():
    for path in sorted(COMMITTED_DIR.glob("*/claims.json")):
        report = read_claims(path)
        assert report.claims and report.chapter == path.parent.name[:2]
        assert not any(c.contradicts for c in report.claims), path


@pytest.mark.parametrize(
    "claim, match",
    [
        (old_claim(holds="false"), r"claims\[0\] \('gap'\): field 'holds' must be true or false, got 'false'"),
        (old_claim(holds=False), r"field 'holds' is false but value 0.25 > threshold 0.05 is true"),
        (old_claim(value="0.25"), r"field 'value' must be a finite number"),
        (old_claim(value=True), r"field 'value' must be a finite number"),
        (old_claim(value=None), r"field 'value' must be a finite number"),
        ({k: v for k, v in old_claim().items() if k != "value"}, r"field 'value' is missing"),
        ({k: v for k, v in old_claim().items() if k != "id"}, r"field 'id' is missing"),
        (old_claim(op="=>"), r"field 'op' must be one of"),
        (old_claim(threshold=float("nan")), r"field 'threshold' must be a finite number"),
        (old_claim(spread=-1), r"field 'spread' must be null or a finite number >= 0"),
        (old_claim(expected="maybe"), r"field 'expected' must be one of"),
        (old_claim(lo=0.2), r"'lo' and 'hi' must be given together"),
        (old_claim(lo=0.3, hi=0.2), r"lo > hi"),
        (old_claim(lo=0.2, hi=0.3, verdict="not replicated"), r"field 'verdict' is 'not replicated' but .* gives 'replicated'"),
        (old_claim(verdict="yes"), r"field 'verdict' must be one of"),
        (old_claim(interval_kind="interval"), r"'lo'/'hi' are missing"),
        (old_claim(statement=3), r"field 'statement' must be a string"),
        ("not an object", r"claims\[0\] must be an object"),
    ],
)
def test_malformed_claims_give_clear_errors(tmp_path, claim, match):
    f = write(tmp_path, [claim])
    for reader in (load_claims, read_claims):
        with pytest.raises(ClaimsFileError, match=match) as err:
            reader(f)
        assert str(f) in str(err.value)  # the message names the file


@pytest.mark.parametrize(
    "content, match",
    [
        ("{broken", "cannot read claims file"),
        (json.dumps([1, 2]), "expected an object with a 'claims' list"),
        (json.dumps({"chapter": "01"}), "expected an object with a 'claims' list"),
        (json.dumps({"claims": [], "seeds": "0,1"}), "field 'seeds' must be a list of integers"),
        (json.dumps({"claims": [], "chapter": 1}), "field 'chapter' must be a string"),
        (json.dumps({"claims": [old_claim(), old_claim()]}), "claim id 'gap' appears twice"),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path, content, match):
    f = tmp_path / "claims.json"
    f.write_text(content)
    with pytest.raises(ClaimsFileError, match=match):
        load_claims(f)
    assert issubclass(ClaimsFileError, ValueError)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ClaimsFileError, match="cannot read claims file .*nope.json"):
        load_claims(tmp_path / "nope.json")


def test_load_claims_keeps_empty_and_minimal_files(tmp_path):
    f = tmp_path / "claims.json"
    f.write_text('{"claims": []}')
    assert load_claims(f) == {"claims": []}
