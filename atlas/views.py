"""The dashboard, and small helpers shared by the page views."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from atlas.filters import as_of_param
from atlas.roles import ALL, require_roles
from atlas.selectors import dashboard as select_dashboard


def url_or_path(name: str, args: list | None = None, fallback: str = "", query: dict | None = None) -> str:
    """``reverse(name, args)``, or the planned path while the other app has not added the route."""
    try:
        url = reverse(name, args=args or [])
    except NoReverseMatch:
        url = fallback
    return f"{url}?{urlencode(query)}" if query else url


def _cards(k, as_of) -> list[dict]:
    """The KPI cards of one currency, each with the link to the rows behind it."""
    cur = k.currency
    clients = reverse("clients:list")
    reserves = url_or_path("risk:reserves", fallback="/risk/reserves/", query={"as_of": as_of.isoformat()})
    cards = [
        {
            "label": "Available for payout",
            "value": k.available.amount,
            "count": k.available.count,
            "unit": "client",
            "href": f"{clients}?{urlencode({'currency': cur, 'sort': '-available'})}",
            "testid": f"kpi-available-{cur}",
        },
        {
            "label": "Clients over limit",
            "value": k.over_limit.amount,
            "count": k.over_limit.count,
            "unit": "client",
            "note": "exposure",
            "href": f"{clients}?{urlencode({'band': 'over', 'currency': cur})}",
            "testid": f"kpi-over-{cur}",
            "alert": k.over_limit.count > 0,
        },
        {
            "label": "Clients in exposure warning",
            "value": k.warning.amount,
            "count": k.warning.count,
            "unit": "client",
            "note": "exposure",
            "href": f"{clients}?{urlencode({'band': 'warning', 'currency': cur})}",
            "testid": f"kpi-warning-{cur}",
        },
        {
            "label": "Reserve shortfalls",
            "value": k.shortfall.amount,
            "count": k.shortfall.count,
            "unit": "client",
            "href": f"{clients}?{urlencode({'currency': cur, 'sort': '-shortfall'})}",
            "testid": f"kpi-shortfall-{cur}",
            "alert": k.shortfall.count > 0,
        },
        {
            "label": "Reserve releases due",
            "value": k.releases_due.amount,
            "count": k.releases_due.count,
            "unit": "tranche",
            "href": reserves,
            "testid": f"kpi-releases-{cur}",
        },
        {
            "label": "Overdue receivables",
            "value": k.overdue.amount,
            "count": k.overdue.count,
            "unit": "receivable",
            "note": f"of {k.open_receivables:.2f} open",
            "href": url_or_path("risk:overview", fallback="/risk/", query={"as_of": as_of.isoformat()}),
            "testid": f"kpi-overdue-{cur}",
        },
        {
            "label": "Portfolio outstanding",
            "value": k.loans_outstanding.amount,
            "count": k.loans_outstanding.count,
            "unit": "loan",
            "href": url_or_path("portfolio:overview", fallback="/portfolio/", query={"currency": cur}),
            "testid": f"kpi-portfolio-{cur}",
        },
        {
            "label": "Expected collections, next 30 days",
            "value": k.expected_total,
            "note": f"receivables {k.expected_receivables.amount:.2f} · loans {k.expected_loans.amount:.2f}",
            "href": url_or_path("portfolio:overview", fallback="/portfolio/", query={"currency": cur}),
            "testid": f"kpi-expected-{cur}",
        },
    ]
    return cards


@require_roles(*ALL)
def dashboard(request):
    as_of = as_of_param(request)
    data = select_dashboard(as_of=as_of)
    payouts = url_or_path("payouts:queue", fallback="/payouts/")
    currencies = []
    for k in data.currencies:
        payout_rows = [
            {
                "status": status,
                "count": tally.count,
                "amount": tally.amount,
                "href": f"{payouts}?{urlencode({'status': status, 'currency': k.currency})}",
            }
            for status, tally in k.payout_rows
        ]
        currencies.append({"kpis": k, "cards": _cards(k, data.as_of), "payouts": payout_rows})
    return render(
        request,
        "atlas/dashboard.html",
        {"d": data, "currencies": currencies, "imports_url": url_or_path("imports:upload", fallback="/import/")},
    )
