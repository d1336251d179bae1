"""Benchmark: batched conv ensemble (grouped convolutions) vs a loop of per-network modules.

Run::

    .venv/bin/python benchmarks/bench_convnets.py                 # CPU, chapter-5 small sizes
    .venv/bin/python benchmarks/bench_convnets.py --device cuda   # one GPU
    .venv/bin/python benchmarks/bench_convnets.py --networks 10 --threads 2

Times ``--epochs`` epochs of training on the 899 training digits (8x8) for ``E``
networks of each chapter-5 architecture: :func:`repgeom_lite.convnets.train_conv_ensemble`
(one stacked computation) against :func:`repgeom_lite.convnets.train_single_convnet`
called once per network (``nn.Module`` + ``torch.optim.RMSprop``), both in float32,
and prints the ratio. On a CPU the small convolutions are compute-bound, so expect a
ratio near 1 there; the batching is for GPUs, where ``E`` small kernels become one.
"""

from __future__ import annotations

import argparse
import time

import torch

from repgeom_lite.convnets import (
    ConvNetArch,
    ResNetArch,
    RMSpropConfig,
    train_conv_ensemble,
    train_single_convnet,
)
from repgeom_lite.tasks import image_classification_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = image_classification_data("digits", heldout_fraction=0.5, seed=0)
    cfg = RMSpropConfig(lr=2e-3, epochs=args.epochs, batch_size=32)
    seeds = list(range(args.networks))
    for arch in (ConvNetArch((16, 16), 64), ResNetArch((16, 32, 64), (1, 1, 1))):
        t0 = time.perf_counter()
        train_conv_ensemble(arch, data.X_train, data.y_train, seeds, config=cfg, n_classes=10,
                            device=args.device, progress=False)
        batched = time.perf_counter() - t0
        loop = float("nan")
        if args.device == "cpu":
            t0 = time.perf_counter()
            for s in seeds:
                train_single_convnet(arch, data.X_train, data.y_train, s, config=cfg, n_classes=10,
                                     dtype=torch.float32)
            loop = time.perf_counter() - t0
        print(f"{arch.name:8s} E={args.networks} epochs={args.epochs} threads={args.threads}: "
              f"batched {batched:6.1f} s | loop {loop:6.1f} s | loop / batched {loop / batched:4.2f}")


if __name__ == "__main__":
    main()
