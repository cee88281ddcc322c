"""Shared test setup: keep every test offline and on the CPU."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# Two shared cores: one torch thread per test process is ~10x faster than two spinning.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("DIAGRAMMER_THREADS", "1")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads, and on shared cores OpenMP's spinning threads
    made a tiny-model test file 5x slower (95 s against 20 s). Used by the fast-decoder
    files through `pytest.mark.usefixtures`."""
    import torch  # here, not at the top: most test files never load torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
