"""Every URL pattern declares who may use it (DOMAIN.md section 1: every page needs a login and
every action checks the role on the server).

1. Walk the whole URL tree: each view has ``atlas_roles`` (set by ``require_roles``) or is a
   class-based view with ``RoleRequiredMixin.roles``, unless it is on the explicit allow-list
   (login, logout, the Django admin, static files). A view without a declared permission fails.
2. For every route without parameters: anonymous → redirect to the login page; a signed-in user
   without one of the declared roles → 403.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from atlas.roles import ROLES

ALLOWED_NAMESPACES = {"admin"}  # the Django admin: staff login of its own
ALLOWED_NAMES = {"login", "logout"}
ALLOWED_PREFIXES = ("static/", "media/", "__debug__/")


@dataclass
class Route:
    path: str  # the regex-free route as written, joined
    name: str | None
    namespace: str | None
    callback: object
    has_params: bool

    @property
    def label(self) -> str:
        full = f"{self.namespace}:{self.name}" if self.namespace else self.name
        return f"/{self.path} ({full})"


def walk(resolver=None, prefix: str = "", namespace: str | None = None, params: bool = False) -> list[Route]:
    resolver = resolver or get_resolver()
    routes = []
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        text = str(pattern)
        has_params = params or bool(getattr(pattern, "converters", None)) or "(?P<" in text or "<" in text
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if entry.namespace and namespace:
                ns = f"{namespace}:{entry.namespace}"
            routes += walk(entry, prefix + text.lstrip("^"), ns, has_params)
        elif isinstance(entry, URLPattern):
            path = prefix + text.lstrip("^").rstrip("$")
            routes.append(Route(path, entry.name, namespace, entry.callback, has_params))
    return routes


def declared_roles(callback) -> frozenset[str] | None:
    roles = getattr(callback, "atlas_roles", None)
    if roles is None:
        view_class = getattr(callback, "view_class", None)
        roles = getattr(view_class, "roles", None) or None
    return frozenset(roles) if roles is not None else None


def allowed_without_roles(route: Route) -> bool:
    top = (route.namespace or "").split(":")[0]
    return top in ALLOWED_NAMESPACES or route.name in ALLOWED_NAMES or route.path.startswith(ALLOWED_PREFIXES)


ROUTES = walk()
APP_ROUTES = [r for r in ROUTES if not allowed_without_roles(r)]
SIMPLE_ROUTES = [r for r in APP_ROUTES if not r.has_params]


def test_the_walk_finds_the_product_routes():
    names = {f"{r.namespace}:{r.name}" if r.namespace else r.name for r in ROUTES}
    assert {"dashboard", "login", "clients:list", "clients:detail", "ledger:accounts"} <= names
    assert any(r.namespace == "admin" for r in ROUTES)


@pytest.mark.parametrize("route", APP_ROUTES, ids=lambda r: r.label)
def test_every_view_declares_its_roles(route):
    roles = declared_roles(route.callback)
    assert roles, f"{route.label} declares no roles: decorate it with @require_roles(...) or use RoleRequiredMixin"
    assert roles <= set(ROLES), f"{route.label} declares unknown roles {roles - set(ROLES)}"


def test_a_view_without_roles_would_be_caught():
    """The check above is not vacuous: a plain view has no declared roles."""

    def plain_view(request):  # pragma: no cover - never called
        return None

    assert declared_roles(plain_view) is None


@pytest.mark.django_db
@pytest.mark.parametrize("route", SIMPLE_ROUTES, ids=lambda r: r.label)
def test_anonymous_is_sent_to_login(client, route):
    response = client.get("/" + route.path)
    assert response.status_code == 302, route.label
    assert response.url.startswith("/accounts/login/"), route.label


@pytest.mark.django_db
@pytest.mark.parametrize("route", SIMPLE_ROUTES, ids=lambda r: r.label)
def test_user_without_the_role_is_refused(client, make_user, route):
    roles = declared_roles(route.callback) or frozenset()
    outsiders = [None] + [role for role in ROLES if role not in roles]
    for role in outsiders:
        client.force_login(make_user(role))
        response = client.get("/" + route.path)
        if response.status_code == 405:  # a POST-only action: the role check must still refuse a POST
            response = client.post("/" + route.path)
        assert response.status_code == 403, f"{route.label} answered {response.status_code} to role {role!r}"
        client.logout()


@pytest.mark.django_db
@pytest.mark.parametrize("route", SIMPLE_ROUTES, ids=lambda r: r.label)
def test_a_user_with_the_role_gets_in(client, make_user, route):
    """Not a permission check as such, but proves the 403s above come from the role, not from
    a broken page: one declared role opens every parameterless GET page."""
    role = sorted(declared_roles(route.callback))[0]
    client.force_login(make_user(role))
    response = client.get("/" + route.path)
    assert response.status_code in (200, 302, 405), f"{route.label} answered {response.status_code} to {role}"
