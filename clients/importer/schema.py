"""The workbook format (DOMAIN.md section 9): sheets, columns and how each cell is parsed.

A parser takes the raw cell value (as python-calamine returns it: ``str``, ``float`` (also
for whole numbers), ``int``, ``bool``, ``date``/``datetime``, or ``""`` for an empty cell) and
returns the clean value or raises :class:`CellError` with a human message that names the
column and shows the value as it was written. Floats become ``Decimal`` through
:func:`atlas.money.to_decimal` (``repr``), never ``Decimal(float)``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from atlas.money import CURRENCIES, MINOR_UNITS, MoneyError, quantum, to_decimal


class CellError(ValueError):
    """A cell that cannot be accepted; the message is shown as ``Sheet!Cell: message``."""


ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
RATE_PLACES = 6  # clients.models.RATE
TOO_LARGE = Decimal("1e16")  # amounts from here on are refused


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def show(value) -> str:
    """The value as the user wrote it (floats without artefacts, whole floats without ``.0``)."""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip() if isinstance(value, str) else str(value)


# --- parsers ---------------------------------------------------------------------------------


def parse_id(value, name: str, ctx=None) -> str:
    if isinstance(value, bool):
        raise CellError(f"{name} '{value}' is not a valid id")
    if isinstance(value, float | int):
        text = show(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise CellError(f"{name} '{show(value)}' is not a valid id")
    if len(text) > 64:
        raise CellError(f"{name} '{text[:20]}…' is longer than 64 characters")
    return text


def text_parser(max_length: int):
    def parse_text(value, name: str, ctx=None) -> str:
        text = show(value) if not isinstance(value, str) else value.strip()
        if len(text) > max_length:
            raise CellError(f"{name} is longer than {max_length} characters")
        return text

    return parse_text


def parse_country(value, name: str, ctx=None) -> str:
    text = show(value).upper()
    if not COUNTRY.match(text):
        raise CellError(f"{name} '{show(value)}' is not a two-letter country code")
    return text


def parse_currency(value, name: str, ctx=None) -> str:
    text = show(value).upper()
    if text not in CURRENCIES:
        raise CellError(f"{name} '{show(value)}' is not one of: {', '.join(CURRENCIES)}")
    return text


def choice_parser(choices: tuple[str, ...], *, upper: bool = False):
    lookup = {c.upper() if upper else c.lower(): c for c in choices}

    def parse_choice(value, name: str, ctx=None) -> str:
        text = show(value)
        key = text.upper() if upper else text.lower()
        if key not in lookup:
            raise CellError(f"{name} '{text}' is not one of: {', '.join(choices)}")
        return lookup[key]

    return parse_choice


def parse_number(value, name: str) -> Decimal:
    if isinstance(value, datetime.date):
        raise CellError(f"{name} '{show(value)}' is not a number")
    if isinstance(value, str) and "," in value:
        raise CellError(f"{name} '{show(value)}' is not a number (use '.' as the decimal separator)")
    try:
        return to_decimal(value)
    except MoneyError:
        raise CellError(f"{name} '{show(value)}' is not a number") from None


def amount_parser(*, sign: str = "positive"):
    """``sign``: ``positive`` (> 0), ``nonzero`` (signed, not zero) or ``any``."""

    def parse(value, name: str, ctx=None) -> Decimal:
        number = parse_number(value, name)
        currency = (ctx or {}).get("currency") or "EUR"
        if abs(number) >= TOO_LARGE:  # first: quantizing a huge number raises InvalidOperation
            raise CellError(f"{name} '{show(value)}' is too large")
        rounded = number.quantize(quantum(currency))
        if number != rounded:
            places = MINOR_UNITS.get(currency, 2)
            raise CellError(f"{name} '{show(value)}' has more than {places} decimal places for {currency}")
        if sign == "positive" and number <= 0:
            raise CellError(f"{name} '{show(value)}' must be greater than zero")
        if sign == "nonzero" and number == 0:
            raise CellError(f"{name} must not be zero")
        return rounded

    return parse


def parse_rate(value, name: str, ctx=None) -> Decimal:
    number = parse_number(value, name)
    if number < 0 or number > 1:
        raise CellError(f"{name} '{show(value)}' must be between 0 and 1 (0.10 is 10 %)")
    if number != number.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise CellError(f"{name} '{show(value)}' has more than {RATE_PLACES} decimal places")
    return number.quantize(Decimal(1).scaleb(-RATE_PLACES))


def whole_parser(*, minimum: int):
    def parse(value, name: str, ctx=None) -> int:
        number = parse_number(value, name)
        if number != number.to_integral_value():
            raise CellError(f"{name} '{show(value)}' is not a whole number")
        if number < minimum:
            raise CellError(f"{name} '{show(value)}' must be at least {minimum}")
        if number > 100_000:
            raise CellError(f"{name} '{show(value)}' is too large")
        return int(number)

    return parse


def parse_date(value, name: str, ctx=None) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        match = ISO_DATE.match(text)
        if match:
            try:
                return datetime.date(*(int(g) for g in match.groups()))
            except ValueError:
                raise CellError(f"{name} '{text}' is not a valid date") from None
    raise CellError(f"{name} '{show(value)}' is not a date (use an Excel date or YYYY-MM-DD)")


def parse_iban(value, name: str, ctx=None) -> str:
    text = re.sub(r"\s+", "", show(value)).upper()
    if len(text) > 34:
        raise CellError(f"{name} '{show(value)}' is longer than 34 characters")
    return text


def parse_bic(value, name: str, ctx=None) -> str:
    text = show(value).replace(" ", "").upper()
    if len(text) > 11:
        raise CellError(f"{name} '{show(value)}' is longer than 11 characters")
    return text


# --- sheets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    parse: object
    required: bool = False
    default: object = None


@dataclass(frozen=True)
class SheetSpec:
    name: str
    key: str
    columns: tuple[Column, ...]
    required: bool = True
    currency_column: str | None = None
    names: tuple[str, ...] = field(default=())

    @property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


TXN_TYPES = (
    "advance",
    "collection",
    "fee",
    "interest",
    "reserve_drawdown",
    "reserve_topup",
    "partner_rr_hold",
    "partner_rr_release",
    "adjustment",
)
NEEDS_RECEIVABLE = ("advance", "collection", "reserve_drawdown")
CLIENT_STATUSES = ("active", "on_hold", "suspended")
PAYOUT_STATUSES = ("ready", "requested", "blocked")
LOAN_METHODS = ("annuity", "linear", "bullet")
DAY_COUNTS = ("30/360", "ACT/360", "ACT/365")

SHEETS: tuple[SheetSpec, ...] = (
    SheetSpec(
        "Partners",
        "partner_id",
        (Column("partner_id", parse_id, True), Column("name", text_parser(255), True)),
        required=False,
    ),
    SheetSpec(
        "Clients",
        "client_id",
        (
            Column("client_id", parse_id, True),
            Column("name", text_parser(255), True),
            Column("country", parse_country, True),
            Column("currency", parse_currency, True),
            Column("status", choice_parser(CLIENT_STATUSES), True),
            Column("credit_limit", amount_parser(sign="positive"), True),
            Column("advance_rate", parse_rate, True),
            Column("reserve_rate", parse_rate, True),
            Column("reserve_hold_days", whole_parser(minimum=0), True),
            Column("fee_rate", parse_rate),
            Column("iban", parse_iban, default=""),
            Column("bic", parse_bic, default=""),
            Column("partner_id", parse_id),
            Column("partner_reserve_rate", parse_rate),
        ),
        currency_column="currency",
    ),
    SheetSpec(
        "Debtors",
        "debtor_id",
        (
            Column("debtor_id", parse_id, True),
            Column("name", text_parser(255), True),
            Column("country", parse_country, True),
            Column("concentration_limit", parse_rate),
        ),
    ),
    SheetSpec(
        "Receivables",
        "receivable_id",
        (
            Column("receivable_id", parse_id, True),
            Column("client_id", parse_id, True),
            Column("debtor_id", parse_id, True),
            Column("invoice_number", text_parser(64), True),
            Column("issue_date", parse_date, True),
            Column("due_date", parse_date, True),
            Column("currency", parse_currency, True),
            Column("face_value", amount_parser(sign="positive"), True),
        ),
        currency_column="currency",
    ),
    SheetSpec(
        "Transactions",
        "txn_id",
        (
            Column("txn_id", parse_id, True),
            Column("date", parse_date, True),
            Column("client_id", parse_id, True),
            Column("type", choice_parser(TXN_TYPES), True),
            Column("amount", amount_parser(sign="any"), True),
            Column("currency", parse_currency, True),
            Column("receivable_id", parse_id),
            Column("reference", text_parser(255), default=""),
        ),
        currency_column="currency",
    ),
    SheetSpec(
        "Loans",
        "loan_id",
        (
            Column("loan_id", parse_id, True),
            Column("client_id", parse_id, True),
            Column("principal", amount_parser(sign="positive"), True),
            Column("currency", parse_currency, True),
            Column("annual_rate", parse_rate, True),
            Column("start_date", parse_date, True),
            Column("term_months", whole_parser(minimum=1), True),
            Column("method", choice_parser(LOAN_METHODS), True),
            Column("day_count", choice_parser(DAY_COUNTS, upper=True), default="30/360"),
        ),
        required=False,
        currency_column="currency",
    ),
    SheetSpec(
        "Payouts",
        "payout_id",
        (
            Column("payout_id", parse_id, True),
            Column("client_id", parse_id, True),
            Column("amount", amount_parser(sign="positive"), True),
            Column("currency", parse_currency, True),
            Column("status", choice_parser(PAYOUT_STATUSES), True),
            Column("reference", text_parser(140), default=""),
        ),
        required=False,
        currency_column="currency",
    ),
)
SHEET_BY_NAME = {s.name: s for s in SHEETS}
SHEET_ORDER = tuple(s.name for s in SHEETS)
