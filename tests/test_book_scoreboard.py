"""repgeom_lite.scoreboard: gathering claims.json files into the scoreboard table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repgeom_lite.chapters import CHAPTERS
from repgeom_lite.claims import ClaimSpec, Measured, check_claims
from repgeom_lite.scoreboard import (
    README_END,
    README_START,
    collect_claims,
    readme_table,
    scoreboard_markdown,
    update_readme,
)

SPECS = {
    "gap": ClaimSpec("tanh − ReLU > threshold", {"small": 0.05, "full": 0.05}, source_value="≈ 0.22"),
    "pe_peak": ClaimSpec(
        "PE peaks at λ = 0.005 | then falls",
        {"small": 0.0, "full": 0.0},
        expected={"full": "not replicated"},
    ),
}


def run_chapter(nb_dir: Path, chapter: str, preset: str, gap: float, pe: float, device: str) -> None:
    """Write a real claims.json with repgeom_lite.claims.check_claims."""
    check_claims(
        chapter, preset, {"gap": Measured(gap, 0.01), "pe_peak": pe},
        seeds=[0, 1, 2], wall_time_s=12.0, device=device,
        output_dir=nb_dir / "results" / f"{chapter}_{preset}", specs=SPECS,
    )


@pytest.fixture
def nb_dir(tmp_path):
    d = tmp_path / "notebooks"
    run_chapter(d, "01", "small", 0.2, 0.1, "cpu x86_64 (2 cores), torch 2.13.0")
    run_chapter(d, "01", "full", 0.25, -0.1, "NVIDIA H100 80GB HBM3 (cuda), torch 2.13.0")
    run_chapter(d, "03", "small", 0.3, 0.2, "cpu x86_64 (2 cores), torch 2.13.0")
    return d


def test_collect_claims_rows(nb_dir):
    rows = collect_claims(nb_dir)
    assert [(r.chapter, r.claim_id) for r in rows] == [
        ("01", "gap"), ("01", "pe_peak"), ("02", None), ("03", "gap"), ("03", "pe_peak"), ("04", None), ("05", None),
    ]  # chapter 00 (primer) has no claims and gets no row
    gap01, pe01, ch02, gap03 = rows[0], rows[1], rows[2], rows[3]
    assert gap01.title == CHAPTERS["01"].title and gap01.source_value == "≈ 0.22"
    assert set(gap01.runs) == {"small", "full"}
    assert gap01.run("full").value == 0.25 and gap01.run("full").spread == 0.01
    assert gap01.run("small").n_seeds == 3 and gap01.run("small").short_device == "cpu x86_64 (2 cores)"
    assert gap01.status == "replicated" and gap01.status_text == "replicated"
    # decided by the full preset, where it was documented as not replicated
    assert pe01.run("small").holds and not pe01.run("full").holds
    assert pe01.status == "not replicated" and pe01.status_text == "not replicated"
    assert ch02.status == "not run" and ch02.runs == {}
    assert gap03.status_text == "replicated (small only)"


def test_scoreboard_markdown_table(nb_dir):
    md = scoreboard_markdown(collect_claims(nb_dir))
    lines = md.splitlines()
    assert lines[0] == "| Chapter | Claim | Source | Small preset | Full preset (device) | Replicated? |"
    assert all(l.startswith("| ") or l.startswith("|---") for l in lines)
    assert len(lines) == 2 + 7
    assert "| 01 | tanh − ReLU > threshold | ≈ 0.22 | 0.2 ± 0.01 (> 0.05) | 0.25 ± 0.01 (> 0.05) on NVIDIA H100 80GB HBM3 (cuda) | replicated |" in md
    assert "PE peaks at λ = 0.005 \\| then falls" in md  # pipes escaped
    assert "| 02 | δ-separability and training noise: no claims yet |  | not run | not run | not run |" in md
    linked = scoreboard_markdown(collect_claims(nb_dir), chapter_link=lambda r: f"[{r.chapter}](x)")
    assert "| [01](x) |" in linked


def test_a_claim_that_differs_from_its_documented_outcome_is_flagged(tmp_path):
    d = tmp_path / "nb"
    with pytest.raises(AssertionError):  # check_claims fails loudly, but writes the file first
        run_chapter(d, "01", "full", 0.25, 0.3, "gpu")
    (row,) = [r for r in collect_claims(d) if r.claim_id == "pe_peak"]
    assert row.status == "replicated" and "differs from the documented outcome" in row.status_text


def test_readme_table_and_update(nb_dir, tmp_path):
    rows = collect_claims(nb_dir)
    table = readme_table(rows)
    assert table.startswith("Claims at the `small` preset (run ")
    assert "on cpu x86_64 (2 cores)" in table
    assert "| 01 | tanh − ReLU > threshold | 0.2 ± 0.01 (> 0.05) | holds |" in table
    assert "| 02 | δ-separability and training noise: no claims yet | not run | not run |" in table
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_START}\nstale\n{README_END}\noutro\n")
    assert update_readme(readme, rows) is True
    assert readme.read_text() == f"intro\n{README_START}\n{table}\n{README_END}\noutro\n"
    assert update_readme(readme, rows) is False


@pytest.mark.parametrize(
    "text", ["no markers", f"{README_END}\n{README_START}\n", f"{README_START}\n{README_END}\n{README_START}\n{README_END}"]
)
def test_update_readme_needs_one_marker_block(tmp_path, text):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(ValueError, match="exactly one"):
        update_readme(readme, [])
    assert readme.read_text() == text


@pytest.mark.parametrize("content", ["{broken", json.dumps({"chapter": "01"}), json.dumps([1, 2])])
def test_malformed_claims_file(tmp_path, content):
    f = tmp_path / "results" / "01_small" / "claims.json"
    f.parent.mkdir(parents=True)
    f.write_text(content)
    with pytest.raises(ValueError, match="claims"):
        collect_claims(tmp_path)


def test_no_results_folder_means_nothing_run(tmp_path):
    rows = collect_claims(tmp_path)
    assert [r.chapter for r in rows] == ["01", "02", "03", "04", "05"]
    assert all(r.status == "not run" for r in rows)
