"""Fault reproductions of issue 21, one test (or more) each: nothing lost, nothing silently wrong.

1. a failed rerun must not destroy earlier results (``repgeom run`` stages its output);
2. knob values are validated (type, range, valid values) before any work;
4. the grid store verifies every chunk (checksum, chunk number, ids), recomputes bad
   ones, rebuilds its index from the chunks and writes group-readable files;
5. metrics are exact at extreme magnitudes; NaN probes are refused;
6. an ``--output`` that is a file or read-only is a one-line usage error.

(Item 3, the scoreboard's claims schema, is tested in ``tests/test_claims.py``.)
"""

from __future__ import annotations

import json
import os
import stat
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from repgeom_lite import cli
from repgeom_lite import grid as grid_mod
from repgeom_lite.chapters import CHAPTERS, ChapterInfo
from repgeom_lite.ensemble import NetConfig, Records, TrainData, train_ensemble
from repgeom_lite.grid import (
    Grid,
    grid_status,
    load_grid,
    read_store_file,
    rebuild_index,
    run_grid,
    write_store_file,
)
from repgeom_lite.metrics import apc, compare_rdms, kernel_alignment, rdm, rsa_matrix, unit_correlations
from repgeom_lite.presets import resolve_preset

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
FAKE_MODULE = "repgeom_lite_tests_faults_chapter"
SCALES = [1e-200, 1e-100, 1e100, 1e155, 1e160, 1e200]
TOL = 1e-10


def listing(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def only_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, f"expected one line on stderr, got {err}"
    return err[0]


# =========================================================================== 1. runs never destroy results
def fake_notebook() -> nbformat.NotebookNode:
    params = nbformat.v4.new_code_cell('preset = "small"\noutput_dir = None\nn_seeds = None\nstore_dir = None')
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "import json, pathlib\n"
        "out = pathlib.Path(output_dir)\n"
        "out.mkdir(parents=True, exist_ok=True)\n"
        "if store_dir is not None:\n"
        "    store = pathlib.Path(store_dir); store.mkdir(parents=True, exist_ok=True)\n"
        "    (store / f'chunk_{n_seeds}').write_text('trained')\n"
        "(out / 'ran.json').write_text(json.dumps({'n_seeds': n_seeds}))\n"
        "if n_seeds == 13:\n"
        "    raise RuntimeError('unlucky seed count')\n"
    )
    nb = nbformat.v4.new_notebook(cells=[params, body])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def fake_chapter(tmp_path, monkeypatch):
    """Chapter 01 -> a fake module (knobs n_seeds, store_dir) and a notebook that fails for n_seeds=13."""
    module = types.ModuleType(FAKE_MODULE)
    module.PRESETS = {"small": {"n_seeds": 2, "store_dir": None}, "full": {"n_seeds": 20, "store_dir": "store"}}
    module.RUNTIME = {"small": "1 s", "full": "2 s"}
    module.CLAIMS = {}
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)
    info = CHAPTERS["01"]
    monkeypatch.setitem(CHAPTERS, "01", ChapterInfo("01", "Fake", info.notebook, FAKE_MODULE, "test"))
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nbformat.write(fake_notebook(), nb_dir / info.notebook)
    monkeypatch.chdir(tmp_path)
    return nb_dir


def run(nb_dir: Path, *args: str) -> int:
    return cli.main(["--notebooks", str(nb_dir), "run", "01", "--quiet", "--kernel", "python3", *args])


