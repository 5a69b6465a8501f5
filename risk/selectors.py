"""Risk reads (DOMAIN.md section 6): debtor concentration, aging, overdue share, reserve validation,
and the portfolio overview.

Ledger figures (exposure, ratio, headroom, available, reserves, shortfall, releases due, partner RR)
come from :func:`ledger.selectors.client_figures`; nothing here recomputes them. What is computed
here is built on the **open amount at D** of each receivable::

    open(R, D) = max(0, face − collections on R dated ≤ D − write-offs of R dated ≤ D)

(collections: ``clients.Transaction`` rows of type ``collection``; write-offs: ``ledger.JournalEntry``
rows of type ``write_off`` with their ``receivable`` and ``amount``). Receivables issued after D did
not exist at D and are left out. One query returns every open receivable at D with the two sums as
correlated subqueries, so the query count does not depend on the number of clients.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from atlas.money import ZERO, round_money, round_ratio, to_decimal
from clients.models import Client, Debtor, Receivable, Transaction
from ledger.models import EntryType, JournalEntry, ReserveTranche
from risk.models import Alert, RiskPolicy

BUCKETS = ("current", "1-30", "31-60", "61-90", ">90")
BUCKET_LABELS = {"current": "current", "1-30": "1–30", "31-60": "31–60", "61-90": "61–90", ">90": "> 90"}
EXPOSURE_BANDS = ("ok", "warning", "over_limit")
_MONEY_FIELD = DecimalField(max_digits=18, decimal_places=2)


def bucket_for(days_past_due: int) -> str:
    """The aging bucket of an open receivable ``days_past_due`` days after its due date."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return ">90"


def exposure_band(ratio: Decimal | None, warning_level: Decimal) -> str:
    """``over_limit`` when the unrounded ratio > 1, ``warning`` when ≥ the policy level, else ``ok``."""
    if ratio is None:
        return "ok"
    if ratio > 1:
        return "over_limit"
    if ratio >= warning_level:
        return "warning"
    return "ok"


@dataclass
class DebtorShare:
    debtor: Debtor
    open_amount: Decimal
    share: Decimal  # unrounded
    limit: Decimal
    breached: bool

    @property
    def share_display(self) -> Decimal:
        return round_ratio(self.share)


@dataclass
class Aging:
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))
    total_open: Decimal = ZERO
    overdue_share: Decimal | None = None  # unrounded; None when nothing is open

    @property
    def overdue_share_display(self) -> Decimal | None:
        return round_ratio(self.overdue_share)

    @property
    def bucket_list(self) -> list[tuple[str, Decimal]]:
        return [(BUCKET_LABELS[b], self.buckets[b]) for b in BUCKETS]

    def add(self, bucket: str, amount: Decimal) -> None:
        self.buckets[bucket] += amount
        self.total_open += amount

    def finish(self) -> Aging:
        self.overdue_share = self.buckets[">90"] / self.total_open if self.total_open > 0 else None
        return self


@dataclass
class OpenReceivable:
    pk: int
    client_id: int
    currency: str
    debtor: Debtor
    due_date: datetime.date
    open_amount: Decimal
    days_past_due: int

    @property
    def bucket(self) -> str:
        return bucket_for(self.days_past_due)


# --------------------------------------------------------------------------------------- helpers


def _client_q(clients, prefix: str = "client") -> Q:
    """A filter on ``<prefix>`` for ``clients``: None (all), a QuerySet, or Client objects / pks."""
    if clients is None:
        return Q()
    if isinstance(clients, QuerySet):
        return Q(**{f"{prefix}__in": clients.values("pk")})
    return Q(**{f"{prefix}__in": _pks(clients)})


def _pks(clients: Iterable) -> list[int]:
    return [getattr(c, "pk", c) for c in clients]


def _client_pks(clients) -> list[int]:
    """Every requested client's pk (one query when ``clients`` is None or a QuerySet)."""
    if clients is None:
        return list(Client.objects.values_list("pk", flat=True))
    if isinstance(clients, QuerySet):
        return list(clients.values_list("pk", flat=True))
    return _pks(clients)


def _as_of(as_of: datetime.date | None) -> datetime.date:
    return as_of or timezone.localdate()


def open_receivables(clients=None, *, as_of: datetime.date) -> list[OpenReceivable]:
    """Every receivable open at ``as_of`` with its open amount (up to four queries: whether anything is dated
    after ``as_of``, the rows, their debtors).

    When no collection and no write-off is dated after ``as_of`` (the usual case: as of today), the open
    amount is the receivable's maintained ``face_value - collected - written_off`` (kept by the ledger's
    booking in the same transaction as the postings); otherwise it is summed from the transactions and
    write-off entries up to ``as_of``.
    """
    maintained = (
        not Transaction.objects.filter(type=Transaction.Type.COLLECTION, date__gt=as_of).exists()
        and not JournalEntry.objects.filter(type=EntryType.WRITE_OFF, date__gt=as_of).exists()
    )
    if maintained:
        open_qs = (
            Receivable.objects.filter(_client_q(clients), issue_date__lte=as_of)
            .annotate(
                open_at=ExpressionWrapper(
                    F("face_value") - F("collected") - F("written_off"), output_field=_MONEY_FIELD
                )
            )
            .filter(open_at__gt=0)
        )
    else:
        open_qs = _open_summed(clients, as_of)
    return _open_rows(open_qs, clients, as_of)


