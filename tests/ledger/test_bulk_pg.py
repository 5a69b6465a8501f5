"""PostgreSQL fast path of ``ledger.bulk`` (``COPY``, ids drawn from the sequence, ``UPDATE … FROM
unnest``) writes exactly what the portable statements write.

A demo workbook is imported twice in one test, each time inside a block that is rolled back: once
with ``PG_FAST`` (the production path on PostgreSQL) and once without (multi-row ``INSERT …
RETURNING`` and ``executemany`` UPDATEs, the SQLite statements). Every row of every table the
import writes must be the same, primary and foreign keys compared by their rank in their table.
"""

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection, models, transaction

import ledger.bulk as bulk
from clients.demo import make_demo_workbook
from clients.importer import import_workbook
from clients.models import ImportBatch, Receivable, Transaction
from ledger.models import JournalEntry
from tests.conftest import requires_postgres
from tests.factories import ClientFactory, ReceivableFactory

pytestmark = [requires_postgres, pytest.mark.django_db]

SKIPPED = {ImportBatch}  # one row per import: its timing, hash and summary are not the writes compared


def _written_models():
    return [
        m
        for m in apps.get_models()
        if m._meta.app_label in {"clients", "ledger", "payouts", "portfolio"} and m not in SKIPPED and m._meta.managed
    ]


def snapshot() -> dict:
    """Every row of every table, keys replaced by their rank (ids differ between the two runs)."""
    rank = {}
    for model in _written_models() + [ImportBatch]:
        rank[model] = {pk: i for i, pk in enumerate(model.objects.order_by("pk").values_list("pk", flat=True))}
    out = {}
    for model in _written_models():
        fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.DateTimeField)]
        names = [f.attname for f in fields]
        rows = []
        for values in model.objects.order_by("pk").values_list(*[f.attname for f in fields]):
            row = []
            for f, v in zip(fields, values, strict=True):
                if f.primary_key:
                    v = rank[model][v]
                elif f.is_relation and v is not None and f.related_model in rank:
                    v = rank[f.related_model][v]
                row.append(v)
            if model is JournalEntry and row[names.index("source_type")] == "transaction":  # the key is a pk
                key = names.index("source_key")
                row[key] = rank[Transaction][int(row[key])]
            rows.append(tuple(row))
        out[model._meta.label] = rows
    return out


def imported(path, fast: bool, monkeypatch):
    monkeypatch.setattr(bulk, "PG_FAST", fast)
    with transaction.atomic():
        result = import_workbook(str(path))
        assert result.ok, result.errors[:5]
        out = snapshot()
        transaction.set_rollback(True)
    return result, out


def test_copy_path_writes_what_the_portable_statements_write(tmp_path, monkeypatch):
    path = tmp_path / "demo.xlsx"
    counts = make_demo_workbook(path, clients=6, seed=11)
    fast_result, fast = imported(path, True, monkeypatch)
    slow_result, slow = imported(path, False, monkeypatch)
    assert fast_result.entries_booked == slow_result.entries_booked == counts["Transactions"]
    assert len(fast["ledger.Posting"]) > 2 * counts["Transactions"]
    assert len(fast["ledger.ReserveTranche"]) > 0
    assert len(fast["payouts.Payout"]) > 0
    for label in slow:
        assert fast[label] == slow[label], label


def test_insert_rows_returns_ascending_ids_in_row_order_and_fills_defaults():
    client = ClientFactory()
    day = datetime.date(2026, 3, 1)
    rows = [
        (day, "fee", "EUR", client.pk, "adjustment", f"bulk-{i}", None, None, Decimal(i) + Decimal("0.25"), f"d{i}")
        for i in range(5)
    ]
    fields = ["date", "type", "currency", "client_id", "source_type", "source_key"]
    fields += ["transaction_id", "receivable_id", "amount", "description"]
    with transaction.atomic():
        pks = bulk.insert_rows(JournalEntry, fields, rows, returning=True)
        assert pks == sorted(pks) and len(set(pks)) == 5
        stored = {e.pk: e for e in JournalEntry.objects.filter(pk__in=pks)}
        for pk, row in zip(pks, rows, strict=True):
            e = stored[pk]
            assert (e.source_key, e.amount, e.description, e.date) == (row[5], row[8], row[9], day)
            assert e.created_at is not None and e.reverses_id is None
        # the sequence moved past the drawn ids: the ORM's next row gets a new one
        later = JournalEntry.objects.create(
            date=day, type="fee", currency="EUR", source_type="adjustment", source_key="orm", amount=Decimal("1.00")
        )
        assert later.pk > max(pks)
        transaction.set_rollback(True)  # unbalanced on purpose: never committed


def test_update_rows_sets_each_row_by_pk():
    recs = ReceivableFactory.create_batch(3, face_value=Decimal("1000.00"))
    for i, r in enumerate(recs):
        r.advanced, r.collected = Decimal(i) + Decimal("0.10"), Decimal(10 * i)
    bulk.update_rows(Receivable, ["advanced", "collected"], recs[:2])
    got = {r.pk: (r.advanced, r.collected) for r in Receivable.objects.all()}
    assert got[recs[0].pk] == (Decimal("0.10"), Decimal("0.00"))
    assert got[recs[1].pk] == (Decimal("1.10"), Decimal("10.00"))
    assert got[recs[2].pk] == (Decimal("0.00"), Decimal("0.00"))  # not in the call


def _reltuples(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


def test_a_bulk_write_that_doubles_a_table_refreshes_its_statistics(monkeypatch):
    monkeypatch.setattr(bulk, "ANALYZE_MIN_ROWS", 3)
    monkeypatch.setattr(bulk, "_added", {})
    # ANALYZE writes pg_class in place (kept after a test's rollback): start above what earlier tests left.
    n = max(4, int(_reltuples("clients_transaction")) + 1)
    batch = ImportBatch.objects.create(file_name="t.xlsx", sha256="0" * 64)
    client = ClientFactory()
    fields = ["txn_id", "date", "client_id", "type", "amount", "currency", "reference", "source_sheet"]
    fields += ["import_batch_id"]
    rows = [
        (f"T{i}", datetime.date(2026, 1, 1), client.pk, "fee", Decimal("1.00"), "EUR", "", "Transactions", batch.pk)
        for i in range(n)
    ]
    bulk.insert_rows(Transaction, fields, rows, returning=True)
    assert Transaction.objects.count() == n
    assert _reltuples("clients_transaction") == n  # analyzed inside the transaction, its own rows sampled
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'clients_transaction'")
        assert cursor.fetchone()[0] > 0
    bulk.insert_rows(Transaction, fields, [(f"U{i}", *r[1:]) for i, r in enumerate(rows[:3])], returning=True)
    assert _reltuples("clients_transaction") == n  # 3 more rows do not double n: statistics left as they were
