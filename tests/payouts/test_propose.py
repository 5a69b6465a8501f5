"""propose_payouts: ready payouts at the available amount for qualifying active clients; idempotent."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from payouts.models import Payout
from payouts.services import propose_payouts
from risk.models import RiskPolicy
from tests.factories import ClientFactory
from tests.payouts.factories import AS_OF, fund, funded_client, payout

pytestmark = pytest.mark.django_db
D = Decimal


def snapshot():
    return sorted(Payout.objects.values_list("payout_id", "client_id", "status", "amount"))


def test_propose_creates_updates_and_is_idempotent(users):
    rich = funded_client("1234.56", client_id="C1")
    poor = funded_client("99.99", client_id="C2")  # below the 100.00 minimum
    funded_client("100.00", client_id="C3")
    suspended = funded_client("5000.00", client_id="C4", status="suspended")
    claimed = funded_client("1000.00", client_id="C5")
    payout(claimed, "300.00", status="requested", requested_by=users["ops"], payout_id="PO-C5-1")

    result = propose_payouts(as_of=AS_OF)
    assert sorted((p.payout_id, p.amount) for p in result.created) == [
        ("PO-C1-1", D("1234.56")),
        ("PO-C3-1", D("100.00")),
        ("PO-C5-2", D("700.00")),  # 1000.00 − 300.00 pending; numbering continues after PO-C5-1
    ]
    assert not Payout.objects.filter(client__in=[poor, suspended]).exists()
    first = snapshot()
    again = propose_payouts(as_of=AS_OF)
    assert (again.created, again.updated) == ([], [])
    assert len(again.unchanged) == 3
    assert snapshot() == first
    # more money arrives: the ready payout follows; the requested one is never touched
    fund(rich, "65.44")
    fund(claimed, "50.00")
    result = propose_payouts(as_of=AS_OF)
    assert sorted((p.payout_id, p.amount) for p in result.updated) == [
        ("PO-C1-1", D("1300.00")),
        ("PO-C5-2", D("750.00")),
    ]
    assert Payout.objects.get(payout_id="PO-C5-1").amount == D("300.00")


def test_ready_payout_of_a_client_that_no_longer_qualifies_is_left_and_reported(users):
    client = funded_client("500.00", client_id="C9")
    (p,) = propose_payouts(as_of=AS_OF).created
    fund(client, "-450.00")  # available 50.00 < 100.00
    result = propose_payouts(as_of=AS_OF)
    assert [x.pk for x in result.not_qualifying] == [p.pk]
    p.refresh_from_db()
    assert (p.status, p.amount) == ("ready", D("500.00"))


def test_policy_minimum_is_used():
    policy = RiskPolicy.get()
    policy.min_payout = D("600.00")
    policy.save()
    funded_client("599.99")
    funded_client("600.00", client_id="C600")
    assert [p.payout_id for p in propose_payouts(as_of=AS_OF).created] == ["PO-C600-1"]


def test_command(users):
    fund(ClientFactory(client_id="CMD"), "250.00")
    out = io.StringIO()
    call_command("propose_payouts", "--as-of", AS_OF.isoformat(), stdout=out)
    assert "created PO-CMD-1 CMD 250.00 EUR" in out.getvalue()
    assert out.getvalue().strip().endswith("OK: 1 created, 0 updated, 0 unchanged, 0 not qualifying")
    out = io.StringIO()
    call_command("propose_payouts", "--as-of", AS_OF.isoformat(), stdout=out)
    assert out.getvalue().strip() == "OK: 0 created, 0 updated, 1 unchanged, 0 not qualifying"
