"""Fixtures shared by the test modules."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one thread is faster and immune to oversubscribed cores (restored after).

    Use with ``pytestmark = pytest.mark.usefixtures("one_thread")`` in a test module.
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
