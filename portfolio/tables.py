"""Headers and rows of every portfolio table: one definition for the pages, CSV/XLSX exports and
the management commands. Amounts stay ``Decimal`` (2 places); ratios are rounded to 4 places with
``round_ratio`` (the weighted average life, in years, too)."""

from __future__ import annotations

from atlas.money import round_ratio
from portfolio.projection import KpiRow, MonthRow, Overview, Projection

MONTH_COLUMNS = ("opening_balance", "principal", "interest", "collections", "defaulted", "closing_balance")
PROJECTION_HEADERS = ("scope", "currency", "client_id", "month", "start", "end", *MONTH_COLUMNS)


def month_values(row: MonthRow) -> tuple:
    return tuple(getattr(row, name) for name in MONTH_COLUMNS)


def projection_rows(projection: Projection, *, clients: bool = True, currency: str | None = None) -> list[tuple]:
    """Portfolio rows per currency, then (``clients``) the rows of every client."""
    rows = []
    for cur, months in projection.currencies.items():
        if currency and cur != currency:
            continue
        rows += [("portfolio", cur, "", m.month, m.start, m.end, *month_values(m)) for m in months]
    if clients:
        for (cur, client_key), months in projection.clients.items():
            if currency and cur != currency:
                continue
            rows += [("client", cur, client_key, m.month, m.start, m.end, *month_values(m)) for m in months]
    return rows


COMPARISON_HEADERS = (
    "currency",
    "month",
    "start",
    "end",
    *(f"base_{c}" for c in MONTH_COLUMNS),
    *(f"scenario_{c}" for c in MONTH_COLUMNS),
)


def comparison_rows(base: Projection, scenario: Projection, currency: str) -> list[tuple]:
    base_rows = base.currencies.get(currency, [])
    scenario_rows = scenario.currencies.get(currency, [])
    return [
        (currency, b.month, b.start, b.end, *month_values(b), *month_values(s))
        for b, s in zip(base_rows, scenario_rows, strict=True)
    ]


KPI_HEADERS = (
    "currency",
    "key",
    "name",
    "loans",
    "loans_outstanding",
    "receivables",
    "receivables_open",
    "principal_12m",
    "interest_12m",
    "collections_12m",
    "weighted_rate",
    "weighted_life_years",
)


def kpi_values(row: KpiRow) -> tuple:
    return (
        row.currency,
        row.key,
        row.label,
        row.loans_count,
        row.loans_outstanding,
        row.receivables_count,
        row.receivables_open,
        row.principal_12m,
        row.interest_12m,
        row.collections_12m,
        round_ratio(row.weighted_rate),
        round_ratio(row.weighted_life),
    )


def kpi_rows(overview: Overview, table: str) -> list[tuple]:
    """``table``: currencies, clients, debtors or methods."""
    source = list(overview.currencies.values()) if table == "currencies" else getattr(overview, table)
    return [kpi_values(r) for r in source]
