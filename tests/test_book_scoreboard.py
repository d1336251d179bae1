"""repgeom_lite.scoreboard: claims.json files -> verdicts, the table, the per-chapter figures, the directive."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import warnings
from pathlib import Path

import pytest

from repgeom_lite.chapters import CHAPTERS, chapter_module
from repgeom_lite.claims import ClaimsFileError, ClaimSpec, Measured, check_claims
from repgeom_lite.results import COMMITTED_DIR
from repgeom_lite.scoreboard import (
    FIGURE_XLABEL,
    README_END,
    README_START,
    VERDICT_COLORS,
    chapter_figure,
    collect_claims,
    figure_alt_text,
    readme_table,
    scoreboard_markdown,
    short_runtime,
    update_readme,
)

ROOT = Path(__file__).resolve().parents[1]

SPECS = {
    "gap": ClaimSpec("tanh − ReLU > threshold", {"small": 0.05, "full": 0.05}, source_value="≈ 0.22"),
    "pe_peak": ClaimSpec(
        "PE peaks at λ = 0.005 | then falls",
        {"small": 0.0, "full": 0.0},
        expected={"full": "not replicated"},
    ),
    "low": ClaimSpec("error < threshold", {"small": 0.5, "full": 0.5}, op="<", expected={"small": "inconclusive"}),
}


def run_chapter(nb_dir: Path, chapter: str, preset: str, gap, pe, low, device: str, folder: Path | None = None):
    """Write a real claims.json with repgeom_lite.claims.check_claims (warnings allowed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_claims(
            chapter, preset, {"gap": gap, "pe_peak": pe, "low": low},
            seeds=[0, 1, 2], wall_time_s=12.0, device=device,
            output_dir=(folder or nb_dir / "results") / f"{chapter}_{preset}", specs=SPECS,
        )


CPU = "cpu x86_64 (2 cores), torch 2.13.0"
GPU = "NVIDIA H100 80GB HBM3 (cuda), torch 2.13.0"


@pytest.fixture
def nb_dir(tmp_path):
    d = tmp_path / "notebooks"
    run_chapter(d, "01", "small", Measured(0.2, 0.01), 0.1, Measured(0.45, lo=0.3, hi=0.6), CPU)
    run_chapter(d, "01", "full", Measured(0.25, lo=0.2, hi=0.3), Measured(-0.1, lo=-0.2, hi=0.05),
                Measured(0.1, lo=0.05, hi=0.2), GPU)
    run_chapter(d, "03", "small", Measured(0.3, 0.01), 0.2, 0.9, CPU)
    return d


def rows_of(d, **kw):
    return collect_claims(d, committed_dir=kw.pop("committed_dir", None), **kw)


# --------------------------------------------------------------------------- rows and verdicts
def test_collect_claims_rows_and_verdicts(nb_dir):
    rows = rows_of(nb_dir)
    assert [(r.chapter, r.claim_id) for r in rows] == [
        ("01", "gap"), ("01", "pe_peak"), ("01", "low"), ("02", None),
        ("03", "gap"), ("03", "pe_peak"), ("03", "low"), ("04", None), ("05", None),
    ]  # chapter 00 (primer) has no claims and gets no row
    gap01, pe01, low01, ch02, gap03, pe03, low03 = rows[:7]
    assert gap01.title == CHAPTERS["01"].title and gap01.source_value == "≈ 0.22"
    assert set(gap01.runs) == {"small", "full"}
    full = gap01.run("full")
    assert (full.value, full.lo, full.hi, full.interval_kind) == (0.25, 0.2, 0.3, "interval")
    assert gap01.run("small").interval_kind == "value ± spread" and gap01.run("small").lo == pytest.approx(0.19)
    assert gap01.run("small").n_seeds == 3 and gap01.run("small").short_device == "cpu x86_64 (2 cores)"
    assert gap01.status == "replicated" and gap01.status_text == "replicated"
    # documented "not replicated" at full; the interval [-0.2, 0.05] straddles 0 -> inconclusive, marked
    assert pe01.run("small").verdict == "replicated" and pe01.run("full").verdict == "inconclusive"
    assert pe01.status == "inconclusive" and pe01.run("full").check == "moved"
    assert pe01.status_text == "inconclusive — ⚠ moved from the documented outcome (not replicated)"
    assert low01.run("small").verdict == "inconclusive" and low01.run("small").check == "as documented"
    assert low01.status == "replicated"  # decided by the full run
    assert ch02.status == "not run" and ch02.runs == {}
    assert gap03.status_text == "replicated (small only)"
    # small preset of ch03: 0.9 < 0.5 fails at a point; "inconclusive" documented -> moved
    assert low03.status == "not replicated" and "⚠ moved" in low03.status_text


def test_scoreboard_markdown_table(nb_dir):
    md = scoreboard_markdown(rows_of(nb_dir))
    lines = md.splitlines()
    assert lines[0] == "| Chapter | Claim | Source | Small preset | Full preset (device) | Verdict |"
    assert all(l.startswith("| ") or l.startswith("|---") for l in lines)
    assert len(lines) == 2 + 9
    assert ("| 01 | tanh − ReLU > threshold | ≈ 0.22 | 0.2 ± 0.01 (> 0.05) | 0.25 [0.2, 0.3] (> 0.05) "
            "on NVIDIA H100 80GB HBM3 (cuda) | replicated |") in md
    assert "PE peaks at λ = 0.005 \\| then falls" in md  # pipes escaped
    assert "| 03 | error < threshold | — | 0.9 (< 0.5) | not run | not replicated (small only) — ⚠ moved" in md
    assert "| 02 | δ-separability and training noise: no claims yet |  | not run | not run | not run |" in md
    verdicts = {line.rsplit("|", 2)[1].strip().split(" (")[0].split(" —")[0] for line in lines[2:]}
    assert verdicts == {"replicated", "inconclusive", "not replicated", "not run"}
    linked = scoreboard_markdown(rows_of(nb_dir), chapter_link=lambda r: f"[{r.chapter}](x)")
    assert "| [01](x) |" in linked


def test_a_contradiction_is_flagged(tmp_path):
    d = tmp_path / "nb"
    with pytest.raises(AssertionError):  # check_claims fails loudly, but writes the file first
        run_chapter(d, "01", "full", 0.25, 0.3, 0.1, "gpu")
    (row,) = [r for r in rows_of(d) if r.claim_id == "pe_peak"]
    assert row.status == "replicated" and row.run("full").check == "contradicts"
    assert "✗ differs from the documented outcome (not replicated)" in row.status_text


def test_committed_runs_are_read_and_win_over_local_ones(nb_dir, tmp_path):
    committed = tmp_path / "committed"
    run_chapter(nb_dir, "01", "full", Measured(0.5, lo=0.4, hi=0.6), Measured(-0.1, lo=-0.2, hi=-0.05), 0.1,
                "committed gpu", folder=committed)
    run_chapter(nb_dir, "04", "full", 0.5, -0.1, 0.1, "committed cpu", folder=committed)
    rows = collect_claims(nb_dir, committed_dir=committed)
    gap01 = next(r for r in rows if (r.chapter, r.claim_id) == ("01", "gap"))
    assert gap01.run("full").value == 0.5 and gap01.run("full").device == "committed gpu"
    assert gap01.run("small").value == 0.2  # the local small run is still there
    assert gap01.run("full").source.startswith(str(committed))
    assert any(r.chapter == "04" and r.claim_id == "gap" for r in rows)


def test_default_reads_the_packages_committed_runs(tmp_path):
    rows = collect_claims(tmp_path)  # no local results at all
    by_chapter = {r.chapter for r in rows if r.claim_id is not None}
    committed = {p.parent.name[:2] for p in COMMITTED_DIR.glob("*/claims.json")}
    assert committed and by_chapter == committed
    # each committed chapter's rows have a large run: "full", or "paper" (01, 02: sized for the 2-core CPU)
    assert all(r.run("full") is not None or r.run("paper") is not None for r in rows if r.claim_id is not None)


def test_readme_table_and_update(nb_dir, tmp_path):
    rows = rows_of(nb_dir)
    table = readme_table(rows)
    assert table.startswith("Claims at the `small` preset (run ")
    assert "on cpu x86_64 (2 cores)" in table
    assert "| 01 | tanh − ReLU > threshold | 0.2 ± 0.01 (> 0.05) | replicated |" in table
    assert "| 01 | error < threshold | 0.45 [0.3, 0.6] (< 0.5) | inconclusive |" in table
    assert "| 03 | error < threshold | 0.9 (< 0.5) | not replicated ⚠ |" in table
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


CLAIM = {"id": "gap", "statement": "s", "value": 0.25, "spread": 0.01, "op": ">", "threshold": 0.05,
         "holds": True, "expected": "replicated", "passed": True}


@pytest.mark.parametrize(
    "folder, content, match",
    [
        ("01_small", "{broken", "cannot read claims file"),
        ("01_small", json.dumps({"chapter": "01"}), "not a claims.json"),
        ("01_small", json.dumps([1, 2]), "not a claims.json"),
        ("01_small", json.dumps({"chapter": "01", "claims": []}), "field 'claims' is empty"),
        ("03_full", json.dumps({"chapter": "04", "preset": "full", "claims": [CLAIM]}),
         "field 'chapter' is '04' but the file is in the folder of chapter '03'"),
        ("01_small", json.dumps({"chapter": "01", "preset": "full", "claims": [CLAIM]}),
         "field 'preset' is 'full' but the file is in the folder of preset 'small'"),
        ("01_small", json.dumps({"claims": [dict(CLAIM, holds="false")]}), "field 'holds' must be true or false"),
        ("01_small", json.dumps({"claims": [dict(CLAIM, holds=False)]}), "field 'holds' is false but value 0.25"),
        ("01_small", json.dumps({"claims": [{k: v for k, v in CLAIM.items() if k != "value"}]}),
         r"claims\[0\] \('gap'\): field 'value' is missing"),
    ],
)
def test_malformed_claims_file(tmp_path, folder, content, match):
    f = tmp_path / "results" / folder / "claims.json"
    f.parent.mkdir(parents=True)
    f.write_text(content)
    with pytest.raises(ClaimsFileError, match=match) as err:
        collect_claims(tmp_path, committed_dir=None)
    assert str(f) in str(err.value)


def test_no_results_folder_means_nothing_run(tmp_path):
    rows = collect_claims(tmp_path, committed_dir=None)
    assert [r.chapter for r in rows] == ["01", "02", "03", "04", "05"]
    assert all(r.status == "not run" for r in rows)


# --------------------------------------------------------------------------- figures
def test_chapter_figure(nb_dir):
    import matplotlib.colors as mcolors

    rows = rows_of(nb_dir)
    fig = chapter_figure(rows, "01")
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["gap (> 0.05)", "pe_peak (> 0)  [⚠ full]", "low (< 0.5)"]  # top to bottom
    assert ax.get_xlabel().startswith(FIGURE_XLABEL) and "⚠" in ax.get_xlabel()
    assert ax.get_xlim() == (-1.2, 1.2)
    markers = [l for l in ax.get_lines() if l.get_marker() in ("o", "s")]
    assert len(markers) == 6  # 3 claims x 2 presets
    # every dot and bar lies within [-1, 1] after the per-claim normalisation
    for line in ax.get_lines()[1:]:
        assert all(-1 - 1e-9 <= x <= 1 + 1e-9 for x in line.get_xdata())
    colors = {mcolors.to_hex(l.get_color()) for l in markers}
    assert colors == {VERDICT_COLORS["replicated"].lower(), VERDICT_COLORS["inconclusive"].lower()}
    ax03 = chapter_figure(rows, "03").axes[0]
    assert VERDICT_COLORS["not replicated"].lower() in {mcolors.to_hex(l.get_color()) for l in ax03.get_lines()}
    # the full-preset gap claim (interval [0.2, 0.3] > 0.05) lies right of the threshold
    gap_full = [l for l in markers if l.get_marker() == "s" and abs(l.get_ydata()[0] - (2 - 0.17)) < 1e-9]
    assert len(gap_full) == 1 and gap_full[0].get_xdata()[0] > 0
    # a "<" claim is mirrored: low full 0.1 [0.05, 0.2] < 0.5 is on the claim's side (right)
    low_full = [l for l in markers if l.get_marker() == "s" and abs(l.get_ydata()[0] - (0 - 0.17)) < 1e-9]
    assert low_full[0].get_xdata()[0] > 0
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:5] == ["replicated", "not replicated", "inconclusive", "small preset", "full preset"]
    assert fig.get_size_inches()[0] <= 7.5


