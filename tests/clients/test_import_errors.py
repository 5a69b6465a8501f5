"""Every kind of bad input: the exact ``Sheet!Cell: message`` and nothing written."""

import io
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from clients.importer import import_workbook
from tests.clients.test_import import counts, run
from tests.clients.workbooks import add_row, base_sheets, set_cell, workbook_bytes, write_workbook

pytestmark = pytest.mark.django_db

TYPES = ", ".join(
    [
        "advance",
        "collection",
        "fee",
        "interest",
        "reserve_drawdown",
        "reserve_topup",
        "partner_rr_hold",
        "partner_rr_release",
        "adjustment",
    ]
)


def cell(sheet, row, column, value):
    return lambda s: set_cell(s, sheet, row, column, value)


def txn(**values):
    base = {"date": "2026-02-05", "client_id": "C1", "currency": "EUR"}
    return lambda s: add_row(s, "Transactions", base | values)


def drop_column(sheet, column):
    def mutate(s):
        index = s[sheet][0].index(column)
        for row in s[sheet]:
            del row[index]

    return mutate


CASES = [
    (cell("Transactions", 3, "amount", "abc"), "Transactions!E3: amount 'abc' is not a number"),
    (
        cell("Transactions", 3, "amount", "1,5"),
        "Transactions!E3: amount '1,5' is not a number (use '.' as the decimal separator)",
    ),
    (cell("Clients", 2, "credit_limit", "lots"), "Clients!F2: credit_limit 'lots' is not a number"),
    (
        cell("Transactions", 2, "date", "yesterday"),
        "Transactions!B2: date 'yesterday' is not a date (use an Excel date or YYYY-MM-DD)",
    ),
    (
        cell("Transactions", 2, "date", 46000.0),
        "Transactions!B2: date '46000' is not a date (use an Excel date or YYYY-MM-DD)",
    ),
    (cell("Receivables", 3, "issue_date", "2026-02-30"), "Receivables!E3: issue_date '2026-02-30' is not a valid date"),
    (
        cell("Receivables", 2, "due_date", "2025-12-01"),
        "Receivables!F2: due_date 2025-12-01 is before issue_date 2026-01-01",
    ),
    (
        cell("Transactions", 4, "amount", 12.345),
        "Transactions!E4: amount '12.345' has more than 2 decimal places for EUR",
    ),
    (
        cell("Receivables", 3, "face_value", "1234.567"),
        "Receivables!H3: face_value '1234.567' has more than 2 decimal places for EUR",
    ),
    (cell("Transactions", 4, "amount", -12.34), "Transactions!E4: amount '-12.34' must be greater than zero for fee"),
    (cell("Receivables", 2, "face_value", -10000.0), "Receivables!H2: face_value '-10000' must be greater than zero"),
    (cell("Payouts", 2, "amount", 0), "Payouts!C2: amount '0' must be greater than zero"),
    (cell("Loans", 2, "principal", -1), "Loans!C2: principal '-1' must be greater than zero"),
    (cell("Clients", 2, "advance_rate", 1.2), "Clients!G2: advance_rate '1.2' must be between 0 and 1 (0.10 is 10 %)"),
    (
        cell("Clients", 3, "reserve_rate", -0.1),
        "Clients!H3: reserve_rate '-0.1' must be between 0 and 1 (0.10 is 10 %)",
    ),
    (
        cell("Debtors", 3, "concentration_limit", 25),
        "Debtors!D3: concentration_limit '25' must be between 0 and 1 (0.10 is 10 %)",
    ),
    (cell("Loans", 2, "annual_rate", 6), "Loans!E2: annual_rate '6' must be between 0 and 1 (0.10 is 10 %)"),
    (cell("Clients", 2, "credit_limit", 0), "Clients!F2: credit_limit '0' must be greater than zero"),
    (cell("Clients", 3, "credit_limit", -5), "Clients!F3: credit_limit '-5' must be greater than zero"),
    (cell("Clients", 2, "reserve_hold_days", 30.5), "Clients!I2: reserve_hold_days '30.5' is not a whole number"),
    (cell("Loans", 2, "term_months", 0), "Loans!G2: term_months '0' must be at least 1"),
    (cell("Transactions", 2, "type", "refund"), f"Transactions!D2: type 'refund' is not one of: {TYPES}"),
    (cell("Clients", 2, "status", "closed"), "Clients!E2: status 'closed' is not one of: active, on_hold, suspended"),
    (
        cell("Payouts", 2, "status", "approved"),
        "Payouts!E2: status 'approved' is not one of: ready, requested, blocked",
    ),
    (cell("Loans", 2, "method", "balloon"), "Loans!H2: method 'balloon' is not one of: annuity, linear, bullet"),
    (cell("Loans", 2, "day_count", "ACT/ACT"), "Loans!I2: day_count 'ACT/ACT' is not one of: 30/360, ACT/360, ACT/365"),
    (cell("Clients", 2, "currency", "JPY"), "Clients!D2: currency 'JPY' is not one of: EUR, GBP, USD, SEK, CHF, PLN"),
    (cell("Clients", 2, "name", None), "Clients!B2: name is required"),
    (cell("Clients", 2, "country", "Germany"), "Clients!C2: country 'Germany' is not a two-letter country code"),
    (txn(txn_id="T1", type="fee", amount=1), "Transactions!A9: duplicate txn_id 'T1' (first on row 2)"),
    (lambda s: add_row(s, "Clients", {"client_id": "C1"}), "Clients!A4: duplicate client_id 'C1' (first on row 2)"),
    (cell("Receivables", 2, "client_id", "C9"), "Receivables!B2: unknown client_id 'C9'"),
    (cell("Receivables", 2, "debtor_id", "D9"), "Receivables!C2: unknown debtor_id 'D9'"),
    (cell("Clients", 2, "partner_id", "P9"), "Clients!M2: unknown partner_id 'P9'"),
    (cell("Transactions", 2, "receivable_id", "R9"), "Transactions!G2: unknown receivable_id 'R9'"),
    (cell("Payouts", 2, "client_id", "C9"), "Payouts!B2: unknown client_id 'C9'"),
    (cell("Loans", 2, "client_id", "C9"), "Loans!B2: unknown client_id 'C9'"),
    (cell("Receivables", 4, "currency", "EUR"), "Receivables!G4: currency EUR is not client C2's currency GBP"),
    (cell("Transactions", 4, "currency", "GBP"), "Transactions!F4: currency GBP is not client C1's currency EUR"),
    (cell("Loans", 2, "currency", "USD"), "Loans!D2: currency USD is not client C1's currency EUR"),
    (cell("Payouts", 3, "currency", "EUR"), "Payouts!D3: currency EUR is not client C2's currency GBP"),
    (cell("Transactions", 2, "receivable_id", None), "Transactions!G2: receivable_id is required for advance"),
    (txn(txn_id="T8", type="collection", amount=5), "Transactions!G9: receivable_id is required for collection"),
    (
        txn(txn_id="T8", type="reserve_drawdown", amount=5),
        "Transactions!G9: receivable_id is required for reserve_drawdown",
    ),
    (cell("Transactions", 5, "receivable_id", "R1"), "Transactions!G5: receivable R1 belongs to client C1, not C2"),
    (cell("Transactions", 6, "amount", 0), "Transactions!E6: amount of an adjustment must not be zero"),
    (
        cell("Transactions", 6, "reference", None),
        "Transactions!H6: reference (the reason) is required for an adjustment",
    ),
    (
        lambda s: add_row(
            s, "Payouts", {"payout_id": "PO3", "client_id": "C2", "amount": 5, "currency": "GBP", "status": "ready"}
        ),
        "Payouts!E4: client C2 already has a ready payout (PO2)",
    ),
    (lambda s: s.pop("Debtors"), "Debtors!A1: required sheet 'Debtors' is missing"),
    (drop_column("Transactions", "amount"), "Transactions!A1: required column 'amount' is missing"),
    # rule violations found by the ledger while booking, mapped back to their cell
    (
        cell("Transactions", 8, "amount", 987.66),
        "Transactions!E8: transaction T7: advance 987.66 would bring advances on the receivable to 987.66, "
        "above round(advance_rate × face_value) = 987.65",
    ),
    (
        cell("Transactions", 3, "amount", 10000.01),
        "Transactions!E3: transaction T2: collection 10000.01 would bring collections on the receivable to 10000.01, "
        "above its face value 10000.00",
    ),
    (
        txn(txn_id="T8", type="reserve_drawdown", amount=50, receivable_id="R1"),
        "Transactions!E9: transaction T8: drawdown 50.00 exceeds the advance outstanding on the receivable (0.00)",
    ),
    (
        txn(txn_id="T8", type="reserve_drawdown", amount=300, receivable_id="R2"),
        "Transactions!E9: transaction T8: drawdown 300.00 exceeds the rolling reserve balance (200.00)",
    ),
    (
        txn(txn_id="T8", type="partner_rr_release", amount=100.01),
        "Transactions!E9: transaction T8: partner release 100.01 exceeds the partner rolling reserve balance (100.00)",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), CASES, ids=[c[1].split(":")[0] + " " + c[1][-30:] for c in CASES])
