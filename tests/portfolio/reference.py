"""An independent reference for DOMAIN.md section 8, written from the formulas with exact
``fractions.Fraction`` arithmetic (no Decimal context, no code shared with portfolio.schedule)."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from fractions import Fraction


def half_up(x: Fraction) -> Decimal:
    """Round an exact rational half-up (away from zero at .5) to the cent."""
    cents = x * 100
    sign = -1 if cents < 0 else 1
    cents = abs(cents)
    whole = cents.numerator // cents.denominator
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(sign * whole) / 100


def plus_months(start: dt.date, k: int) -> dt.date:
    y, m = divmod(start.month - 1 + k, 12)
    year, month = start.year + y, m + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def reference_schedule(principal, annual_rate, start, n, method, day_count="30/360"):
    P = Fraction(principal)
    a = Fraction(annual_rate)
    r = a / 12
    if method == "annuity":
        payment = half_up(P / n) if r == 0 else half_up(P * r / (1 - (1 + r) ** -n))
    elif method == "linear":
        part = half_up(P / n)
    rows = []
    balance = Decimal(principal)
    prev = start
    for k in range(1, n + 1):
        end = plus_months(start, k)
        if day_count == "30/360":
            interest = half_up(Fraction(balance) * a / 12)
        else:
            basis = 360 if day_count == "ACT/360" else 365
            interest = half_up(Fraction(balance) * a * (end - prev).days / basis)
        if k == n:
            repaid = balance
        elif method == "annuity":
            repaid = min(max(payment - interest, Decimal(0)), balance)
        elif method == "linear":
            repaid = min(part, balance)
        else:
            repaid = Decimal(0)
        rows.append((k, end, balance, interest + repaid, interest, repaid, balance - repaid))
        balance -= repaid
        prev = end
    return rows
