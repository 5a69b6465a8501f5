"""PostgreSQL guards: the deferred trigger rejects an unbalanced entry at commit, and
postings, entries and audit events refuse UPDATE and DELETE."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger.models import JournalEntry, Posting
from ledger.services import book_transactions, client_accounts
from tests.conftest import requires_postgres
from tests.factories import ClientFactory, TransactionFactory

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _booked_fee():
    client = ClientFactory()
    (entry,) = book_transactions([TransactionFactory(client=client, type="fee", amount=Decimal("5.00"))])
    return client, entry


def test_unbalanced_entry_is_rejected_at_commit():
    client, _ = _booked_fee()
    accts = client_accounts(client)
    before = Posting.objects.count()
    with pytest.raises(IntegrityError, match="unbalanced journal entry"), transaction.atomic():
        entry = JournalEntry.objects.create(
            date=datetime.date(2026, 1, 1),
            type="adjustment",
            currency="EUR",
            source_type="adjustment",
            source_key="raw-sql",
            amount=Decimal("1.00"),
        )
        # bypass the service: one leg only, straight into the table
        Posting.objects.create(
            entry=entry,
            account=accts["settlement"],
            side="C",
            amount=Decimal("1.00"),
            date=entry.date,
            balance_after=Decimal("0"),
        )
    assert Posting.objects.count() == before
    assert not JournalEntry.objects.filter(source_key="raw-sql").exists()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_posting SET amount = amount + 1",
        "DELETE FROM ledger_posting",
        "UPDATE ledger_journalentry SET description = 'x'",
        "DELETE FROM ledger_journalentry",
    ],
)
def test_booked_rows_refuse_update_and_delete(sql):
    _booked_fee()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert Posting.objects.count() == 2


def test_audit_events_refuse_update():
    from atlas.models import audit

    client = ClientFactory()
    audit(actor=None, action="test", obj=client)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE atlas_auditevent SET reason = 'rewritten'")
