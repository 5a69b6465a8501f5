"""Races and faults (issue 10): exactly one effect per action, nothing partial after a crash.

Races run 8 threads, each with its own database connection, against PostgreSQL (row locks and
unique constraints are what is tested; SQLite serialises writers, so they are skipped there).
Fault injection runs everywhere: an exception in the middle of a batch execution or an import
must leave nothing behind, and re-running must complete the work exactly once.
"""

from __future__ import annotations

import datetime
import io
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from atlas.models import AuditEvent
from clients.importer import import_workbook
from clients.models import Client, ImportBatch, Receivable, Transaction
from ledger import services as ledger
from ledger.models import Account, AccountKind, JournalEntry, Posting, ReserveTranche
from payouts import services as payouts
from payouts.models import Payout, PayoutBatch
from tests.clients.workbooks import base_sheets, workbook_bytes
from tests.conftest import requires_postgres
from tests.factories import ClientFactory, ReceivableFactory, TransactionFactory
from tests.payouts.factories import AS_OF, EXEC_DAY, funded_client, payout

D = Decimal
THREADS = 8


def race(target):
    """Run ``target`` in 8 threads released together; return (results, errors)."""
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def run():
        try:
            barrier.wait(30)
            results.append(target())
        except Exception as exc:  # asserted by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results, errors


def verify_ok():
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("OK:"), out.getvalue()


def balance(client, kind):
    return Account.objects.get(client=client, kind=kind).balance


def approved_batch(users, amounts=("600.00", "1500.00", "2999.99")):
    clients, items = [], []
    for amount, funding in zip(amounts, ("1000.00", "2000.00", "3000.00"), strict=True):
        client = funded_client(funding)
        p = payout(client, amount)
        payouts.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
        payouts.payout_approve(payout=p, actor=users["credit"], as_of=AS_OF)
        clients.append(client)
        items.append(p)
    return clients, items, payouts.batch_create(payouts=items, actor=users["ops"])


def reserve_client():
    """Collection of 1,000.00 on an 800.00 advance: reserve 10 % of the 200.00 rest = 20.00, due 10 days later."""
    client = ClientFactory(reserve_rate=D("0.10"), reserve_hold_days=10)
    rec = ReceivableFactory(client=client, face_value=D("1000.00"))
    txns = [
        TransactionFactory(
            client=client, type="advance", amount=D("800.00"), date=datetime.date(2026, 1, 2), receivable=rec
        ),
        TransactionFactory(
            client=client, type="collection", amount=D("1000.00"), date=datetime.date(2026, 1, 5), receivable=rec
        ),
    ]
    ledger.book_transactions(txns, evaluate_alerts=False)
    return client


# ----------------------------------------------------------------------------------------------- races


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_race_executing_one_batch(users):
    clients, items, batch = approved_batch(users)
    results, errors = race(lambda: payouts.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY))
    assert errors == [] and len(results) == THREADS
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.EXECUTED
    assert AuditEvent.objects.filter(action="batch.execute", object_id=str(batch.pk)).count() == 1
    for p, client, left in zip(items, clients, ("400.00", "500.00", "0.01"), strict=True):
        assert JournalEntry.objects.filter(source_type="payout", source_key=str(p.pk)).count() == 1
        assert balance(client, AccountKind.SETTLEMENT) == D(left)
    verify_ok()


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_race_approving_one_payout(users):
    p = payout(funded_client("500.00"), "500.00")
    payouts.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
    results, errors = race(lambda: payouts.payout_approve(payout=p, actor=users["credit"], as_of=AS_OF))
    assert errors == [] and len(results) == THREADS
    p.refresh_from_db()
    assert p.status == "approved"
    assert AuditEvent.objects.filter(action="payout.approve", object_id=str(p.pk)).count() == 1
    verify_ok()


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_race_releasing_the_same_reserves():
    client = reserve_client()
    tranche = ReserveTranche.objects.get(client=client)
    assert (tranche.amount, tranche.due_date) == (D("20.00"), datetime.date(2026, 1, 15))
    assert balance(client, AccountKind.ROLLING_RESERVE) == D("20.00")
    assert balance(client, AccountKind.SETTLEMENT) == D("980.00")  # 800.00 advanced + 180.00 settled

    results, errors = race(lambda: ledger.release_reserves(as_of=datetime.date(2026, 1, 20)))
    assert errors == []
    released = [t for r in results for t in r.released]
    assert len(released) == 1 and released[0].pk == tranche.pk
    tranche.refresh_from_db()
    assert tranche.released_entry_id is not None
    assert JournalEntry.objects.filter(released_tranche__isnull=False).count() == 1
    assert balance(client, AccountKind.ROLLING_RESERVE) == D("0.00")
    assert balance(client, AccountKind.SETTLEMENT) == D("1000.00")
    verify_ok()


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_race_importing_the_same_workbook():
    data = workbook_bytes(base_sheets())
    results, errors = race(lambda: import_workbook(data))
    assert errors == [], errors
    ok = [r for r in results if r.ok]
    refused = [r for r in results if not r.ok]
    assert ok, [r.errors for r in results]
    for r in refused:  # a loser may be refused by the database: one clean line, nothing written by it
        assert len(r.errors) == 1 and r.errors[0].startswith("Workbook: "), r.errors
    assert Client.objects.count() == 2 and Receivable.objects.count() == 3
    assert Transaction.objects.count() == 7
    assert JournalEntry.objects.filter(source_type="transaction").count() == 7
    assert ImportBatch.objects.filter(status="done").count() == len(ok)
    # Exactly one import's worth of money (DOMAIN.md posting rules worked by hand on the base workbook):
    # C1: advances 8,000.00 (R1) + 987.65 (R2); collection 10,000.00 on R1 repays 8,000.00, reserve
    # round(2,000.00 x 0.10) = 200.00, settles 1,800.00; fee 12.34; adjustment -10.00; partner hold 100.00.
    # C2: advance 3,750.00.
    expected = {
        ("C1", "factoring"): D("987.65"),
        ("C1", "settlement"): D("10765.31"),
        ("C1", "rolling_reserve"): D("200.00"),
        ("C1", "partner_rr"): D("100.00"),
        ("C2", "factoring"): D("3750.00"),
        ("C2", "settlement"): D("3750.00"),
    }
    actual = {(a.client.client_id, a.kind): a.balance for a in Account.objects.filter(client__isnull=False)}
    assert {k: v for k, v in actual.items() if v} == expected
    verify_ok()


