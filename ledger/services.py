"""The booking service: the one write path into the ledger (DOMAIN.md section 4).

Every part of the product books through here: the workbook import (:func:`book_transactions`),
payouts (:func:`book_payout`, :func:`book_payout_return`), reserve releases
(:func:`release_reserves`), write-offs and manual adjustments: single events and batches
through :func:`_book`, transactions through :class:`TransactionBooker`. Both, inside one
database transaction:

1. lock the touched accounts in ascending pk order (``select_for_update``: no deadlocks),
2. refuse an entry whose debits ≠ credits (:func:`_check_balanced`; PostgreSQL re-checks at
   commit with a deferred constraint trigger),
3. move the accounts' balances (:func:`_post`) and end in :func:`_write`, which inserts entries
   and postings in bulk, each posting carrying the account's running balance after it, and
4. update the maintained account balances and receivable totals.

A source (``source_type``, ``source_key``) posts at most once: a UNIQUE constraint, and the
service returns the existing entry instead of booking again.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from atlas.money import ZERO, round_money
from atlas.perf import padded
from clients.models import Client, Receivable
from ledger.bulk import insert_rows, instance, update_rows
from ledger.models import (
    CLIENT_KINDS,
    HOUSE_KINDS,
    NORMAL_SIDE,
    Account,
    AccountKind,
    EntryType,
    JournalEntry,
    Posting,
    ReserveTranche,
    Side,
    SourceType,
)
from ledger.rules import BookState, C, ClientTerms, D, ReceivableState, RuleError, legs_for

logger = logging.getLogger("atlas.ledger")


class LedgerError(Exception):
    """A booking the ledger refuses. ``problems``: ``(key, field, message)`` per refused item."""

    def __init__(self, message: str, problems: list[tuple] | None = None):
        self.problems = problems or []
        if self.problems:
            message = f"{message}: " + "; ".join(str(p[2]) for p in self.problems)
        super().__init__(message)
        self.message = message


@dataclass
class EntrySpec:
    date: datetime.date
    type: str
    currency: str
    source_type: str
    source_key: str
    legs: list  # (Account, side, amount)
    client_id: int | None = None
    transaction_id: int | None = None
    receivable_id: int | None = None
    description: str = ""
    reverses_id: int | None = None


@dataclass
class ReleaseResult:
    released: list[ReserveTranche] = field(default_factory=list)
    held: list[ReserveTranche] = field(default_factory=list)


# --------------------------------------------------------------------------- accounts


def ensure_accounts(clients, currencies=()) -> tuple[dict, dict]:
    """Create missing subaccounts of ``clients`` and house accounts of their currencies.

    Returns ``(client_accounts, house_accounts)``: ``{(client_pk, kind): Account}`` and
    ``{(currency, kind): Account}``. Safe under concurrency (``ignore_conflicts``).
    """
    clients = list(clients)
    client_pks = [c.pk for c in clients]
    currencies = set(currencies) | {c.currency for c in clients}
    existing = Account.objects.filter(Q(client_id__in=client_pks) | Q(client__isnull=True, currency__in=currencies))
    have = {(a.client_id, a.kind) if a.client_id else (a.currency, a.kind) for a in existing}
    missing = [
        Account(client_id=c.pk, kind=k, currency=c.currency, normal_side=NORMAL_SIDE[k])
        for c in clients
        for k in CLIENT_KINDS
        if (c.pk, k) not in have
    ] + [
        Account(client=None, kind=k, currency=cur, normal_side=NORMAL_SIDE[k])
        for cur in sorted(currencies)
        for k in HOUSE_KINDS
        if (cur, k) not in have
    ]
    if missing:
        Account.objects.bulk_create(missing, ignore_conflicts=True, batch_size=2000)
        existing = Account.objects.filter(Q(client_id__in=client_pks) | Q(client__isnull=True, currency__in=currencies))
    client_accts, house_accts = {}, {}
    for a in existing:
        if a.client_id:
            client_accts[(a.client_id, a.kind)] = a
        else:
            house_accts[(a.currency, a.kind)] = a
    return client_accts, house_accts


def client_accounts(client: Client) -> dict[str, Account]:
    """The client's four subaccounts by kind, created if missing."""
    accts, _ = ensure_accounts([client])
    return {kind: accts[(client.pk, kind)] for kind in CLIENT_KINDS}


def house_account(currency: str, kind: str) -> Account:
    _, house = ensure_accounts([], currencies=[currency])
    return house[(currency, kind)]


# --------------------------------------------------------------------------- the write path


def _signed(account: Account, side: str, amount: Decimal) -> Decimal:
    return amount if side == account.normal_side else -amount