def test_chapter_figure_of_committed_runs_and_errors(tmp_path):
    rows = collect_claims(tmp_path)
    fig = chapter_figure(rows, "04")
    assert len(fig.axes[0].get_yticklabels()) == len([r for r in rows if r.chapter == "04"])
    alt = figure_alt_text(rows, "04")
    assert alt.startswith("Chapter 04: each of its 7 claims") and "paper preset: 4 replicated, 2 not replicated, 1 inconclusive" in alt
    with pytest.raises(ValueError, match="chapter '00' has no claims"):
        chapter_figure(rows, "00")  # the primer states no claims


# --------------------------------------------------------------------------- run times
@pytest.mark.parametrize(
    "text, same, short",
    [
        ("28 s wall for the whole notebook, measured with papermill on an idle 2-core CPU (cpu x86_64)", None,
         "≈ 28 s, 2-core CPU"),
        ("44 min (2657 s) on cpu (2 cores), shared, load average ≈ 10-12", None, "≈ 44 min, 2-core CPU"),
        ("≈ 91 min on a 2-core CPU (cpu x86_64, 1 thread); not yet run on a GPU", None, "≈ 91 min, 2-core CPU"),
        ("15 min wall for the whole notebook on the same shared CPU", "2-core CPU", "≈ 15 min, 2-core CPU"),
        ("12 min on one NVIDIA H100 (cuda)", None, "≈ 12 min, GPU"),
        ("not run yet: meant for one GPU, and none was available", None, "not run yet"),
        ("", None, "—"),
        ("a while, probably", None, "a while"),
    ],
)
def test_short_runtime(text, same, short):
    assert short_runtime(text, same) == short


