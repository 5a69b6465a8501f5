"""Risk pages: roles on every view and every POST, flows through the views, flat query counts."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse

from atlas.models import AuditEvent
from atlas.roles import ROLES
from clients.models import Client
from ledger.models import ReserveTranche
from risk import urls as risk_urls
from risk.models import Alert, LimitChange, RiskPolicy
from tests.factories import ClientFactory, DebtorFactory, ReceivableFactory
from tests.risk.factories import book

d = datetime.date.fromisoformat


def test_every_risk_view_declares_its_roles():
    for pattern in risk_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        roles = getattr(pattern.callback, "atlas_roles", None)
        assert roles, f"{pattern.name} declares no roles"


@pytest.fixture
def acme(db):
    c = ClientFactory(client_id="ACME", credit_limit=Decimal("1000.00"), advance_rate=Decimal("1.00"))
    r = ReceivableFactory(client=c, debtor=DebtorFactory(debtor_id="BIGD"), face_value=Decimal("5000.00"))
    book(c, ("advance", "950.00", "2026-01-10", r), ("collection", "2000.00", "2026-01-20", r))
    return c


GET_PAGES = [
    ("risk:overview", {}, set(ROLES)),
    ("risk:reserves", {}, set(ROLES)),
    ("risk:alerts", {}, set(ROLES)),
    ("risk:policy", {}, set(ROLES)),
    ("risk:limits", {}, set(ROLES)),
    ("risk:client_limits", {"client_id": "ACME"}, set(ROLES)),
    ("risk:client_block", {"client_id": "ACME"}, {"risk", "credit"}),
    ("risk:reserves_release", {}, {"ops", "risk"}),
]


@pytest.mark.parametrize("name,kwargs,allowed", GET_PAGES, ids=[p[0] for p in GET_PAGES])
def test_pages_answer_by_role(acme, client_as, name, kwargs, allowed):
    url = reverse(name, kwargs=kwargs)
    for role in ROLES:
        response = client_as(role).get(url, {"as_of": "2026-03-01"})
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, (name, role, response.status_code)


def test_overview_shows_figures_and_links(acme, client_as):
    response = client_as("finance").get(reverse("risk:overview"), {"as_of": "2026-03-01"})
    html = response.content.decode()
    # 950 advanced, collection 2000 repays 950: exposure 0.00; ratio 0.0000.
    assert 'href="/clients/ACME/"' in html
    assert 'id="risk-chart-data"' in html
    assert "js/risk.js" in html and "chart.umd.min.js" in html
    assert "<script>" not in html.replace("<script src=", "")  # no inline code
    pf = response.context["pf"]
    assert pf.summaries[0].exposure == Decimal("0.00")
    # Open 3000 on the one debtor: 100 % concentration, breached.
    assert [(c.client_id, s.debtor.debtor_id) for c, s in response.context["breaches"]] == [("ACME", "BIGD")]


# ---------------------------------------------------------------------------- POST role checks


def _posts(acme, users):
    change = LimitChange.objects.create(
        client=acme, old_limit=acme.credit_limit, new_limit=Decimal("2000.00"), reason="r", requested_by=users["risk"]
    )
    alert = Alert.objects.create(client=acme, metric="over_limit", severity="critical", value=2, threshold=1)
    return [
        # (url, data, roles allowed, what must be unchanged after a refused POST)
        (reverse("risk:alert_acknowledge", args=[alert.pk]), {}, {"risk", "credit"}),
        (reverse("risk:alerts_evaluate"), {}, {"risk", "ops"}),
        (
            reverse("risk:policy"),
            {
                "exposure_warning_level": "0.8",
                "min_payout": "10.00",
                "overdue_share_level": "0.2",
                "default_concentration_limit": "0.3",
            },
            {"risk"},
        ),
        (reverse("risk:limit_approve", args=[change.pk]), {}, {"credit"}),
        (reverse("risk:limit_reject", args=[change.pk]), {"reason": "no"}, {"credit"}),
        (
            reverse("risk:client_limits", args=["ACME"]),
            {
                "credit_limit": "500.00",
                "advance_rate": "0.5",
                "reserve_rate": "0.1",
                "reserve_hold_days": "30",
                "reason": "r",
            },
            {"risk"},
        ),
        (reverse("risk:client_block", args=["ACME"]), {"action": "block", "reason": "r"}, {"risk"}),
        (reverse("risk:reserves_release"), {"as_of": "2026-03-01", "confirm": "yes"}, {"ops", "risk"}),
    ]


def test_every_post_refuses_other_roles(acme, users, client_as):
    posts = _posts(acme, users)
    before = (
        AuditEvent.objects.count(),
        RiskPolicy.get().exposure_warning_level,
        Client.objects.get(pk=acme.pk).status,
        list(LimitChange.objects.values_list("status", flat=True)),
        list(Alert.objects.values_list("status", flat=True)),
    )
    for url, data, allowed in posts:
        for role in set(ROLES) - allowed:
            response = client_as(role).post(url, data)
            assert response.status_code == 403, (url, role)
    after = (
        AuditEvent.objects.count(),
        RiskPolicy.get().exposure_warning_level,
        Client.objects.get(pk=acme.pk).status,
        list(LimitChange.objects.values_list("status", flat=True)),
        list(Alert.objects.values_list("status", flat=True)),
    )
    assert before == after


def test_post_only_endpoints_refuse_get(acme, users, client_as):
    for url, _, allowed in _posts(acme, users):
        if "acknowledge" in url or "approve" in url or "reject" in url or "evaluate" in url:
            assert client_as(sorted(allowed)[0]).get(url).status_code == 405


# ---------------------------------------------------------------------------------- flows


def test_limit_increase_flow_through_the_views(acme, client_as, users):
    url = reverse("risk:client_limits", args=["ACME"])
    form = {
        "credit_limit": "1500.00",
        "advance_rate": "1.000000",
        "reserve_rate": "0.100000",
        "reserve_hold_days": "30",
        "fee_rate": "0.010000",
        "reason": "seasonal peak",
    }
    response = client_as("risk").post(url, form)
    assert response.status_code == 302
    change = LimitChange.objects.get(client=acme)
    assert change.status == "pending"
    assert Client.objects.get(pk=acme.pk).credit_limit == Decimal("1000.00")
    page = client_as("credit").get(reverse("risk:limits")).content.decode()
    assert reverse("risk:limit_approve", args=[change.pk]) in page
    response = client_as("credit").post(reverse("risk:limit_approve", args=[change.pk]))
    assert response.status_code == 302
    assert Client.objects.get(pk=acme.pk).credit_limit == Decimal("1500.00")


def test_policy_edit_through_the_view(db, client_as):
    response = client_as("risk").post(
        reverse("risk:policy"),
        {
            "exposure_warning_level": "0.85",
            "min_payout": "250.00",
            "overdue_share_level": "0.05",
            "default_concentration_limit": "0.30",
            "reason": "annual review",
        },
    )
    assert response.status_code == 302
    p = RiskPolicy.get()
    assert (p.exposure_warning_level, p.min_payout, p.overdue_share_level, p.default_concentration_limit) == (
        Decimal("0.85"),
        Decimal("250.00"),
        Decimal("0.05"),
        Decimal("0.30"),
    )
    bad = client_as("risk").post(
        reverse("risk:policy"),
        {
            "exposure_warning_level": "1.5",
            "min_payout": "250.00",
            "overdue_share_level": "0.05",
            "default_concentration_limit": "0.30",
        },
    )
    assert bad.status_code == 200 and RiskPolicy.get().exposure_warning_level == Decimal("0.85")


def test_block_and_unblock_through_the_view(acme, client_as):
    url = reverse("risk:client_block", args=["ACME"])
    assert client_as("risk").post(url, {"action": "block", "reason": ""}).status_code == 200  # reason required
    assert Client.objects.get(pk=acme.pk).status == "active"
    assert client_as("risk").post(url, {"action": "block", "reason": "unpaid fees"}).status_code == 302
    assert Client.objects.get(pk=acme.pk).status == "on_hold"
    assert client_as("credit").post(url, {"action": "unblock", "reason": "paid"}).status_code == 302
    assert Client.objects.get(pk=acme.pk).status == "active"


def test_release_button_needs_confirmation_and_books(db, client_as):
    c = ClientFactory(reserve_rate=Decimal("0.10"), reserve_hold_days=30)
    r = ReceivableFactory(client=c, face_value=Decimal("1000.00"))
    book(c, ("collection", "1000.00", "2026-01-01", r))  # tranche 100.00 due 31 Jan
    preview = client_as("ops").get(reverse("risk:reserves_release"), {"as_of": "2026-02-01"})
    assert preview.status_code == 200 and "release" in preview.content.decode()
    assert not ReserveTranche.objects.filter(released_entry__isnull=False).exists()  # GET changes nothing
    unconfirmed = client_as("ops").post(reverse("risk:reserves_release"), {"as_of": "2026-02-01"})
    assert unconfirmed.status_code == 302
    assert not ReserveTranche.objects.filter(released_entry__isnull=False).exists()
    done = client_as("ops").post(reverse("risk:reserves_release"), {"as_of": "2026-02-01", "confirm": "yes"})
    assert done.status_code == 302
    tranche = ReserveTranche.objects.get()
    assert tranche.released_on == d("2026-02-01")
    assert AuditEvent.objects.filter(action="release_reserves", actor__username="ops").exists()


def test_acknowledge_through_the_view(acme, client_as):
    alert = Alert.objects.create(client=acme, metric="over_limit", severity="critical", value=2, threshold=1)
    page = client_as("risk").get(reverse("risk:alerts")).content.decode()
    assert reverse("risk:alert_acknowledge", args=[alert.pk]) in page
    assert client_as("risk").post(reverse("risk:alert_acknowledge", args=[alert.pk])).status_code == 302
    alert.refresh_from_db()
    assert alert.status == "acknowledged"


# ------------------------------------------------------------------------------- query counts


def _portfolio(n: int, start: int):
    debtors = [DebtorFactory() for _ in range(3)]
    for i in range(n):
        c = ClientFactory(client_id=f"Q{start + i:04d}", currency="EUR" if i % 2 else "GBP")
        rs = [
            ReceivableFactory(client=c, debtor=debtors[k], face_value=Decimal("1000.00"), due_date=d("2026-01-15"))
            for k in range(3)
        ]
        book(
            c,
            ("advance", "800.00", "2026-01-02", rs[0]),
            ("collection", "500.00", "2026-01-20", rs[1]),
            ("collection", "300.00", "2026-02-10", rs[2]),
        )
        if i % 3 == 0:
            Alert.objects.create(client=c, metric="over_limit", severity="critical", value=2, threshold=1)


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"as_of": "2026-03-31"})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", ["risk:overview", "risk:reserves", "risk:alerts"])
def test_query_count_does_not_grow_with_clients(db, client_as, name):
    c = client_as("risk")
    url = reverse(name)
    _portfolio(5, 0)
    c.get(url)  # warm caches (session, content types)
    five = _count(c, url)
    _portfolio(35, 100)
    forty = _count(c, url)
    assert Client.objects.count() == 40
    assert forty == five, f"{name}: {five} queries with 5 clients, {forty} with 40"


def test_alerts_page_shows_fifty_a_page_critical_first(acme, client_as):
    other = ClientFactory(client_id="OTHER")
    for i in range(60):
        Alert.objects.create(
            client=other, metric="concentration", key=f"D{i:03d}", severity="warning", value=1, threshold=0
        )
    Alert.objects.create(client=acme, metric="over_limit", severity="critical", value=2, threshold=1)
    web = client_as("risk")
    first = web.get(reverse("risk:alerts"), {"metric": ""})
    assert len(first.context["alerts"]) == 50 and first.context["page"].paginator.count == 61
    assert first.context["alerts"][0].severity == "critical"
    html = first.content.decode()
    assert "page=2" in html and "page 1 of 2" in html
    second = web.get(reverse("risk:alerts"), {"metric": "", "page": 2})
    assert len(second.context["alerts"]) == 11
    assert {a.pk for a in first.context["alerts"]}.isdisjoint({a.pk for a in second.context["alerts"]})


def test_reserves_page_shows_fifty_clients_a_page_those_needing_attention_first(acme, client_as):
    for i in range(54):
        ClientFactory(client_id=f"PLAIN{i:03d}")
    web = client_as("finance")
    first = web.get(reverse("risk:reserves"), {"as_of": "2026-03-01"})
    rows = first.context["rows"]
    assert len(rows) == 50 and first.context["page"].paginator.count == 55
    assert "page 1 of 2" in first.content.decode()
    second = web.get(reverse("risk:reserves"), {"as_of": "2026-03-01", "page": 2})
    assert len(second.context["rows"]) == 5
    ordered = list(rows) + list(second.context["rows"])
    assert [r.needs_attention for r in ordered] == sorted((r.needs_attention for r in ordered), reverse=True)
