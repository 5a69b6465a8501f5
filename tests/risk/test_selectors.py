"""Worked examples (hand-computed from DOMAIN.md section 6) for the figures risk computes itself:
open amount at D, debtor concentration, aging buckets and overdue share, reserve validation."""

import datetime
from decimal import Decimal

import pytest

from ledger.services import book_write_off
from risk.models import RiskPolicy
from risk.selectors import (
    aging,
    bucket_for,
    debtor_concentration,
    exposure_band,
    overview,
    ratio_histogram,
    reserve_validation,
    split_releasable,
)
from tests.factories import ClientFactory, DebtorFactory, ReceivableFactory
from tests.risk.factories import book

D = datetime.date(2026, 6, 30)
d = datetime.date.fromisoformat


@pytest.fixture
def worked(db):
    """One EUR client with receivables on three debtors (see the comments for the hand computation)."""
    c = ClientFactory(client_id="C1", credit_limit=Decimal("100000.00"))
    da = DebtorFactory(debtor_id="DA", concentration_limit=None)  # policy default 0.25
    db_ = DebtorFactory(debtor_id="DB", concentration_limit=Decimal("0.50"))
    dc = DebtorFactory(debtor_id="DC", concentration_limit=None)

    def rec(rid, debtor, face, due):
        return ReceivableFactory(receivable_id=rid, client=c, debtor=debtor, face_value=Decimal(face), due_date=d(due))

    r = {
        # open at D: 10000 - 2500 = 7500, due 15 Jul: current
        "R1": rec("R1", da, "10000.00", "2026-07-15"),
        # 5000, 10 days past due: 1-30
        "R2": rec("R2", da, "5000.00", "2026-06-20"),
        # 8000 - 3000 (the 1000 of 5 Jul is after D) = 5000, 61 dpd: 61-90
        "R3": rec("R3", db_, "8000.00", "2026-04-30"),
        # 4000 - write-off 1000 = 3000, 121 dpd: >90
        "R4": rec("R4", dc, "4000.00", "2026-03-01"),
        # 2000, 30 dpd: 1-30 (boundary)
        "R5": rec("R5", dc, "2000.00", "2026-05-31"),
        # fully collected: not open
        "R6": rec("R6", db_, "1000.00", "2026-06-01"),
        # 3000, 60 dpd: 31-60 (boundary)
        "R7": rec("R7", da, "3000.00", "2026-05-01"),
        # 500, 90 dpd: 61-90 (boundary)
        "R8": rec("R8", db_, "500.00", "2026-04-01"),
    }
    book(
        c,
        ("advance", "3200.00", "2026-01-10", r["R4"]),
        ("collection", "3000.00", "2026-05-10", r["R3"]),
        ("collection", "2500.00", "2026-06-01", r["R1"]),
        ("collection", "1000.00", "2026-06-10", r["R6"]),
        ("collection", "1000.00", "2026-07-05", r["R3"]),
    )
    book_write_off(receivable=r["R4"], amount=Decimal("1000.00"), date=d("2026-06-15"))
    return c, r, (da, db_, dc)


