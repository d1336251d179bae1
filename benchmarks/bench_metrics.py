"""Benchmark of the batched metrics against per-pair loops (issue 5). Not a timed test.

Run::

    .venv/bin/python benchmarks/bench_metrics.py                  # CPU, sizes of the issue
    .venv/bin/python benchmarks/bench_metrics.py --device cuda    # one GPU
    .venv/bin/python benchmarks/bench_metrics.py --quick          # smaller, for a smoke run

What it times
-------------
1. All-pairs RSA of 1504 RDMs over 100 stimuli (finding 3: the networks kept of the
   4608-network grid): ``rsa_matrix`` (ranked, normalised upper triangles, one matrix
   product) vs a per-pair loop of :func:`scipy.stats.spearmanr` on a random sample of
   pairs, extrapolated to all ``m (m - 1) / 2`` pairs (the full loop would take ~30 min).
2. CKA of 1504 networks (100 stimuli x 64 units) against one target: one batched
   ``kernel_alignment`` call vs a loop of single calls.
3. One ``ccgp`` and one ``dichotomy_decoding`` call at the chapter-1 size (P = 4
   conditions, 4000 noisy samples, N = 128 units), with the default LinearSVC and with
   ``RidgeClassifier``.

Targets (issue 5): all-pairs RSA under 1 s on one H100 and under 30 s on the 2-core CPU.

Measured here (2-core x86_64 CPU, torch 2.13.0+cpu, float64) while other jobs shared the
machine (load average ~5 on 2 cores, so times are inflated and vary run to run)::

    rdm of 1504 networks (batched)               1.5 s
    rsa_matrix 1504 x 1504 (batched)             3.4 s   (target < 30 s on this CPU: met)
    per-pair spearmanr loop (extrapolated)    2151 s   (1 130 256 pairs; ratio ~630x)
    CKA 1504 vs target: batched 0.78 s, loop of single calls 29 s (ratio ~37x)
    ccgp (P=4, 4000 x 128, 4 fits)        LinearSVC 0.14 s | RidgeClassifier 0.07 s
    dichotomy_decoding (3 x 5-fold fits)  LinearSVC 0.68 s | RidgeClassifier 0.64 s
    dichotomy_decoding (3 x 2-fold fits)  LinearSVC 0.21 s | RidgeClassifier 0.17 s

Other runs under the same load gave rsa_matrix 3.4-6.0 s and ccgp 0.12-0.30 s. Not
yet run on a GPU (no device was lent to this task); the < 1 s H100 target is unverified.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.linear_model import RidgeClassifier

from repgeom_lite.device import describe_device, resolve_device
from repgeom_lite.metrics import ccgp, dichotomy_decoding, kernel_alignment, rdm, rdm_upper, rsa_matrix


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, repeat=1):
    """Best of ``repeat`` wall times of ``fn()`` (after one warm-up call on CUDA)."""
    if device.type == "cuda":
        fn()
    best, out = np.inf, None
    for _ in range(repeat):
        _sync(device)
        t0 = time.perf_counter()
        out = fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_rsa(m: int, n: int, units: int, n_loop_pairs: int, device: torch.device, seed: int) -> None:
    rng = np.random.default_rng(seed)
    reps = torch.tensor(rng.standard_normal((m, n, units)), device=device)
    t_rdm, rdms = timed(lambda: rdm(reps), device)
    rdms_dev = torch.tensor(rdms, device=device)
    t_rsa, M = timed(lambda: rsa_matrix(rdms_dev), device, repeat=3)
    # per-pair loop on a random sample of pairs, extrapolated
    upper = rdm_upper(rdms)
    pairs = rng.integers(0, m, size=(n_loop_pairs, 2))
    t0 = time.perf_counter()
    loop = np.array([spearmanr(upper[i], upper[j]).statistic for i, j in pairs])
    t_pair = (time.perf_counter() - t0) / n_loop_pairs
    n_pairs = m * (m - 1) // 2
    err = np.abs(loop - M[pairs[:, 0], pairs[:, 1]]).max()
    print(f"RSA: {m} RDMs over {n} stimuli ({n * (n - 1) // 2} entries each)")
    print(f"  rdm (batched)                      {t_rdm:8.3f} s")
    print(f"  rsa_matrix {m}x{m} (batched)       {t_rsa:8.3f} s")
    print(
        f"  per-pair spearmanr loop            {t_pair * n_pairs:8.1f} s  (extrapolated from "
        f"{n_loop_pairs} pairs to {n_pairs})"
    )
    print(f"  ratio loop / batched               {t_pair * n_pairs / t_rsa:8.0f} x   max |diff| {err:.1e}")


def bench_cka(m: int, n: int, units: int, device: torch.device, seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = torch.tensor(rng.standard_normal((m, n, units)), device=device)
    Y = torch.tensor(rng.standard_normal((n, 10)), device=device)
    t_batch, out = timed(lambda: kernel_alignment(X, Y), device, repeat=3)
    t_loop, loop = timed(lambda: np.array([kernel_alignment(x, Y) for x in X]), device)
    print(f"CKA: {m} networks ({n} stimuli x {units} units) vs one target")
    print(f"  batched                            {t_batch:8.3f} s")
    print(f"  loop of single calls               {t_loop:8.3f} s")
    print(f"  ratio loop / batched               {t_loop / t_batch:8.1f} x   max |diff| {np.abs(out - loop).max():.1e}")


def bench_abstraction(seed: int) -> None:
    rng = np.random.default_rng(seed)
    D, N, n = 100, 128, 4000
    C = rng.standard_normal((4, D))
    W = rng.standard_normal((N, D)) / np.sqrt(D)
    cond = np.repeat(np.arange(4), n // 4)
    Z = np.tanh((C[cond] + 2.0 * rng.standard_normal((n, D))) @ W.T)
    y = np.array([-1, -1, 1, 1])
    print(f"Abstraction metrics at chapter-1 size (P = 4, {n} samples x {N} units), one call each")
    for name, clf in [("LinearSVC", None), ("RidgeClassifier", RidgeClassifier())]:
        t0 = time.perf_counter()
        ccgp(Z, cond, y, clf=clf)
        t1 = time.perf_counter()
        dichotomy_decoding(Z, cond, clf=clf)
        t2 = time.perf_counter()
        dichotomy_decoding(Z, cond, clf=clf, n_folds=2)
        t3 = time.perf_counter()
        print(
            f"  {name:16s} ccgp {t1 - t0:6.3f} s | decoding 5-fold {t2 - t1:6.3f} s | "
            f"2-fold {t3 - t2:6.3f} s"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--n-rdms", type=int, default=1504)
    parser.add_argument("--n-stimuli", type=int, default=100)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--loop-pairs", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_rdms, args.loop_pairs = 200, 200
    device = resolve_device(args.device)
    print(f"device: {describe_device(device)}")
    bench_rsa(args.n_rdms, args.n_stimuli, args.units, args.loop_pairs, device, args.seed)
    bench_cka(args.n_rdms, args.n_stimuli, args.units, device, args.seed)
    bench_abstraction(args.seed)


if __name__ == "__main__":
    main()
