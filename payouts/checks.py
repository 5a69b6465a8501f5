"""The payout checks (DOMAIN.md section 5), run at request, at approval and at execution.

| code | rule | effect |
|---|---|---|
| CLIENT_NOT_ACTIVE | client status is not ``active`` | block |
| INVALID_IBAN | IBAN missing, or ``schwifty.IBAN(value)`` raises | block |
| INSUFFICIENT_FUNDS | amount > available + (own amount if the payout is itself pending) | block |
| CREDIT_LIMIT_EXCEEDED | exposure ratio > 1 | block |
| RESERVE_SHORTFALL | shortfall > 0 | block |
| EXPOSURE_WARNING | exposure ratio ≥ policy warning level | warn |
| DEBTOR_CONCENTRATION | a debtor's share > its limit | warn |
| OVERDUE_RECEIVABLES | overdue share > policy level | warn |

:func:`load_context` reads every figure for a whole set of clients in a constant number of queries
(``risk.services.breach_inputs``: ``ledger.selectors.client_figures``, the open receivables summed per
client and debtor in SQL, the breached debtor shares, the overdue share, the policy — what the alert
rules read too); :func:`run_checks` is then pure Python.

INSUFFICIENT_FUNDS compares with the *unclamped* funds ``settlement − other pending payouts − shortfall``
(see docs/payouts.md): with ``available`` clamped at zero, a pending payout larger than the whole settlement
balance would otherwise pass ("1500 > 0 + 1500" is false).
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field
from decimal import Decimal

from schwifty import IBAN

from atlas.money import ZERO, fmt, round_ratio

BLOCK = "block"
WARN = "warn"

CLIENT_NOT_ACTIVE = "CLIENT_NOT_ACTIVE"
INVALID_IBAN = "INVALID_IBAN"
INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
CREDIT_LIMIT_EXCEEDED = "CREDIT_LIMIT_EXCEEDED"
RESERVE_SHORTFALL = "RESERVE_SHORTFALL"
EXPOSURE_WARNING = "EXPOSURE_WARNING"
DEBTOR_CONCENTRATION = "DEBTOR_CONCENTRATION"
OVERDUE_RECEIVABLES = "OVERDUE_RECEIVABLES"

CHECK_CODES = {
    CLIENT_NOT_ACTIVE: BLOCK,
    INVALID_IBAN: BLOCK,
    INSUFFICIENT_FUNDS: BLOCK,
    CREDIT_LIMIT_EXCEEDED: BLOCK,
    RESERVE_SHORTFALL: BLOCK,
    EXPOSURE_WARNING: WARN,
    DEBTOR_CONCENTRATION: WARN,
    OVERDUE_RECEIVABLES: WARN,
}


@dataclass(frozen=True)
class CheckResult:
    code: str
    severity: str
    message: str

    @property
    def blocks(self) -> bool:
        return self.severity == BLOCK

    def as_dict(self) -> dict:
        """``dataclasses.asdict`` without its recursive deep copy (the fields are strings)."""
        return {"code": self.code, "severity": self.severity, "message": self.message}


@dataclass
class CheckContext:
    """Everything the checks need for a set of clients at one as-of date."""

    as_of: datetime.date | None
    figures: dict = field(default_factory=dict)  # client pk -> ClientFigures
    concentration: dict = field(default_factory=dict)  # client pk -> list[DebtorShare] (only breached ones count)
    aging: dict = field(default_factory=dict)  # client pk -> an object with ``overdue_share`` (Aging, Overdue)
    policy: object = None


def load_context(clients, *, as_of: datetime.date | None = None) -> CheckContext:
    """Figures, breached debtor shares, overdue share and policy for ``clients`` in a constant number of
    queries (:func:`risk.services.breach_inputs`: the open receivables are summed per client and debtor in
    SQL, only the breached shares come back). ``clients`` are the rows the caller holds (locked)."""
    from ledger.selectors import today
    from risk.services import breach_inputs

    inputs = breach_inputs(list(clients), as_of=as_of or today(), reread=False)
    return CheckContext(
        as_of=inputs.as_of,
        figures=inputs.figures,
        concentration=inputs.concentration,
        aging=inputs.aging,
        policy=inputs.policy,
    )


@functools.lru_cache(maxsize=8192)
def iban_problem(value: str) -> str | None:
    """None if valid, else the reason (a pure function of the text: cached, a batch checks each IBAN
    at simulation, at execution and for the SEPA file)."""
    if not (value or "").strip():
        return "the client has no IBAN"
    try:
        IBAN(value)
    except Exception as exc:  # schwifty raises several subclasses of ValueError
        return f"IBAN {value!r} is not valid ({exc})"
    return None


def _pct(ratio: Decimal) -> str:
    return f"{round_ratio(ratio)} ({round_ratio(ratio * 100)} %)"


def run_checks(payout, ctx: CheckContext, *, amount: Decimal | None = None, pending: bool | None = None):
    """Every check for ``payout`` (at ``amount`` if given), as a list of :class:`CheckResult`.

    ``pending``: whether the payout's own amount is already counted among the client's pending payouts
    (default: its current status is pending).
    """
    from payouts.models import PENDING_STATUSES

    client = payout.client
    amount = payout.amount if amount is None else amount
    if pending is None:
        pending = payout.status in PENDING_STATUSES
    fig = ctx.figures.get(client.pk)
    cur = payout.currency
    results: list[CheckResult] = []

    def add(code, message):
        results.append(CheckResult(code, CHECK_CODES[code], message))

    if client.status != "active":
        add(CLIENT_NOT_ACTIVE, f"Client {client.client_id} is {client.get_status_display().lower()}, not active.")
    iban_problem_text = iban_problem(client.iban)
    if iban_problem_text:
        add(INVALID_IBAN, f"The payout IBAN is missing or invalid: {iban_problem_text}.")
    if fig is None:
        add(INSUFFICIENT_FUNDS, f"No figures for client {client.client_id}.")
        return results

    own = amount if pending else ZERO
    # The money this payout may take: settlement − the *other* pending payouts − shortfall.
    funds = fig.settlement - (fig.pending_payouts - (payout.amount if pending else ZERO)) - fig.shortfall
    if amount > funds:
        add(
            INSUFFICIENT_FUNDS,
            f"Amount {fmt(amount)} {cur} exceeds the funds available for it: {fmt(max(funds, ZERO))} {cur} "
            f"(available {fmt(fig.available)} + own pending {fmt(own)}; settlement {fmt(fig.settlement)}, "
            f"pending payouts {fmt(fig.pending_payouts)}, reserve shortfall {fmt(fig.shortfall)}).",
        )
    ratio = fig.exposure_ratio
    if ratio is not None and ratio > 1:
        add(
            CREDIT_LIMIT_EXCEEDED,
            f"Exposure {fmt(fig.exposure)} {cur} is over the credit limit {fmt(fig.credit_limit)} {cur} "
            f"(ratio {_pct(ratio)}).",
        )
    if fig.shortfall > 0:
        add(
            RESERVE_SHORTFALL,
            f"Rolling reserve {fmt(fig.rolling_reserve)} {cur} is below the required reserve "
            f"{fmt(fig.required_reserve)} {cur}: shortfall {fmt(fig.shortfall)} {cur}.",
        )
    policy = ctx.policy
    level = getattr(policy, "exposure_warning_level", None)
    if ratio is not None and level is not None and ratio >= level:
        add(
            EXPOSURE_WARNING,
            f"Exposure ratio {_pct(ratio)} is at or above the warning level {round_ratio(level)}.",
        )
    breached = [s for s in ctx.concentration.get(client.pk, []) if s.breached]
    if breached:
        parts = ", ".join(
            f"{s.debtor.debtor_id} {s.debtor.name} {round_ratio(s.share)} > limit {round_ratio(s.limit)}"
            for s in breached
        )
        add(DEBTOR_CONCENTRATION, f"Debtor concentration over the limit: {parts}.")
    ag = ctx.aging.get(client.pk)
    overdue_level = getattr(policy, "overdue_share_level", None)
    share = getattr(ag, "overdue_share", None)
    if share is not None and overdue_level is not None and share > overdue_level:
        add(
            OVERDUE_RECEIVABLES,
            f"{round_ratio(share)} of the open receivables are more than 90 days past due "
            f"(level {round_ratio(overdue_level)}).",
        )
    return results


def blocking(results, *, overridden=()) -> list[CheckResult]:
    """The blocking results, leaving out codes a Credit Manager overrode."""
    return [r for r in results if r.blocks and r.code not in set(overridden)]


def codes_text(results) -> str:
    codes = [r.code if isinstance(r, CheckResult) else r["code"] for r in results]
    return f",{','.join(codes)}," if codes else ""
