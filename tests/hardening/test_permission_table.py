"""One declared permission table for every route, checked for every role (issue 10, Access).

``PERMISSIONS`` is the reviewed table: route name → the roles allowed. A view whose declared
roles (``@require_roles``) differ from the table fails, so widening or narrowing access is a
visible change here. Then every role is tried on every route, parameterised routes included
(with ids that do not exist: the role check runs before the lookup):
allowed → anything but 403 (200, 302, 404 for the missing object, 405 for a POST-only action),
others → 403, on GET and on POST.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from atlas.roles import ADMIN, CREDIT, FINANCE, OPS, RISK, ROLES
from tests.atlas.test_permissions import APP_ROUTES, declared_roles

EVERYONE = frozenset(ROLES)
ALL_BUT_RISK = frozenset({ADMIN, CREDIT, FINANCE, OPS})

PERMISSIONS: dict[str, frozenset[str]] = {
    "dashboard": EVERYONE,
    "clients:list": EVERYONE,
    "clients:detail": EVERYONE,
    "ledger:accounts": EVERYONE,
    "ledger:statement": EVERYONE,
    "ledger:entry": EVERYONE,
    "ledger:adjustments": EVERYONE,  # reading; requesting checks ops/credit in the service
    "ledger:adjustment_decide": frozenset({CREDIT}),
    "payouts:queue": EVERYONE,
    "payouts:bulk": frozenset({CREDIT, OPS}),
    "payouts:propose": frozenset({OPS}),
    "payouts:detail": EVERYONE,
    "payouts:act": frozenset({CREDIT, OPS}),
    "payouts:batch_list": EVERYONE,
    "payouts:batch_detail": EVERYONE,
    "payouts:batch_execute": frozenset({OPS}),
    "payouts:batch_remove": frozenset({OPS}),
    "payouts:batch_progress": EVERYONE,
    "payouts:batch_sepa": ALL_BUT_RISK,
    "risk:overview": EVERYONE,
    "risk:reserves": EVERYONE,
    "risk:reserves_release": frozenset({OPS, RISK}),
    "risk:alerts": EVERYONE,
    "risk:alerts_evaluate": frozenset({OPS, RISK}),
    "risk:alert_acknowledge": frozenset({CREDIT, RISK}),
    "risk:policy": EVERYONE,
    "risk:limits": EVERYONE,
    "risk:limit_approve": frozenset({CREDIT}),
    "risk:limit_reject": frozenset({CREDIT}),
    "risk:client_limits": EVERYONE,
    "risk:client_block": frozenset({CREDIT, RISK}),
    "portfolio:overview": EVERYONE,
    "portfolio:loan": EVERYONE,
    "reconciliation:index": EVERYONE,
    "reconciliation:upload": frozenset({FINANCE}),
    "reconciliation:statement": EVERYONE,
    "reconciliation:confirm": frozenset({FINANCE, OPS}),
    "reconciliation:manual_match": frozenset({FINANCE}),  # a request: nothing moves until another person approves
    "reconciliation:unmatch": frozenset({FINANCE}),  # a request, as above
    "reconciliation:decide": frozenset({CREDIT, OPS}),  # the service: credit, or ops for a return; never the requester
    "imports:upload": frozenset({OPS}),
    "imports:detail": frozenset({OPS}),
    "imports:status": frozenset({OPS}),
    "imports:confirm": frozenset({OPS}),
}

# Routes that change money or state: finance (read-only by DOMAIN.md section 1) must never be allowed,
# except the reconciliation actions that DOMAIN.md leaves to finance.
MONEY_MOVING = {
    "payouts:bulk",
    "payouts:propose",
    "payouts:act",
    "payouts:batch_execute",
    "payouts:batch_remove",
    "risk:reserves_release",
    "risk:limit_approve",
    "imports:confirm",
    "reconciliation:decide",
}

FILLERS = {"int": 987654321, "str": "NO-SUCH-ID", "slug": "no-such-id", "path": "no/such", "uuid": None}


def route_name(route) -> str:
    return f"{route.namespace}:{route.name}" if route.namespace else route.name


def url_for(route) -> str:
    """Reverse the route with ids that exist nowhere (``<int:pk>`` → 987654321, ``<str:…>`` → NO-SUCH-ID)."""
    kwargs = {}
    for part in route.path.split("<")[1:]:
        spec = part.split(">", 1)[0]
        conv, _, key = spec.rpartition(":")
        conv = conv or "str"
        if key == "action":
            kwargs[key] = "approve"
        else:
            kwargs[key] = FILLERS.get(conv, "x")
    return reverse(route_name(route), kwargs=kwargs)


ROUTE_IDS = [route_name(r) for r in APP_ROUTES]


def test_the_table_covers_exactly_the_routes():
    assert set(ROUTE_IDS) == set(PERMISSIONS), (
        f"routes missing from the table: {sorted(set(ROUTE_IDS) - set(PERMISSIONS))}; "
        f"table entries without a route: {sorted(set(PERMISSIONS) - set(ROUTE_IDS))}"
    )


@pytest.mark.parametrize("route", APP_ROUTES, ids=ROUTE_IDS)
def test_declared_roles_match_the_table(route):
    name = route_name(route)
    assert declared_roles(route.callback) == PERMISSIONS.get(name), f"{name}: the view declares other roles"


def test_finance_never_moves_money():
    assert all(FINANCE not in PERMISSIONS[name] for name in MONEY_MOVING)


@pytest.mark.django_db
@pytest.mark.parametrize("route", APP_ROUTES, ids=ROUTE_IDS)
def test_every_role_on_every_route(client, make_user, route):
    name = route_name(route)
    allowed = PERMISSIONS[name]
    url = url_for(route)
    for role in (None, *ROLES):
        client.force_login(make_user(role))
        get = client.get(url)
        if role in allowed:
            assert get.status_code != 403, f"{name} refused its own role {role!r}"
            assert get.status_code < 500, f"{name} answered {get.status_code} to {role!r}"
        else:
            assert get.status_code == 403, f"{name} GET answered {get.status_code} to role {role!r}"
            post = client.post(url)
            assert post.status_code == 403, f"{name} POST answered {post.status_code} to role {role!r}"
        client.logout()
