"""Four eyes (DOMAIN.md sections 1 and 5): the same person can never do both steps.

The users here hold BOTH roles of a two-step action (e.g. ``ops`` and ``credit``), so the role
check alone would let them through: only the four-eyes rule can refuse. Each test also shows that
a second person completes the step, so the refusal is about the person, not a broken action.

Manual adjustments and write-offs go through ``ledger.adjustments`` (request, then approval by
another Credit Manager). Reconciliation overrides (a manual match, an unmatch) go through
``reconciliation.services`` (finance asks; another Credit Manager, or Settlement Operations for a
return, approves).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from atlas.models import AuditEvent
from clients.importer import import_workbook
from payouts import services as payouts
from payouts.models import Payout
from risk import services as risk
from risk.models import LimitChange
from tests.clients.workbooks import base_sheets, workbook_bytes
from tests.factories import UserFactory
from tests.payouts.factories import AS_OF, funded_client, payout

D = Decimal


@pytest.fixture
def both():
    """One person with both payout roles."""
    return UserFactory(username="both", roles=["ops", "credit"])


@pytest.fixture
def other_credit():
    return UserFactory(username="credit2", roles=["credit"])


@pytest.mark.django_db
def test_requester_cannot_approve_their_own_payout(both, other_credit):
    p = payout(funded_client("1000.00"), "400.00")
    payouts.payout_request(payout=p, actor=both, as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "requested"
    with pytest.raises(payouts.PayoutError, match="Four eyes"):
        payouts.payout_approve(payout=p, actor=both, as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "requested" and p.approved_by_id is None
    assert not AuditEvent.objects.filter(action="payout.approve", object_id=str(p.pk)).exists()

    payouts.payout_approve(payout=p, actor=other_credit, as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "approved" and p.approved_by == other_credit


@pytest.mark.django_db
def test_requester_cannot_override_their_own_blocked_payout(both, other_credit):
    client = funded_client("1000.00", status="on_hold")  # CLIENT_NOT_ACTIVE blocks the request
    p = payout(client, "400.00")
    payouts.payout_request(payout=p, actor=both, as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "blocked"
    with pytest.raises(payouts.PayoutError, match="Four eyes"):
        payouts.payout_override(payout=p, actor=both, reason="I know this client")
    p.refresh_from_db()
    assert p.status == "blocked" and p.override_reason == ""

    payouts.payout_override(payout=p, actor=other_credit, reason="checked with the client")
    p.refresh_from_db()
    assert p.status == "approved" and p.approved_by == other_credit


@pytest.mark.django_db
def test_the_importer_of_a_requested_payout_cannot_approve_it(both, other_credit):
    """DOMAIN.md section 5: the user who ran the import is the requester of imported requested payouts."""
    result = import_workbook(workbook_bytes(base_sheets()), user=both)
    assert result.ok, result.errors
    po1 = Payout.objects.get(payout_id="PO1")
    assert po1.status == "requested" and po1.requested_by == both
    with pytest.raises(payouts.PayoutError, match="Four eyes"):
        payouts.payout_approve(payout=po1, actor=both)
    po1.refresh_from_db()
    assert po1.status == "requested"


@pytest.mark.django_db
def test_the_approve_button_refuses_the_requester(client, both):
    p = payout(funded_client("1000.00"), "400.00")
    payouts.payout_request(payout=p, actor=both, as_of=AS_OF)
    client.force_login(both)
    response = client.post(f"/payouts/{p.pk}/approve/", follow=True)
    assert response.status_code in (200, 400, 403)
    assert "Four eyes" in response.content.decode()
    p.refresh_from_db()
    assert p.status == "requested"


@pytest.fixture
def risk_and_credit():
    return UserFactory(username="riskcredit", roles=["risk", "credit"])


@pytest.mark.django_db
def test_limit_increase_needs_another_credit_manager(risk_and_credit, other_credit):
    client = funded_client("10.00", credit_limit=D("1000.00"))
    result = risk.update_client_terms(
        client=client, actor=risk_and_credit, reason="more sales", credit_limit=D("5000.00")
    )
    change = result.limit_change
    assert change.status == LimitChange.Status.PENDING
    client.refresh_from_db()
    assert client.credit_limit == D("1000.00")

    with pytest.raises(risk.RiskError, match="Four eyes"):
        risk.approve_limit_change(change=change, actor=risk_and_credit)
    change.refresh_from_db()
    client.refresh_from_db()
    assert change.status == LimitChange.Status.PENDING and client.credit_limit == D("1000.00")

    risk.approve_limit_change(change=change, actor=other_credit, reason="ok")
    change.refresh_from_db()
    client.refresh_from_db()
    assert change.status == LimitChange.Status.APPROVED and change.decided_by == other_credit
    assert client.credit_limit == D("5000.00")


@pytest.mark.django_db
def test_adjustment_and_write_off_need_another_credit_manager(both, other_credit):
    import datetime

    from ledger.adjustments import AdjustmentError, approve_request, request_adjustment, request_write_off
    from ledger.models import AccountKind, JournalEntry
    from tests.payouts.factories import advance

    client = funded_client("100.00")
    entries = JournalEntry.objects.count()
    req = request_adjustment(client=client, amount=D("25.00"), date=AS_OF, reason="bank fee refund", actor=both)
    with pytest.raises(AdjustmentError, match="Four eyes"):
        approve_request(request=req, actor=both)
    req.refresh_from_db()
    assert req.status == "pending" and JournalEntry.objects.count() == entries

    approve_request(request=req, actor=other_credit)
    req.refresh_from_db()
    assert req.status == "approved" and req.entry is not None
    settlement = client.accounts.get(kind=AccountKind.SETTLEMENT)
    assert settlement.balance == D("125.00")

    receivable = advance(client, "1000.00", "800.00", date=datetime.date(2026, 1, 6))
    receivable.refresh_from_db()
    wo = request_write_off(receivable=receivable, amount=D("300.00"), date=AS_OF, reason="debtor insolvent", actor=both)
    with pytest.raises(AdjustmentError, match="Four eyes"):
        approve_request(request=wo, actor=both)
    wo.refresh_from_db()
    assert wo.status == "pending" and wo.entry is None
    approve_request(request=wo, actor=other_credit)
    receivable.refresh_from_db()
    assert receivable.written_off == D("300.00")


@pytest.mark.django_db
def test_reconciliation_overrides_need_a_second_person(other_credit):
    """A manual collection, an unmatch and a return, each asked by someone who also holds the deciding role."""
    from ledger.models import Account, JournalEntry
    from reconciliation import services as recon
    from reconciliation.models import Match
    from tests.factories import ReceivableFactory
    from tests.reconciliation.factories import execute_payouts, sample
    from tests.reconciliation.factories import funded_client as recon_client

    finance_credit = UserFactory(username="fincredit", roles=["finance", "credit"])
    finance_ops = UserFactory(username="finops", roles=["finance", "ops"])
    ops = UserFactory(username="ops", roles=["ops"])
    people = {"ops": ops, "credit": other_credit}

    # A collection: nothing is booked for the requester, the other Credit Manager books it.
    client = recon_client()
    r = ReceivableFactory(client=client, face_value=D("3000.00"))
    content = sample("statement.csv", E2E_1="").replace(b"Invoices INV-A001, INV-A002", b"payment")
    statement = recon.import_statement(content=content, file_name="s.csv", actor=finance_credit).statement
    line = statement.lines.get(direction="CRDT")
    req = recon.request_receivables_match(line=line, allocations=[(r, D("3000.00"))], actor=finance_credit)
    entries = JournalEntry.objects.count()
    with pytest.raises(recon.ReconciliationError, match="Four eyes"):
        recon.approve_match_request(request=req, actor=finance_credit)
    req.refresh_from_db()
    assert req.status == "pending" and JournalEntry.objects.count() == entries
    recon.approve_match_request(request=req, actor=other_credit)
    r.refresh_from_db()
    assert r.collected == D("3000.00")

    # An unmatch of a payout match.
    [p] = execute_payouts([(recon_client(), "1500.00")], people)
    out = recon.import_statement(
        content=sample("single_payout.xml", E2E_1=p.end_to_end_id), file_name="out.xml", actor=finance_credit
    ).statement
    recon.apply_proposals(actor=finance_credit, statement=out)
    match = Match.objects.get(payout=p, kind="payout")
    unreq = recon.request_unmatch(match=match, actor=finance_credit, reason="wrong line")
    with pytest.raises(recon.ReconciliationError, match="Four eyes"):
        recon.approve_match_request(request=unreq, actor=finance_credit)
    match.refresh_from_db()
    assert match.active
    recon.approve_match_request(request=unreq, actor=other_credit)
    match.refresh_from_db()
    assert not match.active

    # A return: decided by Settlement Operations, never by the requester who also holds ops.
    back = recon.import_statement(
        content=sample("return.xml", E2E_1=p.end_to_end_id), file_name="ret.xml", actor=finance_ops
    ).statement
    ret = recon.request_payout_match(line=back.lines.get(), payout=p, actor=finance_ops)
    bank = Account.objects.get(client=None, kind="bank", currency="EUR")
    bank_before = bank.balance
    with pytest.raises(recon.ReconciliationError, match="Four eyes"):
        recon.approve_match_request(request=ret, actor=finance_ops)
    p.refresh_from_db()
    bank.refresh_from_db()
    assert p.status == "executed" and bank.balance == bank_before
    recon.approve_match_request(request=ret, actor=ops)
    p.refresh_from_db()
    bank.refresh_from_db()
    assert p.status == "returned" and bank.balance == bank_before + D("1500.00")
