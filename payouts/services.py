"""Every write of the payout workflow (DOMAIN.md section 5).

Each transition is a keyword-only service function that checks the actor's role, opens a transaction,
locks the payout row(s) (``select_for_update``, several rows in ascending pk order, a batch row before its
payouts), re-reads the state under the lock, does nothing if the transition is already done, and raises
:class:`PayoutError` with a human message when it is not allowed. Every change writes an audit row in the
same transaction.

The one transitions table is :data:`TRANSITIONS`: ``action -> {from_state: to_state}``. Actions that run the
checks (request, approve, recheck, execute) go to ``blocked`` instead when a blocking check fails.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from atlas.models import AuditEvent, audit
from atlas.money import ZERO, MoneyError, fmt, parse_amount, round_money
from atlas.roles import CREDIT, OPS, check_role
from payouts import checks as checks_mod
from payouts.models import Payout, PayoutBatch
from payouts.models import PayoutStatus as S

log = logging.getLogger(__name__)


class PayoutError(Exception):
    """A payout action that is not allowed; ``message`` is shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Action:
    REQUEST = "request"
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    OVERRIDE = "override"
    RECHECK = "recheck"
    EXECUTE = "execute"
    RETURN = "return"


# The transitions table: action -> {from state: to state when the action succeeds}.
TRANSITIONS: dict[str, dict[str, str]] = {
    Action.REQUEST: {S.READY: S.REQUESTED},
    Action.APPROVE: {S.REQUESTED: S.APPROVED},
    Action.REJECT: {S.REQUESTED: S.REJECTED, S.BLOCKED: S.REJECTED},
    Action.CANCEL: {S.READY: S.CANCELLED, S.REQUESTED: S.CANCELLED, S.BLOCKED: S.CANCELLED, S.APPROVED: S.CANCELLED},
    Action.OVERRIDE: {S.BLOCKED: S.APPROVED},
    Action.RECHECK: {S.BLOCKED: S.REQUESTED},
    Action.EXECUTE: {S.APPROVED: S.EXECUTED},
    Action.RETURN: {S.EXECUTED: S.RETURNED},
}
# Actions that run the checks: a failing blocking check sends the payout to ``blocked`` instead.
CHECKED_ACTIONS = {Action.REQUEST, Action.APPROVE, Action.RECHECK, Action.EXECUTE}
ACTION_ROLES = {
    Action.REQUEST: (OPS,),
    Action.CANCEL: (OPS,),
    Action.EXECUTE: (OPS,),
    Action.RETURN: (OPS,),
    Action.APPROVE: (CREDIT,),
    Action.REJECT: (CREDIT,),
    Action.OVERRIDE: (CREDIT,),
    Action.RECHECK: (OPS, CREDIT),
}
FINAL_STATES = {S.REJECTED, S.CANCELLED, S.RETURNED}


def allowed_edges() -> set[tuple[str, str]]:
    """Every (from, to) pair the workflow can produce, including the moves to ``blocked``."""
    edges = {(src, dst) for table in TRANSITIONS.values() for src, dst in table.items()}
    for action in CHECKED_ACTIONS:
        for src in TRANSITIONS[action]:
            if src != S.BLOCKED:
                edges.add((src, S.BLOCKED))
    return edges


def can(action: str, status: str) -> bool:
    return status in TRANSITIONS[action]


def available_actions(payout, user) -> list[str]:
    """Actions the user could take on the payout now (for the buttons; the services check again)."""
    from atlas.roles import has_role

    out = []
    for action, table in TRANSITIONS.items():
        if action == Action.EXECUTE:
            continue  # executed through a batch
        if payout.status in table and has_role(user, *ACTION_ROLES[action]):
            if action in (Action.APPROVE, Action.OVERRIDE) and payout.requested_by_id == user.pk:
                continue
            out.append(action)
    return out


# --------------------------------------------------------------------------------------------- helpers


def _lock(payout) -> Payout:
    return Payout.objects.select_for_update().select_related("client").get(pk=payout.pk)


def _lock_many(payouts) -> list[Payout]:
    pks = sorted({p.pk if isinstance(p, Payout) else int(p) for p in payouts})
    return list(Payout.objects.select_for_update().select_related("client").filter(pk__in=pks).order_by("pk"))


def _snapshot(p: Payout) -> dict:
    return {"status": p.status, "amount": fmt(p.amount)}


