"""Abstraction metrics: parallelism score (PS), CCGP and dichotomy decoding.

Definitions follow Bernardi et al. (2020, Cell) as used by Alleman et al. (2024, §3);
see SPEC.md "Metrics". Written here (no maintained package implements them).

Conventions
-----------
- ``means: (..., P, N)`` condition means (noise-free cluster centres), ``X: (..., n, N)``
  noisy samples with ``conditions: (n,)`` integer condition index per sample.
- ``labels: (P, k)`` — one **column** per binary variable, entries in {-1, +1}, each
  column balanced. ``(P,)`` is accepted and treated as one column; the output then
  drops the ``k`` axis.
- ``dichotomies: (D, P)`` — one **row** per dichotomy, as :func:`balanced_dichotomies`
  returns (pass ``labels.T`` to decode given labels).
- ``mode``: ``"factors"`` uses the factorised definition (``P = 2^k`` conditions, the ``k``
  label columns are the factors: pair/condition on the *other* factors);
  ``"general"`` treats every column as a general balanced dichotomy (max over
  pairings for PS, train on a subset of conditions for CCGP); ``"auto"`` (default)
  picks ``"factors"`` exactly when the labels form a full factorial design
  (``P = 2^k`` distinct rows), otherwise ``"general"``. Pass all factors together to
  get the factorised definition.
- Classifiers: scikit-learn ``LinearSVC()`` by default (primal solver via
  ``dual="auto"`` since samples outnumber units); any estimator with
  ``fit``/``predict`` via ``clf=`` (cloned for every fit). Randomness (split
  sampling, CV folds) only through ``seed``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._validation import (
    check_choice,
    check_conditions,
    check_finite,
    check_int,
    check_labels,
    check_ndim,
    to_numpy,
)

__all__ = [
    "balanced_dichotomies",
    "parallelism_score",
    "ccgp",
    "CCGPResult",
    "dichotomy_decoding",
    "DecodingResult",
]

#: Largest number of dichotomies :func:`balanced_dichotomies` enumerates without
#: ``max_dichotomies`` (P = 20 gives 92 378).
MAX_ENUMERATED_DICHOTOMIES = 100_000
#: Largest number of conditions per side for which PS maximises over all m! pairings
#: (m = 8: 40 320 pairings); larger sides use the Hungarian + pairwise-swap search.
MAX_EXACT_SIDE = 8
#: A difference vector counts as zero when its norm <= ZERO_RTOL * max|means|.
ZERO_RTOL = 1e-12
_MODES = ("auto", "factors", "general")


# ----------------------------------------------------------------------------- dichotomies
def balanced_dichotomies(
    n_conditions: int, *, max_dichotomies: int | None = None, seed: int = 0
) -> np.ndarray:
    """All balanced dichotomies of ``P`` conditions, up to sign.

    Returns an int64 array ``(D, P)`` of ±1 with ``D = C(P, P/2) / 2`` (P = 4 -> 3,
    P = 8 -> 35, P = 32 -> ~3e8). Condition 0 is always on the +1 side (this fixes
    the sign) and rows come in lexicographic order of the +1 set, so for ``P = 4`` the
    rows are ``[+1 +1 -1 -1], [+1 -1 +1 -1], [+1 -1 -1 +1]``.

    Parameters
    ----------
    n_conditions : int
        ``P``, even and ``>= 2``.
    max_dichotomies : int, optional
        Return at most this many: when ``D`` exceeds it, a uniform random sample of
        distinct dichotomies drawn with ``seed``, rows sorted as above. Required when
        ``D > MAX_ENUMERATED_DICHOTOMIES`` (P >= 22).
    seed : int
        Seed of the sample (used only when sampling).
    """
    P = check_int(n_conditions, "n_conditions", 2)
    if P % 2:
        raise ValueError(f"n_conditions must be even for balanced dichotomies, got {P}")
    if max_dichotomies is not None:
        max_dichotomies = check_int(max_dichotomies, "max_dichotomies", 1)
    total = math.comb(P, P // 2) // 2
    if max_dichotomies is None and total > MAX_ENUMERATED_DICHOTOMIES:
        raise ValueError(
            f"n_conditions = {P} has {total} balanced dichotomies; pass max_dichotomies "
            "to draw a random sample"
        )
    rng = np.random.default_rng(seed)
    if total <= MAX_ENUMERATED_DICHOTOMIES:
        plus_sets = [(0, *c) for c in itertools.combinations(range(1, P), P // 2 - 1)]
        if max_dichotomies is not None and max_dichotomies < total:
            keep = np.sort(rng.choice(total, size=max_dichotomies, replace=False))
            plus_sets = [plus_sets[i] for i in keep]
    else:
        seen: set[tuple[int, ...]] = set()
        while len(seen) < max_dichotomies:
            perm = rng.permutation(P)
            plus = perm[: P // 2] if 0 in perm[: P // 2] else perm[P // 2 :]
            seen.add(tuple(sorted(int(p) for p in plus)))
        plus_sets = sorted(seen)
    out = -np.ones((len(plus_sets), P), dtype=np.int64)
    for row, plus in enumerate(plus_sets):
        out[row, list(plus)] = 1
    return out


def _is_full_factorial(L: np.ndarray) -> bool:
    P, k = L.shape
    return P == 2**k and len({tuple(r) for r in L}) == P


def _resolve_mode(mode: str, L: np.ndarray) -> str:
    check_choice(mode, "mode", _MODES)
    factorial = _is_full_factorial(L)
    if mode == "factors" and not factorial:
        raise ValueError(
            f"labels are not a full factorial design (P = 2^k distinct rows; got P = "
            f"{L.shape[0]}, k = {L.shape[1]}); use mode='general'"
        )
    if mode == "auto":
        return "factors" if factorial else "general"
    return mode


def _factor_partner(L: np.ndarray, i: int) -> dict[int, int]:
    """For factor ``i``: map each +1 condition to the -1 condition with equal other factors."""
    others = np.delete(L, i, axis=1)
    key = {tuple(others[q]): q for q in np.flatnonzero(L[:, i] < 0)}
    return {int(p): int(key[tuple(others[p])]) for p in np.flatnonzero(L[:, i] > 0)}


# ----------------------------------------------------------------------------- PS
def _unit(D: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis; vectors with norm <= ZERO_RTOL * scale become 0."""
    norm = np.linalg.norm(D, axis=-1, keepdims=True)
    zero = norm <= ZERO_RTOL * scale
    return np.where(zero, 0.0, D / np.where(zero, 1.0, norm))


