"""Template context for every page: the user's roles, the navigation they may use and the
open-alert count (computed lazily, at most once per request)."""

from __future__ import annotations

from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.functional import SimpleLazyObject

from atlas.roles import ADMIN, ROLE_LABELS, user_roles

# (label, url name, path prefix that marks the area as current). Who sees an entry is read from
# the roles the target view declares (``atlas_roles``), so the menu never offers a page that
# would answer 403.
NAV_AREAS = (
    ("Dashboard", "dashboard", None),
    ("Clients", "clients:list", "/clients/"),
    ("Payouts", "payouts:queue", "/payouts/"),
    ("Risk", "risk:overview", "/risk/"),
    ("Portfolio", "portfolio:overview", "/portfolio/"),
    ("Ledger", "ledger:accounts", "/ledger/"),
    ("Reconciliation", "reconciliation:index", "/reconciliation/"),
    ("Import", "imports:upload", "/import/"),
)


def _view_roles(url: str) -> frozenset[str]:
    try:
        func = resolve(url).func
    except Resolver404:
        return frozenset()
    return frozenset(getattr(func, "atlas_roles", getattr(getattr(func, "view_class", None), "roles", ())))


def nav_items(request, roles: frozenset[str]) -> list[dict]:
    items = []
    if not roles:
        return items
    path = getattr(request, "path", "")
    for label, name, prefix in NAV_AREAS:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        if not roles & _view_roles(url):
            continue
        current = path == url if prefix is None else path.startswith(prefix)
        items.append({"label": label, "url": url, "name": name, "current": current})
    return items


def open_alert_count(request) -> int | None:
    """Open risk alerts, cached on the request; None while the risk app has no Alert model."""
    if not hasattr(request, "_atlas_open_alerts"):
        try:
            from django.apps import apps

            alert = apps.get_model("risk", "Alert")
            count = alert.objects.filter(status="open").count()
        except (ImportError, LookupError):
            count = None
        request._atlas_open_alerts = count
    return request._atlas_open_alerts


def navigation(request):
    user = getattr(request, "user", None)
    roles = user_roles(user)
    return {
        "user_roles": roles,
        "user_role_labels": [ROLE_LABELS[r] for r in sorted(roles)],
        "nav_items": SimpleLazyObject(lambda: nav_items(request, roles)),
        "nav_show_admin": ADMIN in roles,
        "open_alert_count": SimpleLazyObject(lambda: open_alert_count(request)),
    }
