"""Risk services: policy, four-eyes limit changes, block/unblock, alert life cycle."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import IntegrityError, transaction

from atlas.models import AuditEvent
from clients.models import Client
from risk import services
from risk.models import Alert, LimitChange, RiskPolicy
from tests.factories import ClientFactory, DebtorFactory, ReceivableFactory, UserFactory
from tests.risk.factories import book

d = datetime.date.fromisoformat


# ---------------------------------------------------------------------------------- policy


def test_policy_singleton_defaults(db):
    p = RiskPolicy.get()
    assert (p.pk, p.exposure_warning_level, p.min_payout, p.overdue_share_level, p.default_concentration_limit) == (
        1,
        Decimal("0.90"),
        Decimal("100.00"),
        Decimal("0.10"),
        Decimal("0.25"),
    )
    assert RiskPolicy.get().pk == p.pk and RiskPolicy.objects.count() == 1


def test_update_policy_is_audited_and_role_checked(users):
    with pytest.raises(PermissionDenied):
        services.update_policy(actor=users["ops"], min_payout=Decimal("50.00"))
    services.update_policy(actor=users["risk"], reason="tighter", exposure_warning_level=Decimal("0.85"))
    assert RiskPolicy.get().exposure_warning_level == Decimal("0.85")
    event = AuditEvent.objects.get(action="risk.update_policy")
    assert event.actor == users["risk"] and event.reason == "tighter"
    assert Decimal(event.before["exposure_warning_level"]) == Decimal("0.9")
    assert Decimal(event.after["exposure_warning_level"]) == Decimal("0.85")
    with pytest.raises(services.RiskError):
        services.update_policy(actor=users["risk"], overdue_share_level=Decimal("1.5"))


# ---------------------------------------------------------------------------- limit changes


@pytest.fixture
def acme(db):
    return ClientFactory(client_id="ACME", credit_limit=Decimal("100000.00"))


def test_limit_increase_waits_for_a_different_credit_manager(acme, users):
    both = UserFactory(username="risk_and_credit", roles=["risk", "credit"])
    result = services.update_client_terms(
        client=acme, actor=both, reason="bigger deals", credit_limit=Decimal("150000.00")
    )
    change = result.limit_change
    assert change.status == LimitChange.Status.PENDING
    assert (change.old_limit, change.new_limit) == (Decimal("100000.00"), Decimal("150000.00"))
    acme.refresh_from_db()
    assert acme.credit_limit == Decimal("100000.00")  # not yet
    assert AuditEvent.objects.filter(action="risk.limit_increase_requested", actor=both).count() == 1

    # The requester may not approve it, even holding the credit role.
    with pytest.raises(services.RiskError, match="Four eyes"):
        services.approve_limit_change(change=change, actor=both)
    # A risk-only user may not approve at all.
    with pytest.raises(PermissionDenied):
        services.approve_limit_change(change=change, actor=users["risk"])
    change.refresh_from_db()
    assert change.status == LimitChange.Status.PENDING

    services.approve_limit_change(change=change, actor=users["credit"], reason="ok")
    change.refresh_from_db()
    acme.refresh_from_db()
    assert acme.credit_limit == Decimal("150000.00")
    assert (change.status, change.decided_by) == (LimitChange.Status.APPROVED, users["credit"])
    event = AuditEvent.objects.get(action="risk.limit_change_approved")
    assert event.actor == users["credit"] and event.client == acme
    assert event.before == {"credit_limit": "100000.00"}
    assert event.after["credit_limit"] == "150000.00"
    # Deciding twice is refused.
    with pytest.raises(services.RiskError, match="already approved"):
        services.approve_limit_change(change=change, actor=users["credit"])


def test_limit_decrease_applies_at_once(acme, users):
    result = services.update_client_terms(
        client=acme, actor=users["risk"], reason="weaker debtor book", credit_limit=Decimal("80000.00")
    )
    acme.refresh_from_db()
    assert acme.credit_limit == Decimal("80000.00")
    assert result.limit_change.status == LimitChange.Status.APPROVED
    assert result.limit_change.decided_by == users["risk"]
    event = AuditEvent.objects.get(action="risk.limit_decrease")
    assert (event.before, event.after) == ({"credit_limit": "100000.00"}, {"credit_limit": "80000.00"})


def test_only_one_pending_change_and_reject_needs_reason(acme, users):
    first = services.update_client_terms(
        client=acme, actor=users["risk"], reason="r", credit_limit=Decimal("120000.00")
    ).limit_change
    with pytest.raises(services.RiskError, match="already waiting"):
        services.update_client_terms(client=acme, actor=users["risk"], reason="r", credit_limit=Decimal("130000.00"))
    with pytest.raises(services.RiskError, match="reason"):
        services.reject_limit_change(change=first, actor=users["credit"], reason="  ")
    services.reject_limit_change(change=first, actor=users["credit"], reason="not now")
    first.refresh_from_db()
    acme.refresh_from_db()
    assert first.status == LimitChange.Status.REJECTED and acme.credit_limit == Decimal("100000.00")
    assert AuditEvent.objects.filter(action="risk.limit_change_rejected", reason="not now").count() == 1
    # The database refuses two pending changes for a client too.
    LimitChange.objects.create(
        client=acme, old_limit=acme.credit_limit, new_limit=Decimal("1.00"), reason="x", requested_by=users["risk"]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        LimitChange.objects.create(
            client=acme, old_limit=acme.credit_limit, new_limit=Decimal("2.00"), reason="y", requested_by=users["risk"]
        )


def test_rates_apply_at_once_audited_and_role_checked(acme, users):
    with pytest.raises(PermissionDenied):
        services.update_client_terms(client=acme, actor=users["ops"], reason="r", reserve_rate=Decimal("0.2"))
    with pytest.raises(PermissionDenied):
        services.update_client_terms(client=acme, actor=users["credit"], reason="r", reserve_rate=Decimal("0.2"))
    with pytest.raises(services.RiskError, match="reason"):
        services.update_client_terms(client=acme, actor=users["risk"], reason="", reserve_rate=Decimal("0.2"))
    with pytest.raises(services.RiskError, match="between 0 and 1"):
        services.update_client_terms(client=acme, actor=users["risk"], reason="r", reserve_rate=Decimal("1.2"))
    result = services.update_client_terms(
        client=acme, actor=users["risk"], reason="riskier", reserve_rate=Decimal("0.15"), reserve_hold_days=45
    )
    acme.refresh_from_db()
    assert (acme.reserve_rate, acme.reserve_hold_days) == (Decimal("0.15"), 45)
    assert set(result.changed_rates) == {"reserve_rate", "reserve_hold_days"}
    assert result.limit_change is None
    event = AuditEvent.objects.get(action="risk.update_rates")
    assert event.before == {"reserve_rate": "0.100000", "reserve_hold_days": "30"}
    assert event.after == {"reserve_rate": "0.15", "reserve_hold_days": "45"}
    with pytest.raises(services.RiskError, match="Nothing to change"):
        services.update_client_terms(client=acme, actor=users["risk"], reason="r", reserve_hold_days=45)


# ---------------------------------------------------------------------------- block/unblock


def test_block_and_unblock(acme, users):
    with pytest.raises(PermissionDenied):
        services.block_client(client=acme, actor=users["credit"], reason="x")
    with pytest.raises(PermissionDenied):
        services.block_client(client=acme, actor=users["ops"], reason="x")
    with pytest.raises(services.RiskError, match="reason"):
        services.block_client(client=acme, actor=users["risk"], reason=" ")
    services.block_client(client=acme, actor=users["risk"], reason="fraud suspicion")
    assert Client.objects.get(pk=acme.pk).status == Client.Status.ON_HOLD
    with pytest.raises(services.RiskError, match="not active"):
        services.block_client(client=acme, actor=users["risk"], reason="again")
    with pytest.raises(PermissionDenied):
        services.unblock_client(client=acme, actor=users["ops"], reason="x")
    services.unblock_client(client=acme, actor=users["credit"], reason="cleared")
    assert Client.objects.get(pk=acme.pk).status == Client.Status.ACTIVE
    with pytest.raises(services.RiskError, match="not on hold"):
        services.unblock_client(client=acme, actor=users["risk"], reason="again")
    events = list(
        AuditEvent.objects.filter(client=acme).order_by("id").values_list("action", "actor__username", "reason")
    )
    assert events == [
        ("risk.block_client", "risk", "fraud suspicion"),
        ("risk.unblock_client", "credit", "cleared"),
    ]


# ---------------------------------------------------------------------------------- alerts


def _active(client, metric):
    return Alert.objects.filter(client=client, metric=metric, status__in=Alert.ACTIVE_STATUSES)


@pytest.fixture
def reserve_client(db):
    """reserve 10 %, hold 30 days. Collection 1000.00 on R1 (nothing advanced): tranche 100.00 due 31 Mar,
    settlement 900.00. Advance 500.00 on R2; drawdown 60.00 on R2 -> rolling reserve 40.00, required 100.00,
    shortfall 60.00 at 10 Mar."""
    c = ClientFactory(client_id="SHORT", reserve_rate=Decimal("0.10"), reserve_hold_days=30)
    r1 = ReceivableFactory(client=c, face_value=Decimal("1000.00"), due_date=d("2026-06-30"))
    r2 = ReceivableFactory(client=c, face_value=Decimal("1000.00"), due_date=d("2026-06-30"))
    book(
        c,
        ("collection", "1000.00", "2026-03-01", r1),
        ("advance", "500.00", "2026-03-02", r2),
        ("reserve_drawdown", "60.00", "2026-03-03", r2),
    )
    return c, r2


def test_reserve_shortfall_alert_opens_updates_and_resolves(reserve_client):
    c, r2 = reserve_client
    D = d("2026-03-10")
    result = services.evaluate_alerts(clients=[c], as_of=D)
    alert = _active(c, Alert.Metric.RESERVE_SHORTFALL).get()
    assert (alert.severity, alert.value, alert.threshold, alert.status) == (
        Alert.Severity.CRITICAL,
        Decimal("60.0000"),
        Decimal("100.0000"),
        Alert.Status.OPEN,
    )
    assert result.opened >= 1
    # Re-evaluation without change: nothing new, nothing updated.
    again = services.evaluate_alerts(clients=[c], as_of=D)
    assert (again.opened, again.updated) == (0, 0)

    # Worse: another drawdown of 20.00 -> shortfall 80.00; the same alert is updated.
    book(c, ("reserve_drawdown", "20.00", "2026-03-04", r2))
    services.evaluate_alerts(clients=[c], as_of=D)
    updated = _active(c, Alert.Metric.RESERVE_SHORTFALL).get()
    assert updated.pk == alert.pk and updated.value == Decimal("80.0000")

    # Acknowledge: it stays active (acknowledged) while the shortfall lasts.
    services.acknowledge_alert(alert=updated, actor=UserFactory(username="r2", roles=["risk"]))
    services.evaluate_alerts(clients=[c], as_of=D)
    assert _active(c, Alert.Metric.RESERVE_SHORTFALL).get().status == Alert.Status.ACKNOWLEDGED

    # The client tops up 80.00 from settlement: shortfall 0 -> resolved automatically.
    book(c, ("reserve_topup", "80.00", "2026-03-05", None))
    result = services.evaluate_alerts(clients=[c], as_of=D)
    assert result.resolved >= 1
    resolved = Alert.objects.get(pk=alert.pk)
    assert resolved.status == Alert.Status.RESOLVED
    assert resolved.resolved_by is None and resolved.resolved_at is not None
    assert not _active(c, Alert.Metric.RESERVE_SHORTFALL).exists()

    # A new shortfall later opens a new alert (the resolved one stays as history).
    book(c, ("reserve_drawdown", "10.00", "2026-03-06", r2))
    services.evaluate_alerts(clients=[c], as_of=D)
    new = _active(c, Alert.Metric.RESERVE_SHORTFALL).get()
    assert new.pk != alert.pk and new.value == Decimal("10.0000")
    assert Alert.objects.filter(client=c, metric=Alert.Metric.RESERVE_SHORTFALL).count() == 2


def test_exposure_alerts(db):
    c = ClientFactory(credit_limit=Decimal("1000.00"), advance_rate=Decimal("1.00"))
    r = ReceivableFactory(client=c, face_value=Decimal("5000.00"), due_date=d("2026-12-31"))
    book(c, ("advance", "899.99", "2026-03-01", r))
    D = d("2026-03-10")
    services.evaluate_alerts(clients=[c], as_of=D)
    assert not _active(c, Alert.Metric.EXPOSURE_WARNING).exists()  # 0.89999 < 0.90
    book(c, ("advance", "0.01", "2026-03-02", r))  # exactly 0.90 -> warning
    services.evaluate_alerts(clients=[c], as_of=D)
    warning = _active(c, Alert.Metric.EXPOSURE_WARNING).get()
    assert (warning.severity, warning.value, warning.threshold) == ("warning", Decimal("0.9000"), Decimal("0.9000"))
    assert not _active(c, Alert.Metric.OVER_LIMIT).exists()
    book(c, ("advance", "150.00", "2026-03-03", r))  # 1050 / 1000 = 1.05
    services.evaluate_alerts(clients=[c], as_of=D)
    over = _active(c, Alert.Metric.OVER_LIMIT).get()
    assert (over.severity, over.value) == ("critical", Decimal("1.0500"))
    assert _active(c, Alert.Metric.EXPOSURE_WARNING).get().value == Decimal("1.0500")
    # Raising the warning level in the policy changes the threshold but 1.05 is still above it.
    services.update_policy(actor=UserFactory(username="rr", roles=["risk"]), exposure_warning_level=Decimal("0.95"))
    services.evaluate_alerts(clients=[c], as_of=D)
    assert _active(c, Alert.Metric.EXPOSURE_WARNING).get().threshold == Decimal("0.9500")
    # An evaluation at an earlier date sees only the first advance: both resolve.
    services.evaluate_alerts(clients=[c], as_of=d("2026-03-01"))
    assert not _active(c, Alert.Metric.OVER_LIMIT).exists()
    assert not _active(c, Alert.Metric.EXPOSURE_WARNING).exists()


def test_concentration_and_overdue_alerts(db):
    c = ClientFactory()
    big = DebtorFactory(debtor_id="BIG")
    others = [DebtorFactory() for _ in range(4)]
    # BIG: 4000 of 10000 open = 0.40 > 0.25; others 1500 each = 0.15.
    ReceivableFactory(client=c, debtor=big, face_value=Decimal("4000.00"), due_date=d("2026-01-31"))
    for debtor in others:
        ReceivableFactory(client=c, debtor=debtor, face_value=Decimal("1500.00"), due_date=d("2026-06-30"))
    D = d("2026-05-15")  # BIG's invoice is 104 days past due: overdue share 0.40 > 0.10
    services.evaluate_alerts(clients=[c], as_of=D)
    conc = _active(c, Alert.Metric.CONCENTRATION).get()
    assert (conc.key, conc.value, conc.threshold) == ("BIG", Decimal("0.4000"), Decimal("0.2500"))
    overdue = _active(c, Alert.Metric.OVERDUE_SHARE).get()
    assert (overdue.value, overdue.threshold) == (Decimal("0.4000"), Decimal("0.1000"))
    # On 30 Apr BIG's invoice is 89 days past due: overdue share back to 0 -> resolved; concentration stays.
    services.evaluate_alerts(clients=[c], as_of=d("2026-04-30"))
    assert not _active(c, Alert.Metric.OVERDUE_SHARE).exists()
    assert _active(c, Alert.Metric.CONCENTRATION).get().pk == conc.pk


def test_one_active_alert_per_client_metric_key_in_the_database(db):
    c = ClientFactory()
    kw = {"client": c, "metric": "concentration", "key": "D1", "severity": "warning", "value": 1, "threshold": 0}
    Alert.objects.create(**kw)
    Alert.objects.create(**{**kw, "key": "D2"})
    Alert.objects.create(**{**kw, "status": "resolved"})
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(**{**kw, "status": "acknowledged"})


def test_acknowledge_role_and_state(db, users):
    c = ClientFactory()
    alert = Alert.objects.create(client=c, metric="over_limit", severity="critical", value=2, threshold=1)
    with pytest.raises(PermissionDenied):
        services.acknowledge_alert(alert=alert, actor=users["ops"])
    services.acknowledge_alert(alert=alert, actor=users["credit"])
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", users["credit"])
    with pytest.raises(services.RiskError):
        services.acknowledge_alert(alert=alert, actor=users["risk"])


def test_booking_with_alert_evaluation_on_commit(db, django_capture_on_commit_callbacks):
    """The ledger re-evaluates alerts after a booking commits: a shortfall opens without calling us."""
    from ledger.services import book_transactions
    from tests.factories import TransactionFactory

    c = ClientFactory(credit_limit=Decimal("100.00"), advance_rate=Decimal("1.00"))
    r = ReceivableFactory(client=c, face_value=Decimal("500.00"), due_date=d("2030-01-01"))
    with django_capture_on_commit_callbacks(execute=True):
        book_transactions([TransactionFactory(client=c, type="advance", amount=Decimal("120.00"), receivable=r)])
    assert _active(c, Alert.Metric.OVER_LIMIT).exists()


def test_evaluate_alerts_command(db):
    c = ClientFactory(credit_limit=Decimal("100.00"), advance_rate=Decimal("1.00"))
    r = ReceivableFactory(client=c, face_value=Decimal("500.00"), due_date=d("2030-01-01"))
    book(c, ("advance", "120.00", "2026-03-01", r))
    out = StringIO()
    call_command("evaluate_alerts", "--as-of", "2026-02-28", stdout=out)
    assert not _active(c, Alert.Metric.OVER_LIMIT).exists()
    call_command("evaluate_alerts", "--as-of", "2026-03-01", stdout=out)
    assert _active(c, Alert.Metric.OVER_LIMIT).get().value == Decimal("1.2000")
    assert "opened" in out.getvalue()


def _risky_clients(n: int, start: int):
    """Clients over their limit, with a shortfall-free reserve and one debtor (100 % concentration)."""
    for i in range(n):
        c = ClientFactory(client_id=f"B{start + i:04d}", credit_limit=Decimal("100.00"), advance_rate=Decimal("1.00"))
        r = ReceivableFactory(client=c, face_value=Decimal("500.00"), due_date=d("2026-01-01"))
        book(c, ("advance", "120.00", "2026-01-02", r))


def test_evaluate_alerts_query_count_is_flat(db):
    """Reads are a constant number of queries; writes are bulk (SQLite splits a bulk insert into
    batches of its 999-parameter limit, so they are counted separately)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def run():
        with CaptureQueriesContext(connection) as ctx:
            services.evaluate_alerts(as_of=d("2026-06-30"))
        sql = [q["sql"].lstrip().upper() for q in ctx.captured_queries]
        writes = [q for q in sql if q.startswith(("INSERT", "UPDATE"))]
        return len(sql) - len(writes), len(writes)

    RiskPolicy.get()  # created once, outside the measured runs
    _risky_clients(5, 0)
    reads_5, writes_5 = run()  # 20 alerts opened
    _risky_clients(35, 100)
    reads_40, writes_40 = run()  # 140 more opened, 20 unchanged
    assert Alert.objects.filter(status="open").count() == 40 * 4  # exposure_warning, over_limit, concentration, overdue
    assert reads_40 == reads_5
    assert writes_5 == 1 and writes_40 <= 3  # 140 rows in one INSERT per parameter-limit batch
    RiskPolicy.objects.update(exposure_warning_level=Decimal("0.95"))
    reads_upd, writes_upd = run()  # 40 exposure warnings get the new threshold
    assert reads_upd == reads_5 and writes_upd <= 3
    assert set(Alert.objects.filter(metric="exposure_warning").values_list("threshold", flat=True)) == {
        Decimal("0.9500")
    }
