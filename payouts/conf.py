"""Payout settings: the house account that pays (the SEPA debtor), read from Django settings or the environment.

``ATLAS_DEBTOR_NAME``, ``ATLAS_DEBTOR_IBAN``, ``ATLAS_DEBTOR_BIC``: the defaults are a valid German test IBAN
and BIC so that a fresh installation produces a valid pain.001 file.
"""

import os

from django.conf import settings


def _setting(name: str, default: str) -> str:
    return getattr(settings, name, None) or os.environ.get(name) or default


def debtor_name() -> str:
    return _setting("ATLAS_DEBTOR_NAME", "Atlas Settlement GmbH")


def debtor_iban() -> str:
    return _setting("ATLAS_DEBTOR_IBAN", "DE02120300000000202051")


def debtor_bic() -> str:
    return _setting("ATLAS_DEBTOR_BIC", "BYLADEM1001")


# Payouts in these currencies go into the SEPA file; the others are listed as non-SEPA.
SEPA_CURRENCIES = ("EUR",)
