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


def reference_projection(loans, receivables, as_of, months, default_rate=Decimal(0), delay_days=0):
    """Per (currency, client key): month rows as tuples (opening, principal, interest, collections, defaulted,
    closing), from the module docstring of portfolio.projection, over ``reference_schedule`` (no rate shift):
    month k = (D + (k−1) months, D + k months], month 1 from D; lost = round(amount × rate) per event."""
    ends = [plus_months(as_of, k) for k in range(1, months + 1)]
    rate = Fraction(default_rate)

    def month(day):
        return next((k for k, end in enumerate(ends) if day <= end), None)

    opening, flows = {}, {}
    for ln in loans:
        if ln.start_date > as_of:
            continue
        rows = reference_schedule(ln.principal, ln.annual_rate, ln.start_date, ln.term_months, ln.method, ln.day_count)
        paid = [r for r in rows if r[1] <= as_of]
        outstanding = paid[-1][6] if paid else Decimal(ln.principal)
        if outstanding <= 0:
            continue
        key = (ln.currency, ln.client_key)
        opening[key] = opening.get(key, Decimal(0)) + outstanding
        table = flows.setdefault(key, [[Decimal(0)] * 4 for _ in ends])
        for _, day, _, _, interest, principal, _ in rows[len(paid) :]:
            k = month(day)
            if k is not None:
                lost = half_up(Fraction(principal) * rate)
                table[k][0] += principal - lost
                table[k][1] += interest - half_up(Fraction(interest) * rate)
                table[k][3] += lost
    for rec in receivables:
        if rec.open_amount <= 0:
            continue
        key = (rec.currency, rec.client_key)
        opening[key] = opening.get(key, Decimal(0)) + rec.open_amount
        table = flows.setdefault(key, [[Decimal(0)] * 4 for _ in ends])
        k = month(max(rec.due_date, as_of) + dt.timedelta(days=delay_days))
        if k is not None:
            lost = half_up(Fraction(rec.open_amount) * rate)
            table[k][2] += rec.open_amount - lost
            table[k][3] += lost
    result = {}
    for key, table in flows.items():
        balance, rows = opening[key], []
        for principal, interest, collections, defaulted in table:
            closing = balance - principal - collections - defaulted
            rows.append((balance, principal, interest, collections, defaulted, closing))
            balance = closing
        result[key] = rows
    return result