def _open_summed(clients, as_of: datetime.date):
    collections = (
        Transaction.objects.filter(receivable=OuterRef("pk"), type=Transaction.Type.COLLECTION, date__lte=as_of)
        .order_by()
        .values("receivable")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    write_offs = (
        JournalEntry.objects.filter(receivable=OuterRef("pk"), type=EntryType.WRITE_OFF, date__lte=as_of)
        .order_by()
        .values("receivable")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    zero = Value(ZERO, output_field=_MONEY_FIELD)
    return (
        Receivable.objects.filter(_client_q(clients), issue_date__lte=as_of)
        .annotate(
            collected_at=Coalesce(Subquery(collections, output_field=_MONEY_FIELD), zero),
            written_off_at=Coalesce(Subquery(write_offs, output_field=_MONEY_FIELD), zero),
        )
        .annotate(
            open_at=ExpressionWrapper(
                F("face_value") - F("collected_at") - F("written_off_at"), output_field=_MONEY_FIELD
            )
        )
        .filter(open_at__gt=0)
    )


def _open_rows(open_qs, clients, as_of: datetime.date) -> list[OpenReceivable]:
    rows = list(
        open_qs.order_by("client_id", "due_date", "pk").values_list(
            "pk", "client_id", "currency", "debtor_id", "due_date", "open_at"
        )
    )
    debtors = (
        {
            d.pk: d
            for d in Debtor.objects.filter(
                pk__in=Receivable.objects.filter(_client_q(clients), issue_date__lte=as_of).values("debtor_id")
            )
        }
        if rows
        else {}
    )
    result = []
    for pk, client_pk, currency, debtor_pk, due_date, open_at in rows:
        amount = round_money(open_at, currency)  # exact on PostgreSQL; SQLite sums need the quantize
        if amount <= 0:
            continue
        result.append(
            OpenReceivable(
                pk=pk,
                client_id=client_pk,
                currency=currency,
                debtor=debtors[debtor_pk],
                due_date=due_date,
                open_amount=amount,
                days_past_due=(as_of - due_date).days,
            )
        )
    return result


def _concentration_from(
    rows: list[OpenReceivable], client_pks: Iterable[int], policy: RiskPolicy
) -> dict[int, list[DebtorShare]]:
    per_client: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    debtors: dict[int, Debtor] = {}
    for r in rows:
        per_client[r.client_id][r.debtor.pk] += r.open_amount
        debtors[r.debtor.pk] = r.debtor
    result: dict[int, list[DebtorShare]] = {pk: [] for pk in client_pks}
    for client_pk, by_debtor in per_client.items():
        total = sum(by_debtor.values(), ZERO)
        shares = []
        for debtor_pk, amount in by_debtor.items():
            debtor = debtors[debtor_pk]
            limit = (
                debtor.concentration_limit
                if debtor.concentration_limit is not None
                else policy.default_concentration_limit
            )
            share = amount / total
            shares.append(
                DebtorShare(debtor=debtor, open_amount=amount, share=share, limit=limit, breached=share > limit)
            )
        shares.sort(key=lambda s: (-s.share, s.debtor.debtor_id))
        result[client_pk] = shares
    return result


def _aging_from(rows: list[OpenReceivable], client_pks: Iterable[int]) -> dict[int, Aging]:
    result = {pk: Aging() for pk in client_pks}
    for r in rows:
        result.setdefault(r.client_id, Aging()).add(r.bucket, r.open_amount)
    return {pk: a.finish() for pk, a in result.items()}


# ---------------------------------------------------------------------------------- public API


def debtor_concentration(clients=None, *, as_of: datetime.date | None = None) -> dict[int, list[DebtorShare]]:
    """Per client pk: its debtors' shares of the client's open amount at D, largest first.

    ``limit`` is the debtor's concentration limit or the policy default; ``breached`` compares the
    unrounded share: share > limit. Every requested client has a key (an empty list if nothing is open).
    """
    as_of = _as_of(as_of)
    rows = open_receivables(clients, as_of=as_of)
    return _concentration_from(rows, _client_pks(clients), RiskPolicy.get())


def aging(clients=None, *, as_of: datetime.date | None = None) -> dict[int, Aging]:
    """Per client pk: open amounts at D by days past due, total open and overdue share (> 90 dpd / total)."""
    as_of = _as_of(as_of)
    rows = open_receivables(clients, as_of=as_of)
    return _aging_from(rows, _client_pks(clients))


@dataclass
class RiskSnapshot:
    """Everything the risk pages and the alert evaluation need at one as-of date."""

    as_of: datetime.date
    policy: RiskPolicy
    clients: dict[int, Client]
    figures: dict  # client pk -> ledger.selectors.ClientFigures
    concentration: dict[int, list[DebtorShare]]
    aging: dict[int, Aging]
    open_rows: list[OpenReceivable]


def risk_snapshot(clients=None, *, as_of: datetime.date | None = None) -> RiskSnapshot:
    """Ledger figures + concentration + aging for ``clients`` at D in a constant number of queries."""
    from ledger.selectors import client_figures

    as_of = _as_of(as_of)
    policy = RiskPolicy.get()
    client_qs = Client.objects.filter(_client_q(clients, prefix="pk")).select_related("partner").order_by("client_id")
    client_map = {c.pk: c for c in client_qs}
    figures = client_figures(list(client_map.values()), as_of=as_of) if client_map else {}
    rows = open_receivables(clients, as_of=as_of)
    return RiskSnapshot(
        as_of=as_of,
        policy=policy,
        clients=client_map,
        figures=figures,
        concentration=_concentration_from(rows, client_map.keys(), policy),
        aging=_aging_from(rows, client_map.keys()),
        open_rows=rows,
    )


# ------------------------------------------------------------------------------------ overview


@dataclass
class ClientRiskRow:
    client: Client
    figures: object  # ClientFigures
    band: str
    aging: Aging
    concentration: list[DebtorShare]
    open_alerts: int = 0

    @property
    def breaches(self) -> list[DebtorShare]:
        return [s for s in self.concentration if s.breached]

    @property
    def top_share(self) -> DebtorShare | None:
        return self.concentration[0] if self.concentration else None

    @property
    def ratio_display(self) -> Decimal | None:
        return round_ratio(self.figures.exposure_ratio)


@dataclass
class DebtorTotal:
    debtor: Debtor
    currency: str
    open_amount: Decimal
    share: Decimal  # of the currency's open total, unrounded
    client_count: int

    @property
    def share_display(self) -> Decimal:
        return round_ratio(self.share)


@dataclass
class CurrencyTotals:
    currency: str
    client_count: int = 0
    exposure: Decimal = ZERO
    credit_limit: Decimal = ZERO
    shortfall: Decimal = ZERO
    rolling_reserve: Decimal = ZERO
    required_reserve: Decimal = ZERO
    partner_rr: Decimal = ZERO
    bands: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXPOSURE_BANDS, 0))
    aging: Aging = field(default_factory=Aging)
    top_debtors: list[DebtorTotal] = field(default_factory=list)

    @property
    def exposure_ratio(self) -> Decimal | None:
        return self.exposure / self.credit_limit if self.credit_limit > 0 else None

    @property
    def ratio_display(self) -> Decimal | None:
        return round_ratio(self.exposure_ratio)


def aging_chart(currencies) -> dict:
    """Chart data of the portfolio aging: one series of bucket amounts per currency total."""
    return {
        "labels": [BUCKET_LABELS[b] for b in BUCKETS],
        "series": [{"currency": t.currency, "amounts": [str(t.aging.buckets[b]) for b in BUCKETS]} for t in currencies],
    }


RATIO_HISTOGRAM_EDGES = [Decimal(i) / 10 for i in range(11)]  # 0.0, 0.1, … 1.0


def ratio_histogram(ratios: Iterable[Decimal]) -> tuple[list[str], list[int]]:
    """Counts of clients by exposure ratio: [0–10 %), [10–20 %), … [90–100 %], > 100 %."""
    labels = [f"{i * 10}–{(i + 1) * 10} %" for i in range(10)] + ["> 100 %"]
    counts = [0] * 11
    for r in ratios:
        if r > 1:
            counts[10] += 1
        else:
            counts[min(int(r * 10), 9)] += 1
    return labels, counts


@dataclass
class Overview:
    as_of: datetime.date
    policy: RiskPolicy
    rows: list[ClientRiskRow]
    currencies: list[CurrencyTotals]

    @property
    def shortfalls(self) -> list[ClientRiskRow]:
        return [r for r in self.rows if r.figures.shortfall > 0]

    @property
    def breaches(self) -> list[tuple[ClientRiskRow, DebtorShare]]:
        return [(r, s) for r in self.rows for s in r.breaches]

    def chart_data(self) -> dict:
        labels, counts = ratio_histogram(r.figures.exposure_ratio for r in self.rows)
        return {
            "ratio": {"labels": labels, "counts": counts},
            "aging": aging_chart(self.currencies),
        }


