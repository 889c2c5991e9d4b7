"""How many threads the BLAS library (OpenBLAS, MKL) behind NumPy's matmul may use.

Small matrices, the kind an RNN multiplies at every time step, often run SLOWER with more threads: the
threads spend longer waking up and waiting for each other than multiplying, and on a busy machine much
longer (measured: a simple RNN training step at batch 64, hidden 32 took 6.6 ms with one thread and
50 ms with two while another program used the CPU). Large matrices gain from threads.

The environment variables (OPENBLAS_NUM_THREADS, ...) only work before NumPy loads; threadpoolctl
changes the limit at run time, so a command-line option can set it.
"""

from __future__ import annotations

from threadpoolctl import ThreadpoolController

_controller: ThreadpoolController | None = None


def _blas() -> ThreadpoolController:
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def set_num_threads(n: int) -> None:
    """Let NumPy's BLAS use n threads from now on (like torch.set_num_threads)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of threads must be a positive integer, got {n!r}")
    _blas().limit(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS may use now (the largest over the BLAS libraries loaded)."""
    infos = [i for i in _blas().info() if i.get("user_api") == "blas"]
    return max((i["num_threads"] for i in infos), default=1)