def _check_balanced(legs: list, currency: str, source: str) -> Decimal:
    """Refuse an entry (``source`` names it) of fewer than two legs, a leg ≤ 0 or in another currency,
    or debits ≠ credits; return its debits."""
    if len(legs) < 2:
        raise LedgerError(f"entry {source} needs at least two postings")
    debit = credit = ZERO
    for account, side, amount in legs:
        if amount <= 0:
            raise LedgerError(f"posting amounts must be > 0 (got {amount})")
        if account.currency != currency:
            raise LedgerError(f"account {account} is not in the entry's currency {currency}")
        if side == D:
            debit += amount
        elif side == C:
            credit += amount
        else:
            raise LedgerError(f"unknown side {side!r}")
    if debit != credit:
        raise LedgerError(f"unbalanced entry {source}: debits {debit} ≠ credits {credit}")
    return debit


def _lock_accounts(account_pks) -> dict[int, Account]:
    """Lock accounts in ascending pk order and return fresh rows (current balances)."""
    rows = Account.objects.select_for_update().filter(pk__in=sorted(set(account_pks))).order_by("pk")
    return {a.pk: a for a in rows}


def _post(legs: list, date: datetime.date, touched: set) -> list[tuple]:
    """Move the balances and posting counts of the (locked) accounts of ``legs``; return each leg's
    posting row without its entry: ``(account_id, side, amount, date, balance after it)``."""
    rows = []
    for acct, side, amount in legs:
        if side == acct.normal_side:
            acct.balance += amount
        else:
            acct.balance -= amount
        acct.posting_count += 1
        touched.add(acct.id)
        rows.append((acct.id, side, amount, date, acct.balance))
    return rows


ENTRY_FIELDS = [
    "date",
    "type",
    "currency",
    "client_id",
    "source_type",
    "source_key",
    "transaction_id",
    "receivable_id",
    "amount",
    "description",
    "reverses_id",
]
POSTING_FIELDS = ["entry_id", "account_id", "side", "amount", "date", "balance_after"]


def _write(entry_rows: list[tuple], posting_rows: list[list], *, instances: bool, fixed_sizes: bool) -> list:
    """Insert entries (rows in :data:`ENTRY_FIELDS` order) and their postings (per entry, rows from
    :func:`_post`); return the entries as instances, or ``[]`` if not ``instances``."""
    created_at = timezone.now()
    entry_pks = insert_rows(
        JournalEntry, ENTRY_FIELDS, entry_rows, returning=True, now=created_at, fixed_sizes=fixed_sizes
    )
    postings = [(pk, *leg) for pk, legs in zip(entry_pks, posting_rows, strict=True) for leg in legs]
    insert_rows(Posting, POSTING_FIELDS, postings, fixed_sizes=fixed_sizes)
    if not instances:
        return []
    return [
        instance(JournalEntry, {"id": pk, "created_at": created_at, **dict(zip(ENTRY_FIELDS, row, strict=True))})
        for pk, row in zip(entry_pks, entry_rows, strict=True)
    ]


def _book(
    specs: list[EntrySpec],
    locked: dict[int, Account] | None = None,
    *,
    instances: bool = True,
) -> list[JournalEntry]:
    """Insert entries and postings, maintain balances. Call inside ``transaction.atomic``.
    ``instances=False``: return ``[]`` (the caller needs no entry objects)."""
    if not specs:
        return []
    for spec in specs:
        spec.legs = [leg for leg in spec.legs if leg[2] != 0]
    debits = [_check_balanced(spec.legs, spec.currency, f"{spec.source_type}:{spec.source_key}") for spec in specs]
    if locked is None:
        locked = _lock_accounts(a.pk for spec in specs for a, _, _ in spec.legs)
    touched: set[int] = set()
    entry_rows, posting_rows = [], []
    for spec, debit in zip(specs, debits, strict=True):
        posting_rows.append(_post([(locked[a.pk], side, amt) for a, side, amt in spec.legs], spec.date, touched))
        entry_rows.append(
            (
                spec.date,
                spec.type,
                spec.currency,
                spec.client_id,
                spec.source_type,
                spec.source_key,
                spec.transaction_id,
                spec.receivable_id,
                debit,
                spec.description[:255],
                spec.reverses_id,
            )
        )
    entries = _write(entry_rows, posting_rows, instances=instances, fixed_sizes=False)
    update_rows(Account, ["balance", "posting_count"], [locked[pk] for pk in sorted(touched)])
    for spec in specs:
        for account, _, _ in spec.legs:
            fresh = locked[account.pk]
            account.balance, account.posting_count = fresh.balance, fresh.posting_count
    return entries


def _existing(source_type: str, source_key: str) -> JournalEntry | None:
    return JournalEntry.objects.filter(source_type=source_type, source_key=source_key).first()