def test_failed_rerun_keeps_the_previous_results(fake_chapter, tmp_path, capsys):
    out = tmp_path / "R"
    assert run(fake_chapter, "--output", str(out), "-p", "n_seeds=3") == 0
    before = {p: (out / p).read_bytes() for p in listing(out)}
    assert json.loads((out / "ran.json").read_text()) == {"n_seeds": 3}
    executed = nbformat.read(out / CHAPTERS["01"].notebook, as_version=4)
    assert f'output_dir = "{out.resolve()}"' in executed.cells[1].source  # points at the final folder
    capsys.readouterr()

    assert run(fake_chapter, "--output", str(out), "-p", "n_seeds=13") == 1
    line = only_error_line(capsys)
    failed = tmp_path / ".R.failed" / CHAPTERS["01"].notebook
    assert "unlucky seed count" in line and "untouched" in line and str(failed) in line
    assert failed.exists()
    assert {p: (out / p).read_bytes() for p in listing(out)} == before  # byte for byte
    assert not list(tmp_path.glob(".R.run-*"))  # no staging folder left behind

    # a successful rerun replaces the folder (no stale files from the old run)
    (out / "stale.txt").write_text("from an older run")
    assert run(fake_chapter, "--output", str(out), "-p", "n_seeds=4") == 0
    assert json.loads((out / "ran.json").read_text()) == {"n_seeds": 4}
    assert not (out / "stale.txt").exists()
    assert not list(tmp_path.glob(".R.old-*")) and not list(tmp_path.glob(".R.run-*"))


def test_failed_first_run_writes_nothing_at_output(fake_chapter, tmp_path, capsys):
    out = tmp_path / "new"
    assert run(fake_chapter, "--output", str(out), "-p", "n_seeds=13") == 1
    line = only_error_line(capsys)
    assert "nothing was written" in line and not out.exists()
    assert (tmp_path / ".new.failed" / CHAPTERS["01"].notebook).exists()


def test_resumable_store_lives_in_the_output_folder_and_survives_reruns(fake_chapter, tmp_path, capsys):
    out = tmp_path / "F"
    assert run(fake_chapter, "--preset", "full", "--output", str(out), "-p", "n_seeds=13") == 1
    assert (out / "store" / "chunk_13").exists()  # the store an interrupted run resumes from
    assert run(fake_chapter, "--preset", "full", "--output", str(out), "-p", "n_seeds=5") == 0
    assert sorted(p.name for p in (out / "store").iterdir()) == ["chunk_13", "chunk_5"]
    assert json.loads((out / "ran.json").read_text()) == {"n_seeds": 5}


# =========================================================================== 2. knobs validated first
@pytest.mark.parametrize(
    "knob, value, expect",
    [
        ("epochs", 2.5, "'epochs' must be an integer >= 1; got 2.5"),
        ("seed", 1.5, "'seed' must be an integer >= 0; got 1.5"),
        ("epochs", "abc", "'epochs' must be an integer >= 1; got 'abc'"),
        ("epochs", -3, "'epochs' must be an integer >= 1; got -3"),
        ("n_boot", 0, "'n_boot' must be an integer >= 1; got 0"),
        ("n_perm", 0, "'n_perm' must be an integer >= 1; got 0"),
        ("chunk_size", -1, "'chunk_size' must be an integer >= 1; got -1"),
        ("comparable_accuracy", 2.0, "'comparable_accuracy' must be a number >= 0 and <= 1"),
        ("comparable_accuracy", "one point", "'comparable_accuracy' must be a number"),
        ("accuracy_threshold", 1.5, "'accuracy_threshold' must be a number >= 0 and <= 1"),
        ("accuracy_threshold", float("nan"), "'accuracy_threshold' must be a number"),
        ("source", "cifar", "'source' must be one of 'digits', 'mnist'"),
        ("activations", ["relu", "swish"], "'activations' must be a list of values from 'relu'"),
        ("hidden_sizes", [32, 0], "'hidden_sizes' must be a list of integers >= 1"),
        ("base_lr", {"sgd": -1.0}, "'base_lr' must be a dict {name: value} of numbers > 0"),
        ("device", "gpu", "'device' must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    ],
)
def test_resolve_preset_rejects_bad_knobs_before_any_work(knob, value, expect):
    with pytest.raises(ValueError, match="^chapter 03: parameter " + _escape(expect)):
        resolve_preset("03", "small", **{knob: value})


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def test_integral_values_are_normalised_not_truncated():
    cfg = resolve_preset("03", "small", epochs=2.0, comparable_accuracy=0, seed=np.int64(4))
    assert cfg.epochs == 2 and type(cfg.epochs) is int
    assert cfg.comparable_accuracy == 0.0 and type(cfg.comparable_accuracy) is float
    assert cfg.seed == 4 and type(cfg.seed) is int
    assert resolve_preset("02", "small", seeds=[4, 5]).seeds == (4, 5)  # the presets' tuples stay tuples


@pytest.mark.parametrize(
    "param, expect",
    [
        ("epochs=abc", "parameter 'epochs' must be an integer >= 1; got 'abc'"),
        ("epochs=-3", "parameter 'epochs' must be an integer >= 1; got -3"),
        ("seed=1.5", "parameter 'seed' must be an integer >= 0; got 1.5"),
        ("n_boot=0", "parameter 'n_boot' must be an integer >= 1; got 0"),
        ("output_dir=X", "set the output folder with --output"),
        ("preset=full", "set the preset with --preset"),
    ],
)
def test_cli_bad_knob_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, param, expect):
    out = tmp_path / "R"
    before = listing(tmp_path)
    code = cli.main(["--notebooks", str(NOTEBOOKS), "run", "03", "--output", str(out), "-p", param])
    assert code == 2
    line = only_error_line(capsys)
    assert line.startswith("repgeom: error:") and expect in line
    assert listing(tmp_path) == before


def test_every_preset_of_every_chapter_passes_its_own_validation():
    from repgeom_lite.chapters import chapter_module
    from repgeom_lite.presets import knob_specs

    for cid in CHAPTERS:
        specs = knob_specs(cid)
        for preset in chapter_module(cid).PRESETS:
            cfg = resolve_preset(cid, preset)
            assert set(cfg) == set(specs)


# =========================================================================== 4. grid store
RUN = dict(device="cpu", dtype=torch.float64, progress=False)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4))
    Y = (rng.random((20, 2)) > 0.5).astype(float)
    return TrainData(X, Y, X[:6], Y[:6])