def test_bad_cell_is_reported_and_nothing_is_written(tmp_path, mutate, expected):
    sheets = base_sheets()
    mutate(sheets)
    before = counts()
    result = run(tmp_path, sheets)
    assert not result.ok
    assert expected in result.errors, result.errors
    assert counts() == before


def test_every_error_is_collected_at_once(tmp_path):
    sheets = base_sheets()
    set_cell(sheets, "Transactions", 3, "amount", "abc")
    set_cell(sheets, "Clients", 3, "credit_limit", 0)
    set_cell(sheets, "Receivables", 2, "debtor_id", "D9")
    result = run(tmp_path, sheets)
    assert result.errors == [
        "Clients!F3: credit_limit '0' must be greater than zero",
        "Transactions!E3: amount 'abc' is not a number",
        "Receivables!C2: unknown debtor_id 'D9'",
    ]


def test_several_ledger_violations_are_all_reported(tmp_path):
    sheets = base_sheets()
    set_cell(sheets, "Transactions", 8, "amount", 987.66)
    add_row(
        sheets,
        "Transactions",
        {
            "txn_id": "T8",
            "date": "2026-02-05",
            "client_id": "C1",
            "type": "partner_rr_release",
            "amount": 500,
            "currency": "EUR",
        },
    )
    before = counts()
    result = run(tmp_path, sheets)
    assert [e.split(":")[0] for e in result.errors] == ["Transactions!E8", "Transactions!E9"]
    assert counts() == before


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _xlsm() -> bytes:
    data = workbook_bytes(base_sheets())
    src = zipfile.ZipFile(io.BytesIO(data))
    entries = {n: src.read(n) for n in src.namelist()}
    entries["xl/vbaProject.bin"] = b"\x00macro"
    return _zip(entries)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "Workbook: the file is empty"),
        (b"client_id,name\nC1,Alpha\n", "Workbook: the file is not an .xlsx workbook (it is not a zip archive)"),
        (b"PK\x03\x04garbage" * 10, "Workbook: the file is not an .xlsx workbook (it is not a zip archive)"),
        (_zip({"hello.txt": b"hi"}), "Workbook: the file is not an .xlsx workbook (no xl/workbook.xml inside)"),
        (_xlsm(), "Workbook: macro-enabled workbooks (.xlsm) are refused; save it as .xlsx"),
    ],
    ids=["empty", "csv", "corrupt", "zip", "xlsm"],
)
def test_not_a_workbook(tmp_path, content, expected):
    path = tmp_path / "file.xlsx"
    path.write_bytes(content)
    before = counts()
    result = import_workbook(str(path))
    assert result.errors == [expected]
    assert counts() == before