def _mean_pairwise_cosine(U: np.ndarray) -> np.ndarray:
    """``U: (..., m, N)`` unit-or-zero vectors -> mean over pairs i<j of u_i . u_j."""
    m = U.shape[-2]
    s = U.sum(axis=-2)
    return ((s * s).sum(-1) - (U * U).sum(axis=(-2, -1))) / (m * (m - 1))


def _ps_max_exact(U: np.ndarray) -> np.ndarray:
    """``U: (B, m, m, N)`` unit differences (plus a, minus b) -> (B,) max over pairings."""
    B, m = U.shape[0], U.shape[1]
    Uf = U.reshape(B, m * m, -1)
    G = Uf @ Uf.transpose(0, 2, 1)  # (B, m^2, m^2)
    perms = np.array(list(itertools.permutations(range(m))), dtype=np.int64)
    idx = np.arange(m) * m + perms  # (n_perm, m): flat index of pair (a, pi(a))
    best = np.empty(B)
    for b in range(B):  # bounded memory: n_perm x m x m per network
        total = G[b][idx[:, :, None], idx[:, None, :]].sum(axis=(-2, -1))
        diag = G[b][idx, idx].sum(axis=-1)
        best[b] = ((total - diag) / (m * (m - 1))).max()
    return best


def _ps_max_search(U: np.ndarray, u_mean: np.ndarray) -> np.ndarray:
    """Lower bound of the max over pairings for large sides.

    Start from the Hungarian pairing that maximises the summed cosine of the paired
    differences with the mean difference ``u_mean``, then apply the best improving
    swap of two partners until none improves the objective ``||sum u||^2 - sum ||u||^2``.
    """
    B, m = U.shape[0], U.shape[1]
    best = np.empty(B)
    rows = np.arange(m)
    for b in range(B):
        Ub = U[b]
        _, pi = linear_sum_assignment(-(Ub @ u_mean[b]))
        sq = (Ub * Ub).sum(-1)  # (m, m): 1 or 0
        for _ in range(50 * m):
            s = Ub[rows, pi].sum(0)
            f = s @ s - sq[rows, pi].sum()
            cur = Ub[rows, pi]  # (m, N)
            swap = Ub[rows[:, None], pi[None, :]]  # (a, a') -> u_{a, pi(a')}
            # s' = s - u_{a pi a} - u_{a' pi a'} + u_{a pi a'} + u_{a' pi a}
            s_new = (
                s[None, None, :] - cur[:, None, :] - cur[None, :, :] + swap + swap.transpose(1, 0, 2)
            )
            sq_new = sq[rows, pi][:, None] + sq[rows, pi][None, :]
            sq_swap = sq[rows[:, None], pi[None, :]] + sq[rows[:, None], pi[None, :]].T
            f_new = (s_new * s_new).sum(-1) - (sq[rows, pi].sum() - sq_new + sq_swap)
            np.fill_diagonal(f_new, -np.inf)
            a, a2 = np.unravel_index(np.argmax(f_new), f_new.shape)
            if f_new[a, a2] <= f + 1e-12:
                break
            pi[a], pi[a2] = pi[a2], pi[a]
        s = Ub[rows, pi].sum(0)
        best[b] = (s @ s - sq[rows, pi].sum()) / (m * (m - 1))
    return best


