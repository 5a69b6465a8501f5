"""Two people confirming the same proposal at the same moment book it once (PostgreSQL row locks)."""

import threading

import pytest
from django.db import close_old_connections

from reconciliation import services
from reconciliation.models import Match
from tests.conftest import requires_postgres
from tests.reconciliation.factories import execute_payouts, funded_client, sample


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_book_once(users):
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    statement = services.import_statement(
        content=sample("single_payout.xml", E2E_1=payout.end_to_end_id), file_name="s.xml", actor=users["finance"]
    ).statement
    barrier = threading.Barrier(2)
    results, errors = [], []

    def confirm():
        try:
            barrier.wait()
            results.append(services.apply_proposals(actor=users["finance"], statement=statement))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Match.objects.filter(payout=payout, active=True).count() == 1
    assert sum(len(r.matches) for r in results) == 1


def _collection_request(users):
    """A pending request: an incoming 3000.00 line booked as collections of R0 2000.00 and R1 1000.00 (R0 face
    10,000.00 with 8,000.00 advanced, R1 face 1,000.00 with 432.05 advanced; reserve rate 0.10)."""
    import datetime
    from decimal import Decimal as D

    from clients.models import Receivable
    from ledger.services import book_transactions
    from tests.factories import ReceivableFactory, TransactionFactory

    client = funded_client()
    r0 = Receivable.objects.get(client=client)
    r1 = ReceivableFactory(client=client, face_value=D("1000.00"))
    book_transactions(
        [
            TransactionFactory(
                client=client, type="advance", amount=D("432.05"), receivable=r1, date=datetime.date(2026, 2, 1)
            )
        ]
    )
    content = sample("statement.csv", E2E_1="").replace(b"Invoices INV-A001, INV-A002", b"payment")
    line = services.import_statement(content=content, file_name="s.csv", actor=users["finance"]).statement.lines.get(
        direction="CRDT"
    )
    req = services.request_receivables_match(
        line=line, allocations=[(r0, D("2000.00")), (r1, D("1000.00"))], actor=users["finance"]
    )
    return client, line, req


def _race(targets):
    barrier = threading.Barrier(len(targets))
    results, errors = [], []

    def run(target):
        try:
            barrier.wait(30)
            results.append(target())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results, errors


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_the_same_moment_book_once(users, make_user):
    from decimal import Decimal as D

    from django.core.management import call_command

    from atlas.models import AuditEvent
    from clients.models import Transaction
    from ledger.models import Account, JournalEntry

    client, line, req = _collection_request(users)
    credit2 = make_user("credit", username="credit2")
    settlement = Account.objects.get(client=client, kind="settlement").balance
    entries = JournalEntry.objects.count()
    approvers = [users["credit"], credit2] * 2
    results, errors = _race([lambda a=a: services.approve_match_request(request=req, actor=a) for a in approvers])
    assert errors == [] and len(results) == 4
    req.refresh_from_db()
    assert req.status == "approved" and req.decided_by in (users["credit"], credit2)
    assert Match.objects.filter(line=line, active=True).count() == 2
    assert Transaction.objects.filter(txn_id__startswith=f"BANK-{line.pk}-").count() == 2
    assert JournalEntry.objects.count() == entries + 2  # one entry per collection, booked once
    # R1: repay 432.05, rest 567.95, reserve round(56.795) = 56.80, settle 511.15 (R0: all repays the advance)
    assert Account.objects.get(client=client, kind="settlement").balance == settlement + D("511.15")
    assert AuditEvent.objects.filter(action="reconciliation.request_approved").count() == 1
    call_command("verify_ledger")


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_approve_and_reject_at_the_same_moment_have_one_outcome(users, make_user):
    from ledger.models import JournalEntry

    _, line, req = _collection_request(users)
    credit2 = make_user("credit", username="credit2")
    entries = JournalEntry.objects.count()
    results, errors = _race(
        [
            lambda: services.approve_match_request(request=req, actor=users["credit"]),
            lambda: services.reject_match_request(request=req, actor=credit2, reason="not ours"),
        ]
    )
    assert len(results) == 1 and len(errors) == 1  # the second decision finds the request decided
    assert isinstance(errors[0], services.ReconciliationError)
    req.refresh_from_db()
    booked = Match.objects.filter(line=line, active=True).count()
    if req.status == "approved":
        assert booked == 2 and JournalEntry.objects.count() == entries + 2
    else:
        assert req.status == "rejected" and booked == 0 and JournalEntry.objects.count() == entries