def _store_checks(p: Payout, results) -> None:
    p.checks = [r.as_dict() for r in results]
    p.check_codes = checks_mod.codes_text(results)[:255]
    p.checked_at = timezone.now()


def _require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PayoutError(f"A written reason is required to {what}.")
    return reason


def _refuse(p: Payout, action: str) -> None:
    raise PayoutError(f"Payout {p.payout_id} is {p.status}: it cannot be {_PAST[action]}.")


_PAST = {
    Action.REQUEST: "requested",
    Action.APPROVE: "approved",
    Action.REJECT: "rejected",
    Action.CANCEL: "cancelled",
    Action.OVERRIDE: "overridden",
    Action.RECHECK: "re-checked",
    Action.EXECUTE: "executed",
    Action.RETURN: "marked returned",
}


def _four_eyes(p: Payout, actor, action: str) -> None:
    if p.requested_by_id is not None and p.requested_by_id == getattr(actor, "pk", None):
        raise PayoutError(f"Four eyes: you requested payout {p.payout_id}, so another Credit Manager must {action} it.")


def _transition(p: Payout, actor, action: str, to: str, *, reason: str = "", extra: dict | None = None) -> None:
    before = _snapshot(p)
    p.status = to
    p.save()
    after = _snapshot(p) | (extra or {})
    audit(actor=actor, action=f"payout.{action}", obj=p, client=p.client, before=before, after=after, reason=reason)


def _audit_row(p: Payout, actor, action: str, before: dict, extra: dict, *, reason: str = "") -> AuditEvent:
    """The unsaved audit row :func:`_transition` would write (for ``bulk_create``)."""
    return AuditEvent(
        actor=actor if getattr(actor, "pk", None) else None,
        action=f"payout.{action}",
        object_type=p._meta.label_lower,
        object_id=str(p.pk),
        client=p.client,
        before=before,
        after=_snapshot(p) | extra,
        reason=reason,
    )


def _update_payouts(payouts, fields: list[str]) -> None:
    """UPDATE ``fields`` of many payouts in pk order: one ``UPDATE … FROM unnest(arrays)`` on PostgreSQL
    (one statement, not a round trip per row), one prepared statement (``executemany``) on SQLite.

    ``bulk_update`` builds a CASE WHEN per field over every row (seconds for 1,000 payouts); values go
    through each field's ``get_db_prep_save`` (JSON, datetimes) as ``save()`` would.
    """
    from django.db import connection

    meta = Payout._meta
    model_fields = [meta.get_field(f) for f in fields]
    qn = connection.ops.quote_name
    ordered = sorted(payouts, key=lambda p: p.pk)
    if not ordered:
        return
    preps = [(f, _db_prep(f, connection)) for f in model_fields]
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in model_fields)
        names = ", ".join(qn(f"v_{f.column}") for f in model_fields)
        sql = (
            f"UPDATE {qn(meta.db_table)} SET "  # noqa: S608
            + ", ".join(f"{qn(f.column)} = v.{qn('v_' + f.column)}" for f in model_fields)
            + f" FROM unnest(%s::{meta.pk.db_type(connection)}[], {arrays}) AS v(v_pk, {names})"
            + f" WHERE {qn(meta.db_table)}.{qn(meta.pk.column)} = v.v_pk"
        )
        params = [[p.pk for p in ordered]] + [[prep(getattr(p, f.attname)) for p in ordered] for f, prep in preps]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    sql = (
        f"UPDATE {qn(meta.db_table)} SET "  # noqa: S608
        + ", ".join(f"{qn(f.column)} = %s" for f in model_fields)
        + f" WHERE {qn(meta.pk.column)} = %s"
    )
    params = [[prep(getattr(p, f.attname)) for f, prep in preps] + [p.pk] for p in ordered]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


_PREP_AS_IS = {"CharField", "TextField", "ForeignKey"}  # get_db_prep_save returns str / int / None unchanged


def _db_prep(field, connection):
    """``field.get_db_prep_save`` for many values: strings and keys as they are, other values converted once
    each (the batch's timestamps repeat), JSON (unhashable) every time."""
    if field.get_internal_type() in _PREP_AS_IS:
        return lambda value: value
    cache: dict = {}

    def prep(value):
        try:
            return cache[value]
        except KeyError:
            out = cache[value] = field.get_db_prep_save(value, connection)
            return out
        except TypeError:  # unhashable: lists and dicts of a JSONField
            return field.get_db_prep_save(value, connection)

    return prep


