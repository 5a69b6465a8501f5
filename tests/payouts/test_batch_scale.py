"""A batch at scale: its alert evaluation at commit equals an independent full evaluation, and executing a
batch takes the same number of queries whatever its size."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.demo import make_demo_workbook
from clients.importer import import_workbook
from clients.models import Client
from payouts import services
from payouts.models import Payout
from risk.models import Alert
from risk.selectors import risk_snapshot
from risk.services import breaches, evaluate_alerts
from tests.factories import ClientFactory
from tests.payouts.factories import EXEC_DAY, advance, funded_client, payout

pytestmark = pytest.mark.django_db
D = Decimal


def approved_payouts(clients, users, amount="100.00"):
    """Approved payouts straight in the table (as the benchmark does): the checks run at execution."""
    Payout.objects.bulk_create(
        [
            Payout(
                payout_id=f"BATCH-{c.pk}",
                client=c,
                amount=D(amount),
                currency=c.currency,
                status="approved",
                requested_by=users["ops"],
                approved_by=users["credit"],
            )
            for c in clients
        ]
    )
    return list(Payout.objects.filter(payout_id__startswith="BATCH-").order_by("pk"))


def active_alerts(clients) -> dict:
    return {
        (a.client_id, a.metric, a.key): (a.severity, a.value, a.threshold, a.message, a.as_of)
        for a in Alert.objects.filter(client__in=clients, status__in=Alert.ACTIVE_STATUSES)
    }


def test_batch_alert_outcome_equals_a_full_reference_evaluation(tmp_path, users, django_capture_on_commit_callbacks):
    path = tmp_path / "demo.xlsx"
    make_demo_workbook(path, clients=24, seed=3)
    result = import_workbook(str(path))
    assert result.ok, result.errors[:5]
    clients = list(Client.objects.order_by("pk"))
    # Alerts as they were months ago: the batch's evaluation must open, update and resolve from there.
    evaluate_alerts(as_of=datetime.date(2026, 5, 31))
    stale = active_alerts(clients)
    today = timezone.localdate()

    payouts = approved_payouts(clients, users)
    batch = services.batch_create(payouts=payouts, actor=users["ops"])
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_execute(batch=batch, actor=users["ops"], execution_date=today)
    batch.refresh_from_db()
    assert batch.report["executed"] and batch.report["blocked"]  # both paths ran

    # The reference: every open receivable as a row (risk.selectors.risk_snapshot), after the booking.
    expected = {
        key: (b.severity, b.value, b.threshold, b.message[:255], today)
        for key, b in breaches(risk_snapshot(clients, as_of=today)).items()
    }
    got = active_alerts(clients)
    assert got == expected
    opened, resolved = set(got) - set(stale), set(stale) - set(got)
    updated = {k for k in set(got) & set(stale) if got[k] != stale[k]}
    assert opened and resolved and updated
    assert {metric for _pk, metric, _key in got} >= {"concentration", "overdue_share", "exposure_warning"}
    # A fresh full evaluation over the same clients finds nothing to change.
    again = evaluate_alerts(clients=clients)
    assert (again.opened, again.updated, again.resolved) == (0, 0, 0)


def _batch_queries(n: int, users, django_capture_on_commit_callbacks) -> int:
    clients = [funded_client("1000.00") for _ in range(n)]
    for c in clients[:2]:  # risk warnings (concentration, exposure) for some clients
        advance(c, "5000.00", "1000.00")
    blocked = ClientFactory(status="on_hold")
    payouts = [payout(c, "100.00", status="approved") for c in clients]
    payouts.append(payout(blocked, "100.00", status="approved"))
    batch = services.batch_create(payouts=payouts, actor=users["ops"])
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True):
        services.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    batch.refresh_from_db()
    assert len(batch.report["executed"]) == n and len(batch.report["blocked"]) == 1
    assert batch.sepa_file
    return len(ctx.captured_queries)


def test_batch_execution_query_count_does_not_grow_with_the_batch(users, django_capture_on_commit_callbacks):
    _batch_queries(1, users, django_capture_on_commit_callbacks)  # creates the house accounts and the policy
    small = _batch_queries(2, users, django_capture_on_commit_callbacks)
    large = _batch_queries(12, users, django_capture_on_commit_callbacks)
    assert large == small, (small, large)