def overview(clients=None, *, as_of: datetime.date | None = None, top_debtors: int = 10) -> Overview:
    """Clients by exposure ratio with bands, shortfalls, breaches, portfolio aging and top debtors per currency."""
    snap = risk_snapshot(clients, as_of=as_of)
    alert_counts = defaultdict(int)
    for client_pk in (
        Alert.objects.filter(_client_q(clients), status__in=Alert.ACTIVE_STATUSES)
        .order_by()
        .values_list("client_id", flat=True)
    ):
        alert_counts[client_pk] += 1
    rows = []
    totals: dict[str, CurrencyTotals] = {}
    for pk, client in snap.clients.items():
        fig = snap.figures[pk]
        band = exposure_band(fig.exposure_ratio, snap.policy.exposure_warning_level)
        rows.append(
            ClientRiskRow(
                client=client,
                figures=fig,
                band=band,
                aging=snap.aging[pk],
                concentration=snap.concentration[pk],
                open_alerts=alert_counts[pk],
            )
        )
        t = totals.setdefault(client.currency, CurrencyTotals(currency=client.currency))
        t.client_count += 1
        t.exposure += fig.exposure
        t.credit_limit += fig.credit_limit
        t.shortfall += fig.shortfall
        t.rolling_reserve += fig.rolling_reserve
        t.required_reserve += fig.required_reserve
        t.partner_rr += fig.partner_rr
        t.bands[band] += 1
    rows.sort(key=lambda r: (-r.figures.exposure_ratio, r.client.client_id))

    # Portfolio aging and top debtors per currency, from the same open receivables.
    per_debtor: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    debtor_clients: dict[tuple[str, int], set[int]] = defaultdict(set)
    debtors: dict[int, Debtor] = {}
    for r in snap.open_rows:
        if r.client_id not in snap.clients:
            continue
        t = totals.setdefault(r.currency, CurrencyTotals(currency=r.currency))
        t.aging.add(r.bucket, r.open_amount)
        per_debtor[(r.currency, r.debtor.pk)] += r.open_amount
        debtor_clients[(r.currency, r.debtor.pk)].add(r.client_id)
        debtors[r.debtor.pk] = r.debtor
    for t in totals.values():
        t.aging.finish()
    for (currency, debtor_pk), amount in per_debtor.items():
        t = totals[currency]
        t.top_debtors.append(
            DebtorTotal(
                debtor=debtors[debtor_pk],
                currency=currency,
                open_amount=amount,
                share=amount / t.aging.total_open,
                client_count=len(debtor_clients[(currency, debtor_pk)]),
            )
        )
    for t in totals.values():
        t.top_debtors.sort(key=lambda d: (-d.open_amount, d.debtor.debtor_id))
        del t.top_debtors[top_debtors:]
    return Overview(
        as_of=snap.as_of,
        policy=snap.policy,
        rows=rows,
        currencies=[totals[c] for c in sorted(totals)],
    )


# ------------------------------------------------------------------------ reserve validation


class DueTranche:
    """A reserve tranche as the reserve pages read it (no model instance: 70,000 of them on a big book)."""

    __slots__ = ("pk", "client_id", "amount", "currency", "due_date")

    def __init__(self, pk: int, client_id: int, amount: Decimal, currency: str, due_date: datetime.date):
        self.pk, self.client_id, self.amount, self.currency, self.due_date = pk, client_id, amount, currency, due_date

    def __repr__(self):
        return f"DueTranche({self.pk}, {self.amount} {self.currency} due {self.due_date})"


@dataclass
class ReserveRow:
    client: Client
    figures: object  # ClientFigures
    due: list[DueTranche]  # unreleased at D and due on or before D, oldest first
    releasable: list[DueTranche]
    held: list[DueTranche]  # held by the shortfall (DOMAIN.md section 4)

    @property
    def required(self) -> Decimal:
        return self.figures.required_reserve

    @property
    def actual(self) -> Decimal:
        return self.figures.rolling_reserve

    @property
    def shortfall(self) -> Decimal:
        return self.figures.shortfall

    @property
    def excess(self) -> Decimal:
        """Reserve balance above the required reserve at D (0.00 if none)."""
        return max(ZERO, self.actual - self.required)

    @property
    def due_total(self) -> Decimal:
        return sum((t.amount for t in self.due), ZERO)

    @property
    def releasable_total(self) -> Decimal:
        return sum((t.amount for t in self.releasable), ZERO)

    @property
    def held_total(self) -> Decimal:
        return sum((t.amount for t in self.held), ZERO)

    @property
    def balance_after_release(self) -> Decimal:
        return self.actual - self.releasable_total

    @property
    def needs_attention(self) -> bool:
        return bool(self.due) or self.shortfall > 0


def split_releasable(tranches: list, *, balance: Decimal, required: Decimal) -> tuple[list, list]:
    """DOMAIN.md section 4: oldest first (due date, then id); a tranche is released only if the
    balance after releasing it is still ≥ the required reserve; at the first that is not, it and
    the rest are held by the shortfall."""
    ordered = sorted(tranches, key=lambda t: (t.due_date, t.pk))
    released: list[ReserveTranche] = []
    for i, tranche in enumerate(ordered):
        if balance - tranche.amount >= required:
            balance -= tranche.amount
            released.append(tranche)
        else:
            return released, ordered[i:]
    return released, []


def reserve_validation(clients=None, *, as_of: datetime.date | None = None) -> list[ReserveRow]:
    """Per client: required vs actual reserve, shortfall, tranches due and those a release run at D
    would release or hold; partner RR beside it. Constant number of queries."""
    from ledger.selectors import client_figures

    as_of = _as_of(as_of)
    client_map = {c.pk: c for c in Client.objects.filter(_client_q(clients, prefix="pk")).select_related("partner")}
    figures = client_figures(list(client_map.values()), as_of=as_of) if client_map else {}
    due: dict[int, list[DueTranche]] = defaultdict(list)
    tranches = (
        ReserveTranche.objects.filter(_client_q(clients), created_on__lte=as_of, due_date__lte=as_of)
        .filter(Q(released_entry__isnull=True) | Q(released_on__gt=as_of))
        .order_by("client_id", "due_date", "id")
        .values_list("pk", "client_id", "amount", "currency", "due_date")
    )
    for row in tranches:
        due[row[1]].append(DueTranche(*row))
    rows = []
    for pk, client in client_map.items():
        fig = figures[pk]
        releasable, held = split_releasable(due[pk], balance=fig.rolling_reserve, required=fig.required_reserve)
        rows.append(ReserveRow(client=client, figures=fig, due=due[pk], releasable=releasable, held=held))
    rows.sort(key=lambda r: (not r.needs_attention, -r.shortfall, r.client.client_id))
    return rows