def _batch_context(clients, *, as_of: datetime.date) -> checks_mod.CheckContext:
    """:func:`payouts.checks.load_context` for a batch's clients (the rows the caller holds)."""
    return checks_mod.load_context(clients, as_of=as_of)


def _evaluate_alerts_on_commit(clients) -> None:
    try:
        from risk.services import evaluate_alerts
    except ImportError:  # the risk app may not provide it yet
        return
    client_list = list({c.pk: c for c in clients}.values())

    def run():
        try:
            evaluate_alerts(clients=client_list)
        except Exception:  # the payout work is committed; an alert failure must not hide that
            log.exception("evaluate_alerts failed after a payout execution")

    transaction.on_commit(run)


# --------------------------------------------------------------------------------------------- transitions


def payout_request(*, payout, actor, amount: Decimal | str | None = None, as_of: datetime.date | None = None):
    """Ops asks to pay a ``ready`` payout (optionally lowering its amount); failing checks block it."""
    check_role(actor, *ACTION_ROLES[Action.REQUEST])
    with transaction.atomic():
        p = _lock(payout)
        if p.status in (S.REQUESTED, S.BLOCKED):
            return p  # already done (a request that failed its checks ends in blocked)
        if not can(Action.REQUEST, p.status):
            _refuse(p, Action.REQUEST)
        old_amount = p.amount
        if amount is not None and amount != "":
            try:
                new_amount = parse_amount(amount, p.currency)
            except MoneyError as exc:
                raise PayoutError(str(exc))
            if new_amount <= 0:
                raise PayoutError("The amount must be greater than 0.00.")
            if new_amount > p.amount:
                raise PayoutError(
                    f"The amount may only be lowered: {fmt(new_amount)} is above the proposed {fmt(p.amount)}."
                )
            p.amount = new_amount
        failing = _check_one(p, as_of=as_of, pending=False)
        p.requested_by = actor
        p.requested_at = timezone.now()
        to = S.BLOCKED if failing else S.REQUESTED
        _transition(
            p,
            actor,
            Action.REQUEST,
            to,
            reason="; ".join(r.message for r in failing),
            extra={"checks": p.checks, "old_amount": fmt(old_amount)},
        )
        return p


def _check_one(p, *, as_of, pending=None) -> list:
    """Run every check on one locked payout, store the results on it, return the blocking ones."""
    results = checks_mod.run_checks(p, checks_mod.load_context([p.client], as_of=as_of), pending=pending)
    _store_checks(p, results)
    return checks_mod.blocking(results)


def payout_approve(*, payout, actor, as_of: datetime.date | None = None):
    """A Credit Manager other than the requester approves; failing checks block it instead."""
    check_role(actor, *ACTION_ROLES[Action.APPROVE])
    with transaction.atomic():
        p = _lock(payout)
        if p.status == S.APPROVED:
            return p
        if not can(Action.APPROVE, p.status):
            _refuse(p, Action.APPROVE)
        _four_eyes(p, actor, "approve")
        failing = _check_one(p, as_of=as_of)
        if failing:
            _transition(
                p,
                actor,
                Action.APPROVE,
                S.BLOCKED,
                reason="; ".join(r.message for r in failing),
                extra={"checks": p.checks},
            )
            return p
        p.approved_by = actor
        p.approved_at = timezone.now()
        _transition(p, actor, Action.APPROVE, S.APPROVED, extra={"checks": p.checks})
        return p


def payout_reject(*, payout, actor, reason: str):
    check_role(actor, *ACTION_ROLES[Action.REJECT])
    reason = _require_reason(reason, "reject a payout")
    with transaction.atomic():
        p = _lock(payout)
        if p.status == S.REJECTED:
            return p
        if not can(Action.REJECT, p.status):
            _refuse(p, Action.REJECT)
        p.status_reason = reason
        _transition(p, actor, Action.REJECT, S.REJECTED, reason=reason)
        return p


def payout_cancel(*, payout, actor, reason: str = ""):
    check_role(actor, *ACTION_ROLES[Action.CANCEL])
    with transaction.atomic():
        p = _lock(payout)
        if p.status == S.CANCELLED:
            return p
        if not can(Action.CANCEL, p.status):
            _refuse(p, Action.CANCEL)
        if p.batch_id is not None:
            batch = PayoutBatch.objects.get(pk=p.batch_id)
            if batch.status != PayoutBatch.Status.DRAFT:
                raise PayoutError(f"Payout {p.payout_id} is in batch {batch.pk}, which is {batch.status}.")
            p.batch = None
        p.status_reason = (reason or "").strip()
        _transition(p, actor, Action.CANCEL, S.CANCELLED, reason=p.status_reason)
        return p


