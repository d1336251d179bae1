"""Chapter 02 — δ-separability and training noise (Alleman, Lindsey & Fusi 2024, §5).

The δ-separable XOR task (:func:`repgeom_lite.tasks.delta_xor_stack`) interpolates
between pure XOR (δ = 0: the classes are not linearly separable in the input) and a
linearly separable task (δ = 1). One-hidden-layer tanh and ReLU networks are trained
on every (δ, σ_train) task of a sweep; their hidden layer is then measured on the
noise-free condition centres (target alignment, input alignment, parallelism score)
and on noisy test samples (CCGP, decoding of the trained and the untrained
dichotomies).

Pipeline (the notebook ``notebooks/02_delta_separability.ipynb`` calls these)::

    cfg = rgl.resolve_preset("02", "small")
    res = run(cfg)                        # DeltaResults (trains the sweep + trajectories)
    summ = res.summary                    # DeltaSummary: per-seed metrics, JSON round-trip
    measured = measure_claims(summ)       # {claim_id: Measured}

Array layout: every per-network metric is ``(A, S, Dl, R)`` = (activation,
training-noise level, δ, seed), in the order of ``cfg.activations``,
``cfg.train_noise_var``, ``cfg.deltas`` and ``cfg.seeds``.

Training noise: the paper's Fig. 3 labels its noise axis σ² with the values
{0, 0.1, 0.2, 0.3}; this chapter takes those values as the *variance* of the
training noise (knob ``train_noise_var``), so the task's noise standard deviation
is ``σ_train = sqrt(train_noise_var)``.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..claims import ClaimSpec, Measured, write_json_atomic
from ..device import describe_device, resolve_device
from ..ensemble import NetConfig, Records, TrainData, train_ensemble
from ..metrics import (
    balanced_dichotomies,
    ccgp,
    dichotomy_decoding,
    kernel_alignment,
    parallelism_score,
    project_weights,
    weight_plane_axes,
    weight_vector_field,
)
from ..plotting import activation_color, error_band
from ..tasks import DeltaXORStack, delta_xor_stack

__all__ = [
    "PRESETS",
    "RUNTIME",
    "CLAIMS",
    "METRICS",
    "METRIC_LABELS",
    "DeltaSummary",
    "Trajectories",
    "DeltaResults",
    "make_task",
    "network_grid",
    "hidden_responses",
    "centre_metrics",
    "sample_metrics",
    "run",
    "run_trajectories",
    "torch_threads",
    "plot_explore_panel",
    "findings_markdown",
    "transition_markdown",
    "source_comparison_markdown",
    "claims_file_markdown",
    "load_larger_run",
    "plot_noise_curves",
    "transition_delta",
    "max_slope",
    "noise_sensitivity",
    "transition_table",
    "measure_claims",
    "explore_deltas",
    "plot_task_geometry",
    "plot_metric_vs_delta",
    "plot_heatmap",
    "plot_trajectories",
    "plot_condition_geometry",
    "plot_transition",
]

# --------------------------------------------------------------------------- presets

PRESETS: dict[str, dict[str, Any]] = {
    "small": {
        "deltas": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0),
        "train_noise_var": (0.0, 0.3),
        "activations": ("tanh", "relu"),
        "seeds": (0, 1, 2),
        "task_seed": 0,
        "n_hidden": 120,
        "n_train": 1000,
        "lr": 0.1,
        "batch_size": 200,
        "epochs": 100,
        "tol": 1e-5,
        "sigma_test": 1.0,
        "decode_sigmas": (1.0, 3.0),
        "n_test": 200,
        "decode_folds": 2,
        "trajectory_deltas": (0.1, 0.5, 1.0),
        "trajectory_snapshots": 12,
        "explore_max_deltas": 5,
        "torch_threads": 1,
        "device": "auto",
    },
    "full": {
        "deltas": tuple(round(0.05 * i, 2) for i in range(21)),
        "train_noise_var": (0.0, 0.1, 0.2, 0.3),
        "activations": ("tanh", "relu"),
        "seeds": tuple(range(20)),
        "task_seed": 0,
        "n_hidden": 120,
        "n_train": 5000,
        "lr": 0.1,
        "batch_size": 200,
        "epochs": 5000,
        "tol": 1e-5,
        "sigma_test": 1.0,
        "decode_sigmas": (1.0, 3.0),
        "n_test": 1000,
        "decode_folds": 5,
        "trajectory_deltas": (0.0, 0.1, 0.25, 0.5, 1.0),
        "trajectory_snapshots": 25,
        "explore_max_deltas": 6,
        "torch_threads": None,
        "device": "auto",
    },
    # Not the source's size: a sweep meant to fit a 2-core CPU (the full preset needs ~4e8
    # network-steps); estimated at about two hours, but not run yet (see RUNTIME). Full δ × σ²
    # grid and training set, 5 of 20 seeds, 60 of up to 5000 epochs.
    "medium": {
        "deltas": tuple(round(0.05 * i, 2) for i in range(21)),
        "train_noise_var": (0.0, 0.1, 0.2, 0.3),
        "activations": ("tanh", "relu"),
        "seeds": tuple(range(5)),
        "task_seed": 0,
        "n_hidden": 120,
        "n_train": 5000,
        "lr": 0.1,
        "batch_size": 200,
        "epochs": 60,
        "tol": 1e-5,
        "sigma_test": 1.0,
        "decode_sigmas": (1.0, 3.0),
        "n_test": 1000,
        "decode_folds": 5,
        "trajectory_deltas": (0.0, 0.1, 0.25, 0.5, 1.0),
        "trajectory_snapshots": 16,
        "explore_max_deltas": 6,
        "torch_threads": 1,
        "device": "auto",
    },
}

RUNTIME = {
    "small": "73 s wall for the whole notebook, measured with papermill on an idle 2-core CPU (cpu x86_64, torch 2.13.0+cpu), 2026-11-25",
    "full": "not run yet (needs one GPU; estimated weeks on the 2-core CPU)",
    "medium": ("not run: its first of 60 epochs did not finish within 10 minutes on the shared 2-core CPU "
               "(nice 19, alongside the test suite)"),
}

#: Metric keys of :attr:`DeltaSummary.metrics`, in display order.
METRICS = (
    "target_alignment",
    "input_alignment",
    "ps",
    "ccgp",
    "decode_trained",
    "decode_untrained",
)
METRIC_LABELS = {
    "target_alignment": "target alignment C(K_Z, K_Y)",
    "input_alignment": "input alignment C(K_Z, K_X)",
    "ps": "parallelism score (trained)",
    "ccgp": "CCGP (trained)",
    "decode_trained": "decoding, trained dichotomy",
    "decode_untrained": "decoding, untrained dichotomies",
}

CLAIMS: dict[str, ClaimSpec] = {}  # filled in below, after the measurement functions

# --------------------------------------------------------------------------- results


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return None if not math.isfinite(x) else round(x, 6)
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def _from_json_array(values: Any) -> np.ndarray:
    arr = np.array(values, dtype=object)
    return np.where(arr == None, np.nan, arr).astype(np.float64)  # noqa: E711 (elementwise)


@dataclass(frozen=True, eq=False)
class DeltaSummary:
    """Per-seed metrics of a δ × σ_train sweep: what the figures and claims need.

    Small enough to be written to JSON (:meth:`to_json`) and committed for the full
    preset, so the notebook can show the full-size result without re-running it.

    Attributes
    ----------
    preset : str
    deltas : ndarray, (Dl,)
    train_noise_var : ndarray, (S,)
        Training-noise variances σ² (the task's noise std is their square root).
    activations : tuple of str, (A,)
    seeds : tuple of int, (R,)
    metrics : dict of str -> ndarray (A, S, Dl, R)
        Keys :data:`METRICS`; decoding at ``sigma_test``.
    decoding : ndarray, (A, S, Dl, R, T, 3)
        Cross-validated accuracy of the 3 balanced dichotomies (row 0 = trained,
        rows 1, 2 = the two XOR inputs, untrained) at each of ``decode_sigmas``.
    decode_sigmas : tuple of float, (T,)
    sigma_test : float
    input_output_alignment : ndarray, (Dl,)
        C(K_X, K_Y) of the noise-free centres at each δ.
    stop_epoch : ndarray, (A, S, Dl, R)
    final_train_acc : ndarray, (A, S, Dl, R)
    device : str
    wall_time_s : float
        Wall time of the run (training + measurement).
    config : dict
        The resolved knobs of the run.
    """

    preset: str
    deltas: np.ndarray
    train_noise_var: np.ndarray
    activations: tuple
    seeds: tuple
    metrics: dict
    decoding: np.ndarray
    decode_sigmas: tuple
    sigma_test: float
    input_output_alignment: np.ndarray
    stop_epoch: np.ndarray
    final_train_acc: np.ndarray
    device: str
    wall_time_s: float
    config: dict = field(default_factory=dict)

    def metric(self, name: str) -> np.ndarray:
        """``(A, S, Dl, R)`` values of one metric (see :data:`METRICS`)."""
        if name not in self.metrics:
            raise ValueError(f"unknown metric {name!r}; valid: {', '.join(self.metrics)}")
        return self.metrics[name]

    def act_index(self, activation: str) -> int:
        if activation not in self.activations:
            raise ValueError(f"activation {activation!r} not in this sweep; valid: {', '.join(self.activations)}")
        return self.activations.index(activation)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(
            {
                "preset": self.preset,
                "deltas": self.deltas,
                "train_noise_var": self.train_noise_var,
                "activations": list(self.activations),
                "seeds": list(self.seeds),
                "layout": "metrics[name][activation][noise][delta][seed]; "
                "decoding[...][sigma_test][dichotomy]",
                "metrics": self.metrics,
                "decoding": self.decoding,
                "decode_sigmas": list(self.decode_sigmas),
                "sigma_test": self.sigma_test,
                "input_output_alignment": self.input_output_alignment,
                "stop_epoch": self.stop_epoch,
                "final_train_acc": self.final_train_acc,
                "device": self.device,
                "wall_time_s": self.wall_time_s,
                "config": self.config,
            }
        )

    def to_json(self, path: str | Path) -> Path:
        """Write the summary as JSON (atomically); returns the path."""
        return write_json_atomic(self.to_dict(), path)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DeltaSummary":
        try:
            return cls(
                preset=str(d["preset"]),
                deltas=np.asarray(d["deltas"], dtype=float),
                train_noise_var=np.asarray(d["train_noise_var"], dtype=float),
                activations=tuple(d["activations"]),
                seeds=tuple(int(s) for s in d["seeds"]),
                metrics={k: _from_json_array(v) for k, v in d["metrics"].items()},
                decoding=_from_json_array(d["decoding"]),
                decode_sigmas=tuple(float(s) for s in d["decode_sigmas"]),
                sigma_test=float(d["sigma_test"]),
                input_output_alignment=_from_json_array(d["input_output_alignment"]),
                stop_epoch=_from_json_array(d["stop_epoch"]),
                final_train_acc=_from_json_array(d["final_train_acc"]),
                device=str(d["device"]),
                wall_time_s=float(d["wall_time_s"]),
                config=dict(d.get("config", {})),
            )
        except KeyError as err:
            raise ValueError(f"not a chapter-02 summary: missing key {err}") from None

    @classmethod
    def from_json(cls, path: str | Path) -> "DeltaSummary":
        """Read a summary written by :meth:`to_json`."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))


@dataclass(frozen=True, eq=False)
class Trajectories:
    """Input-weight trajectories of the hidden units on the inter-/intra-class plane (Fig. 2C).

    Attributes
    ----------
    activations : tuple of str, (A,)
    deltas : ndarray, (Dt,)
    epochs : ndarray of int, (T,)
        Epochs of the snapshots (0 = initialisation).
    coords : ndarray, (A, Dt, T, H, 2)
        Projection of each unit's input weights on the unit inter-class axis
        (column 0) and intra-class axis (column 1). NaN where the plane is not
        defined (δ = 0: the inter-class axis is zero).
    readout : ndarray, (A, Dt, H)
        Each unit's frozen readout weight.
    fields : dict of (str, float) -> VectorField or None
        Expected-gradient field of eq. 1 for a unit with positive readout, at
        σ = 0, for each (activation, δ) whose plane exists.
    intra : tuple of int
        The same-label clusters that define the intra-class axis.
    seed : int
        Initialisation seed of the networks shown.
    """

    activations: tuple
    deltas: np.ndarray
    epochs: np.ndarray
    coords: np.ndarray
    readout: np.ndarray
    fields: dict
    intra: tuple
    seed: int


@dataclass(frozen=True, eq=False)
class DeltaResults:
    """Everything :func:`run` produced.

    Attributes
    ----------
    summary : DeltaSummary
    hidden_centres : ndarray, (A, S, Dl, R, 4, H)
        Trained hidden responses to the four noise-free centres.
    task : DeltaXORStack
        The δ × σ stack the networks were trained on.
    trajectories : Trajectories or None
    """

    summary: DeltaSummary
    hidden_centres: np.ndarray
    task: DeltaXORStack
    trajectories: Trajectories | None


# --------------------------------------------------------------------------- task + grid


def _cfg_get(cfg: Mapping[str, Any], key: str) -> Any:
    try:
        return cfg[key]
    except KeyError:
        raise ValueError(f"config is missing knob {key!r}; resolve it with rgl.resolve_preset('02', ...)") from None


def make_task(cfg: Mapping[str, Any]) -> DeltaXORStack:
    """The δ × σ_train stack of δ-XOR tasks of a configuration.

    ``G = len(deltas) * len(train_noise_var)`` tasks, δ-major
    (``g = i_delta * S + i_sigma``), noise std ``sqrt(train_noise_var)``.

    Raises
    ------
    ValueError
        Negative variance (and everything :func:`delta_xor_stack` rejects).
    """
    var = np.asarray(_cfg_get(cfg, "train_noise_var"), dtype=float)
    if var.ndim != 1 or var.size == 0 or not np.all(np.isfinite(var) & (var >= 0)):
        raise ValueError(f"train_noise_var must be a non-empty sequence of variances ≥ 0, got {var!r}")
    return delta_xor_stack(
        _cfg_get(cfg, "deltas"),
        np.sqrt(var),
        n_train=int(_cfg_get(cfg, "n_train")),
        n_test=int(_cfg_get(cfg, "n_test")),
        sigma_test=float(_cfg_get(cfg, "sigma_test")),
        seed=int(_cfg_get(cfg, "task_seed")),
    )


def network_grid(cfg: Mapping[str, Any]) -> tuple[list[NetConfig], np.ndarray]:
    """One :class:`NetConfig` per (activation, noise, δ, seed), and their grid indices.

    Returns
    -------
    configs : list of NetConfig, length ``E = A * S * Dl * R``
        In C order of ``(A, S, Dl, R)``; network ``e`` trains on dataset
        ``i_delta * S + i_sigma`` of :func:`make_task`, initialised and shuffled
        with its seed.
    index : ndarray of int, (E, 4)
        ``(i_activation, i_sigma, i_delta, i_seed)`` of each network.
    """
    acts = tuple(_cfg_get(cfg, "activations"))
    S = len(_cfg_get(cfg, "train_noise_var"))
    Dl = len(_cfg_get(cfg, "deltas"))
    seeds = tuple(int(s) for s in _cfg_get(cfg, "seeds"))
    if not acts or not seeds:
        raise ValueError("activations and seeds must be non-empty")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    configs, index = [], []
    for a, act in enumerate(acts):
        for s in range(S):
            for d in range(Dl):
                for r, seed in enumerate(seeds):
                    configs.append(
                        NetConfig(
                            hidden=(int(_cfg_get(cfg, "n_hidden")),),
                            activation=act,
                            readout="balanced",
                            loss="bce",
                            optimizer="sgd",
                            lr=float(_cfg_get(cfg, "lr")),
                            batch_size=int(_cfg_get(cfg, "batch_size")),
                            epochs=int(_cfg_get(cfg, "epochs")),
                            tol=None if _cfg_get(cfg, "tol") is None else float(cfg["tol"]),
                            seed=seed,
                            dataset=d * S + s,
                        )
                    )
                    index.append((a, s, d, r))
    return configs, np.asarray(index, dtype=np.int64)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads, restoring the previous number after.

    ``None`` leaves torch's setting alone. On a shared CPU (more runnable processes than
    cores) one thread is several times faster than two for this chapter's small matrix
    products: the threads of a parallel region wait for each other.

    Raises
    ------
    ValueError
        ``n`` not ``None`` or an integer ≥ 1.
    """
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"torch_threads must be None or an integer ≥ 1, got {n!r}")
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _train_data(task: DeltaXORStack) -> TrainData:
    G = len(task)
    # TrainData wants (G, n, K) targets for G stacked datasets; the stack shares one (n, K)
    Y = np.broadcast_to(task.Y_train, (G,) + task.Y_train.shape).copy()
    return TrainData(task.X_train, Y)


# --------------------------------------------------------------------------- measurement


_ACTS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "linear": lambda a: a,
}


def hidden_responses(W: Any, b: Any, X: Any, activation: str) -> np.ndarray:
    """Hidden-layer responses ``f(X W^T + b)`` of a stack of one-hidden-layer networks.

    Parameters
    ----------
    W : array, (E, H, D)
        Input weights.
    b : array, (E, H)
        Hidden biases.
    X : array, (n, D) or (E, n, D)
        Inputs, shared or one set per network.
    activation : str
        ``"tanh"``, ``"relu"``, ``"sigmoid"`` or ``"linear"``.

    Returns
    -------
    ndarray, float64, (E, n, H)
    """
    if activation not in _ACTS:
        raise ValueError(f"activation must be one of {', '.join(_ACTS)}, got {activation!r}")
    W_t = torch.as_tensor(np.asarray(W), dtype=torch.float64)
    b_t = torch.as_tensor(np.asarray(b), dtype=torch.float64)
    X_t = torch.as_tensor(np.asarray(X), dtype=torch.float64)
    if W_t.ndim != 3 or b_t.shape != W_t.shape[:2]:
        raise ValueError(f"W must be (E, H, D) and b (E, H); got {tuple(W_t.shape)} and {tuple(b_t.shape)}")
    if X_t.ndim == 2:
        X_t = X_t.expand(W_t.shape[0], *X_t.shape)
    if X_t.ndim != 3 or X_t.shape[0] != W_t.shape[0] or X_t.shape[2] != W_t.shape[2]:
        raise ValueError(
            f"X must be (n, {W_t.shape[2]}) or ({W_t.shape[0]}, n, {W_t.shape[2]}); got {tuple(X_t.shape)}"
        )
    return _ACTS[activation](torch.baddbmm(b_t[:, None, :], X_t, W_t.transpose(1, 2))).numpy()


def centre_metrics(Z: Any, centres: Any, labels: Any) -> dict[str, np.ndarray]:
    """Geometry of the hidden responses to the noise-free centres, batched over networks.

    Parameters
    ----------
    Z : array, (..., P, H)
        Hidden responses to the ``P`` condition centres.
    centres : array, (..., P, D)
        The centres themselves (the input representation), broadcast against ``Z``.
    labels : array, (P,)
        Trained dichotomy, ±1.

    Returns
    -------
    dict
        ``target_alignment`` C(K_Z, K_Y), ``input_alignment`` C(K_Z, K_X) and ``ps``
        (parallelism score of the trained dichotomy: max over the pairings of its
        conditions, :func:`repgeom_lite.metrics.parallelism_score`), each ``(...)``.
    """
    y = np.asarray(labels, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"labels must be (P,), got shape {y.shape}")
    return {
        "target_alignment": np.asarray(kernel_alignment(Z, y[:, None])),
        "input_alignment": np.asarray(kernel_alignment(Z, centres)),
        "ps": np.asarray(parallelism_score(Z, y)),
    }


def sample_metrics(
    Z: Any,
    conditions: Any,
    labels: Any,
    dichotomies: Any,
    *,
    n_folds: int = 2,
    seed: int = 0,
    with_ccgp: bool = True,
) -> dict[str, np.ndarray]:
    """CCGP of the trained dichotomy and cross-validated decoding of every dichotomy.

    Parameters
    ----------
    Z : array, (..., n, H)
        Hidden responses to noisy test samples.
    conditions : array of int, (n,)
    labels : array, (P,)
        Trained dichotomy, ±1.
    dichotomies : array, (Dc, P)
        ±1 rows to decode (row 0 should be the trained one).
    n_folds : int
        Folds of the decoding cross-validation.
    seed : int
        Folds and split sampling.
    with_ccgp : bool
        Skip CCGP (e.g. for extra test-noise levels) when False.

    Returns
    -------
    dict
        ``ccgp (...)`` (only when ``with_ccgp``) and ``decoding (..., Dc)``.
    """
    from sklearn.exceptions import ConvergenceWarning

    out = {}
    with warnings.catch_warnings():
        # LinearSVC on saturated tanh units can stop at max_iter; accuracy is what we use
        warnings.simplefilter("ignore", ConvergenceWarning)
        if with_ccgp:
            out["ccgp"] = np.asarray(ccgp(Z, conditions, np.asarray(labels), seed=seed).scores)
        out["decoding"] = np.asarray(
            dichotomy_decoding(Z, conditions, dichotomies, n_folds=n_folds, seed=seed).scores
        )
    return out


def _trained_first_dichotomies(labels: np.ndarray) -> np.ndarray:
    """The 3 balanced dichotomies of 4 conditions, the trained one first (with its sign)."""
    D = balanced_dichotomies(4)
    match = np.flatnonzero(np.abs(D @ labels) == 4)
    if match.size != 1:  # pragma: no cover - labels are always balanced here
        raise ValueError("trained labels are not a balanced dichotomy of 4 conditions")
    i = int(match[0])
    trained = labels[None, :].astype(np.int64)
    return np.concatenate([trained, np.delete(D, i, axis=0)])


def _input_output_alignment(task: DeltaXORStack, S: int) -> np.ndarray:
    C = task.centers[::S]  # (Dl, 4, D): one per δ (σ does not change the centres)
    return np.asarray(kernel_alignment(C, task.labels.astype(float)))


# --------------------------------------------------------------------------- pipeline


def run(cfg: Mapping[str, Any], progress: bool = True) -> DeltaResults:
    """Train the whole δ × σ_train × activation × seed sweep and measure it.

    One :func:`repgeom_lite.ensemble.train_ensemble` call trains every network;
    geometry is then measured on the noise-free centres for every network (batched)
    and with linear SVMs on ``n_test`` noisy test samples per network. The weight
    trajectories of Fig. 2C come from a second, small ensemble
    (:func:`run_trajectories`).

    Parameters
    ----------
    cfg : mapping
        Resolved knobs (``rgl.resolve_preset("02", preset, ...)``).
    progress : bool
        tqdm progress bars.

    Returns
    -------
    DeltaResults
    """
    with torch_threads(_cfg_get(cfg, "torch_threads")):
        return _run(cfg, progress)


def _run(cfg: Mapping[str, Any], progress: bool) -> DeltaResults:
    t0 = time.perf_counter()
    device = resolve_device(_cfg_get(cfg, "device"))
    task = make_task(cfg)
    configs, _ = network_grid(cfg)
    acts = tuple(cfg["activations"])
    seeds = tuple(int(s) for s in cfg["seeds"])
    A, S, Dl, R = len(acts), len(cfg["train_noise_var"]), len(cfg["deltas"]), len(seeds)
    shape = (A, S, Dl, R)

    # no per-epoch history: evaluating the full training set every epoch would add ~1/3 to the cost
    ens = train_ensemble(configs, _train_data(task), Records(history=False), device=device, progress=progress)

    W = ens.stack("W0")  # (E, H, D)
    b = ens.stack("b0")  # (E, H)
    g = np.array([c.dataset for c in configs])
    labels = task.labels[:, 0]
    H = W.shape[1]

    # ---- noise-free centres: every network, batched per activation
    Z_c = np.empty((len(configs), 4, H))
    for act in acts:
        m = np.array([c.activation == act for c in configs])
        Z_c[m] = hidden_responses(W[m], b[m], task.centers[g[m]], act)
    geo = centre_metrics(Z_c, task.centers[g], labels)

    # ---- noisy test samples: CCGP + decoding, at each test-noise level
    sigma_test = float(cfg["sigma_test"])
    decode_sigmas = tuple(sorted({sigma_test, *(float(s) for s in cfg["decode_sigmas"])}))
    dich = _trained_first_dichotomies(labels)
    n_test = int(cfg["n_test"])
    ccgp_vals = np.empty(len(configs))
    decoding = np.empty((len(configs), len(decode_sigmas), len(dich)))
    from tqdm.auto import tqdm

    bar = tqdm(total=len(configs) * len(decode_sigmas), desc="SVM metrics", disable=not progress, leave=False)
    for t, sig in enumerate(decode_sigmas):
        # common random numbers: the same draw (conditions, noise) scaled to each σ_test
        samples = task.sample(n_test, sig, seed=int(cfg["task_seed"]) + 1)
        for act in acts:
            m = np.flatnonzero([c.activation == act for c in configs])
            for start in range(0, len(m), 64):
                rows = m[start : start + 64]
                Z = hidden_responses(W[rows], b[rows], samples.X[g[rows]], act)
                sm = sample_metrics(
                    Z, samples.cond, labels, dich, n_folds=int(cfg["decode_folds"]), seed=0,
                    with_ccgp=(sig == sigma_test),
                )
                if sig == sigma_test:
                    ccgp_vals[rows] = sm["ccgp"]
                decoding[rows, t] = sm["decoding"]
                bar.update(len(rows))
    bar.close()

    t_main = decode_sigmas.index(sigma_test)
    metrics = {
        "target_alignment": geo["target_alignment"].reshape(shape),
        "input_alignment": geo["input_alignment"].reshape(shape),
        "ps": geo["ps"].reshape(shape),
        "ccgp": ccgp_vals.reshape(shape),
        "decode_trained": decoding[:, t_main, 0].reshape(shape),
        "decode_untrained": decoding[:, t_main, 1:].mean(-1).reshape(shape),
    }
    final_acc = np.empty(len(configs))
    J, c_out = ens.stack("W1")[:, 0, :], ens.stack("b1")[:, 0]  # (E, H), (E,)
    for act in acts:
        m = np.flatnonzero([c.activation == act for c in configs])
        for start in range(0, len(m), 64):
            rows = m[start : start + 64]
            Z = hidden_responses(W[rows], b[rows], task.X_train[g[rows]], act)  # (E, n, H)
            logits = np.einsum("enh,eh->en", Z, J[rows]) + c_out[rows, None]
            final_acc[rows] = ((logits > 0) == (task.Y_train[None, :, 0] > 0.5)).mean(-1)
    traj = None
    if tuple(cfg["trajectory_deltas"]):
        traj = _run_trajectories(cfg, progress=progress)
    summary = DeltaSummary(
        preset=getattr(cfg, "preset", "custom"),
        deltas=np.asarray(cfg["deltas"], dtype=float),
        train_noise_var=np.asarray(cfg["train_noise_var"], dtype=float),
        activations=acts,
        seeds=seeds,
        metrics=metrics,
        decoding=decoding.reshape(shape + decoding.shape[1:]),
        decode_sigmas=decode_sigmas,
        sigma_test=sigma_test,
        input_output_alignment=_input_output_alignment(task, S),
        stop_epoch=ens.stop_epoch.reshape(shape),
        final_train_acc=final_acc.reshape(shape),
        device=describe_device(device),
        wall_time_s=time.perf_counter() - t0,
        config={k: _jsonable(v) for k, v in dict(cfg).items()},
    )
    return DeltaResults(
        summary=summary,
        hidden_centres=Z_c.reshape(shape + Z_c.shape[1:]),
        task=task,
        trajectories=traj,
    )


def _snapshot_epochs(epochs: int, n: int) -> tuple[int, ...]:
    """``n`` roughly log-spaced epochs from 0 to ``epochs`` (0 and ``epochs`` included)."""
    if epochs <= 0:
        return (0,)
    pts = np.unique(np.round(np.geomspace(1, epochs + 1, max(int(n), 2)) - 1).astype(int))
    return tuple(int(p) for p in np.unique(np.r_[0, pts, epochs]))


def run_trajectories(cfg: Mapping[str, Any], progress: bool = False) -> Trajectories:
    """Weight trajectories for ``trajectory_deltas`` (σ_train = 0, first seed, each activation).

    Trains ``len(activations) * len(trajectory_deltas)`` networks with the sweep's
    hyperparameters (no training noise) and keeps their input weights at
    ``trajectory_snapshots`` log-spaced epochs, projected on the inter-/intra-class
    plane of each δ (:func:`repgeom_lite.metrics.weight_plane_axes`, intra-class axis
    from clusters 2 and 3, the class a unit with positive readout learns to answer).

    Returns
    -------
    Trajectories
    """
    with torch_threads(_cfg_get(cfg, "torch_threads")):
        return _run_trajectories(cfg, progress)


def _run_trajectories(cfg: Mapping[str, Any], progress: bool) -> Trajectories:
    deltas = np.asarray(cfg["trajectory_deltas"], dtype=float)
    acts = tuple(cfg["activations"])
    seed = int(tuple(cfg["seeds"])[0])
    sub = dict(cfg)
    sub.update(deltas=tuple(deltas), train_noise_var=(0.0,), seeds=(seed,))
    task = make_task(sub)
    configs, _ = network_grid(sub)
    epochs = _snapshot_epochs(int(cfg["epochs"]), int(cfg["trajectory_snapshots"]))
    ens = train_ensemble(
        configs, _train_data(task), Records(weight_epochs=epochs, history=False),
        device=resolve_device(cfg["device"]), progress=progress,
    )
    intra = (2, 3)
    labels = task.labels[:, 0]
    H = int(cfg["n_hidden"])
    coords = np.full((len(acts), len(deltas), len(epochs), H, 2), np.nan)
    readout = np.empty((len(acts), len(deltas), H))
    fields: dict = {}
    for e, c in enumerate(configs):
        a, d = acts.index(c.activation), c.dataset  # one σ: dataset index = δ index
        readout[a, d] = ens.params[e]["W1"][0]
        try:
            axes = weight_plane_axes(task.centers[d], labels, intra=intra)
        except ValueError:  # δ = 0: the inter-class axis sum_p y_p x_p is zero
            fields[(c.activation, float(deltas[d]))] = None
            continue
        Ws = np.stack([w["W0"] for w in ens.weights_at[e]])  # (T, H, D)
        coords[a, d] = project_weights(Ws, axes)
        lim = float(np.nanmax(np.abs(coords[a, d]))) * 1.1
        fields[(c.activation, float(deltas[d]))] = weight_vector_field(
            task.centers[d], labels, readout=1.0, activation=c.activation, sigma=0.0,
            grid=21, extent=lim, intra=intra,
        )
    return Trajectories(
        activations=acts, deltas=deltas, epochs=np.asarray(epochs), coords=coords,
        readout=readout, fields=fields, intra=intra, seed=seed,
    )


# --------------------------------------------------------------------------- curve statistics


def transition_delta(deltas: Any, values: Any) -> np.ndarray:
    """δ where a curve first crosses halfway between its first and last value.

    ``deltas: (Dl,)`` increasing, ``values: (..., Dl) -> (...)``. The level is
    ``(v[0] + v[-1]) / 2``; the crossing is linearly interpolated between the two
    grid points around the first index whose value reaches the level. A curve that
    does not rise (``v[-1] <= v[0]``) has no transition: NaN.
    """
    x = np.asarray(deltas, dtype=float)
    v = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size < 2 or np.any(np.diff(x) <= 0):
        raise ValueError(f"deltas must be a strictly increasing 1-D grid of ≥ 2 points, got {x!r}")
    if v.shape[-1] != x.size:
        raise ValueError(f"values must end in an axis of {x.size} (one per δ), got shape {v.shape}")
    flat = v.reshape(-1, x.size)
    out = np.full(flat.shape[0], np.nan)
    for i, row in enumerate(flat):
        lo, hi = row[0], row[-1]
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
            continue
        level = 0.5 * (lo + hi)
        k = int(np.argmax(row >= level))  # first index at/above the level (k ≥ 1 since row[0] < level)
        x0, x1, y0, y1 = x[k - 1], x[k], row[k - 1], row[k]
        out[i] = x1 if y1 == y0 else x0 + (level - y0) * (x1 - x0) / (y1 - y0)
    return out.reshape(v.shape[:-1])


def max_slope(deltas: Any, values: Any) -> np.ndarray:
    """Largest finite-difference slope ``max_i (v[i+1] - v[i]) / (δ[i+1] - δ[i])``: ``(..., Dl) -> (...)``."""
    x = np.asarray(deltas, dtype=float)
    v = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size < 2 or np.any(np.diff(x) <= 0):
        raise ValueError(f"deltas must be a strictly increasing 1-D grid of ≥ 2 points, got {x!r}")
    if v.shape[-1] != x.size:
        raise ValueError(f"values must end in an axis of {x.size} (one per δ), got shape {v.shape}")
    return (np.diff(v, axis=-1) / np.diff(x)).max(axis=-1)


def noise_sensitivity(values: Any, i_low: int = 0, i_high: int = -1) -> np.ndarray:
    """Mean over δ of ``|v[σ_high] - v[σ_low]|``: ``(..., S, Dl) -> (...)``."""
    v = np.asarray(values, dtype=float)
    if v.ndim < 2:
        raise ValueError(f"values must be (..., S, Dl), got shape {v.shape}")
    return np.abs(v[..., i_high, :] - v[..., i_low, :]).mean(axis=-1)


def transition_table(summary: DeltaSummary, metric: str = "target_alignment") -> list[dict[str, Any]]:
    """Transition δ (halfway crossing of ``metric`` vs δ) per activation and σ², mean ± sd over seeds.

    Returns
    -------
    list of dict
        One row per (activation, noise level): ``activation``, ``noise_var``,
        ``sigma_train``, ``mean``, ``sd``, ``n_undefined`` (seeds whose curve does not
        rise) and ``per_seed``.
    """
    td = transition_delta(summary.deltas, np.moveaxis(summary.metric(metric), -1, -2))  # (A, S, R)
    rows = []
    for a, act in enumerate(summary.activations):
        for s, var in enumerate(summary.train_noise_var):
            v = td[a, s]
            ok = v[np.isfinite(v)]
            rows.append(
                {
                    "activation": act,
                    "noise_var": float(var),
                    "sigma_train": float(np.sqrt(var)),
                    "mean": float(ok.mean()) if ok.size else float("nan"),
                    "sd": float(ok.std(ddof=1)) if ok.size > 1 else float("nan"),
                    "n_undefined": int(v.size - ok.size),
                    "per_seed": [float(x) for x in v],
                }
            )
    return rows


# --------------------------------------------------------------------------- claims


def _mean_sd(x: np.ndarray) -> tuple[float, float | None]:
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), None
    return float(x.mean()), (float(x.std(ddof=1)) if x.size > 1 else None)


def _first_delta_index(summary: DeltaSummary, value: float) -> int:
    hits = np.flatnonzero(np.isclose(summary.deltas, value))
    if hits.size == 0:
        raise ValueError(f"the sweep needs δ = {value} (deltas: {summary.deltas.tolist()})")
    return int(hits[0])


def measure_claims(summary: DeltaSummary) -> dict[str, Measured]:
    """Every claim of :data:`CLAIMS`, measured on a sweep summary.

    Needs δ = 0 and δ = 1 in the grid, noise variance 0 as the first noise level,
    and both ``"tanh"`` and ``"relu"``. Effects are computed per seed (tanh and
    ReLU networks of one seed share their initial weights) and reported as mean ±
    sd over seeds.
    """
    if isinstance(summary, DeltaResults):
        summary = summary.summary
    for act in ("tanh", "relu"):
        summary.act_index(act)
    if summary.train_noise_var[0] != 0:
        raise ValueError("the first noise level must be 0 (noise-free training)")
    ta, ra = summary.act_index("tanh"), summary.act_index("relu")
    i0 = _first_delta_index(summary, 0.0)
    _first_delta_index(summary, 1.0)
    x = summary.deltas
    R = len(summary.seeds)
    TA = summary.metric("target_alignment")  # (A, S, Dl, R)
    IA = summary.metric("input_alignment")
    out: dict[str, Measured] = {}

    # δ = 0, noise-free: the largest (over activations) seed-mean of each metric
    for key, name in (("delta0_target_alignment", "target_alignment"), ("delta0_ps", "ps"), ("delta0_ccgp", "ccgp")):
        vals = summary.metric(name)[:, 0, i0, :]  # (A, R)
        means = np.nanmean(vals, axis=-1)
        a = int(np.nanargmax(means))
        _, sd = _mean_sd(vals[a])
        out[key] = Measured(
            float(means[a]), sd,
            f"{summary.activations[a]} (the larger of tanh/ReLU) at δ = 0, σ² = 0; mean ± sd over {R} seeds",
        )

    # tanh transition (noise-free)
    td_t = transition_delta(x, TA[ta, 0].T)  # (R,)
    m, sd = _mean_sd(td_t)
    out["tanh_transition_delta"] = Measured(
        m, sd, f"δ where tanh target alignment crosses halfway between δ = 0 and δ = 1 (σ² = 0); mean ± sd over seeds"
    )
    # steepness: max slope of TA vs δ, tanh − ReLU, paired by seed
    slope = max_slope(x, TA[:, 0].transpose(0, 2, 1))  # (A, R)
    m, sd = _mean_sd(slope[ta] - slope[ra])
    out["slope_tanh_minus_relu"] = Measured(
        m, sd, f"max d(target alignment)/dδ, tanh − ReLU (σ² = 0), paired by seed; tanh {slope[ta].mean():.2f}, "
        f"ReLU {slope[ra].mean():.2f}"
    )
    # ReLU keeps more input structure at every δ > 0
    diff = IA[ra, 0] - IA[ta, 0]  # (Dl, R)
    pos = x > 0
    dmean = diff[pos].mean(axis=-1)
    k = int(np.argmin(dmean))
    out["input_alignment_gap_min"] = Measured(
        float(dmean[k]), _mean_sd(diff[pos][k])[1],
        f"min over δ > 0 of the seed-mean of input alignment ReLU − tanh (σ² = 0); smallest at δ = {x[pos][k]:g}",
    )
    ia_relu = IA[ra, 0].mean(axis=-1)  # (Dl,)
    k = int(np.argmin(ia_relu))
    out["relu_input_alignment_min"] = Measured(
        float(ia_relu[k]), _mean_sd(IA[ra, 0, k])[1],
        f"min over δ of the seed-mean of ReLU input alignment (σ² = 0); smallest at δ = {x[k]:g} "
        f"(tanh's minimum: {IA[ta, 0].mean(axis=-1).min():.2f})",
    )
    # noise: shift of tanh's transition and sensitivity of each activation
    S = len(summary.train_noise_var)
    if S >= 2:
        td_hi = transition_delta(x, TA[ta, -1].T)
        shift = td_hi - td_t
        m, sd = _mean_sd(shift)
        out["tanh_noise_shift"] = Measured(
            m, sd, f"tanh transition δ at σ² = {summary.train_noise_var[-1]:g} minus at σ² = 0; mean ± sd over seeds "
            f"({int(np.sum(~np.isfinite(shift)))} undefined)"
        )
        sens = noise_sensitivity(TA.transpose(0, 3, 1, 2))  # (A, R)
        m, sd = _mean_sd(sens[ta] - sens[ra])
        out["noise_sensitivity_tanh_minus_relu"] = Measured(
            m, sd, f"mean over δ of |TA(σ² = {summary.train_noise_var[-1]:g}) − TA(σ² = 0)|, tanh − ReLU, paired by "
            f"seed; tanh {sens[ta].mean():.3f}, ReLU {sens[ra].mean():.3f}"
        )
    return out


# Thresholds were set on development runs of the small preset with seeds 100–102 and
# task seed 1 (values in brackets: mean ± sd over those 3 seeds), before the preset's
# own seeds (0, 1, 2; task seed 0) were run.
CLAIMS.update(
    {
        "delta0_target_alignment": ClaimSpec(
            statement="δ = 0: target alignment, larger of tanh/ReLU < threshold (vs ≈ 0.95 for tanh past its transition)",
            op="<",
            threshold={"small": 0.65, "full": 0.65, "medium": 0.65},  # dev: ReLU 0.566 ± 0.003
            source_value="'low target alignment ... no matter the nonlinearity' (§5.1, Fig. 2B; no number)",
        ),
        "delta0_ps": ClaimSpec(
            statement="δ = 0: parallelism score of the trained dichotomy, larger of tanh/ReLU < threshold",
            op="<",
            threshold={"small": 0.2, "full": 0.2, "medium": 0.2},  # dev: ReLU −0.011 ± 0.003
            source_value="low for both activations (§5.1, Fig. 2B)",
        ),
        "delta0_ccgp": ClaimSpec(
            statement="δ = 0: CCGP of the trained dichotomy, larger of tanh/ReLU < threshold",
            op="<",
            threshold={"small": 0.25, "full": 0.25, "medium": 0.25},  # dev: 0.0 ± 0.0
            source_value="low for both activations (§5.1, Fig. 2B)",
        ),
        "tanh_transition_delta": ClaimSpec(
            statement="tanh: δ where target alignment crosses halfway (σ² = 0) < threshold",
            op="<",
            threshold={"small": 0.25, "full": 0.25, "medium": 0.25},  # dev: 0.112 ± 0.006
            source_value="'for any values of δ greater than a small threshold' (§5.1)",
        ),
        "slope_tanh_minus_relu": ClaimSpec(
            statement="largest slope of target alignment vs δ: tanh − ReLU > threshold",
            op=">",
            threshold={"small": 1.0, "full": 1.0, "medium": 1.0},  # dev: 6.40 ± 0.52
            unit="per unit δ",
            source_value="ReLU target alignment 'increased more gradually' (§5.1)",
        ),
        "input_alignment_gap_min": ClaimSpec(
            statement="input alignment ReLU − tanh at every δ > 0 (smallest over δ > 0, σ² = 0) > threshold",
            op=">",
            threshold={"small": 0.0, "full": 0.0, "medium": 0.0},  # dev: −0.158 ± 0.011 at δ = 0.05
            expected={"small": "not replicated"},
            source_value="ReLU: 'strong signatures of the input structure remained ... regardless of δ' (§5.1)",
        ),
        "relu_input_alignment_min": ClaimSpec(
            statement="ReLU input alignment, smallest over δ (σ² = 0) > threshold",
            op=">",
            threshold={"small": 0.7, "full": 0.7, "medium": 0.7},  # dev: 0.82 at δ = 0
            source_value="'strong signatures of the input structure remained ... regardless of δ' (§5.1)",
        ),
        "tanh_noise_shift": ClaimSpec(
            statement="tanh transition δ at the largest training noise − at no noise > threshold",
            op=">",
            threshold={"small": 0.01, "full": 0.01, "medium": 0.01},  # dev: 0.022 ± 0.004
            source_value="noise increases 'the degree of separability required' (§5.2, Fig. 3)",
        ),
        "noise_sensitivity_tanh_minus_relu": ClaimSpec(
            statement="mean change of target alignment with training noise: tanh − ReLU > threshold",
            op=">",
            threshold={"small": 0.015, "full": 0.015, "medium": 0.015},  # dev: 0.057 ± 0.002
            source_value="ReLU representations are 'impacted much less by training noise' (§5.2)",
        ),
    }
)

# --------------------------------------------------------------------------- plots


def _ax(ax, projection=None):
    import matplotlib.pyplot as plt

    if ax is None:
        fig = plt.figure(figsize=(4, 3.2), constrained_layout=True)
        ax = fig.add_subplot(projection=projection)
    return ax


_CLASS_COLORS = ("#2ca02c", "#e377c2")  # class 0 green, class 1 magenta (as in Fig. 2A)


def plot_task_geometry(delta: float, ax=None):
    """Latent centres of the δ-XOR task in their 3 latent coordinates (Fig. 2A), on a 3-D axes.

    The four conditions (+1,+1,−δ), (−1,−1,−δ) (class 0, green) and (−1,+1,+δ),
    (+1,−1,+δ) (class 1, magenta), with the XOR square drawn at the third coordinate 0.
    """
    from ..tasks import delta_xor_task

    ax = _ax(ax, projection="3d")
    t = delta_xor_task(float(delta), D_block=2, n_train=4, n_test=4, seed=0)
    L = t.latents
    sq = np.array([[1, 1, 0], [-1, 1, 0], [-1, -1, 0], [1, -1, 0], [1, 1, 0]], dtype=float)
    ax.plot(sq[:, 0], sq[:, 1], sq[:, 2], color="0.7", lw=1, ls="--")
    for p in range(4):
        cls = int(t.labels[p, 0] > 0)
        ax.plot([L[p, 0]] * 2, [L[p, 1]] * 2, [0, L[p, 2]], color="0.5", lw=1)
        ax.scatter(*L[p], s=70, color=_CLASS_COLORS[cls], edgecolor="k", depthshade=False)
        ax.text(L[p, 0], L[p, 1], L[p, 2] + 0.12, f"x{p + 1}", fontsize=8)
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_zlim(-1.1, 1.1)
    ax.set_xlabel("latent 1")
    ax.set_ylabel("latent 2")
    ax.set_zlabel("latent 3")
    ax.set_title(f"δ = {delta:g}")
    return ax


def plot_metric_vs_delta(summary: DeltaSummary, metric: str, *, noise_index: int = 0, ax=None,
                         legend: bool = True):
    """One metric vs δ for each activation at one training-noise level, mean ± sd over seeds (Fig. 2B)."""
    ax = _ax(ax)
    vals = summary.metric(metric)
    for a, act in enumerate(summary.activations):
        error_band(summary.deltas, vals[a, noise_index].T, ax=ax, label=act, color=activation_color(act),
                   marker="o", ms=3)
    ax.set_xlabel("separability δ")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_xlim(summary.deltas.min(), summary.deltas.max())
    if legend:
        ax.legend(frameon=False, fontsize=8)
    return ax


def plot_heatmap(summary: DeltaSummary, metric: str, activation: str, *, ax=None, vmin=None, vmax=None,
                 colorbar: bool = True):
    """Seed-mean of a metric over δ (x) × training-noise variance σ² (y) for one activation (Fig. 3)."""
    ax = _ax(ax)
    a = summary.act_index(activation)
    m = np.nanmean(summary.metric(metric)[a], axis=-1)  # (S, Dl)
    x, y = summary.deltas, summary.train_noise_var

    def edges(v):
        v = np.asarray(v, dtype=float)
        if v.size == 1:
            return np.array([v[0] - 0.5, v[0] + 0.5])
        mid = 0.5 * (v[1:] + v[:-1])
        return np.r_[v[0] - (mid[0] - v[0]), mid, v[-1] + (v[-1] - mid[-1])]

    im = ax.pcolormesh(edges(x), edges(y), m, vmin=vmin, vmax=vmax, cmap="viridis", shading="flat")
    ax.set_xlabel("separability δ")
    ax.set_ylabel("training noise σ²")
    ax.set_yticks(y)
    ax.set_title(f"{activation}: {METRIC_LABELS.get(metric, metric)}", fontsize=9)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax


def plot_trajectories(traj: Trajectories, activation: str, delta: float, *, ax=None, readout_sign: int = 1,
                      max_units: int = 60):
    """Hidden units' input weights moving on the inter-/intra-class plane (Fig. 2C).

    Units with readout sign ``readout_sign`` are drawn (their expected-gradient field
    of eq. 1 underneath, arrows normalised): a line per unit from its initial weights
    (circle) to its final weights.
    """
    ax = _ax(ax)
    if activation not in traj.activations:
        raise ValueError(f"activation {activation!r} not recorded; valid: {', '.join(traj.activations)}")
    hits = np.flatnonzero(np.isclose(traj.deltas, delta))
    if hits.size == 0:
        raise ValueError(f"δ = {delta} not recorded; valid: {traj.deltas.tolist()}")
    a, d = traj.activations.index(activation), int(hits[0])
    fld = traj.fields.get((activation, float(traj.deltas[d])))
    if fld is None:
        ax.text(0.5, 0.5, "δ = 0: no inter-class axis\n(Σ y_p x_p = 0)", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    U, V = np.meshgrid(fld.inter, fld.intra)
    n = np.hypot(fld.d_inter, fld.d_intra)
    n = np.where(n > 0, n, 1.0)
    ax.quiver(U, V, fld.d_inter / n, fld.d_intra / n, color="0.75", angles="xy", scale=30, width=0.004)
    units = np.flatnonzero(np.sign(traj.readout[a, d]) == readout_sign)[:max_units]
    color = activation_color(activation)
    for h in units:
        path = traj.coords[a, d, :, h]
        ax.plot(path[:, 0], path[:, 1], color=color, lw=0.8, alpha=0.8)
        ax.plot(path[0, 0], path[0, 1], "o", ms=2.5, mfc="white", mec=color, mew=0.8)
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("inter-class weight (a.u.)")
    ax.set_ylabel("intra-class weight (a.u.)")
    ax.set_title(f"{activation}, δ = {traj.deltas[d]:g}", fontsize=9)
    return ax


def plot_condition_geometry(Z: Any, *, ax=None, title: str | None = None):
    """The four condition means of a hidden layer, on their first two principal components.

    ``Z: (4, H)``; points coloured by class (green 0, magenta 1), labelled x1..x4.
    """
    ax = _ax(ax)
    Z = np.asarray(Z, dtype=float)
    if Z.ndim != 2 or Z.shape[0] != 4:
        raise ValueError(f"Z must be (4, H), got shape {Z.shape}")
    Zc = Z - Z.mean(0)
    U, s, _ = np.linalg.svd(Zc, full_matrices=False)
    P = U[:, :2] * s[:2]
    if P.shape[1] < 2:
        P = np.c_[P, np.zeros(4)]
    cols = [_CLASS_COLORS[i] for i in (0, 0, 1, 1)]
    ax.scatter(P[:, 0], P[:, 1], c=cols, s=60, edgecolor="k", zorder=3)
    for p in range(4):
        ax.annotate(f"x{p + 1}", P[p], textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xlabel("PC 1 (a.u.)")
    ax.set_ylabel("PC 2 (a.u.)")
    lim = np.abs(P).max() * 1.3 + 1e-9
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_transition(summary: DeltaSummary, *, ax=None, metric: str = "target_alignment"):
    """Transition δ (halfway crossing) vs training-noise variance, per activation, mean ± sd over seeds."""
    ax = _ax(ax)
    rows = transition_table(summary, metric)
    for act in summary.activations:
        r = [row for row in rows if row["activation"] == act]
        ax.errorbar([row["noise_var"] for row in r], [row["mean"] for row in r],
                    yerr=[0 if not np.isfinite(row["sd"]) else row["sd"] for row in r],
                    marker="o", capsize=3, label=act, color=activation_color(act))
    ax.set_xlabel("training noise σ²")
    ax.set_ylabel("transition δ (halfway)")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False, fontsize=8)
    return ax


def explore_deltas(deltas: Sequence[float], max_values: int = 11) -> list[int]:
    """Indices of at most ``max_values`` δ values, evenly spread, first and last included."""
    n = len(deltas)
    if n == 0:
        raise ValueError("deltas is empty")
    if max_values < 1:
        raise ValueError(f"max_values must be ≥ 1, got {max_values}")
    if n <= max_values:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, max_values)})


def plot_explore_panel(results: DeltaResults, i_noise: int, i_delta: int, *, seed_index: int = 0,
                       metrics: Sequence[str] = ("target_alignment", "input_alignment", "ps", "ccgp")):
    """One state of the explore widget: hidden geometry of each activation and its metrics.

    Left panels: the four condition means of the hidden layer (first two PCs) of
    one network per activation (``seed_index``); right panel: ``metrics`` for each
    activation, mean ± sd over seeds, at noise level ``i_noise`` and δ index
    ``i_delta``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    s = results.summary
    A = len(s.activations)
    if not (0 <= i_noise < len(s.train_noise_var) and 0 <= i_delta < len(s.deltas)):
        raise ValueError(f"i_noise must be in 0..{len(s.train_noise_var) - 1} and i_delta in 0..{len(s.deltas) - 1}")
    fig, axes = plt.subplots(1, A + 1, figsize=(3.0 * A + 4.2, 3.0), constrained_layout=True,
                             gridspec_kw={"width_ratios": [1] * A + [1.5]})
    for a, act in enumerate(s.activations):
        plot_condition_geometry(results.hidden_centres[a, i_noise, i_delta, seed_index], ax=axes[a],
                                title=f"{act} hidden layer (seed {s.seeds[seed_index]})")
    ax = axes[-1]
    width = 0.8 / A
    for a, act in enumerate(s.activations):
        vals = np.array([s.metric(m)[a, i_noise, i_delta] for m in metrics])  # (M, R)
        ax.bar(np.arange(len(metrics)) + (a - (A - 1) / 2) * width, vals.mean(-1), width,
               yerr=vals.std(-1, ddof=1) if vals.shape[-1] > 1 else None, capsize=2,
               color=activation_color(act), label=act)
    ax.set_xticks(range(len(metrics)), ["target\nalign.", "input\nalign.", "PS", "CCGP"][: len(metrics)]
                  if tuple(metrics) == ("target_alignment", "input_alignment", "ps", "ccgp") else list(metrics))
    ax.set_ylim(-1, 1.05)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel("value (mean ± sd over seeds)")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    fig.suptitle(f"δ = {s.deltas[i_delta]:g}, training noise σ² = {s.train_noise_var[i_noise]:g}", fontsize=10)
    return fig


