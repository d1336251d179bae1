"""repgeom_lite: replicate findings on the representational geometry of trained networks.

Submodules (imported on first use, so ``import repgeom_lite as rgl`` is cheap)::

    rgl.geometries toy geometries with known answers (factorised cube, rotations, noise)
    rgl.tasks      task generators (four-cluster, δ-XOR, aligned kernels, dual digits, ...)
    rgl.data       dataset loaders (scikit-learn digits, MNIST sample, CIFAR)
    rgl.ensemble   batched training of many small networks as one computation
    rgl.grid       crossed hyperparameter grids, shards, resumable result stores
    rgl.metrics    geometry metrics (CKA, RSA, PS, CCGP, decoding, matching, Procrustes, SRM)
    rgl.plotting   figure helpers (take ``ax=None``, return ``ax``)
    rgl.widgets    explore widgets that also work in the static HTML book
    rgl.presets    chapter presets (``resolve_preset``)
    rgl.stats      bootstrap intervals, permutation tests, paired differences, factor attribution
    rgl.io         one save/load for results (JSON + .npz), with a format version
    rgl.results    committed large-run results, the same call in the book, locally and in Colab
    rgl.claims     claim checks written to ``claims.json`` (replicated / not replicated / inconclusive)
    rgl.pages      helpers for chapter pages (``glue`` numbers into hand-written prose)
    rgl.chapters   chapter registry and per-chapter pipelines
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "tasks",
    "data",
    "ensemble",
    "grid",
    "metrics",
    "plotting",
    "widgets",
    "presets",
    "claims",
    "chapters",
    "device",
    "cli",
    "scoreboard",
    "convnets",
    "reference",
    "models",
    "stats",
    "io",
    "results",
    "geometries",
    "pages",
}

# Shortcuts used on every chapter page: rgl.train_ensemble, rgl.NetConfig, ...
_SHORTCUTS = {
    "resolve_preset": "presets",
    "check_claims": "claims",
    "train_ensemble": "ensemble",
    "TrainData": "ensemble",
    "Records": "ensemble",
    "NetConfig": "models",
}

__all__ = sorted(_SUBMODULES | set(_SHORTCUTS) | {"__version__"})


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _SHORTCUTS:
        return getattr(importlib.import_module(f".{_SHORTCUTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
