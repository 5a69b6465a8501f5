"""Build test workbooks with openpyxl: ``base_sheets()`` is a small, hand-checked dataset;
tests copy it, change one cell and write it with ``write_workbook``."""

from __future__ import annotations

import copy
import datetime
import io

from openpyxl import Workbook

D = datetime.date

HEADERS = {
    "Partners": ["partner_id", "name"],
    "Clients": [
        "client_id",
        "name",
        "country",
        "currency",
        "status",
        "credit_limit",
        "advance_rate",
        "reserve_rate",
        "reserve_hold_days",
        "fee_rate",
        "iban",
        "bic",
        "partner_id",
        "partner_reserve_rate",
    ],
    "Debtors": ["debtor_id", "name", "country", "concentration_limit"],
    "Receivables": [
        "receivable_id",
        "client_id",
        "debtor_id",
        "invoice_number",
        "issue_date",
        "due_date",
        "currency",
        "face_value",
    ],
    "Transactions": ["txn_id", "date", "client_id", "type", "amount", "currency", "receivable_id", "reference"],
    "Loans": [
        "loan_id",
        "client_id",
        "principal",
        "currency",
        "annual_rate",
        "start_date",
        "term_months",
        "method",
        "day_count",
    ],
    "Payouts": ["payout_id", "client_id", "amount", "currency", "status", "reference"],
}


def base_sheets() -> dict[str, list[list]]:
    """Sheet name → rows (header first). Values as a user would type them: floats, text dates."""
    return copy.deepcopy(
        {
            "Partners": [HEADERS["Partners"], ["P1", "Acme Payments"]],
            "Clients": [
                HEADERS["Clients"],
                [
                    "C1",
                    "Alpha GmbH",
                    "DE",
                    "EUR",
                    "active",
                    100000.0,
                    0.8,
                    0.1,
                    30.0,
                    0.01,
                    "DE89 3704 0044 0532 0130 00",
                    "COBADEFFXXX",
                    "P1",
                    0.05,
                ],
                ["C2", "Beta Ltd", "GB", "GBP", "on_hold", 50000, 0.75, 0.2, 14, None, None, None, None, None],
            ],
            "Debtors": [
                HEADERS["Debtors"],
                ["D1", "Debtor One", "DE", None],
                ["D2", "Debtor Two", "FR", 0.25],
            ],
            "Receivables": [
                HEADERS["Receivables"],
                ["R1", "C1", "D1", "INV-1", D(2026, 1, 1), D(2026, 2, 1), "EUR", 10000.0],
                ["R2", "C1", "D2", "INV-2", "2026-01-10", "2026-03-10", "EUR", 1234.56],
                ["R3", "C2", "D1", "INV-3", D(2026, 1, 3), D(2026, 2, 3), "GBP", "5000.00"],
            ],
            "Transactions": [
                HEADERS["Transactions"],
                ["T1", D(2026, 1, 2), "C1", "advance", 8000.0, "EUR", "R1", None],
                ["T2", D(2026, 2, 1), "C1", "collection", 10000.0, "EUR", "R1", "paid in full"],
                ["T3", D(2026, 2, 2), "C1", "fee", 12.34, "EUR", None, None],
                ["T4", "2026-01-05", "C2", "advance", 3750, "GBP", "R3", None],
                ["T5", D(2026, 2, 3), "C1", "adjustment", -10.0, "EUR", None, "correction"],
                ["T6", D(2026, 2, 4), "C1", "partner_rr_hold", 100.0, "EUR", None, None],
                ["T7", D(2026, 1, 11), "C1", "advance", 987.65, "EUR", "R2", None],
            ],
            "Loans": [
                HEADERS["Loans"],
                ["L1", "C1", 10000.0, "EUR", 0.06, D(2026, 1, 31), 12.0, "annuity", "30/360"],
            ],
            "Payouts": [
                HEADERS["Payouts"],
                ["PO1", "C1", 500.0, "EUR", "requested", "January"],
                ["PO2", "C2", 100.0, "GBP", "ready", None],
            ],
        }
    )


def workbook_bytes(sheets: dict[str, list[list]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write_workbook(sheets: dict[str, list[list]], path) -> str:
    with open(path, "wb") as handle:
        handle.write(workbook_bytes(sheets))
    return str(path)


def set_cell(sheets, sheet: str, row: int, column: str, value):
    """Set the cell of ``column`` (by header name) on Excel row ``row`` (header is row 1)."""
    header = sheets[sheet][0]
    sheets[sheet][row - 1][header.index(column)] = value
    return sheets


def add_row(sheets, sheet: str, values: dict):
    header = sheets[sheet][0]
    sheets[sheet].append([values.get(h) for h in header])
    return sheets
