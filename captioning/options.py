"""The command line of `python -m captioning.demo`: argparse (demokit.cli conventions) -> a typed Config.

Every option is checked once, here, at parse time (sizes >= 1, rates > 0, --size in its range, choices), so a
bad value is argparse's one-line usage error (exit 2) before any work starts; --help shows every default.
Nothing below this module reads an argparse Namespace.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from captioning import data
from captioning.model import INJECT_MODES
from demokit import cli

PROG = "python -m captioning.demo"
# options that may differ on --resume (they change neither the model, the data nor the training schedule)
RUN_CONTROL = frozenset({"max_minutes", "progress", "threads", "beam"})
# options that only steer this process: kept out of the checkpoint and of metrics.json
NOT_SAVED = frozenset({"out", "resume", "restart", "image", "progress"})


@dataclass
class Config(cli.RunOptions):
    """Every option of the command (defaults = the default run)."""

    size: int = 32
    n_train: int = 32000
    n_valid: int = 500
    n_test: int = 1000
    epochs: int = 6  # 3,000 steps: 84.4 % test exact match; 6.6 min of CPU (one core), measured 2026-12-01
    batch_size: int = 64
    lr: float = 2e-3
    warmup: int = 200
    hidden: int = 256
    emb: int = 32
    inject: str = "init"
    clip: float = 1.0
    beam: int = 3
    lang: str = "en"
    out: str = "runs/captioning"
    image: str | None = None

    def saved(self) -> dict[str, object]:
        """The options that define the run (what the checkpoint and metrics.json keep)."""
        return {k: v for k, v in asdict(self).items() if k not in NOT_SAVED}


def build_parser() -> argparse.ArgumentParser:
    """The command line; --help documents every option with its default."""
    d = Config()
    p = cli.parser(
        PROG,
        "Image captioning (vector to sequence): a small CNN encodes a synthetic scene into one vector, an LSTM "
        "writes the caption word by word. With no arguments: make the data, train, evaluate on the test and "
        "held-out splits, write gallery.html, loss.png, samples.png and metrics.json into --out. With --image: "
        "caption your own picture with the model in --out.",
    )
    g = p.add_argument_group("data")
    g.add_argument("--size", type=cli.int_range(data.MIN_SIZE, data.MAX_SIZE), default=d.size,
                   help="image side in pixels")
    g.add_argument("--n-train", type=cli.positive_int, default=d.n_train, help="training images")
    g.add_argument("--n-valid", type=cli.positive_int, default=d.n_valid,
                   help="validation images (val_loss and greedy exact match after each epoch; best.npz = lowest "
                   "val_loss)")
    g.add_argument("--n-test", type=cli.positive_int, default=d.n_test,
                   help="test images, and as many held-out-pair images")
    g.add_argument("--lang", choices=data.LANGS, default=d.lang, help="caption language: English or Korean")
    m = p.add_argument_group("model")
    m.add_argument("--hidden", type=cli.positive_int, default=d.hidden, help="LSTM hidden size H")
    m.add_argument("--emb", type=cli.positive_int, default=d.emb, help="word embedding size")
    m.add_argument("--inject", choices=INJECT_MODES, default=d.inject,
                   help="how the image vector v reaches the LSTM: 'init' sets the initial state, h0 = "
                   "tanh(W_h v + b_h), c0 = W_c v + b_c; 'first' feeds it as the first input, as in Show and Tell")
    m.add_argument("--beam", type=cli.positive_int, default=d.beam,
                   help="beam size for the test/held-out evaluation and --image (1 = greedy)")
    t = cli.add_run_options(p, out=d.out, epochs=d.epochs)
    t.add_argument("--batch-size", type=cli.positive_int, default=d.batch_size, help="images per training step")
    t.add_argument("--lr", type=cli.positive_float, default=d.lr,
                   help="Adam's peak learning rate: linear warm-up over --warmup steps, then cosine decay to 5%% "
                   "of it at the last step of --epochs (minigrad.optim.WarmupDecay)")
    t.add_argument("--warmup", type=cli.nonnegative_int, default=d.warmup,
                   help="warm-up steps (at most a tenth of all steps are used)")
    t.add_argument("--clip", type=cli.nonnegative_float, default=d.clip,
                   help="clip the global gradient norm to this value (0 turns clipping off)")
    p.add_argument("--image", metavar="FILE",
                   help="caption this picture (PNG, JPEG, ...; resized to the model's size) with the model in "
                   "--out (best.npz), print the caption and exit")
    return p


def parse(argv: Sequence[str] | None = None) -> tuple[Config, set[str]]:
    """The Config, and the names of the options typed on the command line (for --resume)."""
    p = build_parser()
    cfg = cli.to_config(p.parse_args(argv), Config)
    return cfg, cli.given_options(p, argv)


def warmup_steps(cfg: Config, total_steps: int) -> int:
    """--warmup, capped at a tenth of the run (a tiny run still gets most of its steps at a useful lr)."""
    return min(cfg.warmup, total_steps // 10)
