"""Reads for the clients pages: the list rows (with their figures) and the drilldown.

Figures come from :func:`ledger.selectors.client_figures` (the one source), computed for all
the rows of a page in one call, so the query count does not grow with the rows.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django_tables2.data import TableListData

from atlas.models import AuditEvent
from atlas.money import ZERO, round_ratio
from atlas.tables import LazyRows
from clients.filters import BAND_OK, BAND_OVER, BAND_WARNING
from clients.models import Client, Receivable
from ledger.models import CLIENT_KINDS, Account, ReserveTranche
from ledger.selectors import ClientFigures, client_figures, today

log = logging.getLogger("atlas")

DEFAULT_WARNING_LEVEL = Decimal("0.90")
SUBACCOUNT_LABELS = {
    "factoring": "Factoring",
    "settlement": "Settlement",
    "rolling_reserve": "Rolling reserve",
    "partner_rr": "Partner RR",
}
SUBACCOUNT_HELP = {
    "factoring": "Advances outstanding (exposure)",
    "settlement": "Owed to the client, payable now",
    "rolling_reserve": "Withheld until the release date",
    "partner_rr": "Withheld by the partner",
}


def warning_level() -> Decimal:
    """The policy's exposure warning level (0.90 until the risk app provides a policy)."""
    try:
        from risk.models import RiskPolicy
    except ImportError:
        return DEFAULT_WARNING_LEVEL
    try:
        return RiskPolicy.get().exposure_warning_level
    except (AttributeError, LookupError):
        return DEFAULT_WARNING_LEVEL


def exposure_band(ratio: Decimal, level: Decimal) -> str:
    """``over`` when the unrounded ratio > 1, ``warning`` when ≥ the warning level, else ``ok``."""
    if ratio > 1:
        return BAND_OVER
    if ratio >= level:
        return BAND_WARNING
    return BAND_OK


@dataclass
class ClientRow:
    """One row of the clients list: the client and its figures, flat for django-tables2."""

    client: Client
    figures: ClientFigures
    band: str
    pk: int = field(init=False)
    client_id: str = field(init=False)
    name: str = field(init=False)
    currency: str = field(init=False)
    status: str = field(init=False)
    partner: str = field(init=False)
    credit_limit: Decimal = field(init=False)
    exposure: Decimal = field(init=False)
    exposure_ratio: Decimal = field(init=False)
    available: Decimal = field(init=False)
    shortfall: Decimal = field(init=False)

    def __post_init__(self):
        c, f = self.client, self.figures
        self.pk = c.pk
        self.client_id = c.client_id
        self.name = c.name
        self.currency = c.currency
        self.status = c.status
        self.partner = c.partner.partner_id if c.partner_id else ""
        self.credit_limit = c.credit_limit
        self.exposure = f.exposure
        self.exposure_ratio = f.exposure_ratio
        self.available = f.available
        self.shortfall = f.shortfall

    def get_status_display(self) -> str:
        return self.client.get_status_display()


def client_list_rows(
    queryset: QuerySet[Client], *, band: str | None = None, as_of: datetime.date | None = None
) -> list[ClientRow]:
    """Rows for the filtered clients, figures included, band applied.

    Sorting by a figure (exposure, available …) and filtering by band need the figures of every
    filtered client, so they are computed here for all of them in one call (constant queries).
    """
    clients = list(queryset.select_related("partner"))
    if not clients:
        return []
    figures = client_figures(clients, as_of=as_of)
    level = warning_level()
    rows = []
    for c in clients:
        f = figures[c.pk]
        row = ClientRow(client=c, figures=f, band=exposure_band(f.exposure_ratio, level))
        if band and row.band != band:
            continue
        rows.append(row)
    return rows


# Columns of the clients list that are plain client fields (sortable in SQL); the others are figures.
SQL_SORTS = {"client_id", "name", "currency", "status", "credit_limit"}


class _PageRows(LazyRows):
    """The filtered clients as list rows, figures computed only for the rows a slice asks for (a page)."""

    def __init__(self, queryset: QuerySet[Client], as_of: datetime.date | None):
        super().__init__()
        self.queryset = queryset.select_related("partner")
        self.as_of = as_of
        self._len: int | None = None

    def __len__(self) -> int:
        if self._len is None:
            self._len = self.queryset.count()
        return self._len

    def _build(self, key: slice) -> list[ClientRow]:
        clients = list(self.queryset[key])
        figures = client_figures(clients, as_of=self.as_of) if clients else {}
        level = warning_level()
        return [
            ClientRow(client=c, figures=figures[c.pk], band=exposure_band(figures[c.pk].exposure_ratio, level))
            for c in clients
        ]

    def sort(self, key=None, reverse=False):  # ordered in SQL by ClientPageData.order_by
        pass


