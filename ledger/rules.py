"""DOMAIN.md section 4 posting rules, as pure functions over an in-memory book state.

:func:`legs_for` turns one transaction into the legs of its journal entry, given the state of
the book at that point of booking (account balances, the receivable's running totals). It
changes nothing; :meth:`BookState.apply` does. The booking service loads the state once,
runs the rules over every transaction in booking order and then writes in bulk, so the same
code decides a single booking and a 300,000-row import.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from atlas.money import ZERO, round_money
from ledger.models import AccountKind, Side

D, C = Side.DEBIT.value, Side.CREDIT.value

# An account key: ("c", client_pk, kind) for a client subaccount, ("h", currency, kind) for a house account.
AccountKey = tuple


class RuleError(Exception):
    """A transaction the posting rules refuse; ``field`` names the offending column."""

    def __init__(self, message: str, field: str = "amount"):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class ReceivableState:
    face_value: Decimal
    advance_cap: Decimal
    advanced: Decimal = ZERO
    reduced: Decimal = ZERO
    collected: Decimal = ZERO
    written_off: Decimal = ZERO

    @property
    def outstanding(self) -> Decimal:
        """O: advances − repayments − drawdowns − write-offs."""
        return self.advanced - self.reduced


@dataclass
class ClientTerms:
    currency: str
    reserve_rate: Decimal
    reserve_hold_days: int


@dataclass
class Outcome:
    legs: list[tuple[AccountKey, str, Decimal]]
    tranche: Decimal = ZERO
    tranche_due: datetime.date | None = None
    receivable_delta: dict = field(default_factory=dict)


@dataclass
class BookState:
    """Normal-side balances by account key, and receivable totals by receivable pk."""

    balances: dict = field(default_factory=dict)
    receivables: dict = field(default_factory=dict)

    def balance(self, key: AccountKey) -> Decimal:
        return self.balances.get(key, ZERO)

    def apply(self, outcome: Outcome, normal_side) -> None:
        for key, side, amount in outcome.legs:
            sign = 1 if side == normal_side(key) else -1
            self.balances[key] = self.balance(key) + sign * amount


def normal_side_of(key: AccountKey) -> str:
    from ledger.models import NORMAL_SIDE

    return NORMAL_SIDE[AccountKind(key[2])].value


FACTORING, SETTLEMENT = AccountKind.FACTORING, AccountKind.SETTLEMENT
ROLLING_RESERVE, PARTNER_RR = AccountKind.ROLLING_RESERVE, AccountKind.PARTNER_RR


def _h(currency, kind):
    return ("h", currency, kind)


def legs_for(
    *,
    type: str,
    amount: Decimal,
    date: datetime.date,
    client_pk,
    terms: ClientTerms,
    receivable: ReceivableState | None,
    state: BookState,
) -> Outcome:
    """The legs of one transaction under DOMAIN.md's posting rules (zero legs left out)."""
    cur = terms.currency
    fac, stl = ("c", client_pk, FACTORING), ("c", client_pk, SETTLEMENT)
    rr, prr = ("c", client_pk, ROLLING_RESERVE), ("c", client_pk, PARTNER_RR)
    if type == "adjustment":
        if amount == 0:
            raise RuleError("an adjustment may not be zero")
    elif amount <= 0:
        raise RuleError(f"amount must be > 0 for {type}")
    needs_receivable = type in ("advance", "collection", "reserve_drawdown")
    if needs_receivable and receivable is None:
        raise RuleError(f"{type} needs a receivable_id", field="receivable_id")

    out = Outcome(legs=[])
    if type == "advance":
        if receivable.advanced + amount > receivable.advance_cap:
            raise RuleError(
                f"advance {amount} would bring advances on the receivable to {receivable.advanced + amount}, "
                f"above round(advance_rate × face_value) = {receivable.advance_cap}"
            )
        out.legs = [(fac, D, amount), (stl, C, amount)]
        out.receivable_delta = {"advanced": amount}
    elif type == "collection":
        if receivable.collected + amount > receivable.face_value:
            raise RuleError(
                f"collection {amount} would bring collections on the receivable to "
                f"{receivable.collected + amount}, above its face value {receivable.face_value}"
            )
        repay = min(amount, max(receivable.outstanding, ZERO))
        rest = amount - repay
        reserve = round_money(rest * terms.reserve_rate, cur)
        settle = rest - reserve
        legs = [(_h(cur, AccountKind.BANK), D, amount), (fac, C, repay), (rr, C, reserve), (stl, C, settle)]
        out.legs = [leg for leg in legs if leg[2] != 0]  # repay, reserve or settle may be zero
        out.tranche = reserve
        out.tranche_due = date + datetime.timedelta(days=terms.reserve_hold_days)
        out.receivable_delta = {"collected": amount, "reduced": repay}
    elif type == "fee":
        out.legs = [(stl, D, amount), (_h(cur, AccountKind.FEE_INCOME), C, amount)]
    elif type == "interest":
        out.legs = [(stl, D, amount), (_h(cur, AccountKind.INTEREST_INCOME), C, amount)]
    elif type == "reserve_drawdown":
        if amount > receivable.outstanding:
            raise RuleError(
                f"drawdown {amount} exceeds the advance outstanding on the receivable ({receivable.outstanding})"
            )
        if amount > state.balance(rr):
            raise RuleError(f"drawdown {amount} exceeds the rolling reserve balance ({state.balance(rr)})")
        out.legs = [(rr, D, amount), (fac, C, amount)]
        out.receivable_delta = {"reduced": amount}
    elif type == "reserve_topup":
        out.legs = [(stl, D, amount), (rr, C, amount)]
    elif type == "partner_rr_hold":
        out.legs = [(_h(cur, AccountKind.PARTNER_RECEIVABLE), D, amount), (prr, C, amount)]
    elif type == "partner_rr_release":
        if amount > state.balance(prr):
            raise RuleError(
                f"partner release {amount} exceeds the partner rolling reserve balance ({state.balance(prr)})"
            )
        out.legs = [
            (_h(cur, AccountKind.BANK), D, amount),
            (_h(cur, AccountKind.PARTNER_RECEIVABLE), C, amount),
            (prr, D, amount),
            (stl, C, amount),
        ]
    elif type == "adjustment":
        adj = _h(cur, AccountKind.ADJUSTMENTS)
        x = abs(amount)
        out.legs = [(adj, D, x), (stl, C, x)] if amount > 0 else [(stl, D, x), (adj, C, x)]
    elif type == "write_off":
        if amount > receivable.outstanding:
            raise RuleError(
                f"write-off {amount} exceeds the advance outstanding on the receivable ({receivable.outstanding})"
            )
        out.legs = [(_h(cur, AccountKind.CREDIT_LOSSES), D, amount), (fac, C, amount)]
        out.receivable_delta = {"reduced": amount, "written_off": amount}
    else:
        raise RuleError(f"unknown transaction type {type!r}", field="type")
    return out  # every other leg is the transaction's amount (> 0) or its absolute value (≠ 0)
