"""Chapter 00 -- primer: reading representational geometry. Presets and source facts only.

The experiment is on the page: ``notebooks/00_primer.ipynb`` builds the toy geometries
(:mod:`repgeom_lite.geometries`), measures them with :mod:`repgeom_lite.metrics`, trains
its tanh and ReLU networks with one visible :func:`repgeom_lite.train_ensemble` call and
measures them the same way. This module holds what the notebook and the CLI look up:
the presets (every knob of the parameters cell), the measured run times, the (empty)
claims and the source's numbers the chapter compares with.
"""

from __future__ import annotations

from typing import Any

from ..presets import Knob

__all__ = ["PRESETS", "KNOBS", "RUNTIME", "CLAIMS", "SOURCE"]

PRESETS: dict[str, dict[str, Any]] = {
    # 2-core CPU, well under a minute. The primer has no claims to hold out seeds for;
    # its closed-form facts are asserted at any seed.
    "small": {
        "seeds": [0, 1, 2],
        "epochs": 10,
        "task_seed": 0,
        "hidden_units": 128,
        "input_dim": 100,
        "sigma_train": 1.0,
        "n_train": 5000,
        "lr": 0.1,
        "batch_size": 64,
        "sigma_test": 3.0,
        "n_decode": 240,
        "decode_folds": 2,
        "n_stimuli": 200,
        "sigma_stimuli": 1.0,
        "toy_seed": 0,
        "toy_factors": 3,
        "toy_units": 50,
        "toy_sigma": 0.3,
        "toy_samples": 20,
        "toy_other_dichotomies": 8,
        "explore_levels": [0.0, 0.5, 1.0, 2.0],
        "num_threads": 1,
        "device": "auto",
    },
    # The source's network count on the four-cluster task (Alleman et al. 2024: 20 networks
    # per activation) and the length of the SPEC's quick re-run (300 epochs). Differs from
    # `small` only in seeds and epochs.
    "full": {
        "seeds": list(range(20)),
        "epochs": 300,
        "task_seed": 0,
        "hidden_units": 128,
        "input_dim": 100,
        "sigma_train": 1.0,
        "n_train": 5000,
        "lr": 0.1,
        "batch_size": 64,
        "sigma_test": 3.0,
        "n_decode": 240,
        "decode_folds": 2,
        "n_stimuli": 200,
        "sigma_stimuli": 1.0,
        "toy_seed": 0,
        "toy_factors": 3,
        "toy_units": 50,
        "toy_sigma": 0.3,
        "toy_samples": 20,
        "toy_other_dichotomies": 8,
        "explore_levels": [0.0, 0.5, 1.0, 2.0],
        "num_threads": 1,
        "device": "auto",
    },
}

#: Ranges beyond what the presets' types say (see repgeom_lite.presets); checked by
#: resolve_preset before anything runs.
KNOBS: dict[str, Knob] = {
    "seeds": Knob(min_len=2),
    "n_decode": Knob(ge=2),
    "n_stimuli": Knob(ge=3),
    "toy_factors": Knob(ge=1),
    "toy_units": Knob(ge=1),
    "toy_samples": Knob(ge=1),
    "explore_levels": Knob(min_len=1),
}

RUNTIME: dict[str, str] = {
    # measured with papermill (whole notebook, wall time) on the development machine
    "small": "20 s on cpu x86_64 (2 cores), shared (load average ≈ 2), torch 2.13.0+cpu, 2026-12-02",
    "full": "245 s (4 min) on cpu x86_64 (2 cores), shared (load average ≈ 3-8), torch 2.13.0+cpu, 2026-12-02; no GPU run",
}

# The primer states no claims of a finding; it asserts closed-form facts instead
# (see closed_form_checks).
CLAIMS: dict = {}

#: The source's numbers the primer's networks are compared with (What we found).
SOURCE: dict[str, str] = {
    "four-cluster task": (
        "Alleman, Lindsey & Fusi 2024, four-cluster task; SPEC's quick re-run of the source code "
        "(300 epochs, 3 seeds): target alignment ≈ 1.0 (tanh) and ≈ 0.78 (ReLU), input alignment "
        "≈ 0.63 (tanh) and ≈ 0.95 (ReLU)"
    ),
}
