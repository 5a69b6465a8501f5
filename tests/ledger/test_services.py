"""Worked examples of every posting rule in DOMAIN.md section 4, with hand-computed numbers."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from ledger.models import Account, JournalEntry, Posting, ReserveTranche
from ledger.selectors import client_figures_one
from ledger.services import (
    LedgerError,
    book_adjustment,
    book_payout,
    book_payout_return,
    book_transactions,
    book_write_off,
    post_entry,
    release_reserves,
    reverse_entry,
)
from ledger.verify import verify
from tests.factories import ClientFactory, PayoutFactory, ReceivableFactory, TransactionFactory

pytestmark = pytest.mark.django_db
D = Decimal
JAN = datetime.date(2026, 1, 1)


def day(n: int) -> datetime.date:
    return JAN + datetime.timedelta(days=n - 1)


def bal(client, kind) -> Decimal:
    return Account.objects.get(client=client, kind=kind).balance


def house(currency, kind) -> Decimal:
    acct = Account.objects.filter(client__isnull=True, currency=currency, kind=kind).first()
    return acct.balance if acct else D("0.00")


def legs(entry) -> set:
    return {(p.account.code, p.side, p.amount) for p in entry.postings.select_related("account")}


def txn(client, type, amount, date=JAN, receivable=None, **kw):
    return TransactionFactory(client=client, type=type, amount=D(amount), date=date, receivable=receivable, **kw)


@pytest.fixture
def client_():
    return ClientFactory(advance_rate=D("0.80"), reserve_rate=D("0.10"), reserve_hold_days=30)


@pytest.fixture
def rec(client_):
    return ReceivableFactory(client=client_, face_value=D("10000.00"))


def test_advance_debits_factoring_credits_settlement(client_, rec):
    (entry,) = book_transactions([txn(client_, "advance", "8000.00", receivable=rec)])
    assert legs(entry) == {("c:factoring", "D", D("8000.00")), ("c:settlement", "C", D("8000.00"))}
    assert bal(client_, "factoring") == D("8000.00")
    assert bal(client_, "settlement") == D("8000.00")
    rec.refresh_from_db()
    assert rec.advanced == D("8000.00")


def test_advance_above_cap_is_refused_and_nothing_written(client_, rec):
    book_transactions([txn(client_, "advance", "7999.99", receivable=rec)])
    before = (JournalEntry.objects.count(), Posting.objects.count())
    bad = txn(client_, "advance", "0.02", receivable=rec, date=day(2))
    with pytest.raises(LedgerError) as exc:
        book_transactions([bad])
    assert exc.value.problems[0][0] == bad.pk
    assert "above round(advance_rate × face_value) = 8000.00" in exc.value.problems[0][2]
    assert (JournalEntry.objects.count(), Posting.objects.count()) == before
    # exactly at the cap is fine
    book_transactions([txn(client_, "advance", "0.01", receivable=rec, date=day(2))])
    assert bal(client_, "factoring") == D("8000.00")


def test_collection_repays_advance_then_splits_reserve_and_settlement(client_, rec):
    book_transactions([txn(client_, "advance", "8000.00", receivable=rec)])
    (entry,) = book_transactions([txn(client_, "collection", "10000.00", receivable=rec, date=day(10))])
    # O = 8000; repay 8000; rest 2000; reserve round(2000 × 0.10) = 200; settle 1800
    assert legs(entry) == {
        ("h:bank", "D", D("10000.00")),
        ("c:factoring", "C", D("8000.00")),
        ("c:rolling_reserve", "C", D("200.00")),
        ("c:settlement", "C", D("1800.00")),
    }
    tranche = ReserveTranche.objects.get()
    assert (tranche.amount, tranche.due_date) == (D("200.00"), day(10) + datetime.timedelta(days=30))
    assert bal(client_, "factoring") == D("0.00")
    assert bal(client_, "settlement") == D("9800.00")
    rec.refresh_from_db()
    assert rec.open_amount == D("0.00")


def test_reserve_split_rounds_half_up_and_parts_add_up(client_):
    r = ReceivableFactory(client=client_, face_value=D("1.25"))
    (entry,) = book_transactions([txn(client_, "collection", "1.25", receivable=r)])
    # nothing advanced: rest = 1.25; reserve = round(0.125) = 0.13 (half-up, not 0.12); settle = 1.12
    assert legs(entry) == {
        ("h:bank", "D", D("1.25")),
        ("c:rolling_reserve", "C", D("0.13")),
        ("c:settlement", "C", D("1.12")),
    }


def test_collection_above_face_value_is_refused(client_, rec):
    with pytest.raises(LedgerError, match="above its face value 10000.00"):
        book_transactions(
            [
                txn(client_, "collection", "6000.00", receivable=rec),
                txn(client_, "collection", "4000.01", receivable=rec, date=day(2)),
            ]
        )
    assert JournalEntry.objects.count() == 0


def test_fee_and_interest(client_):
    fee, interest = book_transactions([txn(client_, "fee", "12.34"), txn(client_, "interest", "5.00", date=day(2))])
    assert legs(fee) == {("c:settlement", "D", D("12.34")), ("h:fee_income", "C", D("12.34"))}
    assert legs(interest) == {("c:settlement", "D", D("5.00")), ("h:interest_income", "C", D("5.00"))}
    assert bal(client_, "settlement") == D("-17.34")


def test_drawdown_limited_by_outstanding_and_reserve_balance(client_):
    r1 = ReceivableFactory(client=client_, face_value=D("1000.00"))
    r2 = ReceivableFactory(client=client_, face_value=D("1000.00"))
    book_transactions(
        [
            txn(client_, "collection", "1000.00", receivable=r1),  # reserve 100
            txn(client_, "advance", "800.00", receivable=r2),
        ]
    )
    with pytest.raises(LedgerError, match="exceeds the rolling reserve balance"):
        book_transactions([txn(client_, "reserve_drawdown", "100.01", receivable=r2, date=day(2))])
    with pytest.raises(LedgerError, match="exceeds the advance outstanding"):
        book_transactions([txn(client_, "reserve_drawdown", "0.01", receivable=r1, date=day(2))])
    (entry,) = book_transactions([txn(client_, "reserve_drawdown", "60.00", receivable=r2, date=day(2))])
    assert legs(entry) == {("c:rolling_reserve", "D", D("60.00")), ("c:factoring", "C", D("60.00"))}
    assert bal(client_, "rolling_reserve") == D("40.00")
    assert bal(client_, "factoring") == D("740.00")
    # tranches are unchanged by a drawdown: the required reserve still counts the whole tranche
    f = client_figures_one(client_, as_of=day(2))
    assert (f.required_reserve, f.shortfall) == (D("100.00"), D("60.00"))


def test_topup_partner_hold_and_release(client_):
    entries = book_transactions(
        [
            txn(client_, "reserve_topup", "50.00"),
            txn(client_, "partner_rr_hold", "300.00", date=day(2)),
            txn(client_, "partner_rr_release", "120.00", date=day(3)),
        ]
    )
    assert legs(entries[0]) == {("c:settlement", "D", D("50.00")), ("c:rolling_reserve", "C", D("50.00"))}
    assert legs(entries[1]) == {("h:partner_receivable", "D", D("300.00")), ("c:partner_rr", "C", D("300.00"))}
    assert legs(entries[2]) == {
        ("h:bank", "D", D("120.00")),
        ("h:partner_receivable", "C", D("120.00")),
        ("c:partner_rr", "D", D("120.00")),
        ("c:settlement", "C", D("120.00")),
    }
    assert bal(client_, "partner_rr") == D("180.00")
    assert house("EUR", "partner_receivable") == D("180.00")
    with pytest.raises(LedgerError, match="exceeds the partner rolling reserve balance"):
        book_transactions([txn(client_, "partner_rr_release", "180.01", date=day(4))])


def test_adjustments_both_signs(client_):
    plus, minus = book_transactions(
        [txn(client_, "adjustment", "25.00", reference="goodwill"), txn(client_, "adjustment", "-10.00", date=day(2))]
    )
    assert legs(plus) == {("h:adjustments", "D", D("25.00")), ("c:settlement", "C", D("25.00"))}
    assert legs(minus) == {("c:settlement", "D", D("10.00")), ("h:adjustments", "C", D("10.00"))}
    assert bal(client_, "settlement") == D("15.00")


def test_manual_adjustment_needs_reason(client_, make_user):
    with pytest.raises(LedgerError, match="needs a reason"):
        book_adjustment(client=client_, amount=D("5.00"), date=JAN, reason=" ", actor=make_user("finance"))
    entry = book_adjustment(
        client=client_, amount=D("-5.00"), date=JAN, reason="fee refund", actor=make_user("finance")
    )
    assert legs(entry) == {("c:settlement", "D", D("5.00")), ("h:adjustments", "C", D("5.00"))}


def test_write_off_limited_by_outstanding(client_, rec):
    book_transactions([txn(client_, "advance", "500.00", receivable=rec)])
    with pytest.raises(LedgerError, match="exceeds the advance outstanding"):
        book_write_off(receivable=rec, amount=D("500.01"), date=day(5))
    entry = book_write_off(receivable=rec, amount=D("200.00"), date=day(5))
    assert legs(entry) == {("h:credit_losses", "D", D("200.00")), ("c:factoring", "C", D("200.00"))}
    rec.refresh_from_db()
    assert (rec.advance_outstanding, rec.open_amount) == (D("300.00"), D("9800.00"))


def test_payout_and_return(client_):
    book_transactions([txn(client_, "adjustment", "1000.00")])
    payout = PayoutFactory(client=client_, amount=D("400.00"), status="approved")
    entry = book_payout(payout=payout, date=day(2))
    assert legs(entry) == {("c:settlement", "D", D("400.00")), ("h:bank", "C", D("400.00"))}
    assert book_payout(payout=payout, date=day(2)).pk == entry.pk  # idempotent
    back = book_payout_return(payout=payout, date=day(3))
    assert legs(back) == {("h:bank", "D", D("400.00")), ("c:settlement", "C", D("400.00"))}
    assert back.reverses_id == entry.pk
    assert bal(client_, "settlement") == D("1000.00")
    assert JournalEntry.objects.count() == 3


def test_unbalanced_entry_is_refused(client_):
    from ledger.services import client_accounts

    accts = client_accounts(client_)
    with pytest.raises(LedgerError, match="unbalanced"):
        post_entry(
            date=JAN,
            type="adjustment",
            currency="EUR",
            source_type="adjustment",
            source_key="x",
            legs=[(accts["settlement"], "D", D("1.00")), (accts["factoring"], "C", D("0.99"))],
        )
    assert Posting.objects.count() == 0


def test_reversal_is_a_new_entry(client_, make_user):
    (entry,) = book_transactions([txn(client_, "fee", "9.99")])
    rev = reverse_entry(entry=entry, date=day(2), reason="charged twice", actor=make_user("finance"))
    assert legs(rev) == {("c:settlement", "C", D("9.99")), ("h:fee_income", "D", D("9.99"))}
    assert bal(client_, "settlement") == D("0.00")
    assert Posting.objects.filter(entry=entry).count() == 2  # the original is untouched


def test_rebooking_the_same_transactions_books_nothing(client_, rec):
    rows = [txn(client_, "advance", "100.00", receivable=rec), txn(client_, "fee", "1.00")]
    book_transactions(rows)
    assert book_transactions(rows) == []
    assert JournalEntry.objects.count() == 2
    assert verify() == []


def test_release_oldest_first_and_held_by_shortfall(client_):
    r1 = ReceivableFactory(client=client_, face_value=D("1000.00"))
    r2 = ReceivableFactory(client=client_, face_value=D("2000.00"))
    r3 = ReceivableFactory(client=client_, face_value=D("1000.00"))
    book_transactions(
        [
            txn(client_, "collection", "1000.00", receivable=r1, date=day(1)),  # T1 100 due Jan 31
            txn(client_, "collection", "2000.00", receivable=r2, date=day(10)),  # T2 200 due Feb 9
            txn(client_, "advance", "800.00", receivable=r3, date=day(1)),
            txn(client_, "reserve_drawdown", "250.00", receivable=r3, date=day(15)),  # RR 300 -> 50
        ]
    )
    t1, t2 = ReserveTranche.objects.order_by("due_date")
    feb1 = datetime.date(2026, 2, 1)
    f = client_figures_one(client_, as_of=feb1)
    assert (f.rolling_reserve, f.required_reserve, f.shortfall) == (D("50.00"), D("200.00"), D("150.00"))
    assert (f.releases_due, f.releases_due_count) == (D("100.00"), 1)
    result = release_reserves(as_of=feb1)
    assert result.released == [] and [t.pk for t in result.held] == [t1.pk]

    # the client refills its reserve: 50 + 250 = 300; releasing T1 leaves 200 = required
    book_transactions([txn(client_, "reserve_topup", "250.00", date=day(20))])
    result = release_reserves(as_of=feb1)
    assert [t.pk for t in result.released] == [t1.pk] and result.held == []
    assert bal(client_, "rolling_reserve") == D("200.00")
    t1.refresh_from_db()
    assert t1.released_on == feb1
    assert legs(t1.released_entry) == {("c:rolling_reserve", "D", D("100.00")), ("c:settlement", "C", D("100.00"))}
    # running it again books nothing
    assert release_reserves(as_of=feb1).released == []
    assert JournalEntry.objects.filter(type="reserve_release").count() == 1
    # at Feb 9 T2 is due and nothing is required any more
    assert [t.pk for t in release_reserves(as_of=datetime.date(2026, 2, 9)).released] == [t2.pk]
    assert bal(client_, "rolling_reserve") == D("0.00")
    assert verify() == []


def test_figures_at_earlier_as_of_only_count_entries_up_to_it(client_, rec):
    book_transactions(
        [
            txn(client_, "advance", "1000.00", receivable=rec, date=day(1)),
            txn(client_, "advance", "500.00", receivable=rec, date=day(10)),
        ]
    )
    assert client_figures_one(client_, as_of=day(5)).exposure == D("1000.00")
    f = client_figures_one(client_, as_of=day(10))
    assert f.exposure == D("1500.00")
    assert f.exposure_ratio == D("1500.00") / D("100000.00")
    assert f.headroom == D("98500.00")


def test_available_subtracts_pending_payouts_and_shortfall(client_):
    book_transactions([txn(client_, "adjustment", "1000.00")])
    PayoutFactory(client=client_, amount=D("300.00"), status="requested")
    PayoutFactory(client=client_, amount=D("50.00"), status="executed")
    PayoutFactory(client=client_, amount=D("70.00"), status="ready")
    f = client_figures_one(client_, as_of=JAN)
    assert (f.pending_payouts, f.available) == (D("300.00"), D("700.00"))


def test_commands_output(client_, rec, capsys):
    import json

    book_transactions([txn(client_, "advance", "8000.00", receivable=rec)])
    call_command("verify_ledger")
    assert capsys.readouterr().out.startswith("OK: 1 entries, 2 postings")
    call_command("balances", "--json", "--as-of", "2026-01-01")
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {
            "client_id": client_.client_id,
            "currency": "EUR",
            "factoring": "8000.00",
            "settlement": "8000.00",
            "rolling_reserve": "0.00",
            "partner_rr": "0.00",
            "exposure": "8000.00",
            "exposure_ratio": "0.0800",
            "required_reserve": "0.00",
            "shortfall": "0.00",
            "available": "8000.00",
        }
    ]


def test_verify_ledger_reports_a_tampered_balance(client_, capsys):
    book_transactions([txn(client_, "fee", "3.00")])
    Account.objects.filter(client=client_, kind="settlement").update(balance=D("1.00"))
    with pytest.raises(SystemExit) as exc:
        call_command("verify_ledger")
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert "VIOLATION BALANCE_MISMATCH" in out and "FAILED: " in out