def post_entry(
    *,
    date: datetime.date,
    type: str,
    currency: str,
    source_type: str,
    source_key: str,
    legs: list[tuple[Account, str, Decimal]],
    client=None,
    transaction=None,
    receivable=None,
    description: str = "",
    reverses=None,
) -> JournalEntry:
    """Book one entry. Idempotent per source: a second call returns the first entry."""
    from django.db import transaction as db_transaction

    spec = EntrySpec(
        date=date,
        type=type,
        currency=currency,
        source_type=source_type,
        source_key=str(source_key),
        legs=list(legs),
        client_id=getattr(client, "pk", client),
        transaction_id=getattr(transaction, "pk", transaction),
        receivable_id=getattr(receivable, "pk", receivable),
        description=description,
        reverses_id=getattr(reverses, "pk", reverses),
    )
    with db_transaction.atomic():
        found = _existing(spec.source_type, spec.source_key)
        if found:
            return found
        try:
            with db_transaction.atomic():
                (entry,) = _book([spec])
        except IntegrityError:
            found = _existing(spec.source_type, spec.source_key)
            if found:
                return found
            raise
    _after_booking({spec.client_id} if spec.client_id else set())
    return entry


class _AlertsOnCommit:
    """One alert evaluation per committed transaction for every client it booked for.

    A batch of 1,000 payouts books 1,000 entries in one transaction; one callback each would
    re-evaluate the alerts 1,000 times at commit (most of the batch's time). A pending callback
    still queued on this connection collects the further clients instead.
    """

    def __init__(self):
        self.client_pks: set = set()

    def __call__(self):
        try:
            from risk.services import evaluate_alerts
        except ImportError:
            return
        try:
            evaluate_alerts(clients=Client.objects.filter(pk__in=self.client_pks))
        except Exception:  # alerts must never undo or hide a committed booking
            logger.exception("alert evaluation after booking failed")


def _after_booking(client_pks: set) -> None:
    """Re-evaluate risk alerts for the touched clients once the booking has committed."""
    if not client_pks:
        return
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        for _sids, func, _robust in reversed(conn.run_on_commit):
            if isinstance(func, _AlertsOnCommit):
                func.client_pks |= set(client_pks)
                return
    run = _AlertsOnCommit()
    run.client_pks |= set(client_pks)
    transaction.on_commit(run)


# --------------------------------------------------------------------------- transactions


def _receivable_state(r: Receivable, advance_rate: Decimal) -> ReceivableState:
    return ReceivableState(
        face_value=r.face_value,
        advance_cap=round_money(advance_rate * r.face_value, r.currency),
        advanced=r.advanced,
        reduced=r.reduced,
        collected=r.collected,
        written_off=r.written_off,
    )


_NORMAL_SIDE_BY_KIND = {str(kind): NORMAL_SIDE[kind].value for kind in NORMAL_SIDE}


def _normal_side(key) -> str:
    """:func:`ledger.rules.normal_side_of` as one dict lookup (called for every leg)."""
    return _NORMAL_SIDE_BY_KIND[key[2]]


BOOK_CHUNK = 2000  # entries written per _write call (TransactionBooker) (memory stays flat on a large import)


def book_transactions(
    transactions,
    *,
    evaluate_alerts: bool = True,
    keep_entries: bool = True,
    booker: TransactionBooker | None = None,
    final: bool = True,
) -> list[JournalEntry]:
    """Book saved :class:`Transaction` rows by the posting rules, in (date, row) order.

    Transactions already booked are skipped (idempotent). Creates the reserve tranches of
    collections and maintains the receivables' totals. Every rule violation is collected and
    raised together as :class:`LedgerError` (nothing is written then: entries are written in
    chunks of :data:`BOOK_CHUNK` while no violation has been found, and the savepoint rolls
    them back if one is). ``keep_entries=False`` returns ``[]`` instead of the entries (a
    large import only needs the count: every transaction it hands over is booked or it fails).

    ``booker``: feed this :class:`TransactionBooker` instead (the caller's transaction; chunks
    handed over in booking order, each after the one before); ``final=False`` only adds the
    chunk, ``final=True`` finishes the booking (writes the rest, raises the violations).
    """
    txns = sorted(transactions, key=lambda t: (t.date, t.source_row or 0, t.pk))
    if booker is not None:
        booker.add(txns)
        if not final:
            return []
        entries = booker.finish()
        if evaluate_alerts:
            _after_booking(set(booker.clients))
        return entries
    if not txns:
        return []
    with transaction.atomic():
        booker = TransactionBooker(keep_entries=keep_entries)
        booker.add(txns)
        entries = booker.finish()
    if evaluate_alerts:
        _after_booking(set(booker.clients))
    return entries


