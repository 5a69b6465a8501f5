"""The import's per-chunk lookups of the rows it already wrote (``clients.importer._written_rows`` and
``_written_receivables``): a few SQL texts however the chunks differ (SQLite keeps each distinct text
prepared), and only this import's rows count as written."""

import pytest
from django.db import connection

import clients.importer as importer
from atlas.perf import padded
from clients.importer import import_workbook
from tests.clients.workbooks import base_sheets, write_workbook

pytestmark = pytest.mark.django_db


def test_padded_drops_repeats_and_pads_to_the_step():
    assert padded(["a", "b", "a"], lambda i: f"#{i}", step=4) == ["a", "b", "#0", "#1"]
    assert padded([1, 2, 3, 4], lambda i: -1 - i, step=4) == [1, 2, 3, 4]
    assert padded([], lambda i: -1 - i, step=4) == []
    assert len(padded(range(501), lambda i: -1 - i)) == 1000


class Statements(list):
    """The SQL texts run (placeholders, not values), through ``connection.execute_wrapper``."""

    def __call__(self, execute, sql, params, many, context):
        self.append(sql)
        return execute(sql, params, many, context)


def test_chunks_naming_different_numbers_of_receivables_share_one_lookup_text(tmp_path, monkeypatch):
    sheets = base_sheets()
    header, *rows = sheets["Transactions"]
    sheets["Transactions"] = [header, *sorted(rows, key=lambda r: str(r[1]))]
    named = [len({r[6] for r in sheets["Transactions"][1:][i : i + 3] if r[6]}) for i in range(0, 7, 3)]
    assert len(set(named)) > 1  # the chunks name different numbers of receivables
    monkeypatch.setattr(importer, "ROWS_CHUNK", 3)
    statements = Statements()
    with connection.execute_wrapper(statements):
        result = import_workbook(write_workbook(sheets, tmp_path / "book.xlsx"))
    assert result.ok, result.errors
    lookups = [s for s in statements if '"clients_receivable"."receivable_id" IN (' in s and "clients_client" in s]
    assert len(lookups) == sum(1 for n in named if n)  # one per chunk of transactions naming a receivable
    assert len(set(lookups)) == 1


def test_rows_of_an_earlier_import_are_not_taken_for_this_imports_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "ROWS_CHUNK", 2)
    path = write_workbook(base_sheets(), tmp_path / "book.xlsx")
    assert import_workbook(path).ok
    again = import_workbook(path)  # every id is in the database already, written by the first import
    assert again.ok, again.errors
    assert again.counts["Transactions"] == {"new": 0, "changed": 0, "unchanged": 7}
    assert again.counts["Receivables"] == {"new": 0, "changed": 0, "unchanged": 3}