# --------------------------------------------------------------------------- text


def _fmt(m: Measured) -> str:
    return f"{m.value:.3g}" + (f" ± {m.spread:.2g}" if m.spread is not None else "")


def findings_markdown(summary: DeltaSummary, larger: DeltaSummary | None = None) -> str:
    """The chapter's 'What we found' paragraphs, every number computed from ``summary``.

    Parameters
    ----------
    summary : DeltaSummary
        This run.
    larger : DeltaSummary, optional
        A committed larger run (full or medium preset), summarised after this one.

    Returns
    -------
    str
        Markdown.
    """
    not_higher = []

    def one(s: DeltaSummary) -> list[str]:
        m = measure_claims(s)
        ta, ra = s.act_index("tanh"), s.act_index("relu")
        TA = s.metric("target_alignment").mean(-1)
        IA = s.metric("input_alignment").mean(-1)
        PS = s.metric("ps").mean(-1)
        CC = s.metric("ccgp").mean(-1)
        i0 = _first_delta_index(s, 0.0)
        rows = transition_table(s)
        relu_td = next(r for r in rows if r["activation"] == "relu" and r["noise_var"] == 0)
        gap = IA[ra, 0] - IA[ta, 0]
        neg = [f"{d:g}" for d, g in zip(s.deltas, gap) if d > 0 and g <= 0]
        if neg:
            not_higher.append(s.preset)
        head = (f"*{s.preset} preset: {len(s.deltas)} δ × {len(s.train_noise_var)} noise levels × "
                f"{len(s.seeds)} seeds, {s.config.get('epochs', '?')} epochs.*")
        out = [
            head,
            f"- **δ = 0.** Target alignment tanh {TA[ta, 0, i0]:.2f} / ReLU {TA[ra, 0, i0]:.2f}, PS "
            f"{PS[ta, 0, i0]:.2f} / {PS[ra, 0, i0]:.2f}, CCGP {CC[ta, 0, i0]:.2f} / {CC[ra, 0, i0]:.2f} — low for both, "
            f"as the source says (for comparison, tanh reaches target alignment {TA[ta, 0, -1]:.2f} at δ = 1).",
            f"- **tanh switches early, ReLU gradually.** tanh's target alignment crosses halfway at δ = "
            f"{_fmt(m['tanh_transition_delta'])}; ReLU's at δ = {relu_td['mean']:.2f} ± {relu_td['sd']:.2f}. The "
            f"steepest rise is {_fmt(m['slope_tanh_minus_relu'])} per unit δ larger for tanh.",
            f"- **ReLU keeps the input structure.** ReLU input alignment stays ≥ {m['relu_input_alignment_min'].value:.2f} "
            f"at every δ, while tanh's falls to {IA[ta, 0].min():.2f}. "
            + (f"But ReLU's is *not* higher at every δ > 0: at δ = {', '.join(neg)} tanh's input alignment is "
               f"higher (smallest gap {_fmt(m['input_alignment_gap_min'])}), because there tanh has not switched yet "
               f"and its layer is still close to its nearly linear initial state."
               if neg else f"ReLU's is higher at every δ > 0 (smallest gap {_fmt(m['input_alignment_gap_min'])})."),
        ]
        if "tanh_noise_shift" in m:
            t_rows = [r for r in rows if r["activation"] == "tanh"]
            out.append(
                f"- **Training noise.** tanh's transition moves from δ = {t_rows[0]['mean']:.3f} (σ² = 0) to "
                + ", ".join(f"{r['mean']:.3f} (σ² = {r['noise_var']:g})" for r in t_rows[1:])
                + f" (shift {_fmt(m['tanh_noise_shift'])}); the mean change of target alignment with noise is "
                f"{_fmt(m['noise_sensitivity_tanh_minus_relu'])} larger for tanh than for ReLU. The direction "
                "matches the source; the shift is small at these noise levels."
            )
        if len(s.decode_sigmas) > 1:
            t_hi = len(s.decode_sigmas) - 1
            un = s.decoding[..., t_hi, 1:].mean(-1).mean(-1)  # (A, S, Dl)
            out.append(
                f"- **Decoding.** At σ_test = {s.sigma_test:g} almost every dichotomy decodes near 1; at σ_test = "
                f"{s.decode_sigmas[t_hi]:g} the untrained dichotomies fall from {un[ta, 0, 0]:.2f} to {un[ta, 0, -1]:.2f} "
                f"across δ for tanh but stay at {un[ra, 0].min():.2f}–{un[ra, 0].max():.2f} for ReLU."
            )
        return out

    lines = one(summary)
    if larger is not None:
        lines += ["", *one(larger)]
    why = (
        "**Where and why this differs from the source.** The source trains for up to 5000 epochs with early "
        "stopping; our runs stop much earlier (see the epochs above), so the geometry is measured before "
        "convergence. "
    )
    if not_higher:
        why += (
            f"In the {' and '.join(not_higher)} run(s), tanh networks right above δ = 0 have not switched yet and stay "
            "close to their initial state, where tanh is nearly linear and the layer mirrors the input — so "
            "'ReLU has the higher input alignment at every δ > 0' does not hold at the smallest δ. "
        )
    why += (
        "The source's noise axis is labelled σ²; we read its values as variances. Decoding at the source's "
        "σ_test = 1 saturates, so we also report a larger test noise."
    )
    lines += ["", why]
    return "\n".join(lines)