class TransactionBooker:
    """:func:`book_transactions` fed in pieces: ``add(chunk)`` for each chunk in booking order, then
    ``finish()``. Call inside ``transaction.atomic()`` (the caller's block rolls back a failure).

    The rule state (account balances, receivable totals) stays in memory between chunks, so
    feeding transactions already in (date, row) order chunk by chunk books exactly what one
    :func:`book_transactions` call over all of them books (the import streams its Transactions
    sheet this way). Clients' accounts and receivables are loaded and locked when a chunk first
    refers to them (``preload`` locks a known set of clients' accounts up front, in one sorted
    lock). Violations are collected; once one is found nothing more is written, later chunks are
    still checked, and ``finish`` raises them all as :class:`LedgerError` (``.transactions``: the
    refused transactions by pk). The account rows are written once, by ``finish`` (their balances
    and posting counts stay in the locked ``Account`` objects meanwhile).
    """

    def __init__(self, *, keep_entries: bool = True, fixed_sizes: bool = False, fresh: bool = False):
        self.keep_entries = keep_entries
        self.fixed_sizes = fixed_sizes  # INSERTs of a few statement sizes (a large import: ledger.bulk.insert_rows)
        self.fresh = fresh  # the transactions were just inserted by the caller: none can be booked yet
        self.touched_accounts: set[int] = set()  # balances kept in the locked accounts, written once by finish()
        self.clients: dict[int, Client] = {}
        self.terms: dict[int, ClientTerms] = {}
        self.accounts: dict = {}  # rule account key ("c", client pk, kind) / ("h", currency, kind) → locked Account
        self.rstates: dict[int, _RecState] = {}
        self.state = BookState(balances=_Balances(self.accounts))
        self.problems: list[tuple] = []
        self.refused: dict = {}
        self.entry_rows: list[tuple] = []  # written every BOOK_CHUNK entries (ENTRY_FIELDS order)
        self.posting_rows: list[list] = []  # per entry, from _post
        self.tranches: list[tuple] = []
        self.entries: list[JournalEntry] = []
        self.count = 0
        self._zeros: dict = {}

    def preload(self, client_pks) -> None:
        """Load and lock the accounts of these clients now (one sorted lock)."""
        self._load_clients(set(client_pks))

    def _load_clients(self, pks: set) -> None:
        pks = pks - self.clients.keys()
        if not pks:
            return
        clients = {c.pk: c for c in Client.objects.filter(pk__in=pks)}
        accts, house = ensure_accounts(clients.values())
        keys = {("c", *k): a.pk for k, a in accts.items()} | {("h", *k): a.pk for k, a in house.items()}
        keys = {key: pk for key, pk in keys.items() if key not in self.accounts}
        locked = _lock_accounts(keys.values())
        self.accounts.update((key, locked[pk]) for key, pk in keys.items())
        self.clients.update(clients)
        for c in clients.values():
            self.terms[c.pk] = ClientTerms(c.currency, c.reserve_rate, c.reserve_hold_days)

    def _zero(self, value: Decimal) -> Decimal:
        """One shared object per zero of a scale (a large import loads 100,000 receivables at 0.00)."""
        if value:
            return value
        return self._zeros.setdefault(str(value), value)  # "0.00": one per scale

    def _load(self, txns) -> None:
        rec_pks = sorted({t.receivable_id for t in txns if t.receivable_id} - self.rstates.keys())
        rows = _receivable_rows(rec_pks)
        self._load_clients({t.client_id for t in txns} | {r[1] for r in rows})
        z = self._zero
        clients = self.clients
        for pk, client_pk, currency, face_value, advanced, reduced, collected, written_off in rows:
            client = clients[client_pk]
            self.rstates[pk] = _RecState(
                client_pk=client.pk,
                face_value=face_value,
                advance_rate=client.advance_rate,
                currency=client.currency if client.currency == currency else currency,
                advanced=z(advanced),
                reduced=z(reduced),
                collected=z(collected),
                written_off=z(written_off),
            )

    def _flush(self) -> None:
        self.entries.extend(
            _write(self.entry_rows, self.posting_rows, instances=self.keep_entries, fixed_sizes=self.fixed_sizes)
        )
        insert_rows(
            ReserveTranche,
            ["client_id", "transaction_id", "amount", "currency", "created_on", "due_date"],
            self.tranches,
            fixed_sizes=self.fixed_sizes,
        )
        self.entry_rows.clear()
        self.posting_rows.clear()
        self.tranches.clear()

    def add(self, txns) -> None:
        """Book ``txns`` (in booking order, after every earlier chunk)."""
        if not txns:
            return
        if not self.fresh:
            booked = set(
                JournalEntry.objects.filter(
                    source_type=SourceType.TRANSACTION, transaction_id__in=[t.pk for t in txns]
                ).values_list("transaction_id", flat=True)
            )
            if booked:
                txns = [t for t in txns if t.pk not in booked]
        if not txns:
            return
        self._load(txns)
        clients, terms, rstates, state, accounts = self.clients, self.terms, self.rstates, self.state, self.accounts
        problems, entry_rows, posting_rows, tranches = self.problems, self.entry_rows, self.posting_rows, self.tranches
        touched = self.touched_accounts
        for t in txns:
            client_pk, currency = t.client_id, t.currency
            client = clients[client_pk]
            rstate = rstates.get(t.receivable_id) if t.receivable_id else None
            try:
                if currency != client.currency:
                    raise RuleError(f"currency {currency} is not the client's currency {client.currency}", "currency")
                if rstate is not None and rstate.client_pk != client_pk:
                    raise RuleError("the receivable belongs to another client", "receivable_id")
                outcome = legs_for(
                    type=t.type,
                    amount=t.amount,
                    date=t.date,
                    client_pk=client_pk,
                    terms=terms[client_pk],
                    receivable=rstate,
                    state=state,
                )
            except RuleError as exc:
                problems.append((t.pk, exc.field, exc.message))
                self.refused[t.pk] = t
                continue
            source_key = str(t.pk)
            legs = [(accounts[key], side, amount) for key, side, amount in outcome.legs]
            debit = _check_balanced(legs, currency, f"{SourceType.TRANSACTION}:{source_key}")
            postings = _post(legs, t.date, touched)  # the rule state: balances live in the locked accounts
            for attr, delta in outcome.receivable_delta.items():
                old = getattr(rstate, attr)
                # 0.00 + x is x: keep x itself (same value and scale) instead of a new Decimal per receivable
                if old or old.as_tuple().exponent != delta.as_tuple().exponent:
                    delta = old + delta
                setattr(rstate, attr, delta)
                rstate.changed |= _CHANGES[attr]
            self.count += 1
            if problems:  # nothing more will be written: keep checking without holding entries
                continue
            entry_rows.append(
                (
                    t.date,
                    t.type,
                    currency,
                    client_pk,
                    SourceType.TRANSACTION,
                    source_key,
                    t.pk,
                    t.receivable_id,
                    debit,
                    (t.reference or f"{t.type} {t.txn_id}")[:255],
                    None,
                )
            )
            posting_rows.append(postings)
            if outcome.tranche > 0:
                tranches.append((client_pk, t.pk, outcome.tranche, currency, t.date, outcome.tranche_due))
            if len(entry_rows) >= BOOK_CHUNK:
                self._flush()
        if problems:
            entry_rows.clear()
            posting_rows.clear()
            tranches.clear()

    def finish(self) -> list[JournalEntry]:
        """Write what is left and the receivables' totals; raise every violation found."""
        if self.problems:
            exc = LedgerError(f"{len(self.problems)} transaction(s) break the posting rules", self.problems)
            exc.transactions = self.refused
            raise exc
        self._flush()
        by_pk = {a.pk: a for a in self.accounts.values()}
        update_rows(Account, ["balance", "posting_count"], [by_pk[pk] for pk in sorted(self.touched_accounts)])
        self.touched_accounts.clear()
        # Only the columns that changed: an UPDATE that sets collected or written_off also moves the
        # receivable in the open-receivable indexes (and whatever maintains totals of open amounts).
        paid = [(pk, r) for pk, r in self.rstates.items() if r.changed & _PAID]
        advanced = [(pk, r) for pk, r in self.rstates.items() if r.changed == _ADVANCED]
        for items, fields in (
            (paid, ["advanced", "reduced", "collected", "written_off"]),
            (advanced, ["advanced", "reduced"]),
        ):
            for start in range(0, len(items), BOOK_CHUNK):  # in chunks: 100,000 receivables at once took 20 MB
                rows = [
                    _RecTotals(pk, r.advanced, r.reduced, r.collected, r.written_off)
                    for pk, r in items[start : start + BOOK_CHUNK]
                ]
                update_rows(Receivable, fields, rows)
        return self.entries


