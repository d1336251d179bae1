"""Chapter 00 -- primer: reading representational geometry.

Shows how each measurement of the book reads, first on **toy geometries with a known
answer** and then on a few **small trained networks**:

* toy geometries of ``P = 2^k`` conditions (``k`` binary factors): a perfectly
  factorised "cube" (``means = labels @ A``, ``A`` orthonormal rows), the same cube
  rotated (``means @ Q``) and with its units permuted, a random geometry of the same
  size, and the cube with growing noise or rotation (the *Explore* widget);
* tanh and ReLU networks trained on the four-cluster task of chapter 1 (one
  :func:`repgeom_lite.ensemble.train_ensemble` call), measured at initialisation and
  after training, within a network (target/input alignment, PS, CCGP, dichotomy
  decoding) and between seeds (RSA, CKA, unit matching, Procrustes, SRM).

The notebook ``notebooks/00_primer.ipynb`` calls :func:`run`, the plot functions,
:func:`closed_form_checks` (which asserts the closed-form facts the chapter shows) and
:func:`summarize` / :func:`save_summary` / :func:`load_summary` (the small JSON summary
that is committed for the full preset).

Shapes (leading axes, in this order): activation ``A``, seed ``S``, epoch ``R`` (or
``E = 2``: at initialisation and after training), then conditions/samples ``n`` and
units ``H``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = [
    "PRESETS",
    "RUNTIME",
    "CLAIMS",
    "TOY_GEOMETRIES",
    "EXPLORE_KINDS",
    "METRIC_LABELS",
    "BOOK_MAP",
    "GeometryMetrics",
    "ToyResults",
    "NetworkResults",
    "PrimerResults",
    "Check",
    "factor_labels",
    "cube_geometry",
    "random_geometry",
    "rotation_matrix",
    "perturb",
    "noisy_samples",
    "toy_dichotomies",
    "measure_geometry",
    "epoch_schedule",
    "hidden_layer",
    "unaligned_angle",
    "unaligned_variance_explained",
    "seed_pairs",
    "pca",
    "thread_limit",
    "toy_geometries",
    "make_task",
    "run_toys",
    "run_networks",
    "run",
    "closed_form_checks",
    "assert_checks",
    "checks_markdown",
    "summarize",
    "save_summary",
    "load_summary",
    "toy_table_markdown",
    "network_table_markdown",
    "copies_table_markdown",
    "findings_markdown",
    "linkable_chapters",
    "book_map_markdown",
    "plot_tuning",
    "plot_kernel",
    "plot_toy_geometry",
    "plot_four_cluster_task",
    "plot_toy_metrics",
    "plot_toy_dichotomies",
    "plot_over_training",
    "plot_init_vs_trained",
    "plot_rsa_matrix",
    "plot_between_seeds",
    "explore_figure",
    "explore_figures",
]

# --------------------------------------------------------------------------- presets

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

RUNTIME: dict[str, str] = {
    # measured with papermill on the development machine: a 2-core CPU shared with other
    # jobs (load average 8-12, i.e. this run got a fraction of one core)
    "small": "28 s wall for the whole notebook, measured with papermill on an idle 2-core CPU (cpu x86_64, torch 2.13.0+cpu), 2026-11-25",
    "full": "44 min (2657 s) on cpu (2 cores), shared, load average ≈ 10-12, nice 10; no GPU run",
}

# The primer states no claims of a finding; it asserts closed-form facts instead
# (see closed_form_checks).
CLAIMS: dict = {}

TOY_GEOMETRIES = ("cube", "rotated cube", "permuted cube", "random")
EXPLORE_KINDS = ("noise", "rotation")
ACTIVATIONS = ("tanh", "relu")
N_WEIGHT_EPOCHS = 11

#: Display names of the toy metrics, in table order.
METRIC_LABELS: dict[str, str] = {
    "target_alignment": "target alignment C(K_Z, K_Y)",
    "cka": "CKA with the cube",
    "rsa": "RSA with the cube (Spearman)",
    "parallelism": "parallelism score (mean over factors)",
    "ccgp": "CCGP (mean over factors)",
    "decoding_factors": "decoding, factor dichotomies",
    "decoding_other": "decoding, other dichotomies",
    "procrustes_angle": "Procrustes angle to the cube (rad)",
}

#: Which measurement carries each chapter's finding (the primer's map of the book).
BOOK_MAP: dict[str, str] = {
    "01": (
        "**Kernel alignment** carries it: tanh networks end with high *target* alignment, ReLU "
        "networks with high *input* alignment; the parallelism score and CCGP say the tanh geometry "
        "is factorised, and decoding of *untrained* dichotomies says the ReLU geometry keeps the "
        "inputs. The expected-gradient vector field explains why."
    ),
    "02": (
        "Target alignment, **parallelism score** and **CCGP** as a task morphs from XOR to linearly "
        "separable (δ from 0 to 1): tanh networks jump to a factorised, target-aligned geometry "
        "past a small δ, ReLU networks move gradually, and training noise moves the tanh jump."
    ),
    "03": (
        "**RSA** over thousands of networks: Spearman correlations between hidden-layer RDMs, the "
        "principal components of the vectorised RDMs, and how much each hyperparameter separates "
        "them (activation first)."
    ),
    "04": (
        "**Unit matching**: Hungarian matching of hidden units between seeds on their weights and on "
        "their cumulative gradients (APC-1, APC-2, PE), as the number of classes and the L1 penalty grow."
    ),
    "05": (
        "**Procrustes and the shared response model**: after an orthogonal alignment, how much of one "
        "network's held-out responses the shared response explains, for plain convnets and residual nets."
    ),
}


# --------------------------------------------------------------------------- small helpers


def _subseeds(seed: int, n: int) -> list[int]:
    """``n`` independent integer seeds derived from ``seed`` (NumPy SeedSequence)."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(int(seed)).spawn(n)]


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@contextlib.contextmanager
def _quiet_svm():
    """Silence LinearSVC's ConvergenceWarning (liblinear's default ``max_iter``)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@contextlib.contextmanager
def thread_limit(num_threads: int | None):
    """Limit torch, BLAS and OpenMP threads inside the block; restore them afterwards.

    On a shared 2-core CPU, multi-threaded BLAS/OpenMP spin-waits when the cores are
    busy: measured here (load average 10) a batch of 36 Procrustes SVDs (200 x 128)
    took 45 s with 2 BLAS threads and 0.56 s with one, and 3 epochs of the six small
    networks 23 s with 2 torch threads and 1.4 s with one. The primer's arrays are
    small, so one thread should cost little on an idle machine too (not measured here:
    no idle machine was available). ``None`` leaves the libraries' defaults.
    """
    if num_threads is None:
        yield
        return
    n = _check_int("num_threads", num_threads, 1)
    # threadpoolctl only limits libraries that are loaded when the block starts: load
    # scipy's own OpenBLAS and scikit-learn's OpenMP now, not lazily inside the block.
    import scipy.linalg  # noqa: F401
    import sklearn.svm  # noqa: F401
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- toy geometries


def factor_labels(n_factors: int) -> np.ndarray:
    """All ``P = 2^k`` settings of ``k`` binary factors, ``(P, k)`` int64 in {-1, +1}.

    Row ``p`` holds the bits of ``p`` (most significant first), bit 0 -> +1, bit 1 -> -1,
    so condition 0 is ``(+1, ..., +1)``.

    >>> factor_labels(2).tolist()
    [[1, 1], [1, -1], [-1, 1], [-1, -1]]
    """
    k = _check_int("n_factors", n_factors, 1)
    bits = (np.arange(2**k)[:, None] >> np.arange(k - 1, -1, -1)[None, :]) & 1
    return (1 - 2 * bits).astype(np.int64)


def cube_geometry(labels: np.ndarray, n_units: int, seed: int = 0) -> np.ndarray:
    """A perfectly factorised geometry: ``means = labels @ A``, ``(P, N)``.

    ``A: (k, N)`` has orthonormal rows (a random ``k``-dimensional subspace of the ``N``
    units), so factor ``i`` is coded along its own unit-length direction and the
    conditions sit on the corners of a ``k``-cube of side 2. Its kernel is
    ``labels @ labels.T``: target alignment 1, parallelism score 1.

    Parameters
    ----------
    labels : (P, k) array of ±1
    n_units : int
        ``N >= k``.
    seed : int
    """
    L = np.asarray(labels, dtype=np.float64)
    if L.ndim != 2:
        raise ValueError(f"labels must have shape (P, k), got {L.shape}")
    N = _check_int("n_units", n_units, L.shape[1])
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((N, L.shape[1])))
    return L @ Q.T


def random_geometry(n_conditions: int, n_units: int, seed: int = 0, like: np.ndarray | None = None) -> np.ndarray:
    """Random condition means ``(P, N)``: Gaussian, centred over conditions.

    With ``like: (P, N)``, rescaled so that its centred Frobenius norm equals that of
    ``like`` (same overall spread, no structure).
    """
    P = _check_int("n_conditions", n_conditions, 2)
    N = _check_int("n_units", n_units, 1)
    G = np.random.default_rng(seed).standard_normal((P, N))
    G -= G.mean(axis=0)
    if like is not None:
        like = np.asarray(like, dtype=np.float64)
        if like.shape != (P, N):
            raise ValueError(f"like must have shape {(P, N)}, got {like.shape}")
        G *= np.linalg.norm(like - like.mean(axis=0)) / np.linalg.norm(G)
    return G


def rotation_matrix(n_units: int, amount: float, seed: int = 0) -> np.ndarray:
    """A rotation ``Q = expm(amount * S)`` of the ``N`` units, ``(N, N)``.

    ``S = (G - G^T) / sqrt(2N)`` is a fixed random skew-symmetric generator (``G`` Gaussian,
    from ``seed``), so ``Q^T Q = I`` and ``det Q = 1`` for every ``amount``; ``amount = 0``
    is the identity and the typical rotation angle grows with ``amount`` (the
    eigenvalues of ``S`` lie within about ±2i, i.e. rotations of up to ~2 rad per unit
    of ``amount`` in each invariant plane).
    """
    import scipy.linalg

    N = _check_int("n_units", n_units, 1)
    if not np.isfinite(amount):
        raise ValueError(f"amount must be a finite number, got {amount!r}")
    G = np.random.default_rng(seed).standard_normal((N, N))
    S = (G - G.T) / math.sqrt(2 * N)
    return scipy.linalg.expm(float(amount) * S)


def perturb(means: np.ndarray, kind: str, level: float, seed: int = 0) -> np.ndarray:
    """The geometry ``means: (P, N)`` with noise added or rotated, ``(P, N)``.

    - ``"noise"``: ``means + level * E``, ``E`` a :func:`random_geometry` with the same
      spread as ``means`` (level 1: structure and noise equally large).
    - ``"rotation"``: ``means @ rotation_matrix(N, level, seed)``.

    ``seed`` fixes ``E`` / the rotation generator, so levels of one kind are a path.
    """
    M = np.asarray(means, dtype=np.float64)
    if M.ndim != 2:
        raise ValueError(f"means must have shape (P, N), got {M.shape}")
    if not (np.isfinite(level) and level >= 0):
        raise ValueError(f"level must be a finite number >= 0, got {level!r}")
    if kind == "noise":
        return M + float(level) * random_geometry(M.shape[0], M.shape[1], seed, like=M)
    if kind == "rotation":
        return M @ rotation_matrix(M.shape[1], level, seed)
    raise ValueError(f"kind must be one of {EXPLORE_KINDS}, got {kind!r}")


def noisy_samples(means: np.ndarray, n_per_condition: int, sigma: float, seed: int = 0):
    """Noisy samples around condition means.

    Returns ``X: (P * n, N)`` = ``means[cond] + sigma * N(0, I)`` and ``cond: (P * n,)``
    int64, sorted by condition. The same seed gives the same noise for any ``means`` of
    the same shape (common random numbers across geometries).
    """
    M = np.asarray(means, dtype=np.float64)
    n = _check_int("n_per_condition", n_per_condition, 1)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    cond = np.repeat(np.arange(M.shape[0], dtype=np.int64), n)
    Z = np.random.default_rng(seed).standard_normal((cond.size, M.shape[1]))
    return M[cond] + float(sigma) * Z, cond


def toy_dichotomies(labels: np.ndarray, n_other: int, seed: int = 0) -> np.ndarray:
    """The factor dichotomies followed by ``n_other`` other balanced dichotomies, ``(k + n_other, P)``.

    Signs follow :func:`repgeom_lite.metrics.balanced_dichotomies` (condition 0 on the +1
    side). The others are a random sample (``seed``) of the balanced dichotomies that are
    not factors, in the order :func:`~repgeom_lite.metrics.balanced_dichotomies` lists them.
    """
    from .. import metrics as M

    L = np.asarray(labels, dtype=np.int64)
    P, k = L.shape
    factors = (L * L[0]).T  # (k, P), condition 0 on the +1 side
    all_d = M.balanced_dichotomies(P)
    is_factor = (all_d[:, None, :] == factors[None]).all(-1).any(-1)
    others = all_d[~is_factor]
    n_other = _check_int("n_other", n_other, 0)
    if n_other > len(others):
        raise ValueError(f"n_other must be at most {len(others)} (the non-factor dichotomies of P = {P}), got {n_other}")
    keep = np.sort(np.random.default_rng(seed).choice(len(others), n_other, replace=False))
    return np.concatenate([factors, others[keep]])


@dataclass(frozen=True)
class GeometryMetrics:
    """Every measurement of one geometry (toy section); see :data:`METRIC_LABELS`.

    Attributes
    ----------
    target_alignment : float
        ``C(K_Z, K_Y)`` with ``Y = labels`` (all factors), in [0, 1].
    cka : float
        Linear CKA with the reference (the clean cube), in [0, 1].
    rsa : float
        Spearman correlation of the correlation-distance RDMs with the reference's, in [-1, 1].
    parallelism : float
        Parallelism score, mean over the factors, in [-1, 1].
    ccgp : float
        CCGP, mean over the factors (noisy samples), in [0, 1], chance 0.5.
    decoding_factors, decoding_other : float
        Cross-validated LinearSVC accuracy, mean over the factor dichotomies / the other
        dichotomies, in [0, 1], chance 0.5.
    procrustes_angle : float
        Angular Procrustes distance to the reference, in [0, pi/2] radians.

    Unit matching is not among them: with ``P = 8`` conditions every unit's tuning is a
    point in at most 7 dimensions, so 50 units always find close partners; it is shown
    on trained networks' responses to many stimuli instead (:attr:`NetworkResults.copies`).
    """

    target_alignment: float
    cka: float
    rsa: float
    parallelism: float
    ccgp: float
    decoding_factors: float
    decoding_other: float
    procrustes_angle: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def measure_geometry(
    means: np.ndarray,
    labels: np.ndarray,
    reference: np.ndarray,
    dichotomies: np.ndarray,
    *,
    n_per_condition: int,
    sigma: float,
    n_folds: int = 2,
    seed: int = 0,
) -> tuple[GeometryMetrics, np.ndarray]:
    """Measure one toy geometry against its labels and a reference geometry.

    Parameters
    ----------
    means : (P, N) array
        Condition means of the geometry.
    labels : (P, k) array of ±1
        The factors (a full factorial design).
    reference : (P, N) array
        The geometry to compare with (CKA, RSA, Procrustes).
    dichotomies : (D, P) array of ±1
        The first ``k`` rows are the factors (as :func:`toy_dichotomies` returns).
    n_per_condition, sigma : int, float
        Noisy samples for CCGP and decoding (:func:`noisy_samples`, seed ``seed``).
    n_folds : int
        Cross-validation folds of the decoders.
    seed : int

    Returns
    -------
    GeometryMetrics, ndarray (D,)
        The metrics and the decoding accuracy of each dichotomy.
    """
    from .. import metrics as M

    means = np.asarray(means, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    L = np.asarray(labels, dtype=np.int64)
    k = L.shape[1]
    X, cond = noisy_samples(means, n_per_condition, sigma, seed)
    with _quiet_svm():
        dec = M.dichotomy_decoding(X, cond, dichotomies, n_folds=n_folds, seed=seed).scores
        ccgp = M.ccgp(X, cond, L, seed=seed).scores
    metrics = GeometryMetrics(
        target_alignment=float(M.kernel_alignment(means, L.astype(np.float64))),
        cka=float(M.kernel_alignment(means, reference)),
        rsa=float(M.compare_rdms(M.rdm(means), M.rdm(reference))),
        parallelism=float(np.mean(M.parallelism_score(means, L))),
        ccgp=float(np.mean(ccgp)),
        decoding_factors=float(np.mean(dec[:k])),
        decoding_other=float(np.mean(dec[k:])) if len(dec) > k else float("nan"),
        procrustes_angle=float(M.procrustes(means, reference).angular_distance),
    )
    return metrics, np.asarray(dec, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class ToyResults:
    """Toy geometries and their measurements.

    Attributes
    ----------
    labels : (P, k) int64
        The factors.
    dichotomies : (D, P) int64
        Factor dichotomies first, then the sampled other dichotomies.
    geometries : dict
        ``name -> (P, N)`` for the names in :data:`TOY_GEOMETRIES`.
    metrics : dict
        ``name -> GeometryMetrics``.
    decoding : dict
        ``name -> (D,)`` decoding accuracy per dichotomy.
    rotation : (N, N)
        The rotation of the "rotated cube" (= the explore path at level 1).
    permutation : (N,) int64
        The unit order of the "permuted cube": ``permuted = cube[:, permutation]``.
    explore_levels : (V,) float
    explore_geometries, explore_metrics : dict
        ``(kind, level) -> (P, N)`` and ``-> GeometryMetrics`` for kind in :data:`EXPLORE_KINDS`.
    sigma, n_per_condition : float, int
        Sample noise and samples per condition of CCGP and decoding.
    """

    labels: np.ndarray
    dichotomies: np.ndarray
    geometries: dict
    metrics: dict
    decoding: dict
    rotation: np.ndarray
    permutation: np.ndarray
    explore_levels: np.ndarray
    explore_geometries: dict
    explore_metrics: dict
    sigma: float
    n_per_condition: int


def toy_geometries(cfg) -> tuple[np.ndarray, dict, np.ndarray, np.ndarray]:
    """The toy geometries of the table, built from ``cfg["toy_seed"]``.

    Returns
    -------
    labels : (P, k) int64
        The factors (``k = cfg["toy_factors"]``).
    geometries : dict
        ``name -> (P, N)`` for :data:`TOY_GEOMETRIES`: the cube, the cube rotated by ``Q``,
        the cube with its units permuted, a random geometry with the cube's spread.
    Q : (N, N)
        The rotation (= the explore path's rotation at level 1).
    permutation : (N,) int64
        ``permuted cube = cube[:, permutation]``.
    """
    seed_cube, seed_perm, seed_rand, seed_pert, _, _ = _subseeds(cfg["toy_seed"], 6)
    labels = factor_labels(cfg["toy_factors"])
    N = int(cfg["toy_units"])
    cube = cube_geometry(labels, N, seed_cube)
    perm = np.random.default_rng(seed_perm).permutation(N).astype(np.int64)
    Q = rotation_matrix(N, 1.0, seed_pert)
    geometries = {
        "cube": cube,
        "rotated cube": cube @ Q,
        "permuted cube": cube[:, perm],
        "random": random_geometry(cube.shape[0], N, seed_rand, like=cube),
    }
    return labels, geometries, Q, perm


def run_toys(cfg) -> ToyResults:
    """Build and measure the toy geometries and the explore path.

    Parameters
    ----------
    cfg : mapping
        ``toy_seed``, ``toy_factors``, ``toy_units``, ``toy_sigma``, ``toy_samples``,
        ``toy_other_dichotomies``, ``explore_levels``, ``decode_folds``.
    """
    levels = np.asarray(cfg["explore_levels"], dtype=np.float64)
    if levels.ndim != 1 or levels.size < 2:
        raise ValueError(f"explore_levels must list at least 2 levels, got {cfg['explore_levels']!r}")
    _, _, _, seed_pert, seed_dich, seed_samples = _subseeds(cfg["toy_seed"], 6)
    labels, geometries, Q, perm = toy_geometries(cfg)
    cube = geometries["cube"]
    dich = toy_dichotomies(labels, cfg["toy_other_dichotomies"], seed_dich)
    kw = dict(n_per_condition=int(cfg["toy_samples"]), sigma=float(cfg["toy_sigma"]),
              n_folds=int(cfg["decode_folds"]), seed=seed_samples)
    metrics, decoding = {}, {}
    for name, G in geometries.items():
        metrics[name], decoding[name] = measure_geometry(G, labels, cube, dich, **kw)
    ex_geo, ex_met = {}, {}
    for kind in EXPLORE_KINDS:
        for level in levels.tolist():
            G = perturb(cube, kind, level, seed_pert)
            ex_geo[kind, level] = G
            # the clean cube and the rotated cube of the table are states of the path: reuse them
            same = [n for n in ("cube", "rotated cube") if np.array_equal(G, geometries[n])]
            ex_met[kind, level] = metrics[same[0]] if same else measure_geometry(G, labels, cube, dich, **kw)[0]
    return ToyResults(
        labels=labels, dichotomies=dich, geometries=geometries, metrics=metrics, decoding=decoding,
        rotation=Q, permutation=perm, explore_levels=levels, explore_geometries=ex_geo,
        explore_metrics=ex_met, sigma=float(cfg["toy_sigma"]), n_per_condition=int(cfg["toy_samples"]),
    )


# --------------------------------------------------------------------------- trained networks


def epoch_schedule(epochs: int, n: int = N_WEIGHT_EPOCHS) -> tuple[int, ...]:
    """About ``n`` evenly spaced epochs from 0 to ``epochs`` (both included).

    >>> epoch_schedule(10, 6)
    (0, 2, 4, 6, 8, 10)
    """
    epochs = _check_int("epochs", epochs, 1)
    n = _check_int("n", n, 2)
    return tuple(sorted({int(round(e)) for e in np.linspace(0, epochs, n)}))


def hidden_layer(params: dict, X: np.ndarray, activation: str) -> np.ndarray:
    """Hidden responses ``z = f(X W0^T + b0)`` of a one-hidden-layer network, ``(n, H)``.

    Parameters
    ----------
    params : dict
        ``{"W0": (H, D), "b0": (H,), ...}`` as in :class:`repgeom_lite.ensemble.EnsembleResult`.
    X : (n, D) array
    activation : str
        Any activation of :mod:`repgeom_lite.models` (its own function is used).
    """
    import torch

    from ..models import activation_fn

    W = np.asarray(params["W0"], dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != W.shape[1]:
        raise ValueError(f"X must have shape (n, {W.shape[1]}), got {X.shape}")
    a = X @ W.T + np.asarray(params.get("b0", np.zeros(W.shape[0])), dtype=np.float64)
    return activation_fn(activation)(torch.from_numpy(a)).numpy()


def unaligned_angle(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Angle between two centred representations *without* any alignment, in [0, pi].

    ``X, Y: (..., n, N) -> (...)``: ``arccos(<X_c, Y_c>_F / (||X_c|| ||Y_c||))`` with
    ``X_c, Y_c`` column-centred, i.e. comparing unit ``j`` of one with unit ``j`` of the
    other. The baseline that :func:`repgeom_lite.metrics.procrustes` improves on by
    rotating first. A constant representation gives pi/2.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.shape[-2:] != Y.shape[-2:] or X.ndim < 2:
        raise ValueError(f"X and Y must have the same (n, N) shape, got {X.shape} and {Y.shape}")
    Xc = X - X.mean(axis=-2, keepdims=True)
    Yc = Y - Y.mean(axis=-2, keepdims=True)
    num = (Xc * Yc).sum(axis=(-2, -1))
    den = np.linalg.norm(Xc, axis=(-2, -1)) * np.linalg.norm(Yc, axis=(-2, -1))
    cos = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def unaligned_variance_explained(Xs_train: Sequence[np.ndarray], Xs_test: Sequence[np.ndarray]) -> np.ndarray:
    """Held-out variance explained by the other networks *without* alignment, ``(m,)``.

    ``VE_i = 1 - mean((S_hat + mu_i - X_i)^2) / var(X_i)`` with
    ``S_hat = mean_{j != i}(X_j - mu_j)`` on the test images and ``mu_j`` the training
    means -- the SRM's ``shared="others"`` variance explained with every ``W_i = I``
    (unit ``j`` of one network predicts unit ``j`` of another). Needs equal widths.
    """
    tr = [np.asarray(x, dtype=np.float64) for x in Xs_train]
    te = [np.asarray(x, dtype=np.float64) for x in Xs_test]
    m = len(tr)
    if m < 2 or len(te) != m:
        raise ValueError(f"need at least 2 networks with train and test responses, got {m} and {len(te)}")
    if len({x.shape[1] for x in tr + te}) != 1:
        raise ValueError("all networks must have the same number of units (no alignment is fitted)")
    mu = [x.mean(axis=0) for x in tr]
    centred = [x - u for x, u in zip(te, mu)]
    total = np.sum(centred, axis=0)
    ve = np.empty(m)
    for i in range(m):
        resid = (total - centred[i]) / (m - 1) + mu[i] - te[i]
        var = te[i].var()
        ve[i] = 0.0 if var <= 0 else 1.0 - np.mean(resid**2) / var
    return ve


def seed_pairs(n: int) -> np.ndarray:
    """All pairs ``i < j`` of ``n`` seeds, ``(n (n - 1) / 2, 2)`` int64 (empty for ``n < 2``)."""
    return np.asarray(list(itertools.combinations(range(int(n)), 2)), dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True, eq=False)
class NetworkResults:
    """Trained tanh and ReLU networks on the four-cluster task and their measurements.

    Attributes
    ----------
    activations : tuple of str
        ``("tanh", "relu")`` (axis ``A``).
    seeds : (S,) int
    epochs : (R,) int
        Epochs at which the weights were kept (0 = initialisation).
    task : ClusterTask
        The four-cluster task (centres, labels, ...).
    task_alignment : float
        Input–output alignment ``C(K_X, K_Y)`` of the task's centres.
    test_accuracy : (A, S)
        Accuracy on the task's test set after training.
    target_alignment, input_alignment, parallelism : (A, S, R)
        On the noise-free centres, at every kept epoch.
    sigma_test : float
    dichotomies : (3, 4) int64
        The balanced dichotomies of the four clusters; ``trained_index`` is the task's.
    trained_index : int
    decoding : (A, S, 2, 3)
        Cross-validated decoding of each dichotomy at init (0) and after training (1).
    ccgp : (A, S, 2)
        CCGP of the trained dichotomy at init and after training.
    stimuli_cond : (n_stim,) int64
        Condition of each stimulus (noisy samples at ``sigma_stimuli``, sorted by condition).
    rdm_input : (n_stim, n_stim)
        RDM of the stimuli themselves.
    rdm_example : (A, n_stim, n_stim)
        Trained RDM of the first seed of each activation.
    rsa_trained : (1 + A S, 1 + A S)
        Spearman RSA between the input RDM and every trained network (tanh seeds, then ReLU).
    pairs : (n_pairs, 2) int64
        Seed pairs of the between-seed measures.
    between : dict
        ``measure -> (A, 2, n_pairs)`` for ``rsa``, ``cka``, ``apc`` (first-layer weights),
        ``procrustes_angle``, ``unaligned_angle`` (at init and after training).
    srm_ve, srm_ve_unaligned : (A, 2, S)
        Held-out variance explained of each network by the shared response of the others
        (probabilistic SRM, ``k`` = units), and without alignment.
    across : dict
        ``measure -> (2, S)`` between the tanh and ReLU network of the same seed (``rsa``, ``cka``).
    example_responses : (A, n_stim, H)
        Trained responses of the first seed of each activation to the stimuli.
    copies : dict
        ``name -> {"cka", "rsa", "procrustes_angle", "apc"}``: the first trained tanh
        network compared with its own units permuted, its units rotated, another tanh
        seed and the ReLU network of the same seed (APC on the units' responses to the
        stimuli).
    device : str
    wall_time_s : float
    """

    activations: tuple
    seeds: np.ndarray
    epochs: np.ndarray
    task: Any
    task_alignment: float
    test_accuracy: np.ndarray
    target_alignment: np.ndarray
    input_alignment: np.ndarray
    parallelism: np.ndarray
    sigma_test: float
    dichotomies: np.ndarray
    trained_index: int
    decoding: np.ndarray
    ccgp: np.ndarray
    stimuli_cond: np.ndarray
    rdm_input: np.ndarray
    rdm_example: np.ndarray
    rsa_trained: np.ndarray
    pairs: np.ndarray
    between: dict
    srm_ve: np.ndarray
    srm_ve_unaligned: np.ndarray
    across: dict
    example_responses: np.ndarray
    copies: dict
    device: str
    wall_time_s: float

    @property
    def untrained_index(self) -> np.ndarray:
        """Rows of ``dichotomies`` that are not the task's."""
        return np.delete(np.arange(len(self.dichotomies)), self.trained_index)


def _srm(Z_tr: list[np.ndarray], Z_te: list[np.ndarray], k: int, seed: int) -> np.ndarray:
    from .. import metrics as M

    srm = M.SharedResponseModel(n_components=k, n_iter=10, random_state=seed).fit(Z_tr)
    return srm.variance_explained(Z_te, shared="others")


def make_task(cfg):
    """The four-cluster task of chapter 1 with the chapter's knobs (``input_dim``, ``sigma_train``,
    ``n_train``, ``task_seed``; 1000 test samples)."""
    from .. import tasks

    return tasks.four_cluster_task(D=cfg["input_dim"], sigma_train=cfg["sigma_train"], n_train=cfg["n_train"],
                                   n_test=1000, seed=cfg["task_seed"])


def run_networks(cfg, *, progress: bool = True) -> NetworkResults:
    """Train tanh and ReLU networks on the four-cluster task (one batched call) and measure them.

    Parameters
    ----------
    cfg : mapping
        ``seeds`` (at least 2), ``epochs``, ``task_seed``, ``hidden_units``, ``input_dim``,
        ``sigma_train``, ``n_train``, ``lr``, ``batch_size``, ``sigma_test``, ``n_decode``,
        ``decode_folds``, ``n_stimuli``, ``sigma_stimuli``, ``device``.
    progress : bool
        tqdm progress bar of the training.
    """
    from .. import metrics as M
    from ..ensemble import NetConfig, Records, TrainData, train_ensemble

    t0 = time.perf_counter()
    seeds = [int(s) for s in cfg["seeds"]]
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must hold at least 2 distinct seeds (between-seed measures), got {cfg['seeds']!r}")
    H = int(cfg["hidden_units"])
    n_stim = _check_int("n_stimuli", cfg["n_stimuli"], 8)
    n_fit = int(round(0.8 * n_stim))
    if n_fit < H:
        raise ValueError(
            f"the SRM (k = hidden_units = {H}) is fitted on 80% of the stimuli: n_stimuli must be "
            f">= {math.ceil(H / 0.8)}, got {n_stim}"
        )
    epochs = int(cfg["epochs"])
    task = make_task(cfg)
    weight_epochs = epoch_schedule(epochs)
    configs = [
        NetConfig(hidden=(H,), activation=a, lr=cfg["lr"], batch_size=cfg["batch_size"], epochs=epochs,
                  seed=s, data_seed=s)
        for a in ACTIVATIONS for s in seeds
    ]
    data = TrainData(task.X_train, task.Y_train, task.X_test, task.Y_test)
    res = train_ensemble(configs, data, Records(weight_epochs=weight_epochs, history=True),
                         device=cfg["device"], progress=progress)
    A, S, R = len(ACTIVATIONS), len(seeds), len(weight_epochs)
    acts = [c.activation for c in configs]
    last = [0, R - 1]  # init and trained, as indices into weight_epochs

    def responses(X, which):  # (A, S, len(which), n, H)
        out = np.stack([np.stack([hidden_layer(res.weights_at[i][r], X, acts[i]) for r in which])
                        for i in range(len(configs))])
        return out.reshape((A, S) + out.shape[1:])

    Y = task.labels.astype(np.float64)
    Zc = responses(task.centers, range(R))
    ta = np.asarray(M.kernel_alignment(Zc, Y))
    ia = np.asarray(M.kernel_alignment(Zc, task.centers))
    ps = np.asarray(M.parallelism_score(Zc, task.labels[:, 0]))
    acc = res.history["test_acc"][np.arange(len(configs)), res.stop_epoch].reshape(A, S)

    # decoders on fresh noisy samples at sigma_test (init and trained)
    s_dec, s_stim, s_split, s_copy = _subseeds(cfg["task_seed"] + 1, 4)
    smp = task.sample(int(cfg["n_decode"]), float(cfg["sigma_test"]), seed=s_dec)
    dich = M.balanced_dichotomies(4)
    lab = task.labels[:, 0]
    trained = int(np.flatnonzero(np.all(dich == lab, 1) | np.all(dich == -lab, 1))[0])
    Zd = responses(smp.X, last)
    with _quiet_svm():
        dec = M.dichotomy_decoding(Zd, smp.cond, dich, n_folds=int(cfg["decode_folds"]), seed=s_dec).scores
        ccgp = M.ccgp(Zd, smp.cond, lab, seed=s_dec).scores

    # stimuli for the between-network comparisons, sorted by condition
    st = task.sample(n_stim, float(cfg["sigma_stimuli"]), seed=s_stim)
    order = np.argsort(st.cond, kind="stable")
    X_stim, cond_stim = st.X[order], st.cond[order]
    Zs = responses(X_stim, last)  # (A, S, 2, n, H)
    rdms = np.asarray(M.rdm(Zs))
    rdm_in = np.asarray(M.rdm(X_stim))
    flat = rdms[:, :, 1].reshape(A * S, n_stim, n_stim)
    rsa_trained = M.rsa_matrix(np.concatenate([rdm_in[None], flat]))

    pairs = seed_pairs(S)
    names = ("rsa", "cka", "apc", "procrustes_angle", "unaligned_angle")
    between = {k: np.empty((A, 2, len(pairs))) for k in names}
    split = np.random.default_rng(s_split).permutation(n_stim)
    fit, held = split[:n_fit], split[n_fit:]
    srm_ve = np.empty((A, 2, S))
    srm_raw = np.empty((A, 2, S))
    for a in range(A):
        for e in range(2):
            Z = Zs[a, :, e]  # (S, n, H)
            rsa = M.rsa_matrix(rdms[a, :, e])
            for p, (i, j) in enumerate(pairs):
                between["rsa"][a, e, p] = rsa[i, j]
                between["cka"][a, e, p] = float(M.kernel_alignment(Z[i], Z[j]))
                wi = res.weights_at[a * S + i][last[e]]["W0"]
                wj = res.weights_at[a * S + j][last[e]]["W0"]
                between["apc"][a, e, p] = M.apc(wi, wj)
                between["procrustes_angle"][a, e, p] = float(M.procrustes(Z[i], Z[j]).angular_distance)
                between["unaligned_angle"][a, e, p] = float(unaligned_angle(Z[i], Z[j]))
            srm_ve[a, e] = _srm([z[fit] for z in Z], [z[held] for z in Z], H, s_split)
            srm_raw[a, e] = unaligned_variance_explained([z[fit] for z in Z], [z[held] for z in Z])
    Z0 = Zs[0, 0, 1]
    others = {
        "units permuted": Z0[:, np.random.default_rng(s_copy).permutation(H)],
        "units rotated": Z0 @ rotation_matrix(H, 1.0, s_copy),
        "another tanh seed": Zs[0, 1, 1],
        "ReLU net, same seed": Zs[1, 0, 1],
    }
    copies = {
        name: {
            "cka": float(M.kernel_alignment(Z0, C)),
            "rsa": float(M.compare_rdms(rdms[0, 0, 1], M.rdm(C))),
            "procrustes_angle": float(M.procrustes(Z0, C).angular_distance),
            "apc": float(M.match_units(Z0.T, C.T).apc),
        }
        for name, C in others.items()
    }
    across = {
        "rsa": np.stack([[M.compare_rdms(rdms[0, s, e], rdms[1, s, e]) for s in range(S)] for e in range(2)]),
        "cka": np.stack([np.asarray(M.kernel_alignment(Zs[0, :, e], Zs[1, :, e])) for e in range(2)]),
    }
    return NetworkResults(
        activations=ACTIVATIONS, seeds=np.asarray(seeds), epochs=np.asarray(weight_epochs), task=task,
        task_alignment=float(M.kernel_alignment(task.centers, Y)), test_accuracy=acc,
        target_alignment=ta, input_alignment=ia, parallelism=ps, sigma_test=float(cfg["sigma_test"]),
        dichotomies=dich, trained_index=trained, decoding=dec, ccgp=ccgp, stimuli_cond=cond_stim,
        rdm_input=rdm_in, rdm_example=rdms[:, 0, 1], rsa_trained=rsa_trained, pairs=pairs, between=between,
        srm_ve=srm_ve, srm_ve_unaligned=srm_raw, across=across, example_responses=Zs[:, 0, 1], copies=copies,
        device=res.device, wall_time_s=time.perf_counter() - t0,
    )


@dataclass(frozen=True, eq=False)
class PrimerResults:
    """Everything the primer computes: toy geometries, trained networks, provenance."""

    toys: ToyResults
    networks: NetworkResults
    preset: str
    device: str
    wall_time_s: float


def run(cfg, progress: bool = True) -> PrimerResults:
    """Run the whole primer: :func:`run_toys` then :func:`run_networks`.

    ``cfg`` is the resolved preset (:func:`repgeom_lite.resolve_preset`); the work runs
    under :func:`thread_limit` with ``cfg["num_threads"]``.
    """
    t0 = time.perf_counter()
    with thread_limit(cfg["num_threads"]):
        toys = run_toys(cfg)
        nets = run_networks(cfg, progress=progress)
    return PrimerResults(toys=toys, networks=nets, preset=getattr(cfg, "preset", "custom"),
                         device=nets.device, wall_time_s=time.perf_counter() - t0)


# --------------------------------------------------------------------------- closed-form checks


@dataclass(frozen=True)
class Check:
    """One closed-form fact: ``|value - expected| <= tol``."""

    name: str
    value: float
    expected: float
    tol: float

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.value) and abs(self.value - self.expected) <= self.tol)


