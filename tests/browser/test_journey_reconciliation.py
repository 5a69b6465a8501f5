"""Journey: a reconciliation override with four eyes (issues 8 and 10).

The Finance Controller uploads a bank statement, matches the incoming line the matcher left unmatched to an
invoice by hand — which only asks — and sees it waiting for a second person; a Credit Manager finds the request
on the reconciliation page, approves it (confirm dialog), and the collection is booked.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from ledger.models import Account
from reconciliation.models import Match, MatchRequest
from tests.browser.test_journey_payouts import accept_next_dialog, sign_out
from tests.factories import ClientFactory, ReceivableFactory

pytestmark = pytest.mark.browser

CSV = (
    "booking_date,amount,currency,direction,counterparty_name,counterparty_iban,end_to_end_id,remittance_info,"
    "reference\n2026-03-05,3000.00,EUR,CRDT,Debtor Handels GmbH,DE44500105175407324931,,payment,BRW-0001\n"
)


def test_finance_asks_credit_approves_a_manual_collection(journey, make_user):
    client = ClientFactory(client_id="CL-REC", reserve_rate=Decimal("0.10"))
    receivable = ReceivableFactory(client=client, receivable_id="R-BRW-1", face_value=Decimal("3000.00"))
    credit = make_user("credit", username="credit-browser")
    j = journey("reconciliation-four-eyes", role="finance")
    page = j.page

    # 1. finance uploads the statement: the line is unmatched (no invoice number in the remittance)
    j.go("/reconciliation/")
    page.get_by_label("Bank statement (camt.053 XML or CSV)").set_input_files(
        {"name": "day.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    page.get_by_role("button", name="Import and propose matches").click()
    expect(page.get_by_text("Imported day.csv: 1 line(s).")).to_be_visible()
    j.shot("statement-imported")

    # 2. finance asks to book it as the collection of R-BRW-1: nothing is booked, it waits for a second person
    page.get_by_text("Match by hand (a second person approves)").click()
    page.get_by_label("Receivables").fill("R-BRW-1")
    page.get_by_role("button", name="Ask to book collection").click()
    expect(page.get_by_text("requested; it waits for a second person to approve it")).to_be_visible()
    expect(page.get_by_test_id("waiting")).to_contain_text("Waiting for a second person")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    j.shot("request-waiting")
    req = MatchRequest.objects.get()
    assert (req.kind, req.status, req.requested_by.username) == ("collection", "pending", "finance-browser")
    assert not Match.objects.exists()
    assert not Account.objects.filter(client=client).exists()  # nothing booked for the client yet
    sign_out(j)

    # 3. the Credit Manager finds it on the reconciliation page and approves it (confirm dialog)
    j.sign_in(credit.username)
    j.go("/reconciliation/")
    pending = page.get_by_test_id("pending-requests")
    expect(pending).to_contain_text("asked by finance-browser")
    expect(pending).to_contain_text("R-BRW-1")
    j.shot("credit-sees-pending")
    dialog = accept_next_dialog(page)
    pending.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"Request {req.pk} approved: book collections done.")).to_be_visible()
    expect(page.get_by_test_id("pending-total")).to_have_text("0")
    assert dialog == [
        f"Approve request {req.pk} (book collections) asked by finance-browser?"
        " The collections are booked in the ledger."
    ]
    j.shot("credit-approved")

    # 4. booked by DOMAIN.md's collection rule: nothing advanced → reserve 10 % of 3000.00, the rest settles
    req.refresh_from_db()
    assert req.status == "approved" and req.decided_by == credit
    receivable.refresh_from_db()
    assert receivable.open_amount == Decimal("0.00")
    assert Account.objects.get(client=client, kind="settlement").balance == Decimal("2700.00")
    assert Account.objects.get(client=client, kind="rolling_reserve").balance == Decimal("300.00")
