"""Measure the schedule engine: ``python -m portfolio.bench [loans] [months]`` (default 10,000 × 60).

Pure Python, no database: it schedules random loans of every method and day count and prints the
time taken. Not a test (no timing asserts in tests); run it by hand after changing schedule.py.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from decimal import Decimal

from portfolio.schedule import DAY_COUNTS, METHODS, schedule


def main(loans: int = 10_000, months: int = 60, seed: int = 7) -> float:
    rng = random.Random(seed)
    terms = [
        {
            "principal": Decimal(rng.randint(100_000, 500_000_000)) / 100,
            "annual_rate": Decimal(rng.randint(0, 200_000)) / 1_000_000,
            "start_date": dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 730)),
            "term_months": months,
            "method": rng.choice(METHODS),
            "day_count": rng.choice(DAY_COUNTS),
        }
        for _ in range(loans)
    ]
    started = time.perf_counter()
    periods = 0
    for t in terms:
        periods += len(schedule(**t))
    elapsed = time.perf_counter() - started
    print(f"{loans} loans x {months} months = {periods} periods in {elapsed:.2f} s")
    return elapsed


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