_RECEIVABLE_COLUMNS = ("id", "client_id", "currency", "face_value", "advanced", "reduced", "collected", "written_off")


def _receivable_rows(pks: list[int], per_query: int = 1000) -> list[tuple]:
    """``_RECEIVABLE_COLUMNS`` of these receivables, locked, by pk: the rows of
    ``Receivable.objects.select_for_update().filter(pk__in=pks).values_list(…)`` without the ORM's
    per-value work (a large import loads 100,000), converted by the same Django converters; equal
    raw amounts (mostly zeros) are converted once."""
    if not pks:
        return []
    meta = Receivable._meta
    cols = [meta.get_field(name).get_col(meta.db_table) for name in _RECEIVABLE_COLUMNS]
    converters = []
    for col in cols:
        funcs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        converters.append((funcs, {}) if funcs else None)
    q = connection.ops.quote_name
    select = ", ".join(q(col.target.column) for col in cols)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    out = []
    with connection.cursor() as cursor:
        for start in range(0, len(pks), per_query):
            part = padded(pks[start : start + per_query], lambda i: -1 - i)  # a few statement texts
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(f"SELECT {select} FROM {q(meta.db_table)} WHERE id IN ({marks}) ORDER BY id{lock}", part)  # noqa: S608
            for row in cursor.fetchall():
                values = list(row)
                for i, conv in enumerate(converters):
                    if conv is None or values[i] is None:
                        continue
                    funcs, seen = conv
                    raw = values[i]
                    try:
                        values[i] = seen[raw]
                    except KeyError:
                        value = raw
                        for func in funcs:
                            value = func(value, cols[i], connection)
                        values[i] = seen[raw] = value
                out.append(tuple(values))
    return out