def payout_override(*, payout, actor, reason: str):
    """A Credit Manager (not the requester) approves a blocked payout with a written reason."""
    check_role(actor, *ACTION_ROLES[Action.OVERRIDE])
    reason = _require_reason(reason, "override a blocked payout")
    with transaction.atomic():
        p = _lock(payout)
        if p.status == S.APPROVED and p.override_reason:
            return p
        if not can(Action.OVERRIDE, p.status):
            _refuse(p, Action.OVERRIDE)
        _four_eyes(p, actor, "override")
        p.override_codes = sorted({c["code"] for c in p.blocking_checks})
        p.override_reason = reason
        p.approved_by = actor
        p.approved_at = timezone.now()
        _transition(p, actor, Action.OVERRIDE, S.APPROVED, reason=reason, extra={"overridden_codes": p.override_codes})
        return p


def payout_recheck(*, payout, actor, as_of: datetime.date | None = None):
    """Run the checks on a blocked payout again: it goes back to ``requested`` when they pass."""
    check_role(actor, *ACTION_ROLES[Action.RECHECK])
    with transaction.atomic():
        p = _lock(payout)
        if p.status == S.REQUESTED:
            return p
        if not can(Action.RECHECK, p.status):
            _refuse(p, Action.RECHECK)
        failing = _check_one(p, as_of=as_of)
        if failing:
            p.save()
            audit(
                actor=actor,
                action="payout.recheck",
                obj=p,
                client=p.client,
                before=_snapshot(p),
                after=_snapshot(p) | {"checks": p.checks},
                reason="still blocked: " + "; ".join(r.message for r in failing),
            )
            return p
        _transition(p, actor, Action.RECHECK, S.REQUESTED, extra={"checks": p.checks})
        return p


def payout_mark_returned(*, payout, actor, reason: str, date: datetime.date):
    """The bank returned an executed payout: post the reversal (Dr h:bank / Cr c:settlement)."""
    from ledger.services import book_payout_return

    check_role(actor, *ACTION_ROLES[Action.RETURN])
    reason = _require_reason(reason, "mark a payout returned")
    with transaction.atomic():
        p = _lock(payout)
        if p.status == S.RETURNED:
            return p
        if not can(Action.RETURN, p.status):
            _refuse(p, Action.RETURN)
        entry = book_payout_return(payout=p, date=date)
        p.status_reason = reason
        p.returned_at = timezone.now()
        _transition(p, actor, Action.RETURN, S.RETURNED, reason=reason, extra={"entry": entry.pk, "date": str(date)})
    _evaluate_alerts_on_commit([p.client])
    return p


# --------------------------------------------------------------------------------------------- propose


@dataclass
class ProposeResult:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    # ``ready`` payouts left as they are because their client no longer qualifies (inactive or below minimum)
    not_qualifying: list = field(default_factory=list)


def _next_payout_id(client, used: set[str]) -> str:
    n = 1
    prefix = f"PO-{client.client_id}-"
    for pid in used:
        if pid.startswith(prefix) and pid[len(prefix) :].isdigit():
            n = max(n, int(pid[len(prefix) :]) + 1)
    return f"{prefix}{n}"