def test_every_chapter_runtime_is_short():
    for cid in CHAPTERS:
        for text in getattr(chapter_module(cid), "RUNTIME", {}).values():
            s = short_runtime(text)
            assert len(s) <= 24 and "\n" not in s, (cid, text, s)


# --------------------------------------------------------------------------- the directive
def _load_ext():
    spec = importlib.util.spec_from_file_location("repgeom_book_under_test", ROOT / "book" / "_ext" / "repgeom_book.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CONF = """
import sys
sys.path.insert(0, {ext!r})
import repgeom_book
extensions = ["myst_parser"]
repgeom_notebooks_dir = "notebooks"
repgeom_scoreboard_docs = ["scoreboard"]

def setup(app):
    # the directives and config of the book's extension (not its vendored-JS check)
    app.add_config_value("repgeom_scoreboard_docs", ["scoreboard"], "env")
    app.add_config_value("repgeom_notebooks_dir", "notebooks", "env")
    app.add_directive("repgeom-scoreboard", repgeom_book.ScoreboardDirective)
    app.add_directive("repgeom-chapters", repgeom_book.ChaptersDirective)
"""


def test_directive_writes_figures_and_table_offline(nb_dir, tmp_path):
    from sphinx.cmd.build import build_main

    _load_ext()  # importable as a module (syntax, imports)
    src = nb_dir.parent
    (src / "conf.py").write_text(CONF.format(ext=str(ROOT / "book" / "_ext")))
    (src / "index.md").write_text("# Book\n\n```{toctree}\nscoreboard\nfront\n```\n")
    (src / "scoreboard.md").write_text("# Scoreboard\n\n```{repgeom-scoreboard}\n```\n")
    (src / "front.md").write_text("# Front\n\n```{repgeom-chapters}\n```\n")
    out = tmp_path / "html"
    assert build_main([str(src), str(out), "-b", "html", "-q", "-W", "-E", "-d", str(tmp_path / "doctrees")]) == 0
    html = (out / "scoreboard.html").read_text()
    # one figure per chapter with claims (01 and 03 locally, plus the package's committed runs), above the table
    figs = re.findall(r'<img src="(_images/scoreboard-claims-(\d\d)\.svg)" alt="([^"]+)"', html)
    chapters = [c for _, c, _ in figs]
    assert chapters[0] == "01" and chapters == sorted(chapters) and set(chapters) >= {"01", "03", "04", "05"}
    assert all((out / src_).is_file() and (out / src_).read_text().lstrip().startswith("<?xml") for src_, _, _ in figs)
    assert html.index("scoreboard-claims-01.svg") < html.index("<table")
    # the fake chapter 01's 3 claims, plus those of the package's committed chapter-01 runs
    assert re.match(r"Chapter 01: each of its \d+ claims", figs[0][2])
    assert "<th class=\"head\"><p>Verdict</p></th>" in html
    assert "inconclusive — ⚠ moved from the documented outcome" in html
    assert "http://" not in (out / "_images" / "scoreboard-claims-01.svg").read_text().split("<svg", 1)[1].replace(
        "http://www.w3.org", "").replace("http://purl.org", "").replace("http://creativecommons.org", "").replace(
        "http://matplotlib.org", "")
    front = (out / "front.html").read_text()
    assert "Run time, small" in front and "≈ 40 s, 2-core CPU" in front
    # no full run of 01/02 (they need a GPU): their large run is the CPU-sized `paper` preset
    assert "≈ 38 min, 2-core CPU" in front
    assert "measured with papermill" not in front  # short figures, not sentences