# ------------------------------------------------------------------------ fast portfolio reads
#
# The portfolio pages (`/` and `/risk/`) need per-currency totals over every client and every open
# receivable. ``overview()`` above is the reference: it builds every client's figures and every open
# receivable as Python objects. The reads below give the same numbers with SQL doing the summing:
# one row per client (its maintained balances and required reserve, no model instances), and small
# GROUP BY queries over the totals the database triggers maintain (``risk.models.OpenByDue`` …,
# risk/migrations/0003: open receivables per due date, per client and debtor, per debtor; unreleased
# tranches per due date), or, for the clients table's page, over the open receivables of its clients
# (partial covering index ``receivable_open_idx``, clients/migrations/0004). They are used when the
# maintained columns and totals are current at D (``maintained_at``); at an earlier D they fall back
# to the reference computation. ``tests/risk/test_fast_portfolio.py`` proves the equality.
#
# SQLite sums decimals as floats: every sum is rounded to the cent in Python (exact: the float error
# is far below half a cent) and every SQL comparison of a computed amount is on ROUND(x, 2).

# The maintained open test, written as the partial index's condition so that both planners use it.
OPEN_TERM = "{t}.face_value > {t}.collected + {t}.written_off"
TOP_LIST = 20  # rows of the bounded lists (shortfalls, breaches) on the overview

# The raw queries below are constants (no user input); their parameters are bound.
_OPEN_SUM = "SUM(r.face_value - r.collected - r.written_off)"
# On SQLite the open term can hold for a receivable whose float collected + written_off falls a hair short
# of its face value; only when something was written off (otherwise it compares stored values exactly).
_OPEN_WHERE = (
    f"{OPEN_TERM.format(t='r')} AND (r.written_off = 0 OR ROUND(r.face_value - r.collected - r.written_off, 2) > 0)"
    " AND r.issue_date <= %s"
)


_MAINTAINED_SQL = (
    "SELECT EXISTS (SELECT 1 FROM ledger_journalentry WHERE date > %s)"
    " OR EXISTS (SELECT 1 FROM clients_transaction WHERE type = %s AND date > %s)"
    " OR EXISTS (SELECT 1 FROM risk_openbydue WHERE issue_date > %s AND n > 0)"
)


def maintained_at(as_of: datetime.date) -> bool:
    """True when the maintained balances, receivable columns and totals (``risk.models.OpenByDue`` …) are the
    figures at D: nothing booked and nothing collected after D, and no receivable open now that was issued
    after D (one query, three ``EXISTS``)."""
    day = connection.ops.adapt_datefield_value(as_of)
    with connection.cursor() as cursor:
        cursor.execute(_MAINTAINED_SQL, [day, str(Transaction.Type.COLLECTION), day, day])
        return not cursor.fetchone()[0]


def _cents(value) -> Decimal:
    """An amount that SQL returned as whole cents (``CAST(ROUND(x * 100) AS BIGINT)``): exact on both
    engines, and much cheaper to read than a decimal column on SQLite (a float there)."""
    return Decimal(value or 0).scaleb(-2)


def _money(value, currency: str = "EUR") -> Decimal:
    """A summed amount from SQL (a float on SQLite, Decimal on PostgreSQL), exact to the cent."""
    if value is None:
        return ZERO
    return round_money(value if isinstance(value, Decimal) else to_decimal(value), currency)


_RATIO_SCALE = 10**30


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _to_cents(amount: Decimal) -> int:
    """An amount with at most two places as whole cents (exact)."""
    return int(amount.scaleb(2))


class ClientSummary:
    """A client's ledger figures at D without model instances: the same values as ``ClientFigures``,
    kept as whole cents (integer sums are exact and cheap) and shown as Decimals."""

    __slots__ = (
        "pk",
        "client_id",
        "name",
        "currency",
        "status",
        "limit_c",
        "exposure_c",
        "settlement_c",
        "reserve_c",
        "partner_rr_c",
        "required_c",
        "pending_c",
        "shortfall_c",
        "available_c",
        "ratio_key",
        "band",
    )

    def __init__(self, pk, client_id, name, currency, status, *, limit, exposure, settlement, reserve, partner_rr,
                 required, pending):  # fmt: skip
        self.pk, self.client_id, self.name, self.currency, self.status = pk, client_id, name, currency, status
        self.limit_c, self.exposure_c, self.settlement_c = limit, exposure, settlement
        self.reserve_c, self.partner_rr_c, self.required_c, self.pending_c = reserve, partner_rr, required, pending
        self.shortfall_c = max(0, required - reserve)
        self.available_c = max(0, settlement - pending - self.shortfall_c)
        # exposure / limit scaled by 10**30 and floored: orders clients exactly like the Decimal ratio
        # (two different ratios of cent amounts below 10**12 differ by more than 10**-24)
        self.ratio_key = exposure * _RATIO_SCALE // limit
        self.band = "ok"

    @property
    def exposure_ratio(self) -> Decimal:
        return Decimal(self.exposure_c) / Decimal(self.limit_c)  # unrounded, as ClientFigures

    def band_at(self, level: Decimal, level_micro: int | None) -> str:
        """``exposure_band(exposure_ratio, level)`` in integers (``level_micro`` = level × 10**6 when whole)."""
        if self.exposure_c > self.limit_c:
            return "over_limit"
        if level_micro is None:
            return exposure_band(self.exposure_ratio, level)
        return "warning" if self.exposure_c * 1_000_000 >= level_micro * self.limit_c else "ok"

    def histogram_bucket(self) -> int:
        """The ``ratio_histogram`` index of this client's ratio (int(ratio × 10) truncates toward zero)."""
        if self.exposure_c > self.limit_c:
            return 10
        tenths = abs(self.exposure_c) * 10 // self.limit_c
        return min(tenths if self.exposure_c >= 0 else -tenths, 9)

    credit_limit = property(lambda self: from_cents(self.limit_c))
    exposure = property(lambda self: from_cents(self.exposure_c))
    settlement = property(lambda self: from_cents(self.settlement_c))
    rolling_reserve = property(lambda self: from_cents(self.reserve_c))
    partner_rr = property(lambda self: from_cents(self.partner_rr_c))
    required_reserve = property(lambda self: from_cents(self.required_c))
    pending_payouts = property(lambda self: from_cents(self.pending_c))
    shortfall = property(lambda self: from_cents(self.shortfall_c))
    available = property(lambda self: from_cents(self.available_c))
    headroom = property(lambda self: from_cents(self.limit_c - self.exposure_c))

    @property
    def ratio_display(self) -> Decimal:
        return round_ratio(self.exposure_ratio)