def parallelism_score(means: Any, labels: Any, *, mode: str = "auto") -> np.ndarray:
    r"""Parallelism score (PS) of each binary variable in a set of condition means.

    ``means: (..., P, N), labels: (P, k) -> (..., k)`` (``labels: (P,) -> (...)``).

    For a pairing ``{(a_j, b_j)}_{j=1..m}`` of the ``m = P/2`` conditions with ``y = +1``
    (``a_j``) and ``y = -1`` (``b_j``), the coding vectors are ``d_j = mu_{a_j} - mu_{b_j}``
    and ::

        PS(pairing) = 2 / (m (m - 1)) sum_{i<j} cos(d_i, d_j)

    - ``mode="factors"`` (Alleman et al. 2024 §3): the pairing holds the other ``k - 1``
      factors fixed (``m = 2^{k-1}`` vectors).
    - ``mode="general"`` (Bernardi et al. 2020; SPEC): ``PS = max over all m! pairings``.
      Exact for ``m <= MAX_EXACT_SIDE`` (P <= 16: at most 40 320 pairings, vectorised via the
      Gram matrix of all m^2 unit differences). For larger ``P`` the maximum is NP-hard in
      general (a quadratic assignment); we return a **lower bound** from a Hungarian
      pairing (summed cosine to the mean difference vector) refined by best-improving
      swaps of two partners until none helps — O(m^2 N) per swap.
    - ``mode="auto"``: ``"factors"`` when ``labels`` is a full factorial design, else ``"general"``.

    PS is 1 for a perfectly factorised geometry (``means = labels @ A``) and ≈ 0 for random
    means (the maximum over pairings is biased upward there, more so for larger ``P``;
    compare against a shuffled or random baseline of the same ``P`` and ``N``). **Zero coding vector** (e.g. a constant representation): its cosine is
    undefined and counts as 0, so a constant representation has PS = 0, never NaN.

    Raises
    ------
    ValueError
        ``P < 4`` (fewer than 2 conditions per side), labels not ±1, unbalanced, wrong
        number of rows, NaN/inf, unknown or impossible ``mode``.
    """
    M = to_numpy(means, "means")
    check_ndim(M, "means", 2, "(..., P, N)")
    P = M.shape[-2]
    if P < 4:
        raise ValueError(
            f"means must have at least 4 conditions (2 per side of a dichotomy) for a "
            f"parallelism score, got P = {P}"
        )
    check_finite(M, "means")
    labels_1d = np.ndim(to_numpy(labels, "labels")) == 1
    L = check_labels(labels, "labels", P)
    mode = _resolve_mode(mode, L)
    batch = M.shape[:-2]
    Mb = M.reshape((-1, P, M.shape[-1]))
    scale = np.abs(Mb).max(axis=(-2, -1))[:, None, None]
    out = np.empty((Mb.shape[0], L.shape[1]))
    for i in range(L.shape[1]):
        if mode == "factors":
            partner = _factor_partner(L, i)
            plus = np.array(sorted(partner))
            minus = np.array([partner[p] for p in plus])
            U = _unit(Mb[:, plus] - Mb[:, minus], scale)
            out[:, i] = _mean_pairwise_cosine(U)
        else:
            plus, minus = np.flatnonzero(L[:, i] > 0), np.flatnonzero(L[:, i] < 0)
            U = _unit(Mb[:, plus, None, :] - Mb[:, None, minus, :], scale[..., None])
            if len(plus) <= MAX_EXACT_SIDE:
                out[:, i] = _ps_max_exact(U)
            else:
                mean_diff = Mb[:, plus].mean(1) - Mb[:, minus].mean(1)
                u_mean = _unit(mean_diff, scale[:, 0])
                out[:, i] = _ps_max_search(U, u_mean)
    out = out.reshape(batch + (L.shape[1],))
    return out[..., 0] if labels_1d else out


