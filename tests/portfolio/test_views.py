"""The overview and loan pages: every role, flat query counts, scenario form, exports."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from atlas.roles import ROLES
from portfolio import views
from tests.factories import ClientFactory, DebtorFactory, LoanFactory, ReceivableFactory

pytestmark = pytest.mark.django_db
AS_OF = "2026-01-31"
OVERVIEW = reverse("portfolio:overview")


def make_portfolio(n, currency="EUR"):
    for i in range(n):
        client = ClientFactory(currency=currency)
        LoanFactory(client=client, start_date=dt.date(2025, 12, 31), method=["annuity", "linear", "bullet"][i % 3])
        ReceivableFactory(client=client, debtor=DebtorFactory(), face_value=D("1000.00"), due_date=dt.date(2026, 3, 1))


def test_every_role_sees_the_overview(client_as):
    make_portfolio(2)
    for role in ROLES:
        response = client_as(role).get(OVERVIEW, {"as_of": AS_OF})
        assert response.status_code == 200, role
        assert b'id="portfolio-chart-data"' in response.content
    assert views.overview.atlas_roles == frozenset(ROLES)
    assert views.loan_detail.atlas_roles == frozenset(ROLES)


def test_anonymous_is_sent_to_login(client):
    assert client.get(OVERVIEW).status_code == 302


def test_overview_query_count_is_flat(client_as):
    web = client_as("finance")
    params = {"as_of": AS_OF, "default_rate": "0.05", "delay_days": "10", "rate_shift_bp": "50"}
    make_portfolio(2)
    web.get(OVERVIEW, params)  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as few:
        assert web.get(OVERVIEW, params).status_code == 200
    make_portfolio(15)
    LoanFactory.create_batch(10, client=ClientFactory(), start_date=dt.date(2025, 11, 30))
    web.get(OVERVIEW, params)  # schedules of the new loans are stored on the first read (or by the import)
    with CaptureQueriesContext(connection) as many:
        response = web.get(OVERVIEW, params)
    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries), [q["sql"] for q in many.captured_queries]
    assert len(few.captured_queries) <= 25


def test_chart_data_matches_the_projection(client_as):
    client = ClientFactory(client_id="CL-X")
    LoanFactory(
        client=client,
        loan_id="L-X",
        principal=D("3000.00"),
        annual_rate=D("0.12"),
        start_date=dt.date(2026, 1, 31),
        term_months=3,
        method="linear",
    )
    response = client_as("risk").get(OVERVIEW, {"as_of": AS_OF, "months": "3", "default_rate": "0.1"})
    data = response.context["chart"]
    assert json.loads(json.dumps(data)) == data  # serialisable as json_script needs
    # linear 1,000.00 a month; interest 30.00, 20.00, 10.00 (1 % a month on the balance)
    assert data["base"]["principal"] == ["1000.00", "1000.00", "1000.00"]
    assert data["base"]["interest"] == ["30.00", "20.00", "10.00"]
    assert data["base"]["closing"] == ["2000.00", "1000.00", "0.00"]
    # 10 % does not arrive: 900.00 principal, 27.00 / 18.00 / 9.00 interest
    assert data["scenario"]["principal"] == ["900.00", "900.00", "900.00"]
    assert data["scenario"]["interest"] == ["27.00", "18.00", "9.00"]
    assert data["labels"][0] == "M1 · 2026-02-28"
    assert b'href="/portfolio/loans/L-X/"' in response.content
    assert b"vendor/chart.js/chart.umd.min.js" in response.content and b"js/portfolio.js" in response.content


def test_invalid_scenario_shows_errors_beside_the_fields(client_as):
    response = client_as("credit").get(
        OVERVIEW, {"as_of": "31.01.2026", "default_rate": "1.5", "months": "0", "delay_days": "-1"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"as_of", "default_rate", "months", "delay_days"}
    html = response.content.decode()
    assert html.count('class="invalid-feedback d-block"') == 4
    assert 'id="id_default_rate-error"' in html
    assert "portfolio-chart-data" not in html


def test_several_currencies_are_shown_one_at_a_time(client_as):
    make_portfolio(1, "EUR")
    make_portfolio(1, "GBP")
    web = client_as("ops")
    eur = web.get(OVERVIEW, {"as_of": AS_OF})
    assert eur.context["currency"] == "EUR" and eur.context["currencies"] == ["EUR", "GBP"]
    gbp = web.get(OVERVIEW, {"as_of": AS_OF, "currency": "GBP"})
    assert gbp.context["chart"]["currency"] == "GBP"
    assert [r.currency for r in gbp.context["page"].client_totals] == ["GBP"]
    assert [r.currency for r in gbp.context["page"].loans] == ["GBP"]


def test_every_overview_table_exports(client_as):
    make_portfolio(3)
    web = client_as("finance")
    for table in views.EXPORT_TABLES:
        for fmt in ("csv", "xlsx"):
            response = web.get(OVERVIEW, {"as_of": AS_OF, "default_rate": "0.05", "table": table, "export": fmt})
            assert response.status_code == 200, (table, fmt)
            assert response["Content-Disposition"].endswith(f'.{fmt}"')
            if fmt == "csv":
                rows = list(csv.reader(io.StringIO(response.content.decode())))
                assert all(len(r) == len(rows[0]) for r in rows), table
            else:
                ws = load_workbook(io.BytesIO(response.content), read_only=True).active
                rows = [list(r) for r in ws.iter_rows(values_only=True)]
                # read-only openpyxl drops trailing empty cells (a debtor has no weighted rate)
                assert all(len(r) <= len(rows[0]) for r in rows), table
            assert len(rows) > 1, (table, fmt)


def test_export_of_months_matches_the_page(client_as):
    make_portfolio(2)
    web = client_as("finance")
    page = web.get(OVERVIEW, {"as_of": AS_OF, "months": "4", "delay_days": "40"})
    response = web.get(
        OVERVIEW, {"as_of": AS_OF, "months": "4", "delay_days": "40", "table": "months", "export": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 4
    base_rows = [b for b, _ in page.context["months"]]
    scenario_rows = [s for _, s in page.context["months"]]
    assert [r["base_collections"] for r in rows] == [f"{b.collections:.2f}" for b in base_rows]
    assert [r["scenario_collections"] for r in rows] == [f"{s.collections:.2f}" for s in scenario_rows]
    # base: both receivables (1 Mar) in month 2; 40 days later (10 Apr) in month 3
    assert [r["base_collections"] for r in rows] == ["0.00", "2000.00", "0.00", "0.00"]
    assert [r["scenario_collections"] for r in rows] == ["0.00", "0.00", "2000.00", "0.00"]


def test_unknown_export_table_is_404(client_as):
    assert client_as("finance").get(OVERVIEW, {"table": "nope", "export": "csv"}).status_code == 404


def test_loan_page_shows_and_exports_the_schedule(client_as, django_assert_max_num_queries):
    LoanFactory(
        loan_id="L-7",
        principal=D("5000.00"),
        annual_rate=D("0.045"),
        start_date=dt.date(2026, 1, 31),
        term_months=3,
        method="bullet",
    )
    url = reverse("portfolio:loan", args=["L-7"])
    for role in ROLES:
        web = client_as(role)
        with django_assert_max_num_queries(8):
            response = web.get(url)
        assert response.status_code == 200
    html = response.content.decode()
    assert "5018.75" in html and "2026-04-30" in html
    exported = client_as("finance").get(url, {"export": "csv"})
    assert exported.content.decode().splitlines() == [
        "period,date,opening_balance,payment,interest,principal,closing_balance",
        "1,2026-02-28,5000.00,18.75,18.75,0.00,5000.00",
        "2,2026-03-31,5000.00,18.75,18.75,0.00,5000.00",
        "3,2026-04-30,5000.00,5018.75,18.75,5000.00,0.00",
    ]
    xlsx = client_as("finance").get(url, {"export": "xlsx"})
    ws = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert [list(r) for r in ws.iter_rows(values_only=True)][3][3] == 5018.75
    assert client_as("finance").get(reverse("portfolio:loan", args=["NOPE"])).status_code == 404


def test_loan_admin_lists_searches_and_filters(admin_client):
    LoanFactory(loan_id="L-ADM-1", method="bullet")
    LoanFactory(loan_id="L-ADM-2", method="linear")
    page = admin_client.get("/admin/portfolio/loan/", {"q": "ADM-1"})
    assert page.status_code == 200
    assert b"L-ADM-1" in page.content and b"L-ADM-2" not in page.content
    filtered = admin_client.get("/admin/portfolio/loan/", {"method__exact": "linear"})
    assert b"L-ADM-2" in filtered.content and b"L-ADM-1" not in filtered.content


def test_per_row_tables_are_paginated_with_links_to_every_page(client_as):
    make_portfolio(30)
    web = client_as("finance")
    first = web.get(OVERVIEW, {"as_of": AS_OF})
    page = first.context["page"]
    assert len(page.clients.object_list) == len(page.client_totals.object_list) == 25
    assert page.clients.paginator.count == page.loans.paginator.count == page.debtors.paginator.count == 30
    html = first.content.decode()
    for name in ("clients_page", "client_totals_page", "debtors_page", "loans_page"):
        assert f"{name}=2" in html, name
    second = web.get(OVERVIEW, {"as_of": AS_OF, "clients_page": "2", "debtors_page": "2", "loans_page": "9"})
    page2 = second.context["page"]
    assert len(page2.clients.object_list) == len(page2.debtors.object_list) == 5
    assert len(page2.loans.object_list) == 5  # past the last page: the last page
    shown = [r.key for r in page.clients.object_list] + [r.key for r in page2.clients.object_list]
    assert shown == sorted(shown) and len(set(shown)) == 30
    debtors = {r.key for r in page.debtors.object_list} | {r.key for r in page2.debtors.object_list}
    assert len(debtors) == 30
    # the export still has every client
    exported = web.get(OVERVIEW, {"as_of": AS_OF, "table": "clients", "export": "csv"})
    assert len(list(csv.reader(io.StringIO(exported.content.decode())))) == 31