_SUMMARIES_SQL = (
    "SELECT c.id, c.client_id, c.name, c.currency, c.status, CAST(ROUND(c.credit_limit * 100) AS BIGINT),"
    " CAST(ROUND(COALESCE(b.factoring, 0) * 100) AS BIGINT), CAST(ROUND(COALESCE(b.settlement, 0) * 100) AS BIGINT),"
    " CAST(ROUND(COALESCE(b.rolling_reserve, 0) * 100) AS BIGINT),"
    " CAST(ROUND(COALESCE(b.partner_rr, 0) * 100) AS BIGINT),"
    " (SELECT CAST(ROUND(COALESCE(SUM(t.amount), 0) * 100) AS BIGINT) FROM ledger_reservetranche t"
    "  WHERE t.client_id = c.id AND t.due_date > %s AND t.created_on <= %s"
    "  AND (t.released_on IS NULL OR t.released_on > %s))"
    " FROM clients_client c LEFT JOIN ("
    "  SELECT a.client_id,"
    "   SUM(CASE WHEN a.kind = 'factoring' THEN a.balance END) AS factoring,"
    "   SUM(CASE WHEN a.kind = 'settlement' THEN a.balance END) AS settlement,"
    "   SUM(CASE WHEN a.kind = 'rolling_reserve' THEN a.balance END) AS rolling_reserve,"
    "   SUM(CASE WHEN a.kind = 'partner_rr' THEN a.balance END) AS partner_rr"
    "  FROM ledger_account a WHERE a.client_id IS NOT NULL GROUP BY a.client_id"
    " ) b ON b.client_id = c.id"
)


# Per currency, in whole cents (exact integer arithmetic on both engines), the dashboard's client tallies:
# the ClientSummary figures (shortfall = max(0, required − reserve), available = max(0, settlement −
# pending − shortfall), ``band_at`` with a whole ``level_micro``) summed by SQL instead of 2,000 objects.
_TALLY_COLUMNS = (
    "clients",
    "available_n",
    "available",
    "over_limit_n",
    "over_limit",
    "warning_n",
    "warning",
    "shortfall_n",
    "shortfall",
)
_CLIENT_TALLIES_SQL = (
    # per client (MATERIALIZED: PostgreSQL would otherwise inline it and run the tranche subquery once per
    # reference to ``need``)
    "WITH s0 AS MATERIALIZED ("
    " SELECT c.currency, CAST(ROUND(c.credit_limit * 100) AS BIGINT) AS lim,"
    "  CAST(ROUND(COALESCE(b.factoring, 0) * 100) AS BIGINT) AS expo,"
    "  CAST(ROUND(COALESCE(b.settlement, 0) * 100) AS BIGINT) AS settle,"
    "  CAST(ROUND(COALESCE(b.rolling_reserve, 0) * 100) AS BIGINT) AS reserve,"
    "  COALESCE(p.pend, 0) AS pend,"
    "  (SELECT CAST(ROUND(COALESCE(SUM(t.amount), 0) * 100) AS BIGINT) FROM ledger_reservetranche t"
    "   WHERE t.client_id = c.id AND t.due_date > %s AND t.created_on <= %s"
    "   AND (t.released_on IS NULL OR t.released_on > %s)) AS need"
    " FROM clients_client c"
    " LEFT JOIN ("
    "  SELECT a.client_id,"
    "   SUM(CASE WHEN a.kind = 'factoring' THEN a.balance END) AS factoring,"
    "   SUM(CASE WHEN a.kind = 'settlement' THEN a.balance END) AS settlement,"
    "   SUM(CASE WHEN a.kind = 'rolling_reserve' THEN a.balance END) AS rolling_reserve"
    "  FROM ledger_account a WHERE a.client_id IS NOT NULL GROUP BY a.client_id"
    " ) b ON b.client_id = c.id"
    " LEFT JOIN (SELECT x.client_id, CAST(ROUND(SUM(x.amount) * 100) AS BIGINT) AS pend FROM payouts_payout x"
    "  WHERE x.status IN ({pending}) GROUP BY x.client_id) p ON p.client_id = c.id"
    ")"
    " SELECT currency, COUNT(*),"
    " SUM(CASE WHEN avail > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN avail > 0 THEN avail ELSE 0 END),"
    " SUM(CASE WHEN expo > lim THEN 1 ELSE 0 END), SUM(CASE WHEN expo > lim THEN expo ELSE 0 END),"
    " SUM(CASE WHEN expo <= lim AND expo * 1000000 >= %s * lim THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN expo <= lim AND expo * 1000000 >= %s * lim THEN expo ELSE 0 END),"
    " SUM(CASE WHEN short > 0 THEN 1 ELSE 0 END), SUM(short)"
    " FROM (SELECT currency, lim, expo, short, settle - pend - short AS avail FROM ("
    "  SELECT currency, lim, expo, settle, pend, CASE WHEN need > reserve THEN need - reserve ELSE 0 END AS short"
    "  FROM s0"
    " ) s1) s2 GROUP BY currency"
)


