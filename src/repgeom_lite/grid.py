"""Crossed hyperparameter grids, shards and resumable result stores.

A :class:`Grid` is the crossed product of factors (``NetConfig`` field ->
levels) on top of fixed settings. :func:`run_grid` trains it with
:func:`repgeom_lite.ensemble.train_ensemble` chunk by chunk and stores every
finished chunk as one ``.npz`` file written atomically, next to an
``index.json`` that describes the grid; :func:`load_grid` merges the chunks back
in grid order.

>>> grid = Grid({"activation": ["relu", "tanh"], "lr": [0.01, 0.1]},
...             fixed={"hidden": (16,), "epochs": 5})
>>> len(grid), grid.table()[1]
(4, {'activation': 'relu', 'lr': 0.1})

Store layout (``store_dir/``)::

    index.json          grid hash, factors, fixed settings, chunk plan, completed chunks
    chunk_00000.npz     one EnsembleResult per chunk (see ensemble.save_result), with the
    chunk_00001.npz     grid hash, its chunk number, the grid indices of its networks,
    ...                 a SHA-256 checksum of its arrays and the grid's description inside

Guarantees

* A chunk file exists only once its chunk is complete (temporary file + rename),
  so an interrupted run loses at most the chunk in flight; rerunning the same
  call skips finished chunks.
* Every file carries the grid's hash (configs, chunk size, dtype, records and a
  digest of the data): rerunning with a changed grid or data in the same folder
  raises ``ValueError`` instead of mixing results.
* Chunks are a fixed partition of the grid (networks sorted by their training
  group so each chunk trains as few stacked groups as possible); shard ``i/n``
  owns chunks ``k`` with ``k % n == i``. Shards therefore never write the same
  file and may run at the same time, on different machines sharing the folder.
  ``index.json`` is rewritten atomically by each of them; its ``completed`` list is
  informative, the chunk files are the truth.
* Every chunk is verified when it is read (:func:`run_grid`, :func:`grid_status`,
  :func:`load_grid`): readable, checksum of its arrays, grid hash, chunk number and
  network ids as planned. A corrupted, truncated or misplaced file (say
  ``chunk_00000.npz`` copied over ``chunk_00001.npz``) is reported by name and
  counts as not finished, so the next :func:`run_grid` recomputes it; :func:`load_grid`
  refuses it instead of returning wrong networks.
* A missing or unreadable ``index.json`` is rebuilt from the chunk files, which
  carry the grid's description (:func:`rebuild_index`).
* Files are created with mode 0644 (readable by the group, as ``claims.json``), so a
  store on a shared folder works across machines and users.

Beyond one GPU
--------------
Shards are independent jobs: use the scheduler you have; there is no scheduler
here. Chapter 3 runs its grid in shards from the command line,
``repgeom run 03 --preset full -p shard=i/n --output DIR`` (training only, into
``DIR/grid_store``; ``book/how_to_run.md`` has a SLURM job array and a plain
multi-GPU loop), and a final run without ``shard`` merges. Your own script does
the same with::

    run_grid(grid, data, records, store_dir=args.store, shard=args.shard)

with ``--shard i/n`` parsed by :func:`parse_shard`, for example as a SLURM job array::

    #!/bin/bash
    #SBATCH --array=0-7                 # 8 shards
    #SBATCH --gres=gpu:1
    python my_grid.py --shard ${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT} --store results/grid
    # afterwards: python -m repgeom_lite.grid status results/grid

A failed or preempted shard is simply resubmitted with the same arguments.
Then ``load_grid("results/grid")`` returns all networks in grid order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .io import to_plain, write_json
from .ensemble import (
    EnsembleResult,
    Records,
    TrainData,
    concat_results,
    group_key,
    save_result,
    train_ensemble,
)
from .models import NETCONFIG_FIELDS, NetConfig

__all__ = [
    "Grid",
    "network_seed",
    "rdm_transform",
    "stored_rdms",
    "GridRun",
    "parse_shard",
    "run_grid",
    "load_grid",
    "grid_status",
    "rebuild_index",
    "write_store_file",
    "read_store_file",
]

_FORMAT = "repgeom_lite.grid/1"
_INDEX = "index.json"


def parse_shard(text: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """Parse ``"i/n"`` (0-based shard ``i`` of ``n``) into ``(i, n)``; ``None`` stays ``None``.

    Raises
    ------
    ValueError
        Anything but ``"i/n"`` with integers ``0 <= i < n``.
    """
    if text is None:
        return None
    if isinstance(text, tuple):
        i, n = text
    else:
        parts = str(text).strip().split("/")
        try:
            if len(parts) != 2:
                raise ValueError
            i, n = int(parts[0]), int(parts[1])
        except ValueError:
            raise ValueError(
                f"shard must look like 'i/n' with integers 0 <= i < n (e.g. '0/4'); got {text!r}"
            ) from None
    if not (isinstance(i, int) and isinstance(n, int) and n >= 1 and 0 <= i < n):
        raise ValueError(f"shard must look like 'i/n' with integers 0 <= i < n (e.g. '0/4'); got {text!r}")
    return i, n


def network_seed(base: int, index: int) -> int:
    """Initialisation seed of grid network ``index`` (decorrelated across indices and bases).

    ``SeedSequence([base, index])`` hashes both numbers, so seeds of neighbouring
    networks (and of the same network under another ``base``) are unrelated.

    Returns
    -------
    int
        In ``[0, 2**63)`` (a valid :class:`~repgeom_lite.models.NetConfig` seed).
    """
    if not (isinstance(base, (int, np.integer)) and isinstance(index, (int, np.integer))):
        raise ValueError(f"base and index must be integers; got {base!r}, {index!r}")
    if base < 0 or index < 0:
        raise ValueError(f"base and index must be >= 0; got {base}, {index}")
    state = np.random.SeedSequence([int(base), int(index)]).generate_state(1, dtype=np.uint64)[0]
    return int(state >> np.uint64(1))


def rdm_transform(R: torch.Tensor) -> torch.Tensor:
    """Hidden responses to RDM upper triangles on their device (a ``Records.probe_transform``).

    ``R: (E, P, H) -> (E, P (P - 1) / 2)`` float32: ``1 − Pearson r`` between the
    stimuli's patterns across units, the values and conventions of
    :func:`repgeom_lite.metrics.rdm` (a constant pattern has dissimilarity 1 to every
    other one), in the row-major order of :func:`repgeom_lite.metrics.rdm_upper`.
    Each network (first axis) is treated independently. Storing the RDM instead of
    the responses keeps a grid store small (4950 numbers per network for 100 stimuli).
    """
    # metrics.rdm's own centring and upper-triangle helpers; not rdm() itself, which returns
    # NumPy (this stays on the training device) and rejects the NaN responses of a diverged network
    from .metrics.rsa import _unit_centred, _upper

    Z = _unit_centred(R.to(torch.float64))
    return _upper(1.0 - (Z @ Z.transpose(-1, -2)).clamp(-1.0, 1.0)).to(torch.float32)


def stored_rdms(result: EnsembleResult, index: Sequence[int] | np.ndarray | None = None,
                layer: int = 0, epoch: int = -1) -> np.ndarray:
    """Square RDMs ``(m, P, P)`` float64 from probe records made with :func:`rdm_transform`.

    Parameters
    ----------
    result : EnsembleResult
        Trained with ``Records(probe=..., probe_transform=rdm_transform)``.
    index : int array, optional
        Which networks (default all), in that order.
    layer, epoch : int
        Hidden layer and probe-epoch position (default: the last recorded epoch).

    Raises
    ------
    ValueError
        No probe records, or records that are not RDM upper triangles.
    """
    if result.probe is None:
        raise ValueError("result has no probe records; train with Records(probe=..., probe_transform=rdm_transform)")
    index = range(len(result)) if index is None else [int(i) for i in np.asarray(index).ravel()]
    def upper(p):  # per network: (epochs, L, d), or a list of per-layer (epochs, d) arrays
        return np.asarray(p[layer])[epoch] if isinstance(p, list) else np.asarray(p)[epoch, layer]

    U = np.stack([upper(result.probe[i]) for i in index]).astype(np.float64)
    if U.ndim != 2:
        raise ValueError(f"probe records are not RDM upper triangles (shape {U.shape[1:]} per network)")
    P = int(round((1 + (1 + 8 * U.shape[1]) ** 0.5) / 2))
    if P < 2 or P * (P - 1) // 2 != U.shape[1]:
        raise ValueError(f"probe records have {U.shape[1]} entries, not P (P - 1) / 2: not RDM upper triangles")
    out = np.zeros((U.shape[0], P, P))
    i, j = np.triu_indices(P, 1)
    out[:, i, j] = U
    out[:, j, i] = U
    return out


class Grid:
    """Crossed product of factors over fixed ``NetConfig`` settings.

    Parameters
    ----------
    factors : dict
        ``{name: [level, ...]}``, crossed in insertion order (the last factor
        varies fastest). A name is a ``NetConfig`` field, or ``"hidden_size"``
        (level ``h`` -> ``hidden=(h,)``), or any label whose levels are all dicts
        of ``NetConfig`` fields (a composite level, e.g.
        ``{"activation": "clipped_relu", "act_param": 1.5}``).
    fixed : dict, optional
        ``NetConfig`` fields shared by every grid point.
    seed : int, optional
        Give grid point ``i`` its own initialisation seed ``network_seed(seed, i)``
        (default: every point has ``fixed["seed"]``, or NetConfig's default).
        ``data_seed`` (the minibatch order) is not touched: set it in ``fixed`` to
        let all networks share one data order.
    base_lr : dict, optional
        ``{optimizer: rate}``: the ``lr`` levels (factor or fixed) are then multipliers
        and the trained rate is ``base_lr[optimizer] * lr`` -- Adam and SGD need rates
        orders of magnitude apart, so one list of rates cannot serve both.

    Raises
    ------
    ValueError
        Unknown field names, empty or duplicated levels, a field set twice, or
        a grid point that is not a valid ``NetConfig`` (named, with the error).
    """

    def __init__(self, factors: dict[str, Sequence], fixed: dict | None = None, *, seed: int | None = None,
                 base_lr: dict | None = None):
        if not isinstance(factors, dict) or not factors:
            raise ValueError("factors must be a non-empty dict {field: [levels]}")
        fixed = dict(fixed or {})
        valid = ", ".join((*NETCONFIG_FIELDS, "hidden_size"))
        bad = [k for k in fixed if k not in NETCONFIG_FIELDS and k != "hidden_size"]
        if bad:
            raise ValueError(f"fixed has unknown NetConfig field(s) {bad}; valid: {valid}")
        self.factors: dict[str, list] = {}
        owner: dict[str, str] = {}
        for name, levels in factors.items():
            if isinstance(levels, (str, bytes)) or not isinstance(levels, Sequence):
                raise ValueError(f"factor {name!r}: levels must be a list; got {levels!r}")
            levels = list(levels)
            if not levels:
                raise ValueError(f"factor {name!r} has no levels")
            if all(isinstance(v, dict) for v in levels):
                fields_here = set().union(*(v.keys() for v in levels))
                unknown = sorted(f for f in fields_here if f not in NETCONFIG_FIELDS and f != "hidden_size")
                if unknown:
                    raise ValueError(f"factor {name!r}: unknown NetConfig field(s) {unknown}; valid: {valid}")
            else:
                if name not in NETCONFIG_FIELDS and name != "hidden_size":
                    raise ValueError(
                        f"unknown factor {name!r}: a factor must be a NetConfig field or 'hidden_size' "
                        f"(or have dict levels); valid: {valid}"
                    )
                fields_here = {name}
            keys = [json.dumps(to_plain(v), sort_keys=True) for v in levels]
            if len(set(keys)) != len(keys):
                raise ValueError(f"factor {name!r} has duplicated levels: {levels}")
            for f in fields_here:
                f_norm = "hidden" if f == "hidden_size" else f
                if f_norm in owner:
                    raise ValueError(f"field {f_norm!r} is set by both factor {owner[f_norm]!r} and {name!r}")
                owner[f_norm] = name
            self.factors[name] = levels
        fixed_norm = {"hidden" if k == "hidden_size" else k for k in fixed}
        both = sorted(fixed_norm & set(owner))
        if both:
            raise ValueError(f"field(s) {both} are both factors and fixed; keep one")
        self.fixed = fixed
        if seed is not None:
            if "seed" in fixed or "seed" in owner:
                raise ValueError("with seed=... the grid sets every point's seed; do not also set 'seed'")
            network_seed(seed, 0)  # validates
        self.seed = None if seed is None else int(seed)
        if base_lr is not None:
            if not isinstance(base_lr, dict) or not base_lr:
                raise ValueError(f"base_lr must be a dict {{optimizer: rate}}; got {base_lr!r}")
            for name, value in base_lr.items():
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < float("inf")):
                    raise ValueError(f"base_lr[{name!r}] must be a finite number > 0; got {value!r}")
            optimizers = factors.get("optimizer", [fixed.get("optimizer", "sgd")])
            missing = sorted(set(map(str, optimizers)) - set(base_lr))
            if missing:
                raise ValueError(f"base_lr has no rate for optimizer(s) {missing}; give e.g. {{'sgd': 0.1}}")
        self.base_lr = None if base_lr is None else {k: float(v) for k, v in base_lr.items()}
        self._table = [dict(zip(self.factors, combo)) for combo in itertools.product(*self.factors.values())]
        self._configs = [self._make(i, row) for i, row in enumerate(self._table)]

    def _make(self, i: int, row: dict) -> NetConfig:
        kw: dict[str, Any] = {}
        for src in (self.fixed, *[v if isinstance(v, dict) else {k: v} for k, v in row.items()]):
            for k, v in src.items():
                if k == "hidden_size":
                    kw["hidden"] = (v,)
                else:
                    kw[k] = v
        try:
            config = NetConfig(**kw)
            if self.base_lr is not None:
                config = config.replace(lr=self.base_lr[config.optimizer] * config.lr)
            if self.seed is not None:
                config = config.replace(seed=network_seed(self.seed, i))
            return config
        except ValueError as err:
            raise ValueError(f"grid point {i} ({row}): {err}") from None

    def __len__(self) -> int:
        return len(self._configs)

    def __repr__(self) -> str:
        sizes = " x ".join(f"{k}[{len(v)}]" for k, v in self.factors.items())
        return f"Grid({len(self)} configs = {sizes}, fixed={self.fixed})"

    def configs(self) -> list[NetConfig]:
        """All configs in grid order."""
        return list(self._configs)

    def table(self) -> list[dict]:
        """Per config, ``{factor: level}`` in grid order."""
        return [dict(r) for r in self._table]

    def levels(self, factor: str) -> np.ndarray:
        """Index of each config's level of ``factor`` -> ``(len(grid),)`` int (for colouring/grouping)."""
        if factor not in self.factors:
            raise ValueError(f"unknown factor {factor!r}; valid: {', '.join(self.factors)}")
        keys = [json.dumps(to_plain(v), sort_keys=True) for v in self.factors[factor]]
        pos = {k: j for j, k in enumerate(keys)}
        return np.array([pos[json.dumps(to_plain(r[factor]), sort_keys=True)] for r in self._table])

    def chunks(self, chunk_size: int) -> list[list[int]]:
        """Fixed partition of the grid indices into chunks of at most ``chunk_size``.

        Indices are ordered by training group (so each chunk stacks well), then
        by grid index; the partition depends only on the grid and ``chunk_size``.
        """
        if not (isinstance(chunk_size, int) and chunk_size >= 1):
            raise ValueError(f"chunk_size must be an integer >= 1; got {chunk_size!r}")
        keys = [repr(group_key(c)) for c in self._configs]
        uniq = {k: j for j, k in enumerate(dict.fromkeys(keys))}
        order = sorted(range(len(self)), key=lambda i: (uniq[keys[i]], i))
        return [order[k : k + chunk_size] for k in range(0, len(order), chunk_size)]

    def shard(self, i: int, n: int, chunk_size: int = 1) -> list[int]:
        """Grid indices owned by shard ``i`` of ``n``: chunks ``k`` with ``k % n == i``.

        With ``chunk_size=1`` this is the strided partition ``i, i + n, ...`` of the
        grouped order; :func:`run_grid` uses its own ``chunk_size``.
        """
        i, n = parse_shard((i, n))
        return sorted(idx for k, ch in enumerate(self.chunks(chunk_size)) if k % n == i for idx in ch)

    def to_dict(self) -> dict:
        out = {"factors": to_plain(self.factors), "fixed": to_plain(self.fixed)}
        if self.seed is not None:
            out["seed_rule"] = f"network_seed({self.seed}, grid index)"
        if self.base_lr is not None:
            out["lr_rule"] = "trained lr = base_lr[optimizer] * lr level"
            out["base_lr"] = dict(self.base_lr)
        return out

    def with_seed(self, seed: int) -> "Grid":
        """The same grid with per-point seeds ``network_seed(seed, i)`` (a replicate: the seed floor)."""
        return Grid(self.factors, self.fixed, seed=seed, base_lr=self.base_lr)


@dataclass(frozen=True)
class GridRun:
    """What one :func:`run_grid` call did.

    Attributes
    ----------
    store_dir : str
    grid_hash : str
    n_chunks : int
        Chunks in the whole grid.
    shard_chunks : list of int
        Chunks owned by this shard.
    trained, skipped : list of int
        Chunks trained now / found finished.
    complete : bool
        Whether every chunk of the grid is finished now.
    wall_time_s : float
    """

    store_dir: str
    grid_hash: str
    n_chunks: int
    shard_chunks: list
    trained: list
    skipped: list
    complete: bool
    wall_time_s: float


def _digest_tensor(h, t) -> None:
    if t is None:
        h.update(b"none")
        return
    arr = np.ascontiguousarray(t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t))
    h.update(str(arr.dtype).encode() + str(arr.shape).encode())
    h.update(arr.tobytes())


