"""Scenario builders for the UI tests: reference rows from tests.factories, money moved only
through ``ledger.services.book_transactions`` (the single write path)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from clients.models import Transaction
from ledger.services import book_transactions
from tests.factories import ClientFactory, DebtorFactory, ReceivableFactory, TransactionFactory

D = Decimal


def book(client, rows):
    """``rows``: (date, type, amount, receivable or None). Saves and books them in order."""
    txns = [
        TransactionFactory(client=client, date=date, type=type_, amount=D(amount), receivable=receivable)
        for date, type_, amount, receivable in rows
    ]
    book_transactions(txns, evaluate_alerts=False)
    return txns


def worked_client(**kwargs):
    """The worked example used across the UI tests (numbers by hand, DOMAIN.md section 4):

    limit 8500.00, advance 0.80, reserve 0.10, hold 30 days.
    R1 face 10000.00 due 2026-02-01: advance 8000.00 on 2026-01-05.
    R2 face 5000.00 due 2026-01-31: advance 4000.00 on 2026-01-06; collection 5000.00 on 2026-01-20
        → O = 4000.00, repay 4000.00, rest 1000.00, reserve 100.00, settle 900.00; tranche 100.00 due 2026-02-19.
    fee 25.00 on 2026-01-21.

    factoring = 8000 + 4000 − 4000 = 8000.00; settlement = 8000 + 4000 + 900 − 25 = 12875.00;
    rolling reserve = 100.00; exposure ratio = 8000 / 8500 = 0.941176… → 0.9412 (warning band).
    """
    defaults = {
        "credit_limit": D("8500.00"),
        "advance_rate": D("0.80"),
        "reserve_rate": D("0.10"),
        "reserve_hold_days": 30,
    }
    defaults.update(kwargs)
    client = ClientFactory(**defaults)
    debtor_a, debtor_b = DebtorFactory(name="Alpha Debtor"), DebtorFactory(name="Beta Debtor")
    r1 = ReceivableFactory(client=client, debtor=debtor_a, face_value=D("10000.00"), due_date=datetime.date(2026, 2, 1))
    r2 = ReceivableFactory(client=client, debtor=debtor_b, face_value=D("5000.00"), due_date=datetime.date(2026, 1, 31))
    book(
        client,
        [
            (datetime.date(2026, 1, 5), Transaction.Type.ADVANCE, "8000.00", r1),
            (datetime.date(2026, 1, 6), Transaction.Type.ADVANCE, "4000.00", r2),
            (datetime.date(2026, 1, 20), Transaction.Type.COLLECTION, "5000.00", r2),
            (datetime.date(2026, 1, 21), Transaction.Type.FEE, "25.00", None),
        ],
    )
    client.r1, client.r2 = r1, r2
    return client


def over_limit_client(**kwargs):
    """limit 1000.00; advance 1500.00 on a 2000.00 receivable → exposure 1500.00, ratio 1.5 (over)."""
    client = ClientFactory(credit_limit=D("1000.00"), advance_rate=D("0.80"), **kwargs)
    r = ReceivableFactory(client=client, face_value=D("2000.00"))
    book(client, [(datetime.date(2026, 1, 5), Transaction.Type.ADVANCE, "1500.00", r)])
    return client
