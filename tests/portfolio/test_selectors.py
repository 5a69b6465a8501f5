"""Loading loans and receivables for the projection: open amounts as of D, constant queries."""

import datetime as dt
from decimal import Decimal as D

import pytest

from clients.models import Transaction
from ledger.services import book_transactions, book_write_off
from portfolio.selectors import loan_inputs, portfolio_projection, receivable_inputs
from tests.factories import ClientFactory, DebtorFactory, LoanFactory, ReceivableFactory, TransactionFactory

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 3, 31)


def txn(client, receivable, type_, amount, date):
    return TransactionFactory(client=client, receivable=receivable, type=type_, amount=D(amount), date=date)


def test_open_amount_counts_collections_dated_on_or_before_d_and_write_offs():
    client = ClientFactory(client_id="CL-A", advance_rate=D("0.80"))
    debtor = DebtorFactory(debtor_id="DB-1")
    r = ReceivableFactory(
        client=client, debtor=debtor, receivable_id="R-1", face_value=D("10000.00"), due_date=dt.date(2026, 3, 15)
    )
    book_transactions(
        [
            txn(client, r, Transaction.Type.ADVANCE, "8000.00", dt.date(2026, 1, 5)),
            txn(client, r, Transaction.Type.COLLECTION, "4000.00", dt.date(2026, 3, 1)),
            txn(client, r, Transaction.Type.COLLECTION, "1000.00", AS_OF),  # on D: counts
        ]
    )
    # advance outstanding 3,000.00: write off 500.00 of it, then a collection after D
    book_write_off(receivable=r, amount=D("500.00"), date=dt.date(2026, 3, 20))
    book_transactions([txn(client, r, Transaction.Type.COLLECTION, "2000.00", dt.date(2026, 4, 2))])
    r.refresh_from_db()
    assert (r.collected, r.written_off) == (D("7000.00"), D("500.00"))  # knows the April collection too

    found = receivable_inputs(as_of=AS_OF)
    assert [(x.key, x.client_key, x.debtor_key, x.open_amount, x.due_date) for x in found] == [
        ("R-1", "CL-A", "DB-1", D("4500.00"), dt.date(2026, 3, 15))  # 10000 − 4000 − 1000 − 500
    ]


def test_fully_collected_and_not_yet_issued_receivables_are_left_out():
    client = ClientFactory()
    paid = ReceivableFactory(client=client, face_value=D("100.00"))
    book_transactions([txn(client, paid, Transaction.Type.COLLECTION, "100.00", dt.date(2026, 2, 1))])
    ReceivableFactory(client=client, issue_date=dt.date(2026, 4, 1), due_date=dt.date(2026, 5, 1))
    kept = ReceivableFactory(client=client, face_value=D("250.00"))
    assert [x.key for x in receivable_inputs(as_of=AS_OF)] == [kept.receivable_id]


def test_projection_from_the_database_with_a_constant_number_of_queries(django_assert_num_queries):
    def make(n):
        for _ in range(n):
            client = ClientFactory()
            LoanFactory(client=client, start_date=dt.date(2026, 1, 31), term_months=6, method="linear")
            ReceivableFactory(client=client, due_date=dt.date(2026, 4, 20), face_value=D("300.00"))

    make(2)
    with django_assert_num_queries(3):  # collections after D?, loans, receivables
        small = portfolio_projection(as_of=AS_OF, months=3)
    make(5)
    with django_assert_num_queries(3):  # collections after D?, loans, receivables
        big = portfolio_projection(as_of=AS_OF, months=3)
    # 10,000.00 linear over 6 months from 31 Jan: 1,666.67 a month, 2 paid by 31 Mar → 6,666.66 left
    assert small.currencies["EUR"][0].opening_balance == 2 * (D("6666.66") + D("300.00"))
    assert big.currencies["EUR"][0].opening_balance == 7 * (D("6666.66") + D("300.00"))
    # month 1 (31 Mar..30 Apr): one loan period (30 Apr) and the receivable (20 Apr) per client
    assert big.currencies["EUR"][0].principal == 7 * D("1666.67")
    assert big.currencies["EUR"][0].collections == 7 * D("300.00")


def test_loan_inputs_carry_the_terms():
    loan = LoanFactory(loan_id="L-9", principal=D("1234.56"), annual_rate=D("0.0725"), day_count="ACT/360")
    (found,) = loan_inputs()
    assert (found.key, found.client_key, found.principal, found.annual_rate, found.day_count, found.method) == (
        "L-9",
        loan.client.client_id,
        D("1234.56"),
        D("0.0725"),
        "ACT/360",
        "annuity",
    )
