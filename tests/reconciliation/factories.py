"""Reconciliation test helpers: funded clients and payouts executed through the payouts services.

Executed payouts are made the real way: approved Payout rows → ``payouts.services.batch_create`` →
``batch_execute`` (which books them and sets ``end_to_end_id``), so the statements match what the
product really produces.
"""

import datetime
from decimal import Decimal
from pathlib import Path

from ledger.services import book_transactions
from payouts.services import batch_create, batch_execute
from tests.factories import ClientFactory, PayoutFactory, ReceivableFactory, TransactionFactory

SAMPLES = Path(__file__).parent / "samples"
EXECUTION_DATE = datetime.date(2026, 3, 2)
IBAN_A = "DE89370400440532013000"
IBAN_B = "GB29NWBK60161331926819"
IBAN_C = "DE75512108001245126199"


def funded_client(*, iban: str = IBAN_A, advance: Decimal = Decimal("8000.00"), **kwargs):
    """A client whose settlement balance is ``advance`` (one booked advance on a 10,000.00 receivable)."""
    client = ClientFactory(iban=iban, **kwargs)
    receivable = ReceivableFactory(client=client, face_value=Decimal("10000.00"))
    txn = TransactionFactory(
        client=client, type="advance", amount=advance, receivable=receivable, date=datetime.date(2026, 1, 5)
    )
    book_transactions([txn])
    return client


def execute_payouts(pairs, users, *, execution_date: datetime.date = EXECUTION_DATE):
    """``pairs``: [(client, amount)] → the payouts, executed in one batch by ops."""
    payouts = [
        PayoutFactory(
            client=client,
            amount=Decimal(amount),
            status="approved",
            requested_by=users["ops"],
            approved_by=users["credit"],
        )
        for client, amount in pairs
    ]
    batch = batch_create(payouts=payouts, actor=users["ops"])
    batch_execute(batch=batch, actor=users["ops"], execution_date=execution_date)
    for p in payouts:
        p.refresh_from_db()
        assert p.status == "executed", (p.payout_id, p.status, p.checks)
        assert p.end_to_end_id
    return payouts


def sample(name: str, **values) -> bytes:
    """A hand-written sample with its ``{{PLACEHOLDERS}}`` (end-to-end ids known only at run time) filled."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    assert "{{" not in text, f"unfilled placeholder in {name}"
    return text.encode("utf-8")
