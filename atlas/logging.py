"""Security logging (logger ``atlas.security``) and the client address used by django-axes.

- :class:`SecurityLogMiddleware` logs every 403 answer (a role check that refused, a CSRF
  failure, an admin permission refusal) with the user, method and path.
- Sign-ins, sign-outs, failed sign-ins and lockouts are logged by the signal receivers in
  :mod:`atlas.signals` (connected in ``AtlasConfig.ready``; imported here too, so any process
  that serves requests has them).
"""

from __future__ import annotations

import logging

from django.conf import settings

from atlas import signals  # noqa: F401  (connects the authentication receivers)

security_log = logging.getLogger("atlas.security")


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or with ``ATLAS_PROXY_COUNT`` = n trusted proxies the n-th X-Forwarded-For entry from the
    right (the address the outermost trusted proxy saw). Never trust the header without a proxy."""
    count = getattr(settings, "ATLAS_PROXY_COUNT", 0)
    remote = request.META.get("REMOTE_ADDR")
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) >= count:
        return forwarded[-count]
    return remote


def describe_user(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"{user.get_username()!r} (id {user.pk})"
    return "anonymous"


class SecurityLogMiddleware:
    """Log every 403 answer to ``atlas.security`` (the response was already built; nothing changes)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            security_log.warning(
                "permission denied: %s %s for %s from %s",
                request.method,
                request.path,
                describe_user(request),
                client_ip(request),
            )
        return response
