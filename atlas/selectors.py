"""The dashboard: KPI figures per currency, each linking to the rows behind it.

Sources (nothing is recomputed here; the query count does not depend on the number of clients,
receivables, payouts or loans):

- ledger figures per client (available, shortfall, exposure bands) and the open receivables per
  currency (overdue, expected in the next 30 days: open amount of receivables due on or before
  D + 30 days, overdue ones being projected on D, DOMAIN.md section 8) from
  :func:`risk.selectors.dashboard_totals` (grouped SQL on the maintained columns when they are current
  at D: no row per client reaches Python; else the reference computation);
- reserve releases due per currency: :func:`risk.selectors.releases_due_by_currency`;
- loans outstanding and the next 30 days' instalments: :func:`portfolio.selectors.loan_kpis`;
- payouts by status: one grouped query.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum

from atlas.money import ZERO
from clients.models import ImportBatch
from ledger.selectors import today
from payouts.models import PayoutBatch, PayoutStatus
from portfolio.selectors import loan_kpis
from risk.selectors import dashboard_totals, from_cents, releases_due_by_currency

log = logging.getLogger("atlas")

HORIZON_DAYS = 30
PAYOUT_STATUS_ORDER = [s.value for s in PayoutStatus]


@dataclass
class Tally:
    count: int = 0
    amount: Decimal = ZERO

    def add(self, amount: Decimal, n: int = 1) -> None:
        self.count += n
        self.amount += amount


@dataclass
class CurrencyKpis:
    currency: str
    clients: int = 0
    available: Tally = field(default_factory=Tally)
    over_limit: Tally = field(default_factory=Tally)  # amount: exposure of those clients
    warning: Tally = field(default_factory=Tally)
    shortfall: Tally = field(default_factory=Tally)
    releases_due: Tally = field(default_factory=Tally)
    overdue: Tally = field(default_factory=Tally)  # count: receivables
    open_receivables: Decimal = ZERO
    payouts: dict[str, Tally] = field(default_factory=dict)
    loans_outstanding: Tally = field(default_factory=Tally)
    expected_receivables: Tally = field(default_factory=Tally)
    expected_loans: Tally = field(default_factory=Tally)  # instalments (principal + interest)

    @property
    def expected_total(self) -> Decimal:
        return self.expected_receivables.amount + self.expected_loans.amount

    @property
    def payout_rows(self) -> list[tuple[str, Tally]]:
        return [(s, self.payouts[s]) for s in PAYOUT_STATUS_ORDER if s in self.payouts]


@dataclass
class Dashboard:
    as_of: datetime.date
    horizon_end: datetime.date
    currencies: list[CurrencyKpis]
    recent_imports: list
    recent_batches: list
    open_alerts: list
    open_alert_count: int
    risk_available: bool
    portfolio_available: bool


def _alerts(limit: int):
    try:
        from risk.models import Alert
    except ImportError:
        return [], 0
    qs = Alert.objects.filter(status=Alert.Status.OPEN)
    return list(qs.select_related("client").order_by("-opened_at", "-id")[:limit]), qs.count()


def _recent_batches(limit: int) -> list[PayoutBatch]:
    """The latest ``limit`` payout batches, each with ``n`` = its payout count: the LIMIT first, then one
    grouped count over those batches only (an annotated query counted every batch's payouts before the LIMIT)."""
    from payouts.models import Payout

    batches = list(PayoutBatch.objects.order_by("-created_at", "-id")[:limit])
    counts = dict(
        Payout.objects.filter(batch__in=[b.pk for b in batches])
        .order_by()
        .values("batch")
        .annotate(n=Count("pk"))
        .values_list("batch", "n")
    )
    for b in batches:
        b.n = counts.get(b.pk, 0)
    return batches


def dashboard(*, as_of: datetime.date | None = None, recent: int = 5) -> Dashboard:
    as_of = as_of or today()
    horizon_end = as_of + datetime.timedelta(days=HORIZON_DAYS)
    kpis: dict[str, CurrencyKpis] = {}

    def for_currency(currency: str) -> CurrencyKpis:
        if currency not in kpis:
            kpis[currency] = CurrencyKpis(currency=currency)
        return kpis[currency]

    fast, tallies, receivables = dashboard_totals(as_of, horizon_end)
    for currency, t in tallies.items():
        k = for_currency(currency)
        k.clients = t["clients"]
        k.available.add(from_cents(t["available"]), t["available_n"])
        k.over_limit.add(from_cents(t["over_limit"]), t["over_limit_n"])
        k.warning.add(from_cents(t["warning"]), t["warning_n"])
        k.shortfall.add(from_cents(t["shortfall"]), t["shortfall_n"])
    for currency, (amount, count) in releases_due_by_currency(as_of, fast=fast).items():
        for_currency(currency).releases_due.add(amount, count)
    for currency, r in receivables.items():
        k = for_currency(currency)
        k.open_receivables = r.aging.total_open
        k.overdue.add(r.overdue, r.overdue_count)
        k.expected_receivables.add(r.expected, r.expected_count)

    from payouts.models import Payout

    for row in Payout.objects.values("currency", "status").annotate(n=Count("pk"), total=Sum("amount")).order_by():
        for_currency(row["currency"]).payouts[row["status"]] = Tally(row["n"], row["total"])

    for currency, loans in loan_kpis(as_of=as_of, horizon_end=horizon_end).items():
        k = for_currency(currency)
        k.loans_outstanding.add(loans.outstanding, loans.loans)
        k.expected_loans.add(loans.expected, loans.instalments)

    alerts, alert_count = _alerts(10)
    return Dashboard(
        as_of=as_of,
        horizon_end=horizon_end,
        currencies=[kpis[c] for c in sorted(kpis)],
        recent_imports=list(ImportBatch.objects.select_related("user").order_by("-created_at", "-id")[:recent]),
        recent_batches=_recent_batches(recent),
        open_alerts=alerts,
        open_alert_count=alert_count,
        risk_available=True,
        portfolio_available=True,
    )
