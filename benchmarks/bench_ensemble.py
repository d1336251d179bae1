"""Engine vs naive per-network training: networks per second and the ratio.

    python benchmarks/bench_ensemble.py                          # CPU, 256 networks
    python benchmarks/bench_ensemble.py --device cuda --networks 4608 --epochs 20
    python benchmarks/bench_ensemble.py --grid                   # heterogeneous chapter-3-style grid

Both sides train the same configs (``D``-input, ``H``-hidden, ``K``-output MLPs,
sigmoid + BCE, plain SGD, batch ``B``) in the same process, so the ratio holds
even on a shared machine:

* naive: :func:`repgeom_lite.reference.train_single`, i.e. an ``nn.Module``, a
  ``torch.optim.SGD`` and a plain minibatch loop, one network after the other
  (``--naive-networks k`` times only the first ``k`` and extrapolates linearly,
  to keep GPU runs short; the default trains all of them);
* ``--dataloader`` adds a truly naive user loop (``TensorDataset`` +
  ``DataLoader(shuffle=True)`` + ``nn.Sequential``);
* engine: one :func:`repgeom_lite.ensemble.train_ensemble` call.

All networks share one data order (``data_seed=0``), as in the chapter grids,
so the engine gathers each minibatch once. Records are off on both sides.
The weights are compared at the end (max |difference|).

``benchmarks/bench_grid_cpu.py`` times chapter 3's own grid against the engine's
previous algorithm and a measured floor (issue 22). ``--grid`` here instead times
the engine on a heterogeneous grid shaped like chapter 3
(3 activations x 2 optimizers x 2 inits x 2 L1 x 2 L2 x 4 batch sizes x 4 hidden
sizes x 6 learning rates = 4608 networks with ``--grid-scale 1``; smaller scales
subsample the batch/hidden/lr levels), on random data of the chapter's shape.

Measured (2026-11-25; the 2-core machine was shared with other jobs, so only
same-process ratios mean anything; each line is one run)
-------------------------------------------------------------------------------
CPU: AMD EPYC, 2 cores, torch 2.13.0+cpu (MKL), float32, 256 networks
128 -> 128 -> 20, n = 2000, batch 32, 3 epochs (189 SGD steps), one data order:

====================================  =============  ============  =======
run                                   naive (net/s)  engine        ratio
====================================  =============  ============  =======
2 threads, quiet window (load 1.1),   6.78           79.2          11.7x
frozen balanced readout (default);    (37.8 s)       (3.23 s)
all 256 naive networks timed
1 thread, load 8-10, frozen readout,  1.54           19.2          12.5x
naive: 64 timed, extrapolated         (167 s)        (13.3 s)
1 thread, load 9-10, trainable        1.50           11.1          7.4x
readout, naive: 32 timed, extrap.     (171 s)        (23.0 s)
2026-12-03, after issue 22's engine   13.9           84.3          6.1x
changes: 1 thread, load ~1.5 (a       (18.4 s)       (3.04 s)
ch03 run on the other core), frozen
readout, all 256 naive timed
====================================  =============  ============  =======

The naive loop's speed depends far more on the machine's load than the engine's
(one small kernel after another: 1.5 networks/s at load 9, 13.9 at load 1.5), so
the ratio ranges from about 6x (quiet machine, 1 thread) to 12x (loaded machine).

(``python benchmarks/bench_ensemble.py``; ``--threads 1 --naive-networks 64``;
``--threads 1 --naive-networks 32 --readout trainable``.) The trainable-readout
engine run is 10-20 % slower than the frozen one when the two alternate in one
process (6.7 s vs 7.0-8.1 s for one epoch), so most of the 7.4x/12.5x gap above
is load drift between runs, not readout cost.
Weights: float64 engine vs naive max |dW| = 2.9e-15; float32 median relative
difference 1e-7, with 2 of 64 (4 of 256) networks at 2e-5..9e-5 -- ReLU kink
flips, see the precision note in :mod:`repgeom_lite.ensemble`.
Heterogeneous grid, ``--grid --grid-scale 0.25 --epochs 2 --n 1000 --threads 1``
(96 networks: 3 activations x 2 optimizers x 2 inits x 2 L1 x 2 L2 x 2 lrs,
trainable readout): 3.3 s. The same with 2 threads while the machine was
oversubscribed: 43.6 s -- on a shared CPU, ``torch.set_num_threads(1)`` helps.
GPU (H100) numbers: not measured yet (no GPU in this session); run
``--device cuda --networks 4608 --epochs 20 --naive-networks 8`` and
``--device cuda --grid``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from repgeom_lite.device import describe_device, resolve_device
from repgeom_lite.ensemble import NetConfig, Records, TrainData, train_ensemble
from repgeom_lite.reference import train_single


def make_data(n: int, D: int, K: int, seed: int = 0) -> TrainData:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(K, D))
    labels = rng.integers(0, K, size=n)
    X = centres[labels] + rng.normal(size=(n, D))
    Y = np.zeros((n, K))
    Y[np.arange(n), labels] = 1.0
    return TrainData(X.astype(np.float32), Y.astype(np.float32))


def dataloader_loop(cfg: NetConfig, data: TrainData, device) -> None:
    """What a user would write without any of the package's care about seeds and order."""
    from torch.utils.data import DataLoader, TensorDataset

    X, Y = data.X[0].float(), data.Y[0].float()
    torch.manual_seed(cfg.seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], cfg.hidden[0]), torch.nn.ReLU(), torch.nn.Linear(cfg.hidden[0], Y.shape[1])
    ).to(device)
    for p in model[2].parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    loader = DataLoader(TensorDataset(X, Y), batch_size=cfg.batch_size, shuffle=True)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(cfg.epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_uniform(args) -> None:
    device = resolve_device(args.device)
    data = make_data(args.n, args.inputs, args.outputs)
    configs = [
        NetConfig(hidden=(args.hidden,), activation="relu", lr=0.05, batch_size=args.batch,
                  epochs=args.epochs, seed=s, data_seed=0, readout=args.readout)
        for s in range(args.networks)
    ]
    rec = Records(history=False)
    print(f"device: {describe_device(device)}; torch threads {torch.get_num_threads()}")
    print(f"{args.networks} networks {args.inputs}->{args.hidden}->{args.outputs}, n={args.n}, "
          f"batch {args.batch}, {args.epochs} epochs, readout {args.readout}, float32")

    # warm-up (kernels, allocator)
    train_ensemble(configs[:2], data, rec, device=device, progress=False)
    train_single(configs[0].replace(epochs=1), data, rec, device=device)

    _sync(device)
    t = time.perf_counter()
    result = train_ensemble(configs, data, rec, device=device, progress=False)
    _sync(device)
    t_engine = time.perf_counter() - t

    k = args.networks if args.naive_networks is None else min(args.naive_networks, args.networks)
    t = time.perf_counter()
    solo = [train_single(c, data, rec, device=device) for c in configs[:k]]
    _sync(device)
    t_naive = (time.perf_counter() - t) * args.networks / k
    rel = np.array([max(float(np.max(np.abs(result.params[i][name] - s.params[0][name])))
                        / max(1e-12, float(np.max(np.abs(s.params[0][name]))))
                        for name in s.params[0]) for i, s in enumerate(solo)])

    rate_e = args.networks / t_engine
    rate_n = args.networks / t_naive
    extrap = "" if k == args.networks else f" (timed {k}, extrapolated)"
    print(f"naive loop (nn.Module + optim.SGD): {t_naive:9.2f} s  {rate_n:10.2f} networks/s{extrap}")
    print(f"engine (train_ensemble)           : {t_engine:9.2f} s  {rate_e:10.2f} networks/s")
    print(f"ratio engine/naive                : {rate_e / rate_n:9.1f} x")
    print(f"float32 weights engine vs naive, max |dW| / max |W|: median {np.median(rel):.1e}, "
          f"max {rel.max():.1e}; {int((rel > 1e-5).sum())} of {len(rel)} networks above 1e-5")
    if args.check64:
        cfg64 = configs[: min(8, len(configs))]
        r64 = train_ensemble(cfg64, data, rec, device=device, dtype=torch.float64, progress=False)
        e64 = max(float(np.max(np.abs(r64.params[i][nm] - train_single(c, data, rec, dtype=torch.float64,
                                                                     device=device).params[0][nm])))
                  for i, c in enumerate(cfg64) for nm in r64.params[i])
        print(f"float64 check on {len(cfg64)} networks: max |dW| = {e64:.1e}")
    if args.dataloader:
        t = time.perf_counter()
        for c in configs[:k]:
            dataloader_loop(c, data, device)
        _sync(device)
        t_dl = (time.perf_counter() - t) * args.networks / k
        print(f"DataLoader user loop              : {t_dl:9.2f} s  {args.networks / t_dl:10.2f} networks/s "
              f"(ratio {t_dl / t_engine:.1f} x)")


def bench_grid(args) -> None:
    device = resolve_device(args.device)
    s = args.grid_scale
    batch = [16, 32, 64, 128][: max(1, round(4 * s))]
    hidden = [32, 64, 128, 256][: max(1, round(4 * s))]
    lrs = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3][: max(1, round(6 * s))]
    from repgeom_lite.grid import Grid

    grid = Grid(
        {
            "activation": ["relu", "tanh", "sigmoid"],
            "optimizer": ["sgd", "adam"],
            "init": ["xavier_uniform", "he"],
            "l1": [0.0, 1e-4],
            "l2": [0.0, 1e-4],
            "batch_size": batch,
            "hidden_size": hidden,
            "lr": lrs,
        },
        fixed={"epochs": args.epochs, "readout": "trainable", "data_seed": 0},
    )
    data = make_data(args.n, args.inputs, args.outputs)
    print(f"device: {describe_device(device)}; grid of {len(grid)} networks "
          f"(batch {batch}, hidden {hidden}, lr {lrs}), n={args.n}, {args.epochs} epochs")
    t = time.perf_counter()
    result = train_ensemble(grid.configs(), data, Records(history=False), device=device, progress=args.progress)
    _sync(device)
    dt = time.perf_counter() - t
    print(f"engine: {dt:.1f} s for {len(grid)} networks ({len(grid) / dt:.1f} networks/s); "
          f"diverged {int(result.diverged.sum())}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu)")
    ap.add_argument("--networks", type=int, default=256)
    ap.add_argument("--inputs", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--outputs", type=int, default=20)
    ap.add_argument("--n", type=int, default=2000, help="training samples")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--readout", default="balanced", choices=["balanced", "gaussian", "trainable"])
    ap.add_argument("--naive-networks", type=int, default=None,
                    help="time only this many naive networks and extrapolate (default: all)")
    ap.add_argument("--dataloader", action="store_true", help="also time a DataLoader user loop")
    ap.add_argument("--check64", action="store_true", help="also compare 8 networks in float64")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--grid", action="store_true", help="time the heterogeneous chapter-3-style grid")
    ap.add_argument("--grid-scale", type=float, default=1.0, help="fraction of the grid's levels (1 = 4608)")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.grid:
        bench_grid(args)
    else:
        bench_uniform(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
