"""The workbook import service: good path, values to the cent, provenance, idempotence, dry run."""

import datetime
from decimal import Decimal

import pytest

from clients.importer import import_workbook
from clients.models import Client, Debtor, ImportBatch, Partner, Receivable, Transaction
from ledger.models import Account, JournalEntry, Posting, ReserveTranche
from payouts.models import Payout
from portfolio.models import Loan, LoanInstalment
from portfolio.schedule import loan_schedule
from portfolio.services import stale_loans
from tests.clients.workbooks import base_sheets, set_cell, workbook_bytes, write_workbook

pytestmark = pytest.mark.django_db

MODELS = (Partner, Client, Debtor, Receivable, Transaction, Loan, Payout, JournalEntry, Posting, ReserveTranche)


def counts():
    return {m.__name__: m.objects.count() for m in (*MODELS, ImportBatch)}


def balances(client_id):
    return {a.kind: a.balance for a in Account.objects.filter(client__client_id=client_id)}


def run(tmp_path, sheets, name="book.xlsx", **kwargs):
    return import_workbook(write_workbook(sheets, tmp_path / name), **kwargs)


def test_good_path_counts_values_and_ledger(tmp_path):
    result = run(tmp_path, base_sheets())
    assert result.ok, result.errors
    assert result.errors == []
    assert result.counts == {
        "Partners": {"new": 1, "changed": 0, "unchanged": 0},
        "Clients": {"new": 2, "changed": 0, "unchanged": 0},
        "Debtors": {"new": 2, "changed": 0, "unchanged": 0},
        "Receivables": {"new": 3, "changed": 0, "unchanged": 0},
        "Transactions": {"new": 7, "changed": 0, "unchanged": 0},
        "Loans": {"new": 1, "changed": 0, "unchanged": 0},
        "Payouts": {"new": 2, "changed": 0, "unchanged": 0},
    }
    c1 = Client.objects.get(client_id="C1")
    # float cells keep their decimal value exactly; whole-number floats become integers
    assert c1.credit_limit == Decimal("100000.00")
    assert c1.advance_rate == Decimal("0.8") and c1.reserve_rate == Decimal("0.1")
    assert c1.reserve_hold_days == 30 and isinstance(c1.reserve_hold_days, int)
    assert c1.iban == "DE89370400440532013000"
    assert c1.partner.partner_id == "P1" and c1.partner_reserve_rate == Decimal("0.05")
    c2 = Client.objects.get(client_id="C2")
    assert c2.status == "on_hold" and c2.fee_rate is None and c2.iban == "" and c2.partner is None
    r2 = Receivable.objects.get(receivable_id="R2")
    assert str(r2.face_value) == "1234.56"
    # text dates are accepted
    assert r2.issue_date == datetime.date(2026, 1, 10) and r2.due_date == datetime.date(2026, 3, 10)
    assert Receivable.objects.get(receivable_id="R3").face_value == Decimal("5000.00")
    assert Transaction.objects.get(txn_id="T3").amount == Decimal("12.34")
    assert Transaction.objects.get(txn_id="T5").amount == Decimal("-10.00")
    loan = Loan.objects.get(loan_id="L1")
    assert loan.term_months == 12 and loan.annual_rate == Decimal("0.06") and loan.method == "annuity"

    # Ledger, worked by hand from DOMAIN.md section 4:
    # T1 advance 8000; T7 advance 987.65 (= round(0.8 × 1234.56) = 987.648 → 987.65, exactly the cap);
    # T2 collection 10000 on R1: repay 8000, rest 2000, reserve round(2000 × 0.10) = 200, settle 1800;
    # T3 fee 12.34; T5 adjustment −10.00; T6 partner hold 100.
    assert balances("C1") == {
        "factoring": Decimal("987.65"),
        "settlement": Decimal("8000.00") + Decimal("987.65") + Decimal("1800.00") - Decimal("12.34") - Decimal("10.00"),
        "rolling_reserve": Decimal("200.00"),
        "partner_rr": Decimal("100.00"),
    }
    assert balances("C2")["factoring"] == Decimal("3750.00")
    assert JournalEntry.objects.count() == 7
    tranche = ReserveTranche.objects.get()
    assert tranche.amount == Decimal("200.00") and tranche.due_date == datetime.date(2026, 3, 3)


def test_provenance_and_requested_payouts(tmp_path, make_user):
    user = make_user("ops", username="importer")
    result = run(tmp_path, base_sheets(), name="january.xlsx", user=user)
    assert result.ok, result.errors
    batch = result.batch
    assert batch.pk and batch.file_name == "january.xlsx" and batch.user == user and batch.status == "done"
    import hashlib

    assert batch.sha256 == hashlib.sha256((tmp_path / "january.xlsx").read_bytes()).hexdigest()
    t2 = Transaction.objects.get(txn_id="T2")
    assert (t2.import_batch, t2.source_sheet, t2.source_row) == (batch, "Transactions", 3)
    r3 = Receivable.objects.get(receivable_id="R3")
    assert (r3.source_sheet, r3.source_row) == ("Receivables", 4)
    assert Client.objects.get(client_id="C2").source_row == 3
    po1 = Payout.objects.get(payout_id="PO1")
    assert po1.status == "requested" and po1.requested_by == user and po1.requested_at is not None
    assert (po1.source_sheet, po1.source_row) == ("Payouts", 2)
    po2 = Payout.objects.get(payout_id="PO2")
    assert po2.status == "ready" and po2.requested_by is None
    assert batch.summary["counts"]["Transactions"]["new"] == 7