def test_bucket_boundaries():
    assert [bucket_for(n) for n in (-5, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "current",
        "current",
        "1-30",
        "1-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        ">90",
    ]


def test_aging_worked_example(worked):
    c, _, _ = worked
    a = aging([c], as_of=D)[c.pk]
    assert a.buckets == {
        "current": Decimal("7500.00"),
        "1-30": Decimal("7000.00"),  # R2 5000 + R5 2000
        "31-60": Decimal("3000.00"),  # R7
        "61-90": Decimal("5500.00"),  # R3 5000 + R8 500
        ">90": Decimal("3000.00"),  # R4
    }
    assert a.total_open == Decimal("26000.00")
    assert a.overdue_share == Decimal("3000") / Decimal("26000")
    assert a.overdue_share_display == Decimal("0.1154")


def test_aging_at_an_earlier_date_ignores_later_collections_and_write_offs(worked):
    c, _, _ = worked
    a = aging([c], as_of=d("2026-05-05"))[c.pk]
    # Only the advance is dated <= 5 May: every receivable is at face value.
    # R1 (due 15 Jul) current 10000, R2 (20 Jun) current 5000, R5 (31 May) current 2000,
    # R6 (1 Jun) current 1000, R3 (30 Apr) 5 dpd 8000, R7 (1 May) 4 dpd 3000,
    # R8 (1 Apr) 34 dpd 500, R4 (1 Mar) 65 dpd 4000.
    assert a.buckets == {
        "current": Decimal("18000.00"),
        "1-30": Decimal("11000.00"),
        "31-60": Decimal("500.00"),
        "61-90": Decimal("4000.00"),
        ">90": Decimal("0.00"),
    }
    assert a.total_open == Decimal("33500.00")
    assert a.overdue_share == 0


def test_receivables_issued_after_d_are_not_open_at_d(worked):
    c, _, (da, _, _) = worked
    ReceivableFactory(client=c, debtor=da, issue_date=d("2026-07-01"), due_date=d("2026-08-01"))
    assert aging([c], as_of=D)[c.pk].total_open == Decimal("26000.00")


def test_concentration_worked_example(worked):
    c, _, (da, db_, dc) = worked
    shares = debtor_concentration([c], as_of=D)[c.pk]
    assert [s.debtor.debtor_id for s in shares] == ["DA", "DB", "DC"]
    total = Decimal("26000")
    # DA: R1 7500 + R2 5000 + R7 3000 = 15500; DB: R3 5000 + R8 500 = 5500; DC: R4 3000 + R5 2000 = 5000
    assert [s.open_amount for s in shares] == [Decimal("15500.00"), Decimal("5500.00"), Decimal("5000.00")]
    assert [s.share for s in shares] == [Decimal("15500") / total, Decimal("5500") / total, Decimal("5000") / total]
    assert [s.share_display for s in shares] == [Decimal("0.5962"), Decimal("0.2115"), Decimal("0.1923")]
    assert [s.limit for s in shares] == [Decimal("0.25"), Decimal("0.50"), Decimal("0.25")]
    assert [s.breached for s in shares] == [True, False, False]


def test_concentration_limit_follows_policy_default(worked):
    c, _, _ = worked
    policy = RiskPolicy.get()
    policy.default_concentration_limit = Decimal("0.60")
    policy.save()
    shares = debtor_concentration([c], as_of=D)[c.pk]
    assert [(s.limit, s.breached) for s in shares] == [
        (Decimal("0.600000"), False),
        (Decimal("0.500000"), False),
        (Decimal("0.600000"), False),
    ]


def test_share_equal_to_limit_is_not_a_breach(db):
    c = ClientFactory()
    a, b = DebtorFactory(), DebtorFactory(concentration_limit=Decimal("0.50"))
    ReceivableFactory(client=c, debtor=a, face_value=Decimal("100.00"))
    ReceivableFactory(client=c, debtor=b, face_value=Decimal("100.00"))
    shares = {s.debtor.pk: s for s in debtor_concentration([c], as_of=D)[c.pk]}
    assert shares[b.pk].share == Decimal("0.5") and not shares[b.pk].breached
    assert shares[a.pk].breached  # 0.5 > default 0.25


def test_clients_without_open_receivables_have_empty_results(db):
    c = ClientFactory()
    assert debtor_concentration([c], as_of=D) == {c.pk: []}
    a = aging(None, as_of=D)[c.pk]
    assert a.total_open == Decimal("0.00") and a.overdue_share is None


def test_queryset_and_all_clients_agree(worked):
    from clients.models import Client

    c, _, _ = worked
    other = ClientFactory()
    ReceivableFactory(client=other, face_value=Decimal("1.00"))
    by_list = aging([c], as_of=D)
    by_qs = aging(Client.objects.filter(pk=c.pk), as_of=D)
    by_all = aging(None, as_of=D)
    assert by_list[c.pk].buckets == by_qs[c.pk].buckets == by_all[c.pk].buckets
    assert set(by_qs) == {c.pk} and set(by_all) == {c.pk, other.pk}


def test_exposure_band_compares_unrounded_ratio():
    level = Decimal("0.90")
    assert exposure_band(Decimal("0.8999999"), level) == "ok"
    assert exposure_band(Decimal("0.90"), level) == "warning"
    assert exposure_band(Decimal("1"), level) == "warning"
    assert exposure_band(Decimal("1.00001"), level) == "over_limit"


def test_ratio_histogram():
    labels, counts = ratio_histogram([Decimal("0"), Decimal("0.05"), Decimal("0.95"), Decimal("1"), Decimal("1.2")])
    assert len(labels) == 11
    assert counts == [2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1]


# ------------------------------------------------------------------------- reserve validation


class T:
    def __init__(self, pk, amount, due):
        self.pk, self.amount, self.due_date = pk, Decimal(amount), d(due)


def test_split_releasable_oldest_first_and_stops_at_first_shortfall():
    t1, t2, t3 = T(1, "30", "2026-01-01"), T(2, "50", "2026-01-01"), T(3, "10", "2026-01-02")
    # balance 100, required 40: t1 -> 70 ok; t2 -> 20 < 40 held; t3 held too although 70-10=60 >= 40.
    released, held = split_releasable([t3, t2, t1], balance=Decimal("100"), required=Decimal("40"))
    assert [t.pk for t in released] == [1]
    assert [t.pk for t in held] == [2, 3]
    released, held = split_releasable([t3, t2, t1], balance=Decimal("130"), required=Decimal("40"))
    assert ([t.pk for t in released], held) == ([1, 2, 3], [])


@pytest.fixture
def reserve_client(db):
    """reserve_rate 0.10, 30 hold days. Collections with nothing advanced: reserve = 10 % of each.

    C1 1000.00 on 1 Mar -> tranche 100.00 due 31 Mar; C2 2000.00 on 10 Mar -> 200.00 due 9 Apr;
    C3 3000.00 on 1 Jun -> 300.00 due 1 Jul. Rolling reserve 600.00. Drawdown 250.00 on a receivable
    with an advance leaves 350.00 (tranches unchanged).
    """
    c = ClientFactory(client_id="RSV", reserve_rate=Decimal("0.10"), reserve_hold_days=30)
    r1 = ReceivableFactory(client=c, face_value=Decimal("1000.00"))
    r2 = ReceivableFactory(client=c, face_value=Decimal("2000.00"))
    r3 = ReceivableFactory(client=c, face_value=Decimal("3000.00"))
    r4 = ReceivableFactory(client=c, face_value=Decimal("1000.00"))
    book(
        c,
        ("collection", "1000.00", "2026-03-01", r1),
        ("collection", "2000.00", "2026-03-10", r2),
        ("collection", "3000.00", "2026-06-01", r3),
        ("advance", "800.00", "2026-06-02", r4),
        ("reserve_drawdown", "250.00", "2026-06-03", r4),
    )
    return c


def test_reserve_validation_worked_example(reserve_client):
    (row,) = reserve_validation([reserve_client], as_of=d("2026-06-10"))
    # At 10 Jun: required = 300.00 (due 1 Jul); actual = 600 - 250 = 350.00; shortfall 0.
    assert row.required == Decimal("300.00")
    assert row.actual == Decimal("350.00")
    assert row.shortfall == Decimal("0.00")
    assert row.excess == Decimal("50.00")
    # Due: 100 (31 Mar), 200 (9 Apr). 350-100 = 250 < 300: the first is held, so both are.
    assert [t.amount for t in row.due] == [Decimal("100.00"), Decimal("200.00")]
    assert row.releasable == []
    assert [t.amount for t in row.held] == [Decimal("100.00"), Decimal("200.00")]
    assert row.held_total == Decimal("300.00")


def test_reserve_validation_matches_release_run(reserve_client):
    from ledger.services import release_reserves

    # Top up 60.00: balance 410; 410-100 = 310 >= 300 released; 310-200 = 110 < 300 held.
    book(reserve_client, ("reserve_topup", "60.00", "2026-06-05", None))
    (row,) = reserve_validation([reserve_client], as_of=d("2026-06-10"))
    assert [t.amount for t in row.releasable] == [Decimal("100.00")]
    assert [t.amount for t in row.held] == [Decimal("200.00")]
    assert row.balance_after_release == Decimal("310.00")
    result = release_reserves(as_of=d("2026-06-10"))
    assert [t.pk for t in result.released] == [t.pk for t in row.releasable]
    assert [t.pk for t in result.held] == [t.pk for t in row.held]
    # After the run nothing releasable is left; the held tranche is still due.
    (after,) = reserve_validation([reserve_client], as_of=d("2026-06-10"))
    assert after.releasable == [] and [t.amount for t in after.held] == [Decimal("200.00")]
    assert after.actual == Decimal("310.00")


def test_reserve_shortfall_in_validation(reserve_client):
    # At 20 Mar: tranches 100 (due 31 Mar) and 200 (due 9 Apr) are required = 300; actual 300: no shortfall.
    (row,) = reserve_validation([reserve_client], as_of=d("2026-03-20"))
    assert (row.required, row.actual, row.shortfall, row.due) == (
        Decimal("300.00"),
        Decimal("300.00"),
        Decimal("0.00"),
        [],
    )
    # At 3 Jun after the drawdown: required 300 (due 1 Jul), actual 350 -> fine; at 1 Jun before the
    # advance: 600 actual. Shortfall shows at 10 Jun only after a second drawdown of 100.00.
    r = reserve_client.receivables.order_by("pk").last()
    book(reserve_client, ("reserve_drawdown", "100.00", "2026-06-08", r))
    (row,) = reserve_validation([reserve_client], as_of=d("2026-06-10"))
    assert row.actual == Decimal("250.00")
    assert row.shortfall == Decimal("50.00")
    assert row.excess == Decimal("0.00")


# ---------------------------------------------------------------------------------- overview


def test_overview_bands_and_portfolio_per_currency(worked):
    c, r, _ = worked
    # C1 exposure: advance 3200 on R4, less the write-off 1000 = 2200.00 / 100000 -> ok.
    warn = ClientFactory(client_id="W", credit_limit=Decimal("1000.00"), currency="EUR")
    rw = ReceivableFactory(client=warn, face_value=Decimal("2000.00"), due_date=d("2026-12-31"))
    book(warn, ("advance", "950.00", "2026-06-01", rw))  # 0.95 -> warning
    over = ClientFactory(client_id="O", credit_limit=Decimal("1000.00"), currency="GBP")
    ro = ReceivableFactory(client=over, face_value=Decimal("2000.00"), due_date=d("2026-12-31"))
    book(over, ("advance", "1200.00", "2026-06-01", ro))  # 1.2 -> over limit
    ov = overview(as_of=D)
    assert [(row.client.client_id, row.band) for row in ov.rows] == [
        ("O", "over_limit"),
        ("W", "warning"),
        ("C1", "ok"),
    ]
    assert ov.rows[2].figures.exposure == Decimal("2200.00")
    eur, gbp = ov.currencies
    assert (eur.currency, gbp.currency) == ("EUR", "GBP")
    assert eur.exposure == Decimal("3150.00") and eur.credit_limit == Decimal("101000.00")
    assert eur.bands == {"ok": 1, "warning": 1, "over_limit": 0}
    assert gbp.bands == {"ok": 0, "warning": 0, "over_limit": 1}
    # EUR open: C1 26000 + W 2000 (current); GBP: 2000 current.
    assert eur.aging.total_open == Decimal("28000.00")
    assert eur.aging.buckets["current"] == Decimal("9500.00")
    assert gbp.aging.buckets["current"] == Decimal("2000.00")
    assert eur.top_debtors[0].debtor.debtor_id == "DA"
    assert eur.top_debtors[0].open_amount == Decimal("15500.00")
    assert eur.top_debtors[0].share == Decimal("15500") / Decimal("28000")
    assert [(row.client.client_id, s.debtor.debtor_id) for row, s in ov.breaches] == [
        ("O", ro.debtor.debtor_id),  # one debtor = 100 % of its open
        ("W", rw.debtor.debtor_id),
        ("C1", "DA"),
    ]
    data = ov.chart_data()
    assert data["ratio"]["counts"][0] == 1 and data["ratio"]["counts"][9] == 1 and data["ratio"]["counts"][10] == 1
    assert data["aging"]["series"][0] == {
        "currency": "EUR",
        "amounts": ["9500.00", "7000.00", "3000.00", "5500.00", "3000.00"],
    }
