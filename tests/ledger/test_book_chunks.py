"""Booking a large import in chunks (ledger.services.BOOK_CHUNK) gives exactly the one-call result.

The same demo workbook is imported twice in one test, each time inside a block that is rolled
back: once with chunks of 7 entries, once with one chunk for everything. Every posting (by
transaction id, account and order), every account balance, every receivable total and every
reserve tranche must be the same.
"""

import pytest
from django.db import transaction

import ledger.services as ledger_services
from clients.demo import make_demo_workbook
from clients.importer import import_workbook
from clients.models import Receivable
from ledger.models import Account, Posting, ReserveTranche

pytestmark = pytest.mark.django_db


def _account_key(a):
    return (a.client.client_id if a.client_id else a.currency, a.kind)


def snapshot():
    accounts = {a.pk: _account_key(a) for a in Account.objects.select_related("client")}
    postings = [
        (p.entry.transaction.txn_id, accounts[p.account_id], p.side, p.amount, p.date, p.balance_after)
        for p in Posting.objects.select_related("entry__transaction").order_by("pk")
    ]
    balances = sorted((accounts[a.pk], a.balance, a.posting_count) for a in Account.objects.all())
    receivables = sorted(
        Receivable.objects.values_list("receivable_id", "advanced", "reduced", "collected", "written_off")
    )
    tranches = sorted(
        ReserveTranche.objects.values_list("transaction__txn_id", "amount", "currency", "created_on", "due_date")
    )
    return postings, balances, receivables, tranches


def imported(path, chunk, monkeypatch):
    monkeypatch.setattr(ledger_services, "BOOK_CHUNK", chunk)
    with transaction.atomic():
        result = import_workbook(str(path))
        assert result.ok, result.errors[:5]
        out = snapshot()
        transaction.set_rollback(True)
    return result, out


def test_chunked_booking_equals_one_call(tmp_path, monkeypatch):
    path = tmp_path / "demo.xlsx"
    counts = make_demo_workbook(path, clients=4, seed=5)
    small, chunked = imported(path, 7, monkeypatch)
    whole, single = imported(path, 10**9, monkeypatch)
    assert small.entries_booked == whole.entries_booked == counts["Transactions"]
    postings, balances, receivables, tranches = chunked
    assert len(postings) > 2 * counts["Transactions"] > 14  # many chunks were written
    assert len(tranches) > 1  # collections made reserve tranches across chunks
    assert chunked == single


def test_streamed_sheet_books_as_one_call(tmp_path, monkeypatch):
    """The import feeds the Transactions sheet to the booker in row chunks (clients.importer.ROWS_CHUNK):
    many small chunks give exactly what one chunk (one booking call over every transaction) gives."""
    import clients.importer as importer

    path = tmp_path / "demo.xlsx"
    make_demo_workbook(path, clients=4, seed=5)
    monkeypatch.setattr(importer, "ROWS_CHUNK", 13)
    streamed, chunked = imported(path, 7, monkeypatch)
    monkeypatch.setattr(importer, "ROWS_CHUNK", 10**9)
    whole, single = imported(path, 10**9, monkeypatch)
    assert streamed.entries_booked == whole.entries_booked > 13
    assert chunked == single


@pytest.mark.django_db
def test_the_booker_loads_receivables_with_a_few_statement_texts():
    """``_receivable_rows`` pads its IN list (``atlas.perf.padded``): chunks naming 3 or 7 receivables send one
    statement text (SQLite's driver keeps 128 prepared texts), and the padding matches no row."""
    from django.db import connection, transaction

    from ledger.services import _receivable_rows
    from tests.factories import ReceivableFactory

    pks = [ReceivableFactory().pk for _ in range(7)]
    texts = []

    def capture(execute, sql, params, many, context):
        texts.append(sql)
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.execute_wrapper(capture):
        three, seven = _receivable_rows(pks[:3]), _receivable_rows(pks)
    assert [r[0] for r in three] == pks[:3] and [r[0] for r in seven] == pks
    assert len(texts) == 2 and len(set(texts)) == 1
