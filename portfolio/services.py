"""Writes of the portfolio: keep each loan's stored schedule (``LoanInstalment`` rows) equal to its terms.

The rows are derived data: ``portfolio.schedule.schedule`` of the loan's terms, nothing else. A loan is
*stale* when it has no ``LoanSchedule`` or its ``LoanSchedule`` terms differ from the loan's (one SQL
query finds them); :func:`refresh_schedules` re-schedules every stale loan in one bulk step. It is
called

- by the readers (``portfolio.selectors``) before they sum the rows, so a loan created or changed by
  any path (the workbook import's bulk insert, the admin, a shell) is never read stale; when nothing
  is stale that costs one query;
- explicitly after writes that create or change loans (the admin's save), so the next page does not
  pay for it. The workbook import may call it at the end of its transaction too (docs/portfolio.md).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from ledger.bulk import insert_rows
from portfolio.models import Loan, LoanInstalment, LoanSchedule
from portfolio.schedule import schedule_units, to_periods

_LOAN_TERMS = ("pk", *LoanSchedule.TERMS)
_INSTALMENT_FIELDS = [
    "loan_id",
    "seq",
    "date",
    "day",
    "opening_balance",
    "payment",
    "interest",
    "principal",
    "closing_balance",
    "principal_cents",
    "interest_cents",
]
_CHUNK = 5_000


def stale_loans():
    """Loans whose stored schedule is missing or was computed from other terms (a queryset)."""
    same_terms = LoanSchedule.objects.filter(loan=OuterRef("pk"), **{f: OuterRef(f) for f in LoanSchedule.TERMS})
    return Loan.objects.filter(~Exists(same_terms))


def refresh_schedules(*, loans=None) -> int:
    """Re-schedule the stale loans (of ``loans``, a queryset or iterable of pks, or every loan).

    One query when nothing is stale. Otherwise, in one transaction: the stale loans' rows and terms are
    deleted and written again from their current terms. Returns the number of loans re-scheduled.
    Running it twice writes nothing the second time. A concurrent refresh of the same loans makes the
    insert fail on the unique (loan, seq) or primary key; that refresh already wrote the same rows,
    so the error is swallowed (the savepoint rolls back only this attempt).
    """
    qs = stale_loans()
    if loans is not None:
        qs = qs.filter(pk__in=loans)
    terms = list(qs.order_by("pk").values_list(*_LOAN_TERMS))
    if not terms:
        return 0
    try:
        with transaction.atomic():
            _write(terms)
    except IntegrityError:
        return 0
    return len(terms)


def _write(terms: list[tuple]) -> None:
    pks = [row[0] for row in terms]
    for i in range(0, len(pks), _CHUNK):
        chunk = pks[i : i + _CHUNK]
        LoanInstalment.objects.filter(loan_id__in=chunk).delete()
        LoanSchedule.objects.filter(loan_id__in=chunk).delete()
    rows: list[tuple] = []
    for pk, principal, currency, annual_rate, start_date, term_months, method, day_count in terms:
        units = schedule_units(
            principal=principal,
            annual_rate=annual_rate,
            start_date=start_date,
            term_months=term_months,
            method=method,
            day_count=day_count,
            currency=currency,
        )
        rows += [  # the amounts as the schedule's Decimals and, for the SQL sums, its minor units
            (pk, p.period, p.date, p.date.toordinal(), p.opening_balance, p.payment, p.interest, p.principal)
            + (p.closing_balance, principal_units, interest_units)
            for p, principal_units, interest_units in zip(
                to_periods(units, currency), units.principal, units.interest, strict=True
            )
        ]
        if len(rows) >= _CHUNK:
            insert_rows(LoanInstalment, _INSTALMENT_FIELDS, rows)
            rows = []
    if rows:
        insert_rows(LoanInstalment, _INSTALMENT_FIELDS, rows)
    insert_rows(LoanSchedule, ["loan_id", *LoanSchedule.TERMS], [(t[0], *t[1:]) for t in terms])