def _grid_hash(grid: Grid, data: TrainData, records: Records, chunk_size: int, dtype) -> str:
    h = hashlib.sha256()
    spec = {
        "format": _FORMAT,
        "configs": [c.to_dict() for c in grid.configs()],
        "chunk_size": chunk_size,
        "dtype": str(dtype),
        "records": {
            "probe_epochs": list(records.probe_epochs),
            "weight_epochs": list(records.weight_epochs),
            "cumulative_grads": records.cumulative_grads,
            "history": records.history,
            "probe_transform": None if records.probe_transform is None else getattr(
                records.probe_transform, "__qualname__", repr(records.probe_transform)),
        },
    }
    h.update(json.dumps(spec, sort_keys=True).encode())
    for t in (data.X, data.Y, data.X_test, data.Y_test, records.probe):
        _digest_tensor(h, t)
    h.update(str(data.n_classes).encode())
    if getattr(data, "heads", None) is not None:
        h.update(f"heads{list(data.heads)}".encode())
    return h.hexdigest()[:32]


def _chunk_file(k: int) -> str:
    return f"chunk_{k:05d}.npz"


class _Arrays(dict):
    """The arrays of an ``.npz`` file as ``ensemble._result_from_arrays`` reads them."""

    @property
    def files(self) -> list[str]:
        return list(self.keys())


