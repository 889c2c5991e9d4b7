"""Time one training step of minigrad's LSTM, GRU and RNN against its matrix-multiplication floor and torch.

A step is: forward over the whole sequence (float32), the loss L = Σ hs * R (R a fixed random tensor, so
every output gets a gradient), backward to every weight (x needs no gradient). For each cell and size it
prints the median time per step over interleaved repeats (after a warm-up; blocks of 5 steps, each after
one untimed step, see time_interleaved) of

    minigrad  the fused kernels of minigrad/nn/rnn_fused.py (through minigrad.nn.LSTM/GRU/RNN when those
              layers exist and accept the arguments used here, otherwise the Functions called directly;
              `--path both` prints one column for each)
    floor     the step's matrix multiplications alone, with the same shapes: the input projection
              (N*T, I) @ (I, G*H), T recurrent (N, H) @ (H, G*H) forward, T recurrent (N, G*H) @ (G*H, H)
              backward, and dW_ih, dW_hh as one GEMM each; no NumPy engine can beat it
    torch     torch.nn.LSTM/GRU/RNN(batch_first=True) doing the same step in the same process with the
              same number of threads (skipped if torch is not installed)

"x floor" and "x torch" divide minigrad's time (its first column) by the floor's and by torch's.

A second table (--what decode) times incremental decoding, one token per call, input 128, hidden 256, for
batches of 1, 16 and 64 (microseconds per token):

    step      layer.step(x_t, state) under no_grad (the graph-free kernel of minigrad/nn/rnn_fused.py)
    greedy    one greedy-decoding token of a small decoder: Embedding(1000, 128) -> the layer's step ->
              Linear(256, 1000) -> argmax, all through minigrad under no_grad
    floor     their matrix multiplications alone, preallocated: x W_ih and h W_hh (greedy: and h W_out)
    torch     torch.nn.LSTMCell/GRUCell/RNNCell (greedy: with torch's Embedding and Linear) under no_grad

Sizes:  W1  batch 64, T 50, input 128, hidden 256      W3  batch 32, T 20, input 32, hidden 64

--baseline DIR adds a column "before": the same step with an older minigrad, imported in the same process
from DIR (a directory holding its `minigrad` package), and "x before" = minigrad / before. For example
    mkdir -p /tmp/mg_old && git archive ac1e2c7 minigrad | tar -x -C /tmp/mg_old
    python benchmarks/rnn.py --baseline /tmp/mg_old
(an older minigrad without layer.step decodes through a T = 1 layer call, as its demos did).

BLAS threads can only be set before NumPy is loaded, through the environment (OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS, MKL_NUM_THREADS); so `--threads both` runs this script once per setting in a subprocess
and prints one table per setting. On a shared machine, run it while nothing else is busy: a second
process on a 2-core box slows 2-thread BLAS (and torch) several-fold; even when idle, runs differ by ~5%.

    python benchmarks/rnn.py                         # both thread settings, all cells, W1 and W3, decoding
    python benchmarks/rnn.py --threads 1 --cells lstm --sizes W1 --repeat 30 --what train
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZES = {"W1": (64, 50, 128, 256), "W3": (32, 20, 32, 64)}  # N, T, I, H
DECODE = (128, 256, 1000, (1, 16, 64))  # I, H, vocabulary of the greedy decoder, batch sizes
CELLS = ("lstm", "gru", "rnn")
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
ROOT = Path(__file__).resolve().parent.parent


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the module docstring's layout and show every option's default."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    p.add_argument("--threads", choices=("1", "2", "both"), default="both",
                   help="BLAS (and torch) threads; 'both' runs one subprocess per setting")
    p.add_argument("--repeat", type=int, default=15, help="timed steps per implementation (median reported)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per implementation first")
    p.add_argument("--cells", default=",".join(CELLS), help="comma-separated subset of lstm,gru,rnn")
    p.add_argument("--sizes", default="W1,W3", help="comma-separated subset of W1,W3")
    p.add_argument("--no-torch", action="store_true", help="skip the torch comparison")
    p.add_argument("--what", default="train,decode", help="comma-separated subset of train,decode")
    p.add_argument("--baseline", default=None, metavar="DIR",
                   help="also time an older minigrad imported from DIR (a directory holding its minigrad package)")
    p.add_argument("--path", choices=("auto", "function", "layer", "both"), default="auto",
                   help="time minigrad through the nn layers (LSTM(..., return_sequences=True)), the fused "
                        "Functions called directly, both (two columns), or auto = the layers when they exist")
    args = p.parse_args(argv)
    cells = [c.strip().lower() for c in args.cells.split(",") if c.strip()]
    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    what = [w.strip().lower() for w in args.what.split(",") if w.strip()]
    bad = [c for c in cells if c not in CELLS] + [s for s in sizes if s not in SIZES]
    bad += [w for w in what if w not in ("train", "decode")]
    if bad or not cells or not sizes or not what:
        p.error(f"unknown or empty --cells/--sizes/--what entries: {bad or 'none given'}")
    if args.repeat < 1 or args.warmup < 0:
        p.error("--repeat must be >= 1 and --warmup >= 0")
    args.cells, args.sizes, args.what = cells, sizes, what
    return args


def rerun(argv: list[str], threads: str) -> int:
    """Run this script again with the BLAS thread variables set, so NumPy starts with them."""
    env = dict(os.environ, **{v: threads for v in THREAD_VARS})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    rest = [a for i, a in enumerate(argv) if a != "--threads" and (i == 0 or argv[i - 1] != "--threads")]
    rest = [a for a in rest if not a.startswith("--threads=")]
    rest = [os.path.abspath(a) if i > 0 and rest[i - 1] == "--baseline" else a for i, a in enumerate(rest)]
    return subprocess.call([sys.executable, __file__, "--threads", threads, *rest], env=env)


# ---- the three implementations of one step ----------------------------------------------------------------


def make_minigrad_step(cell: str, N: int, T: int, I: int, H: int, path: str, seed: int = 0):
    """A function running one training step with minigrad, and a label saying which path it uses."""
    import numpy as np

    import minigrad
    from minigrad.nn import rnn_fused

    rng = np.random.default_rng(seed)
    G = GATES[cell]
    x = minigrad.tensor(rng.standard_normal((N, T, I)).astype(np.float32))
    R = minigrad.tensor(rng.standard_normal((N, T, H)).astype(np.float32))
    layer = _make_layer(cell, I, H) if path in ("auto", "layer") else None
    if path == "layer" and layer is None:
        raise SystemExit("--path layer: minigrad.nn has no usable LSTM/GRU/RNN layer yet")
    if layer is not None:
        params = list(layer.parameters())

        def step() -> None:
            for p in params:
                p.grad = None
            hs = layer(x)
            (hs * R).sum().backward()

        return step, f"minigrad.nn.{type(layer).__name__}(return_sequences=True)"

    bound = 1.0 / np.sqrt(H)
    shapes = [(I, G * H), (H, G * H), (G * H,)] + ([(G * H,)] if cell == "gru" else [])
    params = [minigrad.tensor(rng.uniform(-bound, bound, s).astype(np.float32), requires_grad=True)
              for s in shapes]
    h0 = minigrad.tensor(np.zeros((N, H), np.float32))

    def step() -> None:
        for p in params:
            p.grad = None
        if cell == "lstm":
            hs = rnn_fused.LSTMSequence()(x, h0, h0, *params)[0]
        elif cell == "gru":
            hs = rnn_fused.GRUSequence()(x, h0, *params)[0]
        else:
            hs = rnn_fused.RNNSequence("tanh")(x, h0, *params)[0]
        (hs * R).sum().backward()

    return step, "minigrad.nn.rnn_fused.*Sequence Functions"


def load_baseline(path: str) -> tuple[Any, Any]:
    """(minigrad, minigrad.nn) of an older minigrad in `path`, imported beside the current one: it is imported
    first, then dropped from sys.modules so that `import minigrad` finds the current package; the old module
    objects keep working through the references their functions hold."""
    import importlib

    def purge() -> None:
        for k in [k for k in sys.modules if k == "minigrad" or k.startswith("minigrad.")]:
            del sys.modules[k]

    if not (Path(path) / "minigrad" / "__init__.py").is_file():
        raise SystemExit(f"--baseline {path}: no minigrad package there (expected {path}/minigrad/__init__.py)")
    purge()
    sys.path.insert(0, path)
    try:
        mg, nn = importlib.import_module("minigrad"), importlib.import_module("minigrad.nn")
    finally:
        sys.path.remove(path)
        purge()
    return mg, nn


def make_baseline_step(cell: str, N: int, T: int, I: int, H: int, base: tuple[Any, Any], seed: int = 0):
    """The same training step as make_minigrad_step's layer path, with the baseline package."""
    import numpy as np

    mg, nn = base
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((N, T, I)).astype(np.float32))
    R = mg.tensor(rng.standard_normal((N, T, H)).astype(np.float32))
    layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](I, H, return_sequences=True)
    params = list(layer.parameters())

    def step() -> None:
        for p in params:
            p.grad = None
        (layer(x) * R).sum().backward()

    return step


