"""``risk.selectors.portfolio`` (SQL on the maintained columns) and the dashboard built on it give exactly
the figures of the reference computation (``risk.selectors.overview``: every client's ``client_figures``
and every open receivable as an object; the dashboard's former per-client path, kept below), on a
demo-generated book, at dates where the fast path applies and at earlier dates (the reference fallback).
The pages' query counts do not grow with the number of clients.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from atlas.money import ZERO
from atlas.selectors import dashboard
from clients.demo import make_demo_workbook
from clients.importer import import_workbook
from clients.models import Client, Debtor, Receivable
from ledger.selectors import client_figures
from ledger.services import book_write_off, release_reserves
from payouts.models import Payout
from risk.models import RiskPolicy
from risk.selectors import aging, client_risk, debtor_concentration, overview, portfolio, releases_due_by_currency
from tests.factories import ClientFactory, DebtorFactory, PayoutFactory, ReceivableFactory
from tests.risk.factories import book

pytestmark = pytest.mark.django_db

AFTER_ALL = datetime.date(2026, 12, 1)  # after every booking of the demo book: the fast path
EARLIER = [datetime.date(2026, 11, 1), datetime.date(2026, 7, 15)]  # collections after D: the reference path


@pytest.fixture
def demo_book(tmp_path):
    path = tmp_path / "demo.xlsx"
    make_demo_workbook(path, clients=30, seed=7)
    result = import_workbook(str(path))
    assert result.ok, result.errors[:5]
    # A partly collected receivable partly written off (collected and written_off both set), a release run
    # (released tranches), a debtor limit, and pending payouts: every input of the figures is exercised.
    receivable = (
        Receivable.objects.filter(collected__gt=0, advanced__gt=F("reduced") + 5, face_value__gt=F("collected") + 5)
        .order_by("pk")
        .first()
    )
    book_write_off(receivable=receivable, amount=Decimal("3.33"), date=datetime.date(2026, 11, 20))
    release_reserves(as_of=datetime.date(2026, 11, 25))
    Debtor.objects.filter(pk=Debtor.objects.order_by("pk").values("pk")[:1]).update(concentration_limit=Decimal("0.5"))
    assert Payout.objects.filter(status__in=["requested", "blocked"]).exists()
    return list(Client.objects.order_by("pk"))


def assert_same_portfolio(as_of):
    fast = portfolio(as_of=as_of, horizon_end=as_of + datetime.timedelta(days=30))
    ref = overview(as_of=as_of)
    figures = client_figures(None, as_of=as_of)
    # every client's figures, in the reference order (highest exposure ratio first)
    assert [s.pk for s in fast.summaries] == [r.client.pk for r in ref.rows]
    for s, row in zip(fast.summaries, ref.rows, strict=True):
        f = figures[s.pk]
        assert (s.client_id, s.currency, s.status, s.band) == (
            f.client.client_id,
            f.currency,
            f.client.status,
            row.band,
        )
        for name in (
            "credit_limit",
            "exposure",
            "exposure_ratio",
            "headroom",
            "settlement",
            "rolling_reserve",
            "partner_rr",
            "required_reserve",
            "shortfall",
            "pending_payouts",
            "available",
        ):
            assert getattr(s, name) == getattr(f, name), (s.client_id, name)
    # per-currency totals, aging, overdue share, top debtors
    assert [t.currency for t in fast.currencies] == [t.currency for t in ref.currencies]
    for a, b in zip(fast.currencies, ref.currencies, strict=True):
        for name in ("client_count", "exposure", "credit_limit", "shortfall", "rolling_reserve", "required_reserve"):
            assert getattr(a, name) == getattr(b, name), (a.currency, name)
        assert (a.partner_rr, a.bands, a.exposure_ratio) == (b.partner_rr, b.bands, b.exposure_ratio)
        assert a.aging.buckets == b.aging.buckets and a.aging.total_open == b.aging.total_open
        assert a.aging.overdue_share == b.aging.overdue_share
        assert [(d.debtor.pk, d.open_amount, d.share, d.client_count) for d in a.top_debtors] == [
            (d.debtor.pk, d.open_amount, d.share, d.client_count) for d in b.top_debtors
        ]
    # breaches and shortfalls: the same sets, the same figures
    assert sorted((s.pk, d.debtor.pk, d.open_amount, d.share, d.limit) for s, d in fast.breaches()) == sorted(
        (r.client.pk, d.debtor.pk, d.open_amount, d.share, d.limit) for r, d in ref.breaches
    )
    assert sorted((s.pk, s.shortfall) for s in fast.shortfalls) == sorted(
        (r.client.pk, r.figures.shortfall) for r in ref.shortfalls
    )
    assert fast.chart_data() == ref.chart_data()
    return fast, ref


def assert_same_client_risk(as_of, clients):
    """The clients table's top debtor and overdue share equal ``debtor_concentration`` and ``aging``."""
    policy = RiskPolicy.get()
    some = [c.pk for c in clients[::4]]
    concentration, ages = debtor_concentration(None, as_of=as_of), aging(None, as_of=as_of)
    for fast in (True, False):
        for pks in (None, some):
            got = client_risk(pks, as_of=as_of, policy=policy, fast=fast)
            for pk in pks or [c.pk for c in clients]:
                expected_top = (concentration[pk] or [None])[0]
                top = got[pk].top_share if pk in got else None
                assert (top is None) == (expected_top is None), pk
                if top is not None:
                    assert (top.debtor.pk, top.open_amount, top.share, top.limit, top.breached) == (
                        expected_top.debtor.pk,
                        expected_top.open_amount,
                        expected_top.share,
                        expected_top.limit,
                        expected_top.breached,
                    )
                assert (got[pk].overdue_share if pk in got else None) == ages[pk].overdue_share, pk


