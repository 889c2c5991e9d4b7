"""Time one full training step of each demo model in minigrad and in an equivalent torch model.

A step is what the demos' training loops do: forward, loss, backward, global-norm gradient clipping
(max norm 1), Adam. Each model is built twice from the same weights:

    seq2vec      seq2vec.model.SequenceRegressor with `python -m seq2vec.forecast`'s defaults: LSTM(1 -> 32),
                 Linear(32 -> 1), windows of 20 values, batch 16, MSE, Adam lr 3e-3
    seq2seq      seq2seq.model.Seq2Seq with `python -m seq2seq.train`'s defaults for the built-in corpus:
                 bidirectional LSTM encoder (2 x 128), LSTM decoder 256, Luong attention, emb 128,
                 dropout 0.1, label smoothing 0.1, Adam lr 3e-3, batch 64; sentencepiece (vocab 1000 asked)
                 trained on data/en_ko's training split, and one length-bucketed batch of real sentence
                 pairs (the batch of median source length), as the training loop makes them
    captioning   captioning.model.CaptionModel with `python -m captioning.demo`'s defaults: CNN 16/64/128
                 (3x3 conv, ReLU, 2x2 max-pool, three times) on 32x32 RGB images, image vector 256,
                 emb 32, LSTM 256, Adam lr 2e-3, batch 64 images of the demo's scenes, captions padded
                 to 21 ids (20 input tokens)

The torch twin of each model is written below with torch.nn (Conv2d, LSTM with pack_padded_sequence for
the masked encoder, ...). minigrad's weights are copied into it, and before timing the benchmark asserts
that both give the same loss (relative difference < 1e-4, dropout off) and the same gradient norm
(< 1e-3): the two really compute the same function. Then, for each thread count (NumPy's BLAS through
minigrad.set_num_threads, torch through torch.set_num_threads), the two steps run interleaved in this
process (blocks of 5 timed steps after one untimed step, so a slow phase of the machine hits both) and
the table gives the medians and their ratio, in wall time and in this process's CPU time (with one thread
the CPU time is what the wall time would be on an idle machine; the two differ when other programs run).

Also printed:
  profile   cProfile of minigrad's step (10 steps, on CPU time), the top functions by own time per step
  decoding  the translator with freshly initialised weights (they emit no <eos> on this batch, so every sentence
            runs to max_len = the batch's longest reference, 11 tokens: the same work in every run):
            sentences per second for greedy and beam 5 decoding (Seq2Seq.translate), and the time per
            greedy step against the floor of its matrix products alone in NumPy (LSTM step, attention,
            combine, output projection: the same shapes)
  memory    the peak of one training step above what was allocated before it (weights, Adam state):
            minigrad by tracemalloc (NumPy reports its buffers to it), torch by its profiler's memory
            events (profile_memory=True: every allocation and free of torch's CPU allocator, summed in
            time order)

OpenBLAS picks its kernel from the CPU unless OPENBLAS_CORETYPE says otherwise: run the figures with

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/models.py
    python benchmarks/models.py --models captioning --threads 1 --repeats 30
    python benchmarks/models.py --quick --models seq2vec        # a smoke test (a few seconds)
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import minigrad  # noqa: E402
from minigrad import functional as F  # noqa: E402
from minigrad import optim  # noqa: E402

MODELS = ("seq2vec", "seq2seq", "captioning")
CLIP = 1.0


# ---- one model, twice ---------------------------------------------------------------------------------------


@dataclass
class Case:
    """A model in both frameworks: a loss closure each, its parameters and optimizer, and what the table says."""

    name: str
    shapes: str
    mg_model: Any
    mg_loss: Callable[[], Any]
    mg_lr: float
    torch_model: Any
    torch_loss: Callable[[], Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import torch

        self.mg_params = list(self.mg_model.parameters())
        self.mg_opt = optim.Adam(self.mg_params, lr=self.mg_lr)
        self.torch_params = list(self.torch_model.parameters())
        self.torch_opt = torch.optim.Adam(self.torch_params, lr=self.mg_lr)

    def mg_step(self) -> float:
        self.mg_opt.zero_grad()
        loss = self.mg_loss()
        value = loss.item()
        loss.backward()
        optim.clip_grad_norm_(self.mg_params, CLIP)
        self.mg_opt.step()
        return value

    def torch_step(self) -> float:
        import torch

        self.torch_opt.zero_grad()
        loss = self.torch_loss()
        value = loss.item()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.torch_params, CLIP)
        self.torch_opt.step()
        return value

    def check_equivalence(self) -> tuple[float, float, float, float]:
        """Loss and gradient norm of both, dropout off, no update; AssertionError if they differ."""
        import torch

        self.mg_model.eval()
        self.torch_model.eval()
        self.mg_opt.zero_grad()
        self.torch_opt.zero_grad()
        loss = self.mg_loss()
        loss.backward()
        tloss = self.torch_loss()
        tloss.backward()
        mg_norm = optim.clip_grad_norm_(self.mg_params, math.inf)
        # torch's RNNs carry two biases (bias_ih, bias_hh) where minigrad has one: count one of them
        t_norm = float(torch.nn.utils.clip_grad_norm_(
            [p for n, p in self.torch_model.named_parameters() if "bias_hh" not in n], math.inf))
        self.mg_opt.zero_grad()
        self.torch_opt.zero_grad()
        self.mg_model.train()
        self.torch_model.train()
        a, b = float(loss.item()), float(tloss.item())
        assert abs(a - b) <= 1e-4 * max(1.0, abs(b)), f"{self.name}: losses differ: minigrad {a}, torch {b}"
        assert abs(mg_norm - t_norm) <= 1e-3 * max(1.0, t_norm), \
            f"{self.name}: gradient norms differ: minigrad {mg_norm}, torch {t_norm}"
        return a, b, mg_norm, t_norm


def _t(a: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))


def _copy_linear(tl: Any, ml: Any) -> None:
    """minigrad's Linear keeps W as (in, out) (Keras); torch's as (out, in)."""
    tl.weight.data.copy_(_t(ml.weight.data.T))
    if ml.bias is not None:
        tl.bias.data.copy_(_t(ml.bias.data))


def _copy_rnn(tl: Any, ml: Any) -> None:
    """LSTM / Bidirectional(LSTM): minigrad converts its weights to torch's names and layout itself."""
    tl.load_state_dict({k: _t(v) for k, v in ml.torch_state_dict().items()})


