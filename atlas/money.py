"""Money and ratio helpers: the one place where amounts are parsed and rounded.

DOMAIN.md section 2: amounts are ``Decimal``, rounded ``ROUND_HALF_UP`` to the currency's
minor unit by :func:`round_money`; ratios by :func:`round_ratio` to 4 places. Floats never
become Decimals directly: they go through ``repr`` (the shortest string that round-trips),
so a cell holding 1234.56 stays 1234.56.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CURRENCIES = ("EUR", "GBP", "USD", "SEK", "CHF", "PLN")
MINOR_UNITS = dict.fromkeys(CURRENCIES, 2)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
RATIO_PLACES = Decimal("0.0001")


_NUMERIC_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


class MoneyError(ValueError):
    """A value that is not an acceptable amount, rate or number."""


_QUANTA = {cur: Decimal(1).scaleb(-places) for cur, places in MINOR_UNITS.items()}


def quantum(currency: str = "EUR") -> Decimal:
    return _QUANTA.get(currency) or Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


def round_money(value: Decimal | int, currency: str = "EUR") -> Decimal:
    """Round half-up to the currency's minor unit (the only rounding of amounts)."""
    if value.__class__ is not Decimal:
        if isinstance(value, float):
            raise TypeError("round_money() refuses float; convert through to_decimal()")
        value = Decimal(value)
    return value.quantize(_QUANTA.get(currency) or quantum(currency), rounding=ROUND_HALF_UP)


def round_ratio(value: Decimal | None) -> Decimal | None:
    """Ratios shown or exported: 4 places, half-up. Checks compare the unrounded ratio."""
    if value is None:
        return None
    return Decimal(value).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


def to_decimal(value) -> Decimal:
    """Convert a cell value (str, int, float, Decimal) to Decimal without float artefacts."""
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise MoneyError(f"{value!r} is not a number")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise MoneyError("empty value is not a number")
        # Numeric text is plain ASCII digits with '.' as the decimal separator (DOMAIN.md section 9):
        # no exponents, underscores, thousands separators or non-ASCII digits, which Decimal() would take.
        if not _NUMERIC_TEXT.fullmatch(text):
            raise MoneyError(f"{value!r} is not a number")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"{value!r} is not a number") from None
    else:
        raise MoneyError(f"{value!r} is not a number")
    if not result.is_finite():
        raise MoneyError(f"{value!r} is not a number")
    return result


def parse_amount(value, currency: str) -> Decimal:
    """An amount in ``currency``: more places than its minor unit is an error, never rounded."""
    amount = to_decimal(value)
    places = MINOR_UNITS.get(currency, 2)
    if abs(amount) >= Decimal("1e16"):  # first: quantizing a huge number raises InvalidOperation
        raise MoneyError(f"amount '{value}' is too large")
    if amount != amount.quantize(quantum(currency), rounding=ROUND_HALF_UP):
        raise MoneyError(f"amount '{value}' has more than {places} decimal places for {currency}")
    return amount.quantize(quantum(currency))


def split_last_remainder(total: Decimal, fractions: list[Decimal], currency: str = "EUR") -> list[Decimal]:
    """Split ``total`` into parts: each part but the last is rounded, the last is the remainder."""
    parts = [round_money(total * f, currency) for f in fractions]
    parts.append(total - sum(parts, ZERO))
    return parts


def fmt(amount: Decimal | None) -> str:
    """Amounts always with their two decimals (``0.00``)."""
    if amount is None:
        return ""
    return f"{Decimal(amount).quantize(CENT):f}"
