"""``risk.services.breach_inputs`` (the alert evaluation's and the payout checks' reader, open amounts summed
in SQL) gives exactly what the reference ``risk.selectors.risk_snapshot`` (every open receivable as a row)
gives the same rules, on a demo-generated book: every alert (value, threshold, message) and every check.

The as-of dates cover the maintained path (nothing dated after D), the exact fallback (collections dated
after D), receivables not yet issued at D, and a write-off dated after D.
"""

import datetime
from decimal import Decimal

import pytest
from django.db.models import F

from clients.demo import make_demo_workbook
from clients.importer import import_workbook
from clients.models import Client, Receivable
from ledger.services import book_write_off
from payouts.checks import CheckContext, load_context, run_checks
from payouts.models import Payout
from risk.models import Alert, RiskPolicy
from risk.selectors import risk_snapshot
from risk.services import breach_inputs, breaches

pytestmark = pytest.mark.django_db

DATES = [
    datetime.date(2026, 12, 1),  # after every booking: maintained columns
    datetime.date(2026, 11, 1),  # the generator's anchor
    datetime.date(2026, 7, 15),  # collections and receivables after D: the exact fallback
    datetime.date(2026, 3, 1),
]


@pytest.fixture
def demo_book(tmp_path):
    path = tmp_path / "demo.xlsx"
    make_demo_workbook(path, clients=24, seed=11)
    result = import_workbook(str(path))
    assert result.ok, result.errors[:5]
    return list(Client.objects.order_by("pk"))


def reference_context(clients, as_of):
    snap = risk_snapshot(clients, as_of=as_of)
    return CheckContext(
        as_of=as_of, figures=snap.figures, concentration=snap.concentration, aging=snap.aging, policy=snap.policy
    )


def test_breaches_equal_the_reference_snapshot(demo_book):
    clients = demo_book
    some = clients[::3]
    metrics = set()
    for as_of in DATES:
        for selection in (None, some, Client.objects.filter(pk__in=[c.pk for c in some])):
            fast = breaches(breach_inputs(selection, as_of=as_of))
            reference = breaches(risk_snapshot(selection, as_of=as_of))
            assert fast == reference, as_of
            metrics |= {metric for _pk, metric, _key in fast}
    # The book is not trivially clean: every kind of alert occurs somewhere.
    assert metrics == set(Alert.Metric.values)


def test_breaches_equal_with_debtor_limits_policy_changes_and_a_later_write_off(demo_book):
    clients = demo_book
    RiskPolicy.objects.filter(pk=RiskPolicy.SINGLETON_PK).update(
        default_concentration_limit=Decimal("0.4"), overdue_share_level=Decimal("0.05")
    )
    receivable = (
        Receivable.objects.filter(collected=0, written_off=0, advanced__gt=F("reduced") + 10).order_by("pk").first()
    )
    book_write_off(receivable=receivable, amount=Decimal("10.00"), date=datetime.date(2026, 11, 20))
    for as_of in (datetime.date(2026, 11, 19), datetime.date(2026, 11, 20), datetime.date(2026, 12, 1)):
        for selection in (None, clients[:5]):
            assert breaches(breach_inputs(selection, as_of=as_of)) == breaches(risk_snapshot(selection, as_of=as_of))


def test_payout_checks_equal_the_reference_context(demo_book):
    clients = demo_book
    payouts = [
        Payout(payout_id=f"P{c.pk}", client=c, amount=amount, currency=c.currency, status=status)
        for c in clients
        for amount, status in ((Decimal("100.00"), "requested"), (Decimal("50000.00"), "approved"))
    ]
    seen = set()
    for as_of in DATES:
        fast, reference = load_context(clients, as_of=as_of), reference_context(clients, as_of)
        for p in payouts:
            results = run_checks(p, fast)
            assert results == run_checks(p, reference), (as_of, p.client.client_id)
            seen |= {r.code for r in results}
    assert {"DEBTOR_CONCENTRATION", "OVERDUE_RECEIVABLES", "INSUFFICIENT_FUNDS"} <= seen


def test_breach_inputs_query_count_does_not_grow_with_clients(demo_book, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    clients = demo_book
    as_of = DATES[0]
    with CaptureQueriesContext(connection) as few:
        breach_inputs(clients[:2], as_of=as_of)
    with django_assert_max_num_queries(len(few.captured_queries)):
        breach_inputs(clients, as_of=as_of)
