"""Tables of the risk pages (all derive from atlas.tables.AtlasTable).

:class:`RiskClientTable` lists the clients of the risk overview, highest exposure ratio first,
50 a page. Its data (:class:`RiskClientData`) holds every client's ledger figures from
``risk.selectors.portfolio`` (no model instances) and computes the per-client debtor concentration,
overdue share and alert count only for the rows a page (or an export) asks for.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import django_tables2 as tables
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django_tables2.data import TableListData

from atlas.money import fmt, round_ratio
from atlas.tables import AtlasTable, LazyRows, MoneyColumn, RatioColumn, StatusColumn
from risk.models import Alert
from risk.selectors import ClientSummary, DebtorShare, Portfolio, client_risk

BAND_LABELS = {"ok": "ok", "warning": "warning", "over_limit": "over limit"}
BAND_COLOURS = {"ok": "success", "warning": "warning", "over_limit": "danger"}
# ?show= filters of the clients table: label, test on a summary (pf: the Portfolio, alerts: pks with alerts)
SHOW = {
    "over_limit": "over limit",
    "warning": "exposure warning",
    "shortfall": "reserve shortfall",
    "breach": "concentration breach",
    "alerts": "open alerts",
}
SORTS = {  # column → key on a ClientSummary (ties by client id)
    "client": lambda s: s.client_id,
    "exposure_ratio": lambda s: s.ratio_key,
    "exposure": lambda s: s.exposure_c,
    "credit_limit": lambda s: s.limit_c,
    "headroom": lambda s: s.limit_c - s.exposure_c,
    "available": lambda s: s.available_c,
    "shortfall": lambda s: s.shortfall_c,
}


@dataclass
class RiskClientRow:
    """One row of the clients table: a client's figures, its top debtor, overdue share and alerts."""

    summary: ClientSummary
    top_share: DebtorShare | None
    overdue_share: Decimal | None
    open_alerts: int

    def __getattr__(self, name):  # the summary's fields (client_id, exposure, …) as the row's own
        if name == "summary":
            raise AttributeError(name)
        return getattr(self.summary, name)

    @property
    def client(self) -> str:
        return self.summary.client_id


class _Rows(LazyRows):
    """The filtered summaries, rows built only for the slice asked for (a page, or all for an export)."""

    def __init__(self, summaries: list[ClientSummary], as_of: datetime.date, policy, all_clients: bool, fast: bool):
        super().__init__()
        self.summaries = summaries
        self.as_of = as_of
        self.policy = policy
        self.fast = fast
        self.all_clients = all_clients  # no filter: an export reads every client's receivables at once

    def __len__(self) -> int:
        return len(self.summaries)

    def _build(self, key: slice) -> list[RiskClientRow]:
        chosen = self.summaries[key]
        if not chosen:
            return []
        pks = [s.pk for s in chosen]
        whole = self.all_clients and len(chosen) == len(self.summaries)
        risk = client_risk(None if whole else pks, as_of=self.as_of, policy=self.policy, fast=self.fast)
        alerts = dict(
            Alert.objects.filter(status__in=Alert.ACTIVE_STATUSES, **({} if whole else {"client__in": pks}))
            .order_by()
            .values_list("client_id")
            .annotate(n=Count("pk"))
        )
        return [
            RiskClientRow(
                summary=s,
                top_share=risk[s.pk].top_share if s.pk in risk else None,
                overdue_share=risk[s.pk].overdue_share if s.pk in risk else None,
                open_alerts=alerts.get(s.pk, 0),
            )
            for s in chosen
        ]


class RiskClientData(TableListData):
    """django-tables2 data over every client's summary: filtered and sorted in memory (the summaries
    are already loaded for the portfolio totals), enriched only for the shown page."""

    def __init__(self, pf: Portfolio, *, show: str = "", client_pks_with_alerts: set[int] | None = None):
        summaries = pf.summaries  # highest exposure ratio first
        if show in ("over_limit", "warning"):
            summaries = [s for s in summaries if s.band == show]
        elif show == "shortfall":
            summaries = [s for s in summaries if s.shortfall_c > 0]
        elif show == "breach":
            breached = pf.breached_client_pks
            summaries = [s for s in summaries if s.pk in breached]
        elif show == "alerts":
            summaries = [s for s in summaries if s.pk in (client_pks_with_alerts or set())]
        super().__init__(_Rows(list(summaries), pf.as_of, pf.policy, all_clients=not show, fast=pf.fast))

    def order_by(self, aliases):
        rows = self.data
        for alias in reversed(list(aliases)):  # stable sorts, last key first
            name = alias.lstrip("-")
            if name in SORTS:
                rows.summaries.sort(key=SORTS[name], reverse=alias.startswith("-"))
        rows._pages.clear()


class RiskClientTable(AtlasTable):
    export_filename = "risk-clients"

    client = tables.Column(verbose_name="Client", order_by=("client",))
    status = StatusColumn(verbose_name="Status", orderable=False)
    band = tables.Column(verbose_name="Band", orderable=False)
    exposure_ratio = RatioColumn(verbose_name="Exposure ratio")
    exposure = MoneyColumn(verbose_name="Exposure")
    credit_limit = MoneyColumn(verbose_name="Credit limit")
    headroom = MoneyColumn(verbose_name="Headroom")
    available = MoneyColumn(verbose_name="Available")
    shortfall = MoneyColumn(verbose_name="Shortfall")
    top_share = tables.Column(verbose_name="Top debtor", orderable=False, empty_values=())
    overdue_share = RatioColumn(verbose_name="Overdue share", orderable=False, empty_values=())
    open_alerts = tables.Column(
        verbose_name="Alerts", orderable=False, attrs={"th": {"class": "num"}, "td": {"class": "num"}}
    )

    class Meta(AtlasTable.Meta):
        per_page = 50
        attrs = {**AtlasTable.Meta.attrs, "data-testid": "risk-clients"}
        empty_text = "No clients match. Change the filter, or import a workbook."

    def render_client(self, value, record):
        return format_html(
            '<a href="{}">{}</a> {}', reverse("clients:detail", args=[value]), value, record.summary.name
        )

    def value_client(self, value, record):
        return value

    def render_band(self, value):
        colour = BAND_COLOURS.get(value, "secondary")
        text = " text-dark" if colour == "warning" else ""
        return format_html('<span class="badge text-bg-{}{}">{}</span>', colour, text, BAND_LABELS.get(value, value))

    def value_band(self, value):
        return value

    def render_exposure(self, value, record):
        return f"{fmt(value)} {record.summary.currency}"

    def render_top_share(self, value):
        if value is None:
            return "—"
        text = format_html("{} {}", value.debtor.debtor_id, value.share_display)
        if value.breached:
            text = format_html(
                '{} <span class="badge text-bg-warning text-dark">over {}</span>', text, f"{value.limit:.4f}"
            )
        return text

    def value_top_share(self, value):
        return f"{value.debtor.debtor_id} {value.share_display}" if value is not None else ""

    def render_overdue_share(self, value):
        return f"{round_ratio(value):f}" if value is not None else "—"

    def render_open_alerts(self, value):
        if not value:
            return "0"
        return format_html('<a href="{}">{}</a>', reverse("risk:alerts"), value)

    def value_open_alerts(self, value):
        return value
