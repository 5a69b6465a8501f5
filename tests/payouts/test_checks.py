"""Each check of DOMAIN.md section 5 with hand-computed numbers; warnings show but do not block."""

import datetime
from decimal import Decimal

import pytest

from payouts import services
from payouts.checks import load_context, run_checks
from tests.factories import ClientFactory, DebtorFactory
from tests.payouts.factories import AS_OF, advance, book, fund, funded_client, payout

pytestmark = pytest.mark.django_db
D = Decimal


def request(p, users, as_of=AS_OF, **kw):
    services.payout_request(payout=p, actor=users["ops"], as_of=as_of, **kw)
    p.refresh_from_db()
    return p


def codes(p, severity=None):
    return [c["code"] for c in p.checks if severity is None or c["severity"] == severity]


def test_suspended_client_is_blocked_with_the_reason(users):
    client = funded_client("1000.00", status="suspended", client_id="CL-SUSP")
    p = request(payout(client, "500.00"), users)
    assert p.status == "blocked"
    assert codes(p) == ["CLIENT_NOT_ACTIVE"]
    assert p.checks[0]["message"] == "Client CL-SUSP is suspended, not active."
    assert p.check_codes == ",CLIENT_NOT_ACTIVE,"


@pytest.mark.parametrize(
    ("iban", "fragment"),
    [("", "the client has no IBAN"), ("DE89370400440532013001", "is not valid"), ("XX00", "is not valid")],
)
def test_invalid_or_missing_iban_blocks(iban, fragment, users):
    client = funded_client("1000.00", iban=iban)
    p = request(payout(client, "500.00"), users)
    assert p.status == "blocked"
    assert codes(p) == ["INVALID_IBAN"]
    assert fragment in p.checks[0]["message"]


def test_insufficient_funds_hand_computed(users):
    # settlement 1000.00; another requested payout 300.00 is pending → available 700.00.
    client = funded_client("1000.00")
    payout(client, "300.00", status="requested", requested_by=users["ops"])
    ok = request(payout(client, "700.00", payout_id="OK"), users)
    assert ok.status == "requested" and ok.checks == []
    # now pending 1000.00: available 0.00; as a pending payout itself, "ok" may still take 700.00
    ctx = load_context([client], as_of=AS_OF)
    assert ctx.figures[client.pk].available == D("0.00")
    assert run_checks(ok, ctx) == []
    # one cent more than its own 700.00 is refused
    assert [r.code for r in run_checks(ok, ctx, amount=D("700.01"))] == ["INSUFFICIENT_FUNDS"]
    ok.status = "cancelled"
    ok.save()
    over = request(payout(client, "700.01", payout_id="OVER"), users)
    assert over.status == "blocked"
    assert codes(over) == ["INSUFFICIENT_FUNDS"]
    assert "Amount 700.01 EUR exceeds the funds available for it: 700.00 EUR" in over.checks[0]["message"]


def test_pending_payout_larger_than_settlement_is_blocked_at_approval(users):
    # The literal "amount > available + own" with available clamped at 0 would let 1500 > 0 + 1500 pass.
    client = funded_client("1000.00")
    p = payout(client, "1500.00", status="requested", requested_by=users["ops"])
    services.payout_approve(payout=p, actor=users["credit"], as_of=AS_OF)
    p.refresh_from_db()
    assert p.status == "blocked" and codes(p) == ["INSUFFICIENT_FUNDS"]


def test_over_limit_client_is_blocked(users):
    # credit limit 5000.00, advance 8000.00 → exposure ratio 1.6 > 1 (and ≥ 0.9: a warning too)
    client = ClientFactory(credit_limit=D("5000.00"), client_id="CL-OVER")
    advance(client, "10000.00", "8000.00", debtor=DebtorFactory(concentration_limit=D("1")))
    p = request(payout(client, "1000.00"), users)
    assert p.status == "blocked"
    assert codes(p, "block") == ["CREDIT_LIMIT_EXCEEDED"]
    assert codes(p, "warn") == ["EXPOSURE_WARNING"]
    msg = p.blocking_checks[0]["message"]
    assert "Exposure 8000.00 EUR is over the credit limit 5000.00 EUR (ratio 1.6000" in msg


