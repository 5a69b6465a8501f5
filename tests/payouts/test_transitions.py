"""The payout state machine: every (action, state) pair, allowed, already-done or refused; four eyes; roles."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from atlas.models import AuditEvent
from ledger.models import JournalEntry
from ledger.services import book_payout
from payouts import services
from payouts.models import Payout
from payouts.services import PayoutError
from tests.payouts.factories import AS_OF, EXEC_DAY, funded_client, payout

pytestmark = pytest.mark.django_db
D = Decimal
STATES = ["ready", "requested", "approved", "executed", "blocked", "rejected", "cancelled", "returned"]

# Written by hand from DOMAIN.md section 5 (not derived from services.TRANSITIONS).
# action -> {state: resulting state}; "=" means "already done: nothing changes"; missing means refused.
EXPECTED = {
    "request": {"ready": "requested", "requested": "=", "blocked": "="},
    "approve": {"requested": "approved", "approved": "="},
    "reject": {"requested": "rejected", "blocked": "rejected", "rejected": "="},
    "cancel": {
        "ready": "cancelled",
        "requested": "cancelled",
        "blocked": "cancelled",
        "approved": "cancelled",
        "cancelled": "=",
    },
    "override": {"blocked": "approved"},
    "recheck": {"blocked": "requested", "requested": "="},
    "return": {"executed": "returned", "returned": "="},
}


def call(action, p, users):
    if action == "request":
        return services.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
    if action == "approve":
        return services.payout_approve(payout=p, actor=users["credit"], as_of=AS_OF)
    if action == "reject":
        return services.payout_reject(payout=p, actor=users["credit"], reason="not convinced")
    if action == "cancel":
        return services.payout_cancel(payout=p, actor=users["ops"], reason="client asked")
    if action == "override":
        return services.payout_override(payout=p, actor=users["credit"], reason="documented exception")
    if action == "recheck":
        return services.payout_recheck(payout=p, actor=users["ops"], as_of=AS_OF)
    if action == "return":
        return services.payout_mark_returned(payout=p, actor=users["ops"], reason="account closed", date=EXEC_DAY)
    raise AssertionError(action)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_transitions_table(action, state, users):
    client = funded_client("1000.00")
    p = payout(client, "400.00", status=state, requested_by=users["admin"])
    if state in ("executed", "returned"):
        book_payout(payout=p, date=EXEC_DAY)
    expected = EXPECTED[action].get(state)
    audits_before = AuditEvent.objects.filter(object_type="payouts.payout", object_id=str(p.pk)).count()
    if expected is None:
        with pytest.raises(PayoutError) as exc:
            call(action, p, users)
        assert p.payout_id in exc.value.message and state in exc.value.message
        p.refresh_from_db()
        assert p.status == state
        return
    call(action, p, users)
    p.refresh_from_db()
    audits = AuditEvent.objects.filter(object_type="payouts.payout", object_id=str(p.pk))
    if expected == "=":
        assert p.status == state
        assert audits.count() == audits_before
    else:
        assert p.status == expected
        event = audits.first()
        assert event.action == f"payout.{action}"
        assert event.before["status"] == state and event.after["status"] == expected


def test_request_that_fails_checks_blocks_and_keeps_the_requester(users):
    client = funded_client("1000.00")
    p = payout(client, "1000.00")
    client.status = "suspended"
    client.save()
    services.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "blocked"
    assert p.requested_by == users["ops"]
    assert [c["code"] for c in p.blocking_checks] == ["CLIENT_NOT_ACTIVE"]


def test_request_may_lower_the_amount_but_never_raise_it(users):
    client = funded_client("1000.00")
    p = payout(client, "800.00")
    with pytest.raises(PayoutError, match="only be lowered"):
        services.payout_request(payout=p, actor=users["ops"], amount="800.01", as_of=AS_OF)
    with pytest.raises(PayoutError, match="more than 2 decimal places"):
        services.payout_request(payout=p, actor=users["ops"], amount="500.001", as_of=AS_OF)
    services.payout_request(payout=p, actor=users["ops"], amount="500.00", as_of=AS_OF)
    p.refresh_from_db()
    assert (p.status, p.amount) == ("requested", D("500.00"))


def test_four_eyes_on_approve(make_user):
    both = make_user("credit", username="ops-and-credit")
    both.groups.add(*make_user("ops").groups.all())
    client = funded_client("1000.00")
    p = payout(client, "100.00")
    services.payout_request(payout=p, actor=both, as_of=AS_OF)
    with pytest.raises(PayoutError, match="Four eyes"):
        services.payout_approve(payout=p, actor=both, as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "requested" and p.approved_by is None
    other = make_user("credit")
    services.payout_approve(payout=p, actor=other, as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "approved" and p.approved_by == other


def test_four_eyes_on_override(make_user):
    both = make_user("credit", username="ops-and-credit")
    both.groups.add(*make_user("ops").groups.all())
    client = funded_client("100.00")
    p = payout(client, "100.00")
    client.iban = ""
    client.save()
    services.payout_request(payout=p, actor=both, as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "blocked"
    with pytest.raises(PayoutError, match="Four eyes"):
        services.payout_override(payout=p, actor=both, reason="I know this client")
    other = make_user("credit")
    with pytest.raises(PayoutError, match="written reason"):
        services.payout_override(payout=p, actor=other, reason="  ")
    services.payout_override(payout=p, actor=other, reason="IBAN confirmed by phone")
    p.refresh_from_db()
    assert (p.status, p.approved_by, p.override_reason) == ("approved", other, "IBAN confirmed by phone")
    assert p.override_codes == ["INVALID_IBAN"]
    event = AuditEvent.objects.filter(object_id=str(p.pk), action="payout.override").get()
    assert event.reason == "IBAN confirmed by phone" and event.actor == other


def test_recheck_returns_a_blocked_payout_to_requested_once_checks_pass(users):
    client = funded_client("1000.00")
    p = payout(client, "600.00")
    client.status = "on_hold"
    client.save()
    services.payout_request(payout=p, actor=users["ops"], as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "blocked"
    services.payout_recheck(payout=p, actor=users["ops"], as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "blocked"  # still on hold
    client.status = "active"
    client.save()
    services.payout_recheck(payout=p, actor=users["credit"], as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "requested" and p.checks == []
    actions = list(
        AuditEvent.objects.filter(object_id=str(p.pk), object_type="payouts.payout")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["payout.request", "payout.recheck", "payout.recheck"]


def test_reject_and_override_need_a_reason(users):
    client = funded_client("1000.00")
    p = payout(client, "100.00", status="requested", requested_by=users["ops"])
    with pytest.raises(PayoutError, match="written reason"):
        services.payout_reject(payout=p, actor=users["credit"], reason="")


def test_returned_payout_posts_the_reversal(users):
    from ledger.models import Account

    client = funded_client("1000.00")
    p = payout(client, "250.00", status="executed", requested_by=users["admin"])
    book_payout(payout=p, date=EXEC_DAY)
    settlement = Account.objects.get(client=client, kind="settlement")
    assert settlement.balance == D("750.00")
    services.payout_mark_returned(payout=p, actor=users["ops"], reason="beneficiary account closed", date=EXEC_DAY)
    services.payout_mark_returned(payout=p, actor=users["ops"], reason="double click", date=EXEC_DAY)
    settlement.refresh_from_db()
    assert settlement.balance == D("1000.00")
    ret = JournalEntry.objects.get(source_type="payout_return", source_key=str(p.pk))
    assert {(x.account.code, x.side, x.amount) for x in ret.postings.select_related("account")} == {
        ("h:bank", "D", D("250.00")),
        ("c:settlement", "C", D("250.00")),
    }
    p.refresh_from_db()
    assert p.status == "returned" and p.status_reason == "beneficiary account closed"


ROLE_CASES = [
    ("request", "ready", ("credit", "risk", "finance")),
    ("cancel", "requested", ("credit", "risk", "finance")),
    ("approve", "requested", ("ops", "risk", "finance")),
    ("reject", "requested", ("ops", "risk", "finance")),
    ("override", "blocked", ("ops", "risk", "finance")),
    ("recheck", "blocked", ("risk", "finance")),
    ("return", "executed", ("credit", "risk", "finance")),
]


@pytest.mark.parametrize(("action", "state", "refused"), ROLE_CASES)
def test_services_check_roles(action, state, refused, users):
    client = funded_client("1000.00")
    p = payout(client, "100.00", status=state, requested_by=users["admin"])
    for role in refused:
        swapped = dict.fromkeys(users, users[role])
        with pytest.raises(PermissionDenied):
            call(action, p, swapped)
    assert Payout.objects.get(pk=p.pk).status == state
