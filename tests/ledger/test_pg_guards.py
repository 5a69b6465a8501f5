"""PostgreSQL balance guard, checked once per journal entry (ledger/migrations/0005):

- an entry whose legs do not balance cannot commit, whatever wrote it (ORM rows, ``COPY``,
  legs spread over several statements and savepoints);
- a balanced entry written over several statements commits;
- no posting can be added to an entry booked by an earlier transaction, not even a balanced pair.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger.bulk import insert_rows
from ledger.models import JournalEntry, Posting
from ledger.services import book_transactions, client_accounts
from ledger.verify import verify
from tests.conftest import requires_postgres
from tests.factories import ClientFactory, TransactionFactory

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

DAY = datetime.date(2026, 1, 1)
LEG_FIELDS = ["entry_id", "account_id", "side", "amount", "date", "balance_after"]


def _entry(key: str, amount: str = "1.00") -> JournalEntry:
    return JournalEntry.objects.create(
        date=DAY,
        type="adjustment",
        currency="EUR",
        source_type="adjustment",
        source_key=key,
        amount=Decimal(amount),
    )


def _leg(entry, account, side, amount):
    return (entry.pk, account.pk, side, Decimal(amount), DAY, Decimal("0"))


def _accounts():
    client = ClientFactory()
    (entry,) = book_transactions([TransactionFactory(client=client, type="fee", amount=Decimal("5.00"))])
    return entry, client_accounts(client)


def test_balanced_entry_written_over_statements_and_savepoints_commits():
    _, accts = _accounts()
    with transaction.atomic():
        with transaction.atomic():  # the entry inside a savepoint, its legs outside it
            entry = _entry("split-legs", "2.50")
        insert_rows(Posting, LEG_FIELDS, [_leg(entry, accts["settlement"], "D", "2.50")])
        with transaction.atomic():
            insert_rows(Posting, LEG_FIELDS, [_leg(entry, accts["factoring"], "C", "1.25")])
        Posting.objects.create(
            entry=entry, account=accts["factoring"], side="C", amount=Decimal("1.25"), date=DAY, balance_after=0
        )
    assert Posting.objects.filter(entry=entry).count() == 3


@pytest.mark.parametrize("write", ["copy", "orm"])
def test_unbalanced_entry_cannot_commit(write):
    _, accts = _accounts()
    before = (JournalEntry.objects.count(), Posting.objects.count())
    with pytest.raises(IntegrityError, match="unbalanced journal entry"), transaction.atomic():
        entry = _entry(f"unbalanced-{write}")
        legs = [_leg(entry, accts["settlement"], "D", "1.00"), _leg(entry, accts["factoring"], "C", "0.99")]
        if write == "copy":
            insert_rows(Posting, LEG_FIELDS, legs)
        else:
            for leg in legs:
                Posting.objects.create(**dict(zip(LEG_FIELDS, leg, strict=True)))
    assert (JournalEntry.objects.count(), Posting.objects.count()) == before


@pytest.mark.parametrize("write", ["copy", "orm", "sql"])
def test_no_posting_is_added_to_an_entry_of_an_earlier_transaction(write):
    booked, accts = _accounts()
    before = Posting.objects.count()
    pair = [_leg(booked, accts["settlement"], "D", "3.00"), _leg(booked, accts["factoring"], "C", "3.00")]
    with pytest.raises(IntegrityError, match="booked by an earlier transaction"), transaction.atomic():
        if write == "copy":
            insert_rows(Posting, LEG_FIELDS, pair)
        elif write == "orm":
            for leg in pair:
                Posting.objects.create(**dict(zip(LEG_FIELDS, leg, strict=True)))
        else:
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO ledger_posting (entry_id, account_id, side, amount, date, balance_after) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    pair,
                )
    assert Posting.objects.count() == before


def test_a_new_entry_beside_an_old_one_in_one_statement_is_refused():
    booked, accts = _accounts()
    with pytest.raises(IntegrityError, match=f"journal entry {booked.pk} was booked"), transaction.atomic():
        entry = _entry("new-beside-old")
        insert_rows(
            Posting,
            LEG_FIELDS,
            [
                _leg(entry, accts["settlement"], "D", "1.00"),
                _leg(entry, accts["factoring"], "C", "1.00"),
                _leg(booked, accts["factoring"], "C", "1.00"),
            ],
        )
    assert not JournalEntry.objects.filter(source_key="new-beside-old").exists()


def test_an_imported_demo_book_commits_and_verifies(tmp_path):
    from clients.demo import make_demo_workbook
    from clients.importer import import_workbook

    path = tmp_path / "demo.xlsx"
    counts = make_demo_workbook(path, clients=3, seed=3)
    result = import_workbook(str(path))
    assert result.ok, result.errors[:5]
    assert JournalEntry.objects.count() == counts["Transactions"]
    assert verify() == []