def _arrays_digest(arrays) -> str:
    """SHA-256 over every array but ``__meta__``: name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        if name == "__meta__":
            continue
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def write_store_file(result: EnsembleResult, path: str | os.PathLike, extra_meta: dict | None = None) -> Path:
    """Save ``result`` like :func:`~repgeom_lite.ensemble.save_result`, with a checksum, mode 0644, atomically.

    The file appears under its name only once complete (temporary file + rename) and
    is readable by the group (``save_result`` alone leaves mkstemp's 0600). Its
    metadata holds ``extra_meta`` plus ``"checksum"``, the SHA-256 of its arrays,
    which :func:`read_store_file` verifies.
    """
    from .ensemble import _result_to_arrays

    path = Path(path)
    arrays, _ = _result_to_arrays(result)
    meta = {**(extra_meta or {}), "checksum": _arrays_digest(arrays)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        save_result(result, tmp, extra_meta=meta)
        os.chmod(tmp, 0o644)  # mkstemp (inside save_result) creates 0600; stores are shared
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return path


def _read_verified(path: Path, expect: dict | None = None, want_result: bool = True):
    """``(result or None, extra_meta)`` of a store file after checking it; ``ValueError`` naming the file."""
    try:
        with np.load(path, allow_pickle=False) as src:
            loaded = _Arrays({k: src[k] for k in src.files})
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except Exception as err:  # BadZipFile, truncated zip member, zlib/CRC errors, not an npz
        raise ValueError(f"{path} is unreadable ({type(err).__name__}: {err})") from None
    if "__meta__" not in loaded:
        raise ValueError(f"{path} is not a repgeom_lite result file (no metadata)")
    try:
        meta = json.loads(loaded["__meta__"].tobytes().decode("utf-8"))
        extra = dict(meta.get("extra", {}))
    except (ValueError, AttributeError, TypeError) as err:
        raise ValueError(f"{path} has unreadable metadata ({err})") from None
    if "checksum" not in extra:
        raise ValueError(f"{path} has no checksum (written by an older version of repgeom_lite)")
    if _arrays_digest(loaded) != extra["checksum"]:
        raise ValueError(f"{path} fails its checksum: the file is corrupted")
    for key, value in (expect or {}).items():
        if extra.get(key) != value:
            shown = extra.get(key)
            if isinstance(shown, list) and len(shown) > 8:
                shown = f"[{', '.join(map(str, shown[:8]))}, ...]"
            elif isinstance(shown, str) and len(shown) > 40:
                shown = shown[:37] + "..."
            raise ValueError(f"{path} holds {key} {shown!r}, not this store's (a misplaced or foreign file)")
    if not want_result:
        return None, extra
    from .ensemble import _result_from_arrays

    result = _result_from_arrays(loaded, meta)
    if "indices" in extra and result._ids().tolist() != list(extra["indices"]):
        raise ValueError(f"{path}: its networks' ids differ from its recorded grid indices")
    return result, extra


def read_store_file(path: str | os.PathLike, expect: dict | None = None) -> tuple[EnsembleResult, dict]:
    """Read a file written by :func:`write_store_file`, verified: ``(result, extra_meta)``.

    Parameters
    ----------
    path : path
    expect : dict, optional
        Metadata the file must hold (e.g. ``{"grid_hash": ..., "chunk": 3}``).

    Raises
    ------
    ValueError
        Naming the file: unreadable (corrupted or truncated), no checksum, checksum
        mismatch, metadata other than ``expect`` (misplaced), or ids that disagree.
    """
    return _read_verified(Path(path), expect)


def _chunk_expect(grid_hash: str, k: int, indices: Sequence[int]) -> dict:
    return {"grid_hash": grid_hash, "chunk": k, "indices": [int(i) for i in indices]}


def _scan_chunks(store: Path, grid_hash: str, plan: list, only=None) -> tuple[list[int], dict[int, str]]:
    """Verified finished chunks (of ``only``, default all), and ``{k: reason}`` for files present but bad."""
    done, bad = [], {}
    for k, idx in enumerate(plan):
        if only is not None and k not in only:
            continue
        p = store / _chunk_file(k)
        if not p.exists():
            continue
        try:
            _read_verified(p, _chunk_expect(grid_hash, k, idx), want_result=False)
        except ValueError as err:
            bad[k] = str(err)
            continue
        done.append(k)
    return done, bad


def _warn_bad(bad: dict[int, str], what: str) -> None:
    if bad:
        warnings.warn(
            f"{len(bad)} bad chunk file(s) {what}: " + "; ".join(bad.values()), RuntimeWarning, stacklevel=3
        )


def _index_doc(grid_hash: str, n_configs: int, chunk_size: int, dtype: str, grid_dict: dict, table: list,
               plan: list, done: list) -> dict:
    return {
        "format": _FORMAT,
        "grid_hash": grid_hash,
        "n_configs": n_configs,
        "chunk_size": chunk_size,
        "dtype": dtype,
        **grid_dict,
        "table": table,
        "chunks": [{"id": k, "file": _chunk_file(k), "indices": ch} for k, ch in enumerate(plan)],
        "completed": done,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _write_index(store: Path, grid: Grid, grid_hash: str, chunk_size: int, chunks: list, dtype,
                 done: list) -> None:
    index = _index_doc(grid_hash, len(grid), chunk_size, str(dtype), grid.to_dict(),
                       to_plain(grid.table()), chunks, sorted(done))
    write_json(index, store / _INDEX)


def _load_index(store: Path) -> dict | None:
    """The parsed ``index.json``, or None when it is missing, truncated or malformed."""
    try:
        with open(store / _INDEX, encoding="utf-8") as fh:
            index = json.load(fh)
    except (OSError, ValueError):
        return None
    required = ("grid_hash", "n_configs", "chunks")
    if not isinstance(index, dict) or any(k not in index for k in required):
        return None
    return index


def rebuild_index(store_dir: str | os.PathLike) -> dict:
    """Rewrite ``index.json`` from the chunk files (each carries the grid's description).

    Returns the new index. Chunk files that fail verification are ignored (and
    reported in a warning); the rebuilt ``completed`` list holds the good ones.

    Raises
    ------
    ValueError
        No readable chunk file, or chunk files of different grids in one folder.
    """
    store = Path(store_dir)
    metas, bad = [], {}
    for p in sorted(store.glob("chunk_*.npz")):
        try:
            _, extra = _read_verified(p, want_result=False)
        except ValueError as err:
            bad[p.name] = str(err)
            continue
        if "plan" not in extra or "grid" not in extra:
            bad[p.name] = f"{p} has no grid description (written by an older version of repgeom_lite)"
            continue
        metas.append((p, extra))
    _warn_bad(bad, f"in {str(store)!r} ignored while rebuilding {_INDEX}")
    if not metas:
        raise ValueError(
            f"{str(store)!r} has no usable {_INDEX} and no readable chunk file to rebuild it from; "
            "is it a run_grid store_dir? (delete the folder to start again)"
        )
    hashes = sorted({extra["grid_hash"] for _, extra in metas})
    if len(hashes) > 1:
        raise ValueError(f"{str(store)!r} holds chunk files of {len(hashes)} different grids ({', '.join(hashes)}); "
                         "keep one grid per folder")
    first = metas[0][1]
    plan = first["plan"]
    done = [int(extra["chunk"]) for p, extra in metas
            if p.name == _chunk_file(int(extra["chunk"])) and extra.get("indices") == plan[int(extra["chunk"])]]
    factors = first["grid"]["factors"]
    table = [dict(zip(factors, combo)) for combo in itertools.product(*factors.values())]
    index = _index_doc(first["grid_hash"], first["n_configs"], first["chunk_size"], first["dtype"],
                       first["grid"], table, plan, sorted(done))
    write_json(index, store / _INDEX)
    return index


def _read_index(store: Path) -> dict:
    """``index.json``, rebuilt from the chunk files (with a warning) when it is unreadable."""
    if not (store / _INDEX).exists() and not any(store.glob("chunk_*.npz")):
        raise ValueError(f"{str(store)!r} has no {_INDEX}; is it a run_grid store_dir?")
    index = _load_index(store)
    if index is None:
        index = rebuild_index(store)
        warnings.warn(f"{store / _INDEX} was missing or unreadable; rebuilt it from the chunk files",
                      RuntimeWarning, stacklevel=3)
    return index


def run_grid(
    grid: Grid,
    data: TrainData,
    records: Records | None = None,
    store_dir: str | os.PathLike = "grid_results",
    shard: str | tuple[int, int] | None = None,
    chunk_size: int = 512,
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.float32,
    max_chunk: int | None = None,
    progress: bool = True,
) -> GridRun:
    """Train the grid (or one shard of it) chunk by chunk into ``store_dir``, skipping finished chunks.

    Parameters
    ----------
    grid : Grid
    data : TrainData
    records : Records, optional
    store_dir : path
        Folder of ``index.json`` and the chunk files (created if needed).
    shard : ``"i/n"`` or ``(i, n)``, optional
        Train only chunks ``k`` with ``k % n == i``.
    chunk_size : int
        Networks per stored chunk (the unit of loss on interruption). On one GPU
        a larger chunk trains faster (fewer, larger stacked groups).
    device, dtype, max_chunk, progress
        Passed to :func:`~repgeom_lite.ensemble.train_ensemble`.

    Returns
    -------
    GridRun

    Raises
    ------
    ValueError
        Bad shard/chunk size, or ``store_dir`` holding a different grid.
    """
    t0 = time.perf_counter()
    if not isinstance(grid, Grid):
        raise ValueError(f"grid must be a Grid; got {type(grid).__name__}")
    records = Records() if records is None else records
    sh = parse_shard(shard)
    chunks = grid.chunks(chunk_size)
    configs = grid.configs()
    # validate every config against the data before any training
    from .ensemble import _check_against_data

    _check_against_data(configs, data)
    ghash = _grid_hash(grid, data, records, chunk_size, dtype)
    store = Path(store_dir)
    store.mkdir(parents=True, exist_ok=True)
    old = _load_index(store)
    if old is not None:
        old_hash = old.get("grid_hash")
    elif (store / _INDEX).exists() or any(store.glob("chunk_*.npz")):
        # index.json unreadable (e.g. truncated): the chunk files say which grid this store holds
        others = sorted(_chunk_hashes(store) - {ghash})
        old_hash = others[0] if others else ghash
        if not others:
                warnings.warn(f"{store / _INDEX} was missing or unreadable; rebuilding it from the chunk files",
                          RuntimeWarning, stacklevel=2)
    else:
        old_hash = ghash
    if old_hash != ghash:
        raise ValueError(
            f"store_dir {str(store)!r} holds results of a different grid or data "
            f"(hash {old_hash} != {ghash}); use a new folder or delete the old one"
        )
    mine = [k for k in range(len(chunks)) if sh is None or k % sh[1] == sh[0]]
    found, bad = _scan_chunks(store, ghash, chunks)
    _warn_bad({k: r for k, r in bad.items() if k in mine}, "will be recomputed")
    _warn_bad({k: r for k, r in bad.items() if k not in mine}, "belong to other shards (rerun those)")
    done = set(found)
    _write_index(store, grid, ghash, chunk_size, chunks, dtype, done)
    trained, skipped = [], []
    from tqdm.auto import tqdm

    todo = [k for k in mine if k not in done]
    skipped = [k for k in mine if k in done]
    meta = {"n_configs": len(grid), "chunk_size": chunk_size, "dtype": str(dtype), "grid": grid.to_dict(),
            "plan": [list(map(int, ch)) for ch in chunks]}
    bar = tqdm(total=len(todo), desc="grid chunks", disable=not progress)
    try:
        for k in todo:
            idx = chunks[k]
            result = train_ensemble([configs[i] for i in idx], data, records, device=device, dtype=dtype,
                                    max_chunk=max_chunk, progress=progress)
            result = dataclasses.replace(result, ids=np.asarray(idx))
            write_store_file(result, store / _chunk_file(k), extra_meta={**_chunk_expect(ghash, k, idx), **meta})
            trained.append(k)
            done.add(k)
            _write_index(store, grid, ghash, chunk_size, chunks, dtype, done)
            bar.update(1)
    finally:
        bar.close()
    missing = set(range(len(chunks))) - done
    if missing:  # other shards may have finished theirs meanwhile
        done |= set(_scan_chunks(store, ghash, chunks, only=missing)[0])
    complete = len(done) == len(chunks)
    return GridRun(str(store), ghash, len(chunks), mine, trained, skipped, complete,
                   time.perf_counter() - t0)


def _chunk_hashes(store: Path) -> set[str]:
    """Grid hashes of the readable chunk files in ``store``."""
    hashes = set()
    for p in store.glob("chunk_*.npz"):
        try:
            hashes.add(_read_verified(p, want_result=False)[1].get("grid_hash"))
        except ValueError:
            continue
    return hashes


def _status(store: Path) -> tuple[dict, dict[int, str]]:
    index = _read_index(store)
    plan = [c["indices"] for c in index["chunks"]]
    done, bad = _scan_chunks(store, index["grid_hash"], plan)
    status = {
        "n_configs": index["n_configs"],
        "grid_hash": index["grid_hash"],
        "n_chunks": len(plan),
        "completed": done,
        "missing": [k for k in range(len(plan)) if k not in set(done)],
        "bad": {_chunk_file(k): reason for k, reason in bad.items()},
    }
    return status, index


def grid_status(store_dir: str | os.PathLike) -> dict:
    """``{"n_chunks", "completed", "missing", "bad", "n_configs", "grid_hash"}`` of a store (from its files).

    Every chunk file is verified (readable, checksum, grid hash, chunk number, ids);
    one that fails is ``missing`` and listed in ``bad`` (``{file name: reason}``).
    An unreadable ``index.json`` is rebuilt from the chunk files (with a warning).

    Raises
    ------
    ValueError
        No store there (neither an index nor a readable chunk file).
    """
    return _status(Path(store_dir))[0]


def load_grid(store_dir: str | os.PathLike, allow_partial: bool = False) -> EnsembleResult:
    """Merge the stored chunks into one result in grid order (``result.ids`` = grid indices).

    Parameters
    ----------
    store_dir : path
    allow_partial : bool
        Return the finished networks only (``ids`` says which) instead of raising.

    Raises
    ------
    ValueError
        No store there; a bad chunk file (corrupted, truncated, misplaced: named, with
        the reason) or missing chunks (listed) when ``allow_partial`` is False.
    """
    store = Path(store_dir)
    index = _read_index(store)
    plan = [c["indices"] for c in index["chunks"]]
    parts, missing, bad = [], [], {}
    for k, idx in enumerate(plan):
        path = store / _chunk_file(k)
        if not path.exists():
            missing.append(k)
            continue
        try:
            parts.append(_read_verified(path, _chunk_expect(index["grid_hash"], k, idx))[0])
        except ValueError as err:
            bad[k] = str(err)
    if bad and not allow_partial:
        raise ValueError(
            f"grid in {str(store)!r} has {len(bad)} bad chunk file(s): " + "; ".join(bad.values())
            + ". Rerun run_grid with the same arguments to recompute them"
        )
    _warn_bad(bad, "skipped (allow_partial=True)")
    missing = sorted(missing + list(bad))
    if missing and not allow_partial:
        raise ValueError(
            f"grid in {str(store)!r} is incomplete: chunks {missing} of {len(plan)} "
            "are missing; run the remaining shards (or pass allow_partial=True)"
        )
    if not parts:
        raise ValueError(f"grid in {str(store)!r} has no finished chunk yet")
    merged = concat_results(parts)
    order = np.argsort(merged.ids, kind="stable")
    return merged.subset(order)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m repgeom_lite.grid status STORE_DIR``: print a store's progress."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m repgeom_lite.grid", description=main.__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("status", help="show finished and missing chunks of a store")
    st.add_argument("store_dir")
    args = ap.parse_args(argv)
    try:
        s = grid_status(args.store_dir)
    except ValueError as err:
        print(f"error: {err}")
        return 2
    print(f"{args.store_dir}: {len(s['completed'])}/{s['n_chunks']} chunks finished "
          f"({s['n_configs']} configs, grid {s['grid_hash']})")
    if s["missing"]:
        print(f"missing chunks: {s['missing']}")
    for reason in s["bad"].values():
        print(f"bad chunk file (recomputed by the next run): {reason}")
    return 0 if not s["missing"] else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
