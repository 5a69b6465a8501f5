"""The import reads, checks and writes the large sheets in chunks (``clients.importer.ROWS_CHUNK``):
errors, their order and the written rows must not depend on the chunk size."""

import pytest

import clients.importer as importer
from clients.importer import import_workbook
from clients.models import Receivable, Transaction
from tests.clients.workbooks import base_sheets, set_cell, write_workbook

pytestmark = pytest.mark.django_db


def run(tmp_path, sheets, chunk, monkeypatch):
    monkeypatch.setattr(importer, "ROWS_CHUNK", chunk)
    return import_workbook(write_workbook(sheets, tmp_path / f"book-{chunk}.xlsx"))


def bad_sheets():
    sheets = base_sheets()
    sheets["Transactions"].append(["T1", "2026-03-01", "C1", "fee", 1.0, "EUR", None, None])  # duplicate of row 2
    sheets["Transactions"].append(["T8", "2026-03-02", "C9", "fee", 1.0, "EUR", None, None])  # unknown client
    sheets["Receivables"].append(["R1", "C1", "D1", "INV-9", "2026-01-01", "2026-02-01", "EUR", 5.0])  # duplicate
    set_cell(sheets, "Transactions", 3, "amount", "abc")  # a cell error
    set_cell(sheets, "Receivables", 3, "debtor_id", "D9")  # unknown debtor
    return sheets


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_errors_and_their_order_do_not_depend_on_the_chunk_size(tmp_path, monkeypatch, chunk):
    whole = run(tmp_path, bad_sheets(), 10**9, monkeypatch)
    assert not whole.ok
    assert any("duplicate txn_id 'T1' (first on row 2)" in e for e in whole.errors)
    small = run(tmp_path, bad_sheets(), chunk, monkeypatch)
    assert small.errors == whole.errors
    assert small.counts == whole.counts
    assert Transaction.objects.count() == Receivable.objects.count() == 0


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_written_rows_do_not_depend_on_the_chunk_size(tmp_path, monkeypatch, chunk):
    result = run(tmp_path, base_sheets(), chunk, monkeypatch)
    assert result.ok, result.errors
    assert result.entries_booked == 7
    rows = sorted(Transaction.objects.values_list("txn_id", "source_row", "amount", "date"))
    assert rows == [
        ("T1", 2, *rows[0][2:]),
        ("T2", 3, *rows[1][2:]),
        ("T3", 4, *rows[2][2:]),
        ("T4", 5, *rows[3][2:]),
        ("T5", 6, *rows[4][2:]),
        ("T6", 7, *rows[5][2:]),
        ("T7", 8, *rows[6][2:]),
    ]


def test_sorted_transactions_stream_and_duplicates_are_found_in_written_chunks(tmp_path, monkeypatch):
    sheets = base_sheets()
    header, *rows = sheets["Transactions"]
    sheets["Transactions"] = [header, *sorted(rows, key=lambda r: str(r[1]))]  # date order: booked chunk by chunk
    monkeypatch.setattr(importer, "ROWS_CHUNK", 2)
    dry = import_workbook(write_workbook(sheets, tmp_path / "sorted.xlsx"), dry_run=True)
    assert dry.ok and dry.entries_booked == 7, dry.errors
    sheets["Transactions"].append(list(sheets["Transactions"][1]))  # the first row again, after written chunks
    sheets["Transactions"][-1][1] = "2026-12-31"
    result = run(tmp_path, sheets, 2, monkeypatch)
    assert not result.ok
    first = sheets["Transactions"][1][0]
    assert result.errors == [f"Transactions!A9: duplicate txn_id '{first}' (first on row 2)"]
