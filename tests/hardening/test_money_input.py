"""The money boundary under hostile input: ``atlas.money.parse_amount`` (used by the statement parser,
the payout amount field and others) either returns an exact amount or raises ``MoneyError`` — never
another exception (``1e400`` used to escape as ``decimal.InvalidOperation``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.money import MoneyError, parse_amount
from payouts import services as payouts
from tests.payouts.factories import AS_OF, funded_client, payout

NUMERIC_TEXT = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A[+-]?\d{0,25}(\.\d{0,6})?([eE][+-]?\d{1,4})?\Z"),
    st.sampled_from(["1e400", "-1e400", "1e-400", "9" * 40, "0.001", "NaN", "sNaN", "Infinity", "1_000", " 12.30 "]),
)


@settings(max_examples=300, deadline=None, database=None)
@given(text=NUMERIC_TEXT, currency=st.sampled_from(["EUR", "GBP", "SEK"]))
def test_parse_amount_returns_an_exact_amount_or_a_money_error(text, currency):
    try:
        amount = parse_amount(text, currency)
    except MoneyError as exc:
        assert str(exc).strip()
        return
    assert isinstance(amount, Decimal) and amount.is_finite()
    assert abs(amount) < Decimal("1e16")
    assert amount == Decimal(text.strip())  # exact: nothing was rounded away
    assert amount.as_tuple().exponent == -2


@pytest.mark.parametrize("text", ["9" * 40, "-" + "9" * 17])
def test_huge_amounts_are_too_large(text):
    with pytest.raises(MoneyError, match="too large"):
        parse_amount(text, "EUR")


@pytest.mark.parametrize("text", ["1e400", "-1e400", "1e5", "1_000", "1,000.00", "\u0661\u0662\u0663"])
def test_numeric_text_is_plain_ascii_digits_with_a_dot(text):
    """DOMAIN.md section 9: numeric text with '.' as the decimal separator — no exponent, no grouping."""
    with pytest.raises(MoneyError, match="is not a number"):
        parse_amount(text, "EUR")


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["1e400", "abc", "0.001", "-5"])
def test_payout_request_refuses_a_bad_amount(users, text):
    p = payout(funded_client("1000.00"), "400.00")
    with pytest.raises(payouts.PayoutError):
        payouts.payout_request(payout=p, actor=users["ops"], amount=text, as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "ready" and p.amount == Decimal("400.00")
