"""The clients list and drilldown: real figures (worked by hand), filters, sorting, export,
flat query counts."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.atlas.factories import over_limit_client, worked_client
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = "2026-03-01"


def rows_of(response):
    """Client ids in the rendered table, in order."""
    return re.findall(r'<a href="/clients/([^/"]+)/">', response.content.decode())


def export_csv(client, query):
    response = client.get("/clients/", {**query, "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="clients.csv"' in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_list_shows_figures_worked_by_hand(client_as):
    c = worked_client(client_id="CL-W", name="Worked Ltd")
    rows = export_csv(client_as("finance"), {"as_of": AS_OF})
    assert rows == [
        {
            "Client": "CL-W",
            "Name": "Worked Ltd",
            "Currency": "EUR",
            "Status": "active",
            "Credit limit": "8500.00",
            "Exposure": "8000.00",
            "Exposure ratio": "0.9412",
            "Band": "warning",
            # no pending payouts, nothing required at 2026-03-01 (tranche due 2026-02-19) → settlement
            "Available": "12875.00",
            "Shortfall": "0.00",
        }
    ]
    html = client_as("finance").get("/clients/", {"as_of": AS_OF}).content.decode()
    assert "12875.00" in html and "0.9412" in html and c.client_id in html


def test_shortfall_while_the_tranche_is_required(client_as):
    """At 2026-02-10 the 100.00 tranche (due 2026-02-19) is required; a drawdown of 60.00 on R1
    leaves the reserve at 40.00 → shortfall 60.00; available = 12875.00 − 60.00 = 12815.00."""
    import datetime

    from clients.models import Transaction
    from tests.atlas.factories import book

    c = worked_client(client_id="CL-S")
    book(c, [(datetime.date(2026, 2, 5), Transaction.Type.RESERVE_DRAWDOWN, "60.00", c.r1)])
    (row,) = export_csv(client_as("ops"), {"as_of": "2026-02-10"})
    assert (row["Exposure"], row["Shortfall"], row["Available"]) == ("7940.00", "60.00", "12815.00")


def test_filters_search_status_currency_band(client_as):
    worked_client(client_id="CL-WARN", name="Warning GmbH")
    over_limit_client(client_id="CL-OVER", name="Over AG")
    ClientFactory(client_id="CL-OK", name="Quiet SA", currency="GBP")
    ClientFactory(client_id="CL-HOLD", name="Held BV", status="on_hold")
    web = client_as("risk")
    assert rows_of(web.get("/clients/", {"band": "over"})) == ["CL-OVER"]
    assert rows_of(web.get("/clients/", {"band": "warning", "as_of": AS_OF})) == ["CL-WARN"]
    assert rows_of(web.get("/clients/", {"band": "ok"})) == ["CL-HOLD", "CL-OK"]
    assert rows_of(web.get("/clients/", {"currency": "GBP"})) == ["CL-OK"]
    assert rows_of(web.get("/clients/", {"status": "on_hold"})) == ["CL-HOLD"]
    assert rows_of(web.get("/clients/", {"q": "over"})) == ["CL-OVER"]  # by name
    assert rows_of(web.get("/clients/", {"q": "cl-ok"})) == ["CL-OK"]  # by id
    # the export answers the same filtered rows
    assert [r["Client"] for r in export_csv(web, {"band": "ok"})] == ["CL-HOLD", "CL-OK"]


def test_sort_by_a_figure_across_pages(client_as):
    over_limit_client(client_id="CL-A")  # exposure 1500.00
    worked_client(client_id="CL-B")  # exposure 8000.00
    ClientFactory(client_id="CL-C")  # exposure 0.00
    web = client_as("ops")
    assert rows_of(web.get("/clients/", {"sort": "-exposure"})) == ["CL-B", "CL-A", "CL-C"]
    assert rows_of(web.get("/clients/", {"sort": "exposure_ratio"})) == ["CL-C", "CL-B", "CL-A"]
    assert [r["Client"] for r in export_csv(web, {"sort": "-exposure"})] == ["CL-B", "CL-A", "CL-C"]


def test_pagination_and_export_of_all_filtered_rows(client_as):
    for i in range(30):
        ClientFactory(client_id=f"P{i:02d}")
    web = client_as("finance")
    first = rows_of(web.get("/clients/"))
    second = rows_of(web.get("/clients/", {"page": 2}))
    assert first == [f"P{i:02d}" for i in range(25)]
    assert second == [f"P{i:02d}" for i in range(25, 30)]
    assert len(export_csv(web, {"page": 2})) == 30


def test_xlsx_export_has_numbers(client_as):
    worked_client(client_id="CL-X")
    response = client_as("finance").get("/clients/", {"export": "xlsx", "as_of": AS_OF})
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    values = list(ws.values)
    assert values[0][:2] == ("Client", "Name")
    header = values[0]
    row = dict(zip(header, values[1], strict=True))
    assert row["Client"] == "CL-X"
    assert row["Exposure"] == 8000
    assert row["Exposure ratio"] == pytest.approx(0.9412)


@pytest.mark.parametrize("n", [5, 50])
def test_list_query_count_is_flat(client_as, django_assert_max_num_queries, n):
    for _ in range(n):
        worked_client()
    web = client_as("ops")
    web.get("/clients/")  # warm: session, policy row
    # session (3 with the save), user, roles, clients, figures (5), policy, alerts, partners (form)
    with django_assert_max_num_queries(16):
        response = web.get("/clients/", {"sort": "-exposure"})
    assert response.status_code == 200
    assert len(rows_of(response)) == min(n, 25)


def test_detail_shows_cards_receivables_tranches_and_links(client_as):
    from ledger.models import Account

    c = worked_client(client_id="CL-D", name="Drill Ltd")
    response = client_as("ops").get(reverse("clients:detail", args=["CL-D"]), {"as_of": AS_OF})
    assert response.status_code == 200
    html = response.content.decode()
    for kind, balance in [
        ("factoring", "8000.00"),
        ("settlement", "12875.00"),
        ("rolling_reserve", "100.00"),
        ("partner_rr", "0.00"),
    ]:
        account = Account.objects.get(client=c, kind=kind)
        card = html.split(f'data-testid="subaccount-{kind}"')[1].split("</div>\n      </div>")[0]
        assert balance in card
        try:
            url = reverse("ledger:statement", args=[account.pk])
        except Exception:
            url = f"/ledger/accounts/{account.pk}/"
        assert f'href="{url}"' in card
    # receivables: R1 open 10000.00, 28 days past due at 2026-03-01 (due 2026-02-01); R2 closed
    assert c.r1.receivable_id in html and "10000.00" in html
    r1_row = html.split(c.r1.receivable_id)[1].split("</tr>")[0]
    assert ">28<" in r1_row and "overdue" in r1_row
    r2_row = html.split(c.r2.receivable_id)[1].split("</tr>")[0]
    assert "closed" in r2_row
    # the tranche: 100.00 due 2026-02-19, due and not released at 2026-03-01
    tranches = html.split('id="tranches"')[1].split("</section>")[0]
    assert "2026-02-19" in tranches and "100.00" in tranches and "due, not released" in tranches
    assert "0.9412" in html


def test_detail_links_payouts_and_loans(client_as):
    from tests.factories import LoanFactory, PayoutFactory

    c = worked_client(client_id="CL-L")
    payout = PayoutFactory(client=c, amount=D("150.00"), status="requested")
    LoanFactory(client=c, loan_id="LN-1")
    html = client_as("credit").get("/clients/CL-L/").content.decode()
    assert f'href="/payouts/{payout.pk}/"' in html or f"/payouts/{payout.pk}/" in html
    assert "/portfolio/loans/LN-1/" in html
    assert "150.00" in html


def test_detail_404_for_unknown_client(client_as):
    assert client_as("ops").get("/clients/NOPE/").status_code == 404


def test_detail_query_count_is_flat(client_as, django_assert_max_num_queries):
    from tests.factories import PayoutFactory, ReceivableFactory

    c = worked_client(client_id="CL-Q")
    web = client_as("ops")
    web.get("/clients/CL-Q/")
    with django_assert_max_num_queries(30) as small:
        web.get("/clients/CL-Q/")
    for _ in range(20):
        ReceivableFactory(client=c)
        PayoutFactory(client=c, status="executed")
    with django_assert_max_num_queries(len(small.captured_queries)):
        web.get("/clients/CL-Q/")