class _Balances:
    """The booker's rule state (:attr:`ledger.rules.BookState.balances`) read from its locked accounts,
    whose balances :func:`_post` moves as each entry is booked (one balance per account, not two)."""

    __slots__ = ("accounts",)

    def __init__(self, accounts: dict):
        self.accounts = accounts

    def get(self, key, default=ZERO) -> Decimal:
        account = self.accounts.get(key)
        return default if account is None else account.balance


_ADVANCED, _PAID = 1, 2  # a receivable's advanced/reduced moved; its collected/written_off moved
_CHANGES = {"advanced": _ADVANCED, "reduced": _ADVANCED, "collected": _PAID, "written_off": _PAID}


@dataclass(slots=True)
class _RecState:
    """:class:`ledger.rules.ReceivableState` with slots and the receivable's client (a large import
    holds 100,000 of them)."""

    client_pk: int
    face_value: Decimal
    advance_rate: Decimal  # the client's (shared object); the cap is computed when an advance asks for it
    currency: str
    advanced: Decimal = ZERO
    reduced: Decimal = ZERO
    collected: Decimal = ZERO
    written_off: Decimal = ZERO
    changed: int = 0  # _ADVANCED | _PAID: which totals the booking moved (finish writes only those)

    @property
    def outstanding(self) -> Decimal:
        return self.advanced - self.reduced

    @property
    def advance_cap(self) -> Decimal:
        """round(advance_rate × face_value), as :func:`_receivable_state` gives it."""
        return round_money(self.advance_rate * self.face_value, self.currency)


@dataclass(slots=True)
class _RecTotals:
    pk: int
    advanced: Decimal
    reduced: Decimal
    collected: Decimal
    written_off: Decimal


# --------------------------------------------------------------------------- product actions


def _rule_legs(client: Client, *, type: str, amount: Decimal, date: datetime.date, receivable=None) -> list:
    """The legs the posting rules (``ledger.rules.legs_for``) give for one event of ``client``, on its accounts."""
    try:
        outcome = legs_for(
            type=type,
            amount=amount,
            date=date,
            client_pk=client.pk,
            terms=ClientTerms(client.currency, client.reserve_rate, client.reserve_hold_days),
            receivable=receivable,
            state=BookState(),
        )
    except RuleError as exc:
        raise LedgerError(exc.message)
    accts, house = ensure_accounts([client])
    return [(accts[(k[1], k[2])] if k[0] == "c" else house[(k[1], k[2])], side, amt) for k, side, amt in outcome.legs]


def book_write_off(*, receivable: Receivable, amount: Decimal, date: datetime.date, actor=None) -> JournalEntry:
    """Write off ``amount`` of a receivable: Dr h:credit_losses · Cr c:factoring (≤ O)."""
    with transaction.atomic():
        r = Receivable.objects.select_for_update().select_related("client").get(pk=receivable.pk)
        client = r.client
        key = f"{r.pk}:{r.written_off + amount}"
        found = _existing(SourceType.WRITE_OFF, key)
        if found:
            return found
        legs = _rule_legs(
            client, type="write_off", amount=amount, date=date, receivable=_receivable_state(r, client.advance_rate)
        )
        (entry,) = _book(
            [
                EntrySpec(
                    date=date,
                    type=EntryType.WRITE_OFF,
                    currency=client.currency,
                    source_type=SourceType.WRITE_OFF,
                    source_key=key,
                    legs=legs,
                    client_id=client.pk,
                    receivable_id=r.pk,
                    description=f"write-off of {r.receivable_id}",
                )
            ]
        )
        r.reduced += amount
        r.written_off += amount
        r.save(update_fields=["reduced", "written_off"])
        if actor is not None:
            from atlas.models import audit

            audit(actor=actor, action="write_off", obj=r, client=client, after={"amount": str(amount)})
    _after_booking({client.pk})
    return entry