class ClientPageData(TableListData):
    """django-tables2 data for the clients list when neither the sort nor a filter needs every client's
    figures: sorted in SQL, counted in SQL, figures for the shown page only (constant queries, and the
    page's cost does not grow with the book)."""

    def __init__(self, queryset: QuerySet[Client], *, as_of: datetime.date | None = None):
        super().__init__(_PageRows(queryset, as_of))

    def order_by(self, aliases):
        fields = [a for a in aliases if a.lstrip("-") in SQL_SORTS]
        ordered = self.data.queryset.order_by(*fields, "pk")
        if ordered.query.order_by != self.data.queryset.query.order_by:  # configured twice: keep the page
            self.data.queryset = ordered
            self.data._pages.clear()


# --- drilldown ---------------------------------------------------------------------------------


@dataclass
class ReceivableRow:
    receivable: Receivable
    open_amount: Decimal
    days_past_due: int
    status: str  # open | overdue | closed


def receivable_rows(client: Client, as_of: datetime.date) -> list[ReceivableRow]:
    rows = []
    for r in client.receivables.select_related("debtor").order_by("due_date", "receivable_id"):
        open_amount = r.open_amount
        dpd = max(0, (as_of - r.due_date).days) if open_amount > 0 else 0
        if open_amount <= 0:
            status = "closed"
        elif as_of > r.due_date:
            status = "overdue"
        else:
            status = "open"
        rows.append(ReceivableRow(receivable=r, open_amount=open_amount, days_past_due=dpd, status=status))
    return rows


def concentration_chart(client: Client, as_of: datetime.date) -> dict | None:
    """Debtor shares from ``risk.selectors.debtor_concentration``; None when it is not available."""
    try:
        from risk.selectors import debtor_concentration
    except ImportError:
        return None
    try:
        shares = debtor_concentration([client], as_of=as_of).get(client.pk, [])
    except (AttributeError, LookupError, TypeError) as exc:  # pragma: no cover - depends on the risk app
        log.warning("debtor concentration unavailable for %s: %s", client.client_id, exc)
        return None
    return {
        "rows": shares,
        "chart": {
            "labels": [f"{s.debtor.debtor_id} {s.debtor.name}" for s in shares],
            "shares": [str(round_ratio(s.share)) for s in shares],
            "limits": [str(round_ratio(s.limit)) if s.limit is not None else None for s in shares],
        },
    }


def open_alerts(client: Client) -> list:
    try:
        from risk.models import Alert
    except ImportError:
        return []
    return list(Alert.objects.filter(client=client, status__in=Alert.ACTIVE_STATUSES).order_by("-opened_at"))


def client_detail(client: Client, *, as_of: datetime.date | None = None) -> dict:
    """Everything the drilldown shows, for one client at ``as_of`` (today when None)."""
    from payouts.models import Payout
    from portfolio.models import Loan

    as_of = as_of or today()
    figures = client_figures([client], as_of=as_of)[client.pk]
    accounts = {a.kind: a for a in Account.objects.filter(client=client)}
    balances = {
        "factoring": figures.factoring,
        "settlement": figures.settlement,
        "rolling_reserve": figures.rolling_reserve,
        "partner_rr": figures.partner_rr,
    }
    cards = [
        {
            "kind": str(kind),
            "label": SUBACCOUNT_LABELS[str(kind)],
            "help": SUBACCOUNT_HELP[str(kind)],
            "balance": balances[str(kind)],
            "account": accounts.get(str(kind)),
        }
        for kind in CLIENT_KINDS
    ]
    tranches = list(
        ReserveTranche.objects.filter(client=client).select_related("transaction").order_by("due_date", "id")
    )
    for t in tranches:
        if t.released_on and t.released_on <= as_of:
            t.state = "released"
        elif t.due_date <= as_of:
            t.state = "due"
        else:
            t.state = "held"
    receivables = receivable_rows(client, as_of)
    return {
        "as_of": as_of,
        "figures": figures,
        "band": exposure_band(figures.exposure_ratio, warning_level()),
        "cards": cards,
        "receivables": receivables,
        "open_total": sum((r.open_amount for r in receivables), ZERO),
        "overdue_total": sum((r.open_amount for r in receivables if r.status == "overdue"), ZERO),
        "tranches": tranches,
        "payouts": list(Payout.objects.filter(client=client).select_related("batch").order_by("-created_at", "-id")),
        "loans": list(Loan.objects.filter(client=client).order_by("loan_id")),
        "alerts": open_alerts(client),
        "concentration": concentration_chart(client, as_of),
        "audit": list(
            AuditEvent.objects.filter(client=client).select_related("actor").order_by("-created_at", "-id")[:100]
        ),
    }
