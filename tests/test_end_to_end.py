"""End to end, as a user would: a workbook written by hand in the DOMAIN.md format (not by the
generator) is imported with the command, the ledger verifies, and ``balances --json`` equals the
figures worked out by hand below from DOMAIN.md's rules — the half-up reserve split, a drawdown
that leaves a shortfall, a held tranche, and its release after a top-up. Re-import and repeated
release change nothing.

Client C1 (EUR, advance 0.80, reserve 0.15, hold 30 days, limit 10,000.00, partner P1):

| txn | date | event | factoring | settlement | reserve | partner RR |
|---|---|---|---|---|---|---|
| T1 | 01-05 | advance 800.00 on R1 | 800.00 | 800.00 | | |
| T2 | 01-06 | advance 1,600.00 on R2 | 2,400.00 | 2,400.00 | | |
| T3 | 01-10 | fee 12.50 | | 2,387.50 | | |
| T4 | 02-01 | collection 1,000.00 on R1: repay 800, reserve 30.00, settle 170.00 | 1,600.00 | 2,557.50 | 30.00 | |
| T5 | 02-10 | collection 333.33 on R3: reserve round(49.9995) = 50.00, settle 283.33 | | 2,840.83 | 80.00 | |
| T6 | 02-20 | reserve_drawdown 60.00 on R2 | 1,540.00 | | 20.00 | |
| T7 | 02-25 | interest 7.25 | | 2,833.58 | | |
| T8 | 02-26 | adjustment −3.58 | | 2,830.00 | | |
| T9 | 02-27 | partner_rr_hold 100.00 | | | | 100.00 |
| T10 | 02-28 | partner_rr_release 40.00 | | 2,870.00 | | 60.00 |

T4 holds a 30.00 tranche due 03-03, T5 a 50.00 tranche due 03-12.
At 2026-03-05: required reserve = the 50.00 tranche (due after D); reserve 20.00 → shortfall 30.00;
the 30.00 tranche is due but releasing it would leave −10.00 < 50.00: held. A requested payout
of 500.00 is pending → available = 2,870.00 − 500.00 − 30.00 = 2,340.00.
"""

import datetime
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from clients.models import Client, Receivable, Transaction
from ledger.models import JournalEntry, Posting

pytestmark = pytest.mark.django_db

TXNS = [
    # txn_id, date, type, amount, receivable, reference
    ("T1", datetime.date(2026, 1, 5), "advance", 800, "R1", ""),
    ("T2", "2026-01-06", "advance", "1600.00", "R2", ""),
    ("T3", datetime.date(2026, 1, 10), "fee", 12.5, None, "monthly fee"),
    ("T4", datetime.date(2026, 2, 1), "collection", 1000.0, "R1", ""),
    ("T5", datetime.date(2026, 2, 10), "collection", 333.33, "R3", ""),
    ("T6", datetime.date(2026, 2, 20), "reserve_drawdown", "60", "R2", "recourse"),
    ("T7", datetime.date(2026, 2, 25), "interest", 7.25, None, ""),
    ("T8", datetime.date(2026, 2, 26), "adjustment", -3.58, None, "rounding"),
    ("T9", datetime.date(2026, 2, 27), "partner_rr_hold", 100, None, ""),
    ("T10", datetime.date(2026, 2, 28), "partner_rr_release", 40, None, ""),
]


def workbook(path, extra_txns=()):
    wb = Workbook()
    wb.remove(wb.active)
    # sheets in another order than DOMAIN.md, headers in mixed case with spaces, an unknown column
    ws = wb.create_sheet(" transactions ")
    ws.append(["TXN_ID", "Date", "client_id", "Type", "Amount", "currency", "receivable_id", "Reference", "Notes"])
    for txn_id, date, type_, amount, rec, ref in [*TXNS, *extra_txns]:
        ws.append([txn_id, date, "C1", type_, amount, "EUR", rec, ref, "ignored"])
    ws = wb.create_sheet("Receivables")
    ws.append(
        [
            "receivable_id",
            "client_id",
            "debtor_id",
            "invoice_number",
            "issue_date",
            "due_date",
            "currency",
            "face_value",
        ]
    )
    ws.append(["R1", "C1", "D1", "INV-1", datetime.date(2026, 1, 2), datetime.date(2026, 2, 1), "EUR", 1000])
    ws.append(["R2", "C1", "D2", "INV-2", "2026-01-03", "2026-03-01", "EUR", "2000.00"])
    ws.append([None] * 8)  # a blank row is skipped
    ws.append(["R3", "C1", "D1", "INV-3", datetime.date(2026, 1, 4), datetime.date(2026, 2, 15), "EUR", 500])
    ws = wb.create_sheet("CLIENTS")
    ws.append(
        [
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
        ]
    )
    ws.append(
        [
            "C1",
            "Müller Handel GmbH",
            "DE",
            "EUR",
            "active",
            10000,
            0.8,
            0.15,
            30,
            0.01,
            "DE89370400440532013000",
            "COBADEFFXXX",
            "P1",
            0.05,
        ]
    )
    ws = wb.create_sheet("Debtors")
    ws.append(["debtor_id", "name", "country", "concentration_limit"])
    ws.append(["D1", "Alpha AG", "DE", 0.5])
    ws.append(["D2", "Beta SA", "FR", None])
    ws = wb.create_sheet("Partners")
    ws.append(["partner_id", "name"])
    ws.append(["P1", "PayCo"])
    ws = wb.create_sheet("Payouts")
    ws.append(["payout_id", "client_id", "amount", "currency", "status", "reference"])
    ws.append(["PO1", "C1", 500, "EUR", "requested", "March payout"])
    wb.save(path)
    return path