# ----------------------------------------------------------------------------- classifiers
def _default_clf():
    from sklearn.svm import LinearSVC

    return LinearSVC()


def _fit_score(clf, X_train, y_train, X_test, y_test) -> float:
    from sklearn.base import clone

    model = clone(clf).fit(X_train, y_train)
    return float(np.mean(model.predict(X_test) == y_test))


def _samples(X: Any) -> np.ndarray:
    Xn = to_numpy(X, "X")
    check_ndim(Xn, "X", 2, "(..., n_samples, n_units)")
    check_finite(Xn, "X")
    return Xn


# ----------------------------------------------------------------------------- CCGP
@dataclass(frozen=True)
class CCGPResult:
    """Result of :func:`ccgp`.

    Attributes
    ----------
    scores : ndarray, shape (..., k)
        CCGP of each variable: test accuracy averaged over splits (``(...)`` for
        ``labels: (P,)``).
    split_scores : ndarray, shape (..., k, S)
        Test accuracy of each split.
    train_conditions : ndarray of int, shape (k, S, T)
        Conditions used to train in each split (the rest are tested).
    mode : str
        ``"factors"`` or ``"general"``.
    """

    scores: np.ndarray
    split_scores: np.ndarray
    train_conditions: np.ndarray
    mode: str


def _ccgp_splits(
    L: np.ndarray, mode: str, n_train: int | None, max_splits: int, rng
) -> np.ndarray:
    """Training-condition sets ``(k, S, T)`` for every label column."""
    P, k = L.shape
    all_splits = []
    for i in range(k):
        if mode == "factors":
            others = np.delete(L, i, axis=1)
            settings = sorted({tuple(r) for r in others})
            splits = [np.flatnonzero((others == np.array(s)).all(axis=1)) for s in settings]
        else:
            plus, minus = np.flatnonzero(L[:, i] > 0), np.flatnonzero(L[:, i] < 0)
            m = len(plus)
            t = m - 1 if n_train is None else n_train
            if not 1 <= t <= m - 1:
                raise ValueError(
                    f"n_train_per_side must be between 1 and {m - 1} (conditions per side "
                    f"minus one), got {t}"
                )
            n_comb = math.comb(m, t)
            if n_comb**2 <= 100 * max_splits:
                combos = list(
                    itertools.product(itertools.combinations(plus, t), itertools.combinations(minus, t))
                )
                splits = [np.sort(np.r_[a, b]) for a, b in combos]
            else:  # sample pairs of subsets directly
                seen: set[tuple[int, ...]] = set()
                while len(seen) < max_splits:
                    a = rng.choice(plus, t, replace=False)
                    b = rng.choice(minus, t, replace=False)
                    seen.add(tuple(np.sort(np.r_[a, b]).tolist()))
                splits = [np.array(s) for s in sorted(seen)]
        if len(splits) > max_splits:
            keep = np.sort(rng.choice(len(splits), max_splits, replace=False))
            splits = [splits[j] for j in keep]
        all_splits.append(np.stack(splits))
    return np.stack(all_splits)