def _make_layer(cell: str, I: int, H: int) -> Any:
    """minigrad.nn.LSTM/GRU/RNN returning the whole sequence, if that layer exists (written separately)."""
    import minigrad.nn as nn

    cls = getattr(nn, {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[cell], None)
    if cls is None:
        return None
    for kwargs in ({"input_size": I, "hidden_size": H, "return_sequences": True},
                   {"units": H, "input_size": I, "return_sequences": True}):
        try:
            return cls(**kwargs)
        except TypeError:
            continue
    return None


def make_floor_step(cell: str, N: int, T: int, I: int, H: int, seed: int = 0):
    """The step's matrix multiplications alone, same shapes and dtype, into preallocated outputs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    G = GATES[cell]

    def rand(*shape: int) -> Any:
        return rng.standard_normal(shape).astype(np.float32)

    X2, W_ih, W_hh = rand(T * N, I), rand(I, G * H), rand(H, G * H)
    W_hhT = np.ascontiguousarray(W_hh.T)  # the fastest form of the backward product on this BLAS
    Hs, A, dA = rand(T + 1, N, H), rand(T * N, G * H), rand(T, N, G * H)
    hW, dh = np.empty((N, G * H), np.float32), np.empty((N, H), np.float32)

    def step() -> None:
        np.matmul(X2, W_ih, out=A)                     # input projection, all steps
        for k in range(T):
            np.matmul(Hs[k], W_hh, out=hW)             # forward recurrent GEMMs
        for k in range(T - 1, -1, -1):
            np.matmul(dA[k], W_hhT, out=dh)            # backward recurrent GEMMs
        dA2 = dA.reshape(T * N, G * H)
        _ = X2.T @ dA2                                 # dW_ih
        _ = Hs[:T].reshape(T * N, H).T @ dA2           # dW_hh

    return step


def make_torch_step(cell: str, N: int, T: int, I: int, H: int, threads: int, seed: int = 0):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    mod = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](I, H, batch_first=True)
    x = torch.randn(N, T, I)
    R = torch.randn(N, T, H)
    params = list(mod.parameters())

    def step() -> None:
        for p in params:
            p.grad = None
        hs, _ = mod(x)
        (hs * R).sum().backward()

    return step


# ---- incremental decoding, one token per call --------------------------------------------------------------


def make_decode_steps(cell: str, B: int, threads: int, torch_ok: bool, base: tuple[Any, Any] | None = None,
                      seed: int = 0) -> dict[str, Callable]:
    """step / greedy (minigrad), their floors, torch's, and the baseline's step, for one cell and batch B."""
    import numpy as np

    import minigrad
    import minigrad.nn as nn

    I, H, V, _ = DECODE
    G = GATES[cell]
    rng = np.random.default_rng(seed)
    layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](I, H)
    emb, out = nn.Embedding(V, I), nn.Linear(H, V)
    x = minigrad.tensor(rng.standard_normal((B, I)).astype(np.float32))
    zeros = minigrad.tensor(np.zeros((B, H), np.float32))
    box: dict[str, Any] = {"state": (zeros, zeros) if cell == "lstm" else zeros, "tok": np.zeros(B, np.int64),
                           "gstate": (zeros, zeros) if cell == "lstm" else zeros}

    def step() -> None:
        with minigrad.no_grad():
            _, box["state"] = layer.step(x, box["state"])

    def greedy() -> None:
        with minigrad.no_grad():
            h, box["gstate"] = layer.step(emb(box["tok"]), box["gstate"])
            box["tok"] = out(h).data.argmax(axis=-1)

    xa, ha = rng.standard_normal((B, I)).astype(np.float32), rng.standard_normal((B, H)).astype(np.float32)
    W_ih, W_hh = rng.standard_normal((I, G * H)).astype(np.float32), rng.standard_normal((H, G * H)).astype(np.float32)
    W_out = rng.standard_normal((H, V)).astype(np.float32)
    o1, o2, o3 = (np.empty((B, n), np.float32) for n in (G * H, G * H, V))

    def floor() -> None:
        np.matmul(xa, W_ih, out=o1)
        np.matmul(ha, W_hh, out=o2)

    def floor_greedy() -> None:
        floor()
        np.matmul(ha, W_out, out=o3)

    steps = {"step": step, "floor": floor, "greedy": greedy, "floor_g": floor_greedy}
    if base is not None:
        bmg, bnn = base
        blayer = {"lstm": bnn.LSTM, "gru": bnn.GRU, "rnn": bnn.RNN}[cell](I, H, return_state=True)
        bzeros = bmg.tensor(np.zeros((B, H), np.float32))
        bbox: dict[str, Any] = {"s": (bzeros, bzeros) if cell == "lstm" else bzeros}
        bx = bmg.tensor(x.data)

        def base_step() -> None:
            with bmg.no_grad():
                if hasattr(blayer, "step"):
                    _, bbox["s"] = blayer.step(bx, bbox["s"])
                else:  # decoding as the demos did before layer.step: a T = 1 layer call
                    _, *st = blayer(bx.reshape(B, 1, I), initial_state=bbox["s"])
                    bbox["s"] = tuple(st) if cell == "lstm" else st[0]

        steps["before"] = base_step
    if torch_ok:
        import torch

        torch.set_num_threads(threads)
        tcell = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}[cell](I, H)
        temb, tout = torch.nn.Embedding(V, I), torch.nn.Linear(H, V)
        tx, th = torch.randn(B, I), torch.zeros(B, H)
        tbox: dict[str, Any] = {"s": (th, th) if cell == "lstm" else th, "g": (th, th) if cell == "lstm" else th,
                                "tok": torch.zeros(B, dtype=torch.long)}

        def torch_step() -> None:
            with torch.no_grad():
                tbox["s"] = tcell(tx, tbox["s"])

        def torch_greedy() -> None:
            with torch.no_grad():
                tbox["g"] = tcell(temb(tbox["tok"]), tbox["g"])
                h = tbox["g"][0] if cell == "lstm" else tbox["g"]
                tbox["tok"] = tout(h).argmax(dim=-1)

        steps.update(torch=torch_step, torch_g=torch_greedy)
    return steps


def run_decode(args: argparse.Namespace, threads: int, torch_ok: bool, base: tuple[Any, Any] | None) -> None:
    I, H, V, batches = DECODE
    print(f"\n-- decoding one token per call (input {I}, hidden {H}; greedy: + Embedding({V}, {I}), "
          f"Linear({H}, {V}), argmax), microseconds per token")
    header = f"{'cell':4} {'B':>3} {'step':>8} {'floor':>8} {'x floor':>8}"
    header += f" {'torch':>8} {'x torch':>8}" if torch_ok else ""
    header += f" {'greedy':>8} {'floor':>8} {'x floor':>8}" + (f" {'torch':>8} {'x torch':>8}" if torch_ok else "")
    header += f" {'before':>8} {'x before':>8}" if base is not None else ""
    print(header)
    for cell in args.cells:
        for B in batches:
            steps = make_decode_steps(cell, B, threads, torch_ok, base)
            us = {k: v * 1e3 for k, v in time_interleaved(steps, args.repeat * 20, args.warmup * 5, block=20).items()}
            line = f"{cell:4} {B:3d} {us['step']:8.1f} {us['floor']:8.1f} {us['step'] / us['floor']:8.2f}"
            if torch_ok:
                line += f" {us['torch']:8.1f} {us['step'] / us['torch']:8.2f}"
            line += f" {us['greedy']:8.1f} {us['floor_g']:8.1f} {us['greedy'] / us['floor_g']:8.2f}"
            if torch_ok:
                line += f" {us['torch_g']:8.1f} {us['greedy'] / us['torch_g']:8.2f}"
            if base is not None:
                line += f" {us['before']:8.1f} {us['step'] / us['before']:8.2f}"
            print(line, flush=True)


# ---- timing ----------------------------------------------------------------------------------------------


def time_interleaved(
    steps: dict[str, Callable[[], None]], repeat: int, warmup: int, block: int = 5
) -> dict[str, float]:
    """Median ms per step. The implementations take turns in blocks of `block` timed steps, so a slow phase of
    the machine hits all of them; each block starts with one untimed step, because the thread pools of
    torch (OpenMP) and of NumPy's OpenBLAS keep spinning for a while after their last call and would slow
    the first step of whoever runs next."""
    for _ in range(warmup):
        for f in steps.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in steps}
    while any(len(v) < repeat for v in times.values()):
        for k, f in steps.items():
            f()  # lead-in, not timed
            for _ in range(min(block, repeat - len(times[k]))):
                t0 = time.perf_counter()
                f()
                times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def run_one_setting(args: argparse.Namespace) -> None:
    threads = int(args.threads)
    import numpy as np

    base = load_baseline(args.baseline) if args.baseline else None  # before the current minigrad is imported
    torch_ok = False
    if not args.no_torch:
        try:
            import torch  # noqa: F401

            torch_ok = True
        except ImportError:
            pass
    versions = f"numpy {np.__version__}" + (f", torch {sys.modules['torch'].__version__}" if torch_ok else "")
    with_torch = ", torch.set_num_threads" if torch_ok else ""
    print(f"\n== {threads} thread{'s' if threads > 1 else ''} "
          f"(OPENBLAS/OMP/MKL_NUM_THREADS={threads}{with_torch}); {versions}; "
          f"median of {args.repeat} interleaved steps after {args.warmup} warm-up, float32, ms per step")
    paths = ["layer", "function"] if args.path == "both" else [args.path]
    names = ["minigrad"] if len(paths) == 1 else ["layer", "function"]
    header = f"{'size':4} {'cell':4}" + "".join(f" {n:>9}" for n in names) + f" {'floor':>8} {'x floor':>8}"
    if torch_ok:
        header += f" {'torch':>8} {'x torch':>8}"
    if base is not None:
        header += f" {'before':>8} {'x before':>8}"
    if "train" not in args.what:
        run_decode(args, threads, torch_ok, base)
        return
    print(header)
    labels = set()
    for size in args.sizes:
        N, T, I, H = SIZES[size]
        for cell in args.cells:
            steps = {}
            for name, path in zip(names, paths):
                steps[name], label = make_minigrad_step(cell, N, T, I, H, path)
                labels.add(label)
            steps["floor"] = make_floor_step(cell, N, T, I, H)
            if torch_ok:
                steps["torch"] = make_torch_step(cell, N, T, I, H, threads)
            if base is not None:
                steps["before"] = make_baseline_step(cell, N, T, I, H, base)
            ms = time_interleaved(steps, args.repeat, args.warmup)
            mg = ms[names[0]]  # the ratios are those of the first column
            line = f"{size:4} {cell:4}" + "".join(f" {ms[n]:9.2f}" for n in names)
            line += f" {ms['floor']:8.2f} {mg / ms['floor']:8.2f}"
            if torch_ok:
                line += f" {ms['torch']:8.2f} {mg / ms['torch']:8.2f}"
            if base is not None:
                line += f" {ms['before']:8.2f} {mg / ms['before']:8.2f}"
            print(line, flush=True)
    print("minigrad timed through: " + "; ".join(sorted(labels)))
    if "decode" in args.what:
        run_decode(args, threads, torch_ok, base)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.threads == "both":
        return max(rerun(argv, "1"), rerun(argv, "2"))
    if any(os.environ.get(v) != args.threads for v in THREAD_VARS) or "numpy" in sys.modules:
        return rerun(argv, args.threads)  # NumPy must start with the thread count in its environment
    sys.path.insert(0, str(ROOT))
    run_one_setting(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
