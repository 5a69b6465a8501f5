"""Import, propose, confirm: the hand-written statements against payouts executed through the payouts
services, with the ledger verified (``verify_ledger``) after every booking."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from atlas.models import AuditEvent
from clients.models import Transaction
from ledger.models import Account, JournalEntry, ReserveTranche
from payouts.models import Payout
from reconciliation import services
from reconciliation.models import Match, Rule, Statement, StatementLine
from tests.factories import ReceivableFactory
from tests.reconciliation.factories import IBAN_A, IBAN_B, IBAN_C, execute_payouts, funded_client, sample

pytestmark = pytest.mark.django_db


def verify_ledger():
    call_command("verify_ledger")  # exits 1 (SystemExit) on any violation


def balance(client, kind) -> Decimal:
    return Account.objects.get(client=client, kind=kind).balance


def bank(currency="EUR") -> Decimal:
    return Account.objects.get(client=None, kind="bank", currency=currency).balance


def imported(name, users, **values):
    result = services.import_statement(content=sample(name, **values), file_name=name, actor=users["finance"])
    assert result.created
    return result.statement


def test_single_payout_is_reconciled_by_end_to_end_id(users):
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    statement = imported("single_payout.xml", users, E2E_1=payout.end_to_end_id)
    [proposal] = services.proposals_for(statement)
    assert (proposal.kind, proposal.rule, proposal.payout) == ("payout", Rule.END_TO_END, payout)

    entries_before = JournalEntry.objects.count()
    result = services.apply_proposals(actor=users["finance"], statement=statement)
    assert result.problems == [] and len(result.matches) == 1
    match = Match.objects.get()
    assert (match.payout, match.kind, match.rule, match.amount) == (payout, "payout", "end_to_end", Decimal("1500.00"))
    assert match.created_by == users["finance"]
    payout.refresh_from_db()
    assert payout.status == "executed"  # reconciled is a match record, not a payout state
    assert JournalEntry.objects.count() == entries_before  # no money moves
    assert AuditEvent.objects.filter(action="reconciliation.match", object_id=str(match.pk)).exists()
    verify_ledger()
    assert services.proposals_for(statement) == []  # nothing left to propose


def test_reimporting_the_same_file_adds_nothing(users):
    content = sample("batch_payouts.xml", E2E_1="X1", E2E_2="X2")
    first = services.import_statement(content=content, file_name="a.xml", actor=users["finance"])
    assert first.created and first.new_lines == 4
    second = services.import_statement(content=content, file_name="renamed.xml", actor=users["finance"])
    assert not second.created and second.statement == first.statement
    assert Statement.objects.count() == 1 and StatementLine.objects.count() == 4
    # Another file that repeats bank entries (same AcctSvcrRef) adds only the new ones.
    other = content.replace(b"STMT-20260303-0001", b"STMT-20260303-0002").replace(
        b"BNK-20260303-0200", b"BNK-20260303-0999"
    )
    third = services.import_statement(content=other, file_name="again.xml", actor=users["finance"])
    assert third.created and third.new_lines == 1 and len(third.duplicates) == 3
    assert StatementLine.objects.count() == 5


def test_provenance_of_lines(users):
    statement = imported("batch_payouts.xml", users, E2E_1="X1", E2E_2="X2")
    line = statement.lines.get(tx_index=2)
    assert line.provenance == "batch_payouts.xml · entry 1 tx 2"
    assert len(statement.sha256) == 64
    assert statement.skipped == ["entry 3: status PDNG, only booked (BOOK) entries are imported"]


@pytest.mark.parametrize("name", ["malformed.xml", "xxe.xml"])
def test_bad_files_write_nothing(users, name):
    with pytest.raises(services.ReconciliationError) as exc:
        services.import_statement(content=sample(name), file_name=name, actor=users["finance"])
    assert exc.value.message.startswith(f"{name}: ")
    assert Statement.objects.count() == 0 and StatementLine.objects.count() == 0
    assert not AuditEvent.objects.filter(action="statement.import").exists()


def test_batch_of_payouts_each_reconciled_or_listed_with_why(users):
    a, b, c = funded_client(iban=IBAN_A), funded_client(iban=IBAN_B), funded_client(iban=IBAN_C)
    p1, p2, p3 = execute_payouts([(a, "1500.00"), (b, "2500.00"), (c, "700.00")], users)
    statement = imported("batch_payouts.xml", users, E2E_1=p1.end_to_end_id, E2E_2=p2.end_to_end_id)
    proposals = services.proposals_for(statement)
    by_tx = {(p.line.entry_index, p.line.tx_index): p for p in proposals}
    assert (by_tx[(1, 1)].payout, by_tx[(1, 1)].rule) == (p1, Rule.END_TO_END)
    assert (by_tx[(1, 2)].payout, by_tx[(1, 2)].rule) == (p2, Rule.END_TO_END)
    # No end-to-end id: same amount, the client's IBAN, booked 1 day after the execution date.
    assert (by_tx[(1, 3)].payout, by_tx[(1, 3)].rule) == (p3, Rule.AMOUNT_IBAN_DATE)
    fee = by_tx[(2, 1)]
    assert not fee.matched
    assert fee.reason == "no counterparty IBAN for the amount + IBAN + date rule"

    result = services.apply_proposals(actor=users["finance"], statement=statement)
    assert result.problems == [] and result.lines == 3
    assert set(Match.objects.filter(active=True, kind="payout").values_list("payout_id", flat=True)) == {
        p1.pk,
        p2.pk,
        p3.pk,
    }
    verify_ledger()


def test_return_marks_the_payout_returned_and_books_the_reversal(users, make_user):
    client = funded_client()
    [payout] = execute_payouts([(client, "1500.00")], users)
    settlement_after_payout = balance(client, "settlement")
    assert settlement_after_payout == Decimal("6500.00")  # 8000.00 advanced − 1500.00 paid
    bank_before = bank()
    statement = imported("return.xml", users, E2E_1=payout.end_to_end_id)
    [proposal] = services.proposals_for(statement)
    assert (proposal.kind, proposal.payout, proposal.rule) == ("return", payout, Rule.END_TO_END)

    # A finance controller alone may not mark a payout returned (Settlement Operations does).
    refused = services.apply_proposals(actor=users["finance"], statement=statement)
    assert refused.matches == [] and "needs Settlement Operations" in refused.problems[0]
    payout.refresh_from_db()
    assert payout.status == "executed"

    result = services.apply_proposals(actor=users["ops"], statement=statement)
    assert result.problems == []
    payout.refresh_from_db()
    assert payout.status == "returned"
    assert balance(client, "settlement") == Decimal("8000.00")
    assert bank() == bank_before + Decimal("1500.00")
    entry = JournalEntry.objects.get(source_type="payout_return", source_key=str(payout.pk))
    assert entry.date == datetime.date(2026, 3, 4)
    match = Match.objects.get(kind="return")
    assert match.payout == payout and match.created_by == users["ops"]
    verify_ledger()


def test_payout_and_its_return_in_one_statement(users):
    client = funded_client()
    [payout] = execute_payouts([(client, "1500.00")], users)
    out = imported("single_payout.xml", users, E2E_1=payout.end_to_end_id)
    back = imported("return.xml", users, E2E_1=payout.end_to_end_id)
    proposals = services.proposals_for()
    assert {(p.line.statement_id, p.kind) for p in proposals} == {(out.pk, "payout"), (back.pk, "return")}
    services.apply_proposals(actor=users["ops"], statement=back)
    # the original debit still reconciles the (now returned) payout
    [again] = services.proposals_for(out)
    assert again.kind == "payout" and again.payout == payout
    services.apply_proposals(actor=users["finance"], statement=out)
    assert Match.objects.filter(payout=payout, active=True).count() == 2
    verify_ledger()


def test_incoming_line_pays_two_invoices(users):
    client = funded_client()
    r1 = ReceivableFactory(client=client, invoice_number="INV-A001", face_value=Decimal("1000.00"))
    r2 = ReceivableFactory(client=client, invoice_number="INV-A002", face_value=Decimal("2000.00"))
    ReceivableFactory(client=client, invoice_number="INV-A003", face_value=Decimal("500.00"))
    adv = Transaction.objects.create(
        txn_id="ADV-1",
        date=datetime.date(2026, 2, 1),
        client=client,
        type="advance",
        amount=Decimal("800.00"),
        currency="EUR",
        receivable=r1,
    )
    from ledger.services import book_transactions

    book_transactions([adv])
    factoring_before = balance(client, "factoring")
    settlement_before = balance(client, "settlement")
    statement = imported("collection_two_invoices.xml", users)
    first, second = services.proposals_for(statement)
    assert first.kind == "collection" and first.rule == Rule.INVOICE_REMITTANCE
    assert [(a.receivable, a.amount) for a in first.allocations] == [(r1, Decimal("1000.00")), (r2, Decimal("2000.00"))]
    assert not second.matched
    assert second.reason == "open amounts INV-A003 500.00 = 500.00 ≠ line 999.00"

    result = services.apply_proposals(actor=users["finance"], statement=statement)
    assert result.problems == [] and len(result.matches) == 2
    line = first.line
    txns = Transaction.objects.filter(txn_id__startswith=f"BANK-{line.pk}-").order_by("txn_id")
    assert [(t.txn_id, t.amount, t.receivable, t.type, t.date) for t in txns] == [
        (f"BANK-{line.pk}-1", Decimal("1000.00"), r1, "collection", datetime.date(2026, 3, 5)),
        (f"BANK-{line.pk}-2", Decimal("2000.00"), r2, "collection", datetime.date(2026, 3, 5)),
    ]
    assert all(t.reference == "BNK-20260305-0001" and t.source_sheet == "statement" for t in txns)
    # DOMAIN.md collection rule, by hand (reserve rate 0.10):
    #   INV-A001: O = 800.00 → repay 800.00, rest 200.00, reserve 20.00, settle 180.00
    #   INV-A002: O = 0 → repay 0, rest 2000.00, reserve 200.00, settle 1800.00
    assert balance(client, "factoring") == factoring_before - Decimal("800.00")
    assert balance(client, "rolling_reserve") == Decimal("220.00")
    assert balance(client, "settlement") == settlement_before + Decimal("1980.00")
    assert sorted(ReserveTranche.objects.filter(client=client).values_list("amount", flat=True)) == [
        Decimal("20.00"),
        Decimal("200.00"),
    ]
    r1.refresh_from_db()
    r2.refresh_from_db()
    assert r1.open_amount == 0 and r2.open_amount == 0
    assert {m.transaction for m in result.matches} == set(txns)
    verify_ledger()
    # Nothing is proposed twice: the line is matched, and the invoices are no longer open.
    assert [p.line.pk for p in services.proposals_for(statement)] == [second.line.pk]


def test_confirm_only_what_was_shown(users):
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    statement = imported("single_payout.xml", users, E2E_1=payout.end_to_end_id)
    [proposal] = services.proposals_for(statement)
    stale = services.apply_proposals(
        actor=users["finance"], statement=statement, accepted={proposal.line.pk: "payout:999999:end_to_end"}
    )
    assert stale.matches == [] and "changed since it was shown" in stale.skipped[0]
    ok = services.apply_proposals(
        actor=users["finance"], statement=statement, accepted={proposal.line.pk: proposal.signature}
    )
    assert len(ok.matches) == 1


def test_roles(users):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.import_statement(content=sample("statement.csv", E2E_1="X"), file_name="s.csv", actor=users["ops"])
    with pytest.raises(PermissionDenied):
        services.apply_proposals(actor=users["credit"])


def approved(req, actor):
    """Approve a four-eyes request (reconciliation.services) and return it fresh."""
    services.approve_match_request(request=req, actor=actor)
    req.refresh_from_db()
    assert req.status == "approved" and req.decided_by == actor
    return req


def test_manual_match_and_unmatch_are_audited(users):
    client = funded_client()
    [payout] = execute_payouts([(client, "1500.00")], users)
    # The bank dropped the end-to-end id and reports another IBAN: no rule matches.
    content = sample("single_payout.xml", E2E_1="NOTPROVIDED").replace(b"DE89 3704 0044 0532 0130 00", b"DE00X")
    statement = services.import_statement(content=content, file_name="odd.xml", actor=users["finance"]).statement
    [proposal] = services.proposals_for(statement)
    assert not proposal.matched
    line = proposal.line

    req = services.request_payout_match(line=line, payout=payout, actor=users["finance"], note="bank lost the id")
    assert not Match.objects.exists()  # a request matches nothing
    approved(req, users["credit"])
    match = Match.objects.get(active=True)
    assert (match.rule, match.created_by, match.note, match.request) == (
        "manual",
        users["credit"],
        "bank lost the id",
        req,
    )
    with pytest.raises(services.ReconciliationError, match="Give a reason"):
        services.request_unmatch(match=match, actor=users["finance"], reason=" ")
    unreq = services.request_unmatch(match=match, actor=users["finance"], reason="wrong payout")
    match.refresh_from_db()
    assert match.active  # still matched until approved
    approved(unreq, users["credit"])
    match.refresh_from_db()
    assert not match.active and match.unmatched_by == users["credit"] and match.unmatch_reason == "wrong payout"
    actions = list(
        AuditEvent.objects.filter(object_type="reconciliation.match", object_id=str(match.pk)).values_list(
            "action", "actor__username"
        )
    )
    assert sorted(actions) == [("reconciliation.match", "credit"), ("reconciliation.unmatch", "credit")]
    requests = list(
        AuditEvent.objects.filter(object_type="reconciliation.matchrequest")
        .order_by("pk")
        .values_list("action", "actor__username", "object_id")
    )
    assert requests == [
        ("reconciliation.request", "finance", str(req.pk)),
        ("reconciliation.request_approved", "credit", str(req.pk)),
        ("reconciliation.request", "finance", str(unreq.pk)),
        ("reconciliation.request_approved", "credit", str(unreq.pk)),
    ]
    # matched again after the unmatch: the history stays
    approved(services.request_payout_match(line=line, payout=payout, actor=users["finance"]), users["credit"])
    assert Match.objects.filter(payout=payout).count() == 2
    assert Match.objects.filter(payout=payout, active=True).count() == 1


def test_manual_collection_and_its_limits(users):
    client = funded_client()
    r = ReceivableFactory(client=client, invoice_number="NO-REF", face_value=Decimal("5000.00"))
    content = sample("statement.csv", E2E_1="").replace(b"Invoices INV-A001, INV-A002", b"payment")
    statement = services.import_statement(content=content, file_name="s.csv", actor=users["finance"]).statement
    line = statement.lines.get(direction="CRDT")
    with pytest.raises(services.ReconciliationError, match="allocations add up to 2999.00, the line is 3000.00"):
        services.request_receivables_match(line=line, allocations=[(r, Decimal("2999.00"))], actor=users["finance"])
    req = services.request_receivables_match(line=line, allocations=[(r, Decimal("3000.00"))], actor=users["finance"])
    r.refresh_from_db()
    assert r.collected == Decimal("0.00")  # nothing booked by the request
    approved(req, users["credit"])
    [m] = Match.objects.filter(line=line)
    r.refresh_from_db()
    assert r.collected == Decimal("3000.00") and m.rule == "manual" and m.request == req
    with pytest.raises(services.ReconciliationError, match="cannot be unmatched"):
        services.request_unmatch(match=m, actor=users["finance"], reason="oops")
    verify_ledger()


def test_unreconciled_payouts_are_listed_with_why(users):
    from reconciliation.matching import unreconciled_payouts

    a = funded_client()
    [old] = execute_payouts([(a, "1500.00")], users, execution_date=datetime.date(2026, 3, 2))
    [recent] = execute_payouts([(a, "100.00")], users, execution_date=datetime.date(2026, 3, 9))
    listed = unreconciled_payouts(as_of=datetime.date(2026, 3, 10), window=3)
    assert [p for p, _ in listed] == [old]
    assert f"end-to-end id {old.end_to_end_id}" in listed[0][1]
    assert Payout.objects.get(pk=recent.pk).status == "executed"
