"""The dashboard: KPI figures per currency, each linking to the rows behind it.

Sources (nothing is recomputed here):

- ledger figures (available, shortfall, releases due, exposure bands) from
  :func:`ledger.selectors.client_figures`, via :func:`risk.selectors.risk_snapshot` when the risk app
  provides it (it adds concentration and aging at the same as-of date in constant queries);
- overdue receivables from the aging buckets (open amount past its due date at D);
- portfolio outstanding and the next 30 days' loan instalments from ``portfolio.projection``;
- expected receivable collections in the next 30 days: open amount of receivables due on or before
  D + 30 days (overdue ones are projected on D, DOMAIN.md section 8);
- payouts by status: one grouped query.

The query count does not depend on the number of clients, payouts or loans.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum

from atlas.money import ZERO
from clients.filters import BAND_OVER, BAND_WARNING
from clients.models import Client, ImportBatch
from clients.selectors import exposure_band, warning_level
from ledger.selectors import client_figures, today
from payouts.models import PayoutBatch, PayoutStatus

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


def _open_receivables(client_pks, as_of):
    """Open receivables at D (risk selector); None when the risk app does not provide it."""
    try:
        from risk.selectors import open_receivables
    except ImportError:
        return None
    return open_receivables(client_pks, as_of=as_of)


def _loan_positions(as_of):
    try:
        from portfolio.projection import loan_positions
        from portfolio.selectors import loan_inputs
    except ImportError:
        return None
    return loan_positions(loan_inputs(), as_of)[0]


def _alerts(limit: int):
    try:
        from risk.models import Alert
    except ImportError:
        return [], 0
    qs = Alert.objects.filter(status=Alert.Status.OPEN)
    return list(qs.select_related("client").order_by("-opened_at", "-id")[:limit]), qs.count()


def dashboard(*, as_of: datetime.date | None = None, recent: int = 5) -> Dashboard:
    as_of = as_of or today()
    horizon_end = as_of + datetime.timedelta(days=HORIZON_DAYS)
    kpis: dict[str, CurrencyKpis] = {}

    def for_currency(currency: str) -> CurrencyKpis:
        if currency not in kpis:
            kpis[currency] = CurrencyKpis(currency=currency)
        return kpis[currency]

    clients = list(Client.objects.order_by("client_id"))
    figures = client_figures(clients, as_of=as_of) if clients else {}
    level = warning_level()
    for c in clients:
        f = figures[c.pk]
        k = for_currency(c.currency)
        k.clients += 1
        if f.available > 0:
            k.available.add(f.available)
        band = exposure_band(f.exposure_ratio, level)
        if band == BAND_OVER:
            k.over_limit.add(f.exposure)
        elif band == BAND_WARNING:
            k.warning.add(f.exposure)
        if f.shortfall > 0:
            k.shortfall.add(f.shortfall)
        if f.releases_due_count:
            k.releases_due.add(f.releases_due, f.releases_due_count)

    rows = _open_receivables([c.pk for c in clients], as_of) if clients else []
    for r in rows or []:
        k = for_currency(r.currency)
        k.open_receivables += r.open_amount
        if r.days_past_due > 0:
            k.overdue.add(r.open_amount)
        if r.due_date <= horizon_end:
            k.expected_receivables.add(r.open_amount)

    from payouts.models import Payout

    for row in Payout.objects.values("currency", "status").annotate(n=Count("pk"), total=Sum("amount")).order_by():
        for_currency(row["currency"]).payouts[row["status"]] = Tally(row["n"], row["total"])

    positions = _loan_positions(as_of)
    for position in positions or []:
        k = for_currency(position.loan.currency)
        k.loans_outstanding.add(position.outstanding)
        for period in position.remaining:
            if period.date <= horizon_end:
                k.expected_loans.add(period.principal + period.interest)

    alerts, alert_count = _alerts(10)
    return Dashboard(
        as_of=as_of,
        horizon_end=horizon_end,
        currencies=[kpis[c] for c in sorted(kpis)],
        recent_imports=list(ImportBatch.objects.select_related("user").order_by("-created_at", "-id")[:recent]),
        recent_batches=list(PayoutBatch.objects.annotate(n=Count("payouts")).order_by("-created_at", "-id")[:recent]),
        open_alerts=alerts,
        open_alert_count=alert_count,
        risk_available=rows is not None,
        portfolio_available=positions is not None,
    )