# ----------------------------------------------------------------------------------------------- faults


class Boom(RuntimeError):
    pass


def fail_after(monkeypatch, module, name, k):
    """Replace ``module.name`` with a wrapper that works k times, then raises."""
    real = getattr(module, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > k:
            raise Boom(f"injected fault in {name} after {k} call(s)")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


FAULTS = [
    ("payouts.checks", "run_checks", 1),  # the second payout's checks: the first was already handled
    ("ledger.services", "_write", 0),  # the ledger insert of the batch's entries
    ("payouts.sepa", "build_pain001", 0),  # after every entry and posting was written, before the commit
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("module", "name", "k"), FAULTS, ids=[f[1] for f in FAULTS])
def test_fault_in_the_middle_of_a_batch_execution(users, monkeypatch, module, name, k):
    import importlib

    clients, items, batch = approved_batch(users)
    entries, postings = JournalEntry.objects.count(), Posting.objects.count()
    audits = AuditEvent.objects.count()
    calls = fail_after(monkeypatch, importlib.import_module(module), name, k)

    with pytest.raises(Boom):
        payouts.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    assert calls["n"] == k + 1
    batch.refresh_from_db()
    assert batch.status != PayoutBatch.Status.EXECUTED and not batch.sepa_file
    assert set(Payout.objects.filter(pk__in=[p.pk for p in items]).values_list("status", flat=True)) == {"approved"}
    assert (JournalEntry.objects.count(), Posting.objects.count(), AuditEvent.objects.count()) == (
        entries,
        postings,
        audits,
    )
    assert [balance(c, AccountKind.SETTLEMENT) for c in clients] == [D("1000.00"), D("2000.00"), D("3000.00")]
    verify_ok()

    monkeypatch.undo()
    payouts.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    payouts.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)  # a second click: no-op
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.EXECUTED
    assert JournalEntry.objects.filter(source_type="payout").count() == 3
    assert [balance(c, AccountKind.SETTLEMENT) for c in clients] == [D("400.00"), D("500.00"), D("0.01")]
    verify_ok()


@pytest.mark.django_db(transaction=True)
def test_fault_in_the_middle_of_an_import(monkeypatch):
    data = workbook_bytes(base_sheets())
    # The ledger books the 7 transactions one entry at a time through _write in batches; fail inside booking,
    # after the writer has inserted every row: everything must roll back.
    calls = fail_after(monkeypatch, ledger, "_write", 0)
    with pytest.raises(Boom):
        import_workbook(data)
    assert calls["n"] >= 1
    assert Client.objects.count() == Transaction.objects.count() == ImportBatch.objects.count() == 0
    assert JournalEntry.objects.count() == Posting.objects.count() == ReserveTranche.objects.count() == 0
    monkeypatch.undo()

    # A fault in the writer after 3 bulk inserts (partners, clients, debtors written; receivables not).
    from clients.importer import writer

    calls = fail_after(monkeypatch, writer, "insert_rows", 3)
    with pytest.raises(Boom):
        import_workbook(data)
    assert calls["n"] == 4
    assert Client.objects.count() == ImportBatch.objects.count() == 0
    monkeypatch.undo()

    first = import_workbook(data)
    again = import_workbook(data)
    assert first.ok and again.ok
    assert Client.objects.count() == 2 and Transaction.objects.count() == 7
    assert JournalEntry.objects.filter(source_type="transaction").count() == 7
    assert again.entries_booked == 0
    verify_ok()