def small_grid():
    return Grid({"activation": ["relu", "tanh"], "lr": [0.1, 0.05]}, fixed={"epochs": 2, "batch_size": 5,
                                                                          "hidden": (3,)})


@pytest.fixture
def store(tmp_path, data):
    path = tmp_path / "store"
    run_grid(small_grid(), data, None, path, chunk_size=2, **RUN)
    return path


def test_misplaced_chunk_is_named_and_recomputed(store, data):
    good = load_grid(store)
    (store / "chunk_00001.npz").write_bytes((store / "chunk_00000.npz").read_bytes())
    with pytest.raises(ValueError, match=r"chunk_00001\.npz holds chunk 0, not this store's \(a misplaced"):
        load_grid(store)
    status = grid_status(store)
    assert status["missing"] == [1] and list(status["bad"]) == ["chunk_00001.npz"]
    assert "misplaced" in status["bad"]["chunk_00001.npz"]
    with pytest.warns(RuntimeWarning, match="will be recomputed"):
        again = run_grid(small_grid(), data, None, store, chunk_size=2, **RUN)
    assert again.trained == [1] and again.complete
    fixed = load_grid(store)
    assert fixed.ids.tolist() == good.ids.tolist() == [0, 1, 2, 3]
    for a, b in zip(fixed.params, good.params):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupted_chunk_is_not_finished_and_is_recomputed(store, data, damage):
    path = store / "chunk_00000.npz"
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        # flip bytes inside the largest array's stored data (a flip that lands in zip
        # padding or an unused header field changes no data, and nothing needs to notice)
        import zipfile

        with zipfile.ZipFile(path) as z:
            info = max(z.infolist(), key=lambda i: i.compress_size)
        h = info.header_offset
        start = h + 30 + int.from_bytes(raw[h + 26:h + 28], "little") + int.from_bytes(raw[h + 28:h + 30], "little")
        mid = start + info.compress_size // 2
        raw[mid : mid + 8] = bytes(255 - b for b in raw[mid : mid + 8])
    else:
        raw = raw[: len(raw) // 2]
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"chunk_00000\.npz (is unreadable|fails its checksum)"):
        load_grid(store)
    assert grid_status(store)["missing"] == [0]
    with pytest.warns(RuntimeWarning, match="will be recomputed"):
        assert run_grid(small_grid(), data, None, store, chunk_size=2, **RUN).trained == [0]
    assert len(load_grid(store)) == 4


