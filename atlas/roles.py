"""Roles (DOMAIN.md section 1) and the server-side permission check every view declares.

A user's roles are the names of their groups (``ops``, ``credit``, ``risk``, ``finance``,
``admin``); a superuser has every role. A view states who may use it with
:func:`require_roles`; the decorator records the roles on the view (``view.atlas_roles``) so a
test can enumerate every URL pattern and prove none is left undeclared.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied

OPS, CREDIT, RISK, FINANCE, ADMIN = "ops", "credit", "risk", "finance", "admin"
ROLES = (OPS, CREDIT, RISK, FINANCE, ADMIN)
ROLE_LABELS = {
    OPS: "Settlement Operations",
    CREDIT: "Credit Manager",
    RISK: "Risk Analyst",
    FINANCE: "Finance Controller",
    ADMIN: "Administrator",
}
ALL = frozenset(ROLES)


def user_roles(user) -> frozenset[str]:
    if not user or not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return ALL
    cached = getattr(user, "_atlas_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True)) & ALL
        user._atlas_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def check_role(user, *roles: str) -> None:
    """Raise PermissionDenied unless the user has one of ``roles`` (used by services too)."""
    if not has_role(user, *roles):
        raise PermissionDenied(f"This needs one of the roles: {', '.join(roles)}.")


def require_roles(*roles: str):
    """View decorator: login is required (middleware), and one of ``roles``."""
    allowed = frozenset(roles)
    unknown = allowed - ALL
    if unknown:
        raise ValueError(f"Unknown roles {unknown}")

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            check_role(request.user, *allowed)
            return view(request, *args, **kwargs)

        wrapped.atlas_roles = allowed
        return wrapped

    return decorator


class RoleRequiredMixin:
    """Class-based view version of :func:`require_roles`; set ``roles``."""

    roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        check_role(request.user, *self.roles)
        return super().dispatch(request, *args, **kwargs)
