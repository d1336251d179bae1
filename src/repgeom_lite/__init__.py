"""repgeom_lite: replicate findings on the representational geometry of trained networks.

Submodules (imported on first use, so ``import repgeom_lite as rgl`` is cheap)::

    rgl.tasks      task generators (four-cluster, δ-XOR, aligned kernels, dual digits, ...)
    rgl.data       dataset loaders (scikit-learn digits, MNIST sample, CIFAR)
    rgl.ensemble   batched training of many small networks as one computation
    rgl.grid       crossed hyperparameter grids, shards, resumable result stores
    rgl.metrics    geometry metrics (CKA, RSA, PS, CCGP, decoding, matching, Procrustes, SRM)
    rgl.plotting   figure helpers (take ``ax=None``, return ``ax``)
    rgl.widgets    explore widgets that also work in the static HTML book
    rgl.presets    chapter presets (``resolve_preset``)
    rgl.claims     claim checks written to ``claims.json``
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
}

__all__ = sorted(_SUBMODULES | {"__version__", "resolve_preset", "check_claims"})


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "resolve_preset":
        return importlib.import_module(".presets", __name__).resolve_preset
    if name == "check_claims":
        return importlib.import_module(".claims", __name__).check_claims
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
