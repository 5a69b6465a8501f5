"""The SEPA credit transfer file (pain.001.001.03) of an executed batch, built with ``sepaxml``.

Amounts go to sepaxml as integer cents (it refuses Decimals); ``clean=True`` transliterates names to the SEPA
character set. sepaxml validates the document against the bundled XSD on ``export()``.
"""

from __future__ import annotations

import datetime

from schwifty import BIC, IBAN
from sepaxml import SepaTransfer

from payouts import conf

SCHEMA = "pain.001.001.03"


def to_cents(amount) -> int:
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"amount {amount} has more than two decimal places")
    return int(cents)


def _bic(value: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return str(BIC(value))
    except Exception:
        return None


def build_pain001(payouts, *, execution_date: datetime.date) -> tuple[bytes, str]:
    """The XML bytes and the message id for ``payouts`` (all EUR, each with ``end_to_end_id`` set)."""
    config = {
        "name": conf.debtor_name(),
        "IBAN": str(IBAN(conf.debtor_iban())),
        "BIC": conf.debtor_bic(),
        "batch": True,
        "currency": "EUR",
    }
    transfer = SepaTransfer(config, schema=SCHEMA, clean=True)
    for p in payouts:
        payment = {
            "name": p.client.name,
            "IBAN": str(IBAN(p.client.iban)),
            "amount": to_cents(p.amount),
            "execution_date": execution_date,
            "description": (f"Payout {p.payout_id} {p.reference}").strip(),
            "endtoend_id": p.end_to_end_id,
        }
        bic = _bic(p.client.bic)
        if bic:
            payment["BIC"] = bic
        transfer.add_payment(payment)
    return transfer.export(validate=True), transfer.msg_id
