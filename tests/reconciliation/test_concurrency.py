"""Two people confirming the same proposal at the same moment book it once (PostgreSQL row locks)."""

import threading

import pytest
from django.db import close_old_connections

from reconciliation import services
from reconciliation.models import Match
from tests.conftest import requires_postgres
from tests.reconciliation.factories import execute_payouts, funded_client, sample


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_book_once(users):
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    statement = services.import_statement(
        content=sample("single_payout.xml", E2E_1=payout.end_to_end_id), file_name="s.xml", actor=users["finance"]
    ).statement
    barrier = threading.Barrier(2)
    results, errors = [], []

    def confirm():
        try:
            barrier.wait()
            results.append(services.apply_proposals(actor=users["finance"], statement=statement))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Match.objects.filter(payout=payout, active=True).count() == 1
    assert sum(len(r.matches) for r in results) == 1