def propose_payouts(*, as_of: datetime.date, actor=None) -> ProposeResult:
    """Set each qualifying active client's ``ready`` payout to its available amount (creating it if needed).

    Never touches payouts in any other state; a ``ready`` payout whose client no longer qualifies is left
    unchanged and reported in ``not_qualifying``. Running it twice changes nothing the second time.
    """
    from clients.models import Client
    from ledger.selectors import client_figures
    from risk.models import RiskPolicy

    if actor is not None:
        check_role(actor, OPS)
    minimum = RiskPolicy.get().min_payout
    result = ProposeResult()
    with transaction.atomic():
        clients = list(Client.objects.filter(status=Client.Status.ACTIVE).order_by("pk"))
        figures = client_figures(clients, as_of=as_of)
        ready = {
            p.client_id: p
            for p in Payout.objects.select_for_update().filter(status=S.READY).select_related("client").order_by("pk")
        }
        used = set(Payout.objects.filter(payout_id__startswith="PO-").values_list("payout_id", flat=True))
        active_pks = {c.pk for c in clients}
        for p in ready.values():
            if p.client_id not in active_pks:
                result.not_qualifying.append(p)
        for client in clients:
            fig = figures.get(client.pk)
            available = round_money(fig.available, client.currency) if fig else ZERO
            existing = ready.get(client.pk)
            if available <= 0 or available < minimum:
                if existing is not None:
                    result.not_qualifying.append(existing)
                continue
            if existing is None:
                pid = _next_payout_id(client, used)
                used.add(pid)
                p = Payout.objects.create(
                    payout_id=pid, client=client, amount=available, currency=client.currency, status=S.READY
                )
                audit(
                    actor=actor,
                    action="payout.propose",
                    obj=p,
                    client=client,
                    after=_snapshot(p),
                    reason=f"as of {as_of}",
                )
                result.created.append(p)
            elif existing.amount != available:
                before = _snapshot(existing)
                existing.amount = available
                existing.save(update_fields=["amount", "updated_at"])
                audit(
                    actor=actor,
                    action="payout.propose",
                    obj=existing,
                    client=client,
                    before=before,
                    after=_snapshot(existing),
                    reason=f"as of {as_of}",
                )
                result.updated.append(existing)
            else:
                result.unchanged.append(existing)
    return result


# --------------------------------------------------------------------------------------------- batches


def batch_create(*, payouts, actor) -> PayoutBatch:
    """Ops put approved payouts (not yet in a batch) into a new draft batch."""
    check_role(actor, OPS)
    payouts = list(payouts)
    if not payouts:
        raise PayoutError("Select at least one approved payout.")
    with transaction.atomic():
        locked = _lock_many(payouts)
        problems = []
        for p in locked:
            if p.status != S.APPROVED:
                problems.append(f"{p.payout_id} is {p.status}, not approved")
            elif p.batch_id is not None:
                problems.append(f"{p.payout_id} is already in batch {p.batch_id}")
        if len(locked) != len({getattr(p, "pk", p) for p in payouts}):
            problems.append("some payouts no longer exist")
        if problems:
            raise PayoutError("Cannot create the batch: " + "; ".join(problems) + ".")
        batch = PayoutBatch.objects.create(created_by=actor)
        Payout.objects.filter(pk__in=[p.pk for p in locked]).update(batch=batch, updated_at=timezone.now())
        audit(
            actor=actor,
            action="batch.create",
            obj=batch,
            after={"payouts": [p.payout_id for p in locked], "total": _totals_text(locked)},
        )
        return batch


def batch_remove(*, batch, payout, actor) -> None:
    """Take a payout out of a draft batch (it stays approved)."""
    check_role(actor, OPS)
    with transaction.atomic():
        b = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
        if b.status != PayoutBatch.Status.DRAFT:
            raise PayoutError(f"Batch {b.pk} is {b.status}: it can no longer change.")
        p = _lock(payout)
        if p.batch_id != b.pk:
            return
        p.batch = None
        p.save(update_fields=["batch", "updated_at"])
        audit(actor=actor, action="batch.remove", obj=b, after={"payout": p.payout_id})


def _totals_text(payouts) -> dict:
    totals: dict[str, Decimal] = {}
    for p in payouts:
        totals[p.currency] = totals.get(p.currency, ZERO) + p.amount
    return {cur: fmt(v) for cur, v in sorted(totals.items())}


@dataclass
class SimulationLine:
    payout: Payout
    checks: list  # CheckResult
    blocked: bool
    sepa: bool
    postings: list  # (account code, side, amount)
    settlement_before: Decimal
    settlement_after: Decimal


@dataclass
class Simulation:
    batch: PayoutBatch
    as_of: datetime.date
    lines: list[SimulationLine]
    totals: dict[str, Decimal]  # currency -> amount that would be paid
    bank_before: dict[str, Decimal]
    bank_after: dict[str, Decimal]
    settlement: dict[int, tuple]  # client pk -> (client, before, after)

    @property
    def payable(self) -> list[SimulationLine]:
        return [line for line in self.lines if not line.blocked]

    @property
    def blocked(self) -> list[SimulationLine]:
        return [line for line in self.lines if line.blocked]

    @property
    def non_sepa(self) -> list[SimulationLine]:
        return [line for line in self.lines if not line.blocked and not line.sepa]


