"""Engine speed on a heterogeneous chapter-3 grid: new vs previous algorithm, against a floor.

    python benchmarks/bench_grid_cpu.py                       # 1152 networks, 3 epochs, 1 thread
    python benchmarks/bench_grid_cpu.py --repeats 3 --epochs 3 --threads 1

The grid is chapter 3's (built as in ``notebooks/03_hyperparameter_grid.ipynb``,
``small`` preset levels: relu/tanh/sigmoid x SGD/Adam x 2 inits x 2 L1 x 2 L2 x
batch 32/128 x hidden 16/32/64 x 4 learning rates = 1152 networks, trainable
readout, one shared data order) on the chapter's dual-digit task (2000 x 128
inputs, loss ``"mce"``: two 10-way softmax heads), without records
(``--chapter-records``: the chapter's last-epoch RDM of the 100 stimuli, a
constant ~0.2 s outside the floor); ``--epochs`` overrides the preset's 10 epochs.

Everything is measured in ONE process, interleaved (previous algorithm, new
algorithm, previous, new, ...), and the minimum of ``--repeats`` runs is kept,
so the ratio holds on a shared machine where the other core is busy; times are
CPU seconds of the process (``time.process_time``; the wall clock, which also
counts other jobs' time slices, is printed beside them):

* ``previous``: ``train_ensemble(..., _reference_algorithm=True)``, the engine's
  algorithm before issue 22 (every activation on every network merged with
  ``torch.where``, per-step allocations), kept in the package for this purpose;
* ``new``: ``train_ensemble`` as shipped.

Printed: networks/s of both, the ratio, the matrix-product FLOPs of the run
(forward, input-gradient and weight-gradient GEMMs of every step; evaluation
and probe passes excluded), achieved GEMM GFLOP/s, and a *floor* built from
rates measured in the same process:

* GEMM rate: each GEMM shape the engine issues per chunk (layer-1 ``mm`` forward
  and weight gradient with ``E*H`` rows, the readout ``bmm``s) is timed alone in
  a loop; the GEMM floor is the run's GEMM FLOPs at those rates. A square
  1024^3 ``mm`` gives the core's peak for reference;
* memory floor: the least traffic of the parameter updates (Adam: read p, g, m,
  v, write p, m, v, and the GEMM's write of g = 8 words per parameter per step;
  fused SGD with a penalty: read and write W = 2 words; plain SGD: 0) at the
  bandwidth of an ``addcmul`` over tensors of the chunk's parameter size;
* floor = GEMM floor + memory floor; "x floor" = time / floor.

Measured (2-core x86_64 VM, AMD EPYC with AVX-512, torch 2.13.0+cpu, float32,
1 thread; 2026-12-03, load average 0.1-0.9 from a CI run and book builds on the
other core)
--------------------------------------------------------------------------------
``python benchmarks/bench_grid_cpu.py --repeats 5 --epochs 3 --threads 1``::

    chapter-3 'small' grid: 1152 networks in 12 chunks ([96] networks each), n=2000, D=128, K=20, 3 epochs
      run 1: previous   9.01 s CPU (  9.04 s wall)   new   3.60 s CPU (  3.60 s wall)
      run 2: previous   9.68 s CPU (  9.70 s wall)   new   3.95 s CPU (  3.95 s wall)
      run 3: previous   9.91 s CPU (  9.94 s wall)   new   4.01 s CPU (  4.01 s wall)
      run 4: previous  10.22 s CPU ( 10.23 s wall)   new   3.39 s CPU (  3.39 s wall)
      run 5: previous   8.61 s CPU (  8.62 s wall)   new   3.81 s CPU (  3.81 s wall)
    previous algorithm :    8.61 s     133.7 networks/s   (8.62 s wall)
    new algorithm      :    3.39 s     340.1 networks/s   (3.39 s wall)
    ratio new/previous :    2.54 x faster (CPU time); 2.54 x (wall)
    GEMM work          :   163.1 GFLOP (forward + backward matrix products)
    GEMM rate measured :    80.5 GFLOP/s on the run's shapes (flop-weighted), 94.7 GFLOP/s on a 1024^3 mm
    achieved           : new   48.1 GFLOP/s = 59.8% of the shape rate (50.8% of the 1024^3 rate); previous   18.9 GFLOP/s
    floor              :    2.22 s = GEMMs 2.02 s + update traffic 0.20 s (15.2 GB at 76.7 GB/s)
    time / floor       : new  1.52 x, previous  3.87 x

The run right after gave 2.31x and 1.81x the floor (new 3.85 s, previous 8.91 s),
one during heavier load 2.07x and 1.65x (new 3.64 s, previous 7.52 s), and one
after the last engine commit of that round 2.28x and 1.63x (new 3.60 s, previous
8.19 s); two runs at 07:32-07:35 UTC after the review's refactors (reference
softmax, run helpers; hot path unchanged), on a slower moment of the machine (its
1024^3 GEMM rate 63-95 GFLOP/s), gave 2.14x / 1.87x the floor (new 4.92 s, previous
10.51 s) and 2.23x / 1.70x (new 4.75 s, previous 10.61 s): the same-process ratio
moved between 2.1x and 2.5x across runs on this shared machine, time / floor
between 1.5x and 1.9x. Before the second round of issue 22 work
(same command, same grid, same day) the engine measured 4.76 s against 9.26 s,
1.94x, and 2.02x the floor.

What that round changed, from the profile of one epoch of this grid (torch
profiler, 1 thread): Adam runs through torch's fused kernel (``_fused_adam_``, one
pass instead of seven, one call per distinct lr/betas/eps; the per-network
seven-pass update was the largest cost after the GEMMs), the L1 ``sign`` pass only
on the rows of networks with an L1 penalty, the softmax loss into a reused buffer
(a fresh ``(E, K, B)`` result was page-faulted in every step), float32 ``tanh``
through NumPy's kernel (torch's cost 2.9 ns per element, six times its
sigmoid), a sum-first finiteness check per epoch and no copies of the final
parameters when a chunk ends whole. What is left above the floor: in-situ GEMMs
are slower than the same shapes timed alone (caches shared with the update
passes; Adam's weight-gradient ``mm`` most), the fused Adam and penalty passes,
the per-head softmax (``exp``), per-network initialisation (``init_params``,
~0.1 s for 1152 networks, same on both sides) and Python dispatch (~40 tensor
operations per step).
No GPU was lent to this session; the GPU figures are still to be measured.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import torch

from repgeom_lite import ensemble as ens
from repgeom_lite.ensemble import Records, TrainData, train_ensemble


#: CPU time of this process: on a shared machine the wall clock also counts the
#: time slices other jobs take from this core; CPU time does not (it still pays
#: for their cache pollution). Both are printed for the engine runs.
_clock = time.process_time


def _time(fn, min_time: float = 0.05, reps: int = 5) -> float:
    """CPU seconds per call: min over ``reps`` of the mean over a loop of at least ``min_time``."""
    fn()
    t = _clock()
    fn()
    one = max(_clock() - t, 1e-6)
    k = max(1, int(min_time / one))
    best = math.inf
    for _ in range(reps):
        t = _clock()
        for _ in range(k):
            fn()
        best = min(best, (_clock() - t) / k)
    return best


def chunk_work(configs, data: TrainData, chunks, dtype) -> list[dict]:
    """Per chunk: GEMM FLOPs by shape and the least update traffic, for the whole run."""
    D, K, n = data.n_inputs, data.n_outputs, data.n_samples
    out = []
    for members in chunks:
        c = configs[members[0]]
        E, B, H = len(members), c.batch_size, c.hidden[0]
        assert len(c.hidden) == 1, "benchmark counts one-hidden-layer networks"
        steps = c.epochs * math.ceil(n / B)
        samples = c.epochs * n  # the last batch of an epoch is short
        # (name, flops of the whole run, timing shape); 2 flops per multiply-add
        gemms = [
            ("fwd0 mm", 2 * E * H * D * samples, ("mm", E * H, D, B)),
            ("grad0 mm", 2 * E * H * D * samples, ("mm", E * H, B, D)),
            ("fwd1 bmm", 2 * E * K * H * samples, ("bmm", E, K, H, B)),
            ("dz bmm", 2 * E * K * H * samples, ("bmm", E, H, K, B)),
        ]
        if c.readout_trainable:
            gemms.append(("grad1 bmm", 2 * E * K * H * samples, ("bmm", E, K, B, H)))
        n_par = H * D + H + (K * H + K if c.readout_trainable else 0)
        if c.optimizer == "adam":
            words = 8
        elif c.optimizer == "sgd":
            words = 2 if any(configs[i].l1 > 0 or configs[i].l2 > 0 for i in members) else 0
        else:
            words = 5
        itemsize = torch.empty((), dtype=dtype).element_size()
        out.append(dict(E=E, B=B, H=H, opt=c.optimizer, steps=steps, gemms=gemms,
                        update_bytes=words * E * n_par * itemsize * steps, n_par=E * n_par))
    return out


def gemm_rate(shape, dtype) -> float:
    """FLOP/s of one GEMM of ``shape`` (``("mm", M, K, N)`` or ``("bmm", E, M, K, N)``)."""
    if shape[0] == "mm":
        _, M, Kd, N = shape
        a, b = torch.randn(M, Kd, dtype=dtype), torch.randn(Kd, N, dtype=dtype)
        c = torch.empty(M, N, dtype=dtype)
        dt = _time(lambda: torch.mm(a, b, out=c))
        return 2 * M * Kd * N / dt
    _, E, M, Kd, N = shape
    a, b = torch.randn(E, M, Kd, dtype=dtype), torch.randn(E, Kd, N, dtype=dtype)
    c = torch.empty(E, M, N, dtype=dtype)
    dt = _time(lambda: torch.bmm(a, b, out=c))
    return 2 * E * M * Kd * N / dt


def bandwidth(n_elems: int, dtype) -> float:
    """Bytes/s of ``addcmul`` (3 reads, 1 write) over tensors of ``n_elems`` elements."""
    a, b, c, d = (torch.randn(n_elems, dtype=dtype) for _ in range(4))
    dt = _time(lambda: torch.addcmul(a, b, c, out=d))
    return 4 * n_elems * torch.empty((), dtype=dtype).element_size() / dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="small", choices=["small", "full"], help="chapter 3 grid levels")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved runs of each algorithm (min kept)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--no-reference", action="store_true", help="time only the new algorithm")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--chapter-records", action="store_true",
                    help="record as chapter 3 does (last-epoch RDM of 100 stimuli); default: no records")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dtype = torch.float32

    from repgeom_lite.chapters.ch03_grid import PRESETS
    from repgeom_lite.grid import Grid, rdm_transform
    from repgeom_lite.tasks import dual_digits_task

    cfg = dict(PRESETS[args.preset])
    cfg["epochs"] = args.epochs
    # the grid of notebooks/03_hyperparameter_grid.ipynb (same calls)
    task = dual_digits_task(cfg["source"], n_train=cfg["n_train"], n_test=cfg["n_test"], seed=cfg["task_seed"])
    fixed = dict(readout="trainable", loss="mce", l1_layers=(0, 1), epochs=cfg["epochs"], data_seed=cfg["seed"])
    levels = ("activations", "optimizers", "inits", "l1_levels", "l2_levels", "batch_sizes", "hidden_sizes",
              "lr_multipliers")
    names = ("activation", "optimizer", "init", "l1", "l2", "batch_size", "hidden_size", "lr")
    configs = Grid({f: cfg[k] for f, k in zip(names, levels)}, fixed, seed=cfg["seed"],
                   base_lr=cfg["base_lr"]).configs()
    data = TrainData(task.X_train, task.y_train, heads=(10, 10))
    records = (Records(probe=task.stimuli, probe_epochs=(cfg["epochs"],), probe_transform=rdm_transform,
                       history=False) if args.chapter_records else Records(history=False))
    device = ens.resolve_device(args.device)
    chunks = ens._plan_chunks(configs, data, records, device, dtype, None)
    print(f"{ens.describe_device(device)}, threads {torch.get_num_threads()}, "
          f"float32")
    print(f"chapter-3 '{args.preset}' grid: {len(configs)} networks in {len(chunks)} chunks "
          f"({sorted({len(m) for m in chunks})} networks each), n={data.n_samples}, D={data.n_inputs}, "
          f"K={data.n_outputs}, {args.epochs} epochs")

    def once(reference: bool) -> tuple[float, float]:
        """(CPU seconds, wall seconds) of one training run of the whole grid."""
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        c, t = _clock(), time.perf_counter()
        train_ensemble(configs, data, records, device=device, dtype=dtype, progress=False,
                       _reference_algorithm=reference)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return _clock() - c, time.perf_counter() - t

    warm = [c.replace(epochs=1) for c in configs[:: max(1, len(configs) // 24)]]
    for ref in (False, True):
        train_ensemble(warm, data, Records(history=False), device=device, dtype=dtype, progress=False,
                       _reference_algorithm=ref)
    t_new, t_old = [], []
    nan = (float("nan"), float("nan"))
    for r in range(args.repeats):
        if not args.no_reference:
            t_old.append(once(True))
        t_new.append(once(False))
        o = t_old[-1] if t_old else nan
        print(f"  run {r + 1}: previous {o[0]:6.2f} s CPU ({o[1]:6.2f} s wall)   "
              f"new {t_new[-1][0]:6.2f} s CPU ({t_new[-1][1]:6.2f} s wall)", flush=True)
    tn, wn = min(t[0] for t in t_new), min(t[1] for t in t_new)
    to, wo = (min(t[0] for t in t_old), min(t[1] for t in t_old)) if t_old else nan

    # floor, from rates measured now in this process
    work = chunk_work(configs, data, chunks, dtype)
    rates: dict = {}
    gemm_flops = gemm_time = mem_bytes = mem_time = 0.0
    for w in work:
        for _name, flops, shape in w["gemms"]:
            if shape not in rates:
                rates[shape] = gemm_rate(shape, dtype)
            gemm_flops += flops
            gemm_time += flops / rates[shape]
        if w["update_bytes"]:
            bw = bandwidth(w["n_par"], dtype)
            mem_bytes += w["update_bytes"]
            mem_time += w["update_bytes"] / bw
    a = torch.randn(1024, 1024, dtype=dtype)
    peak = 2 * 1024**3 / _time(lambda: torch.mm(a, a))
    shape_rate = gemm_flops / gemm_time
    floor = gemm_time + mem_time

    n = len(configs)
    print(f"(times: min over {args.repeats} runs, CPU seconds of this process; wall clock in brackets)")
    print(f"previous algorithm : {to:7.2f} s  {n / to:8.1f} networks/s   ({wo:.2f} s wall)")
    print(f"new algorithm      : {tn:7.2f} s  {n / tn:8.1f} networks/s   ({wn:.2f} s wall)")
    print(f"ratio new/previous : {to / tn:7.2f} x faster (CPU time); {wo / wn:.2f} x (wall)")
    print(f"GEMM work          : {gemm_flops / 1e9:7.1f} GFLOP (forward + backward matrix products)")
    print(f"GEMM rate measured : {shape_rate / 1e9:7.1f} GFLOP/s on the run's shapes "
          f"(flop-weighted), {peak / 1e9:.1f} GFLOP/s on a 1024^3 mm")
    print(f"achieved           : new {gemm_flops / tn / 1e9:6.1f} GFLOP/s = {gemm_flops / tn / shape_rate:5.1%} "
          f"of the shape rate ({gemm_flops / tn / peak:5.1%} of the 1024^3 rate); "
          f"previous {gemm_flops / to / 1e9:6.1f} GFLOP/s")
    print(f"floor              : {floor:7.2f} s = GEMMs {gemm_time:.2f} s + update traffic {mem_time:.2f} s "
          f"({mem_bytes / 1e9:.1f} GB at {mem_bytes / max(mem_time, 1e-12) / 1e9:.1f} GB/s)")
    print(f"time / floor       : new {tn / floor:5.2f} x, previous {to / floor:5.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
