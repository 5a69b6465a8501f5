"""Helpers for the risk tests: build ledger state through the ledger's booking service."""

import datetime
from decimal import Decimal

from ledger.services import book_transactions
from tests.factories import TransactionFactory


def book(client, *rows):
    """Book ``(type, amount, date, receivable_or_None)`` rows for ``client`` in order; return the txns."""
    txns = [
        TransactionFactory(
            client=client,
            type=type_,
            amount=Decimal(amount),
            date=date if isinstance(date, datetime.date) else datetime.date.fromisoformat(date),
            receivable=receivable,
            source_row=i + 1,
        )
        for i, (type_, amount, date, receivable) in enumerate(rows)
    ]
    book_transactions(txns, evaluate_alerts=False)
    return txns