def test_corrupt_xlsx_parts_do_not_raise(tmp_path):
    data = workbook_bytes(base_sheets())
    src = zipfile.ZipFile(io.BytesIO(data))
    entries = {n: src.read(n) for n in src.namelist()}
    entries["xl/worksheets/sheet1.xml"] = b"<not xml"
    path = tmp_path / "broken.xlsx"
    path.write_bytes(_zip(entries))
    result = import_workbook(str(path))
    assert not result.ok
    assert result.errors and result.errors[0].startswith("Workbook: ")


def test_reimport_with_changed_booked_transaction_is_an_error(tmp_path):
    sheets = base_sheets()
    assert run(tmp_path, sheets).ok
    set_cell(sheets, "Transactions", 4, "amount", 13.0)
    set_cell(sheets, "Receivables", 2, "face_value", 12000)
    before = counts()
    result = run(tmp_path, sheets, name="v2.xlsx")
    assert result.errors == [
        "Receivables!H2: receivable R1 has booked transactions: its face_value cannot change (10000.00 → 12000.00)",
        "Transactions!E4: transaction T3 is already booked and cannot be changed",
    ]
    assert counts() == before


def test_command_exit_code_and_output(tmp_path, capsys):
    good = write_workbook(base_sheets(), tmp_path / "good.xlsx")
    call_command("import_workbook", good, "--dry-run")
    out = capsys.readouterr().out
    assert "Transactions: 7 new, 0 changed, 0 unchanged" in out
    assert "Dry run OK (rolled back)" in out
    assert counts()["Transaction"] == 0

    call_command("import_workbook", good)
    out = capsys.readouterr().out
    assert "Imported: good.xlsx" in out and "7 journal entries" in out
    call_command("import_workbook", good)
    assert "Transactions: 0 new, 0 changed, 7 unchanged" in capsys.readouterr().out

    sheets = base_sheets()
    set_cell(sheets, "Transactions", 3, "amount", "abc")
    set_cell(sheets, "Clients", 3, "credit_limit", 0)
    bad = write_workbook(sheets, tmp_path / "bad.xlsx")
    before = counts()
    with pytest.raises(CommandError, match=r"2 problem\(s\) in bad.xlsx: nothing was imported"):
        call_command("import_workbook", bad)
    err = capsys.readouterr().err
    assert "Transactions!E3: amount 'abc' is not a number" in err
    assert "Clients!F3: credit_limit '0' must be greater than zero" in err
    assert counts() == before


def test_command_exit_status_in_a_subprocess(tmp_path):
    """Through manage.py: non-zero exit, the problem on stderr, no traceback."""
    import subprocess
    import sys

    path = tmp_path / "notes.xlsx"
    path.write_text("not a workbook")
    proc = subprocess.run(
        [sys.executable, "manage.py", "import_workbook", str(path), "--dry-run"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        check=False,
    )
    assert proc.returncode == 1
    assert "Workbook: the file is not an .xlsx workbook (it is not a zip archive)" in proc.stderr
    assert "Traceback" not in proc.stderr