def book_adjustment(
    *, client: Client, amount: Decimal, date: datetime.date, reason: str, actor, source_key: str | None = None
) -> JournalEntry:
    """A manual adjustment of the client's settlement balance (signed amount, reason required)."""
    if not reason or not reason.strip():
        raise LedgerError("an adjustment needs a reason")
    legs = _rule_legs(client, type="adjustment", amount=amount, date=date)  # refuses zero
    with transaction.atomic():
        entry = post_entry(
            date=date,
            type=EntryType.ADJUSTMENT,
            currency=client.currency,
            source_type=SourceType.ADJUSTMENT,
            source_key=source_key or uuid.uuid4().hex,
            legs=legs,
            client=client,
            description=reason.strip(),
        )
        from atlas.models import audit

        audit(actor=actor, action="adjustment", obj=entry, client=client, after={"amount": str(amount)}, reason=reason)
    return entry


def _payout_legs(payout, client_accts: dict, house: dict, *, returned: bool = False) -> list:
    """Executed: Dr c:settlement · Cr h:bank; returned by the bank: the other way round."""
    settlement = client_accts[(payout.client_id, AccountKind.SETTLEMENT)]
    bank = house[(payout.currency, AccountKind.BANK)]
    debit, credit = (bank, settlement) if returned else (settlement, bank)
    return [(debit, Side.DEBIT, payout.amount), (credit, Side.CREDIT, payout.amount)]


def book_payout(*, payout, date: datetime.date) -> JournalEntry:
    """Payout executed: Dr c:settlement · Cr h:bank. One entry per payout, ever."""
    return post_entry(
        date=date,
        type=EntryType.PAYOUT,
        currency=payout.currency,
        source_type=SourceType.PAYOUT,
        source_key=str(payout.pk),
        legs=_payout_legs(payout, *ensure_accounts([payout.client], currencies=[payout.currency])),
        client=payout.client,
        description=f"payout {payout.payout_id}",
    )


def book_payouts(payouts, *, date: datetime.date) -> dict[int, JournalEntry]:
    """Book many executed payouts at once: the entries :func:`book_payout` would book, keyed by payout pk.

    One query finds payouts already booked (returned as they are: idempotent per ``("payout", pk)``),
    one ``ensure_accounts`` resolves every settlement and bank account, and one :func:`_book` locks all of
    them in ascending pk order and inserts every entry and posting. Call inside the caller's transaction
    (payouts locked); opens its own otherwise.
    """
    by_pk = {p.pk: p for p in payouts}
    if not by_pk:
        return {}
    with transaction.atomic():
        done = {
            int(e.source_key): e
            for e in JournalEntry.objects.filter(
                source_type=SourceType.PAYOUT, source_key__in=[str(pk) for pk in by_pk]
            )
        }
        todo = [by_pk[pk] for pk in sorted(by_pk) if pk not in done]
        if not todo:
            return done
        client_accts, house = ensure_accounts(
            {p.client_id: p.client for p in todo}.values(), currencies={p.currency for p in todo}
        )
        specs = [
            EntrySpec(
                date=date,
                type=EntryType.PAYOUT,
                currency=p.currency,
                source_type=SourceType.PAYOUT,
                source_key=str(p.pk),
                legs=_payout_legs(p, client_accts, house),
                client_id=p.client_id,
                description=f"payout {p.payout_id}",
            )
            for p in todo
        ]
        try:
            with transaction.atomic():
                entries = _book(specs)
        except IntegrityError:  # booked concurrently: fall back to the one-by-one idempotent path
            return done | {p.pk: book_payout(payout=p, date=date) for p in todo}
        _after_booking({p.client_id for p in todo})
    return done | {p.pk: e for p, e in zip(todo, entries, strict=True)}


def book_payout_return(*, payout, date: datetime.date) -> JournalEntry:
    """Payout returned by the bank: Dr h:bank · Cr c:settlement (reverses the payout entry)."""
    original = _existing(SourceType.PAYOUT, str(payout.pk))
    if original is None:
        raise LedgerError(f"payout {payout.payout_id} was never booked, so it cannot be returned")
    return post_entry(
        date=date,
        type=EntryType.PAYOUT_RETURN,
        currency=payout.currency,
        source_type=SourceType.PAYOUT_RETURN,
        source_key=str(payout.pk),
        legs=_payout_legs(payout, *ensure_accounts([payout.client], currencies=[payout.currency]), returned=True),
        client=payout.client,
        description=f"return of payout {payout.payout_id}",
        reverses=original,
    )


