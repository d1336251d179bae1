"""Geometry metrics of trained networks, validated against closed forms and independent code.

Conventions (see each docstring for shapes and formulas):

- Representations are ``(..., n_conditions, n_units)``; leading dims are networks,
  seeds or epochs and are batched where a docstring says so.
- **Anything array-like in, NumPy out**: NumPy arrays, lists and torch tensors (any
  device) are accepted; results are NumPy float64 (a NumPy scalar when 0-d). CKA, RDMs
  and RSA run in torch on the input tensor's device or ``device=``; the rest on the CPU.
- A function returns a plain array when it has one result, a frozen dataclass when it
  has several (headline array first: ``ccgp(...).scores``, ``match_units(...).permutation``).
- Bad input raises ``ValueError`` naming the argument; degenerate but valid input
  (a constant representation) gives a documented value, never a silent NaN.

Modules: :mod:`.cka` (kernel alignment), :mod:`.rsa` (RDMs, RSA), :mod:`.abstraction`
(PS, CCGP, dichotomy decoding), :mod:`.matching` (APC, PE), :mod:`.alignment`
(Procrustes, SRM), :mod:`.dynamics` (weight vector field), :mod:`.projection` (PCA).
"""

from .abstraction import (
    CCGPResult,
    DecodingResult,
    balanced_dichotomies,
    ccgp,
    dichotomy_decoding,
    parallelism_score,
)
from .alignment import (
    ProcrustesResult,
    SharedResponseModel,
    between_rsm,
    map_variance_explained,
    pairwise_map_variance_explained,
    procrustes,
    rsm_agreement,
    unaligned_angle,
    unaligned_variance_explained,
    within_rsm,
    zscore_patterns,
)
from .cka import kernel_alignment
from .dynamics import (
    VectorField,
    expected_weight_update,
    project_weights,
    weight_plane_axes,
    weight_vector_field,
)
from .matching import MatchResult, apc, match_units, permutation_equivalence, unit_correlations
from .projection import pca
from .rsa import compare_rdms, rdm, rdm_upper, rsa_matrix, rsa_vectors

__all__ = [
    # cka
    "kernel_alignment",
    # rsa
    "rdm",
    "rdm_upper",
    "compare_rdms",
    "rsa_matrix",
    "rsa_vectors",
    # abstraction
    "balanced_dichotomies",
    "parallelism_score",
    "ccgp",
    "CCGPResult",
    "dichotomy_decoding",
    "DecodingResult",
    # matching
    "match_units",
    "MatchResult",
    "unit_correlations",
    "apc",
    "permutation_equivalence",
    # alignment
    "procrustes",
    "ProcrustesResult",
    "SharedResponseModel",
    "unaligned_angle",
    "unaligned_variance_explained",
    "zscore_patterns",
    "map_variance_explained",
    "pairwise_map_variance_explained",
    "between_rsm",
    "within_rsm",
    "rsm_agreement",
    # dynamics
    "weight_plane_axes",
    "project_weights",
    "expected_weight_update",
    "weight_vector_field",
    "VectorField",
    # projection
    "pca",
]