def batch_simulate(*, batch, as_of: datetime.date | None = None) -> Simulation:
    """What executing the batch would do: payments, postings, resulting balances, every check. Writes nothing."""
    from ledger.models import Account, AccountKind
    from ledger.selectors import today
    from payouts.conf import SEPA_CURRENCIES

    day = as_of or batch.execution_date or today()
    payouts = list(batch.payouts.select_related("client").order_by("pk"))
    clients = list({p.client_id: p.client for p in payouts}.values())
    ctx = _batch_context(clients, as_of=day)
    currencies = sorted({p.currency for p in payouts})
    bank = {
        a.currency: a.balance
        for a in Account.objects.filter(client__isnull=True, kind=AccountKind.BANK, currency__in=currencies)
    }
    bank_before = {cur: bank.get(cur, ZERO) for cur in currencies}
    bank_after = dict(bank_before)
    settlement = {c.pk: [c, ctx.figures[c.pk].settlement if c.pk in ctx.figures else ZERO, None] for c in clients}
    for entry in settlement.values():
        entry[2] = entry[1]
    totals: dict[str, Decimal] = {}
    lines = []
    for p in payouts:
        results = checks_mod.run_checks(p, ctx)
        is_blocked = p.status != S.APPROVED or bool(checks_mod.blocking(results, overridden=p.override_codes))
        before = settlement[p.client_id][2]
        postings = []
        after = before
        if not is_blocked:
            postings = [("c:settlement", "D", p.amount), ("h:bank", "C", p.amount)]
            after = before - p.amount
            settlement[p.client_id][2] = after
            bank_after[p.currency] -= p.amount
            totals[p.currency] = totals.get(p.currency, ZERO) + p.amount
        lines.append(
            SimulationLine(
                payout=p,
                checks=results,
                blocked=is_blocked,
                sepa=p.currency in SEPA_CURRENCIES,
                postings=postings,
                settlement_before=before,
                settlement_after=after,
            )
        )
    return Simulation(
        batch=batch,
        as_of=day,
        lines=lines,
        totals=totals,
        bank_before=bank_before,
        bank_after=bank_after,
        settlement={pk: tuple(v) for pk, v in settlement.items()},
    )


def end_to_end_id(payout) -> str:
    """Unique per payout, at most 35 characters, SEPA-safe; the reconciliation matches bank lines on it."""
    return f"ATLAS-PO-{payout.pk}"


