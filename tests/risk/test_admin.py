"""Admin: the policy is edited through the audited service; alerts and limit changes are read-only."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from atlas.models import AuditEvent
from risk.models import Alert, RiskPolicy
from tests.factories import ClientFactory


@pytest.fixture
def superuser_client(client, db):
    user = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-123")
    client.force_login(user)
    return client, user


def test_policy_change_in_admin_is_audited(superuser_client):
    client, user = superuser_client
    policy = RiskPolicy.get()
    url = f"/admin/risk/riskpolicy/{policy.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "exposure_warning_level": "0.80",
            "min_payout": "150.00",
            "overdue_share_level": "0.10",
            "default_concentration_limit": "0.25",
        },
    )
    assert response.status_code == 302
    policy = RiskPolicy.get()
    assert (policy.exposure_warning_level, policy.min_payout) == (Decimal("0.80"), Decimal("150.00"))
    event = AuditEvent.objects.get(action="risk.update_policy")
    assert event.actor == user and event.reason == "edited in admin"
    assert client.post(f"/admin/risk/riskpolicy/{policy.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RiskPolicy.objects.count() == 1


def test_alert_admin_is_read_only(superuser_client):
    client, _ = superuser_client
    alert = Alert.objects.create(client=ClientFactory(), metric="over_limit", severity="critical", value=2, threshold=1)
    assert client.get("/admin/risk/alert/").status_code == 200
    assert client.get(f"/admin/risk/alert/{alert.pk}/change/").status_code == 200  # view only
    client.post(f"/admin/risk/alert/{alert.pk}/change/", {"status": "resolved"})
    alert.refresh_from_db()
    assert alert.status == "open"
    assert client.get("/admin/risk/alert/add/").status_code == 403
