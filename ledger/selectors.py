"""Reads of the ledger: balances at an as-of date and the per-client figures of DOMAIN.md section 6.

:func:`client_figures` is the one source of exposure, available-for-payout, required reserve and
shortfall for every page, check and command. It runs a constant number of queries whatever the
number of clients: when the as-of date is on or after the last booked entry it reads the
maintained balances on the account rows; otherwise it sums the postings dated ≤ as-of.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from atlas.money import ZERO, round_money
from clients.models import Client
from ledger.models import CLIENT_KINDS, NORMAL_SIDE, Account, AccountKind, JournalEntry, Posting, ReserveTranche


@dataclass
class ClientFigures:
    client: Client
    currency: str
    factoring: Decimal
    settlement: Decimal
    rolling_reserve: Decimal
    partner_rr: Decimal
    exposure: Decimal
    exposure_ratio: Decimal
    credit_limit: Decimal
    headroom: Decimal
    required_reserve: Decimal
    shortfall: Decimal
    pending_payouts: Decimal
    available: Decimal
    releases_due: Decimal
    releases_due_count: int

    def as_dict(self) -> dict:
        """The ``balances --json`` shape: amounts as decimal strings, ratio with 4 places."""
        from atlas.money import fmt, round_ratio

        return {
            "client_id": self.client.client_id,
            "currency": self.currency,
            "factoring": fmt(self.factoring),
            "settlement": fmt(self.settlement),
            "rolling_reserve": fmt(self.rolling_reserve),
            "partner_rr": fmt(self.partner_rr),
            "exposure": fmt(self.exposure),
            "exposure_ratio": f"{round_ratio(self.exposure_ratio):f}",
            "required_reserve": fmt(self.required_reserve),
            "shortfall": fmt(self.shortfall),
            "available": fmt(self.available),
        }


def today() -> datetime.date:
    return timezone.localdate()


def _cents(total) -> Decimal:
    """Sums of amounts, exact to the cent (SQLite sums decimals as floats: 5255.19000000000)."""
    return round_money(total) if total is not None else ZERO


def _client_pks(clients) -> list[int] | None:
    if clients is None:
        return None
    if hasattr(clients, "values_list"):
        return list(clients.values_list("pk", flat=True))
    return [getattr(c, "pk", c) for c in clients]


def _maintained_is_current(as_of: datetime.date) -> bool:
    last = JournalEntry.objects.aggregate(last=Max("date"))["last"]
    return last is None or as_of >= last


def subaccount_balances(client_pks: list[int] | None, as_of: datetime.date) -> dict[tuple[int, str], Decimal]:
    """``{(client_pk, kind): normal-side balance at as_of}`` for client subaccounts."""
    accounts = Account.objects.filter(client__isnull=False)
    if client_pks is not None:
        accounts = accounts.filter(client_id__in=client_pks)
    if _maintained_is_current(as_of):
        return {(a["client_id"], a["kind"]): a["balance"] for a in accounts.values("client_id", "kind", "balance")}
    rows = (
        Posting.objects.filter(account__in=accounts, date__lte=as_of)
        .values("account__client_id", "account__kind", "side")
        .annotate(total=Sum("amount"))
    )
    out: dict = defaultdict(lambda: ZERO)
    for row in rows:
        kind = row["account__kind"]
        sign = 1 if row["side"] == NORMAL_SIDE[AccountKind(kind)] else -1
        out[(row["account__client_id"], kind)] += sign * _cents(row["total"])
    return dict(out)


def reserve_balances_as_of(client_pks: list[int], as_of: datetime.date) -> dict[int, Decimal]:
    balances = subaccount_balances(client_pks, as_of)
    return {pk: balances.get((pk, AccountKind.ROLLING_RESERVE), ZERO) for pk in client_pks}


def _unreleased_at(as_of):
    return Q(released_on__isnull=True) | Q(released_on__gt=as_of)


def required_reserve_as_of(client_pks: list[int] | None, as_of: datetime.date) -> dict[int, Decimal]:
    """Sum of the client's tranches unreleased at as_of and due after it."""
    qs = ReserveTranche.objects.filter(_unreleased_at(as_of), created_on__lte=as_of, due_date__gt=as_of)
    if client_pks is not None:
        qs = qs.filter(client_id__in=client_pks)
    return {r["client_id"]: _cents(r["total"]) for r in qs.values("client_id").annotate(total=Sum("amount"))}


def releases_due_as_of(client_pks: list[int] | None, as_of: datetime.date) -> dict[int, tuple[Decimal, int]]:
    """Unreleased tranches due on or before as_of: ``{client_pk: (amount, count)}``."""
    qs = ReserveTranche.objects.filter(_unreleased_at(as_of), created_on__lte=as_of, due_date__lte=as_of)
    if client_pks is not None:
        qs = qs.filter(client_id__in=client_pks)
    return {
        r["client_id"]: (_cents(r["total"]), r["n"])
        for r in qs.values("client_id").annotate(total=Sum("amount"), n=Count("pk"))
    }


def pending_payouts(client_pks: list[int] | None) -> dict[int, Decimal]:
    from payouts.models import PENDING_STATUSES, Payout

    qs = Payout.objects.filter(status__in=PENDING_STATUSES)
    if client_pks is not None:
        qs = qs.filter(client_id__in=client_pks)
    return {r["client_id"]: _cents(r["total"]) for r in qs.values("client_id").annotate(total=Sum("amount"))}


def client_figures(clients=None, *, as_of: datetime.date | None = None) -> dict[int, ClientFigures]:
    """DOMAIN.md section 6 figures for ``clients`` (all when None) at ``as_of`` (today when None)."""
    as_of = as_of or today()
    pks = _client_pks(clients)
    if clients is None or not hasattr(clients, "__iter__") or hasattr(clients, "values_list"):
        client_qs = Client.objects.all() if pks is None else Client.objects.filter(pk__in=pks)
        client_list = list(client_qs.select_related("partner"))
    else:
        client_list = list(clients)
    balances = subaccount_balances(pks, as_of)
    required = required_reserve_as_of(pks, as_of)
    due = releases_due_as_of(pks, as_of)
    pending = pending_payouts(pks)
    out = {}
    for c in client_list:
        b = {kind: balances.get((c.pk, kind), ZERO) for kind in CLIENT_KINDS}
        exposure = b[AccountKind.FACTORING]
        need = required.get(c.pk, ZERO)
        shortfall = max(ZERO, need - b[AccountKind.ROLLING_RESERVE])
        claimed = pending.get(c.pk, ZERO)
        due_amount, due_count = due.get(c.pk, (ZERO, 0))
        out[c.pk] = ClientFigures(
            client=c,
            currency=c.currency,
            factoring=b[AccountKind.FACTORING],
            settlement=b[AccountKind.SETTLEMENT],
            rolling_reserve=b[AccountKind.ROLLING_RESERVE],
            partner_rr=b[AccountKind.PARTNER_RR],
            exposure=exposure,
            exposure_ratio=exposure / c.credit_limit,
            credit_limit=c.credit_limit,
            headroom=c.credit_limit - exposure,
            required_reserve=need,
            shortfall=shortfall,
            pending_payouts=claimed,
            available=max(ZERO, b[AccountKind.SETTLEMENT] - claimed - shortfall),
            releases_due=due_amount,
            releases_due_count=due_count,
        )
    return out


def client_figures_one(client: Client, *, as_of: datetime.date | None = None) -> ClientFigures:
    return client_figures([client], as_of=as_of)[client.pk]