def batch_execute(*, batch, actor, execution_date: datetime.date, progress=None) -> PayoutBatch:
    """Execute a batch once: checks again, book each payout, build the pain.001 file.

    The batch row is locked first, then its payouts in pk order; a second caller waits for the lock, sees
    the batch executed and returns it unchanged. The ledger's unique (source_type, source_key) is the last
    line of defence. ``progress(done, total)`` is called as payouts are handled (the background task writes it
    to a file, since nothing inside this transaction is visible to others before it commits).
    """
    from ledger.services import _after_booking, book_payouts
    from payouts.conf import SEPA_CURRENCIES
    from payouts.sepa import build_pain001

    check_role(actor, *ACTION_ROLES[Action.EXECUTE])
    with transaction.atomic():
        b = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
        if b.status == PayoutBatch.Status.EXECUTED:
            return b
        payouts = list(Payout.objects.select_for_update().select_related("client").filter(batch=b).order_by("pk"))
        if not payouts:
            raise PayoutError(f"Batch {b.pk} has no payouts.")
        ctx = _batch_context(list({p.client_id: p.client for p in payouts}.values()), as_of=execution_date)
        executed, blocked, skipped = [], [], []
        changed, audits = [], []  # saved and audited in bulk below (one row each, as _transition would)
        now = timezone.now()
        for done, p in enumerate(payouts):
            if progress is not None:
                progress(done, len(payouts))
            if p.status != S.APPROVED:
                skipped.append({"payout": p.payout_id, "pk": p.pk, "status": p.status})
                p.batch = None
                changed.append(p)
                continue
            results = checks_mod.run_checks(p, ctx)
            _store_checks(p, results)
            failing = checks_mod.blocking(results, overridden=p.override_codes)
            if failing:
                before = _snapshot(p)
                p.batch = None
                p.status = S.BLOCKED
                changed.append(p)
                audits.append(
                    _audit_row(
                        p,
                        actor,
                        Action.EXECUTE,
                        before,
                        {"checks": p.checks, "batch": b.pk},
                        reason="; ".join(r.message for r in failing),
                    )
                )
                blocked.append(
                    {
                        "payout": p.payout_id,
                        "pk": p.pk,
                        "reasons": [r.message for r in failing],
                        "codes": [r.code for r in failing],
                    }
                )
                continue
            executed.append(p)
        entries = book_payouts(executed, date=execution_date)
        for p in executed:
            before = _snapshot(p)
            p.executed_at = now
            p.end_to_end_id = end_to_end_id(p)
            p.status = S.EXECUTED
            changed.append(p)
            audits.append(
                _audit_row(
                    p,
                    actor,
                    Action.EXECUTE,
                    before,
                    {"batch": b.pk, "entry": entries[p.pk].pk, "end_to_end_id": p.end_to_end_id},
                )
            )
        for p in changed:
            p.updated_at = now
        _update_payouts(
            changed,
            ["status", "batch", "checks", "check_codes", "checked_at", "executed_at", "end_to_end_id", "updated_at"],
        )
        AuditEvent.objects.bulk_create(audits, batch_size=500)
        # An overridden INVALID_IBAN payout is executed but cannot go into the file: it is listed as non-SEPA.
        sepa = [p for p in executed if p.currency in SEPA_CURRENCIES and not checks_mod.iban_problem(p.client.iban)]
        sepa_pks = {p.pk for p in sepa}
        non_sepa = [p for p in executed if p.pk not in sepa_pks]
        if sepa:
            xml, msg_id = build_pain001(sepa, execution_date=execution_date)
            b.sepa_file = xml
            b.sepa_message_id = msg_id
        b.status = PayoutBatch.Status.EXECUTED
        b.executed_at = timezone.now()
        b.executed_by = actor
        b.execution_date = execution_date
        b.report = {
            "execution_date": execution_date.isoformat(),
            "executed": [
                {
                    "payout": p.payout_id,
                    "pk": p.pk,
                    "client": p.client.client_id,
                    "amount": fmt(p.amount),
                    "currency": p.currency,
                    "end_to_end_id": p.end_to_end_id,
                    "sepa": p.pk in sepa_pks,
                }
                for p in executed
            ],
            "blocked": blocked,
            "skipped": skipped,
            "non_sepa": [
                {
                    "payout": p.payout_id,
                    "pk": p.pk,
                    "amount": fmt(p.amount),
                    "currency": p.currency,
                    "why": "no valid IBAN" if p.currency in SEPA_CURRENCIES else f"{p.currency} is not SEPA",
                }
                for p in non_sepa
            ],
            "totals": _totals_text(executed),
            "sepa_count": len(sepa),
            "sepa_total": _totals_text(sepa).get("EUR", fmt(ZERO)),
        }
        before_status = b.status
        b.save()
        audit(
            actor=actor,
            action="batch.execute",
            obj=b,
            before={"status": before_status},
            after={"status": b.status, "totals": b.report["totals"], "blocked": [x["payout"] for x in blocked]},
        )
        # One alert evaluation at commit for every client of the batch, merged with the ledger's own callback.
        _after_booking({p.client_id for p in payouts})
        if progress is not None:
            progress(len(payouts), len(payouts))
        return b


def batch_enqueue(*, batch, actor, execution_date: datetime.date) -> PayoutBatch:
    """Execute a batch in the background worker (django-tasks): the batch becomes ``executing`` at once, so it
    can no longer change, and :func:`payouts.tasks.execute_batch` runs :func:`batch_execute` after commit."""
    from payouts.tasks import execute_batch

    check_role(actor, *ACTION_ROLES[Action.EXECUTE])
    with transaction.atomic():
        b = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
        if b.status != PayoutBatch.Status.DRAFT:
            return b  # already queued or executed
        if not b.payouts.exists():
            raise PayoutError(f"Batch {b.pk} has no payouts.")
        b.status = PayoutBatch.Status.EXECUTING
        b.execution_date = execution_date
        b.save(update_fields=["status", "execution_date"])
        audit(actor=actor, action="batch.enqueue", obj=b, after={"execution_date": execution_date.isoformat()})
        pk, actor_pk, day = b.pk, actor.pk, execution_date.isoformat()
        transaction.on_commit(lambda: execute_batch.enqueue(pk, actor_pk, day))
        return b
