"""Risk writes: policy, client limits and rates (four eyes on increases), block/unblock, alerts.

Every function is keyword-only, checks the actor's role on the server (``atlas.roles.check_role``)
where an actor acts, runs in one database transaction, writes its audit row in that transaction
(``atlas.models.audit``) and raises :class:`RiskError` with a human message when it refuses.

Alert evaluation (:func:`evaluate_alerts`) compares the figures at D with the policy, in bulk:
a handful of queries to read the figures (:func:`breach_inputs`: the ledger figures, and the open
receivables summed per client and debtor in SQL; the payout checks read the same), one to read the
active alerts, then one bulk insert, one bulk update and one bulk resolve, whatever the number of
clients. :func:`breaches` also takes a ``risk.selectors.risk_snapshot`` (every open receivable as a
row): the reference the tests compare :func:`breach_inputs` with.

Alert rules (each metric is checked on its own, so an over-limit client has both alerts open):

=================== ======== ============================================ ===========================
metric              severity condition (unrounded)                        key
=================== ======== ============================================ ===========================
exposure_warning    warning  exposure ratio ≥ policy warning level        ""
over_limit          critical exposure ratio > 1                           ""
concentration       warning  debtor share > debtor limit (or default)     the debtor's ``debtor_id``
reserve_shortfall   critical shortfall > 0                                ""
overdue_share       warning  overdue share > policy level                 ""
=================== ======== ============================================ ===========================
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from atlas.models import audit
from atlas.money import fmt, round_money, round_ratio
from atlas.roles import CREDIT, RISK, check_role
from clients.models import Client
from risk.models import Alert, LimitChange, RiskPolicy, TotalsDeferral
from risk.totals import rebuild_statements


class RiskError(Exception):
    """A refused risk action; ``message`` is shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _reason(reason: str, what: str = "a reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise RiskError(f"Please give {what}.")
    return reason


# --------------------------------------------------------------------------------- policy

POLICY_FIELDS = ("exposure_warning_level", "min_payout", "overdue_share_level", "default_concentration_limit")


def update_policy(*, actor, reason: str = "", **values) -> RiskPolicy:
    """Change the policy thresholds (role ``risk``); audited with before and after."""
    check_role(actor, RISK)
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise RiskError(f"Unknown policy fields: {', '.join(sorted(unknown))}.")
    for name in ("exposure_warning_level", "overdue_share_level", "default_concentration_limit"):
        if name in values and not (Decimal(0) <= values[name] <= 1):
            raise RiskError(f"{name.replace('_', ' ')} must be a fraction between 0 and 1.")
    if "exposure_warning_level" in values and values["exposure_warning_level"] <= 0:
        raise RiskError("exposure warning level must be above 0.")
    if "min_payout" in values and values["min_payout"] < 0:
        raise RiskError("minimum payout must not be negative.")
    with transaction.atomic():
        RiskPolicy.get()
        policy = RiskPolicy.objects.select_for_update().get(pk=RiskPolicy.SINGLETON_PK)
        before = {f: str(getattr(policy, f)) for f in POLICY_FIELDS}
        for name, value in values.items():
            setattr(policy, name, value)
        policy.updated_by = actor
        policy.save()
        policy.refresh_from_db()
        after = {f: str(getattr(policy, f)) for f in POLICY_FIELDS}
        audit(actor=actor, action="risk.update_policy", obj=policy, before=before, after=after, reason=reason)
    return policy


# ------------------------------------------------------------------------- limits and rates

RATE_FIELDS = ("advance_rate", "reserve_rate", "reserve_hold_days", "fee_rate", "partner_reserve_rate")


@dataclass
class TermsResult:
    client: Client
    limit_change: LimitChange | None  # the change recorded (pending for an increase), if the limit moved
    changed_rates: dict


def _lock_client(client: Client) -> Client:
    return Client.objects.select_for_update().get(pk=client.pk)


def update_client_terms(
    *, client: Client, actor, reason: str, credit_limit: Decimal | None = None, **rates
) -> TermsResult:
    """Change a client's credit limit and/or rates (role ``risk``).

    Rates and a limit decrease apply at once; a limit increase is recorded as a pending
    :class:`LimitChange` that a ``credit`` user other than the requester must approve.
    """
    check_role(actor, RISK)
    reason = _reason(reason)
    unknown = set(rates) - set(RATE_FIELDS)
    if unknown:
        raise RiskError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    for name, value in rates.items():
        if name == "reserve_hold_days":
            if value is None or value < 0:
                raise RiskError("reserve hold days must be 0 or more.")
        elif value is not None and not (Decimal(0) <= value <= 1):
            raise RiskError(f"{name.replace('_', ' ')} must be a fraction between 0 and 1.")
    if credit_limit is not None:
        if credit_limit <= 0:
            raise RiskError("The credit limit must be above 0.")
        if credit_limit != round_money(credit_limit, client.currency):
            raise RiskError("The credit limit has more than 2 decimal places.")
    with transaction.atomic():
        locked = _lock_client(client)
        changed = {
            name: (getattr(locked, name), value) for name, value in rates.items() if getattr(locked, name) != value
        }
        if changed:
            for name, (_, new) in changed.items():
                setattr(locked, name, new)
            locked.save(update_fields=list(changed))
            audit(
                actor=actor,
                action="risk.update_rates",
                obj=locked,
                client=locked,
                before={k: None if v[0] is None else str(v[0]) for k, v in changed.items()},
                after={k: None if v[1] is None else str(v[1]) for k, v in changed.items()},
                reason=reason,
            )
        change = None
        if credit_limit is not None and credit_limit != locked.credit_limit:
            if LimitChange.objects.filter(client=locked, status=LimitChange.Status.PENDING).exists():
                raise RiskError(
                    f"A limit change for {locked.client_id} is already waiting for approval; "
                    "have it approved or rejected first."
                )
            old = locked.credit_limit
            change = LimitChange(
                client=locked, old_limit=old, new_limit=credit_limit, reason=reason, requested_by=actor
            )
            if credit_limit < old:
                change.status = LimitChange.Status.APPROVED
                change.decided_by = actor
                change.decided_at = timezone.now()
                change.decision_reason = "decrease: applies at once"
                change.save()
                locked.credit_limit = credit_limit
                locked.save(update_fields=["credit_limit"])
                audit(
                    actor=actor,
                    action="risk.limit_decrease",
                    obj=change,
                    client=locked,
                    before={"credit_limit": fmt(old)},
                    after={"credit_limit": fmt(credit_limit)},
                    reason=reason,
                )
            else:
                change.save()
                audit(
                    actor=actor,
                    action="risk.limit_increase_requested",
                    obj=change,
                    client=locked,
                    before={"credit_limit": fmt(old)},
                    after={"credit_limit": fmt(credit_limit), "status": change.status},
                    reason=reason,
                )
        if not changed and change is None:
            raise RiskError("Nothing to change: the values are the client's current ones.")
        if changed or (change and change.status == LimitChange.Status.APPROVED):
            evaluate_alerts(clients=[locked])
    client.refresh_from_db()
    return TermsResult(client=client, limit_change=change, changed_rates={k: v[1] for k, v in changed.items()})


def _lock_pending_change(change: LimitChange) -> LimitChange:
    locked = LimitChange.objects.select_for_update().select_related("client").get(pk=change.pk)
    if locked.status != LimitChange.Status.PENDING:
        raise RiskError(f"This limit change is already {locked.status}.")
    return locked


def approve_limit_change(*, change: LimitChange, actor, reason: str = "") -> LimitChange:
    """A Credit Manager other than the requester approves a pending increase: the new limit applies."""
    check_role(actor, CREDIT)
    with transaction.atomic():
        locked = _lock_pending_change(change)
        if locked.requested_by_id == actor.pk:
            raise RiskError("Four eyes: you requested this limit change, so another Credit Manager must approve it.")
        client = _lock_client(locked.client)
        before = fmt(client.credit_limit)
        client.credit_limit = locked.new_limit
        client.save(update_fields=["credit_limit"])
        locked.status = LimitChange.Status.APPROVED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.decision_reason = (reason or "").strip()
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit(
            actor=actor,
            action="risk.limit_change_approved",
            obj=locked,
            client=client,
            before={"credit_limit": before},
            after={"credit_limit": fmt(locked.new_limit), "requested_by": locked.requested_by.username},
            reason=locked.decision_reason,
        )
        evaluate_alerts(clients=[client])
    change.refresh_from_db()
    return change


def reject_limit_change(*, change: LimitChange, actor, reason: str) -> LimitChange:
    """A Credit Manager rejects a pending increase (a reason is required); the limit is unchanged."""
    check_role(actor, CREDIT)
    reason = _reason(reason)
    with transaction.atomic():
        locked = _lock_pending_change(change)
        locked.status = LimitChange.Status.REJECTED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.decision_reason = reason
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit(
            actor=actor,
            action="risk.limit_change_rejected",
            obj=locked,
            client=locked.client,
            before={"status": LimitChange.Status.PENDING},
            after={"status": locked.status, "new_limit": fmt(locked.new_limit)},
            reason=reason,
        )
    change.refresh_from_db()
    return change


# ----------------------------------------------------------------------------- block/unblock


def _set_client_status(*, client: Client, actor, reason: str, old: str, new: str, action: str, refusal: str) -> Client:
    reason = _reason(reason)
    with transaction.atomic():
        locked = _lock_client(client)
        if locked.status != old:
            raise RiskError(f"{locked.client_id} is {locked.get_status_display()}, {refusal}")
        locked.status = new
        locked.save(update_fields=["status"])
        audit(
            actor=actor,
            action=action,
            obj=locked,
            client=locked,
            before={"status": old},
            after={"status": new},
            reason=reason,
        )
    client.refresh_from_db()
    return client


def block_client(*, client: Client, actor, reason: str) -> Client:
    """Put an active client on hold (role ``risk``) with a written reason; audited."""
    check_role(actor, RISK)
    return _set_client_status(
        client=client,
        actor=actor,
        reason=reason,
        old=Client.Status.ACTIVE,
        new=Client.Status.ON_HOLD,
        action="risk.block_client",
        refusal="not active: it cannot be blocked.",
    )


def unblock_client(*, client: Client, actor, reason: str) -> Client:
    """Put an on-hold client back to active (roles ``risk``, ``credit``) with a written reason; audited."""
    check_role(actor, RISK, CREDIT)
    return _set_client_status(
        client=client,
        actor=actor,
        reason=reason,
        old=Client.Status.ON_HOLD,
        new=Client.Status.ACTIVE,
        action="risk.unblock_client",
        refusal="not on hold: nothing to unblock.",
    )


# ----------------------------------------------------------------------------------- alerts


@dataclass(frozen=True)
class Breach:
    severity: str
    value: Decimal
    threshold: Decimal
    message: str


@dataclass(frozen=True)
class Overdue:
    """A client's open receivables at D: the total and the part more than 90 days past due."""

    total_open: Decimal
    over_90: Decimal

    @property
    def overdue_share(self) -> Decimal | None:
        """Unrounded, as ``risk.selectors.Aging.overdue_share``: None when nothing is open."""
        return self.over_90 / self.total_open if self.total_open > 0 else None


@dataclass(frozen=True)
class DebtorRef:
    """The debtor fields a breach names (``DebtorShare.debtor`` of :func:`breach_inputs`)."""

    pk: int
    debtor_id: str
    name: str


@dataclass
class BreachInputs:
    """What the alert rules and the payout checks read for a set of clients at D, and nothing more.

    ``figures``: ``ledger.selectors.client_figures``; ``concentration``: per client pk only the
    **breached** debtor shares (``risk.selectors.DebtorShare``, largest first, as
    ``debtor_concentration`` sorts them; their ``debtor`` is a :class:`DebtorRef`); ``aging``: per
    client pk an :class:`Overdue`. Equal, rule for rule, to what :func:`risk.selectors.risk_snapshot`
    gives the same rules (``tests/risk/test_alert_inputs.py`` compares them on a demo book).
    """

    as_of: datetime.date
    policy: RiskPolicy
    clients: list[int]  # pks
    figures: dict
    concentration: dict
    aging: dict


def _open_cents(client_pks: list[int] | None, as_of: datetime.date) -> list[tuple[int, int, int, int]]:
    """``(client pk, debtor pk, open cents, open cents > 90 days past due)`` per client and debtor at D
    (``client_pks`` None: every client).

    Each receivable's open amount is rounded to the cent before it is summed, as
    ``risk.selectors.open_receivables`` does (SQLite computes the difference in floating point;
    every amount has two places, so the rounding restores the exact cents). When a collection or a
    write-off is dated after D the maintained columns are not the state at D: the exact rows of
    ``risk.selectors.open_receivables`` are summed instead.
    """
    from django.db.models import BigIntegerField, Case, F, Q, Sum, Value, When
    from django.db.models.functions import Cast, Round

    from atlas.money import MINOR_UNITS
    from clients.models import Receivable, Transaction
    from ledger.models import EntryType, JournalEntry
    from risk.selectors import open_receivables

    cutoff = as_of - datetime.timedelta(days=90)  # more than 90 days past due: due_date < cutoff
    maintained = (
        set(MINOR_UNITS.values()) == {2}  # whole cents are the exact unit of every currency
        and not Transaction.objects.filter(type=Transaction.Type.COLLECTION, date__gt=as_of).exists()
        and not JournalEntry.objects.filter(type=EntryType.WRITE_OFF, date__gt=as_of).exists()
    )
    if not maintained:
        sums: dict[tuple[int, int], list[int]] = {}
        for r in open_receivables(client_pks, as_of=as_of):
            cents = int(r.open_amount.scaleb(2))
            s = sums.setdefault((r.client_id, r.debtor.pk), [0, 0])
            s[0] += cents
            if r.due_date < cutoff:
                s[1] += cents
        return [(c, d, s[0], s[1]) for (c, d), s in sums.items()]
    where = Q() if client_pks is None else Q(client_id__in=client_pks)
    cents = Cast(Round((F("face_value") - F("collected") - F("written_off")) * Value(100)), BigIntegerField())
    rows = (
        Receivable.objects.filter(where, issue_date__lte=as_of, face_value__gt=F("collected") + F("written_off"))
        .order_by()
        .values("client_id", "debtor_id")
        .annotate(
            open_cents=Sum(cents),
            over_90=Sum(Case(When(due_date__lt=cutoff, then=cents), default=Value(0), output_field=BigIntegerField())),
        )
        .values_list("client_id", "debtor_id", "open_cents", "over_90")
    )
    return [(c, d, int(open_cents), int(over_90)) for c, d, open_cents, over_90 in rows]  # PostgreSQL: numeric sums


def breach_inputs(clients=None, *, as_of: datetime.date | None = None, reread: bool = True) -> BreachInputs:
    """The inputs of :func:`breaches` (and of the payout checks) for ``clients`` at ``as_of``.

    ``clients``: None (all), a QuerySet, or Client objects; with ``reread`` (the default) the clients
    are read again from the database, as ``risk_snapshot`` does, so that stale objects cannot give stale
    limits; the payout checks pass rows they hold locked and ``reread=False``. A constant number of
    queries: the ledger figures, the open amounts summed per client and debtor in SQL (no receivable
    rows leave the database), the debtors' own limits and the breached debtors' names.
    """
    from django.db.models import QuerySet

    from clients.models import Debtor
    from ledger.selectors import client_figures
    from risk.selectors import DebtorShare

    as_of = as_of or timezone.localdate()
    policy = RiskPolicy.get()
    if clients is None:
        client_list = list(Client.objects.all())
    elif isinstance(clients, QuerySet):
        client_list = list(clients)
    elif reread:
        client_list = list(Client.objects.filter(pk__in=[getattr(c, "pk", c) for c in clients]))
    else:
        client_list = list(clients)
    pks = [c.pk for c in client_list]
    figures = client_figures(client_list, as_of=as_of) if client_list else {}
    rows = _open_cents(None if clients is None else pks, as_of) if client_list else []
    limits = dict(
        Debtor.objects.filter(concentration_limit__isnull=False).order_by().values_list("pk", "concentration_limit")
    )
    totals: dict[int, list[int]] = {}
    for client_pk, _debtor_pk, open_cents, over_90 in rows:
        if open_cents > 0:
            t = totals.setdefault(client_pk, [0, 0])
            t[0] += open_cents
            t[1] += over_90
    default_limit = policy.default_concentration_limit
    found: list[tuple[int, int, Decimal, Decimal, Decimal]] = []
    for client_pk, debtor_pk, open_cents, _over_90 in rows:
        if open_cents <= 0:
            continue
        amount = Decimal(open_cents).scaleb(-2)
        share = amount / Decimal(totals[client_pk][0]).scaleb(-2)
        limit = limits.get(debtor_pk, default_limit)
        if share > limit:
            found.append((client_pk, debtor_pk, amount, share, limit))
    names = {}
    if found:
        debtors = Debtor.objects.filter(pk__in={f[1] for f in found}).order_by()
        names = {
            pk: DebtorRef(pk, debtor_id, name) for pk, debtor_id, name in debtors.values_list("pk", "debtor_id", "name")
        }
    concentration: dict[int, list] = {pk: [] for pk in pks}
    for client_pk, debtor_pk, amount, share, limit in found:
        concentration[client_pk].append(
            DebtorShare(debtor=names[debtor_pk], open_amount=amount, share=share, limit=limit, breached=True)
        )
    for shares in concentration.values():
        shares.sort(key=lambda s: (-s.share, s.debtor.debtor_id))
    zero = Decimal("0.00")
    aging = {pk: Overdue(zero, zero) for pk in pks}
    for client_pk, (total, over) in totals.items():
        if client_pk in aging:
            aging[client_pk] = Overdue(Decimal(total).scaleb(-2), Decimal(over).scaleb(-2))
    return BreachInputs(
        as_of=as_of, policy=policy, clients=pks, figures=figures, concentration=concentration, aging=aging
    )


def breaches(snapshot) -> dict[tuple[int, str, str], Breach]:
    """Every (client pk, metric, key) out of bounds in a :class:`BreachInputs` (what
    :func:`evaluate_alerts` reads) or a :class:`risk.selectors.RiskSnapshot` (the reference: every open
    receivable as a row; only its breached shares and its > 90 days bucket matter here)."""
    policy = snapshot.policy
    out: dict[tuple[int, str, str], Breach] = {}
    M, S = Alert.Metric, Alert.Severity
    for pk, fig in snapshot.figures.items():
        ratio = fig.exposure_ratio
        if ratio > 1:
            out[(pk, M.OVER_LIMIT, "")] = Breach(
                S.CRITICAL,
                round_ratio(ratio),
                Decimal("1.0000"),
                f"exposure {fmt(fig.exposure)} is over the credit limit {fmt(fig.credit_limit)}",
            )
        if ratio >= policy.exposure_warning_level:
            out[(pk, M.EXPOSURE_WARNING, "")] = Breach(
                S.WARNING,
                round_ratio(ratio),
                round_ratio(policy.exposure_warning_level),
                f"exposure ratio {round_ratio(ratio)} ≥ warning level {round_ratio(policy.exposure_warning_level)}",
            )
        if fig.shortfall > 0:
            out[(pk, M.RESERVE_SHORTFALL, "")] = Breach(
                S.CRITICAL,
                round_money(fig.shortfall, fig.currency),
                round_money(fig.required_reserve, fig.currency),
                f"reserve {fmt(fig.rolling_reserve)} is {fmt(fig.shortfall)} below "
                f"the required {fmt(fig.required_reserve)}",
            )
    for pk, shares in snapshot.concentration.items():
        for s in shares:
            if s.breached:
                out[(pk, M.CONCENTRATION, s.debtor.debtor_id)] = Breach(
                    S.WARNING,
                    round_ratio(s.share),
                    round_ratio(s.limit),
                    f"debtor {s.debtor.debtor_id} is {round_ratio(s.share)} of open receivables "
                    f"(limit {round_ratio(s.limit)})",
                )
    for pk, ag in snapshot.aging.items():
        if ag.overdue_share is not None and ag.overdue_share > policy.overdue_share_level:
            over_90 = ag.over_90 if isinstance(ag, Overdue) else ag.buckets[">90"]
            out[(pk, M.OVERDUE_SHARE, "")] = Breach(
                S.WARNING,
                round_ratio(ag.overdue_share),
                round_ratio(policy.overdue_share_level),
                f"{fmt(over_90)} of {fmt(ag.total_open)} open is more than 90 days past due",
            )
    return out


@dataclass
class EvaluationResult:
    opened: int = 0
    updated: int = 0
    resolved: int = 0


def evaluate_alerts(*, clients=None, as_of: datetime.date | None = None) -> EvaluationResult:
    """Open, update and resolve alerts for ``clients`` (all when None) at ``as_of`` (today when None).

    An alert is opened for each breach that has no open/acknowledged alert; an existing one gets
    its value, threshold, severity and message refreshed (acknowledged stays acknowledged); an
    open/acknowledged alert whose metric is back in bounds is resolved automatically
    (``resolved_by`` empty). Bulk: constant number of queries whatever the number of clients.
    """
    snapshot = breach_inputs(clients, as_of=as_of)
    found = breaches(snapshot)
    now = timezone.now()
    result = EvaluationResult()
    with transaction.atomic():
        active = list(
            Alert.objects.select_for_update()
            .filter(client_id__in=list(snapshot.clients), status__in=Alert.ACTIVE_STATUSES)
            .order_by("pk")
        )
        existing = {(a.client_id, a.metric, a.key): a for a in active}
        to_update, to_resolve = [], []
        for key, alert in existing.items():
            breach = found.get(key)
            if breach is None:
                alert.status = Alert.Status.RESOLVED
                alert.resolved_at = now
                alert.resolved_by = None
                alert.as_of = snapshot.as_of
                alert.updated_at = now
                to_resolve.append(alert)
            elif (alert.value, alert.threshold, alert.severity, alert.message, alert.as_of) != (
                breach.value,
                breach.threshold,
                breach.severity,
                breach.message,
                snapshot.as_of,
            ):
                alert.value, alert.threshold = breach.value, breach.threshold
                alert.severity, alert.message = breach.severity, breach.message[:255]
                alert.as_of = snapshot.as_of
                alert.updated_at = now
                to_update.append(alert)
        new = [
            Alert(
                client_id=client_pk,
                metric=metric,
                key=key,
                severity=b.severity,
                value=b.value,
                threshold=b.threshold,
                message=b.message[:255],
                as_of=snapshot.as_of,
            )
            for (client_pk, metric, key), b in found.items()
            if (client_pk, metric, key) not in existing
        ]
        if to_resolve:
            Alert.objects.bulk_update(
                to_resolve, ["status", "resolved_at", "resolved_by", "as_of", "updated_at"], batch_size=500
            )
        if to_update:
            Alert.objects.bulk_update(
                to_update, ["value", "threshold", "severity", "message", "as_of", "updated_at"], batch_size=500
            )
        if new:
            # A concurrent evaluation may have opened the same alert: the conditional unique
            # constraint keeps one, the other insert is skipped.
            Alert.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    result.opened, result.updated, result.resolved = len(new), len(to_update), len(to_resolve)
    return result


def acknowledge_alert(*, alert: Alert, actor) -> Alert:
    """Mark an open alert as seen (roles ``risk``, ``credit``); it stays active until resolved."""
    check_role(actor, RISK, CREDIT)
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.status != Alert.Status.OPEN:
            raise RiskError(f"This alert is {locked.status}; only an open alert can be acknowledged.")
        locked.status = Alert.Status.ACKNOWLEDGED
        locked.acknowledged_by = actor
        locked.acknowledged_at = timezone.now()
        locked.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "updated_at"])
        audit(
            actor=actor,
            action="risk.acknowledge_alert",
            obj=locked,
            client=locked.client,
            before={"status": Alert.Status.OPEN},
            after={"status": Alert.Status.ACKNOWLEDGED, "metric": locked.metric, "key": locked.key},
        )
    alert.refresh_from_db()
    return alert


# ----------------------------------------------------------------------------- maintained totals


@contextmanager
def totals_deferred() -> Iterator[None]:
    """For a bulk writer (the import): inside this block (one transaction) the triggers of
    ``risk/migrations/0003_maintained_totals.py`` skip their row-by-row work, and at its end every maintained
    total is rebuilt from the rows in one pass (on an L book ≈ 0.5 s instead of ≈ 2–4 s of triggers). Other
    transactions keep their triggers (the deferral row is not visible to them; SQLite has one writer).
    Use inside the writer's ``transaction.atomic()``: a block that ends in an exception or marked for rollback
    (a dry run) rolls the deferral row back and skips the rebuild."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("totals_deferred() needs the writer's transaction.atomic()")
    deferral = TotalsDeferral.objects.create()
    yield
    if transaction.get_rollback():
        return
    deferral.delete()
    with connection.cursor() as cursor:
        for sql in rebuild_statements(connection.vendor):
            cursor.execute(sql)