# ---- seq2vec -----------------------------------------------------------------------------------------------


def build_seq2vec(quick: bool) -> Case:
    import torch

    from seq2vec.model import SequenceRegressor

    N, T, H = 16, 20, 32  # seq2vec.forecast: --batch-size 16 --window 20 --hidden 32, one LSTM layer
    rng = np.random.default_rng(0)
    X = (0.05 * rng.standard_normal((N, T, 1))).astype(np.float32)  # window changes (--target delta)
    y = (0.05 * rng.standard_normal((N, 1))).astype(np.float32)
    minigrad.manual_seed(0)
    model = SequenceRegressor("lstm", 1, H)

    class TorchRegressor(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(1, H, batch_first=True)
            self.head = torch.nn.Linear(H, 1)

        def forward(self, x: Any) -> Any:
            _, (h, _) = self.lstm(x)
            return self.head(h[0])

    tm = TorchRegressor()
    _copy_rnn(tm.lstm, model.rnn[0])
    _copy_linear(tm.head, model.head)
    tX, ty = _t(X), _t(y)
    return Case("seq2vec", f"LSTM 1->{H}, T {T}, batch {N}", model,
                lambda: F.mse_loss(model(minigrad.tensor(X)), y), 3e-3,
                tm, lambda: torch.nn.functional.mse_loss(tm(tX), ty))


# ---- seq2seq -----------------------------------------------------------------------------------------------


def seq2seq_batch(batch_size: int = 64) -> tuple[Any, Any, Any]:
    """The built-in corpus tokenized as `python -m seq2seq.train` does, and its batch of median length."""
    from seq2seq import data

    splits = data.load_corpus()
    src_tok, tgt_tok = data.build_tokenizers(splits, char_level=False, vocab_size=1000)
    encoded = data.encode_pairs(splits.train, src_tok, tgt_tok)
    batches = data.make_batches(encoded, batch_size, np.random.default_rng(0))
    full = [b for b in batches if len(b.src) == batch_size]
    full.sort(key=lambda b: (b.src.shape[1], b.tgt_in.shape[1]))
    return full[len(full) // 2], src_tok, tgt_tok


def build_seq2seq(quick: bool) -> Case:
    import torch

    from seq2seq.model import ModelConfig, Seq2Seq

    batch, src_tok, tgt_tok = seq2seq_batch()
    cfg = ModelConfig(src_vocab=src_tok.vocab_size, tgt_vocab=tgt_tok.vocab_size, emb=128, hidden=256,
                      layers=1, cell="lstm", bidirectional=True, attention="luong", dropout=0.1)
    minigrad.manual_seed(0)
    model = Seq2Seq(cfg)
    smoothing = 0.1  # seq2seq.train's --label-smoothing default
    E, H, V = cfg.emb, cfg.hidden, cfg.tgt_vocab
    tnn = torch.nn

    class TorchSeq2Seq(tnn.Module):
        """The same equations with torch.nn; the masked encoder is a packed sequence."""

        def __init__(self) -> None:
            super().__init__()
            self.src_emb = tnn.Embedding(cfg.src_vocab, E, padding_idx=0)
            self.encoder = tnn.LSTM(E, H // 2, batch_first=True, bidirectional=True)
            self.bridge_h, self.bridge_c = tnn.Linear(H, H), tnn.Linear(H, H)
            self.tgt_emb = tnn.Embedding(V, E, padding_idx=0)
            self.decoder = tnn.LSTM(E, H, batch_first=True)
            self.attn_W = tnn.Linear(H, H, bias=False)
            self.combine = tnn.Linear(2 * H, H)
            self.out = tnn.Linear(H, V)
            self.drop = tnn.Dropout(cfg.dropout)

        def forward(self, src: Any, lengths: Any, mask: Any, tgt_in: Any, tgt_out: Any) -> Any:
            S = src.shape[1]
            x = self.drop(self.src_emb(src))
            packed = tnn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            memory, (h, c) = self.encoder(packed)
            memory, _ = tnn.utils.rnn.pad_packed_sequence(memory, batch_first=True, total_length=S)
            h0 = torch.tanh(self.bridge_h(torch.cat([h[0], h[1]], -1)))
            c0 = self.bridge_c(torch.cat([c[0], c[1]], -1))
            y, _ = self.decoder(self.drop(self.tgt_emb(tgt_in)), (h0[None], c0[None]))
            scores = y @ self.attn_W(memory).transpose(1, 2)  # (N, T, S)
            weights = torch.softmax(scores.masked_fill(~mask[:, None, :], -1e9), dim=-1)
            o = torch.tanh(self.combine(torch.cat([weights @ memory, y], -1)))
            logits = self.out(self.drop(o))
            return tnn.functional.cross_entropy(logits.reshape(-1, V), tgt_out.reshape(-1), ignore_index=0,
                                                label_smoothing=smoothing)

    tm = TorchSeq2Seq()
    tm.src_emb.weight.data.copy_(_t(model.encoder.embedding.weight.data))
    _copy_rnn(tm.encoder, model.encoder.rnns[0])
    _copy_linear(tm.bridge_h, model.bridge_h[0])
    _copy_linear(tm.bridge_c, model.bridge_c[0])
    tm.tgt_emb.weight.data.copy_(_t(model.embedding.weight.data))
    _copy_rnn(tm.decoder, model.rnns[0])
    for name in ("attn_W", "combine", "out"):
        _copy_linear(getattr(tm, name), getattr(model, name))
    args = (_t(batch.src), torch.from_numpy(batch.src_mask.sum(1)), _t(batch.src_mask), _t(batch.tgt_in),
            _t(batch.tgt_out))
    N, S = batch.src.shape
    T = batch.tgt_in.shape[1]
    shapes = (f"biLSTM 2x{H // 2} + LSTM {H}, Luong; emb {E}, vocab {cfg.src_vocab}/{V}, batch {N}, "
              f"source {S} / target {T} tokens")
    return Case("seq2seq", shapes, model, lambda: model.loss(batch, smoothing), 3e-3, tm, lambda: tm(*args),
                extra={"batch": batch, "cfg": cfg})


# ---- captioning --------------------------------------------------------------------------------------------


def build_captioning(quick: bool) -> Case:
    import torch

    from captioning import data
    from captioning.model import CaptionModel

    N, T = 64, 20  # the demo's --batch-size; captions padded to T + 1 ids
    splits = data.make_dataset(2000, 0, 0, n_heldout=0, seed=0)  # 2,000 captions hold every word
    vocab = data.Vocab.build(splits["train"].captions)
    images = splits["train"].images[:N].astype(np.float32)
    captions = vocab.encode_batch(splits["train"].captions[:N], max_len=T + 1)
    minigrad.manual_seed(0)
    model = CaptionModel(len(vocab), image_size=32, channels=(16, 64, 128), image_dim=256, emb=32, hidden=256)
    c1, c2, c3 = model.config["channels"]
    D, E, H, V = model.config["image_dim"], model.config["emb"], model.config["hidden"], len(vocab)
    tnn = torch.nn

    class TorchCaptioner(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(3, c1, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                tnn.Conv2d(c1, c2, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                tnn.Conv2d(c2, c3, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten())
            self.project = tnn.Linear(c3 * 4 * 4, D)
            self.init_h, self.init_c = tnn.Linear(D, H), tnn.Linear(D, H)
            self.embed = tnn.Embedding(V, E, padding_idx=0)
            self.lstm = tnn.LSTM(E, H, batch_first=True)
            self.out = tnn.Linear(H, V)

        def forward(self, images: Any, captions: Any) -> Any:
            v = self.project(self.features(images * 2.0 - 1.0))
            h0, c0 = torch.tanh(self.init_h(v)), self.init_c(v)
            y, _ = self.lstm(self.embed(captions[:, :-1]), (h0[None], c0[None]))
            logits = self.out(y)
            return tnn.functional.cross_entropy(logits.reshape(-1, V), captions[:, 1:].reshape(-1), ignore_index=0)

    tm = TorchCaptioner()
    convs = [m for m in model.encoder.features if hasattr(m, "weight")]
    for tc, mc in zip([m for m in tm.features if isinstance(m, tnn.Conv2d)], convs):
        tc.weight.data.copy_(_t(mc.weight.data))  # the same (F, C, kh, kw) layout
        tc.bias.data.copy_(_t(mc.bias.data))
    for name in ("init_h", "init_c", "out"):
        _copy_linear(getattr(tm, name), getattr(model, name))
    _copy_linear(tm.project, model.encoder.project)
    tm.embed.weight.data.copy_(_t(model.embed.weight.data))
    _copy_rnn(tm.lstm, model.lstm)
    t_images, t_caps = _t(images), _t(captions)
    shapes = f"CNN {c1}/{c2}/{c3} on 32x32 + LSTM {H}, emb {E}, vocab {V}, batch {N}, {T} tokens"
    return Case("captioning", shapes, model, lambda: model.loss(images, captions), 2e-3, tm,
                lambda: tm(t_images, t_caps))


BUILDERS = {"seq2vec": build_seq2vec, "seq2seq": build_seq2seq, "captioning": build_captioning}


# ---- timing ------------------------------------------------------------------------------------------------


def time_interleaved(steps: dict[str, Callable[[], Any]], repeats: int, warmup: int, block: int = 5
                     ) -> dict[str, tuple[float, float]]:
    """Median (wall ms, CPU ms) per call. The implementations take turns in blocks of `block` timed calls, each
    block after one untimed call: torch's OpenMP threads and OpenBLAS's threads keep spinning for a while after
    their last call and would slow the first call of whoever runs next. CPU time is this process's (all its
    threads): with one thread it is what the wall time would be on an idle machine."""
    for _ in range(warmup):
        for f in steps.values():
            f()
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in steps}
    while any(len(v) < repeats for v in times.values()):
        for k, f in steps.items():
            f()
            for _ in range(min(block, repeats - len(times[k]))):
                t0, c0 = time.perf_counter(), time.process_time()
                f()
                times[k].append(((time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3))
    return {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}


def set_threads(n: int) -> None:
    import torch

    minigrad.set_num_threads(n)
    torch.set_num_threads(n)


# ---- profile -----------------------------------------------------------------------------------------------


def profile_step(case: Case, steps: int, top: int) -> list[str]:
    """cProfile of `steps` minigrad steps: the `top` functions by own time, per step."""
    case.mg_step()
    prof = cProfile.Profile(time.process_time)  # CPU time: other processes on the machine do not inflate it
    prof.enable()
    for _ in range(steps):
        case.mg_step()
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt / steps * 1e3
    rows = sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:top]
    lines = [f"  {'own ms':>7} {'cum ms':>7} {'calls':>7}  function   (per step; {total:.1f} ms in all under "
             f"the profiler)"]
    for (path, line, name), (_, ncalls, tottime, cumtime, _) in rows:
        where = name if path == "~" else f"{_short(path)}:{line}({name})"
        lines.append(f"  {tottime / steps * 1e3:7.2f} {cumtime / steps * 1e3:7.2f} {ncalls / steps:7.0f}  {where}")
    return lines


def _short(path: str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(ROOT))
    except ValueError:
        parts = p.parts
        return "/".join(parts[parts.index("site-packages") + 1:]) if "site-packages" in parts else p.name


# ---- memory ------------------------------------------------------------------------------------------------


def peak_memory(case: Case) -> tuple[float, float]:
    """MB allocated at the peak of one step above the level before it: (minigrad, torch)."""
    from torch.profiler import ProfilerActivity, profile

    case.mg_step()  # Adam's state exists before the measured step, in both
    case.torch_step()
    # the old gradients are freed before measuring: torch's profiler cannot see the size of a block
    # allocated before it started
    case.mg_opt.zero_grad()
    case.torch_opt.zero_grad()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    case.mg_step()
    mg_peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        case.torch_step()
    level = t_peak = 0
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    for e in sorted(events, key=lambda e: e.start_ns()):
        level += e.nbytes()  # negative for a free
        t_peak = max(t_peak, level)
    return mg_peak / 2**20, t_peak / 2**20


# ---- decoding ----------------------------------------------------------------------------------------------


def decoding_rates(case: Case, repeats: int) -> dict[str, float]:
    """Translator decoding: sentences/s greedy and beam 5, ms per greedy step and its GEMM floor."""
    from demokit.decoding import greedy_decode
    from seq2seq.data import BOS, EOS
    from seq2seq.model import Seq2Seq

    batch, cfg = case.extra["batch"], case.extra["cfg"]
    minigrad.manual_seed(0)
    model = Seq2Seq(cfg)  # not the one the timed steps trained on this batch: that one learns where to stop
    N, S = batch.src.shape
    max_len = batch.tgt_out.shape[1]
    out: dict[str, float] = {"N": N, "max_len": max_len}
    for beam in (1, 5):
        model.translate(batch.src, batch.src_mask, beam=beam, max_len=max_len)  # warm-up
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.translate(batch.src, batch.src_mask, beam=beam, max_len=max_len)
            ts.append(time.perf_counter() - t0)
        out[f"beam{beam}"] = N / statistics.median(ts)
    # per step: time the step function itself inside greedy decoding
    step_times: list[float] = []
    rows: list[int] = []

    def timed_step(tokens: np.ndarray, state: Any) -> Any:
        t0 = time.perf_counter()
        r = model._step_fn(tokens, state)
        step_times.append(time.perf_counter() - t0)
        rows.append(len(tokens))
        return r

    model.eval()
    with minigrad.no_grad():
        for _ in range(repeats):
            enc = model.encode(batch.src, batch.src_mask)
            greedy_decode(timed_step, enc, N, BOS, EOS, max_len)
    model.train()
    out["step_ms"] = statistics.median(step_times) * 1e3
    out["steps"] = len(step_times) / repeats
    out["rows"] = statistics.median(rows)
    out["floor_ms"] = _decode_floor_ms(int(out["rows"]), S, cfg.emb, cfg.hidden, cfg.tgt_vocab, repeats * 10)
    return out


def _decode_floor_ms(B: int, S: int, E: int, H: int, V: int, repeats: int) -> float:
    """The matrix products of one decoder step alone, same shapes, float32, into preallocated outputs."""
    rng = np.random.default_rng(0)

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    x, h, W_ih, W_hh = r(B, E), r(B, H), r(E, 4 * H), r(H, 4 * H)
    keys, memory, W_c, W_o = r(B, S, H), r(B, S, H), r(2 * H, H), r(H, V)
    g1, g2 = np.empty((B, 4 * H), np.float32), np.empty((B, 4 * H), np.float32)
    sc, ctx = np.empty((B, 1, S), np.float32), np.empty((B, 1, H), np.float32)
    ch, o, lo = r(B, 2 * H), np.empty((B, H), np.float32), np.empty((B, V), np.float32)

    def step() -> None:
        np.matmul(x, W_ih, out=g1)                                  # LSTM input projection
        np.matmul(h, W_hh, out=g2)                                  # LSTM recurrent product
        np.matmul(h[:, None, :], keys.transpose(0, 2, 1), out=sc)   # attention scores
        np.matmul(sc, memory, out=ctx)                              # context
        np.matmul(ch, W_c, out=o)                                   # W_c [c; h]
        np.matmul(o, W_o, out=lo)                                   # output projection

    return time_interleaved({"floor": step}, repeats, 3)["floor"][0]


# ---- report ------------------------------------------------------------------------------------------------


def blas_info() -> str:
    from threadpoolctl import threadpool_info

    parts = []
    for i in threadpool_info():
        if i.get("user_api") == "blas":
            parts.append(f"{i.get('internal_api')} {i.get('version')}, kernel {i.get('architecture')}")
    env = {v: os.environ[v] for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ}
    return "; ".join(parts) + (f"; environment {env}" if env else "; OPENBLAS_CORETYPE/L2_SIZE not set")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    p.add_argument("--threads", default="1,2", help="comma-separated BLAS/torch thread counts (default 1,2)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed steps per implementation and setting (default 20; 3 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke test: few repeats, short decoding, a 2-step profile")
    args = p.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in args.models if m not in MODELS]
    if bad or not args.models:
        p.error(f"--models: unknown or empty entries {bad}; choose from {','.join(MODELS)}")
    try:
        args.threads = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        p.error(f"--threads must be comma-separated integers, got {args.threads!r}")
    if not args.threads or min(args.threads) < 1:
        p.error("--threads needs positive integers")
    if args.repeats is None:
        args.repeats = 3 if args.quick else 20
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        print("benchmarks/models.py compares with torch, which is not installed (pip install torch)")
        return 1
    quick = args.quick
    warmup = 1 if quick else 3
    print(f"numpy {np.__version__}, torch {torch.__version__}; BLAS: {blas_info()}")
    print(f"float32; median of {args.repeats} interleaved steps after {warmup} warm-up; a step = forward, loss, "
          f"backward, clip_grad_norm_({CLIP}), Adam")
    cases = {}
    for name in args.models:
        case = BUILDERS[name](quick)
        a, b, gn, tgn = case.check_equivalence()
        print(f"{name}: {case.shapes}\n    equivalence (dropout off): loss minigrad {a:.6f} torch {b:.6f}; "
              f"gradient norm {gn:.6f} / {tgn:.6f}")
        cases[name] = case
    print(f"\n{'model':<11} {'threads':>7} {'minigrad ms':>12} {'torch ms':>9} {'ratio':>6}   "
          f"{'minigrad CPU ms':>15} {'torch CPU ms':>12} {'ratio':>6}")
    for n in args.threads:
        set_threads(n)
        for name, case in cases.items():
            r = time_interleaved({"minigrad": case.mg_step, "torch": case.torch_step}, args.repeats, warmup)
            (mw, mc), (tw, tc) = r["minigrad"], r["torch"]
            print(f"{name:<11} {n:>7} {mw:12.1f} {tw:9.1f} {mw / tw:6.2f}   {mc:15.1f} {tc:12.1f} {mc / tc:6.2f}",
                  flush=True)
    print("(ms: wall time per step; CPU ms: this process's CPU time per step, all threads, so with 2 threads it "
          "also counts threads spinning while they wait)")

    set_threads(args.threads[0])
    for name, case in cases.items():
        print(f"\nprofile of minigrad's {name} step ({args.threads[0]} thread(s); cProfile on CPU time):")
        for line in profile_step(case, 2 if quick else 10, 12):
            print(line)

    if "seq2seq" in cases:
        print("\ntranslator decoding (fresh weights, every sentence runs to max_len; Seq2Seq.translate):")
        print(f"{'threads':>7} {'greedy sent/s':>14} {'beam 5 sent/s':>14} {'ms/greedy step':>15} "
              f"{'GEMM floor ms':>14} {'x floor':>8}")
        for n in args.threads:
            set_threads(n)
            d = decoding_rates(cases["seq2seq"], 2 if quick else 5)
            print(f"{n:>7} {d['beam1']:14.1f} {d['beam5']:14.1f} {d['step_ms']:15.3f} {d['floor_ms']:14.3f} "
                  f"{d['step_ms'] / d['floor_ms']:8.2f}")
        print(f"    batch of {d['N']} sentences, max_len {d['max_len']}, {d['steps']:.0f} greedy steps of "
              f"{d['rows']:.0f} rows each (median)")

    set_threads(args.threads[0])
    print(f"\npeak memory of one training step above the level before it ({args.threads[0]} thread(s)); "
          "minigrad: tracemalloc, torch: torch.profiler memory events")
    print(f"{'model':<11} {'minigrad MB':>12} {'torch MB':>9} {'ratio':>6}")
    for name, case in cases.items():
        m, t = peak_memory(case)
        print(f"{name:<11} {m:12.1f} {t:9.1f} {m / t:6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