def closed_form_checks(results: PrimerResults, tol: float = 1e-6) -> list[Check]:
    """The closed-form facts the primer shows, recomputed from the results.

    Toy geometries: the rotation is orthogonal; CKA of the cube with its rotated, its
    permuted and its rescaled-and-shifted copy is 1; the cube's target alignment and
    parallelism score are 1 (rotated too); the Procrustes angle to the rotated copy is 0;
    the Euclidean RDM does not change under the rotation; the correlation RDM does not
    change under the unit permutation; the Hungarian matching recovers the
    permutation (APC = 1, every unit found); the SRM explains rotated copies completely.
    Trained networks: the package's kernel alignment equals the textbook formula with
    the centring matrix; permuting a trained network's units leaves CKA at 1 and the
    matching recovers the permutation; rotating them leaves CKA at 1 and the Procrustes
    angle at 0.

    Runs single-threaded (:func:`thread_limit`). Returns one :class:`Check` per fact;
    :func:`assert_checks` raises on failures.
    """
    with thread_limit(1):
        return _closed_form_checks(results, tol)


def _closed_form_checks(results: PrimerResults, tol: float) -> list[Check]:
    from .. import metrics as M

    toys, nets = results.toys, results.networks
    cube, L = toys.geometries["cube"], toys.labels.astype(np.float64)
    rot, per, Q, perm = toys.geometries["rotated cube"], toys.geometries["permuted cube"], toys.rotation, toys.permutation
    match = M.match_units(cube.T, per.T)
    X, _ = noisy_samples(cube, 20, 0.3, seed=1)
    Qs = [np.eye(cube.shape[1]), Q, rotation_matrix(cube.shape[1], 2.0, seed=2)]
    srm = M.SharedResponseModel(n_components=cube.shape[1], random_state=0).fit([X[::2] @ q for q in Qs])
    ve = srm.variance_explained([X[1::2] @ q for q in Qs])

    def textbook_alignment(A, B):
        P = A.shape[0]
        Hc = np.eye(P) - np.ones((P, P)) / P
        K1, K2 = Hc @ A @ A.T @ Hc, Hc @ B @ B.T @ Hc
        return np.trace(K1 @ K2) / math.sqrt(np.trace(K1 @ K1) * np.trace(K2 @ K2))

    C, Yt = nets.task.centers.astype(np.float64), nets.task.labels.astype(np.float64)
    Z = nets.example_responses[0]  # first tanh network, trained, (n_stim, H)
    zperm = np.random.default_rng(3).permutation(Z.shape[1])
    zmatch = M.match_units(Z.T, Z[:, zperm].T)
    Q_H = rotation_matrix(Z.shape[1], 1.0, seed=4)
    return [
        Check("rotation is orthogonal: max |QᵀQ − I|", float(np.abs(Q.T @ Q - np.eye(len(Q))).max()), 0.0, 1e-10),
        Check("CKA(cube, rotated cube)", float(M.kernel_alignment(cube, rot)), 1.0, tol),
        Check("CKA(cube, permuted cube)", float(M.kernel_alignment(cube, per)), 1.0, tol),
        Check("CKA(cube, 3 · cube + 1)", float(M.kernel_alignment(cube, 3 * cube + 1)), 1.0, tol),
        Check("target alignment of the cube", float(M.kernel_alignment(cube, L)), 1.0, tol),
        Check("smallest PS of the cube's factors", float(np.min(M.parallelism_score(cube, toys.labels))), 1.0, tol),
        Check("smallest PS of the rotated cube's factors", float(np.min(M.parallelism_score(rot, toys.labels))), 1.0, tol),
        Check("Procrustes angle(cube, rotated cube) (rad)", float(M.procrustes(cube, rot).angular_distance), 0.0, tol),
        Check("max |Euclidean RDM change| under the rotation",
              float(np.abs(M.rdm(cube, "euclidean") - M.rdm(rot, "euclidean")).max()), 0.0, tol),
        Check("max |correlation-RDM change| under the permutation", float(np.abs(M.rdm(cube) - M.rdm(per)).max()),
              0.0, 1e-12),
        Check("APC(cube, permuted cube)", match.apc, 1.0, tol),
        Check("fraction of permuted units the Hungarian matching finds",
              float(np.mean(perm[match.permutation] == np.arange(len(perm)))), 1.0, 0.0),
        Check("smallest SRM held-out VE of rotated copies", float(np.min(ve)), 1.0, tol),
        Check("four-cluster C(K_X, K_Y): package − textbook formula",
              float(M.kernel_alignment(C, Yt)) - textbook_alignment(C, Yt), 0.0, 1e-10),
        Check("CKA(trained tanh net, its units permuted)", float(M.kernel_alignment(Z, Z[:, zperm])), 1.0, tol),
        Check("CKA(trained tanh net, its units rotated)", float(M.kernel_alignment(Z, Z @ Q_H)), 1.0, tol),
        Check("Procrustes angle(trained tanh net, its units rotated) (rad)",
              float(M.procrustes(Z, Z @ Q_H).angular_distance), 0.0, tol),
        Check("fraction of a trained net's permuted units found",
              float(np.mean(zperm[zmatch.permutation] == np.arange(len(zperm)))), 1.0, 0.0),
    ]