def test_truncated_index_is_rebuilt_from_the_chunks(store, data):
    index_path = store / "index.json"
    original = json.loads(index_path.read_text())
    index_path.write_text(index_path.read_text()[:50])
    with pytest.warns(RuntimeWarning, match="rebuilt it from the chunk files"):
        status = grid_status(store)
    assert status["completed"] == [0, 1] and status["missing"] == []
    rebuilt = json.loads(index_path.read_text())
    original.pop("updated"), rebuilt.pop("updated")
    assert rebuilt == original
    index_path.write_text("{")
    with pytest.warns(RuntimeWarning, match="rebuilding it"):
        assert run_grid(small_grid(), data, None, store, chunk_size=2, **RUN).trained == []
    assert json.loads(index_path.read_text())["completed"] == [0, 1]
    index_path.unlink()
    with pytest.warns(RuntimeWarning, match="rebuilt"):
        assert len(load_grid(store)) == 4


def test_truncated_index_of_another_grid_is_still_refused(store, data):
    (store / "index.json").write_text("{")
    other = Grid({"activation": ["relu", "tanh"], "lr": [0.1, 0.2]}, fixed={"epochs": 2, "batch_size": 5,
                                                                          "hidden": (3,)})
    with pytest.raises(ValueError, match="different grid or data"):
        run_grid(other, data, None, store, chunk_size=2, **RUN)


def test_rebuild_index_errors(tmp_path, store):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no index.json"):
        grid_status(empty)
    (empty / "chunk_00000.npz").write_bytes(b"not a zip")
    with pytest.warns(RuntimeWarning, match="is unreadable"), pytest.raises(ValueError, match="no readable chunk"):
        rebuild_index(empty)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "chunk_00000.npz").write_bytes((store / "chunk_00000.npz").read_bytes())
    res, extra = read_store_file(store / "chunk_00001.npz")
    write_store_file(res, mixed / "chunk_00001.npz", {**extra, "grid_hash": "0" * 32})
    with pytest.raises(ValueError, match="2 different grids"):
        rebuild_index(mixed)


def test_store_files_are_group_readable(store, data, tmp_path):
    for p in store.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p
    res = train_ensemble([NetConfig(hidden=(3,), epochs=1, batch_size=5)], data, None, **RUN)
    floor = write_store_file(res, tmp_path / "floor.npz", {"configs_json": "x"})
    assert stat.S_IMODE(floor.stat().st_mode) == 0o644
    assert not list(tmp_path.glob(".*.tmp"))


def test_read_store_file_errors(tmp_path, data):
    from repgeom_lite.ensemble import save_result

    res = train_ensemble([NetConfig(hidden=(3,), epochs=1, batch_size=5)], data, None, **RUN)
    old = tmp_path / "old.npz"
    save_result(res, old, extra_meta={"configs_json": "x"})  # no checksum: an older version's file
    with pytest.raises(ValueError, match=r"old\.npz has no checksum"):
        read_store_file(old)
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match=r"plain\.npz is not a repgeom_lite result file"):
        read_store_file(tmp_path / "plain.npz")
    good = write_store_file(res, tmp_path / "good.npz", {"configs_json": "a" * 100})
    assert read_store_file(good, {"configs_json": "a" * 100})[1]["configs_json"] == "a" * 100
    with pytest.raises(ValueError, match=r"good\.npz holds configs_json 'aaa.*\.\.\.', not this store's"):
        read_store_file(good, {"configs_json": "b"})
    with pytest.raises(ValueError, match="no such file"):
        read_store_file(tmp_path / "none.npz")


# =========================================================================== 5. metrics at extreme magnitudes
@pytest.fixture(scope="module")
def reps():
    rng = np.random.default_rng(5)
    return rng.normal(size=(12, 7)), rng.normal(size=(12, 5))


def test_kernel_alignment_of_scaled_copy_is_one(reps):
    X, _ = reps
    assert kernel_alignment(X * 1e100, X) == pytest.approx(1.0, abs=TOL)
    assert kernel_alignment(X * 1e-200, X) == pytest.approx(1.0, abs=TOL)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("unbiased", [False, True])