def test_clients_table_risk_columns_equal_the_reference(demo_book):
    assert_same_client_risk(AFTER_ALL, demo_book)  # fast=False: the reference path gives the same too
    RiskPolicy.objects.filter(pk=RiskPolicy.SINGLETON_PK).update(default_concentration_limit=Decimal("0.7"))
    assert_same_client_risk(AFTER_ALL, demo_book)


def test_portfolio_equals_the_reference_at_every_date(demo_book):
    fast, ref = assert_same_portfolio(AFTER_ALL)
    assert fast.fast
    # the book is not trivially clean
    assert fast.shortfalls and fast.breach_list and any(t.bands["over_limit"] for t in fast.currencies)
    for as_of in EARLIER:
        fast, _ = assert_same_portfolio(as_of)
        assert not fast.fast


def test_fast_path_equals_the_reference_right_after_a_write_off(demo_book):
    receivable = Receivable.objects.filter(collected=0, written_off=0, advanced__gt=F("reduced")).order_by("pk").first()
    book_write_off(receivable=receivable, amount=Decimal("0.01"), date=AFTER_ALL)
    assert portfolio(as_of=AFTER_ALL).fast
    assert_same_portfolio(AFTER_ALL)
    RiskPolicy.objects.filter(pk=RiskPolicy.SINGLETON_PK).update(
        default_concentration_limit=Decimal("0.6"), exposure_warning_level=Decimal("0.5")
    )
    assert_same_portfolio(AFTER_ALL)


def reference_dashboard(as_of, horizon_end):
    """The dashboard's figures computed as before (every client's figures, every open receivable)."""
    from portfolio.projection import loan_positions
    from portfolio.selectors import loan_inputs
    from risk.selectors import exposure_band, open_receivables

    out = defaultdict(lambda: defaultdict(lambda: [0, ZERO]))
    level = RiskPolicy.get().exposure_warning_level

    def add(currency, key, amount, n=1):
        out[currency][key][0] += n
        out[currency][key][1] += amount

    for f in client_figures(None, as_of=as_of).values():
        add(f.currency, "clients", ZERO)
        if f.available > 0:
            add(f.currency, "available", f.available)
        band = exposure_band(f.exposure_ratio, level)
        if band == "over_limit":
            add(f.currency, "over_limit", f.exposure)
        elif band == "warning":
            add(f.currency, "warning", f.exposure)
        if f.shortfall > 0:
            add(f.currency, "shortfall", f.shortfall)
        if f.releases_due_count:
            add(f.currency, "releases_due", f.releases_due, f.releases_due_count)
    for r in open_receivables(None, as_of=as_of):
        add(r.currency, "open", r.open_amount, 0)
        if r.days_past_due > 0:
            add(r.currency, "overdue", r.open_amount)
        if r.due_date <= horizon_end:
            add(r.currency, "expected_receivables", r.open_amount)
    for position in loan_positions(loan_inputs(), as_of)[0]:
        add(position.loan.currency, "loans", position.outstanding)
        for period in position.remaining:
            if period.date <= horizon_end:
                add(position.loan.currency, "expected_loans", period.principal + period.interest)
    return {c: {k: tuple(v) for k, v in kpis.items()} for c, kpis in out.items()}


def dashboard_figures(d):
    out = {}
    for k in d.currencies:
        tallies = {
            "clients": (k.clients, ZERO),
            "available": k.available,
            "over_limit": k.over_limit,
            "warning": k.warning,
            "shortfall": k.shortfall,
            "releases_due": k.releases_due,
            "open": (0, k.open_receivables),
            "overdue": k.overdue,
            "expected_receivables": k.expected_receivables,
            "loans": k.loans_outstanding,
            "expected_loans": k.expected_loans,
        }
        out[k.currency] = {
            key: t if isinstance(t, tuple) else (t.count, t.amount)
            for key, t in tallies.items()
            if (t if isinstance(t, tuple) else (t.count, t.amount)) != (0, ZERO)
        }
    return out


def test_dashboard_equals_the_reference_at_every_date(demo_book):
    for as_of in [AFTER_ALL, *EARLIER]:
        horizon_end = as_of + datetime.timedelta(days=30)
        expected = {
            c: {k: v for k, v in kpis.items() if v != (0, ZERO)}
            for c, kpis in reference_dashboard(as_of, horizon_end).items()
        }
        got = dashboard_figures(dashboard(as_of=as_of))
        assert got == expected, as_of
    # the indexed fast read of releases due equals the reference query
    for as_of in (AFTER_ALL, datetime.date(2026, 11, 26)):
        assert releases_due_by_currency(as_of, fast=True) == releases_due_by_currency(as_of, fast=False) != {}