def checks_markdown(checks: Sequence[Check]) -> str:
    """Markdown table of the checks (value, expected, tolerance, pass/fail)."""
    rows = ["| closed-form fact | value | expected | tolerance | check |", "|---|---|---|---|---|"]
    for c in checks:
        name = c.name.replace("|", "\\|")
        rows.append(f"| {name} | {c.value:.3g} | {c.expected:g} | {c.tol:g} | {'PASS' if c.passed else 'FAIL'} |")
    return "\n".join(rows)


def assert_checks(checks: Sequence[Check]) -> None:
    """Raise ``AssertionError`` listing every failed check with its numbers."""
    failed = [c for c in checks if not c.passed]
    if failed:
        raise AssertionError(
            f"{len(failed)} closed-form fact(s) do not hold -- the package's metrics have changed:\n"
            + "\n".join(f"  {c.name}: {c.value!r}, expected {c.expected:g} ± {c.tol:g}" for c in failed)
        )


# --------------------------------------------------------------------------- summary (JSON)


def _mean_sd(x: np.ndarray) -> list[float]:
    x = np.asarray(x, dtype=np.float64).ravel()
    return [float(np.mean(x)), float(np.std(x, ddof=1)) if x.size > 1 else 0.0]


def summarize(results: PrimerResults) -> dict[str, Any]:
    """The primer's numbers as a small JSON-able dict (what the full preset commits).

    ``toy``: ``geometry -> metric -> value``. ``networks``: per measurement and
    activation ``{"init": [mean, sd], "trained": [mean, sd]}`` over seeds (within-network
    measures) or seed pairs (between-seed measures).
    """
    toys, nets = results.toys, results.networks
    unt = nets.untrained_index
    per_net = {
        "target alignment": (nets.target_alignment[..., [0, -1]], "per network"),
        "input alignment": (nets.input_alignment[..., [0, -1]], "per network"),
        "parallelism score": (nets.parallelism[..., [0, -1]], "per network"),
        "CCGP": (nets.ccgp, "per network"),
        "decoding, trained dichotomy": (nets.decoding[..., nets.trained_index], "per network"),
        "decoding, untrained dichotomies": (nets.decoding[..., unt].mean(-1), "per network"),
        "RSA between seeds": (np.moveaxis(nets.between["rsa"], 1, -1), "per seed pair"),
        "CKA between seeds": (np.moveaxis(nets.between["cka"], 1, -1), "per seed pair"),
        "APC-1 between seeds (weights)": (np.moveaxis(nets.between["apc"], 1, -1), "per seed pair"),
        "angle between seeds, unaligned (rad)": (np.moveaxis(nets.between["unaligned_angle"], 1, -1), "per seed pair"),
        "angle between seeds, Procrustes (rad)": (np.moveaxis(nets.between["procrustes_angle"], 1, -1), "per seed pair"),
        "held-out VE, unaligned": (np.moveaxis(nets.srm_ve_unaligned, 1, -1), "per network"),
        "held-out VE, SRM": (np.moveaxis(nets.srm_ve, 1, -1), "per network"),
    }
    measures = {}
    for name, (arr, unit) in per_net.items():
        measures[name] = {"over": unit}
        for a, act in enumerate(nets.activations):
            measures[name][act] = {"init": _mean_sd(arr[a, ..., 0]), "trained": _mean_sd(arr[a, ..., 1])}
    return {
        "chapter": "00",
        "preset": results.preset,
        "device": results.device,
        "wall_time_s": float(results.wall_time_s),
        "toy": {name: m.as_dict() for name, m in toys.metrics.items()},
        "toy_sigma": toys.sigma,
        "networks": {
            "seeds": [int(s) for s in nets.seeds],
            "epochs": int(nets.epochs[-1]),
            "task_alignment": nets.task_alignment,
            "sigma_test": nets.sigma_test,
            "test_accuracy": {act: _mean_sd(nets.test_accuracy[a]) for a, act in enumerate(nets.activations)},
            "across_activations": {k: {"init": _mean_sd(v[0]), "trained": _mean_sd(v[1])}
                                   for k, v in nets.across.items()},
            "copies": nets.copies,
            "measures": measures,
        },
    }