def test_reimport_changes_nothing(tmp_path):
    sheets = base_sheets()
    assert run(tmp_path, sheets).ok
    before = counts()
    snapshot = {a.pk: a.balance for a in Account.objects.all()}
    again = run(tmp_path, sheets, name="again.xlsx")
    assert again.ok, again.errors
    assert all(c == {"new": 0, "changed": 0, "unchanged": c["unchanged"]} for c in again.counts.values())
    assert again.counts["Transactions"]["unchanged"] == 7
    after = counts()
    assert after.pop("ImportBatch") == before.pop("ImportBatch") + 1  # the run itself is recorded
    assert after == before
    assert {a.pk: a.balance for a in Account.objects.all()} == snapshot


def test_changed_reference_rows_update(tmp_path):
    sheets = base_sheets()
    first = run(tmp_path, sheets)
    set_cell(sheets, "Clients", 2, "credit_limit", 120000)
    set_cell(sheets, "Debtors", 3, "name", "Debtor Two SA")
    set_cell(sheets, "Payouts", 3, "amount", 150)
    set_cell(sheets, "Receivables", 3, "due_date", "2026-03-20")  # R2, only its due date
    second = run(tmp_path, sheets, name="v2.xlsx")
    assert second.ok, second.errors
    assert second.counts["Clients"] == {"new": 0, "changed": 1, "unchanged": 1}
    assert second.counts["Debtors"] == {"new": 0, "changed": 1, "unchanged": 1}
    assert second.counts["Receivables"] == {"new": 0, "changed": 1, "unchanged": 2}
    assert second.counts["Payouts"] == {"new": 0, "changed": 1, "unchanged": 1}
    c1 = Client.objects.get(client_id="C1")
    assert c1.credit_limit == Decimal("120000.00")
    assert (c1.import_batch, c1.source_row) == (second.batch, 2)
    assert Client.objects.get(client_id="C2").import_batch == first.batch
    assert Debtor.objects.get(debtor_id="D2").name == "Debtor Two SA"
    assert Payout.objects.get(payout_id="PO2").amount == Decimal("150.00")
    assert Receivable.objects.get(receivable_id="R2").due_date == datetime.date(2026, 3, 20)


def test_the_import_stores_its_loans_schedules(tmp_path):
    sheets = base_sheets()
    assert run(tmp_path, sheets, dry_run=True).ok
    assert not LoanInstalment.objects.exists()
    assert run(tmp_path, sheets).ok
    loans = list(Loan.objects.all())
    assert loans and not stale_loans().exists()
    for loan in loans:  # the stored rows are the loan's schedule, period by period
        stored = list(loan.instalments.order_by("seq").values_list("date", "principal", "interest"))
        assert stored == [(p.date, p.principal, p.interest) for p in loan_schedule(loan)]
    first = Loan.objects.get(source_row=2)
    term = first.term_months
    set_cell(sheets, "Loans", 2, "term_months", term + 6)  # a changed loan: its schedule is stored again
    assert run(tmp_path, sheets, name="v2.xlsx").ok
    first.refresh_from_db()
    assert not stale_loans().exists()
    assert first.term_months == term + 6 == first.instalments.count()


def test_dry_run_writes_nothing(tmp_path):
    before = counts()
    result = run(tmp_path, base_sheets(), dry_run=True)
    assert result.ok, result.errors
    assert result.dry_run and result.batch is None
    assert result.counts["Transactions"] == {"new": 7, "changed": 0, "unchanged": 0}
    assert result.entries_booked == 7
    assert counts() == before


def test_accepts_file_objects_and_any_sheet_order_and_header_case(tmp_path):
    sheets = base_sheets()
    names = list(reversed(sheets))
    reordered = {name.upper() if i % 2 else f"  {name.lower()} ": sheets[name] for i, name in enumerate(names)}
    for rows in reordered.values():
        rows[0] = [f" {h.upper()} " for h in rows[0]]
    reordered["  transactions "][0].append("Comment")
    reordered["  transactions "][1].append("ignored text")
    reordered["Notes"] = [["anything"], ["at all"]]
    import io

    handle = io.BytesIO(workbook_bytes(reordered))
    handle.name = "upload.xlsx"
    result = import_workbook(handle)
    assert result.ok, result.errors
    assert "Transactions!I1: unknown column 'Comment' ignored" in result.warnings
    assert "Notes: unknown sheet ignored" in result.warnings
    assert Transaction.objects.count() == 7


def test_blank_rows_are_skipped_and_rows_keep_their_numbers(tmp_path):
    sheets = base_sheets()
    sheets["Transactions"].insert(2, [None] * 8)
    sheets["Transactions"].insert(3, ["", " ", None, None, None, None, None, None])
    result = run(tmp_path, sheets)
    assert result.ok, result.errors
    assert Transaction.objects.get(txn_id="T2").source_row == 5
