"""Chapter 01 -- tanh vs ReLU: target-aligned or input-preserving geometry. Presets, claims, source facts.

The experiment is on the page (``notebooks/01_tanh_vs_relu.ipynb``: tasks, ``NetConfig`` lists with one
editable activation line, ``train_ensemble`` calls, ``rgl.metrics`` / ``rgl.stats`` measurements). This
module holds what the notebook, the CLI and the scoreboard look up: the presets (every knob of the
parameters cell), measured run times, the claims (thresholds fixed before the ``paper`` run), the source.
"""

from __future__ import annotations

from typing import Any

from ..claims import ClaimSpec

__all__ = ["PRESETS", "RUNTIME", "CLAIMS", "SOURCE"]

_COMMON: dict[str, Any] = {  # the source's network and task settings, the same in every preset
    "hidden_units": 128,
    "input_dim": 100,
    "sigma_train": 1.0,
    "n_train": 5000,
    "lr": 0.1,
    "batch_size": 64,
    "depth_tasks": ["easy", "hard"],
    "explore_run": [8, 3],
    "num_threads": 1,
    "device": "auto",
}

PRESETS: dict[str, dict[str, Any]] = {
    # 2-core CPU, about two minutes: every experiment at a reduced size. Development preset:
    # its seeds (task seed 2, network seeds 20-22) are the ones the thresholds were looked at on.
    "small": {
        **_COMMON,
        "seeds": [20, 21, 22],
        "task_seed": 2,
        "epochs": 30,
        "tol": None,
        "n_probe_epochs": 10,
        "sigma_test": [1.0, 3.0],
        "n_decode": 800,
        "decode_folds": 2,
        "n_decode_epochs": 3,
        "aligned_runs": [[8, 1], [8, 3]],
        "n_alignments": 4,
        "aligned_seeds": [20, 21, 22],
        "aligned_epochs": 75,
        "aligned_n_train": 1000,
        "n_ccgp_per_condition": 25,
        "abstraction_targets": 3,
        "ccgp_max_splits": 2,
        "perturb_P": 8,
        "perturb_k": [1],
        "clipped_u": [1.0],
        "shifted_s": [-0.5, 0.5],
        "depth_layers": [5],
        "depth_seeds": [20, 21, 22],
        "depth_epochs": 60,
        "depth_n_train": 1000,
    },
    # The large run on the 2-core CPU (no GPU lent): the source's method at the largest size that
    # finishes in about an hour there (sizes set from a timed pilot at a tenth of the epochs, on
    # other seeds). Held-out seeds: task seed 4, network seeds from 400, used for nothing else.
    "paper": {
        **_COMMON,
        "seeds": list(range(400, 420)),
        "task_seed": 4,
        "epochs": 300,
        "tol": None,
        "n_probe_epochs": 12,
        "sigma_test": [1.0, 2.0, 3.0],
        "n_decode": 800,
        "decode_folds": 2,
        "n_decode_epochs": 4,
        "aligned_runs": [[8, 1], [8, 3], [8, 7], [32, 1], [32, 5], [32, 31]],
        "n_alignments": 8,
        "aligned_seeds": [400, 401, 402, 403, 404, 405],
        "aligned_epochs": 500,
        "aligned_n_train": 1000,
        "n_ccgp_per_condition": 25,
        "abstraction_targets": 3,
        "ccgp_max_splits": 2,
        "perturb_P": 32,
        "perturb_k": [1, 5],
        "clipped_u": [1.0],
        "shifted_s": [-0.5, 0.5],
        "depth_layers": [5, 10],
        "depth_seeds": [400, 401, 402, 403, 404],
        "depth_epochs": 800,
        "depth_n_train": 1000,
    },
    # The source's sizes (Alleman et al. 2024; SPEC): 20 networks per activation on the
    # four-cluster task, 10 per task elsewhere, P in {8, 32}, k in {1, log2 P, P - 1},
    # 12 alignments, up to 5000 epochs with early stopping at tol 1e-5. One GPU; not run.
    "full": {
        **_COMMON,
        "seeds": list(range(100, 120)),
        "task_seed": 1,
        "epochs": 5000,
        "tol": 1e-5,
        "n_probe_epochs": 30,
        "sigma_test": [1.0, 2.0, 3.0],
        "n_decode": 2000,
        "decode_folds": 5,
        "n_decode_epochs": 8,
        "aligned_runs": [[8, 1], [8, 3], [8, 7], [32, 1], [32, 5], [32, 31]],
        "n_alignments": 12,
        "aligned_seeds": list(range(100, 110)),
        "aligned_epochs": 5000,
        "aligned_n_train": 5000,
        "n_ccgp_per_condition": 50,
        "abstraction_targets": 31,
        "ccgp_max_splits": 16,
        "perturb_P": 32,
        "perturb_k": [1, 5, 31],
        "clipped_u": [1.0, 1.5, 2.0],
        "shifted_s": [-1.0, -0.5, 0.5, 1.0],
        "depth_layers": [5, 10],
        "depth_seeds": list(range(100, 110)),
        "depth_epochs": 5000,
        "depth_n_train": 5000,
    },
}

