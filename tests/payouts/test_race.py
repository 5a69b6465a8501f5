"""No payout is ever executed twice: 8 threads racing on PostgreSQL (row locks are what is tested here)."""

import io
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from atlas.models import AuditEvent
from ledger.models import Account, JournalEntry
from payouts import services
from payouts.models import PayoutBatch
from tests.conftest import requires_postgres
from tests.payouts.factories import AS_OF, EXEC_DAY, funded_client, payout

D = Decimal
THREADS = 8


def race(target):
    barrier = threading.Barrier(THREADS)
    errors, results = [], []

    def run():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_threads_executing_one_batch_give_one_execution(users):
    clients = [funded_client(amount) for amount in ("1000.00", "2000.00", "3000.00")]
    payouts = []
    for c, amount in zip(clients, ("600.00", "1500.00", "2999.99"), strict=True):
        p = payout(c, amount)
        services.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
        services.payout_approve(payout=p, actor=users["credit"], as_of=AS_OF)
        payouts.append(p)
    batch = services.batch_create(payouts=payouts, actor=users["ops"])

    results, errors = race(lambda: services.batch_execute(batch=batch, actor=users["ops"], execution_date=EXEC_DAY))
    assert errors == []
    assert len(results) == THREADS
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.EXECUTED
    assert AuditEvent.objects.filter(action="batch.execute", object_id=str(batch.pk)).count() == 1
    for p, c, left in zip(payouts, clients, ("400.00", "500.00", "0.01"), strict=True):
        p.refresh_from_db()
        assert p.status == "executed"
        assert JournalEntry.objects.filter(source_type="payout", source_key=str(p.pk)).count() == 1
        assert AuditEvent.objects.filter(action="payout.execute", object_id=str(p.pk)).count() == 1
        assert Account.objects.get(client=c, kind="settlement").balance == D(left)
    assert Account.objects.get(client=None, kind="bank", currency="EUR").balance == D("-5099.99")
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().startswith("OK:")


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_threads_approving_and_batching_one_payout(users):
    p = payout(funded_client("500.00"), "500.00")
    services.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
    results, errors = race(lambda: services.payout_approve(payout=p, actor=users["credit"], as_of=AS_OF))
    assert errors == []
    assert AuditEvent.objects.filter(action="payout.approve", object_id=str(p.pk)).count() == 1
    # eight batch_create calls with the same payout: one batch, the others are refused
    results, errors = race(lambda: services.batch_create(payouts=[p], actor=users["ops"]))
    assert len(results) == 1 and len(errors) == THREADS - 1
    assert all(isinstance(e, services.PayoutError) for e in errors)
    assert PayoutBatch.objects.count() == 1
