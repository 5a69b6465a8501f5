"""Admin: payout workflow fields are read-only; the amount only while ready; batches read-only."""

import pytest
from django.urls import reverse

from tests.factories import ClientFactory, PayoutBatchFactory
from tests.payouts.factories import payout

pytestmark = pytest.mark.django_db


def test_payout_admin_read_only_after_ready(admin_client, make_user):
    ready = payout(ClientFactory(), "100.00")
    requested = payout(ClientFactory(), "100.00", status="requested", requested_by=make_user("ops"))
    html = admin_client.get(reverse("admin:payouts_payout_change", args=[ready.pk])).content.decode()
    assert 'name="amount"' in html and 'name="status"' not in html
    html = admin_client.get(reverse("admin:payouts_payout_change", args=[requested.pk])).content.decode()
    assert 'name="amount"' not in html and 'name="status"' not in html
    response = admin_client.post(reverse("admin:payouts_payout_delete", args=[ready.pk]), {"post": "yes"})
    assert response.status_code == 403


def test_batch_admin_is_read_only(admin_client):
    batch = PayoutBatchFactory()
    assert admin_client.get(reverse("admin:payouts_payoutbatch_change", args=[batch.pk])).status_code == 200
    response = admin_client.post(reverse("admin:payouts_payoutbatch_change", args=[batch.pk]), {"status": "executed"})
    assert response.status_code == 403
    assert admin_client.get(reverse("admin:payouts_payoutbatch_add")).status_code == 403
