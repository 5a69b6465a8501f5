"""Reads for the portfolio: load loans and open receivables once, hand them to the pure code.

Query count is constant: one query for loans (with their clients), one for receivables (with
client, debtor and their collections dated ≤ D summed in SQL), whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from clients.models import Receivable, Transaction
from portfolio.models import Loan
from portfolio.projection import (
    BASE,
    LoanInput,
    LoanPosition,
    Overview,
    Projection,
    ReceivableInput,
    Scenario,
    loan_positions,
    overview,
    project,
)

ZERO = Decimal("0.00")


def loan_inputs(*, clients=None) -> list[LoanInput]:
    loans = Loan.objects.select_related("client").order_by("loan_id")
    if clients is not None:
        loans = loans.filter(client__in=clients)
    return [
        LoanInput(
            key=loan.loan_id,
            client_key=loan.client.client_id,
            client_name=loan.client.name,
            currency=loan.currency,
            principal=loan.principal,
            annual_rate=loan.annual_rate,
            start_date=loan.start_date,
            term_months=loan.term_months,
            method=loan.method,
            day_count=loan.day_count,
        )
        for loan in loans
    ]


def receivable_inputs(*, as_of: dt.date, clients=None) -> list[ReceivableInput]:
    """Receivables issued on or before D with an open amount at D > 0.

    open at D = face value − collection transactions dated ≤ D − written off (the receivable's
    maintained write-off total: write-offs carry no date on the receivable row).
    """
    collected = Coalesce(
        Sum(
            "transactions__amount",
            filter=Q(transactions__type=Transaction.Type.COLLECTION, transactions__date__lte=as_of),
        ),
        Value(ZERO),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )
    rows = (
        Receivable.objects.filter(issue_date__lte=as_of)
        .select_related("client", "debtor")
        .annotate(collected_to_date=collected)
        .order_by("receivable_id")
    )
    if clients is not None:
        rows = rows.filter(client__in=clients)
    result = []
    for r in rows:
        open_amount = r.face_value - Decimal(r.collected_to_date).quantize(Decimal("0.01")) - r.written_off
        if open_amount <= 0:
            continue
        result.append(
            ReceivableInput(
                key=r.receivable_id,
                client_key=r.client.client_id,
                client_name=r.client.name,
                debtor_key=r.debtor.debtor_id,
                debtor_name=r.debtor.name,
                currency=r.currency,
                due_date=r.due_date,
                open_amount=open_amount,
            )
        )
    return result


def portfolio_projection(*, as_of: dt.date, months: int = 12, scenario: Scenario = BASE, clients=None) -> Projection:
    return project(
        loan_inputs(clients=clients),
        receivable_inputs(as_of=as_of, clients=clients),
        as_of=as_of,
        months=months,
        scenario=scenario,
    )


@dataclass
class PortfolioView:
    base: Projection
    scenario: Projection
    overview: Overview
    positions: list[LoanPosition]  # loans outstanding at D (base rates)


def portfolio_view(*, as_of: dt.date, months: int = 12, scenario: Scenario = BASE, clients=None) -> PortfolioView:
    """Base projection, scenario projection (the base itself when the scenario is the base) and KPIs."""
    loans = loan_inputs(clients=clients)
    receivables = receivable_inputs(as_of=as_of, clients=clients)
    base_positions = loan_positions(loans, as_of)
    base = project(loans, receivables, as_of=as_of, months=months, positions=base_positions)
    alternative = base
    if not scenario.is_base:
        positions = base_positions if not scenario.rate_shift_bp else None
        alternative = project(loans, receivables, as_of=as_of, months=months, scenario=scenario, positions=positions)
    kpis = overview(loans, receivables, as_of=as_of, horizon_months=12, positions=base_positions)
    return PortfolioView(base=base, scenario=alternative, overview=kpis, positions=base_positions[0])


@dataclass
class LoanKpis:
    """Loan figures of one currency at D, for the dashboard (base case, no scenario).

    ``outstanding`` / ``loans``: principal outstanding at D of the loans started on or before D with
    something left (count of those loans). ``expected`` / ``instalments``: principal + interest of
    their periods dated in (D, horizon_end] (count of those periods).
    """

    currency: str
    outstanding: Decimal = ZERO
    loans: int = 0
    expected: Decimal = ZERO
    instalments: int = 0
    expected_principal: Decimal = ZERO
    expected_interest: Decimal = ZERO


def loan_kpis(*, as_of: dt.date, horizon_end: dt.date) -> dict[str, LoanKpis]:
    """Per currency (sorted): loans outstanding at D and instalments due in (D, horizon_end].

    The same figures ``atlas.selectors.dashboard`` derives from ``loan_positions``.
    """
    kpis: dict[str, LoanKpis] = {}
    for position in loan_positions(loan_inputs(), as_of)[0]:
        currency = position.loan.currency
        k = kpis.get(currency)
        if k is None:
            k = kpis[currency] = LoanKpis(currency=currency)
        k.outstanding += position.outstanding
        k.loans += 1
        for period in position.remaining:
            if period.date <= horizon_end:
                k.expected += period.principal + period.interest
                k.expected_principal += period.principal
                k.expected_interest += period.interest
                k.instalments += 1
    return dict(sorted(kpis.items()))