def transition_markdown(summary: DeltaSummary, metric: str = "target_alignment") -> str:
    """:func:`transition_table` as a Markdown table (mean ± sd over seeds)."""
    rows = transition_table(summary, metric)
    head = "| activation | σ² | σ_train | transition δ (mean ± sd) | seeds without a rise |\n|---|---|---|---|---|\n"
    return head + "\n".join(
        f"| {r['activation']} | {r['noise_var']:g} | {r['sigma_train']:.2f} | {r['mean']:.3f} ± {r['sd']:.3f} "
        f"| {r['n_undefined']} |"
        for r in rows
    )


def source_comparison_markdown(summary: DeltaSummary) -> str:
    """Table: each statement of the source next to this run's number (σ² = 0 unless stated)."""
    m = measure_claims(summary)
    ta, ra = summary.act_index("tanh"), summary.act_index("relu")
    TA = summary.metric("target_alignment").mean(-1)
    rows = [
        "| source (Alleman et al. 2024) | this run |",
        "|---|---|",
        f"| δ = 0: low target alignment, PS and CCGP for both (Fig. 2B) | target alignment ≤ "
        f"{_fmt(m['delta0_target_alignment'])}, PS ≤ {_fmt(m['delta0_ps'])}, CCGP ≤ {_fmt(m['delta0_ccgp'])} "
        "(larger of tanh/ReLU) |",
        f"| tanh: target-aligned above a small δ threshold | transition δ = {_fmt(m['tanh_transition_delta'])}; "
        f"target alignment at δ = 1: {TA[ta, 0, -1]:.2f} |",
        f"| ReLU: target alignment rises gradually | largest slope tanh − ReLU = {_fmt(m['slope_tanh_minus_relu'])} "
        f"per unit δ; ReLU target alignment {TA[ra, 0, 0]:.2f} → {TA[ra, 0, -1]:.2f} from δ = 0 to 1 |",
        f"| ReLU keeps input structure at every δ | ReLU input alignment ≥ {_fmt(m['relu_input_alignment_min'])}; "
        f"ReLU − tanh, smallest over δ > 0: {_fmt(m['input_alignment_gap_min'])} |",
    ]
    if "tanh_noise_shift" in m:
        rows += [
            f"| training noise moves tanh's transition to larger δ (Fig. 3) | shift at σ² = "
            f"{summary.train_noise_var[-1]:g}: {_fmt(m['tanh_noise_shift'])} |",
            f"| ReLU is impacted much less by training noise | mean change of target alignment, tanh − ReLU: "
            f"{_fmt(m['noise_sensitivity_tanh_minus_relu'])} |",
        ]
    return "\n".join(rows)