def save_summary(summary: dict, path) -> Path:
    """Write :func:`summarize`'s dict as JSON (atomically)."""
    from ..claims import write_json_atomic

    return write_json_atomic(summary, path)


def load_summary(path) -> dict:
    """Read a summary written by :func:`save_summary`.

    Raises
    ------
    ValueError
        If the file is not a chapter-00 summary.
    """
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or data.get("chapter") != "00" or "networks" not in data or "toy" not in data:
        raise ValueError(f"{path} is not a chapter 00 summary (expected keys chapter='00', toy, networks)")
    return data


def _fmt(ms: Sequence[float]) -> str:
    return f"{ms[0]:.2f} ± {ms[1]:.2f}"


def toy_table_markdown(summary: dict) -> str:
    """Markdown table: one row per toy metric, one column per toy geometry."""
    names = [n for n in TOY_GEOMETRIES if n in summary["toy"]]
    rows = ["| measurement | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, label in METRIC_LABELS.items():
        rows.append(f"| {label} | " + " | ".join(f"{summary['toy'][n][key]:.2f}" for n in names) + " |")
    return "\n".join(rows)


def network_table_markdown(summary: dict) -> str:
    """Markdown table of the trained networks: init and trained, tanh and ReLU, mean ± sd."""
    net = summary["networks"]
    acts = [a for a in ACTIVATIONS if a in net["test_accuracy"]]
    head = "| measurement | over | " + " | ".join(f"{a} init | {a} trained" for a in acts) + " |"
    rows = [head, "|---|---|" + "---|---|" * len(acts)]
    for name, m in net["measures"].items():
        cells = " | ".join(f"{_fmt(m[a]['init'])} | {_fmt(m[a]['trained'])}" for a in acts)
        rows.append(f"| {name} | {m['over']} | {cells} |")
    return "\n".join(rows)


_COPY_LABELS = {
    "cka": "CKA",
    "rsa": "RSA (Spearman)",
    "procrustes_angle": "Procrustes angle (rad)",
    "apc": "unit matching, APC (responses)",
}


def copies_table_markdown(summary: dict) -> str:
    """Markdown table: one trained tanh network against its permuted/rotated copies and other networks."""
    copies = summary["networks"]["copies"]
    names = list(copies)
    rows = ["| measurement | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, label in _COPY_LABELS.items():
        rows.append(f"| {label} | " + " | ".join(f"{copies[n][key]:.2f}" for n in names) + " |")
    return "\n".join(rows)


def findings_markdown(summary: dict) -> str:
    """The primer's results in a few sentences, every number from ``summary``."""
    t, n = summary["toy"], summary["networks"]
    m, c = n["measures"], n["copies"]

    def tr(name, act):
        return _fmt(m[name][act]["trained"])

    S = len(n["seeds"])
    return "\n".join([
        f"**Toy geometries** ({t['cube']['decoding_factors']:.2f} factor decoding at sample noise "
        f"σ = {summary['toy_sigma']:g}): the cube scores target alignment {t['cube']['target_alignment']:.2f}, "
        f"PS {t['cube']['parallelism']:.2f} and CCGP {t['cube']['ccgp']:.2f}, but decodes the other dichotomies "
        f"at only {t['cube']['decoding_other']:.2f}; the random geometry decodes them at "
        f"{t['random']['decoding_other']:.2f} with PS {t['random']['parallelism']:.2f} and CCGP "
        f"{t['random']['ccgp']:.2f}. The rotated cube keeps CKA {t['rotated cube']['cka']:.2f}, PS "
        f"{t['rotated cube']['parallelism']:.2f} and Procrustes angle {t['rotated cube']['procrustes_angle']:.2f} rad, "
        f"while its RSA with the cube drops to {t['rotated cube']['rsa']:.2f} (correlation RDMs depend on the units' "
        f"basis); the permuted cube keeps RSA {t['permuted cube']['rsa']:.2f}.",
        "",
        f"**Copies of a trained tanh network**: with its units permuted, unit matching finds them all "
        f"(APC {c['units permuted']['apc']:.2f}); with its units rotated, CKA stays {c['units rotated']['cka']:.2f} "
        f"and the Procrustes angle {c['units rotated']['procrustes_angle']:.2f} rad while APC falls to "
        f"{c['units rotated']['apc']:.2f}; another seed has CKA {c['another tanh seed']['cka']:.2f} but APC "
        f"{c['another tanh seed']['apc']:.2f}.",
        "",
        f"**Trained networks** ({S} seeds per activation, {n['epochs']} epochs, four-cluster task with "
        f"C(K_X, K_Y) = {n['task_alignment']:.2f}; test accuracy tanh {_fmt(n['test_accuracy']['tanh'])}, "
        f"ReLU {_fmt(n['test_accuracy']['relu'])}): target alignment tanh {tr('target alignment', 'tanh')} vs "
        f"ReLU {tr('target alignment', 'relu')}, input alignment {tr('input alignment', 'tanh')} vs "
        f"{tr('input alignment', 'relu')}, PS {tr('parallelism score', 'tanh')} vs {tr('parallelism score', 'relu')}. "
        f"Between seeds, CKA is {tr('CKA between seeds', 'tanh')} (tanh) and {tr('CKA between seeds', 'relu')} "
        f"(ReLU) while matched first-layer weights correlate only {tr('APC-1 between seeds (weights)', 'tanh')} / "
        f"{tr('APC-1 between seeds (weights)', 'relu')} (at initialisation "
        f"{_fmt(m['APC-1 between seeds (weights)']['tanh']['init'])}); a rotation brings the angle between seeds "
        f"from {tr('angle between seeds, unaligned (rad)', 'tanh')} to {tr('angle between seeds, Procrustes (rad)', 'tanh')} "
        f"rad (tanh) and the SRM explains {tr('held-out VE, SRM', 'tanh')} / {tr('held-out VE, SRM', 'relu')} of a "
        f"network's held-out responses, against {tr('held-out VE, unaligned', 'tanh')} / "
        f"{tr('held-out VE, unaligned', 'relu')} without alignment.",
    ])


# --------------------------------------------------------------------------- map of the book


def linkable_chapters(notebooks_dir) -> set[str]:
    """Chapter ids whose notebook exists in ``notebooks_dir`` and is in the book's ``_toc.yml``.

    ``_toc.yml`` is looked for in the folder above ``notebooks_dir``; without it (e.g. on
    Colab) no chapter is linked, so the map never points at a page that is not built.
    """
    from . import CHAPTERS

    nb_dir = Path(notebooks_dir)
    toc = nb_dir.resolve().parent / "_toc.yml"
    if not toc.is_file():
        return set()
    text = toc.read_text(encoding="utf-8")
    rel = nb_dir.resolve().name
    out = set()
    for cid, info in CHAPTERS.items():
        stem = Path(info.notebook).stem
        listed = any(line.strip() == f"- file: {rel}/{stem}" for line in text.splitlines())
        if listed and (nb_dir / info.notebook).is_file():
            out.add(cid)
    return out


def book_map_markdown(linkable: set[str] | Sequence[str] = ()) -> str:
    """One paragraph per chapter 01–05: its finding and the measurement that carries it.

    Chapters in ``linkable`` get a link to their notebook (relative to ``notebooks/``);
    the others are named and marked as in preparation.
    """
    from . import CHAPTERS

    lines = []
    for cid, text in BOOK_MAP.items():
        info = CHAPTERS[cid]
        name = f"Chapter {int(cid)}: {info.title}"
        title = f"[{name}]({info.notebook})" if cid in linkable else f"{name} *(in preparation)*"
        lines.append(f"- **{title}** ({info.source}). {text}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- plots


def _ax(ax, figsize=(4, 3)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    return ax


def _act_label(a: str) -> str:
    return {"tanh": "tanh", "relu": "ReLU"}.get(a, a)


def plot_tuning(means: np.ndarray, ax=None, title: str = "", n_units: int = 20, vmax: float | None = None):
    """Tuning of the first ``n_units`` units over the conditions: heatmap units × conditions."""
    M_ = np.asarray(means, dtype=np.float64)[:, :n_units]
    ax = _ax(ax)
    v = float(np.abs(M_).max()) if vmax is None else vmax
    im = ax.imshow(M_.T, cmap="RdBu_r", vmin=-v, vmax=v, aspect="auto", interpolation="nearest")
    ax.set_xlabel("condition")
    ax.set_ylabel("unit")
    ax.set_xticks(range(M_.shape[0]))
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, label="response (a.u.)", fraction=0.046, pad=0.04)
    return ax


def plot_kernel(Z: np.ndarray, ax=None, title: str = ""):
    """The centred linear kernel ``K = Z_c Z_c^T`` of ``Z: (P, N)`` as a heatmap."""
    Zc = np.asarray(Z, dtype=np.float64) - np.mean(Z, axis=0)
    K = Zc @ Zc.T
    ax = _ax(ax)
    v = float(np.abs(K).max()) or 1.0
    im = ax.imshow(K, cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
    ax.set_xlabel("condition")
    ax.set_ylabel("condition")
    ax.set_xticks(range(K.shape[0]))
    ax.set_yticks(range(K.shape[0]))
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, label="inner product (a.u.)", fraction=0.046, pad=0.04)
    return ax


def pca(Z: np.ndarray, n_components: int = 2) -> np.ndarray:
    """Rows of ``Z: (n, N)`` on their first ``n_components`` principal components, ``(n, n_components)``.

    Components beyond the rank of the centred ``Z`` are zero. Signs follow the SVD.
    """
    Z = np.asarray(Z, dtype=np.float64)
    n_components = _check_int("n_components", n_components, 1)
    Zc = Z - Z.mean(axis=0)
    U, s, _ = np.linalg.svd(Zc, full_matrices=False)
    out = np.zeros((Z.shape[0], n_components))
    r = min(n_components, s.size)
    out[:, :r] = U[:, :r] * s[:r]
    return out


_FACTOR_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b")


def plot_toy_geometry(means: np.ndarray, labels: np.ndarray, ax=None, title: str = ""):
    """Condition means on their first principal components, with the edges of the factor cube.

    Two conditions that differ in exactly one factor ``i`` are joined by a line of
    factor ``i``'s colour: in a factorised geometry the lines of one colour are
    parallel (PS = 1). Points: colour = factor 1 (green +1, grey -1). A 3-D axes
    (``projection="3d"``) shows three components, a 2-D axes two.
    """
    L = np.asarray(labels)
    ax = _ax(ax, (3.4, 3.2))
    three_d = hasattr(ax, "get_zlim")
    pts = pca(means, 3 if three_d else 2)
    for p, q in itertools.combinations(range(len(L)), 2):
        diff = np.flatnonzero(L[p] != L[q])
        if diff.size == 1:
            ax.plot(*pts[[p, q]].T, color=_FACTOR_COLORS[diff[0] % len(_FACTOR_COLORS)], lw=1.2, alpha=0.8)
    colors = np.where(L[:, 0] > 0, "#2ca02c", "#7f7f7f")
    ax.scatter(*pts.T, c=colors, s=45, edgecolor="k", depthshade=False, zorder=3) if three_d else ax.scatter(
        *pts.T, c=colors, s=45, edgecolor="k", zorder=3)
    ax.set_xlabel("PC 1 (a.u.)")
    ax.set_ylabel("PC 2 (a.u.)")
    if three_d:
        ax.set_zlabel("PC 3 (a.u.)", labelpad=-2)
        ax.tick_params(labelsize=6, pad=0)
        ax.set_box_aspect(None, zoom=0.85)
    else:
        ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title)
    return ax


def plot_four_cluster_task(task, ax=None, n_points: int = 400):
    """Training samples of the four-cluster task on the first two PCs of the centres."""
    C = np.asarray(task.centers, dtype=np.float64)
    mu = C.mean(axis=0)
    _, _, Vt = np.linalg.svd(C - mu, full_matrices=False)
    X = np.asarray(task.X_train[:n_points], dtype=np.float64)
    px, pc = (X - mu) @ Vt[:2].T, (C - mu) @ Vt[:2].T
    cls = task.Y_train[:n_points, 0] > 0.5
    ax = _ax(ax, (3.6, 3.4))
    ax.scatter(px[~cls, 0], px[~cls, 1], s=6, c="#7f7f7f", alpha=0.5, label="class 0 samples")
    ax.scatter(px[cls, 0], px[cls, 1], s=6, c="#2ca02c", alpha=0.5, label="class 1 samples")
    ax.scatter(pc[:, 0], pc[:, 1], marker="*", s=250, c=["#7f7f7f", "#7f7f7f", "#2ca02c", "#2ca02c"],
               edgecolor="k", zorder=3)
    for i, (x, y) in enumerate(pc):
        ax.annotate(f"x{i + 1}", (x, y), textcoords="offset points", xytext=(6, 6))
    ax.set_xlabel("PC 1 of the centres (a.u.)")
    ax.set_ylabel("PC 2 of the centres (a.u.)")
    return ax


_TOY_COLORS = {"cube": "#1f77b4", "rotated cube": "#17becf", "permuted cube": "#9467bd", "random": "#ff7f0e"}


def plot_toy_metrics(toys: ToyResults, ax=None, keys: Sequence[str] | None = None):
    """Grouped bars: each toy metric (x) for each toy geometry (colour)."""
    keys = list(METRIC_LABELS) if keys is None else list(keys)
    ax = _ax(ax, (10, 3.6))
    names = [n for n in TOY_GEOMETRIES if n in toys.metrics]
    w = 0.8 / len(names)
    x = np.arange(len(keys))
    for g, name in enumerate(names):
        vals = [toys.metrics[name].as_dict()[k] for k in keys]
        ax.bar(x + (g - (len(names) - 1) / 2) * w, vals, w, label=name, color=_TOY_COLORS.get(name))
    ax.set_xticks(x, [METRIC_LABELS[k] for k in keys], rotation=25, ha="right", fontsize=8)
    ax.axhline(0.5, color="k", lw=0.8, ls=":")
    ax.set_ylabel("value (unitless; angle in rad)")
    return ax


def plot_toy_dichotomies(toys: ToyResults, ax=None, names: Sequence[str] = ("cube", "random")):
    """Decoding accuracy of each dichotomy (factors first, shaded) for some toy geometries."""
    ax = _ax(ax, (6, 3.2))
    D = len(toys.dichotomies)
    k = toys.labels.shape[1]
    w = 0.8 / len(names)
    for g, name in enumerate(names):
        ax.bar(np.arange(D) + (g - (len(names) - 1) / 2) * w, toys.decoding[name], w, label=name,
               color=_TOY_COLORS.get(name))
    ax.axvspan(-0.5, k - 0.5, color="k", alpha=0.08, lw=0)
    ax.axhline(0.5, color="k", lw=0.8, ls=":")
    ax.set_xticks(range(D), [f"f{i + 1}" for i in range(k)] + [f"d{i + 1}" for i in range(D - k)])
    ax.set_xlabel("dichotomy (shaded: the factors; d: other balanced dichotomies)")
    ax.set_ylabel("decoding accuracy")
    ax.set_ylim(0, 1.05)
    return ax


def plot_over_training(nets: NetworkResults, metric: str, ax=None):
    """``target_alignment``, ``input_alignment`` or ``parallelism`` over training, mean ± sd over seeds."""
    from ..plotting import activation_color, error_band

    if metric not in ("target_alignment", "input_alignment", "parallelism"):
        raise ValueError(f"metric must be target_alignment, input_alignment or parallelism, got {metric!r}")
    ax = _ax(ax)
    vals = getattr(nets, metric)
    for a, act in enumerate(nets.activations):
        error_band(nets.epochs, vals[a], ax=ax, label=_act_label(act), color=activation_color(act))
    ax.set_xlabel("epoch")
    ax.set_ylabel({"target_alignment": "target alignment C(K_Z, K_Y)", "input_alignment": "input alignment C(K_Z, K_X)",
                   "parallelism": "parallelism score (trained dichotomy)"}[metric])
    return ax


def plot_init_vs_trained(nets: NetworkResults, ax=None):
    """Within-network measures at initialisation (hatched) and after training, mean ± sd over seeds."""
    from ..plotting import activation_color

    ax = _ax(ax, (10, 3.4))
    unt = nets.untrained_index
    items = {
        "target\nalignment": nets.target_alignment[..., [0, -1]],
        "input\nalignment": nets.input_alignment[..., [0, -1]],
        "PS": nets.parallelism[..., [0, -1]],
        f"CCGP\n(σ={nets.sigma_test:g})": nets.ccgp,
        f"decoding\ntrained (σ={nets.sigma_test:g})": nets.decoding[..., nets.trained_index],
        f"decoding\nuntrained (σ={nets.sigma_test:g})": nets.decoding[..., unt].mean(-1),
    }
    x = np.arange(len(items))
    w = 0.2
    for a, act in enumerate(nets.activations):
        for e, (hatch, alpha, tag) in enumerate((("//", 0.35, "init"), ("", 1.0, "trained"))):
            vals = np.stack([v[a, :, e] for v in items.values()])  # (items, S)
            off = (2 * a + e - 1.5) * w
            ax.bar(x + off, vals.mean(1), w, yerr=vals.std(1, ddof=1) if vals.shape[1] > 1 else None,
                   color=activation_color(act), alpha=alpha, hatch=hatch, capsize=2,
                   label=f"{_act_label(act)}, {tag}")
    ax.set_xticks(x, list(items), fontsize=8)
    ax.set_ylabel("value (unitless)")
    ax.set_ylim(0, 1.08)
    return ax


def plot_rsa_matrix(nets: NetworkResults, ax=None):
    """Spearman RSA between the input RDM and every trained network's RDM."""
    S = len(nets.seeds)
    names = ["input"] + [f"{_act_label(a)} {s}" for a in nets.activations for s in nets.seeds]
    ax = _ax(ax, (4.4, 3.8))
    im = ax.imshow(nets.rsa_trained, vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    for b in (0.5, 0.5 + S):
        ax.axhline(b, color="w", lw=1)
        ax.axvline(b, color="w", lw=1)
    ax.figure.colorbar(im, ax=ax, label="Spearman ρ of RDMs", fraction=0.046, pad=0.04)
    return ax


def plot_between_seeds(nets: NetworkResults, ax=None):
    """Between-seed measures after training, with their unaligned baselines; mean ± sd over pairs/networks."""
    from ..plotting import activation_color

    ax = _ax(ax, (10, 3.4))
    items = {
        "RSA": nets.between["rsa"][:, 1],
        "CKA": nets.between["cka"][:, 1],
        "APC-1\n(weights)": nets.between["apc"][:, 1],
        "APC-1 at init\n(baseline)": nets.between["apc"][:, 0],
        "angle / (π/2),\nunaligned": nets.between["unaligned_angle"][:, 1] / (np.pi / 2),
        "angle / (π/2),\nProcrustes": nets.between["procrustes_angle"][:, 1] / (np.pi / 2),
        "VE, unaligned": nets.srm_ve_unaligned[:, 1],
        "VE, SRM": nets.srm_ve[:, 1],
    }
    x = np.arange(len(items))
    w = 0.38
    for a, act in enumerate(nets.activations):
        vals = [v[a] for v in items.values()]
        ax.bar(x + (a - 0.5) * w, [np.mean(v) for v in vals], w,
               yerr=[np.std(v, ddof=1) if v.size > 1 else 0.0 for v in vals], capsize=2,
               color=activation_color(act), label=_act_label(act))
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, list(items), fontsize=8)
    ax.set_ylabel("value (unitless)")
    return ax


def explore_figure(toys: ToyResults, kind: str, level: float, figsize=(9.5, 3.4)):
    """One state of the explore widget: the perturbed geometry and every metric.

    Left: condition means on their first three PCs with the cube's edges. Right: each metric of the perturbed
    geometry (bars) against the clean cube (black ticks); the Procrustes angle is
    divided by pi/2 so that every bar lies in [0, 1] (or [-1, 1] for PS and RSA).
    """
    import matplotlib.pyplot as plt

    key = (kind, float(level))
    if key not in toys.explore_metrics:
        raise ValueError(f"no explore state {key!r}; kinds {EXPLORE_KINDS}, levels {toys.explore_levels.tolist()}")
    fig = plt.figure(figsize=figsize, constrained_layout=True)
    gs = fig.add_gridspec(1, 2, width_ratios=[1, 1.5])
    a0 = fig.add_subplot(gs[0], projection="3d")
    a1 = fig.add_subplot(gs[1])
    plot_toy_geometry(toys.explore_geometries[key], toys.labels, ax=a0,
                      title=f"cube, {kind} {level:g}")
    m = toys.explore_metrics[key].as_dict()
    ref = toys.metrics["cube"].as_dict()
    keys = list(METRIC_LABELS)
    scale = {k: (np.pi / 2 if k == "procrustes_angle" else 1.0) for k in keys}
    y = np.arange(len(keys))
    a1.barh(y, [m[k] / scale[k] for k in keys], color="#1f77b4" if kind == "noise" else "#17becf")
    a1.scatter([ref[k] / scale[k] for k in keys], y, marker="|", s=200, c="k", zorder=3, label="clean cube")
    a1.set_yticks(y, [METRIC_LABELS[k].replace("(rad)", "/ (π/2)") for k in keys], fontsize=8)
    a1.invert_yaxis()
    a1.set_xlim(-0.1, 1.05)
    a1.axvline(0.5, color="k", lw=0.8, ls=":")
    a1.set_xlabel("value (unitless)")
    a1.legend(loc="lower right", fontsize=7)
    return fig


def explore_figures(toys: ToyResults, **kw) -> dict:
    """``{(kind, level): Figure}`` for every explore state (input of ``rgl.widgets.explore_grid``)."""
    return {(kind, level): explore_figure(toys, kind, level, **kw)
            for kind in EXPLORE_KINDS for level in toys.explore_levels.tolist()}
