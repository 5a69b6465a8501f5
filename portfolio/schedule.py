"""Loan schedules (DOMAIN.md section 8): pure functions, no ORM.

- Period ``k`` (1..n) ends on ``start_date + k months``, the day clamped to the month's end; the
  months are always counted from the start date (31 Jan → 28 Feb → 31 Mar, never 28 Mar).
- Period interest: ``30/360`` → round(balance × rate / 12); ``ACT/360`` and ``ACT/365`` →
  round(balance × rate × actual days / 360 or 365). Computed exactly, division last, rounded once.
- ``annuity``: payment = round(P·r / (1 − (1 + r)^−n)), r = rate / 12 (whatever the day count);
  principal_k = payment − interest_k, never below zero (and never above the balance);
  the last period repays the whole remaining balance.
- ``linear``: principal_k = round(P / n), the last period takes the remainder.
- ``bullet``: interest only, the whole principal in the last period.

Every period's ``payment`` is ``interest + principal``. Principal repaid adds up to P exactly and
no balance is ever negative. :func:`schedule` can also re-schedule a remaining balance over the
remaining periods of the same loan (``from_period``), keeping the loan's own period dates: that is
how the projection applies a rate shift.

The engine (:func:`schedule_units`) works in whole minor units (ints): each interest is the exact
fraction rounded half-up, as ``round_money`` rounds it; :func:`schedule` turns its result into
``Decimal`` periods. Amounts with more places than the currency has are refused.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal, localcontext
from functools import lru_cache
from typing import NamedTuple

from atlas.money import quantum, round_money

ANNUITY, LINEAR, BULLET = "annuity", "linear", "bullet"
METHODS = (ANNUITY, LINEAR, BULLET)
D30_360, ACT_360, ACT_365 = "30/360", "ACT/360", "ACT/365"
DAY_COUNTS = (D30_360, ACT_360, ACT_365)
_ACT_DAYS = {ACT_360: 360, ACT_365: 365}

_TWELVE = Decimal(12)
# Enough digits that a product of an 18-digit amount, a 6-place rate and a day count is exact,
# and that (1 + r)^n loses nothing that could move a cent.
_PRECISION = 60

CSV_HEADER = ("period", "date", "opening_balance", "payment", "interest", "principal", "closing_balance")


class ScheduleError(ValueError):
    """Loan terms that cannot be scheduled (with a human message)."""


class Period(NamedTuple):
    period: int
    date: dt.date
    opening_balance: Decimal
    payment: Decimal
    interest: Decimal
    principal: Decimal
    closing_balance: Decimal


@lru_cache(maxsize=1 << 16)
def add_months(start: dt.date, months: int) -> dt.date:
    """``start`` plus ``months`` calendar months, the day clamped to the month's end."""
    total = start.month - 1 + months
    year = start.year + total // 12
    month = total % 12 + 1
    day = start.day
    if day > 28:
        day = min(day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def period_dates(start: dt.date, term_months: int) -> list[dt.date]:
    """End dates of periods 1..n."""
    return [add_months(start, k) for k in range(1, term_months + 1)]


def annuity_payment_exact(principal: Decimal, annual_rate: Decimal, periods: int) -> Decimal:
    """P·r / (1 − (1 + r)^−n) with r = annual rate / 12, unrounded (P / n when r = 0)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        if annual_rate == 0:
            return principal / periods
        # P·r·q / (q − 1) with q = (1 + r)^n is the same value with one division fewer;
        # written with r = a/12: P·a·q / (12·(q − 1)).
        growth = (1 + annual_rate / _TWELVE) ** periods
        return principal * annual_rate * growth / (_TWELVE * (growth - 1))


def annuity_payment(principal: Decimal, annual_rate: Decimal, periods: int, currency: str = "EUR") -> Decimal:
    return round_money(annuity_payment_exact(principal, annual_rate, periods), currency)


def validate_terms(*, principal, annual_rate, term_months, method, day_count) -> None:
    if not isinstance(principal, Decimal) or not isinstance(annual_rate, Decimal):
        raise ScheduleError("principal and annual rate must be Decimal")
    if principal < 0:
        raise ScheduleError(f"principal {principal} is negative")
    if annual_rate < 0:
        raise ScheduleError(f"annual rate {annual_rate} is negative")
    if term_months < 1:
        raise ScheduleError(f"term of {term_months} months: it must be at least 1")
    if method not in METHODS:
        raise ScheduleError(f"unknown method {method!r}: one of {', '.join(METHODS)}")
    if day_count not in DAY_COUNTS:
        raise ScheduleError(f"unknown day count {day_count!r}: one of {', '.join(DAY_COUNTS)}")


class Instalments(NamedTuple):
    """Periods ``first, first + 1, …`` of a schedule in the currency's minor units (ints): the same
    figures as :class:`Period` rows, without a ``Decimal`` per amount. ``opening`` is the balance before
    the first of them; each period repays ``principal[i]`` and pays ``interest[i]`` on ``dates[i]``."""

    first: int
    opening: int
    dates: list[dt.date]
    interest: list[int]
    principal: list[int]

    def after(self, paid: int) -> Instalments:
        """The periods after the first ``paid`` of these."""
        if not paid:
            return self
        return Instalments(
            self.first + paid,
            self.opening - sum(self.principal[:paid]),
            self.dates[paid:],
            self.interest[paid:],
            self.principal[paid:],
        )


def minor_units(amount: Decimal, currency: str = "EUR") -> int:
    """``amount`` in the currency's minor units; an amount with more places is refused."""
    scaled = amount.scaleb(-quantum(currency).as_tuple().exponent)
    if scaled != scaled.to_integral_value():
        raise ScheduleError(f"amount {amount} has more decimal places than {currency} has")
    return int(scaled)


def money(units: int, currency: str = "EUR") -> Decimal:
    """Minor units back to an amount (``Decimal`` with the currency's places)."""
    return quantum(currency) * units


def schedule_units(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    start_date: dt.date,
    term_months: int,
    method: str,
    day_count: str = D30_360,
    from_period: int = 1,
    currency: str = "EUR",
) -> Instalments:
    """:func:`schedule` in minor units (the engine: :func:`schedule` converts its result to periods).

    Integer arithmetic, exact: an interest is round-half-up of the exact fraction
    balance × rate (× days / basis, or / 12), with the rate as its exact ratio of integers.
    """
    validate_terms(
        principal=principal, annual_rate=annual_rate, term_months=term_months, method=method, day_count=day_count
    )
    if not 1 <= from_period <= term_months:
        raise ScheduleError(f"period {from_period} is outside 1..{term_months}")
    remaining = term_months - from_period + 1
    opening = balance = minor_units(principal, currency)
    if method == ANNUITY:
        level = minor_units(annuity_payment(principal, annual_rate, remaining, currency), currency)
    elif method == LINEAR:
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            level = minor_units(round_money(principal / remaining, currency), currency)
    else:
        level = 0

    dates = [add_months(start_date, k) for k in range(from_period, term_months + 1)]
    numerator, denominator = annual_rate.as_integer_ratio()
    basis = _ACT_DAYS.get(day_count)
    # interest = round_half_up(balance × numerator × days / divisor) = ⌊(2·n + divisor) / (2·divisor)⌋, n ≥ 0
    divisor = denominator * (12 if basis is None else basis)
    twice = 2 * numerator
    double = 2 * divisor
    begin = add_months(start_date, from_period - 1).toordinal()
    interests: list[int] = []
    repaids: list[int] = []
    final = remaining - 1
    for i, end in enumerate(dates):
        if basis is None:
            interest = (twice * balance + divisor) // double
        else:
            day = end.toordinal()
            interest = (twice * balance * (day - begin) + divisor) // double
            begin = day
        if i == final:
            repaid = balance
        elif method == ANNUITY:
            repaid = level - interest
            if repaid < 0:
                repaid = 0
            elif repaid > balance:
                repaid = balance
        elif method == LINEAR:
            repaid = level if level <= balance else balance
        else:
            repaid = 0
        interests.append(interest)
        repaids.append(repaid)
        balance -= repaid
    return Instalments(from_period, opening, dates, interests, repaids)


def to_periods(instalments: Instalments, currency: str = "EUR") -> list[Period]:
    """:class:`Period` rows of ``instalments`` (amounts as ``Decimal`` with the currency's places)."""
    cent = quantum(currency)
    rows: list[Period] = []
    append, make = rows.append, Period
    balance = instalments.opening
    k = instalments.first
    for end, interest, repaid in zip(instalments.dates, instalments.interest, instalments.principal, strict=True):
        closing = balance - repaid
        append(
            make(
                k,
                end,
                cent * balance,
                cent * (interest + repaid),
                cent * interest,
                cent * repaid,
                cent * closing,
            )
        )
        balance = closing
        k += 1
    return rows


def schedule(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    start_date: dt.date,
    term_months: int,
    method: str,
    day_count: str = D30_360,
    from_period: int = 1,
    currency: str = "EUR",
) -> list[Period]:
    """The periods ``from_period..term_months`` of a loan.

    With ``from_period = 1`` this is the loan's schedule. With ``from_period = m + 1`` it
    re-schedules ``principal`` (the balance outstanding after period m) over the remaining
    ``term_months − m`` periods, with the loan's own period dates (counted from ``start_date``).
    """
    units = schedule_units(
        principal=principal,
        annual_rate=annual_rate,
        start_date=start_date,
        term_months=term_months,
        method=method,
        day_count=day_count,
        from_period=from_period,
        currency=currency,
    )
    return to_periods(units, currency)


def loan_schedule(loan) -> list[Period]:
    """The schedule of a ``portfolio.models.Loan`` (or anything with the same attributes)."""
    return schedule(
        principal=loan.principal,
        annual_rate=loan.annual_rate,
        start_date=loan.start_date,
        term_months=loan.term_months,
        method=loan.method,
        day_count=loan.day_count,
        currency=loan.currency,
    )


def schedule_rows(periods: list[Period]) -> list[tuple]:
    """Rows for CSV/XLSX: dates as ``YYYY-MM-DD`` objects, amounts as Decimals with 2 places."""
    return [tuple(p) for p in periods]
