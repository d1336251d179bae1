"""Choosing the compute device explicitly (no hidden global state)."""

from __future__ import annotations

import os
import platform

import torch

__all__ = ["resolve_device", "describe_device"]


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
