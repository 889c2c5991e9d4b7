"""Time minigrad's own overhead: an MLP training step, and the cost per op of a long chain of tiny ops.

(a) One training step of a 2-layer MLP, float32: x (N, 784) -> Linear(784, 256) -> ReLU -> Linear(256, 10)
    -> cross_entropy, backward, SGD update p -= lr * dp. The same step is timed three ways, from the same
    initial weights (the losses of two untimed steps are checked to agree, so the updates agree too):
        minigrad   nn.Linear, F.cross_entropy, optim.SGD
        NumPy      the forward and a hand-written backward, no engine: the floor for this step
        torch      torch.nn.Linear etc. (skipped if torch is not installed)
(b) A chain of tiny elementwise ops on (4, 4) float32 arrays, y = y * a + b repeated (--ops ops in all,
    a and b requiring gradients like weights), then backward from y. Printed in MICROSECONDS PER OP for
    forward, backward and both, next to NumPy doing the same arithmetic by hand (forward: the two ufuncs;
    backward: db += dy, da += dy * y_prev, dy = dy * a). The difference is the engine's overhead per op:
    what an RNN pays for every small op of every time step.

Each figure is the median (or, with --stat min, the best) of --repeat runs after a warm-up. NumPy's BLAS
and torch run --threads threads (1 by default: the per-op figures are single-threaded anyway, and on a busy
2-core machine spin-waiting BLAS threads made the MLP step 0.7 -> 64 ms). Part (a) is mostly three GEMMs,
so it measures BLAS as much as the engine; part (b) measures the engine itself.

    python benchmarks/engine.py                  # both parts
    python benchmarks/engine.py --repeat 50 --ops 2000 --no-torch
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import minigrad as mg  # noqa: E402
from minigrad import functional as F  # noqa: E402
from minigrad import nn, optim  # noqa: E402

IN, HIDDEN, OUT, LR = 784, 256, 10, 0.1
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Time minigrad's overhead per tiny op and an MLP training step, vs NumPy and torch.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--repeat", type=int, default=20, help="timed runs per measurement")
    p.add_argument("--stat", choices=("median", "min"), default="median",
                   help="figure reported over the runs; min is steadier on a busy machine")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    p.add_argument("--ops", type=int, default=1000, help="length of the tiny-op chain (even: mul, add pairs)")
    p.add_argument("--batch", type=int, default=64, help="MLP batch size")
    p.add_argument("--part", choices=("a", "b", "both"), default="both", help="(a) MLP step, (b) tiny ops")
    p.add_argument("--no-torch", action="store_true", help="skip the torch comparison")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS and torch threads (0: leave the environment's defaults)")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        p.error("--repeat must be >= 1 and --warmup >= 0")
    if args.ops < 2 or args.ops % 2:
        p.error(f"--ops must be an even number >= 2 (pairs of mul and add), got {args.ops}")
    if args.batch < 1:
        p.error(f"--batch must be >= 1, got {args.batch}")
    if args.threads < 0:
        p.error(f"--threads must be >= 0, got {args.threads}")
    return args


def set_blas_threads(threads: int, argv: list[str] | None) -> None:
    """BLAS reads its thread count when NumPy is loaded, so re-run this script with the variables set."""
    if threads == 0 or all(os.environ.get(v) == str(threads) for v in THREAD_VARS):
        return
    for v in THREAD_VARS:
        os.environ[v] = str(threads)
    script_args = sys.argv[1:] if argv is None else argv
    os.execv(sys.executable, [sys.executable, str(Path(__file__).resolve()), *script_args])


def summarise(times: list[float], stat: str) -> float:
    return min(times) if stat == "min" else statistics.median(times)


def time_step(fn: Callable[[], Any], args: argparse.Namespace) -> float:
    """Wall time of fn() in seconds (median or min over args.repeat runs, after args.warmup)."""
    for _ in range(args.warmup):
        fn()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return summarise(times, args.stat)


def load_torch(skip: bool, threads: int) -> Any:
    if skip:
        return None
    try:
        import torch
    except ImportError:
        return None
    if threads:
        torch.set_num_threads(threads)
    return torch


# ---- (a) MLP training step --------------------------------------------------------------------------------


def mlp_minigrad(x: np.ndarray, y: np.ndarray) -> tuple[Callable[[], float], list[np.ndarray]]:
    """The minigrad step and the initial weights [W1 (784, 256), b1, W2 (256, 10), b2] (copies)."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, OUT))
    for p in model.parameters():  # non-zero biases, so the check also covers the bias terms
        p.data += np.float32(0.01)
    opt = optim.SGD(model.parameters(), lr=LR)
    xt = mg.tensor(x)

    def step() -> float:
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step, [p.data.copy() for p in model.parameters()]


