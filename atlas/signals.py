"""Authentication events to the ``atlas.security`` log: sign-in, sign-out, failed sign-in, lockout.

The password is never logged (Django cleanses the credentials it passes to
``user_login_failed``; only the username is kept).
"""

from __future__ import annotations

import logging

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

security_log = logging.getLogger("atlas.security")


def _ip(request) -> str | None:
    if request is None:
        return None
    from atlas.logging import client_ip

    return client_ip(request)


@receiver(user_logged_in, dispatch_uid="atlas_security_logged_in")
def log_login(sender, request, user, **kwargs):
    security_log.info("login: %r (id %s) from %s", user.get_username(), user.pk, _ip(request))


@receiver(user_logged_out, dispatch_uid="atlas_security_logged_out")
def log_logout(sender, request, user, **kwargs):
    name = user.get_username() if user is not None else "anonymous"
    security_log.info("logout: %r from %s", name, _ip(request))


@receiver(user_login_failed, dispatch_uid="atlas_security_login_failed")
def log_login_failed(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username", "")
    security_log.warning("failed login: %r from %s", str(username)[:150], _ip(request))


@receiver(user_locked_out, dispatch_uid="atlas_security_locked_out")
def log_locked_out(sender, request, username, ip_address, **kwargs):
    security_log.warning("locked out: %r from %s after repeated failed logins", str(username)[:150], ip_address)
