"""Journey: a payout from proposal to the SEPA file, with two people (issue 7; DOMAIN.md section 5).

Settlement Operations proposes and requests the payout, a Credit Manager approves it (four eyes), Settlement
Operations batches it, reviews the simulation, executes it and downloads the pain.001 file. A second test shows
the four-eyes refusal a user holding both roles gets when approving the payout they requested themselves.
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from ledger.models import Account
from ledger.selectors import client_figures, today
from ledger.services import book_transactions
from payouts.models import Payout, PayoutBatch, PayoutStatus
from tests.factories import ClientFactory, DebtorFactory, ReceivableFactory, TransactionFactory, UserFactory

pytestmark = pytest.mark.browser

IBAN = "DE02120300000000202051"  # valid (schwifty), BIC BYLADEM1001
FACE = Decimal("1234.56")
ADVANCE = Decimal("987.65")  # round(0.80 × 1234.56) = round(987.648): the most the advance rate allows
PAIN = "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}"


def funded_client(client_id="CL-PAY", name="Payee GmbH"):
    """A client whose settlement holds exactly the advance: Dr c:factoring / Cr c:settlement 987.65.

    No collection, so no reserve tranche and no shortfall; the receivable is not yet due, exposure is far below
    the limit and the only debtor may hold the whole book (limit 1.00): the payout passes every check, and its
    available amount is the advance.
    """
    day = today()
    client = ClientFactory(client_id=client_id, name=name, iban=IBAN, bic="BYLADEM1001")
    receivable = ReceivableFactory(
        client=client,
        debtor=DebtorFactory(concentration_limit=Decimal("1.00")),
        face_value=FACE,
        issue_date=day - datetime.timedelta(days=10),
        due_date=day + datetime.timedelta(days=30),
    )
    book_transactions(
        [
            TransactionFactory(
                client=client,
                type="advance",
                amount=ADVANCE,
                date=day - datetime.timedelta(days=9),
                receivable=receivable,
            )
        ]
    )
    assert client_figures([client])[client.pk].available == ADVANCE  # the oracle is DOMAIN.md's posting rule
    return client


def accept_next_dialog(page):
    """The ``data-confirm`` forms ask ``window.confirm``: check its text and accept it."""
    seen = []

    def handle(dialog):
        seen.append(dialog.message)
        dialog.accept()

    page.once("dialog", handle)
    return seen


def sign_out(j):
    j.page.get_by_role("button", name="Sign out").click()
    expect(j.page).to_have_url(j.url("/accounts/login/"))
    expect(j.page.get_by_role("button", name="Sign in")).to_be_visible()


def select_row(page, payout_id: str):
    row = page.locator("table tbody tr").filter(has=page.get_by_role("link", name=payout_id, exact=True))
    expect(row).to_have_count(1)
    row.get_by_role("checkbox", name="Select payout").check()
    return row


def test_ops_requests_credit_approves_ops_executes_and_downloads_sepa(journey, make_user):
    client = funded_client()
    credit = make_user("credit", username="credit-browser")
    j = journey("payout-four-eyes-to-sepa", role="ops")
    page = j.page

    # 1. ops: the queue, the Ready tab is empty; propose payouts (confirm dialog)
    j.go("/payouts/?status=ready")
    expect(page.get_by_role("heading", name="Payout queue")).to_be_visible()
    expect(page.get_by_test_id("tab-ready")).to_contain_text("0")
    j.shot("queue-before-proposal")
    dialog = accept_next_dialog(page)
    page.get_by_role("button", name="Propose payouts").click()
    expect(page.get_by_text(re.compile(r"Proposed as of \d{4}-\d\d-\d\d: 1 created, 0 updated"))).to_be_visible()
    assert dialog == ["Set every qualifying client's ready payout to its available amount?"]
    payout = Payout.objects.get(client=client)
    assert (payout.status, payout.amount) == (PayoutStatus.READY, ADVANCE)
    row = select_row(page, payout.payout_id)
    expect(row).to_contain_text("CL-PAY")
    expect(row).to_contain_text("987.65")
    j.shot("proposed-ready-payout")

    # 2. ops requests it: the confirmation page lists it with the total, then the request is done
    page.get_by_role("button", name="Request…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm: Request 1 payout(s)")
    expect(page.locator("main")).to_contain_text("987.65 EUR")
    j.shot("confirm-request")
    page.get_by_role("button", name="Request 1 payout(s)").click()
    expect(page.get_by_text("Request: 1 payout(s) done.")).to_be_visible()
    expect(page.get_by_test_id("tab-requested")).to_contain_text("1")
    j.shot("requested")
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.REQUESTED and payout.requested_by.username == "ops-browser"

    # 3. ops signs out; the Credit Manager signs in and opens the payout from the Requested tab
    sign_out(j)
    j.sign_in(credit.username)
    expect(page.get_by_test_id("current-user")).to_contain_text("credit-browser")
    j.go("/payouts/")  # the Requested tab is the default
    expect(page.get_by_test_id("tab-requested")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name=payout.payout_id, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Payout {payout.payout_id}")
    expect(page.get_by_test_id("payout-status")).to_have_text("requested")
    expect(page.get_by_test_id("checks")).to_contain_text("Every check passed.")
    expect(page.locator("main")).to_contain_text(IBAN)
    j.shot("credit-opens-payout")

    # 4. credit approves (confirm dialog): approved, by credit, requested by ops
    dialog = accept_next_dialog(page)
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text(f"Payout {payout.payout_id} approved (approved).")).to_be_visible()
    expect(page.get_by_test_id("payout-status")).to_have_text("approved")
    expect(page.locator("dd").filter(has_text="credit-browser")).to_have_count(1)
    expect(page.get_by_test_id("audit")).to_contain_text(
        re.compile(r"credit-browser · payout\.approve\s*: requested → approved")
    )
    assert dialog == [f"Approve payout {payout.payout_id} ({ADVANCE} EUR)?"]
    j.shot("credit-approved")
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.APPROVED and payout.approved_by == credit
    sign_out(j)

    # 5. ops signs in again, puts the approved payout in a new batch (confirmation page)
    j.sign_in("ops-browser")
    j.go("/payouts/?status=approved")
    select_row(page, payout.payout_id)
    page.get_by_role("button", name="Put in a new batch…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm: Put in a new batch 1 payout(s)")
    page.get_by_role("button", name="Put in a new batch 1 payout(s)").click()
    batch = PayoutBatch.objects.get()
    expect(page).to_have_url(j.url(f"/payouts/batches/{batch.pk}/"))
    expect(page.get_by_text(f"Batch {batch.pk} created with 1 payouts: review its simulation.")).to_be_visible()

    # 6. the simulation: nothing changed yet; settlement 987.65 → 0.00, one SEPA line, every check passed
    expect(page.get_by_test_id("batch-status")).to_have_text("draft")
    sim = page.get_by_test_id("simulation").locator("tbody tr")
    expect(sim).to_have_count(1)
    cells = sim.first.locator("td")
    expect(cells.nth(0)).to_have_text(payout.payout_id)
    expect(cells.nth(2)).to_have_text("987.65 EUR")
    expect(cells.nth(3)).to_contain_text("Dr")
    expect(cells.nth(3)).to_contain_text("987.65")
    expect(cells.nth(4)).to_have_text("987.65")
    expect(cells.nth(5)).to_have_text("0.00")
    expect(cells.nth(6)).to_have_text("SEPA")
    expect(cells.nth(7)).to_have_text("all passed")
    expect(page.locator("main")).to_contain_text("nothing has changed yet")
    j.shot("batch-simulation")
    assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.APPROVED
    assert Account.objects.get(client=client, kind="settlement").balance == ADVANCE

    # 7. execute: tick the confirmation, accept the dialog
    page.get_by_label("I reviewed the simulation; execute these payouts (checks run once more).").check()
    dialog = accept_next_dialog(page)
    page.get_by_role("button", name="Execute batch").click()
    expect(page.get_by_test_id("batch-status")).to_have_text("executed")
    expect(page.get_by_text(re.compile(rf"Batch {batch.pk} executed on [\d-]+: 1 paid, 0 blocked"))).to_be_visible()
    assert dialog == [f"Execute batch {batch.pk}? The ledger is posted and the SEPA file is produced."]
    report = page.get_by_test_id("report").locator("tbody tr")
    expect(report).to_have_count(1)
    expect(report.first).to_contain_text(payout.payout_id)
    expect(report.first).to_contain_text("987.65 EUR")
    j.shot("batch-executed")
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.EXECUTED and payout.end_to_end_id
    assert Account.objects.get(client=client, kind="settlement").balance == Decimal("0.00")

    # 8. download the SEPA file: pain.001 with the client's IBAN, the amount and the end-to-end id
    with page.expect_download() as info:
        page.get_by_role("link", name="Download SEPA file (pain.001)").click()
    download = info.value
    assert download.suggested_filename == f"atlas-batch-{batch.pk}-pain.001.001.03.xml"
    target = j.dir / download.suggested_filename
    download.save_as(target)
    root = ET.fromstring(target.read_bytes())
    assert root.tag == f"{PAIN}Document"
    txs = root.findall(f".//{PAIN}CdtTrfTxInf")
    assert len(txs) == 1
    tx = txs[0]
    assert tx.findtext(f"{PAIN}CdtrAcct/{PAIN}Id/{PAIN}IBAN") == IBAN
    amount = tx.find(f"{PAIN}Amt/{PAIN}InstdAmt")
    assert (amount.text, amount.get("Ccy")) == ("987.65", "EUR")
    assert tx.findtext(f"{PAIN}PmtId/{PAIN}EndToEndId") == payout.end_to_end_id
    assert root.findtext(f".//{PAIN}GrpHdr/{PAIN}CtrlSum") == "987.65"
    j.shot("after-sepa-download")


def test_the_requester_cannot_approve_their_own_payout(journey, make_user):
    """Four eyes: a user holding both roles requests a payout; approving it themselves is refused."""
    client = funded_client(client_id="CL-SELF", name="Self Approve AG")
    payout = Payout.objects.create(
        payout_id="PO-SELF-1", client=client, amount=ADVANCE, currency="EUR", status=PayoutStatus.READY
    )
    both = UserFactory(username="ops-and-credit", roles=["ops", "credit"])
    j = journey("payout-four-eyes-refusal")
    j.sign_in(both.username)
    page = j.page

    # requests it on the payout page (confirm dialog)
    j.go(f"/payouts/{payout.pk}/")
    accept_next_dialog(page)
    page.get_by_role("button", name="Request", exact=True).click()
    expect(page.get_by_test_id("payout-status")).to_have_text("requested")
    # the page offers no Approve to the requester
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Reject", exact=True)).to_be_visible()
    j.shot("requester-sees-no-approve")

    # approving it from the queue is refused with the four-eyes message; it stays requested
    j.go("/payouts/?status=requested")
    select_row(page, payout.payout_id)
    page.get_by_role("button", name="Approve…").click()
    page.get_by_role("button", name="Approve 1 payout(s)").click()
    expect(
        page.get_by_text(
            f"Four eyes: you requested payout {payout.payout_id}, so another Credit Manager must approve it."
        )
    ).to_be_visible()
    expect(page.get_by_text("Approve: 1 payout(s) done.")).to_have_count(0)
    j.shot("four-eyes-refusal")
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.REQUESTED and payout.approved_by is None
