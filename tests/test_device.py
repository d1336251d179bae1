"""Thread limits (repgeom_lite.device): restored after a block, validated, set for a notebook."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_info

from repgeom_lite.device import limit_threads, thread_limit


def test_thread_limit_restores_threads():
    before = torch.get_num_threads()
    with thread_limit(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with thread_limit(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads must be an integer >= 1"):
        with thread_limit(0):
            pass


def test_limit_threads_sets_torch_and_blas():
    before = torch.get_num_threads()
    try:
        limit_threads(1)
        assert torch.get_num_threads() == 1
        assert all(lib["num_threads"] == 1 for lib in threadpool_info())
        limit_threads(None)  # leaves the current setting
        assert torch.get_num_threads() == 1
        for bad in (0, 1.5, True, "2"):
            with pytest.raises(ValueError, match="num_threads must be an integer >= 1 or None"):
                limit_threads(bad)
    finally:
        torch.set_num_threads(before)
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=None)
