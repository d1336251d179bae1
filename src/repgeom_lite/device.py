"""Choosing the compute device explicitly (no hidden global state)."""

from __future__ import annotations

import contextlib
import os
import platform

import torch

__all__ = ["resolve_device", "describe_device", "thread_limit", "limit_threads"]


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn ``"auto"``/``None``/``"cpu"``/``"cuda"``/``"cuda:1"`` into a :class:`torch.device`.

    ``"auto"`` picks CUDA when it is available, else the CPU.

    Raises
    ------
    ValueError
        For an unknown device string, or ``"cuda"`` when CUDA is not available.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}"
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' requested but CUDA is not available; use 'auto' or 'cpu'")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return dev


def describe_device(device: str | torch.device | None = "auto") -> str:
    """One line naming the device, for results files (e.g. ``"cpu (2 cores), torch 2.13.0"``)."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
        return f"{name} (cuda), torch {torch.__version__}"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"cpu {platform.machine()} ({cores} cores), torch {torch.__version__}"


@contextlib.contextmanager
def thread_limit(num_threads: int | None):
    """Limit torch, BLAS and OpenMP threads inside the block; restore them afterwards.

    On a shared 2-core CPU, multi-threaded BLAS/OpenMP spin-waits when the cores are
    busy: measured here (load average 10) a batch of 36 Procrustes SVDs (200 x 128)
    took 45 s with 2 BLAS threads and 0.56 s with one, and 3 epochs of the six small
    networks 23 s with 2 torch threads and 1.4 s with one. Small arrays (the primer's)
    lose little with one thread on an idle machine. ``None`` leaves the libraries'
    defaults.

    Raises
    ------
    ValueError
        If ``num_threads`` is not ``None`` or an integer >= 1.
    """
    if num_threads is None:
        yield
        return
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads must be an integer >= 1 or None, got {num_threads!r}")
    n = int(num_threads)
    # threadpoolctl only limits libraries that are loaded when the block starts: load
    # scipy's own OpenBLAS and scikit-learn's OpenMP now, not lazily inside the block.
    import scipy.linalg  # noqa: F401
    import sklearn.svm  # noqa: F401
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def limit_threads(num_threads: int | None) -> None:
    """Use at most ``num_threads`` torch, BLAS and OpenMP threads from now on (this process).

    The notebook form of :func:`thread_limit` (a ``with`` block cannot span notebook
    cells): called once at the top of a chapter, it is an explicit, visible setting of
    the kernel, not hidden state. ``None`` leaves the libraries' defaults.

    Raises
    ------
    ValueError
        If ``num_threads`` is not ``None`` or an integer >= 1.
    """
    if num_threads is None:
        return
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads must be an integer >= 1 or None, got {num_threads!r}")
    import scipy.linalg  # noqa: F401  (load the BLAS/OpenMP libraries first, see thread_limit)
    import sklearn.svm  # noqa: F401
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(int(num_threads))
    threadpool_limits(limits=int(num_threads))