def balances(as_of: str) -> dict:
    out = io.StringIO()
    call_command("balances", "--json", "--as-of", as_of, stdout=out)
    (row,) = json.loads(out.getvalue())
    return row


def verify_ok():
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("OK: "), out.getvalue()


def test_hand_written_workbook_to_balances(tmp_path):
    path = workbook(tmp_path / "book.xlsx")
    out = io.StringIO()
    call_command("import_workbook", str(path), stdout=out)
    assert Transaction.objects.count() == 10 and Receivable.objects.count() == 3
    assert Client.objects.get().name == "Müller Handel GmbH"
    verify_ok()

    expected = {
        "client_id": "C1",
        "currency": "EUR",
        "factoring": "1540.00",
        "settlement": "2870.00",
        "rolling_reserve": "20.00",
        "partner_rr": "60.00",
        "exposure": "1540.00",
        "exposure_ratio": "0.1540",
        "required_reserve": "50.00",
        "shortfall": "30.00",
        "available": "2340.00",
    }
    assert balances("2026-03-05") == expected

    # the due tranche is held by the shortfall
    out = io.StringIO()
    call_command("release_reserves", "--as-of", "2026-03-05", stdout=out)
    assert "HELD C1" in out.getvalue() and "amount=30.00 EUR due=2026-03-03" in out.getvalue()
    assert out.getvalue().strip().endswith("released 0 tranche(s), 0.00; held 1")

    # re-importing the same file changes nothing
    counts = (JournalEntry.objects.count(), Posting.objects.count(), Transaction.objects.count())
    call_command("import_workbook", str(path), stdout=io.StringIO())
    assert (JournalEntry.objects.count(), Posting.objects.count(), Transaction.objects.count()) == counts
    assert balances("2026-03-05") == expected

    # the client tops up its reserve (a new row in the next workbook): 20 + 90 = 110, settlement 2780
    topup = ("T11", datetime.date(2026, 3, 4), "reserve_topup", 90, None, "")
    call_command("import_workbook", str(workbook(tmp_path / "book2.xlsx", [topup])), stdout=io.StringIO())
    out = io.StringIO()
    call_command("release_reserves", "--as-of", "2026-03-05", stdout=out)
    assert "RELEASED C1" in out.getvalue() and "released 1 tranche(s), 30.00 EUR; held 0" in out.getvalue()
    # 110 − 30 = 80 reserve; 2780 + 30 = 2810 settlement; no shortfall; available 2810 − 500
    row = balances("2026-03-05")
    assert (row["rolling_reserve"], row["settlement"], row["shortfall"], row["available"]) == (
        "80.00",
        "2810.00",
        "0.00",
        "2310.00",
    )
    # running it again books nothing
    n = JournalEntry.objects.count()
    call_command("release_reserves", "--as-of", "2026-03-05", stdout=io.StringIO())
    assert JournalEntry.objects.count() == n
    # at 03-12 the 50.00 tranche is due and nothing more is required: released
    call_command("release_reserves", "--as-of", "2026-03-12", stdout=io.StringIO())
    row = balances("2026-03-12")
    assert (row["rolling_reserve"], row["settlement"], row["required_reserve"]) == ("30.00", "2860.00", "0.00")
    verify_ok()
    # the reserve split was rounded half-up: the T5 collection posted 50.00 to the reserve
    t5 = JournalEntry.objects.get(transaction__txn_id="T5", type="collection")
    assert sorted((p.account.kind, p.side, p.amount) for p in t5.postings.select_related("account")) == [
        ("bank", "D", Decimal("333.33")),
        ("rolling_reserve", "C", Decimal("50.00")),
        ("settlement", "C", Decimal("283.33")),
    ]
