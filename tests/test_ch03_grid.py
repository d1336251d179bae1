"""Chapter 03 (hyperparameter grid RSA): presets and claims, the notebook's convention, the committed
full run, and a tiny run through the CLI that checks sharded-then-merged equals one run.

The experiment lives in ``notebooks/03_hyperparameter_grid.ipynb`` as visible package calls (the
dual-digit task, the ``Grid`` of factors, ``run_grid``, the accuracy filter, ``rsa_matrix``, PCA,
``rgl.stats`` factor effects); the chapter module holds only presets, knobs, run times, claims and the
source's facts. Reusable tools are tested with their modules (``test_grid.py``, ``test_ensemble_mce.py``,
``test_stats_grid_helpers.py``).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import nbformat
import pytest

import notebook_checks as nb

from repgeom_lite import io as rgl_io
from repgeom_lite.chapters import ch03_grid as ch
from repgeom_lite.claims import read_claims

NOTEBOOK = nb.NOTEBOOKS / "03_hyperparameter_grid.ipynb"
FACTOR_KNOBS = ("activations", "optimizers", "inits", "l1_levels", "l2_levels", "batch_sizes", "hidden_sizes",
                "lr_multipliers")


# --------------------------------------------------------------------------- module: presets, claims


def test_module_holds_presets_claims_and_facts_only():
    nb.check_module_holds_facts_only(ch, {"PRESETS", "KNOBS", "RUNTIME", "CLAIMS", "SOURCE"})


def test_presets_share_knobs_and_full_is_the_thesis_design():
    assert list(ch.PRESETS) == ["small", "full"]
    assert all(set(p) == set(ch.PRESETS["small"]) for p in ch.PRESETS.values())
    full, small = ch.PRESETS["full"], ch.PRESETS["small"]
    sizes = [len(full[k]) for k in FACTOR_KNOBS]
    assert sizes == [3, 2, 2, 2, 2, 4, 4, 6] and int(__import__("math").prod(sizes)) == ch.SOURCE["n_networks"]
    for p in ch.PRESETS.values():  # the central grid lies inside the design, with >= 2 levels of each
        assert set(p["central_lr"]) <= set(p["lr_multipliers"]) and len(p["central_lr"]) >= 2
        assert set(p["central_hidden"]) <= set(p["hidden_sizes"]) and min(p["central_hidden"]) >= 32
        assert max(p["central_lr"]) / min(p["central_lr"]) <= 8  # lr within 4-8x of the working rate
        assert set(p["base_lr"]) == set(p["optimizers"])
    # held-out seeds: the full run shares no seed with the development preset
    assert {full["seed"], full["replicate_seed"]}.isdisjoint({small["seed"], small["replicate_seed"]})
    assert set(ch.RUNTIME) == set(ch.PRESETS)


def test_claims_have_natural_thresholds_for_every_preset():
    natural = {0.0, 0.5, 0.1}  # a direction, an even split, a tenth of the activation effect
    nb.check_claim_specs(ch.CLAIMS, ch.PRESETS, natural)
    # "negligible" is measured against the activation effect, not the seed floor
    assert "activation" in ch.CLAIMS["l1_l2_negligible"].statement and ch.CLAIMS["l1_l2_negligible"].op == "<"
    assert "matched seed floor" in ch.CLAIMS["activation_above_seed_floor"].statement


# --------------------------------------------------------------------------- committed full run


def test_committed_full_run():
    report, summary = nb.check_committed_run("03", "full", ch.CLAIMS)
    assert summary["n_networks"] == 4608 and summary["n_central"] == 1152 == summary["n_replicate"]
    assert summary["config"]["seed"] == ch.PRESETS["full"]["seed"]
    assert {"lr", "batch_size", "hidden_size"} <= set(summary["sweep"]["varied"])
    assert "min" in ch.RUNTIME["full"] and "4608" in ch.RUNTIME["full"]
    # the page's headline is the committed one: activation first up to the glued lr range
    fold = summary["lr_fold_activation_largest"]
    lr_rows = [(f, h) for v, f, h in zip(summary["sweep"]["varied"], summary["sweep"]["fold"],
                                         summary["sweep"]["factor"]) if v == "lr"]
    assert fold in {f for f, _ in lr_rows}


# --------------------------------------------------------------------------- the notebook's convention


def test_notebook_convention():
    cells = nb.cells(NOTEBOOK)
    nb.check_convention(cells, ch.PRESETS, forbidden=("ch03.", "ch.make_", "ch.run"))
    text = "\n".join(c.source for c in cells)
    assert "fixed before the full preset's seeds" in text
    assert sum("shard-stop" in c.metadata.get("tags", []) for c in cells) == 1


def test_experiment_is_visible_package_calls():
    visible = nb.check_visible_calls(nb.cells(NOTEBOOK), (
        "rgl.tasks.dual_digits_task(", "rgl.TrainData(", "heads=(10, 10)", "rgl.grid.Grid(", "rgl.grid.run_grid(",
        "rgl.grid.load_grid(", "rgl.ensemble.head_accuracy(", "rgl.grid.stored_rdms(", "M.rsa_matrix(",
        "M.rsa_vectors(", "M.pca(", "rgl.stats.seed_floor(", "rgl.stats.factor_effects(", "rgl.stats.matched_pairs(",
        "rgl.stats.eta_squared(", "rgl.stats.comparable_accuracy(", "rgl.check_claims(", "rgl.results.load(",
        "rgl.grid.rdm_transform"))
    # the grid is written as factors -> levels, one line per factor
    for f in ("activation", "optimizer", "init", "l1", "l2", "batch_size", "hidden_size", "lr"):
        assert f'    "{f}": cfg.' in visible, f


def test_every_glued_number_is_defined():
    nb.check_glue_defined(nb.cells(NOTEBOOK))


# --------------------------------------------------------------------------- tiny runs through the CLI

TINY = ["n_train=300", "n_test=200", "epochs=2", "batch_sizes=[32, 64]", "hidden_sizes=[8, 16]",
        "lr_multipliers=[0.5, 2.0]", "central_lr=[0.5, 2.0]", "central_hidden=[8, 16]", "accuracy_threshold=0.0",
        "comparable_accuracy=1.0", "n_boot=20", "n_perm=2", "n_boot_ranges=10", "chunk_size=64",
        "store_dir=grid_store", "device=cpu", "num_threads=1"]


@pytest.fixture(scope="module")
def tiny_notebooks(tmp_path_factory):
    """The chapter notebook with its claim checks made non-raising (a tiny run is not a replication)."""
    folder = tmp_path_factory.mktemp("notebooks")
    book = nbformat.read(NOTEBOOK, as_version=4)
    for c in book.cells:
        c.source = nb.claims_do_not_raise(c.source)
    nbformat.write(book, folder / NOTEBOOK.name)
    return folder


def _cli(notebooks: Path, out: Path, *extra: str) -> None:
    pytest.importorskip("papermill")
    from repgeom_lite.cli import main

    args = ["--notebooks", str(notebooks), "run", "03", "--preset", "small", "--output", str(out), "--quiet"]
    assert main([*args, *itertools.chain.from_iterable(("-p", p) for p in (*TINY, *extra))]) == 0


@pytest.mark.slow
def test_sharded_then_merged_equals_one_run(tiny_notebooks, tmp_path):
    """Two shards (-p shard=0/2, 1/2) fill one store and stop after training; the merge run trains
    nothing and gives the same summary and claims as a single unsharded run."""
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    _cli(tiny_notebooks, single)
    _cli(tiny_notebooks, sharded, "shard=0/2")
    assert not (sharded / "summary.json").exists()  # a shard stops after training
    status = json.loads((sharded / "grid_store" / "grid" / "index.json").read_text())
    assert 0 < len(status["completed"]) < len(status["chunks"])
    _cli(tiny_notebooks, sharded, "shard=1/2")
    assert len(list((sharded / "shards").glob("*_shard_*of2.ipynb"))) == 2
    _cli(tiny_notebooks, sharded)
    merged_nb = (sharded / NOTEBOOK.name).read_text()
    assert "grid: 0 chunks trained now, 6 reused" in merged_nb and "replicate: 0 chunks trained now" in merged_nb
    a, b = rgl_io.load(single / "summary.json"), rgl_io.load(sharded / "summary.json")
    assert a["n_networks"] == b["n_networks"] == 384 and a["n_passed"] == b["n_passed"]
    for key in ("effects_central", "effects_all", "eta2", "floor", "claims", "sweep", "pass_by_level"):
        assert a[key] == b[key], key
    ca, cb = read_claims(single / "claims.json"), read_claims(sharded / "claims.json")
    assert [(c.id, c.value, c.lo, c.hi) for c in ca.claims] == [(c.id, c.value, c.lo, c.hi) for c in cb.claims]
    assert {c.id for c in ca.claims} == set(ch.CLAIMS)


def test_shard_without_a_shared_store_is_refused(tmp_path, capsys):
    from repgeom_lite.cli import main

    out = tmp_path / "R"
    code = main(["--notebooks", str(nb.NOTEBOOKS), "run", "03", "--preset", "small", "--output", str(out),
                 "-p", "shard=0/2"])
    assert code == 2 and "needs a store shared by all shards" in capsys.readouterr().err
    assert not out.exists()
    assert main(["--notebooks", str(nb.NOTEBOOKS), "run", "03", "--output", str(out), "-p", "shard=2/2",
                 "-p", "store_dir=s"]) == 2  # i must be < n