def ccgp(
    X: Any,
    conditions: Any,
    labels: Any,
    *,
    clf: Any = None,
    mode: str = "auto",
    n_train_per_side: int | None = None,
    max_splits: int = 16,
    seed: int = 0,
) -> CCGPResult:
    r"""Cross-condition generalisation performance (CCGP) of each binary variable.

    ``X: (..., n, N), conditions: (n,), labels: (P, k) -> CCGPResult`` with
    ``.scores: (..., k)``.

    A classifier for ``y_i`` is trained on the samples of a subset of conditions and
    tested on the samples of **all other** conditions; CCGP is the test accuracy
    averaged over splits.

    - ``mode="factors"`` (Alleman et al. 2024 §3): train on the 2 conditions of one
      setting of the other ``k - 1`` factors, test on the other ``2^{k-1} - 1``
      settings; ``2^{k-1}`` splits.
    - ``mode="general"`` (Bernardi et al. 2020; SPEC): train on ``T`` conditions from
      each side (default ``T = P/2 - 1``, i.e. hold out one condition per side as
      Bernardi et al.), test on the held-out ones; all ``C(P/2, T)^2`` splits
      (P = 4: 4, P = 8: 16, P = 32: 256).
    - Either way at most ``max_splits`` splits are used (default 16), a random subset
      drawn with ``seed`` when there are more.

    Cost: ``k x min(S, max_splits)`` classifier fits per batch element. With the
    default ``LinearSVC`` on 4000 samples x 128 units (P = 4, 4 fits) one call takes
    ~0.1–0.3 s on 2 shared CPU cores (see ``benchmarks/bench_metrics.py``).

    Parameters
    ----------
    X : array-like, shape (..., n_samples, n_units)
        Noisy samples; leading dims (networks, epochs) are looped over.
    conditions : array-like of int, shape (n_samples,)
        Condition index (row of ``labels``) of every sample; every condition needs samples.
    labels : array-like, shape (P, k) or (P,)
        ±1, balanced columns.
    clf : estimator, optional
        Cloned for every fit; default ``sklearn.svm.LinearSVC()``.
    mode : {"auto", "factors", "general"}
    n_train_per_side : int, optional
        ``T`` for ``mode="general"``.
    max_splits : int
    seed : int
        Seeds the split subsample (only used when there are more than ``max_splits``).

    Raises
    ------
    ValueError
        ``P < 4``, bad labels/conditions, NaN/inf, bad ``n_train_per_side``/``max_splits``.
    """
    Xn = _samples(X)
    labels_1d = np.ndim(to_numpy(labels, "labels")) == 1
    L = check_labels(labels, "labels")
    P = L.shape[0]
    if P < 4:
        raise ValueError(
            f"labels must have at least 4 conditions (2 per side) to generalise across "
            f"conditions, got P = {P}"
        )
    cond = check_conditions(conditions, Xn.shape[-2], P, "conditions")
    mode = _resolve_mode(mode, L)
    max_splits = check_int(max_splits, "max_splits", 1)
    if n_train_per_side is not None:
        n_train_per_side = check_int(n_train_per_side, "n_train_per_side", 1)
    clf = _default_clf() if clf is None else clf
    rng = np.random.default_rng(seed)
    splits = _ccgp_splits(L, mode, n_train_per_side, max_splits, rng)  # (k, S, T)
    k, S = splits.shape[:2]
    batch = Xn.shape[:-2]
    Xb = Xn.reshape((-1,) + Xn.shape[-2:])
    split_scores = np.empty((Xb.shape[0], k, S))
    for i in range(k):
        y = L[cond, i]
        for s in range(S):
            train = np.isin(cond, splits[i, s])
            for b in range(Xb.shape[0]):
                split_scores[b, i, s] = _fit_score(
                    clf, Xb[b, train], y[train], Xb[b, ~train], y[~train]
                )
    split_scores = split_scores.reshape(batch + (k, S))
    scores = split_scores.mean(-1)
    if labels_1d:
        scores, split_scores = scores[..., 0], split_scores[..., 0, :]
    return CCGPResult(scores=scores, split_scores=split_scores, train_conditions=splits, mode=mode)


# ----------------------------------------------------------------------------- decoding
@dataclass(frozen=True)
class DecodingResult:
    """Result of :func:`dichotomy_decoding`.

    Attributes
    ----------
    scores : ndarray, shape (..., D)
        Cross-validated accuracy of each dichotomy.
    dichotomies : ndarray of int, shape (D, P)
        The ±1 labelling of the conditions decoded in each row.
    fold_scores : ndarray, shape (..., D, n_folds)
        Test accuracy of each fold.
    """

    scores: np.ndarray
    dichotomies: np.ndarray
    fold_scores: np.ndarray