def mlp_numpy(x: np.ndarray, y: np.ndarray, weights: list[np.ndarray]) -> Callable[[], float]:
    """The same step with a hand-written backward: the floor no autograd engine can beat."""
    W1, b1, W2, b2 = (w.copy() for w in weights)
    N = len(x)
    rows = np.arange(N)

    def step() -> float:
        h = x @ W1 + b1  # (N, 256)
        r = np.maximum(h, 0)
        z = r @ W2 + b2  # (N, 10)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, y]).mean()
        dz = p  # d loss / d z = (softmax - onehot) / N
        dz[rows, y] -= 1
        dz /= N
        dW2, db2 = r.T @ dz, dz.sum(axis=0)
        dh = dz @ W2.T
        dh[h <= 0] = 0  # relu' = 1 where h > 0
        dW1, db1 = x.T @ dh, dh.sum(axis=0)
        for w, g in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2)):
            w -= LR * g
        return float(loss)

    return step


def mlp_torch(torch: Any, x: np.ndarray, y: np.ndarray, weights: list[np.ndarray]) -> Callable[[], float]:
    model = torch.nn.Sequential(torch.nn.Linear(IN, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, OUT))
    W1, b1, W2, b2 = weights
    with torch.no_grad():  # our weights are (in, out); torch's are (out, in)
        model[0].weight.copy_(torch.from_numpy(W1.T.copy()))
        model[0].bias.copy_(torch.from_numpy(b1))
        model[2].weight.copy_(torch.from_numpy(W2.T.copy()))
        model[2].bias.copy_(torch.from_numpy(b2))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> float:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def bench_mlp(args: argparse.Namespace, torch: Any) -> list[tuple[str, float]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, IN)).astype(np.float32)
    y = rng.integers(0, OUT, args.batch)
    ours, weights = mlp_minigrad(x, y)
    steps = {"minigrad": ours, "NumPy (hand backward)": mlp_numpy(x, y, weights)}
    if torch is not None:
        steps["torch"] = mlp_torch(torch, x, y, weights)
    # two untimed steps each from the same weights: the second loss depends on the first update, so equal
    # losses mean equal forward AND backward; otherwise we would be timing different work
    losses = {name: (step(), step()) for name, step in steps.items()}
    ref = losses["NumPy (hand backward)"]
    for name, pair in losses.items():
        if any(abs(a - b) > 1e-4 * max(1.0, abs(b)) for a, b in zip(pair, ref)):
            raise SystemExit(f"MLP check failed: {name} losses {pair} != NumPy losses {ref}")
    return [(name, time_step(step, args)) for name, step in steps.items()]


# ---- (b) tiny elementwise ops ----------------------------------------------------------------------------


