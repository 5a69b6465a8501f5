"""The rules one by one, on unsaved statement lines (the engine never writes)."""

import datetime
from decimal import Decimal

import pytest

from reconciliation.matching import invoice_tokens, propose
from reconciliation.models import Rule, Statement, StatementLine
from tests.factories import ReceivableFactory
from tests.reconciliation.factories import EXECUTION_DATE, IBAN_A, execute_payouts, funded_client

pytestmark = pytest.mark.django_db


def line(**kw):
    defaults = {
        "statement": Statement(file_name="t.xml", format="camt053"),
        "entry_index": 1,
        "booking_date": EXECUTION_DATE,
        "amount": Decimal("1500.00"),
        "currency": "EUR",
        "direction": "DBIT",
        "counterparty_iban": IBAN_A,
    }
    defaults.update(kw)
    return StatementLine(**defaults)


@pytest.mark.parametrize(("days", "matched"), [(-3, True), (3, True), (4, False), (-4, False)])
def test_date_window_is_plus_minus_three_days(users, days, matched):
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    [p] = propose([line(booking_date=EXECUTION_DATE + datetime.timedelta(days=days))], window=3)
    assert p.matched is matched
    if matched:
        assert (p.payout, p.rule) == (payout, Rule.AMOUNT_IBAN_DATE)
    else:
        assert "within ±3 days" in p.reason


def test_window_is_configurable(users, settings):
    execute_payouts([(funded_client(), "1500.00")], users)
    settings.RECONCILIATION_WINDOW_DAYS = 5
    [p] = propose([line(booking_date=EXECUTION_DATE + datetime.timedelta(days=5))])
    assert p.matched


def test_nearest_payout_wins_and_a_tie_is_left_for_a_person(users):
    client = funded_client()
    [early] = execute_payouts([(client, "100.00")], users, execution_date=datetime.date(2026, 3, 1))
    [late] = execute_payouts([(client, "100.00")], users, execution_date=datetime.date(2026, 3, 3))
    [p] = propose([line(amount=Decimal("100.00"), booking_date=datetime.date(2026, 3, 1))])
    assert p.payout == early
    [tie] = propose([line(amount=Decimal("100.00"), booking_date=datetime.date(2026, 3, 2))])
    assert not tie.matched and early.payout_id in tie.reason and late.payout_id in tie.reason
    # two lines in one run never claim the same payout
    a, b = propose(
        [
            line(amount=Decimal("100.00"), booking_date=datetime.date(2026, 3, 1)),
            line(amount=Decimal("100.00"), booking_date=datetime.date(2026, 3, 1), entry_index=2),
        ]
    )
    assert (a.payout, b.payout) == (early, late)


def test_end_to_end_with_a_different_amount_is_not_matched(users):
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    [p] = propose([line(end_to_end_id=payout.end_to_end_id, amount=Decimal("1499.99"))])
    assert not p.matched
    assert p.reason == (f"payout {payout.payout_id} has this end-to-end id but is 1500.00 EUR, the line 1499.99 EUR")


def test_incoming_line_with_a_payout_id_but_no_return_info_is_flagged(users):
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    [p] = propose([line(direction="CRDT", end_to_end_id=payout.end_to_end_id)])
    assert not p.matched and "no return information" in p.reason


def test_partial_return_is_left_for_a_person(users):
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    [p] = propose(
        [line(direction="CRDT", is_reversal=True, end_to_end_id=payout.end_to_end_id, amount=Decimal("10.00"))]
    )
    assert not p.matched and "partial returns are handled manually" in p.reason


def test_invoice_numbers_case_and_currency(users):
    client = funded_client()
    r = ReceivableFactory(client=client, invoice_number="INV-77", face_value=Decimal("250.00"))
    [p] = propose([line(direction="CRDT", amount=Decimal("250.00"), remittance_info="inv-77 thanks")])
    assert p.matched and [(a.receivable, a.amount) for a in p.allocations] == [(r, Decimal("250.00"))]
    [q] = propose([line(direction="CRDT", amount=Decimal("250.00"), currency="GBP", remittance_info="INV-77")])
    assert not q.matched and "no open GBP invoice" in q.reason
    # two lines paying the same invoice: the second finds nothing left open
    first, second = propose(
        [
            line(direction="CRDT", amount=Decimal("250.00"), remittance_info="INV-77"),
            line(direction="CRDT", amount=Decimal("250.00"), remittance_info="INV-77", entry_index=2),
        ]
    )
    assert first.matched and not second.matched


def test_same_invoice_number_at_two_clients_is_resolved_by_amount(users):
    a, b = funded_client(), funded_client()
    ReceivableFactory(client=a, invoice_number="100", face_value=Decimal("300.00"))
    rb = ReceivableFactory(client=b, invoice_number="100", face_value=Decimal("400.00"))
    [p] = propose([line(direction="CRDT", amount=Decimal("400.00"), remittance_info="Invoice 100")])
    assert [a.receivable for a in p.allocations] == [rb]


def test_invoice_tokens():
    assert invoice_tokens("Invoices INV-A001, INV-A002. Thank you; 2026/17") == [
        "Invoices",
        "INV-A001",
        "INV-A002",
        "Thank",
        "you",
        "2026/17",
    ]


def test_query_count_does_not_grow_with_lines(users, django_assert_max_num_queries):
    execute_payouts([(funded_client(), "1500.00")], users)
    lines = [line(entry_index=i, remittance_info=f"INV-{i}", direction="CRDT" if i % 2 else "DBIT") for i in range(60)]
    with django_assert_max_num_queries(5):
        propose(lines)
