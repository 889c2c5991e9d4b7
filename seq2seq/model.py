"""The encoder-decoder translator: (bidirectional) LSTM/GRU encoder, LSTM/GRU decoder, optional attention.

    source ids (N, S) --Embedding--> (N, S, E) --(Bi)LSTM x layers--> outputs H_src (N, S, H), final states
    final states --bridge--> decoder initial state (one per decoder layer)
    target ids (N, T) --Embedding--> (N, T, E) --LSTM x layers--> h_t (N, T, H)
    attention "luong":    score(h_t, s) = h_t . (W_a h_s)              ("general", Luong et al. 2015)
                          a_t = masked_softmax(score(h_t, .))            over the real source positions
                          c_t = sum_s a_t[s] h_s
                          o_t = tanh(W_c [c_t ; h_t])                    (the "attentional hidden state")
    attention "bahdanau": score(s_{t-1}, s) = v . tanh(W_q s_{t-1} + W_k h_s) (additive, Bahdanau et al. 2015)
                          c_t from the PREVIOUS decoder state, fed into the RNN: x_t = [emb(y_{t-1}) ; c_t]
                          o_t = tanh(W_c [c_t ; h_t])
    attention "none":     o_t = h_t  (the plain seq2seq of Sutskever et al.: everything through the state)
    logits_t = W_out o_t + b  (N, T, V);  loss = masked cross-entropy (PAD ignored) with label smoothing.

H is `hidden`. With bidirectional=True each encoder direction has hidden // 2 units and their outputs are
concatenated, so encoder outputs and decoder states have the same width H.

Speed: with luong/none attention and teacher forcing 1.0, training runs the decoder RNN over the whole
target in ONE fused layer call, then attention for all T steps at once with two batched matmuls, and one
output projection for all N*T positions: no Python loop over time. Bahdanau (its context enters the RNN
input, so it needs h_{t-1} first) and teacher forcing < 1 (the input depends on the previous prediction)
step through time with the same layer weights, T = 1 at a time. Decoding always steps.

Masks: padding never reaches anything. The encoder RNN takes the source mask (padding keeps the state,
so the final state is each row's last real state); attention scores on padding are set to -1e9 before the
softmax, whose exp underflows to exactly 0, so each row of weights sums to 1 over the real positions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

import minigrad
from demokit.decoding import beam_search, greedy_decode
from minigrad import Tensor, nn
from minigrad import functional as F
from seq2seq.data import BOS, EOS, PAD, Batch

CELLS = ("lstm", "gru")
ATTENTIONS = ("none", "bahdanau", "luong")
NEG = -1e9  # score for padded positions: exp(-1e9 - max) is exactly 0.0 in float32


@dataclass
class ModelConfig:
    """Everything that fixes the model's shape (stored in checkpoints)."""

    src_vocab: int
    tgt_vocab: int
    emb: int = 128
    hidden: int = 256
    layers: int = 1
    cell: str = "lstm"
    bidirectional: bool = True
    attention: str = "luong"
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {self.cell!r}")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {self.attention!r}")
        for name in ("src_vocab", "tgt_vocab", "emb", "hidden", "layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.bidirectional and self.hidden % 2:
            raise ValueError(
                f"a bidirectional encoder splits --hidden between two directions: use an even "
                f"number, got {self.hidden}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rnn(cell: str, input_size: int, hidden: int) -> nn.Module:
    layer = nn.LSTM if cell == "lstm" else nn.GRU
    return layer(input_size, hidden, return_sequences=True, return_state=True)


def masked_softmax(scores: Tensor, mask: np.ndarray) -> Tensor:
    """Softmax over the last axis (source positions) with padded positions at exactly 0.

    scores (..., S); mask (N, S) bool, True = real; broadcast over the middle axes.
    """
    m = mask.reshape(mask.shape[:1] + (1,) * (scores.ndim - 2) + mask.shape[1:])
    return F.softmax(F.masked_fill(scores, ~m, NEG), axis=-1)


class Encoder(nn.Module):
    """Embedding -> `layers` (bidirectional) LSTM/GRU layers; returns outputs (N, S, H) and final states."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cell, self.bidirectional = cfg.cell, cfg.bidirectional
        self.embedding = nn.Embedding(cfg.src_vocab, cfg.emb, padding_idx=PAD)
        self.dropout = nn.Dropout(cfg.dropout)
        size = cfg.hidden // 2 if cfg.bidirectional else cfg.hidden
        rnns = []
        for layer in range(cfg.layers):
            rnn = _rnn(cfg.cell, cfg.emb if layer == 0 else cfg.hidden, size)
            rnns.append(nn.Bidirectional(rnn, merge_mode="concat") if cfg.bidirectional else rnn)
        self.rnns = nn.ModuleList(rnns)

    def forward(self, src: np.ndarray, src_mask: np.ndarray) -> tuple[Tensor, list[tuple[Tensor, ...]]]:
        """src, src_mask (N, S) -> outputs (N, S, H), and per layer the final (h,) or (h, c), each (N, H)."""
        x = self.dropout(self.embedding(src))  # (N, S, E)
        finals = []
        for i, rnn in enumerate(self.rnns):
            if i > 0:
                x = self.dropout(x)
            out = rnn(x, mask=src_mask)
            x, states = out[0], out[1:]
            if self.bidirectional:  # (out, h_fw, [c_fw], h_bw, [c_bw]): join each kind across directions
                half = len(states) // 2
                states = tuple(
                    F.concatenate([fw, bw], axis=-1) for fw, bw in zip(states[:half], states[half:])
                )
            finals.append(tuple(states))
        return x, finals


class Seq2Seq(nn.Module):
    """Encoder-decoder with attention none | bahdanau | luong (see the module docstring)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        H, E = cfg.hidden, cfg.emb
        self.encoder = Encoder(cfg)
        # bridge: encoder final state -> decoder initial state, per layer (h through tanh, c linearly)
        self.bridge_h = nn.ModuleList([nn.Linear(H, H) for _ in range(cfg.layers)])
        self.bridge_c = (
            nn.ModuleList([nn.Linear(H, H) for _ in range(cfg.layers)]) if cfg.cell == "lstm" else None
        )
        self.embedding = nn.Embedding(cfg.tgt_vocab, E, padding_idx=PAD)
        first_in = E + H if cfg.attention == "bahdanau" else E
        self.rnns = nn.ModuleList([_rnn(cfg.cell, first_in if i == 0 else H, H) for i in range(cfg.layers)])
        self.dropout = nn.Dropout(cfg.dropout)
        if cfg.attention == "luong":
            self.attn_W = nn.Linear(H, H, bias=False)  # W_a of score(h_t, h_s) = h_t . (W_a h_s)
        elif cfg.attention == "bahdanau":
            self.attn_k = nn.Linear(H, H, bias=False)  # W_k h_s
            self.attn_q = nn.Linear(H, H)  # W_q s_{t-1}
            self.attn_v = nn.Linear(H, 1, bias=False)  # v
        if cfg.attention != "none":
            self.combine = nn.Linear(2 * H, H)  # W_c [c_t ; h_t]
        self.out = nn.Linear(H, cfg.tgt_vocab)

    # ---- encoder side ------------------------------------------------------------------------------
    def encode(self, src: np.ndarray, src_mask: np.ndarray) -> dict[str, Any]:
        """Run the encoder; returns the decoder's starting point: RNN states, memory, keys, mask."""
        outputs, finals = self.encoder(src, src_mask)
        states = []
        for i, final in enumerate(finals):
            h = F.tanh(self.bridge_h[i](final[0]))
            states.append((h, self.bridge_c[i](final[1])) if self.cfg.cell == "lstm" else (h,))
        enc: dict[str, Any] = {"states": tuple(states), "mask": src_mask}
        if self.cfg.attention != "none":
            enc["memory"] = outputs  # (N, S, H)
            enc["keys"] = self.attn_W(outputs) if self.cfg.attention == "luong" else self.attn_k(outputs)
        return enc

    # ---- attention ------------------------------------------------------------------------------------
    def _luong(self, h: Tensor, keys: Tensor, memory: Tensor, mask: np.ndarray) -> tuple[Tensor, Tensor]:
        """h (N, T, H) -> context (N, T, H), weights (N, T, S): two batched matmuls for all T at once."""
        scores = F.matmul(h, keys.transpose(0, 2, 1))  # (N, T, S)
        weights = masked_softmax(scores, mask)
        return F.matmul(weights, memory), weights

    def _bahdanau(
        self, s_prev: Tensor, keys: Tensor, memory: Tensor, mask: np.ndarray
    ) -> tuple[Tensor, Tensor]:
        """s_prev (N, H) -> context (N, H), weights (N, S)."""
        q = self.attn_q(s_prev).unsqueeze(1)  # (N, 1, H)
        scores = self.attn_v(F.tanh(keys + q)).squeeze(-1)  # (N, S)
        weights = masked_softmax(scores, mask)
        return F.matmul(weights.unsqueeze(1), memory).squeeze(1), weights

    # ---- decoder --------------------------------------------------------------------------------------
    def _run_rnns(self, x: Tensor, states: tuple) -> tuple[Tensor, tuple]:
        """x (N, T, I) through the decoder layers from `states`, or x (N, I) for one step (rnn.step: one GEMM
        per layer on the weights as they are, nothing copied); returns top outputs and new states."""
        new_states = []
        for i, rnn in enumerate(self.rnns):
            if i > 0:
                x = self.dropout(x)
            init = states[i] if self.cfg.cell == "lstm" else states[i][0]
            if x.ndim == 2:
                x, new = rnn.step(x, init)
                new_states.append(new if self.cfg.cell == "lstm" else (new,))
                continue
            out = rnn(x, initial_state=init)
            x = out[0]
            new_states.append(tuple(out[1:]))
        return x, tuple(new_states)

    def _output(self, h: Tensor, context: Tensor | None) -> Tensor:
        """Attentional hidden state -> logits over the target vocabulary."""
        o = h if context is None else F.tanh(self.combine(F.concatenate([context, h], axis=-1)))
        return self.out(self.dropout(o))

    def step(self, tokens: np.ndarray, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any], Tensor | None]:
        """One decoder step: tokens (B,) -> logits (B, V), the next state, attention (B, S) or None."""
        att = self.cfg.attention
        x = self.dropout(self.embedding(tokens))  # (B, E)
        context = weights = None
        if att == "bahdanau":
            s_prev = state["states"][-1][0]  # the top layer's h_{t-1}
            context, weights = self._bahdanau(s_prev, state["keys"], state["memory"], state["mask"])
            x = F.concatenate([x, context], axis=-1)
        h, states = self._run_rnns(x, state["states"])  # (B, H): one step of each layer
        if att == "luong":
            c, w = self._luong(h.unsqueeze(1), state["keys"], state["memory"], state["mask"])
            context, weights = c.squeeze(1), w.squeeze(1)
        return self._output(h, context), {**state, "states": states}, weights

    def decode_teacher_forced(
        self, enc: dict[str, Any], tgt_in: np.ndarray, teacher_forcing: float = 1.0
    ) -> tuple[Tensor, Tensor | None]:
        """Logits (N, T, V) for decoder inputs tgt_in (N, T), and attention weights (N, T, S) or None.

        With teacher_forcing < 1 each step's input is, per row, the true previous token with that
        probability, else the model's own previous prediction (scheduled sampling, Bengio et al. 2015).
        """
        att = self.cfg.attention
        if att != "bahdanau" and teacher_forcing >= 1.0:
            # the fast path: whole sequence in one RNN call, attention and projection batched over T
            h, _ = self._run_rnns(self.dropout(self.embedding(tgt_in)), enc["states"])  # (N, T, H)
            context = weights = None
            if att == "luong":
                context, weights = self._luong(h, enc["keys"], enc["memory"], enc["mask"])
            return self._output(h, context), weights
        rng = minigrad.random.default_generator()
        state, logits, weights = enc, [], []
        tokens = tgt_in[:, 0]
        for t in range(tgt_in.shape[1]):
            if t > 0 and teacher_forcing < 1.0:
                use_true = rng.random(tgt_in.shape[0]) < teacher_forcing
                tokens = np.where(use_true, tgt_in[:, t], logits[-1].data.argmax(axis=-1))
            elif t > 0:
                tokens = tgt_in[:, t]
            step_logits, state, w = self.step(tokens, state)
            logits.append(step_logits)
            if w is not None:
                weights.append(w)
        return F.stack(logits, axis=1), (F.stack(weights, axis=1) if weights else None)

    def loss(self, batch: Batch, label_smoothing: float = 0.0, teacher_forcing: float = 1.0) -> Tensor:
        """Mean cross-entropy per real target token (PAD positions count nothing), with label smoothing."""
        enc = self.encode(batch.src, batch.src_mask)
        logits, _ = self.decode_teacher_forced(enc, batch.tgt_in, teacher_forcing)
        return F.cross_entropy(logits, batch.tgt_out, ignore_index=PAD, label_smoothing=label_smoothing)

    # ---- inference ------------------------------------------------------------------------------------
    def _step_fn(self, tokens: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        logits, state, _ = self.step(tokens, state)
        z = logits.data.copy()
        z[:, [PAD, BOS]] = NEG  # never valid outputs: only EOS ends a sentence
        return F.log_softmax(Tensor(z), axis=-1).data, state

    def translate(
        self,
        src: np.ndarray,
        src_mask: np.ndarray,
        beam: int = 1,
        max_len: int = 50,
        length_penalty: float = 0.6,
    ) -> list[list[int]]:
        """Best output ids for each source row (no BOS/EOS): greedy for beam 1, else beam search."""
        was_training = self.training
        self.eval()
        try:
            with minigrad.no_grad():
                enc = self.encode(src, src_mask)
                if beam <= 1:
                    return greedy_decode(self._step_fn, enc, len(src), BOS, EOS, max_len)
                hyps = beam_search(self._step_fn, enc, len(src), BOS, EOS, beam, max_len, length_penalty)
                return [h[0].tokens if h else [] for h in hyps]
        finally:
            self.train(was_training)

    def attention_map(self, src: np.ndarray, src_mask: np.ndarray, output: list[int]) -> np.ndarray | None:
        """Attention weights (len(output) + 1, S) of ONE source row while producing `output` then EOS.

        Rows = output tokens (the last is EOS), columns = source positions; None without attention.
        """
        if self.cfg.attention == "none":
            return None
        was_training = self.training
        self.eval()
        try:
            with minigrad.no_grad():
                enc = self.encode(src[:1], src_mask[:1])
                tgt_in = np.array([[BOS] + list(output)], dtype=np.int64)
                _, weights = self.decode_teacher_forced(enc, tgt_in)
        finally:
            self.train(was_training)
        return weights.data[0]
