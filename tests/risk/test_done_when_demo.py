"""Issue 5's "Done when", on the demo workbook, as a risk analyst would check it.

After importing fixtures/demo.xlsx: the over-limit, concentrated and reserve-short clients are on
/risk/ (one click from the navigation), each with an open alert; every number in the clients
table equals ``balances --json``; a reserve top-up clears a shortfall alert; due releases that a
shortfall holds back are listed as held on /risk/reserves/.
"""

import datetime
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from lxml import html

from atlas.money import fmt
from clients.importer import import_workbook
from clients.models import Client
from ledger.selectors import client_figures
from ledger.services import book_transactions, release_reserves
from risk.models import Alert
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


@pytest.fixture
def demo(db):
    result = import_workbook("fixtures/demo.xlsx")
    assert result.ok, result.errors[:5]
    out = io.StringIO()
    call_command("balances", "--json", stdout=out)
    return {row["client_id"]: row for row in json.loads(out.getvalue())}


def rows_of(page: bytes, testid: str) -> dict[str, list[str]]:
    """The rows of a table by the client id in their first cell."""
    tree = html.fromstring(page)
    out = {}
    for tr in tree.xpath(f'//table[@data-testid="{testid}"]/tbody/tr'):
        cells = [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
        if cells and cells[0]:
            out[cells[0].split()[0]] = cells
    return out


def amount(text: str) -> str:
    return text.split()[0]


def test_risk_overview_shows_every_problem_client_with_its_alert(client_as, demo):
    page = client_as("risk").get("/risk/").content
    rows = rows_of(page, "risk-clients")
    assert set(rows) == set(demo)
    for client_id, b in demo.items():
        cells = rows[client_id]
        # ratio, exposure, limit, headroom, available, shortfall: the same numbers as balances --json
        assert cells[3] == b["exposure_ratio"], client_id
        assert amount(cells[4]) == b["exposure"], client_id
        assert amount(cells[7]) == b["available"], client_id
        assert amount(cells[8]) == b["shortfall"], client_id

    over = [c for c, b in demo.items() if Decimal(b["exposure_ratio"]) > 1]
    short = [c for c, b in demo.items() if Decimal(b["shortfall"]) > 0]
    assert over and short, "the demo workbook should have over-limit and reserve-short clients"
    for client_id in over:
        assert "over limit" in rows[client_id][2]
        assert Alert.objects.filter(client__client_id=client_id, metric="over_limit", status="open").exists()
    shortfalls = rows_of(page, "risk-shortfalls")
    for client_id in short:
        assert amount(shortfalls[client_id][3]) == demo[client_id]["shortfall"]
        assert Alert.objects.filter(client__client_id=client_id, metric="reserve_shortfall", status="open").exists()
    breaches = rows_of(page, "risk-breaches")
    assert breaches, "the demo workbook should have concentrated clients"
    for client_id in breaches:
        assert Alert.objects.filter(client__client_id=client_id, metric="concentration", status="open").exists()


def test_held_releases_are_listed_and_match_release_reserves(client_as, demo):
    """A client short of reserve cannot release any due tranche: each is held by the shortfall."""
    figures = client_figures(as_of=TODAY)
    short_with_due = {
        f.client.client_id: f.releases_due for f in figures.values() if f.shortfall > 0 and f.releases_due_count
    }
    assert short_with_due, "the demo workbook should have a reserve-short client with due tranches"
    rows = rows_of(client_as("risk").get("/risk/reserves/").content, "reserve-rows")
    for client_id, due in short_with_due.items():
        held_cell = rows[client_id][7]
        assert held_cell.startswith(fmt(due)), (client_id, held_cell)
    # the page's preview is what the release then does
    result = release_reserves(as_of=TODAY)
    assert {t.client.client_id for t in result.held} >= set(short_with_due)
    for client_id, due in short_with_due.items():
        assert sum(t.amount for t in result.held if t.client.client_id == client_id) == due


def test_top_up_clears_the_shortfall_alert(demo, django_capture_on_commit_callbacks):
    client_id = sorted(c for c, b in demo.items() if Decimal(b["shortfall"]) > 0)[0]
    client = Client.objects.get(client_id=client_id)
    assert Alert.objects.get(client=client, metric="reserve_shortfall").status == "open"
    # the client tops up exactly its shortfall from its settlement balance
    shortfall = Decimal(demo[client_id]["shortfall"])
    topup = TransactionFactory(client=client, type="reserve_topup", amount=shortfall, date=TODAY)
    with django_capture_on_commit_callbacks(execute=True):  # alerts are re-evaluated when the booking commits
        book_transactions([topup])
    alert = Alert.objects.get(client=client, metric="reserve_shortfall")
    assert alert.status == "resolved" and alert.resolved_by is None
    out = io.StringIO()
    call_command("balances", "--json", "--client", client_id, stdout=out)
    assert json.loads(out.getvalue())[0]["shortfall"] == "0.00"