RUNTIME: dict[str, str] = {
    "small": "40 s wall for the whole notebook (35-51 s over three papermill runs), shared 2-core CPU, 1 thread, torch 2.13.0+cpu, 2026-12-02",
    "paper": "38 min (2275 s) wall for the whole notebook, papermill, shared 2-core CPU (load ≈ 2-3), 1 thread, nice 5, torch 2.13.0+cpu, 2026-12-02",
    "full": "not run: meant for one GPU, and none was lent to this chapter (up to 5000 epochs per network)",
}

_GAP = "(gap after training) − (gap at initialisation), paired by seed"

# Thresholds are the claims' natural boundaries (0 for a direction, 0.5 for an even split,
# an equivalence margin for "almost identical"), fixed before the paper preset was run.
CLAIMS: dict[str, ClaimSpec] = {
    "target_alignment_tanh_vs_relu": ClaimSpec(
        statement=f"four-cluster: target alignment tanh − ReLU, {_GAP} > 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        source_value="tanh ≈ 1.0 vs ReLU ≈ 0.78 (SPEC quick re-run); Fig. 1B: tanh higher",
    ),
    "input_alignment_relu_vs_tanh": ClaimSpec(
        statement=f"four-cluster: input alignment ReLU − tanh, {_GAP} > 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        source_value="ReLU ≈ 0.95 vs tanh ≈ 0.63 (SPEC quick re-run); Fig. 1B: ReLU higher",
    ),
    "parallelism_tanh_vs_relu": ClaimSpec(
        statement=f"four-cluster: parallelism score tanh − ReLU, {_GAP} > 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        source_value="Fig. 1B: PS higher for tanh",
    ),
    "ccgp_tanh_vs_relu": ClaimSpec(
        statement=f"four-cluster: CCGP at the largest σ_test, tanh − ReLU, {_GAP} > 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        source_value="Fig. 1B: CCGP higher for tanh",
    ),
    "untrained_decoding_rises_relu": ClaimSpec(
        statement="four-cluster: ReLU, decoding of the untrained dichotomies at the largest σ_test, "
        "after training − at initialisation > 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        source_value="Fig. 1B: rises during training for ReLU",
    ),
    "untrained_decoding_falls_tanh": ClaimSpec(
        statement="four-cluster: tanh, decoding of the untrained dichotomies at the largest σ_test, "
        "after training − at initialisation < 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        op="<",
        source_value="Fig. 1B: falls during training for tanh",
    ),
    "trained_decoding_rises": ClaimSpec(
        statement="four-cluster: decoding of the trained dichotomy at the largest σ_test (off ceiling), "
        "after training − at initialisation, smaller of tanh and ReLU > 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        source_value="Fig. 1B: trained dichotomy decodable in both (≈ 1 at σ_test = 1, before training too)",
    ),
    "weights_tanh_along_inter_axis": ClaimSpec(
        statement="four-cluster weights: tanh, share of the units' in-plane weight change along the "
        "inter-class axis > 0.5 (even split)",
        threshold={"small": 0.5, "paper": 0.5, "full": 0.5},
        source_value="Fig. 1D: tanh units move along the inter-class axis",
    ),
    "weights_relu_keep_intra_selectivity": ClaimSpec(
        statement="four-cluster weights: intra-class selectivity mean |w·u_intra|, after / before "
        "training, ReLU − tanh (same initial weights) > 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        source_value="Fig. 1D: ReLU units keep and grow their initial intra-class selectivity",
    ),
    "aligned_rise_tanh_vs_relu": ClaimSpec(
        statement="aligned-kernel tasks: rise of target alignment from the smallest to the largest "
        f"input–output alignment, tanh − ReLU, {_GAP}, smallest over the (P, k) runs > 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        # small: +0.04 [-0.01, 0.06], 3 seeds. paper: -0.11 at (32, 5) -- tanh is already near the targets at the
        # smallest alignment (0.62 vs ReLU 0.52 there, 0.89 vs 0.81 at (32, 1)), so it has less left to rise,
        # though above ReLU past the smallest alignment of every run with k < P - 1 (k = P - 1: neither learns).
        expected={"small": "inconclusive", "paper": "not replicated"},
        source_value="Fig. 4B: target alignment rises faster for tanh at every P, k",
    ),
    "clipped_relu_equivalent_target_alignment": ClaimSpec(
        statement="perturbation tasks: |target alignment clipped ReLU − tanh| (mean over alignments), "
        "largest over u and k < 0.05 (equivalence margin)",
        threshold={"small": 0.05, "paper": 0.05, "full": 0.05},
        op="<",
        # small (P = 8, 1200 steps): 0.10 -- clipped ReLU reaches the targets faster than tanh at low alignment
        expected={"small": "not replicated"},
        source_value="Fig. 6A: clipped ReLU 'behave[s] almost identically to Tanh'",
    ),
    "clipped_relu_equivalent_parallelism": ClaimSpec(
        statement="perturbation tasks: |parallelism score clipped ReLU − tanh| (mean over alignments), "
        "largest over u and k < 0.1 (equivalence margin)",
        threshold={"small": 0.1, "paper": 0.1, "full": 0.1},
        op="<",
        expected={"small": "not replicated"},  # small: 0.12, as for target alignment
        source_value="Fig. 6A: clipped ReLU 'behave[s] almost identically to Tanh'",
    ),
    "shifted_relu_positive_towards_tanh": ClaimSpec(
        statement=f"perturbation tasks: target alignment shifted ReLU (s > 0) − ReLU, {_GAP}, "
        "mean over alignments, smallest over s and k > 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        source_value="Fig. 6B: a 'modest effect' towards target alignment when the linear region contains the origin",
    ),
    "shifted_relu_negative_away": ClaimSpec(
        statement=f"perturbation tasks: target alignment shifted ReLU (s < 0) − ReLU, {_GAP}, "
        "mean over alignments, largest over s and k < 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        op="<",
        source_value="Fig. 6B: shifting the kink to the right of the origin (s < 0) moves away from tanh",
    ),
    "deep_tanh_vs_relu_last_layer": ClaimSpec(
        statement=f"deep networks: last-layer target alignment tanh − ReLU, {_GAP}, "
        "smallest over depths and the easy and hard tasks > 0",
        threshold={"small": 0.0, "paper": 0.0, "full": 0.0},
        source_value="Fig. 5: deep tanh networks more target-aligned in the last layer, especially on the hard task",
        # small (960 SGD steps) and paper (12 800): on the hard task the deep tanh networks stay far from the
        # targets (last layer 0.46 / 0.52 for 5 / 10 layers vs ReLU 0.85 / 0.89); on the easy task tanh is above.
        expected={"small": "not replicated", "paper": "not replicated"},
    ),
}

#: The source's statements the chapter compares with (What we found).
SOURCE: dict[str, str] = {
    "four_cluster": "Alleman, Lindsey & Fusi 2024, Fig. 1B (§4): tanh → high target alignment, PS and CCGP; "
    "ReLU → high input alignment and better decoding of untrained dichotomies, which rises during training for "
    "ReLU and falls for tanh; trained dichotomy decodable in both. SPEC quick NumPy re-run (300 epochs, 3 seeds): "
    "tanh target 1.0 / input 0.63, ReLU target 0.78 / input 0.95; task alignment 0.58.",
    "dynamics": "Fig. 1D: tanh units move along the inter-class axis; ReLU units keep intra-class selectivity.",
    "aligned": "Fig. 4B (§6): 'the target alignment always increases more dramatically for Tanh networks compared to ReLU as input-output alignment increases'.",
    "perturbation": "Fig. 6 (§9): clipped ReLU 'behave[s] almost identically to Tanh'; shifting ReLU so that "
                    "its linear region contains the origin has 'a modest effect' towards target alignment.",
    "depth": "Fig. 5 (§7): target alignment rises and input alignment falls along the layers; deep tanh "
             "networks are more target-aligned than ReLU in their last layer, especially on the hard task.",
}