def dichotomy_decoding(
    X: Any,
    conditions: Any,
    dichotomies: Any = None,
    *,
    clf: Any = None,
    n_folds: int = 5,
    max_dichotomies: int | None = None,
    seed: int = 0,
) -> DecodingResult:
    r"""Cross-validated linear decodability of dichotomies of the ``P`` conditions.

    ``X: (..., n, N), conditions: (n,), dichotomies: (D, P) -> DecodingResult`` with
    ``.scores: (..., D)``.

    For each dichotomy ``d`` every sample gets the label ``d[condition]`` and a classifier
    is scored by ``n_folds``-fold cross-validation (folds stratified by condition,
    shuffled with ``seed``, the same folds for every dichotomy and batch element);
    the score is the mean test accuracy over folds.

    Parameters
    ----------
    X : array-like, shape (..., n_samples, n_units)
    conditions : array-like of int, shape (n_samples,)
        Condition index in ``0..P-1``; ``P = conditions.max() + 1`` when
        ``dichotomies`` is None.
    dichotomies : array-like, shape (D, P), optional
        ±1 rows, both classes present in each. Default: all balanced dichotomies
        (:func:`balanced_dichotomies` with ``max_dichotomies`` and ``seed``); the trained
        one is among them (up to sign).
    clf : estimator, optional
        Default ``sklearn.svm.LinearSVC()``.
    n_folds : int
        At least 2; each condition needs at least ``n_folds`` samples.
    max_dichotomies : int, optional
        Passed to :func:`balanced_dichotomies` when ``dichotomies`` is None.
    seed : int
        Seeds the folds (and the dichotomy sample).

    Cost: ``D x n_folds`` fits per batch element.

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf, fewer than 2 conditions, a dichotomy with a single class,
        a condition with fewer than ``n_folds`` samples.
    """
    from sklearn.model_selection import StratifiedKFold

    Xn = _samples(X)
    n = Xn.shape[-2]
    n_folds = check_int(n_folds, "n_folds", 2)
    cond_raw = to_numpy(conditions, "conditions")
    if dichotomies is None:
        if cond_raw.ndim != 1 or cond_raw.size == 0:
            raise ValueError(f"conditions must have shape (n_samples,), got shape {cond_raw.shape}")
        P = int(np.max(cond_raw)) + 1
        if P < 2:
            raise ValueError(f"conditions must contain at least 2 conditions, got P = {P}")
        dich = balanced_dichotomies(P, max_dichotomies=max_dichotomies, seed=seed)
    else:
        d = to_numpy(dichotomies, "dichotomies")
        if d.ndim == 1:
            d = d[None, :]
        if d.ndim != 2:
            raise ValueError(f"dichotomies must have shape (D, P), got shape {d.shape}")
        dich = check_labels(d.T, "dichotomies (rows)", balanced=False).T
        P = dich.shape[1]
        one_class = np.flatnonzero(np.abs(dich.sum(1)) == P)
        if one_class.size:
            raise ValueError(
                f"dichotomies must put conditions on both sides; row {int(one_class[0])} has "
                "a single class"
            )
    cond = check_conditions(conditions, n, P, "conditions")
    counts = np.bincount(cond, minlength=P)
    if counts.min() < n_folds:
        raise ValueError(
            f"conditions must have at least n_folds = {n_folds} samples each for "
            f"cross-validation; condition {int(np.argmin(counts))} has {counts.min()}"
        )
    clf = _default_clf() if clf is None else clf
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(n), cond))
    batch = Xn.shape[:-2]
    Xb = Xn.reshape((-1,) + Xn.shape[-2:])
    fold_scores = np.empty((Xb.shape[0], dich.shape[0], n_folds))
    for j, d in enumerate(dich):
        y = d[cond]
        for f, (tr, te) in enumerate(folds):
            for b in range(Xb.shape[0]):
                fold_scores[b, j, f] = _fit_score(clf, Xb[b, tr], y[tr], Xb[b, te], y[te])
    fold_scores = fold_scores.reshape(batch + fold_scores.shape[1:])
    return DecodingResult(scores=fold_scores.mean(-1), dichotomies=dich, fold_scores=fold_scores)
