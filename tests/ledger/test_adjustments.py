"""Manual adjustments and write-offs: four eyes, roles, and the entries they book."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from atlas.models import AuditEvent
from ledger.adjustments import AdjustmentError, approve_request, reject_request, request_adjustment, request_write_off
from ledger.models import Account, AdjustmentRequest, JournalEntry
from ledger.services import book_transactions
from ledger.verify import verify
from tests.factories import ClientFactory, ReceivableFactory, TransactionFactory

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.date(2026, 3, 1)


def balance(client, kind):
    return Account.objects.get(client=client, kind=kind).balance


@pytest.fixture
def credit2(make_user):
    return make_user("credit", username="credit2")


def test_adjustment_needs_a_second_credit_manager(users, credit2):
    client = ClientFactory()
    req = request_adjustment(
        client=client, amount=D("-12.34"), date=DAY, reason="fee charged twice", actor=users["ops"]
    )
    assert JournalEntry.objects.count() == 0  # nothing booked on request
    approve_request(request=req, actor=users["credit"])
    req.refresh_from_db()
    assert req.status == "approved" and req.entry is not None
    # −X: Dr c:settlement X · Cr h:adjustments X
    assert balance(client, "settlement") == D("-12.34")
    legs = {(p.account.code, p.side, p.amount) for p in req.entry.postings.select_related("account")}
    assert legs == {("c:settlement", "D", D("12.34")), ("h:adjustments", "C", D("12.34"))}
    # approving again books nothing more
    approve_request(request=req, actor=credit2)
    assert JournalEntry.objects.count() == 1
    assert verify() == []
    assert AuditEvent.objects.filter(action="adjustment_approved", object_id=str(req.pk)).count() == 1


def test_requester_can_never_approve_their_own(users, credit2):
    client = ClientFactory()
    req = request_adjustment(client=client, amount=D("5.00"), date=DAY, reason="goodwill", actor=users["credit"])
    with pytest.raises(AdjustmentError, match="Four eyes"):
        approve_request(request=req, actor=users["credit"])
    assert JournalEntry.objects.count() == 0
    approve_request(request=req, actor=credit2)
    assert balance(client, "settlement") == D("5.00")


def test_roles(users):
    client = ClientFactory()
    for role in ("finance", "risk"):
        with pytest.raises(PermissionDenied):
            request_adjustment(client=client, amount=D("1.00"), date=DAY, reason="x", actor=users[role])
    req = request_adjustment(client=client, amount=D("1.00"), date=DAY, reason="x", actor=users["ops"])
    with pytest.raises(PermissionDenied):
        approve_request(request=req, actor=users["ops"])


def test_write_off_four_eyes_and_limit(users, credit2):
    client = ClientFactory(advance_rate=D("0.80"))
    rec = ReceivableFactory(client=client, face_value=D("1000.00"))
    book_transactions([TransactionFactory(client=client, type="advance", amount=D("800.00"), receivable=rec)])
    rec.refresh_from_db()
    with pytest.raises(AdjustmentError, match="exceeds the advance outstanding"):
        request_write_off(receivable=rec, amount=D("800.01"), date=DAY, reason="insolvent", actor=users["credit"])
    req = request_write_off(receivable=rec, amount=D("300.00"), date=DAY, reason="insolvent", actor=users["credit"])
    with pytest.raises(AdjustmentError, match="Four eyes"):
        approve_request(request=req, actor=users["credit"])
    approve_request(request=req, actor=credit2)
    assert balance(client, "factoring") == D("500.00")
    rec.refresh_from_db()
    assert (rec.written_off, rec.open_amount) == (D("300.00"), D("700.00"))


def test_reject_needs_reason_and_books_nothing(users):
    client = ClientFactory()
    req = request_adjustment(client=client, amount=D("7.00"), date=DAY, reason="x", actor=users["ops"])
    with pytest.raises(AdjustmentError, match="reason"):
        reject_request(request=req, actor=users["credit"], reason=" ")
    reject_request(request=req, actor=users["credit"], reason="no evidence")
    req.refresh_from_db()
    assert req.status == "rejected"
    with pytest.raises(AdjustmentError):
        approve_request(request=req, actor=users["credit"])
    assert JournalEntry.objects.count() == 0


def test_pages(client_as, users, credit2):
    client = ClientFactory(client_id="C-ADJ")
    c = client_as("ops")
    r = c.post(
        "/ledger/adjustments/",
        {
            "kind": "adjustment",
            "adj-client": "C-ADJ",
            "adj-amount": "1.005",
            "adj-date": "2026-03-01",
            "adj-reason": "x",
        },
    )
    assert r.status_code == 200 and b"more than 2 decimal places" in r.content
    assert AdjustmentRequest.objects.count() == 0
    r = c.post(
        "/ledger/adjustments/",
        {
            "kind": "adjustment",
            "adj-client": "C-ADJ",
            "adj-amount": "25.50",
            "adj-date": "2026-03-01",
            "adj-reason": "goodwill",
        },
    )
    assert r.status_code == 302
    req = AdjustmentRequest.objects.get()
    # ops cannot decide; finance cannot request
    assert c.post(f"/ledger/adjustments/{req.pk}/decide/", {"decision": "approve"}).status_code == 403
    f = client_as("finance")
    assert (
        f.post(
            "/ledger/adjustments/",
            {
                "kind": "adjustment",
                "adj-client": "C-ADJ",
                "adj-amount": "1",
                "adj-date": "2026-03-01",
                "adj-reason": "x",
            },
        ).status_code
        == 403
    )
    c.force_login(users["credit"])
    assert c.post(f"/ledger/adjustments/{req.pk}/decide/", {"decision": "approve"}).status_code == 302
    assert balance(client, "settlement") == D("25.50")
    assert b"#" in c.get("/ledger/adjustments/").content