def test_exposure_exactly_at_the_limit_warns_but_does_not_block(users):
    client = ClientFactory(credit_limit=D("8000.00"))
    advance(client, "10000.00", "8000.00", debtor=DebtorFactory(concentration_limit=D("1")))
    p = request(payout(client, "1000.00"), users)
    assert p.status == "requested"
    assert codes(p) == ["EXPOSURE_WARNING"]


def test_reserve_shortfall_blocks_with_the_amount(users):
    # R1: advance 8000, collection 10000 → repay 8000, rest 2000, reserve 200 (tranche due Feb 9), settle 1800.
    # R2: advance 5000, drawdown 150 → rolling reserve 50 < required 200 → shortfall 150.00.
    client = ClientFactory(reserve_rate=D("0.10"), reserve_hold_days=30)
    debtor = DebtorFactory(concentration_limit=D("1"))
    r1 = advance(client, "10000.00", "8000.00", debtor=debtor)
    book(client, "collection", "10000.00", date=datetime.date(2026, 1, 10), receivable=r1)
    r2 = advance(client, "10000.00", "5000.00", debtor=debtor, date=datetime.date(2026, 1, 11))
    book(client, "reserve_drawdown", "150.00", date=datetime.date(2026, 1, 12), receivable=r2)
    p = request(payout(client, "1000.00"), users)
    assert p.status == "blocked"
    assert codes(p) == ["RESERVE_SHORTFALL"]
    assert p.checks[0]["message"] == (
        "Rolling reserve 50.00 EUR is below the required reserve 200.00 EUR: shortfall 150.00 EUR."
    )
    # available = 14800.00 settlement − 1000.00 pending (the blocked payout itself) − 150.00 shortfall
    ctx = load_context([client], as_of=AS_OF)
    assert ctx.figures[client.pk].settlement == D("14800.00")
    assert ctx.figures[client.pk].available == D("13650.00")


def test_warnings_do_not_block(users):
    # exposure 8000/8500 = 0.9412 ≥ 0.9; one debtor holds 100 % > 25 %; as of 15 May the invoice due 1 Feb
    # is 103 days past due → overdue share 1.0 > 0.10.
    client = ClientFactory(credit_limit=D("8500.00"))
    advance(client, "10000.00", "8000.00", due_date=datetime.date(2026, 2, 1))
    as_of = datetime.date(2026, 5, 15)
    p = request(payout(client, "1000.00"), users, as_of=as_of)
    assert p.status == "requested"
    assert codes(p, "warn") == ["EXPOSURE_WARNING", "DEBTOR_CONCENTRATION", "OVERDUE_RECEIVABLES"]
    assert codes(p, "block") == []
    assert "0.9412" in p.checks[0]["message"]
    assert "1.0000 > limit 0.2500" in p.checks[1]["message"]
    services.payout_approve(payout=p, actor=users["credit"], as_of=as_of)
    p.refresh_from_db()
    assert p.status == "approved"


def test_every_blocking_reason_is_listed(users):
    client = ClientFactory(status="on_hold", iban="")
    fund(client, "100.00")
    p = request(payout(client, "100.01"), users)
    assert p.status == "blocked"
    assert codes(p) == ["CLIENT_NOT_ACTIVE", "INVALID_IBAN", "INSUFFICIENT_FUNDS"]


def test_checks_for_a_batch_take_a_constant_number_of_queries(django_assert_max_num_queries):
    clients = [funded_client("500.00") for _ in range(3)]
    payouts = [payout(c, "100.00") for c in clients]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        ctx = load_context(clients, as_of=AS_OF)
        [run_checks(p, ctx) for p in payouts]
    more = [funded_client("500.00") for _ in range(12)]
    more_payouts = [payout(c, "100.00") for c in more]
    with django_assert_max_num_queries(len(few.captured_queries)):
        ctx = load_context(clients + more, as_of=AS_OF)
        results = [run_checks(p, ctx) for p in payouts + more_payouts]
    assert results == [[]] * 15
