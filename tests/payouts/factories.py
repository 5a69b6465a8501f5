"""Helpers for the payout tests: clients funded through the ledger services, payouts in any state."""

import datetime
from decimal import Decimal

from ledger.services import book_adjustment, book_transactions
from tests.factories import ClientFactory, PayoutFactory, ReceivableFactory, TransactionFactory

D = Decimal
FUNDED_ON = datetime.date(2026, 1, 5)
AS_OF = datetime.date(2026, 1, 20)
EXEC_DAY = datetime.date(2026, 1, 21)


def fund(client, amount, *, date=FUNDED_ON, actor=None):
    """Credit the client's settlement with a manual adjustment (no receivables: no risk warnings)."""
    return book_adjustment(client=client, amount=D(amount), date=date, reason="test funding", actor=actor)


def funded_client(amount="1000.00", **kwargs):
    client = ClientFactory(**kwargs)
    fund(client, amount)
    return client


def book(client, type, amount, *, date, receivable=None):
    (entry,) = book_transactions(
        [TransactionFactory(client=client, type=type, amount=D(amount), date=date, receivable=receivable)]
    )
    return entry


def advance(client, face_value, amount, *, date=FUNDED_ON, debtor=None, due_date=None):
    kw = {"client": client, "face_value": D(face_value)}
    if debtor is not None:
        kw["debtor"] = debtor
    if due_date is not None:
        kw["due_date"] = due_date
    rec = ReceivableFactory(**kw)
    book(client, "advance", amount, date=date, receivable=rec)
    return rec


def payout(client, amount="100.00", status="ready", **kwargs):
    return PayoutFactory(client=client, amount=D(amount), currency=client.currency, status=status, **kwargs)
