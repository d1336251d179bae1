"""The ``repgeom`` command: list, run (papermill) and scoreboard.

Chapter modules and notebooks are written by other parts of the project; these tests
use a fake chapter (module + tiny notebook in a temporary folder) registered in
place of chapter 01, so they do not depend on which chapters exist yet.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from repgeom_lite import cli
from repgeom_lite.chapters import CHAPTERS, ChapterInfo
from repgeom_lite.scoreboard import README_END, README_START

FAKE_MODULE = "repgeom_lite_tests_fake_chapter"


def tiny_notebook() -> nbformat.NotebookNode:
    params = nbformat.v4.new_code_cell('preset = "small"\noutput_dir = None\nn_seeds = 1')
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "import json, pathlib\n"
        "out = pathlib.Path(output_dir or 'results/01_' + preset)\n"
        "out.mkdir(parents=True, exist_ok=True)\n"
        "(out / 'ran.json').write_text(json.dumps({'preset': preset, 'n_seeds': n_seeds}))\n"
        "print('ran', preset, n_seeds)"
    )
    nb = nbformat.v4.new_notebook(cells=[params, body])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def fake_chapter(tmp_path, monkeypatch):
    """Chapter 01 -> a fake module with two presets and a tiny notebook in tmp/notebooks."""
    module = types.ModuleType(FAKE_MODULE)
    module.PRESETS = {"small": {"n_seeds": 2}, "full": {"n_seeds": 20}}
    module.RUNTIME = {"small": "1 s (test CPU)", "full": "2 s (test GPU)"}
    module.CLAIMS = {}
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)
    info = CHAPTERS["01"]
    monkeypatch.setitem(
        CHAPTERS, "01", ChapterInfo("01", "Fake chapter for CLI tests", info.notebook, FAKE_MODULE, "test")
    )
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nbformat.write(tiny_notebook(), nb_dir / info.notebook)
    monkeypatch.chdir(tmp_path)
    return nb_dir


def run_cli(*args: str) -> int:
    return cli.main(list(args))


def only_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, f"expected one line on stderr, got {err}"
    return err[0]


def listing(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


# --------------------------------------------------------------------------- list
def test_list_shows_chapters_presets_and_run_times(fake_chapter, capsys):
    assert run_cli("list") == 0
    out = capsys.readouterr().out
    for cid, info in CHAPTERS.items():
        assert f"\n{cid} " in "\n" + out
        assert f"notebooks/{info.notebook}" in out
    line = next(l for l in out.splitlines() if l.startswith("01 "))
    assert "small, full" in line and "small: 1 s (test CPU)" in line and "full: 2 s (test GPU)" in line


def test_list_survives_missing_chapter_modules(monkeypatch, capsys):
    monkeypatch.setitem(
        CHAPTERS, "02", ChapterInfo("02", "Not written yet", "02_x.ipynb", "repgeom_lite.chapters.no_such_module", "-")
    )
    assert run_cli("list") == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("02 "))
    assert "(missing)" in line


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "repgeom_lite", "list"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    for cid in CHAPTERS:
        assert f"\n{cid} " in "\n" + proc.stdout


# --------------------------------------------------------------------------- run: bad input
@pytest.mark.parametrize(
    "args, expect",
    [
        (["run", "42"], ["unknown chapter", "00, 01, 02, 03, 04, 05"]),
        (["run", "01", "--preset", "huge"], ["unknown preset 'huge'", "small, full"]),
        (["run", "01", "-p", "n_sedes=3"], ["unknown parameter 'n_sedes'", "--preset", "--output", "n_seeds"]),
        (["run", "01", "-p", "no-equals-sign"], ["key=value"]),
    ],
    ids=["chapter", "preset", "parameter", "malformed"],
)
def test_run_rejects_bad_input_in_one_line_and_writes_nothing(fake_chapter, tmp_path, capsys, args, expect):
    before = listing(tmp_path)
    out_dir = tmp_path / "out"
    code = run_cli("--notebooks", str(fake_chapter), *args, "--output", str(out_dir))
    assert code == 2
    line = only_error_line(capsys)
    assert line.startswith("repgeom: error:")
    for text in expect:
        assert text in line
    assert not out_dir.exists()
    assert listing(tmp_path) == before


# --------------------------------------------------------------------------- run: papermill
def test_run_executes_the_notebook_with_injected_parameters(fake_chapter, tmp_path, capsys):
    out_dir = tmp_path / "out"
    code = run_cli(
        "--notebooks", str(fake_chapter), "run", "1", "--preset", "full", "-p", "n_seeds=3",
        "--output", str(out_dir), "--quiet", "--kernel", "python3",
    )
    assert code == 0
    executed = nbformat.read(out_dir / CHAPTERS["01"].notebook, as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    src = injected[0].source
    assert 'preset = "full"' in src and "n_seeds = 3" in src and f'output_dir = "{out_dir.resolve()}"' in src
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "ran full 3" in printed
    assert json.loads((out_dir / "ran.json").read_text()) == {"preset": "full", "n_seeds": 3}
    assert "done in" in capsys.readouterr().out


# --------------------------------------------------------------------------- scoreboard
def write_claims(nb_dir: Path, chapter: str, preset: str, holds: bool = True) -> None:
    out = nb_dir / "results" / f"{chapter}_{preset}"
    out.mkdir(parents=True)
    (out / "claims.json").write_text(
        json.dumps(
            {
                "chapter": chapter, "preset": preset, "seeds": [0, 1], "n_seeds": 2, "wall_time_s": 3.0,
                "device": "cpu x86_64 (2 cores), torch 2.13.0", "created": "2026-01-02T03:04:05+0000",
                "all_passed": True,
                "claims": [{
                    "id": "gap", "statement": "tanh − ReLU target alignment > threshold", "value": 0.25,
                    "spread": 0.01, "detail": "", "op": ">", "threshold": 0.05, "holds": holds,
                    "expected": "replicated" if holds else "not replicated", "passed": True,
                    "source_value": "≈ 0.22", "unit": "",
                }],
            }
        )
    )


def test_scoreboard_prints_the_table_and_updates_the_readme(fake_chapter, tmp_path, capsys):
    write_claims(fake_chapter, "01", "small")
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{README_START}\nold table\n{README_END}\n\nmore text\n")
    assert run_cli("--notebooks", str(fake_chapter), "scoreboard", "--readme", str(readme)) == 0
    out = capsys.readouterr().out
    assert "| Chapter | Claim |" in out and "tanh − ReLU target alignment" in out
    assert f"{readme}: updated" in out
    text = readme.read_text()
    assert "old table" not in text and text.startswith("# title") and text.rstrip().endswith("more text")
    assert "0.25 ± 0.01 (> 0.05) | replicated |" in text
    # second run: nothing changes
    assert run_cli("--notebooks", str(fake_chapter), "scoreboard", "--readme", str(readme)) == 0
    assert "already up to date" in capsys.readouterr().out


def test_scoreboard_readme_errors(fake_chapter, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    assert run_cli("--notebooks", str(fake_chapter), "scoreboard", "--readme", str(readme)) == 2
    assert "scoreboard:start" in only_error_line(capsys)
    assert readme.read_text() == "# no markers\n"
    assert run_cli("--notebooks", str(fake_chapter), "scoreboard", "--readme", str(tmp_path / "nope.md")) == 2
    assert "not found" in only_error_line(capsys)


def test_scoreboard_reports_a_broken_claims_file(fake_chapter, capsys):
    bad = fake_chapter / "results" / "01_small"
    bad.mkdir(parents=True)
    (bad / "claims.json").write_text("{not json")
    assert run_cli("--notebooks", str(fake_chapter), "scoreboard") == 2
    assert "cannot read claims file" in only_error_line(capsys)
