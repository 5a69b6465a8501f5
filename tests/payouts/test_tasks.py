"""Background execution (django-tasks, immediate backend here): executing at once, result after the task."""

import pytest
from django.test import override_settings
from django.urls import reverse

from ledger.models import JournalEntry
from payouts import services
from payouts.models import PayoutBatch
from payouts.services import PayoutError
from payouts.tasks import progress_path
from tests.payouts.factories import AS_OF, EXEC_DAY, funded_client, payout

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def batch(users, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ps = []
    for amount in ("100.00", "200.00"):
        p = payout(funded_client("500.00"), amount)
        services.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
        services.payout_approve(payout=p, actor=users["credit"], as_of=AS_OF)
        ps.append(p)
    return services.batch_create(payouts=ps, actor=users["ops"])


@override_settings(TASKS=IMMEDIATE)
def test_background_execution(batch, users, client_as, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.batch_enqueue(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    batch.refresh_from_db()
    assert batch.status == "executing"
    # while executing the batch can't change
    p = batch.payouts.first()
    with pytest.raises(PayoutError, match="executing"):
        services.payout_cancel(payout=p, actor=users["ops"])
    assert client_as("finance").get(reverse("payouts:batch_progress", args=[batch.pk])).json()["status"] == "executing"
    for callback in callbacks:
        callback()
    batch.refresh_from_db()
    assert batch.status == "executed" and len(batch.report["executed"]) == 2
    assert JournalEntry.objects.filter(source_type="payout").count() == 2
    assert not progress_path(batch.pk).exists()
    assert client_as("finance").get(reverse("payouts:batch_progress", args=[batch.pk])).json()["status"] == "executed"


@override_settings(TASKS=IMMEDIATE)
def test_failed_background_execution_books_nothing_and_returns_to_draft(
    batch, users, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise RuntimeError("bank file service down")

    monkeypatch.setattr("payouts.sepa.build_pain001", broken)
    with django_capture_on_commit_callbacks(execute=True):  # the immediate backend records the failure
        services.batch_enqueue(batch=batch, actor=users["ops"], execution_date=EXEC_DAY)
    batch.refresh_from_db()
    assert batch.status == "draft"
    assert "bank file service down" in batch.report["error"]
    assert not JournalEntry.objects.filter(source_type="payout").exists()
    assert set(batch.payouts.values_list("status", flat=True)) == {"approved"}


@override_settings(TASKS=IMMEDIATE)
def test_execute_view_in_the_background(batch, client_as, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as("ops").post(
            reverse("payouts:batch_execute", args=[batch.pk]),
            {"execution_date": EXEC_DAY.isoformat(), "confirm": "1", "background": "1"},
        )
    assert response.status_code == 302
    assert PayoutBatch.objects.get(pk=batch.pk).status == "executed"