def test_kernel_alignment_is_scale_invariant(reps, scale, unbiased):
    X, Y = reps
    ref = kernel_alignment(X, Y, unbiased=unbiased)
    assert kernel_alignment(X * scale, Y, unbiased=unbiased) == pytest.approx(ref, abs=TOL)
    assert kernel_alignment(X * scale, Y / scale, unbiased=unbiased) == pytest.approx(ref, abs=TOL)


@pytest.mark.parametrize("scale", SCALES)
def test_rdm_is_right_at_extreme_scales(reps, scale):
    X, _ = reps
    np.testing.assert_allclose(rdm(X * scale), rdm(X), atol=TOL)
    np.testing.assert_allclose(rdm(X * scale, "euclidean") / scale, rdm(X, "euclidean"), rtol=1e-12)
    D = rdm(X)
    assert compare_rdms(D * scale, D) == pytest.approx(1.0, abs=TOL)
    np.testing.assert_allclose(rsa_matrix(np.stack([D, D * scale])), 1.0, atol=TOL)


def test_rdm_sqeuclidean_scales_as_the_square(reps):
    X, _ = reps
    np.testing.assert_allclose(rdm(X * 1e-100, "sqeuclidean") / 1e-200, rdm(X, "sqeuclidean"), rtol=1e-12)


@pytest.mark.parametrize("scale", SCALES)
def test_apc_is_right_at_extreme_scales(scale):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(6, 10))
    B = A[rng.permutation(6)] * rng.choice([-1.0, 1.0], size=(6, 1)) + 0.01 * rng.normal(size=(6, 10))
    assert apc(A * scale, B * scale) == pytest.approx(apc(A, B), abs=TOL)
    assert apc(A * scale, B) == pytest.approx(apc(A, B), abs=TOL)
    np.testing.assert_allclose(unit_correlations(A * scale, B), unit_correlations(A, B), atol=TOL)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_probe_with_nan_or_inf_is_refused(bad):
    probe = np.zeros((4, 3))
    probe[1, 2] = bad
    with pytest.raises(ValueError, match=r"probe contains NaN or inf \(1 entries\)"):
        Records(probe=probe, probe_epochs=(0,))


# =========================================================================== 6. --output a file or read-only
def test_output_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    code = cli.main(["--notebooks", str(NOTEBOOKS), "run", "00", "--output", str(target)])
    assert code == 2
    assert "exists and is not a folder" in only_error_line(capsys)
    assert target.read_text() == "keep me" and listing(tmp_path) == ["results.txt"]
    code = cli.main(["--notebooks", str(NOTEBOOKS), "run", "00", "--output", str(target / "sub")])
    assert code == 2 and "is a file, not a folder" in only_error_line(capsys)


def test_read_only_output_is_a_usage_error(tmp_path, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(cli.os, "access", lambda p, mode: False if Path(p) == ro else real_access(p, mode))
    code = cli.main(["--notebooks", str(NOTEBOOKS), "run", "00", "--output", str(ro)])
    assert code == 2 and "is read-only" in only_error_line(capsys)
    code = cli.main(["--notebooks", str(NOTEBOOKS), "run", "00", "--output", str(ro / "new")])
    assert code == 2 and "is read-only" in only_error_line(capsys)
    assert listing(tmp_path) == ["ro"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_output_is_a_usage_error_for_real(tmp_path, capsys):  # pragma: no cover - not as root
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code = cli.main(["--notebooks", str(NOTEBOOKS), "run", "00", "--output", str(ro)])
        assert code == 2 and "is read-only" in only_error_line(capsys)
    finally:
        ro.chmod(0o755)


def test_grid_status_command_lists_bad_chunks(store, capsys):
    (store / "chunk_00001.npz").write_bytes(b"garbage")
    assert grid_mod.main(["status", str(store)]) == 1
    out = capsys.readouterr().out
    assert "1/2 chunks finished" in out and "missing chunks: [1]" in out
    assert "bad chunk file (recomputed by the next run):" in out and "chunk_00001.npz is unreadable" in out
