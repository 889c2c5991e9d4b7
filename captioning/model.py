"""The captioning model: a small CNN encodes the image into ONE vector, an LSTM decodes it into words.

This is "vector to sequence" (one-to-many):

    image (N, 3, S, S) --Encoder--> v (N, D) --inject--> LSTM state (h0, c0) --LSTM + Linear--> words

Encoder (three blocks, then a projection; S = 32 gives 32 -> 16 -> 8 -> 4; He-initialised, see Encoder):

    x  = 2 * image - 1                   (N, 3, S, S)   pixels in [-1, 1]
    x1 = maxpool2(relu(conv3x3(x)))      (N, C1, S/2, S/2)
    x2 = maxpool2(relu(conv3x3(x1)))     (N, C2, S/4, S/4)
    x3 = maxpool2(relu(conv3x3(x2)))     (N, C3, S/8, S/8)
    v  = flatten(x3) W_v + b_v           (N, D)         no ReLU here: measured, 3/4 of its units died

Flatten (not global average pooling) keeps WHERE each feature was, which the relation words
(left of / above ...) need.

How the image vector reaches the decoder (`inject`):

    "init"  (default)  h0 = tanh(v W_h + b_h),  c0 = v W_c + b_c; the first input is <bos>.
                       The image is in the state from the first word on. c0 has no tanh (the cell state
                       is unbounded anyway); with one, half its units saturated and starved the encoder
                       of gradient. On the 10-image overfit test, "init" needs about half the steps.
    "first"            Show and Tell (Vinyals et al., 2015): x_{-1} = v W_x + b_x is fed to the LSTM as
                       the input before <bos>, from the zero state; its output predicts nothing.

Decoder, teacher forcing (the whole caption in ONE call of the fused LSTM layer):

    e_t = E[w_t]                         (N, T, emb)    w_0 = <bos>, w_1..w_{T-1} the caption words
    h_1..h_T = LSTM(e_1..e_T; h0, c0)    (N, T, hidden)
    logits_t = h_t W_o + b_o             (N, T, V)      predicts w_{t+1} (the last real one predicts <eos>)
    loss = cross_entropy(logits, targets, ignore_index=<pad>)   padding never counts

Padding sits only at the END of a caption and the LSTM runs left to right, so outputs at padded steps
never influence a real position: they are simply not scored (ignore_index), and no mask is needed.

Decoding (greedy or beam) runs step by step: `step(tokens, state)` is the `step_fn` of
seq2seq.decoding, the one beam search shared with the translation demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import minigrad
from demokit import decoding
from minigrad import functional as F
from minigrad import nn
from minigrad.tensor import Tensor

INJECT_MODES = ("init", "first")


class Encoder(nn.Module):
    """Image -> vector: three [Conv 3x3 (padding 1) -> ReLU -> MaxPool 2] blocks, Flatten, Linear.

    (N, 3, S, S) -> (N, C1, S/2, S/2) -> (N, C2, S/4, S/4) -> (N, C3, S/8, S/8) -> (N, D)
    (sizes not divisible by 8 are floored at each pooling, as max_pool2d does)
    """

    def __init__(self, image_size: int = 32, channels: Sequence[int] = (16, 64, 128),
                 out_features: int = 256) -> None:
        super().__init__()
        if len(channels) != 3 or any(int(c) < 1 for c in channels):
            raise ValueError(f"channels must be three positive integers, got {channels}")
        if image_size < 8:
            raise ValueError(f"image_size must be at least 8 (three 2x2 poolings), got {image_size}")
        c1, c2, c3 = (int(c) for c in channels)
        self.image_size = image_size
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        side = image_size // 2 // 2 // 2
        self.project = nn.Linear(c3 * side * side, out_features)
        # He (kaiming) init instead of the layers' default glorot: glorot shrinks the activations at each
        # ReLU layer, so the image vector starts almost the same for every image; the decoder then learns a
        # pure language model first and only slowly starts to read the picture (measured: slower to leave
        # the loss plateau of ~0.88 nats per word).
        for layer in (*self.features, self.project):
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(layer.weight)

    def forward(self, images: Tensor) -> Tensor:
        # images: (N, 3, S, S) -> v: (N, D)
        S = self.image_size
        if images.ndim != 4 or images.shape[1:] != (3, S, S):
            raise ValueError(f"Encoder expects images of shape (N, 3, {S}, {S}), got {images.shape}")
        x = images * 2.0 - 1.0  # pixels [0, 1] -> [-1, 1]: centred inputs, so the ReLUs start half active
        # no ReLU on v: measured, three quarters of its units died and took the image signal with them
        return self.project(self.features(x))


class CaptionModel(nn.Module):
    """Encoder + word Embedding -> LSTM -> Linear over the vocabulary (equations in the module docstring).

    vocab_size V, emb (word vector size), hidden H (LSTM size), image_dim D (image vector size),
    channels (C1, C2, C3) of the encoder, inject "init" | "first" (how v reaches the LSTM), pad_id.
    `config` holds these numbers, so `CaptionModel(**config)` rebuilds the same architecture.
    """

    def __init__(
        self, vocab_size: int, image_size: int = 32, channels: Sequence[int] = (16, 64, 128),
        image_dim: int = 256, emb: int = 32, hidden: int = 256, inject: str = "init", pad_id: int = 0,
    ) -> None:
        super().__init__()
        if inject not in INJECT_MODES:
            raise ValueError(f"inject must be one of {', '.join(INJECT_MODES)}, got {inject!r}")
        sizes = {"vocab_size": vocab_size, "image_dim": image_dim, "emb": emb, "hidden": hidden}
        for name, n in sizes.items():
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{name} must be a positive integer, got {n!r}")
        self.config = {"vocab_size": int(vocab_size), "image_size": int(image_size),
                       "channels": [int(c) for c in channels], "image_dim": int(image_dim), "emb": int(emb),
                       "hidden": int(hidden), "inject": inject, "pad_id": int(pad_id)}
        self.encoder = Encoder(image_size, channels, image_dim)
        if inject == "init":
            self.init_h = nn.Linear(image_dim, hidden)
            self.init_c = nn.Linear(image_dim, hidden)
        else:
            self.image_in = nn.Linear(image_dim, emb)  # the image as the LSTM's first "word"
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=pad_id)
        self.lstm = nn.LSTM(emb, hidden, return_sequences=True, return_state=True)
        self.out = nn.Linear(hidden, vocab_size)

    # ---- training --------------------------------------------------------------------------------
    def start_state(self, images: Any) -> tuple[Tensor, Tensor]:
        """(h0, c0), each (N, H): the decoder's state before <bos>, computed from the image."""
        v = self.encoder(images if isinstance(images, Tensor) else Tensor(np.asarray(images, np.float32)))
        if self.config["inject"] == "init":
            # c0 is linear: the cell state is unbounded anyway, and a tanh here saturated (|pre-activation|
            # > 2 for half the units, measured) and all but cut the gradient from the words to the encoder
            return F.tanh(self.init_h(v)), self.init_c(v)
        x_img = self.image_in(v)  # (N, emb): fed once, from the zero state; its output is not scored
        _, h, c = self.lstm(x_img.reshape(x_img.shape[0], 1, x_img.shape[1]))
        return h, c

    def forward(self, images: Any, tokens: np.ndarray) -> Tensor:
        """Teacher-forced logits (N, T, V) for input tokens (N, T) = <bos> w_1 ... (padded at the end)."""
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.shape[0] != np.shape(images)[0]:
            N = np.shape(images)[0]
            raise ValueError(f"tokens must be (N, T) with N = {N} images, got shape {tokens.shape}")
        h0, c0 = self.start_state(images)
        outputs, _, _ = self.lstm(self.embed(tokens), initial_state=(h0, c0))  # one fused call over all T
        return self.out(outputs)

    def loss(self, images: Any, captions: np.ndarray, label_smoothing: float = 0.0) -> Tensor:
        """Mean cross-entropy per real target word; captions (N, T+1) = <bos> w_1 .. w_n <eos> <pad>..."""
        captions = np.asarray(captions)
        logits = self(images, captions[:, :-1])  # inputs: all but the last token
        return F.cross_entropy(logits, captions[:, 1:], ignore_index=self.config["pad_id"],
                               label_smoothing=label_smoothing)  # targets: shifted left by one

    # ---- decoding --------------------------------------------------------------------------------
    def initial_state(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The decoding state (h0, c0) as arrays (N, H), without recording a graph."""
        with minigrad.no_grad():
            h, c = self.start_state(images)
        return h.data, c.data

    def step(self, tokens: np.ndarray, state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, tuple]:
        """One decoding step: tokens (B,) and state (h, c) each (B, H) -> log-probs (B, V), new state.

        This is the `step_fn` that seq2seq.decoding's greedy and beam search call.
        """
        with minigrad.no_grad():
            x = self.embed(np.asarray(tokens).reshape(-1))  # (B, emb)
            # one step of the LSTM (nn.LSTM.step): one GEMM on the weights as they are, nothing copied
            h, (_, c) = self.lstm.step(x, (Tensor(state[0]), Tensor(state[1])))
            logp = F.log_softmax(self.out(h), axis=-1)
        return logp.data, (h.data, c.data)

    def generate(self, images: np.ndarray, bos_id: int, eos_id: int, max_len: int = 24, beam: int = 1,
                 length_penalty: float = 0.6, batch_size: int = 256) -> list[list[int]]:
        """Caption word ids (no <bos>/<eos>) per image (N, 3, S, S): greedy if beam == 1, else beam search.

        Both come from seq2seq.decoding (written once for translation and captioning); length_penalty is
        GNMT's alpha, used by beam search only. max_len bounds the generated tokens, so decoding always ends.
        """
        if beam < 1:
            raise ValueError(f"beam must be >= 1, got {beam}")
        was_training = self.training
        self.eval()
        results: list[list[int]] = []
        try:
            for start in range(0, len(images), batch_size):
                chunk = np.asarray(images[start:start + batch_size], np.float32)
                state = self.initial_state(chunk)
                if beam == 1:
                    results += decoding.greedy_decode(self.step, state, len(chunk), bos_id, eos_id, max_len)
                else:
                    best = decoding.beam_search(self.step, state, len(chunk), bos_id, eos_id, beam, max_len,
                                                length_penalty=length_penalty)
                    results += [hyps[0].tokens for hyps in best]
        finally:
            self.train(was_training)
        return results