def test_dashboard_tallies_in_sql_equal_the_client_summaries(demo_book):
    """``dashboard_totals`` sums the clients in SQL; ``tallies_from_summaries`` over ``portfolio``'s rows is the
    reference. At several warning levels (one not a whole number of millionths: the reference path), with a
    client exactly on the warning level (the band is inclusive)."""
    from risk.selectors import dashboard_totals, tallies_from_summaries

    edge = ClientFactory(client_id="QEDGE", credit_limit=Decimal("1000.00"))
    book(edge, ("advance", "500.00", "2026-11-02", ReceivableFactory(client=edge, face_value=Decimal("900.00"))))
    horizon_end = AFTER_ALL + datetime.timedelta(days=30)
    seen_warning = False
    for level in (Decimal("0.90"), Decimal("0.5"), Decimal("0.33"), Decimal("0.1234567")):
        RiskPolicy.objects.filter(pk=RiskPolicy.SINGLETON_PK).update(exposure_warning_level=level)
        fast, tallies, receivables = dashboard_totals(AFTER_ALL, horizon_end)
        pf = portfolio(as_of=AFTER_ALL, horizon_end=horizon_end, top_debtors=0, breaches=False)
        assert fast and pf.fast
        assert tallies == tallies_from_summaries(pf.summaries), level
        assert receivables == pf.receivables
        seen_warning |= any(t["warning_n"] for t in tallies.values())
        expected = {
            c: {k: v for k, v in kpis.items() if v != (0, ZERO)}
            for c, kpis in reference_dashboard(AFTER_ALL, horizon_end).items()
        }
        assert dashboard_figures(dashboard(as_of=AFTER_ALL)) == expected, level
    assert seen_warning
    # the edge client (exposure 500.00 of 1000.00) is in the warning band at exactly 0.5
    RiskPolicy.objects.filter(pk=RiskPolicy.SINGLETON_PK).update(exposure_warning_level=Decimal("0.5"))
    at_half = dashboard_totals(AFTER_ALL, horizon_end)[1]["EUR"]
    RiskPolicy.objects.filter(pk=RiskPolicy.SINGLETON_PK).update(exposure_warning_level=Decimal("0.500001"))
    above_half = dashboard_totals(AFTER_ALL, horizon_end)[1]["EUR"]
    assert at_half["warning_n"] >= above_half["warning_n"] + 1


def test_top_debtors_count_each_client_once(demo_book):
    """A debtor shared by clients: its client count is distinct clients, not receivables (reference equal)."""
    assert_same_portfolio(AFTER_ALL)
    shared = [d for t in portfolio(as_of=AFTER_ALL, top_debtors=1000).currencies for d in t.top_debtors]
    assert any(d.client_count > 1 for d in shared)
    assert any(Receivable.objects.filter(debtor=d.debtor).count() > d.client_count for d in shared)


# --------------------------------------------------------------------------------- query counts


def _queries(web, url):
    web.get(url)  # warm: lazily built rows (loan schedules) are not the page's steady cost
    with CaptureQueriesContext(connection) as ctx:
        assert web.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/", "/risk/", "/risk/?show=breach", "/risk/?page=2&sort=-shortfall"])
def test_portfolio_pages_query_count_does_not_grow_with_clients(client_as, tmp_path, url):
    path = tmp_path / "demo.xlsx"
    make_demo_workbook(path, clients=5, seed=3)
    assert import_workbook(str(path)).ok
    web = client_as("risk")
    few = _queries(web, url)
    for i in range(60):  # 5 → 65 clients, each with a concentrated debtor, a payout and an advance
        c = ClientFactory(client_id=f"QC{i:03d}", credit_limit=Decimal("100.00"))
        r = ReceivableFactory(client=c, debtor=DebtorFactory(), face_value=Decimal("500.00"))
        book(c, ("advance", "90.00", "2026-11-02", r))
        PayoutFactory(client=c, payout_id=f"QP{i:03d}", amount=Decimal("1.00"), status="requested")
    assert _queries(web, url) == few
    assert few <= 25


def test_overview_export_lists_every_filtered_client_and_pages_hold_fifty(demo_book, client_as):
    web = client_as("finance")
    csv_text = web.get("/risk/", {"export": "csv"}).content.decode()
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("Client,Status,Band,Exposure ratio,Exposure")
    assert len(lines) == 1 + len(demo_book)
    short = web.get("/risk/", {"export": "csv", "show": "shortfall"}).content.decode().strip().splitlines()
    assert len(short) - 1 == len(portfolio().shortfalls) > 0
    page = web.get("/risk/")
    assert len(page.context["table"].page.object_list) == 30  # 30 clients, one page of up to 50
    assert len(page.context["shortfalls"]) == page.context["shortfall_count"] or page.context["shortfall_count"] > 20
