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
    chunk_00001.npz     grid hash and the grid indices of its networks inside
    ...

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

Beyond one GPU
--------------
Shards are independent jobs: use the scheduler you have; there is no scheduler
here. A script ``run_grid03.py`` that builds the grid and data and calls::

    run_grid(grid, data, records, store_dir=args.store, shard=args.shard)

with ``--shard i/n`` parsed by :func:`parse_shard`, runs as a SLURM job array::

    #!/bin/bash
    #SBATCH --job-name=grid03
    #SBATCH --array=0-7                 # 8 shards
    #SBATCH --gres=gpu:1
    #SBATCH --time=00:30:00
    python run_grid03.py --shard ${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT} \\
                         --store results/grid03
    # afterwards (or in a job with --dependency=afterok:<array id>):
    #   python -c "import repgeom_lite.grid as g; print(g.grid_status('results/grid03'))"

or as a plain loop over the GPUs of one machine::

    for i in 0 1 2 3; do
        CUDA_VISIBLE_DEVICES=$i python run_grid03.py --shard $i/4 --store results/grid03 &
    done
    wait
    python -m repgeom_lite.grid status results/grid03

A failed or preempted shard is simply resubmitted with the same arguments.
Then ``load_grid("results/grid03")`` returns all networks in grid order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .claims import write_json_atomic
from .ensemble import (
    EnsembleResult,
    Records,
    TrainData,
    concat_results,
    group_key,
    load_result,
    save_result,
    train_ensemble,
)
from .models import NETCONFIG_FIELDS, NetConfig

__all__ = [
    "Grid",
    "GridRun",
    "parse_shard",
    "run_grid",
    "load_grid",
    "grid_status",
]

_FORMAT = "repgeom_lite.grid/1"
_INDEX = "index.json"


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


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

    Raises
    ------
    ValueError
        Unknown field names, empty or duplicated levels, a field set twice, or
        a grid point that is not a valid ``NetConfig`` (named, with the error).
    """

    def __init__(self, factors: dict[str, Sequence], fixed: dict | None = None):
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
            keys = [json.dumps(_jsonable(v), sort_keys=True) for v in levels]
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
            return NetConfig(**kw)
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
        keys = [json.dumps(_jsonable(v), sort_keys=True) for v in self.factors[factor]]
        pos = {k: j for j, k in enumerate(keys)}
        return np.array([pos[json.dumps(_jsonable(r[factor]), sort_keys=True)] for r in self._table])

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
        return {"factors": _jsonable(self.factors), "fixed": _jsonable(self.fixed)}


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
    return h.hexdigest()[:32]


def _chunk_file(k: int) -> str:
    return f"chunk_{k:05d}.npz"


def _read_chunk_meta(path: Path) -> dict | None:
    """The ``extra`` metadata of a finished chunk file, or None if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as src:
            meta = json.loads(src["__meta__"].tobytes().decode("utf-8"))
        return meta.get("extra", {})
    except Exception:
        return None


def _finished(store: Path, grid_hash: str, n_chunks: int) -> list[int]:
    done = []
    for k in range(n_chunks):
        p = store / _chunk_file(k)
        if p.exists():
            meta = _read_chunk_meta(p)
            if meta is not None and meta.get("grid_hash") == grid_hash:
                done.append(k)
    return done


def _write_index(store: Path, grid: Grid, grid_hash: str, chunk_size: int, chunks: list, dtype) -> None:
    done = _finished(store, grid_hash, len(chunks))
    index = {
        "format": _FORMAT,
        "grid_hash": grid_hash,
        "n_configs": len(grid),
        "chunk_size": chunk_size,
        "dtype": str(dtype),
        **grid.to_dict(),
        "table": _jsonable(grid.table()),
        "chunks": [{"id": k, "file": _chunk_file(k), "indices": ch} for k, ch in enumerate(chunks)],
        "completed": done,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_json_atomic(index, store / _INDEX)


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
    index_path = store / _INDEX
    if index_path.exists():
        with open(index_path, encoding="utf-8") as fh:
            old = json.load(fh)
        if old.get("grid_hash") != ghash:
            raise ValueError(
                f"store_dir {str(store)!r} holds results of a different grid or data "
                f"(hash {old.get('grid_hash')} != {ghash}); use a new folder or delete the old one"
            )
    _write_index(store, grid, ghash, chunk_size, chunks, dtype)
    mine = [k for k in range(len(chunks)) if sh is None or k % sh[1] == sh[0]]
    done = set(_finished(store, ghash, len(chunks)))
    trained, skipped = [], []
    from tqdm.auto import tqdm

    todo = [k for k in mine if k not in done]
    skipped = [k for k in mine if k in done]
    bar = tqdm(total=len(todo), desc="grid chunks", disable=not progress)
    try:
        for k in todo:
            idx = chunks[k]
            result = train_ensemble([configs[i] for i in idx], data, records, device=device, dtype=dtype,
                                    max_chunk=max_chunk, progress=progress)
            result = dataclasses.replace(result, ids=np.asarray(idx))
            save_result(result, store / _chunk_file(k),
                        extra_meta={"grid_hash": ghash, "chunk": k, "indices": list(idx)})
            trained.append(k)
            _write_index(store, grid, ghash, chunk_size, chunks, dtype)
            bar.update(1)
    finally:
        bar.close()
    complete = len(_finished(store, ghash, len(chunks))) == len(chunks)
    return GridRun(str(store), ghash, len(chunks), mine, trained, skipped, complete,
                   time.perf_counter() - t0)


def grid_status(store_dir: str | os.PathLike) -> dict:
    """``{"n_chunks", "completed", "missing", "n_configs", "grid_hash"}`` of a store (from its files)."""
    store = Path(store_dir)
    index_path = store / _INDEX
    if not index_path.exists():
        raise ValueError(f"{str(store)!r} has no {_INDEX}; is it a run_grid store_dir?")
    with open(index_path, encoding="utf-8") as fh:
        index = json.load(fh)
    n_chunks = len(index["chunks"])
    done = _finished(store, index["grid_hash"], n_chunks)
    return {
        "n_configs": index["n_configs"],
        "grid_hash": index["grid_hash"],
        "n_chunks": n_chunks,
        "completed": done,
        "missing": [k for k in range(n_chunks) if k not in set(done)],
    }


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
        No store there, or missing chunks (listed) when ``allow_partial`` is False.
    """
    status = grid_status(store_dir)
    if status["missing"] and not allow_partial:
        raise ValueError(
            f"grid in {str(store_dir)!r} is incomplete: chunks {status['missing']} of {status['n_chunks']} "
            "are missing; run the remaining shards (or pass allow_partial=True)"
        )
    if not status["completed"]:
        raise ValueError(f"grid in {str(store_dir)!r} has no finished chunk yet")
    parts = [load_result(Path(store_dir) / _chunk_file(k)) for k in status["completed"]]
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
    return 0 if not s["missing"] else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
