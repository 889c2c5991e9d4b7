"""Generate a seeded synthetic daily stock-like price series (Date,Open,High,Low,Close,Volume).

The log closing price is a random walk with drift plus two seasonal terms:

    log C_t = log P0 + sum_{s<=t} (mu + sigma * e_s) + A_year * sin(2 pi doy_t / 365.25) + w[weekday_t]

with e_s ~ N(0, 1) i.i.d. Then, per day,

    O_t = C_{t-1} * exp(sigma_gap * g_t)                      (overnight gap; O_0 = P0)
    H_t = max(O_t, C_t) * exp(|sigma_range * u_t|)            so H_t >= max(O_t, C_t)
    L_t = min(O_t, C_t) * exp(-|sigma_range * v_t|)           so L_t <= min(O_t, C_t)
    V_t = round(V0 * exp(0.3 * n_t + 20 |r_t|) * m[weekday_t])  busier on big moves and on Mondays

Days are business days (Mon-Fri, no holidays) from --start. Everything comes from one
numpy Generator seeded with --seed, so the same seed writes the same file byte for byte.

    python data/series/make_synthetic_prices.py --seed 0 --out data/series/synthetic_prices.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

P0 = 100.0  # starting price
MU = 0.08 / 252  # drift per business day (8 % a year)
SIGMA = 0.012  # daily log-return volatility (about 19 % a year)
A_YEAR = 0.06  # amplitude of the yearly cycle in log price (about +-6 %)
WEEKDAY_EFFECT = np.array([0.004, 0.002, 0.0, -0.002, -0.004])  # Mon..Fri, in log price
SIGMA_GAP = 0.003  # overnight gap between yesterday's close and today's open
SIGMA_RANGE = 0.006  # how far High/Low reach beyond the open-close body
V0 = 1_000_000  # typical daily volume
VOLUME_WEEKDAY = np.array([1.25, 1.0, 0.95, 0.95, 1.1])  # Mon..Fri multipliers


def business_days(start: str, n_days: int) -> np.ndarray:
    """The first n_days business days (Mon-Fri) on or after start, as datetime64[D] of shape (n_days,)."""
    first = np.busday_offset(np.datetime64(start, "D"), 0, roll="forward")
    return np.busday_offset(first, np.arange(n_days))


def generate_prices(n_days: int = 1500, seed: int = 0, start: str = "2018-01-01") -> dict[str, np.ndarray]:
    """Simulate the series; returns columns Date (datetime64[D]), Open/High/Low/Close (float64, cents) and
    Volume (int64), each of shape (n_days,)."""
    if n_days < 1:
        raise ValueError(f"n_days must be at least 1, got {n_days}")
    rng = np.random.default_rng(seed)
    dates = business_days(start, n_days)
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(np.int64)

    # Draw every random number up front, in a fixed order, so the file depends only on the seed.
    e = rng.standard_normal(n_days)
    g = rng.standard_normal(n_days)
    u = rng.standard_normal(n_days)
    v = rng.standard_normal(n_days)
    n = rng.standard_normal(n_days)

    log_close = (
        np.log(P0)
        + np.cumsum(MU + SIGMA * e)
        + A_YEAR * np.sin(2.0 * np.pi * day_of_year / 365.25)
        + WEEKDAY_EFFECT[weekday]
    )
    close = np.round(np.exp(log_close), 2)
    prev_close = np.concatenate([[P0], close[:-1]])
    open_ = np.round(prev_close * np.exp(SIGMA_GAP * g), 2)
    # Rounding to cents is monotone, so High/Low stay outside the already rounded Open/Close.
    high = np.round(np.maximum(open_, close) * np.exp(np.abs(SIGMA_RANGE * u)), 2)
    low = np.round(np.minimum(open_, close) * np.exp(-np.abs(SIGMA_RANGE * v)), 2)
    daily_return = np.diff(np.log(close), prepend=np.log(P0))
    volume = np.round(V0 * np.exp(0.3 * n + 20.0 * np.abs(daily_return)) * VOLUME_WEEKDAY[weekday])
    volume = np.maximum(volume, 1).astype(np.int64)
    return {"Date": dates, "Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}


def write_csv(columns: dict[str, np.ndarray], out: Path) -> None:
    """Write the columns from generate_prices as a CSV with header Date,Open,High,Low,Close,Volume."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["Date", "Open", "High", "Low", "Close", "Volume"])
        for i in range(len(columns["Date"])):
            writer.writerow(
                [str(columns["Date"][i])]
                + [f"{columns[k][i]:.2f}" for k in ("Open", "High", "Low", "Close")]
                + [str(int(columns["Volume"][i]))]
            )


def main(argv: list[str] | None = None) -> None:
    """Command line: parse the options, generate, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the random generator (default 0)")
    parser.add_argument("--days", type=int, default=1500, help="number of business days (default 1500)")
    parser.add_argument(
        "--start", default="2018-01-01", help="first calendar day, YYYY-MM-DD (default 2018-01-01)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "synthetic_prices.csv",
        help="output CSV path (default: synthetic_prices.csv next to this script)",
    )
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error(f"--days must be at least 1, got {args.days}")
    try:
        np.datetime64(args.start, "D")
    except ValueError:
        parser.error(f"--start must be a date like 2018-01-01, got {args.start!r}")
    write_csv(generate_prices(args.days, args.seed, args.start), args.out)
    print(f"wrote {args.days} days to {args.out}")


if __name__ == "__main__":
    main()