def _client_tallies_fast(as_of: datetime.date, level_micro: int) -> dict[str, dict[str, int]]:
    from payouts.models import PENDING_STATUSES

    day = connection.ops.adapt_datefield_value(as_of)
    sql = _CLIENT_TALLIES_SQL.format(pending=", ".join(["%s"] * len(PENDING_STATUSES)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [day, day, day, *[str(s) for s in PENDING_STATUSES], level_micro, level_micro])
        rows = cursor.fetchall()
    return {r[0]: dict(zip(_TALLY_COLUMNS, (int(v or 0) for v in r[1:]), strict=True)) for r in rows}


def dashboard_totals(
    as_of: datetime.date, horizon_end: datetime.date
) -> tuple[bool, dict[str, dict[str, int]], dict[str, ReceivableTotals]]:
    """The dashboard's portfolio figures at D: ``(fast, client tallies per currency, receivable totals)``.

    Client tallies: per currency, in whole cents, keyed by ``_TALLY_COLUMNS`` (clients; available,
    over-limit exposure, warning exposure and shortfall, each with its client count). When the maintained
    figures are current at D and the policy's warning level is a whole number of millionths, two grouped
    queries (the per-client figures of ``_summaries_fast`` summed in SQL: no row per client reaches Python)
    plus the receivable totals; else from ``portfolio`` (the reference, ``tallies_from_summaries``).
    """
    fast = maintained_at(as_of)
    micro = RiskPolicy.get().exposure_warning_level.scaleb(6)
    if fast and micro == int(micro):
        return True, _client_tallies_fast(as_of, int(micro)), _receivable_totals_fast(as_of, horizon_end)
    pf = portfolio(as_of=as_of, horizon_end=horizon_end, top_debtors=0, breaches=False)
    return pf.fast, tallies_from_summaries(pf.summaries), pf.receivables


def tallies_from_summaries(summaries: Iterable[ClientSummary]) -> dict[str, dict[str, int]]:
    """The reference for ``client_tallies``: the same counts and cents from ClientSummary objects."""
    out: dict[str, dict[str, int]] = {}
    for s in summaries:
        t = out.get(s.currency)
        if t is None:
            t = out[s.currency] = dict.fromkeys(_TALLY_COLUMNS, 0)
        t["clients"] += 1
        if s.available_c > 0:
            t["available_n"] += 1
            t["available"] += s.available_c
        if s.band == "over_limit":
            t["over_limit_n"] += 1
            t["over_limit"] += s.exposure_c
        elif s.band == "warning":
            t["warning_n"] += 1
            t["warning"] += s.exposure_c
        if s.shortfall_c > 0:
            t["shortfall_n"] += 1
            t["shortfall"] += s.shortfall_c
    return out


def _summaries_fast(as_of: datetime.date) -> list[ClientSummary]:
    """One query: every client with its maintained balances and its required reserve at D (unreleased
    tranches due after D, read through the tranches' (client, due date) index), amounts in cents."""
    from ledger.selectors import pending_payouts

    day = connection.ops.adapt_datefield_value(as_of)
    with connection.cursor() as cursor:
        cursor.execute(_SUMMARIES_SQL, [day, day, day])
        rows = cursor.fetchall()
    pending = {pk: _to_cents(amount) for pk, amount in pending_payouts(None).items()}
    return [
        ClientSummary(
            pk,
            client_id,
            name,
            currency,
            status,
            limit=limit,
            exposure=factoring,
            settlement=settlement,
            reserve=reserve,
            partner_rr=partner_rr,
            required=need,
            pending=pending.get(pk, 0),
        )
        for pk, client_id, name, currency, status, limit, factoring, settlement, reserve, partner_rr, need in rows
    ]


def _summaries_reference(as_of: datetime.date) -> list[ClientSummary]:
    from ledger.selectors import client_figures

    return [
        ClientSummary(
            pk,
            f.client.client_id,
            f.client.name,
            f.currency,
            f.client.status,
            limit=_to_cents(f.credit_limit),
            exposure=_to_cents(f.exposure),
            settlement=_to_cents(f.settlement),
            reserve=_to_cents(f.rolling_reserve),
            partner_rr=_to_cents(f.partner_rr),
            required=_to_cents(f.required_reserve),
            pending=_to_cents(f.pending_payouts),
        )
        for pk, f in client_figures(None, as_of=as_of).items()
    ]


@dataclass
class ReceivableTotals:
    """Open receivables of one currency at D: aging, overdue count, and those due by a horizon."""

    currency: str
    aging: Aging = field(default_factory=Aging)
    count: int = 0
    overdue_count: int = 0
    expected: Decimal = ZERO  # open amount due on or before the horizon (overdue ones included)
    expected_count: int = 0

    @property
    def overdue(self) -> Decimal:
        return self.aging.total_open - self.aging.buckets["current"]


_RECEIVABLE_TOTALS_SQL = (
    "SELECT currency, SUM(n),"
    " SUM(CASE WHEN due_date >= %s THEN amount_c END),"
    " SUM(CASE WHEN due_date < %s AND due_date >= %s THEN amount_c END),"
    " SUM(CASE WHEN due_date < %s AND due_date >= %s THEN amount_c END),"
    " SUM(CASE WHEN due_date < %s AND due_date >= %s THEN amount_c END),"
    " SUM(CASE WHEN due_date < %s THEN amount_c END),"
    " SUM(CASE WHEN due_date < %s THEN n ELSE 0 END),"
    " SUM(CASE WHEN due_date <= %s THEN amount_c END),"
    " SUM(CASE WHEN due_date <= %s THEN n ELSE 0 END)"
    " FROM risk_openbydue WHERE n > 0 AND issue_date <= %s GROUP BY currency"
)


def _receivable_totals_fast(as_of: datetime.date, horizon_end: datetime.date) -> dict[str, ReceivableTotals]:
    """One query over the maintained open totals per (currency, due date, issue date) (``OpenByDue``: a few
    thousand rows, not every open receivable): per currency the count, the aging buckets (days past due =
    D − due date, see ``bucket_for``: current from D on, then D−30, D−60, D−90 as lower bounds), the overdue
    count and what is due by the horizon."""
    day = datetime.timedelta(days=1)
    d30, d60, d90 = as_of - 30 * day, as_of - 60 * day, as_of - 90 * day
    params = [as_of, as_of, d30, d30, d60, d60, d90, d90, as_of, horizon_end, horizon_end, as_of]
    with connection.cursor() as cursor:
        cursor.execute(_RECEIVABLE_TOTALS_SQL, [connection.ops.adapt_datefield_value(d) for d in params])
        rows = cursor.fetchall()
    out: dict[str, ReceivableTotals] = {}
    for currency, count, *buckets, overdue_count, expected, expected_count in rows:
        t = out[currency] = ReceivableTotals(
            currency=currency,
            count=count,
            overdue_count=overdue_count or 0,
            expected=_cents(expected),
            expected_count=expected_count or 0,
        )
        for bucket, cents in zip(BUCKETS, buckets, strict=True):
            t.aging.add(bucket, _cents(cents))
        t.aging.finish()
    return out


def _receivable_totals_reference(rows: list[OpenReceivable], horizon_end: datetime.date) -> dict[str, ReceivableTotals]:
    out: dict[str, ReceivableTotals] = {}
    for r in rows:
        t = out.setdefault(r.currency, ReceivableTotals(currency=r.currency))
        t.aging.add(r.bucket, r.open_amount)
        t.count += 1
        if r.days_past_due > 0:
            t.overdue_count += 1
        if r.due_date <= horizon_end:
            t.expected += r.open_amount
            t.expected_count += 1
    for t in out.values():
        t.aging.finish()
    return out


# The currencies by a skip scan of ``risk_openbydebtor_amount_idx``, the ``top``-th largest open amount of each
# (the floor; 1 cent when fewer debtors), then every debtor at or above it read from the index (ties at the
# boundary included; Python orders them by amount, then debtor id). The floor is its own CTE: as a join term
# next to another bound SQLite ran it for every row of the currency.
_TOP_DEBTORS_SQL = (
    "WITH RECURSIVE c (currency) AS ("
    " SELECT MIN(currency) FROM risk_openbydebtor"
    " UNION ALL SELECT (SELECT MIN(x.currency) FROM risk_openbydebtor x WHERE x.currency > c.currency)"
    " FROM c WHERE c.currency IS NOT NULL),"
    " k (currency, lo) AS (SELECT currency, COALESCE((SELECT x.amount_c FROM risk_openbydebtor x"
    "  WHERE x.currency = c.currency AND x.amount_c > 0 ORDER BY x.amount_c DESC LIMIT 1 OFFSET %s), 1)"
    "  FROM c WHERE currency IS NOT NULL)"
    " SELECT t.currency, t.debtor_id, d.debtor_id, t.amount_c, t.clients FROM k"
    " JOIN risk_openbydebtor t ON t.currency = k.currency AND t.amount_c >= k.lo"
    " JOIN clients_debtor d ON d.id = t.debtor_id"
)
# Every (client, debtor) pair within a cent of its limit, against the client's open total.
_BREACH_CANDIDATES_SQL = (
    "SELECT p.client_id, p.debtor_id, p.amount_c, c.amount_c, d.concentration_limit FROM risk_openbyclient c"
    " JOIN risk_openbypair p ON p.client_id = c.client_id"
    " JOIN clients_debtor d ON d.id = p.debtor_id"
    " WHERE p.amount_c >= COALESCE(d.concentration_limit, %s) * c.amount_c - 1"
)


def _top_debtors_fast(as_of: datetime.date, totals: dict[str, ReceivableTotals], top: int) -> dict[str, list]:
    """The ``top`` debtors by open amount per currency (ties by debtor id) from the maintained per-debtor
    totals (``OpenByDebtor``, with their client counts), one query reading ``top`` rows or a few more per
    currency. Valid when ``maintained_at(as_of)``."""
    with connection.cursor() as cursor:
        cursor.execute(_TOP_DEBTORS_SQL, [top - 1])
        rows = sorted(cursor.fetchall(), key=lambda r: (r[0], -r[3], r[2]))
    chosen = []
    for currency, debtor_pk, _code, amount, clients in rows:
        if chosen and chosen[-1][0] == currency and chosen[-1][1] >= top:
            continue
        n = chosen[-1][1] + 1 if chosen and chosen[-1][0] == currency else 1
        chosen.append((currency, n, debtor_pk, amount, clients))
    debtors = Debtor.objects.in_bulk({r[2] for r in chosen})
    out: dict[str, list[DebtorTotal]] = defaultdict(list)
    for currency, _n, debtor_pk, amount, clients in chosen:
        amount = from_cents(amount)
        out[currency].append(
            DebtorTotal(
                debtor=debtors[debtor_pk],
                currency=currency,
                open_amount=amount,
                share=amount / totals[currency].aging.total_open,
                client_count=clients,
            )
        )
    return out


@dataclass(slots=True)
class Breach:
    """A debtor whose share of a client's open amount exceeds its limit (share > limit, unrounded)."""

    client_pk: int
    debtor_pk: int
    open_amount: Decimal
    share: Decimal
    limit: Decimal


def _breaches_fast(as_of: datetime.date, policy: RiskPolicy) -> list[Breach]:
    """Every concentration breach at D (one query over the maintained open totals per (client, debtor) and per
    client, ``OpenByPair`` and ``OpenByClient``; no model instances).

    SQL keeps the pairs within a cent of their limit (a superset: SQLite multiplies by the limit as a
    float); Python then applies the exact rule share > limit on the Decimals."""
    default = policy.default_concentration_limit
    with connection.cursor() as cursor:
        cursor.execute(_BREACH_CANDIDATES_SQL, [default])
        rows = cursor.fetchall()
    out = []
    for client_pk, debtor_pk, amount, total, limit in rows:
        amount, total = _cents(amount), _cents(total)
        limit = default if limit is None else (limit if isinstance(limit, Decimal) else to_decimal(limit))
        share = amount / total
        if share > limit:
            out.append(Breach(client_pk, debtor_pk, amount, share, limit))
    return out


def _breaches_reference(open_rows: list[OpenReceivable], client_pks: list[int], policy: RiskPolicy) -> list[Breach]:
    return [
        Breach(pk, s.debtor.pk, s.open_amount, s.share, s.limit)
        for pk, shares in _concentration_from(open_rows, client_pks, policy).items()
        for s in shares
        if s.breached
    ]


@dataclass
class Portfolio:
    """Every client's ledger figures at D (highest exposure ratio first) and the per-currency totals."""

    as_of: datetime.date
    policy: RiskPolicy
    fast: bool  # computed on the maintained columns (else by the reference path)
    summaries: list[ClientSummary]
    currencies: list[CurrencyTotals]
    receivables: dict[str, ReceivableTotals]
    breach_list: list[Breach] = field(default_factory=list)  # highest share first

    @property
    def by_pk(self) -> dict[int, ClientSummary]:
        return {s.pk: s for s in self.summaries}

    @property
    def shortfalls(self) -> list[ClientSummary]:
        """Clients short of reserve, largest shortfall first."""
        return sorted((s for s in self.summaries if s.shortfall_c > 0), key=lambda s: (-s.shortfall_c, s.client_id))

    @property
    def breached_client_pks(self) -> set[int]:
        return {b.client_pk for b in self.breach_list}

    def breaches(self, limit: int | None = None) -> list[tuple[ClientSummary, DebtorShare]]:
        """The first ``limit`` breaches (all when None) with their debtors (one query)."""
        chosen = self.breach_list if limit is None else self.breach_list[:limit]
        debtors = Debtor.objects.in_bulk({b.debtor_pk for b in chosen}) if chosen else {}
        by_pk = self.by_pk
        return [
            (
                by_pk[b.client_pk],
                DebtorShare(
                    debtor=debtors[b.debtor_pk], open_amount=b.open_amount, share=b.share, limit=b.limit, breached=True
                ),
            )
            for b in chosen
        ]

    def chart_data(self) -> dict:
        labels, counts = ratio_histogram([])
        for s in self.summaries:
            counts[s.histogram_bucket()] += 1
        return {
            "ratio": {"labels": labels, "counts": counts},
            "aging": aging_chart(self.currencies),
        }


def portfolio(
    *,
    as_of: datetime.date | None = None,
    horizon_end: datetime.date | None = None,
    top_debtors: int = 10,
    breaches: bool = True,
) -> Portfolio:
    """Per-currency totals of the whole book at D in a constant number of queries, computed in SQL on
    the maintained columns when they are current at D (see the section comment), else by the reference
    path. ``top_debtors=0`` and ``breaches=False`` skip those two queries (the dashboard needs neither)."""
    as_of = _as_of(as_of)
    horizon_end = horizon_end or as_of
    policy = RiskPolicy.get()
    fast = maintained_at(as_of)
    if fast:
        summaries = _summaries_fast(as_of)
        receivables = _receivable_totals_fast(as_of, horizon_end)
    else:
        summaries = _summaries_reference(as_of)
        open_rows = open_receivables(None, as_of=as_of)
        receivables = _receivable_totals_reference(open_rows, horizon_end)
    level = policy.exposure_warning_level
    level_micro = int(level.scaleb(6)) if level.scaleb(6) == int(level.scaleb(6)) else None
    sums: dict[str, list[int]] = {}  # currency → [clients, exposure, limit, shortfall, reserve, required, partner]
    bands: dict[str, dict[str, int]] = {}
    for s in summaries:
        s.band = s.band_at(level, level_micro)
        t = sums.get(s.currency)
        if t is None:
            t = sums[s.currency] = [0] * 7
            bands[s.currency] = dict.fromkeys(EXPOSURE_BANDS, 0)
        t[0] += 1
        t[1] += s.exposure_c
        t[2] += s.limit_c
        t[3] += s.shortfall_c
        t[4] += s.reserve_c
        t[5] += s.required_c
        t[6] += s.partner_rr_c
        bands[s.currency][s.band] += 1
    totals = {
        currency: CurrencyTotals(
            currency=currency,
            client_count=t[0],
            exposure=from_cents(t[1]),
            credit_limit=from_cents(t[2]),
            shortfall=from_cents(t[3]),
            rolling_reserve=from_cents(t[4]),
            required_reserve=from_cents(t[5]),
            partner_rr=from_cents(t[6]),
            bands=bands[currency],
        )
        for currency, t in sums.items()
    }
    for currency, r in receivables.items():
        totals.setdefault(currency, CurrencyTotals(currency=currency)).aging = r.aging
    summaries.sort(key=lambda s: (-s.ratio_key, s.client_id))
    result = Portfolio(
        as_of=as_of,
        policy=policy,
        fast=fast,
        summaries=summaries,
        currencies=[totals[c] for c in sorted(totals)],
        receivables=receivables,
    )
    if fast:
        if top_debtors and receivables:
            for currency, debtors in _top_debtors_fast(as_of, receivables, top_debtors).items():
                totals[currency].top_debtors = debtors
        if breaches:
            result.breach_list = _breaches_fast(as_of, policy)
    else:
        if breaches:
            result.breach_list = _breaches_reference(open_rows, [s.pk for s in summaries], policy)
        if top_debtors:
            _top_debtors_reference(result, open_rows, top_debtors)
    client_ids = {s.pk: s.client_id for s in summaries}
    result.breach_list.sort(key=lambda b: (-b.share, client_ids[b.client_pk], b.debtor_pk))
    return result


def _top_debtors_reference(result: Portfolio, open_rows: list[OpenReceivable], top_debtors: int) -> None:
    """Top debtors per currency from the open receivables as objects (the reference path)."""
    per_debtor: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    debtor_clients: dict[tuple[str, int], set[int]] = defaultdict(set)
    debtors: dict[int, Debtor] = {}
    for r in open_rows:
        per_debtor[(r.currency, r.debtor.pk)] += r.open_amount
        debtor_clients[(r.currency, r.debtor.pk)].add(r.client_id)
        debtors[r.debtor.pk] = r.debtor
    by_currency = {t.currency: t for t in result.currencies}
    for (currency, debtor_pk), amount in per_debtor.items():
        by_currency[currency].top_debtors.append(
            DebtorTotal(
                debtor=debtors[debtor_pk],
                currency=currency,
                open_amount=amount,
                share=amount / result.receivables[currency].aging.total_open,
                client_count=len(debtor_clients[(currency, debtor_pk)]),
            )
        )
    for t in by_currency.values():
        t.top_debtors.sort(key=lambda d: (-d.open_amount, d.debtor.debtor_id))
        del t.top_debtors[top_debtors:]


_CLIENT_DEBTOR_SQL = (
    "SELECT r.client_id, r.debtor_id, d.debtor_id,"  # noqa: S608
    f" CAST(ROUND({_OPEN_SUM} * 100) AS BIGINT),"
    f" CAST(ROUND(SUM(CASE WHEN r.due_date < %s THEN r.face_value - r.collected - r.written_off END) * 100) AS BIGINT)"
    " FROM clients_receivable r JOIN clients_debtor d ON d.id = r.debtor_id"
    f" WHERE {_OPEN_WHERE}{{clients}} GROUP BY r.client_id, r.debtor_id, d.debtor_id"
)


@dataclass
class ClientRisk:
    """A client's largest debtor share and overdue share at D (the clients table's two risk columns)."""

    top_share: DebtorShare | None = None
    overdue_share: Decimal | None = None  # unrounded; None when nothing is open


def client_risk(client_pks: list[int] | None, *, as_of: datetime.date, policy: RiskPolicy, fast: bool) -> dict:
    """Per client pk (all clients when None): its top debtor share and overdue share, as
    ``debtor_concentration`` and ``aging`` give them. ``fast`` (maintained columns current at D): one
    grouped query per (client, debtor) on ``receivable_open_idx`` and one for the top debtors; else from
    ``open_receivables``."""
    if not fast:
        rows = open_receivables(client_pks, as_of=as_of)
        pks = client_pks if client_pks is not None else sorted({r.client_id for r in rows})
        concentration, ages = _concentration_from(rows, pks, policy), _aging_from(rows, pks)
        return {
            pk: ClientRisk((concentration.get(pk) or [None])[0], ages[pk].overdue_share if pk in ages else None)
            for pk in pks
        }
    where, params = "", [as_of - datetime.timedelta(days=90), as_of]
    if client_pks is not None:
        if not client_pks:
            return {}
        where = f" AND r.client_id IN ({', '.join(['%s'] * len(client_pks))})"
        params += list(client_pks)
    with connection.cursor() as cursor:
        cursor.execute(
            _CLIENT_DEBTOR_SQL.format(clients=where),
            [connection.ops.adapt_datefield_value(p) for p in params[:2]] + params[2:],
        )
        rows = cursor.fetchall()
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # client → [open, open > 90 days past due]
    top: dict[int, tuple[int, str, int]] = {}  # client → (cents, debtor code, debtor pk) of its largest debtor
    for client_pk, debtor_pk, code, cents, late in rows:
        t = totals[client_pk]
        t[0] += cents
        t[1] += late or 0
        best = top.get(client_pk)
        if best is None or (-cents, code) < (-best[0], best[1]):
            top[client_pk] = (cents, code, debtor_pk)
    debtors = Debtor.objects.in_bulk({d for _c, _code, d in top.values()}) if top else {}
    out = {}
    for client_pk, (open_c, late_c) in totals.items():
        cents, _code, debtor_pk = top[client_pk]
        debtor = debtors[debtor_pk]
        limit = (
            debtor.concentration_limit if debtor.concentration_limit is not None else policy.default_concentration_limit
        )
        share = from_cents(cents) / from_cents(open_c)
        out[client_pk] = ClientRisk(
            DebtorShare(debtor=debtor, open_amount=from_cents(cents), share=share, limit=limit, breached=share > limit),
            from_cents(late_c) / from_cents(open_c),
        )
    return out


_RELEASES_DUE_SQL = (
    "SELECT currency, SUM(amount_c), SUM(n) FROM risk_unreleasedbydue"
    " WHERE n > 0 AND due_date <= %s AND created_on <= %s GROUP BY currency"
)


def releases_due_by_currency(as_of: datetime.date, *, fast: bool | None = None) -> dict[str, tuple[Decimal, int]]:
    """Unreleased tranches due on or before D, per currency: ``{currency: (amount, count)}`` (one query).

    When the maintained figures are current at D (``fast``; asked with ``maintained_at`` when None) no
    release is dated after D, so "unreleased at D" is "not released": the maintained unreleased totals per
    (currency, due date, creation date) answer it (``UnreleasedByDue``: a few thousand rows).
    """
    if fast is None:
        fast = maintained_at(as_of)
    if fast:
        day = connection.ops.adapt_datefield_value(as_of)
        with connection.cursor() as cursor:
            cursor.execute(_RELEASES_DUE_SQL, [day, day])
            return {currency: (from_cents(cents), count) for currency, cents, count in cursor.fetchall()}
    rows = (
        ReserveTranche.objects.filter(
            Q(released_on__isnull=True) | Q(released_on__gt=as_of), created_on__lte=as_of, due_date__lte=as_of
        )
        .order_by()
        .values("currency")
        .annotate(total=Sum("amount"), n=Count("pk"))
    )
    return {r["currency"]: (_money(r["total"], r["currency"]), r["n"]) for r in rows}
