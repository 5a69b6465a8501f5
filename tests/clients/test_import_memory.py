"""What an import still holds when the alert evaluation runs (after its transaction): not the booker's
per-receivable state (at L it and the evaluation's own objects together set the import's peak memory)."""

import gc

import pytest

import clients.importer as importer
from clients.importer import import_workbook
from ledger.services import TransactionBooker
from tests.clients.workbooks import base_sheets, write_workbook

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("in_date_order", [True, False])  # booked chunk by chunk / after a second run
def test_the_booker_is_released_before_the_alert_evaluation(tmp_path, monkeypatch, in_date_order):
    sheets = base_sheets()
    header, *rows = sheets["Transactions"]
    if in_date_order:
        rows.sort(key=lambda r: str(r[1]))
    assert (rows == sorted(rows, key=lambda r: str(r[1]))) is in_date_order
    sheets["Transactions"] = [header, *rows]
    seen = []
    real = importer._evaluate_alerts

    def evaluate(client_pks):
        gc.collect()
        seen.append(sum(1 for o in gc.get_objects() if isinstance(o, TransactionBooker)))
        return real(client_pks)

    monkeypatch.setattr(importer, "_evaluate_alerts", evaluate)
    result = import_workbook(write_workbook(sheets, tmp_path / "book.xlsx"))
    assert result.ok, result.errors
    assert result.entries_booked == 7
    assert seen == [0]
