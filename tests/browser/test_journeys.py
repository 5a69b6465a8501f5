"""User journeys in a real browser (DOMAIN.md section 1 personas)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.atlas.factories import over_limit_client, worked_client

pytestmark = pytest.mark.browser


def test_ops_reads_dashboard_drills_to_client_and_statement(journey):
    worked_client(client_id="CL-WARN", name="Warning GmbH")
    over_limit_client(client_id="CL-OVER", name="Over Limit AG")
    j = journey("ops-dashboard-to-statement", role="ops")
    page = j.page

    # 1. dashboard: the EUR over-limit card counts one client with 1500.00 exposure
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_contain_text("Settlement Operations")
    over = page.get_by_test_id("kpi-over-EUR")
    expect(over).to_contain_text("1500.00")
    expect(over).to_contain_text("1 client")
    j.shot("dashboard")

    # 2. the card leads to the clients behind the number
    over.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/clients/\?band=over&currency=EUR$"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("CL-OVER")
    j.shot("clients-over-limit")

    # 3. the client drilldown
    page.get_by_role("link", name="CL-OVER").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("CL-OVER · Over Limit AG")
    settlement = page.get_by_test_id("subaccount-settlement")
    expect(settlement).to_contain_text("1500.00")
    expect(page.get_by_test_id("exposure-ratio")).to_have_text("1.5000")
    j.shot("client-detail")

    # 4. its settlement statement (the ledger's page)
    settlement.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/ledger/accounts/\d+/"))
    expect(page.locator("main")).to_contain_text("1500.00")
    j.shot("settlement-statement")


def test_finance_exports_the_filtered_clients_table(journey):
    worked_client(client_id="CL-WARN", name="Warning GmbH")
    over_limit_client(client_id="CL-OVER", name="Over Limit AG")
    j = journey("finance-exports-clients", role="finance")
    page = j.page
    j.go("/clients/")
    expect(page.locator("table tbody tr")).to_have_count(2)
    page.get_by_label("Exposure band").select_option("over")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    j.shot("clients-filtered")

    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    download = info.value
    assert download.suggested_filename == "clients.csv"
    target = j.dir / download.suggested_filename
    download.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r["Client"], r["Exposure"], r["Exposure ratio"], r["Band"]) for r in rows] == [
        ("CL-OVER", "1500.00", "1.5000", "over")
    ]
    j.shot("after-export")


def test_navigation_follows_the_role(journey):
    j = journey("finance-navigation", role="finance")
    nav = j.page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Clients")).to_be_visible()
    expect(nav.get_by_role("link", name="Import")).to_have_count(0)
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    j.shot("finance-navigation")
    # keyboard users reach the skip link first
    j.page.keyboard.press("Tab")
    expect(j.page.get_by_role("link", name="Skip to main content")).to_be_focused()
