"""`python -m charlm.sample`: generate text with a trained character-level model.

    python -m charlm.sample --prime "어제 고양이가" --temperature 0.7
    python -m charlm.sample --out runs/charlm-jamo --top-p 0.9 --length 300 --seed 1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import minigrad
from charlm import checkpoint
from charlm.generate import generate
from charlm.units import UNK
from demokit import cli


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser("python -m charlm.sample",
                   "Generate text with a model trained by `python -m charlm.train`, one unit at a time.")
    p.add_argument("--out", default="runs/charlm", help="the run folder whose best.npz is used")
    p.add_argument("--checkpoint", help="a checkpoint file instead of <out>/best.npz")
    p.add_argument("--prime", default="", help="text the sample starts from (default: the start of a line)")
    p.add_argument("--length", type=cli.positive_int, default=400, help="units to generate")
    p.add_argument("--temperature", type=cli.nonnegative_float, default=1.0,
                   help="divides the logits before the softmax: 1 samples the model's own distribution; lower "
                   "is more conservative (sharper, more repetitive); higher is more random; 0 = greedy (always "
                   "the most likely unit)")
    p.add_argument("--top-k", type=cli.nonnegative_int, default=0,
                   help="sample only among the k most likely units (0 = all)")
    p.add_argument("--top-p", type=cli.positive_float, default=1.0,
                   help="nucleus sampling: only the most likely units whose probabilities add up to p (1 = all)")
    p.add_argument("--seed", type=cli.nonnegative_int, default=0, help="the same seed repeats the same sample")
    p.add_argument("--threads", type=cli.positive_int, default=1, help="BLAS threads for NumPy")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.top_p > 1:
        parser.error(f"argument --top-p: must be in (0, 1], got {args.top_p}")
    minigrad.set_num_threads(args.threads)
    model, units, _ = checkpoint.load_model(Path(args.checkpoint) if args.checkpoint else Path(args.out) / "best.npz")
    # in jamo mode a syllable is 2-3 units: it needs the note when any of them is unknown
    unknown = sorted({ch for ch in args.prime if UNK in units.encode(ch)})
    if unknown:
        print(f"note: not in the training text, read as <unk>: {' '.join(unknown)}", file=sys.stderr)
    ids = generate(model, units, args.prime, args.length, args.temperature, args.top_k or None, args.top_p,
                   np.random.default_rng(args.seed))[0]
    print(args.prime + units.decode(ids))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_command(main))
