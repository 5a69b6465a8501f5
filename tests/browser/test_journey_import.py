"""Journey: Settlement Operations imports the workbook through /import/ (issue 7).

A broken workbook is refused by the dry run with every ``Sheet!Cell: message`` and writes nothing; a good one
shows its per-sheet counts, is confirmed, runs in the background worker while the page polls, and its clients
then exist in the database and on /clients/.

The import is a django-tasks task on the configured database backend: the page shows the progress card while
the task waits in the queue, and the test plays the worker (``db_worker --batch``) from its own thread, as an
operator's worker process would, while the page's JavaScript polls the status endpoint and reloads itself.
"""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from clients.models import Client, ImportBatch, Transaction
from tests.clients.test_import import counts
from tests.clients.workbooks import base_sheets, set_cell, workbook_bytes

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def run_worker():
    """What ``manage.py db_worker`` does in production: run every queued task, then stop."""
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


def upload(page, name: str, data: bytes):
    page.get_by_label("Workbook (.xlsx)").set_input_files({"name": name, "mimeType": XLSX, "buffer": data})
    page.get_by_role("button", name="Upload and check (dry run)").click()


def without_batches(c: dict) -> dict:
    return {k: v for k, v in c.items() if k != "ImportBatch"}


def test_ops_imports_a_broken_then_a_good_workbook(journey, media):
    j = journey("ops-import-workbook", role="ops")
    page = j.page
    before = counts()

    # 1. the Import page, reached from the main navigation
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    expect(page).to_have_url(j.url("/import/"))
    expect(page.get_by_role("heading", name="Import the settlement workbook")).to_be_visible()
    expect(page.locator("table tbody")).to_contain_text("No imports yet.")
    j.shot("import-page")

    # 2. a broken workbook: a text amount and a sub-cent amount on the Transactions sheet
    broken = base_sheets()
    set_cell(broken, "Transactions", 3, "amount", "abc")
    set_cell(broken, "Transactions", 4, "amount", 12.345)
    upload(page, "broken.xlsx", workbook_bytes(broken))
    expect(page).to_have_url(re.compile(r"/import/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dry run: broken.xlsx")
    # queued: the progress card is shown until the worker has run the dry run
    expect(page.locator("#import-progress")).to_be_visible()
    j.shot("broken-dry-run-queued")
    run_worker()
    errors = page.locator("#import-errors li")  # the page reloads itself when the status says finished
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_have_text("Transactions!E3: amount 'abc' is not a number")
    expect(errors.nth(1)).to_have_text("Transactions!E4: amount '12.345' has more than 2 decimal places for EUR")
    expect(page.locator(".alert-danger")).to_have_text("2 problems: nothing was imported.")
    expect(page.get_by_role("button", name=re.compile("^Confirm"))).to_have_count(0)
    j.shot("broken-dry-run-errors")
    assert ImportBatch.objects.get().status == ImportBatch.Status.FAILED
    assert without_batches(counts()) == without_batches(before)  # nothing imported

    # 3. the good workbook: the dry run shows what would be new per sheet, and writes nothing
    j.go("/import/")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody tr").first).to_contain_text("broken.xlsx")
    upload(page, "book.xlsx", workbook_bytes(base_sheets()))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dry run: book.xlsx")
    expect(page.locator("#import-progress")).to_be_visible()
    run_worker()
    expect(page.locator(".alert-success")).to_have_text("No problems found: nothing has been written yet.")
    new_per_sheet = {
        "Partners": "1",
        "Clients": "2",
        "Debtors": "2",
        "Receivables": "3",
        "Transactions": "7",
        "Loans": "1",
        "Payouts": "2",
    }
    rows = page.locator("table tbody tr")
    for sheet, new in new_per_sheet.items():
        row = rows.filter(has=page.get_by_role("cell", name=sheet, exact=True))
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(1)).to_have_text(new)
    j.shot("good-dry-run-counts")
    assert without_batches(counts()) == without_batches(before)  # a dry run writes nothing
    assert not Client.objects.filter(client_id__in=["C1", "C2"]).exists()

    # 4. confirm → the import runs in the background with its progress card → the result page
    page.get_by_role("button", name="Confirm: import book.xlsx").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import: book.xlsx")
    expect(page.get_by_text("Import of book.xlsx started.")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Import progress")).to_be_visible()
    j.shot("import-progress")
    assert not Client.objects.filter(client_id__in=["C1", "C2"]).exists()  # still queued
    run_worker()
    expect(page.locator(".alert-success")).to_have_text("Imported: 7 journal entries booked.")
    expect(page.locator("#import-progress")).to_have_count(0)
    j.shot("import-result")

    real = ImportBatch.objects.get(dry_run=False)
    assert real.status == ImportBatch.Status.DONE and real.user.username == "ops-browser"
    assert dict(Client.objects.filter(import_batch=real).values_list("client_id", "name")) == {
        "C1": "Alpha GmbH",
        "C2": "Beta Ltd",
    }
    assert Transaction.objects.filter(import_batch=real).count() == 7

    # 5. the imported clients are on the clients page
    j.go("/clients/")
    table = page.locator("table tbody")
    expect(table.get_by_role("link", name="C1", exact=True)).to_be_visible()
    expect(table.get_by_role("link", name="C2", exact=True)).to_be_visible()
    expect(table).to_contain_text("Alpha GmbH")
    expect(table).to_contain_text("Beta Ltd")
    j.shot("clients-after-import")