def reverse_entry(*, entry: JournalEntry, date: datetime.date, reason: str, actor=None) -> JournalEntry:
    """A correction: a new entry with every leg on the other side. The original stays."""
    if not reason.strip():
        raise LedgerError("a reversal needs a reason")
    legs = [
        (p.account, Side.CREDIT if p.side == Side.DEBIT else Side.DEBIT, p.amount)
        for p in entry.postings.select_related("account")
    ]
    reversal = post_entry(
        date=date,
        type=EntryType.REVERSAL,
        currency=entry.currency,
        source_type=SourceType.REVERSAL,
        source_key=str(entry.pk),
        legs=legs,
        client=entry.client_id,
        description=f"reversal of #{entry.pk}: {reason.strip()}",
        reverses=entry,
    )
    if actor is not None:
        from atlas.models import audit

        audit(actor=actor, action="reverse_entry", obj=entry, reason=reason)
    return reversal


# --------------------------------------------------------------------------- reserve releases


def release_reserves(*, as_of: datetime.date, clients=None, actor=None) -> ReleaseResult:
    """Release due tranches (DOMAIN.md section 4), oldest first, none below the requirement.

    For each client: tranches due on or before ``as_of`` and not yet released, ordered by due
    date then creation order; each is released only if the rolling reserve balance after it
    is still ≥ the required reserve at ``as_of``; the first that is not, and the rest, are
    held by the shortfall. Idempotent: released tranches never release again.
    """
    from ledger.selectors import required_reserve_as_of, reserve_balances_as_of

    result = ReleaseResult()
    with transaction.atomic():
        due = ReserveTranche.objects.filter(released_entry__isnull=True, due_date__lte=as_of, created_on__lte=as_of)
        if clients is not None:
            due = due.filter(client__in=clients)
        client_pks = sorted(set(due.values_list("client_id", flat=True)))
        if not client_pks:
            return result
        # Lock the reserve accounts (sorted) so two runs cannot release the same tranche.
        client_objs = {c.pk: c for c in Client.objects.filter(pk__in=client_pks)}
        accts, house = ensure_accounts(client_objs.values())
        rr_pks = [accts[(pk, AccountKind.ROLLING_RESERVE)].pk for pk in client_pks]
        stl_pks = [accts[(pk, AccountKind.SETTLEMENT)].pk for pk in client_pks]
        locked = _lock_accounts(rr_pks + stl_pks)
        tranches = list(
            ReserveTranche.objects.select_for_update()
            .filter(pk__in=due.values("pk"), released_entry__isnull=True)
            .order_by("client_id", "due_date", "pk")
        )
        balances = reserve_balances_as_of(client_pks, as_of)
        required = required_reserve_as_of(client_pks, as_of)
        by_client = defaultdict(list)
        for t in tranches:
            by_client[t.client_id].append(t)
        specs, released = [], []
        for client_pk in client_pks:
            balance, need = balances.get(client_pk, ZERO), required.get(client_pk, ZERO)
            queue = by_client.get(client_pk, [])
            for i, t in enumerate(queue):
                if balance - t.amount >= need:
                    balance -= t.amount
                    released.append(t)
                    specs.append(
                        EntrySpec(
                            date=as_of,
                            type=EntryType.RESERVE_RELEASE,
                            currency=t.currency,
                            source_type=SourceType.TRANCHE,
                            source_key=str(t.pk),
                            legs=[
                                (locked[accts[(client_pk, AccountKind.ROLLING_RESERVE)].pk], Side.DEBIT, t.amount),
                                (locked[accts[(client_pk, AccountKind.SETTLEMENT)].pk], Side.CREDIT, t.amount),
                            ],
                            client_id=client_pk,
                            transaction_id=t.transaction_id,
                            description=f"release of reserve tranche {t.pk} due {t.due_date}",
                        )
                    )
                else:
                    result.held.extend(queue[i:])
                    break
        entries = _book(specs, locked)
        for t, entry in zip(released, entries, strict=True):
            t.released_entry = entry
            t.released_on = as_of
        ReserveTranche.objects.bulk_update(released, ["released_entry", "released_on"], batch_size=2000)
        result.released = released
        if actor is not None and released:
            from atlas.models import audit

            for client_pk in {t.client_id for t in released}:
                audit(
                    actor=actor,
                    action="release_reserves",
                    obj=client_objs[client_pk],
                    client=client_objs[client_pk],
                    after={
                        "as_of": as_of.isoformat(),
                        "tranches": [t.pk for t in released if t.client_id == client_pk],
                    },
                )
    _after_booking({t.client_id for t in released})
    return result