def chain_minigrad(n_ops: int) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    """forward() builds y = y * a + b, n_ops ops in all; backward(y) runs y.backward(ones)."""
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.random((4, 4)), requires_grad=True)
    a = mg.tensor(0.95 + 0.1 * rng.random((4, 4)), requires_grad=True)  # |a| ~ 1: no overflow in 1,000 ops
    b = mg.tensor(0.01 * rng.random((4, 4)), requires_grad=True)
    ones = np.ones((4, 4), dtype=np.float32)

    def forward() -> mg.Tensor:
        for t in (x, a, b):
            t.grad = None
        y = x
        for _ in range(n_ops // 2):
            y = y * a + b
        return y

    def backward(y: mg.Tensor) -> None:
        y.backward(ones)

    return forward, backward


def chain_numpy(n_ops: int) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    """The same arithmetic without an engine: forward keeps each y for backward, as the engine does."""
    rng = np.random.default_rng(1)
    x = rng.random((4, 4)).astype(np.float32)
    a = (0.95 + 0.1 * rng.random((4, 4))).astype(np.float32)
    b = (0.01 * rng.random((4, 4))).astype(np.float32)

    def forward() -> list[np.ndarray]:
        saved = []
        y = x
        for _ in range(n_ops // 2):
            saved.append(y)
            y = y * a + b
        return saved

    def backward(saved: list[np.ndarray]) -> None:
        dy = np.ones((4, 4), dtype=np.float32)
        da, db = np.zeros_like(a), np.zeros_like(b)
        for y_prev in reversed(saved):
            db += dy  # (y * a) + b: d/db = 1
            da += dy * y_prev  # y_prev * a: d/da = y_prev
            dy = dy * a  # d/dy_prev = a

    return forward, backward


def chain_torch(torch: Any, n_ops: int) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.random((4, 4)), dtype=torch.float32, requires_grad=True)
    a = torch.tensor(0.95 + 0.1 * rng.random((4, 4)), dtype=torch.float32, requires_grad=True)
    b = torch.tensor(0.01 * rng.random((4, 4)), dtype=torch.float32, requires_grad=True)
    ones = torch.ones(4, 4)

    def forward() -> Any:
        for t in (x, a, b):
            t.grad = None
        y = x
        for _ in range(n_ops // 2):
            y = y * a + b
        return y

    def backward(y: Any) -> None:
        y.backward(ones)

    return forward, backward


def time_chain(forward: Callable[[], Any], backward: Callable[[Any], None], args: argparse.Namespace
               ) -> tuple[float, float]:
    """Forward and backward time of the chain (median or min over runs), in seconds per op."""
    fwd, bwd = [], []
    for i in range(args.warmup + args.repeat):
        t0 = time.perf_counter()
        y = forward()
        t1 = time.perf_counter()
        backward(y)
        t2 = time.perf_counter()
        if i >= args.warmup:
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
        del y
    return summarise(fwd, args.stat) / args.ops, summarise(bwd, args.stat) / args.ops


def bench_chain(args: argparse.Namespace, torch: Any) -> dict[str, tuple[float, float]]:
    impls = {"minigrad": chain_minigrad(args.ops), "NumPy": chain_numpy(args.ops)}
    if torch is not None:
        impls["torch"] = chain_torch(torch, args.ops)
    return {name: time_chain(fwd, bwd, args) for name, (fwd, bwd) in impls.items()}


# ---- report ---------------------------------------------------------------------------------------------


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(title)
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    set_blas_threads(args.threads, argv)
    torch = load_torch(args.no_torch, args.threads)
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    threads = f"BLAS threads {blas}, " + (f"torch threads {torch.get_num_threads()}" if torch else "no torch")
    versions = f"numpy {np.__version__}, minigrad {mg.__version__}"
    print(f"{versions}, {threads}; {args.stat} of {args.repeat} runs\n")

    if args.part in ("a", "both"):
        results = bench_mlp(args, torch)
        base = dict(results)["NumPy (hand backward)"]
        rows = [[name, f"{t * 1e3:.3f}", f"{t / base:.2f}x"] for name, t in results]
        title = f"(a) MLP training step: batch {args.batch}, {IN} -> {HIDDEN} -> {OUT}, cross-entropy, SGD"
        print_table(title, ["implementation", "ms / step", "vs NumPy"], rows)

    if args.part in ("b", "both"):
        res = bench_chain(args, torch)
        # per implementation: (forward, backward, forward + backward) in microseconds per op
        us = {name: (f * 1e6, b * 1e6, (f + b) * 1e6) for name, (f, b) in res.items()}
        header = ["us per op", "minigrad", "NumPy", "overhead"] + (["torch"] if "torch" in us else [])
        rows = []
        for k, label in enumerate(("forward", "backward", "forward+backward")):
            m, n = us["minigrad"][k], us["NumPy"][k]
            rows.append([label, f"{m:.2f}", f"{n:.2f}", f"{m - n:.2f}"] + (
                [f"{us['torch'][k]:.2f}"] if "torch" in us else []))
        print_table(f"(b) {args.ops:,} elementwise ops on (4, 4) float32 (y = y * a + b), then backward",
                    header, rows)
        print("overhead = minigrad - NumPy doing the same arithmetic by hand: the engine's cost per op")


if __name__ == "__main__":
    main()