def claims_file_markdown(claims: Mapping[str, Any]) -> str:
    """A ``claims.json`` (as loaded by :func:`repgeom_lite.claims.load_claims`) as a Markdown table."""
    rows = ["| claim | measured | threshold | holds | documented |", "|---|---|---|---|---|"]
    for c in claims["claims"]:
        spread = f" ± {c['spread']:.2g}" if c.get("spread") is not None else ""
        rows.append(
            f"| {c['statement']} | {c['value']:.3g}{spread} | {c['op']} {c['threshold']:g} | "
            f"{'yes' if c['holds'] else 'no'} | {c['expected']} |"
        )
    return "\n".join(rows)


def load_larger_run(results_dir: str | Path, current_preset: str,
                    names: Sequence[str] = ("full", "medium")) -> tuple[DeltaSummary | None, dict | None]:
    """The first committed larger run found: ``<results_dir>/02_<name>/summary.json`` (+ ``claims.json``).

    Skips the preset being run now. Returns ``(None, None)`` when none exists (e.g. in
    Colab, where only the package is installed).
    """
    from ..claims import load_claims

    for name in names:
        if name == current_preset:
            continue
        f = Path(results_dir) / f"02_{name}" / "summary.json"
        if f.exists():
            c = f.with_name("claims.json")
            return DeltaSummary.from_json(f), (load_claims(c) if c.exists() else None)
    return None, None


def plot_noise_curves(summary: DeltaSummary, activation: str = "tanh", metric: str = "target_alignment", *,
                      ax=None):
    """One activation's metric against δ, a line per training-noise level (darker = noisier), mean ± sd over seeds."""
    import matplotlib.pyplot as plt

    ax = _ax(ax)
    a = summary.act_index(activation)
    S = len(summary.train_noise_var)
    cmap = plt.cm.Blues if activation == "tanh" else plt.cm.Reds
    for s, var in enumerate(summary.train_noise_var):
        error_band(summary.deltas, summary.metric(metric)[a, s].T, ax=ax, label=f"{activation}, σ² = {var:g}",
                   color=cmap(0.45 + 0.55 * s / max(1, S - 1)))
    ax.set_xlabel("separability δ")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.legend(fontsize=7, frameon=False)
    return ax
