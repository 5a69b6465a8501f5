"""Portfolio pages: the overview (KPIs, scenario, projection chart and tables) and a loan's schedule.

Read-only for every role. The overview shows ``portfolio.selectors.portfolio_page`` (SQL aggregates, a
constant number of queries, the per-row tables one page at a time: ``?<table>_page=N``); every table
exports complete with ``?export=csv|xlsx`` (the overview also needs ``&table=<name>``, see
:data:`EXPORT_TABLES`), computed by the reference path ``portfolio_view`` over the whole book.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render

from atlas.exports import export_response
from atlas.money import ZERO
from atlas.roles import ALL, require_roles
from portfolio.forms import ScenarioForm
from portfolio.models import Loan
from portfolio.projection import MonthRow, month_totals
from portfolio.schedule import CSV_HEADER, loan_schedule
from portfolio.selectors import PortfolioView, portfolio_page, portfolio_view
from portfolio.tables import (
    COMPARISON_HEADERS,
    KPI_HEADERS,
    MONTH_COLUMNS,
    PROJECTION_HEADERS,
    comparison_rows,
    kpi_rows,
    projection_rows,
)

EXPORT_FORMATS = ("csv", "xlsx")
PAGED_TABLES = ("clients", "debtors", "client_totals", "loans")  # ?<name>_page=N
EXPORT_TABLES = ("currencies", "months", "client_totals", "projection", "clients", "debtors", "methods", "loans")

CLIENT_TOTAL_HEADERS = ("currency", "client_id", "name", *(f"base_{c}" for c in MONTH_COLUMNS)) + tuple(
    f"scenario_{c}" for c in MONTH_COLUMNS
)
LOAN_HEADERS = (
    "loan_id",
    "client_id",
    "currency",
    "method",
    "day_count",
    "principal",
    "annual_rate",
    "start_date",
    "term_months",
    "maturity",
    "outstanding",
    "next_payment_date",
    "next_payment",
)


def _client_totals(view: PortfolioView) -> list[dict]:
    rows = []
    for key, base_rows in view.base.clients.items():
        scenario_rows = view.scenario.clients.get(key, [])
        currency, client_key = key
        rows.append(
            {
                "currency": currency,
                "client_id": client_key,
                "name": view.base.client_names.get(client_key, ""),
                "base": view.base.totals(base_rows),
                "scenario": view.scenario.totals(scenario_rows),
            }
        )
    return rows


def _loan_rows(view: PortfolioView) -> list[dict]:
    rows = []
    for position in view.positions:
        loan = position.loan
        upcoming = position.remaining[0] if position.remaining else None
        rows.append(
            {
                "loan_id": loan.key,
                "client_id": loan.client_key,
                "client_name": loan.client_name,
                "currency": loan.currency,
                "method": loan.method,
                "day_count": loan.day_count,
                "principal": loan.principal,
                "annual_rate": loan.annual_rate,
                "start_date": loan.start_date,
                "term_months": loan.term_months,
                "maturity": position.remaining[-1].date if position.remaining else None,
                "outstanding": position.outstanding,
                "next_payment_date": upcoming.date if upcoming else None,
                "next_payment": upcoming.payment if upcoming else ZERO,
            }
        )
    return rows


def _month_values(row: MonthRow) -> list:
    return [getattr(row, c) for c in MONTH_COLUMNS]


def _export(fmt_name: str, table: str, view: PortfolioView, currency: str, as_of):
    stamp = f"{as_of:%Y-%m-%d}"
    if table == "currencies" or table in ("clients", "debtors", "methods"):
        return export_response(fmt_name, f"portfolio-{table}-{stamp}", KPI_HEADERS, kpi_rows(view.overview, table))
    if table == "months":
        rows = comparison_rows(view.base, view.scenario, currency)
        return export_response(fmt_name, f"portfolio-months-{currency}-{stamp}", COMPARISON_HEADERS, rows)
    if table == "client_totals":
        rows = [
            (r["currency"], r["client_id"], r["name"], *_month_values(r["base"]), *_month_values(r["scenario"]))
            for r in _client_totals(view)
        ]
        return export_response(fmt_name, f"portfolio-client-totals-{stamp}", CLIENT_TOTAL_HEADERS, rows)
    if table == "projection":
        rows = [("base", *r) for r in projection_rows(view.base)]
        rows += [("scenario", *r) for r in projection_rows(view.scenario)]
        return export_response(fmt_name, f"portfolio-projection-{stamp}", ("case", *PROJECTION_HEADERS), rows)
    if table == "loans":
        rows = [tuple(r[h] for h in LOAN_HEADERS) for r in _loan_rows(view)]
        return export_response(fmt_name, f"portfolio-loans-{stamp}", LOAN_HEADERS, rows)
    raise Http404(f"Unknown table {table!r}: one of {', '.join(EXPORT_TABLES)}")


def _chart_data(rows: list[MonthRow]) -> dict:
    return {
        "principal": [str(r.principal) for r in rows],
        "interest": [str(r.interest) for r in rows],
        "collections": [str(r.collections) for r in rows],
        "closing": [str(r.closing_balance) for r in rows],
    }


def _totals(rows: list[MonthRow]) -> MonthRow | None:
    return month_totals(rows, rows[0].start, rows[-1].end) if rows else None


@require_roles(*ALL)
def overview(request):
    form = ScenarioForm(request.GET)
    context = {"form": form}
    if form.is_valid():
        params = form.params()
        fmt_name = request.GET.get("export")
        if fmt_name in EXPORT_FORMATS:  # complete tables: the reference path over the whole book
            view = portfolio_view(as_of=params.as_of, months=params.months, scenario=params.scenario)
            currencies = sorted(set(view.base.currencies) | set(view.overview.currencies))
            currency = params.currency if params.currency in currencies else (currencies[0] if currencies else "")
            return _export(fmt_name, request.GET.get("table", ""), view, currency, params.as_of)
        page = portfolio_page(
            as_of=params.as_of,
            months=params.months,
            scenario=params.scenario,
            currency=params.currency,
            pages={name: request.GET.get(f"{name}_page") for name in PAGED_TABLES},
        )
        currency = page.currency
        base_rows = page.base.get(currency, [])
        scenario_rows = page.alternative.get(currency, [])
        query = request.GET.copy()
        for name in ("export", "table", *(f"{t}_page" for t in PAGED_TABLES)):
            query.pop(name, None)
        currency_links = []
        for cur in page.currencies:
            q = query.copy()
            q["currency"] = cur
            currency_links.append((cur, q.urlencode()))
        context.update(
            params=params,
            page=page,
            currencies=page.currencies,
            currency=currency,
            currency_links=currency_links,
            query=query.urlencode(),
            kpis=list(page.kpis.values()),
            months=list(zip(base_rows, scenario_rows, strict=True)),
            base_total=_totals(base_rows),
            scenario_total=_totals(scenario_rows),
            chart={
                "currency": currency,
                "labels": [f"M{r.month} · {r.end:%Y-%m-%d}" for r in base_rows],
                "base": _chart_data(base_rows),
                "scenario": _chart_data(scenario_rows),
                "scenario_label": params.scenario.describe(),
            },
        )
    return render(request, "portfolio/overview.html", context)


@require_roles(*ALL)
def loan_detail(request, loan_id: str):
    loan = get_object_or_404(Loan.objects.select_related("client"), loan_id=loan_id)
    periods = loan_schedule(loan)
    fmt_name = request.GET.get("export")
    if fmt_name in EXPORT_FORMATS:
        return export_response(fmt_name, f"loan-{loan.loan_id}-schedule", CSV_HEADER, periods)
    totals = {
        "payment": sum((p.payment for p in periods), ZERO),
        "interest": sum((p.interest for p in periods), ZERO),
        "principal": sum((p.principal for p in periods), ZERO),
    }
    return render(
        request,
        "portfolio/loan.html",
        {"loan": loan, "periods": periods, "totals": totals, "maturity": periods[-1].date},
    )
