"""Access hardening (issue 10): deploy checks, login throttling, idle sessions, CSP, security log."""

from __future__ import annotations

import datetime
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.atlas.test_permissions import SIMPLE_ROUTES
from tests.factories import UserFactory

ROOT = Path(settings.BASE_DIR)
LOGIN = "/accounts/login/"
PASSWORD = "correct horse battery staple"


def prod_env(**extra) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        ATLAS_ENV="prod",
        SECRET_KEY="k3y-" + "Zq8!pW2#vN5$" * 5,
        ALLOWED_HOSTS="atlas.example.com",
        DJANGO_SETTINGS_MODULE="atlas.settings",
        DATABASE_URL=os.environ.get("DATABASE_URL", "sqlite:////tmp/atlas-hardening-check.sqlite3"),
    )
    env.update(extra)
    return env


def test_check_deploy_passes_in_prod():
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=prod_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_check_deploy_would_fail_on_a_weak_setting():
    """Not vacuous: the same command fails when a prod setting is weakened (HSTS off here)."""
    code = (
        "import django, sys; from django.conf import settings; django.setup();"
        "settings.SECURE_HSTS_SECONDS = 0;"
        "from django.core.management import call_command;"
        "call_command('check', deploy=True, fail_level='WARNING')"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=prod_env(), capture_output=True, text=True)
    assert run.returncode != 0
    assert "security.W004" in run.stderr + run.stdout


def test_prod_settings_are_strict():
    code = (
        "import django, json; from django.conf import settings; django.setup();"
        "print(json.dumps([settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
        " settings.SECURE_HSTS_SECONDS, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_AGE,"
        " settings.SESSION_SAVE_EVERY_REQUEST, settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src']]))"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=prod_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[false, true, true, 31536000, true, 1800, true, [\"'self'\"]]"


def test_prod_refuses_to_start_without_a_real_secret_key():
    run = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=prod_env(SECRET_KEY="short"),
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "SECRET_KEY" in run.stderr


# ------------------------------------------------------------------------------------------- login throttling


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", password=PASSWORD, roles=["ops"])


def login(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


@pytest.mark.django_db
def test_five_failures_lock_the_login_for_fifteen_minutes(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = login(client, "alice", "wrong")
        assert response.status_code == 200  # the form again, with its error
        assert "_auth_user_id" not in client.session
    response = login(client, "alice", "wrong")  # the fifth failure locks
    assert response.status_code == 429
    locked = login(client, "alice", PASSWORD)  # even the right password is refused now
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session

    # Someone else at the same address is not locked out.
    UserFactory(username="bob", password=PASSWORD, roles=["ops"])
    assert login(client, "bob", PASSWORD).status_code == 302
    client.logout()

    # 14 minutes later: still locked; after 15 minutes the cool-off is over.
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=14))
    assert login(client, "alice", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=15, seconds=5))
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


@pytest.mark.django_db
def test_four_failures_then_success_resets_the_count(client, alice):
    for _ in range(4):
        login(client, "alice", "wrong")
    assert login(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert login(client, "alice", "wrong").status_code == 200
    assert login(client, "alice", PASSWORD).status_code == 302


# ------------------------------------------------------------------------------------------- idle session


@pytest.mark.django_db
def test_session_expires_after_thirty_idle_minutes(client, alice):
    assert login(client, "alice", PASSWORD).status_code == 302
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    session = Session.objects.get()
    # Each request pushes the expiry 30 minutes ahead (SESSION_SAVE_EVERY_REQUEST).
    Session.objects.update(expire_date=timezone.now() + datetime.timedelta(minutes=1))
    assert client.get("/").status_code == 200
    session.refresh_from_db()
    left = session.expire_date - timezone.now()
    assert datetime.timedelta(minutes=29) < left <= datetime.timedelta(minutes=30)
    # Idle past the expiry: the next request goes to the login page.
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


# ------------------------------------------------------------------------------------------- CSP and pages

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son(click|load|change|submit|input|error|mouseover)\s*=", re.I)


@pytest.mark.django_db
def test_csp_header_forbids_inline_script(client, alice):
    client.force_login(alice)
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in directives.get("default-src", [])
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_inline_script_detector_works():
    assert INLINE_SCRIPT.search("<p><script>alert(1)</script>")
    assert INLINE_SCRIPT.search('<script type="module">x()</script>')
    assert not INLINE_SCRIPT.search('<script src="/static/js/a.js"></script>')
    assert not INLINE_SCRIPT.search('<script id="d" type="application/json">{}</script>')
    assert INLINE_HANDLER.search('<button onclick="go()">')


@pytest.mark.django_db
def test_no_page_has_inline_script(client):
    """Every parameterless page, seen by a superuser (every role), the login page and an admin page."""
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    urls = ["/" + r.path for r in SIMPLE_ROUTES] + ["/admin/", "/admin/atlas/auditevent/"]
    checked = 0
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.headers.get("Content-Type", ""):
            continue
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), f"{url} has an inline <script>: {INLINE_SCRIPT.search(html).group(0)}"
        assert not INLINE_HANDLER.search(html), f"{url} has an inline event handler"
        checked += 1
    client.logout()
    html = client.get(LOGIN).content.decode()
    assert not INLINE_SCRIPT.search(html)
    assert checked >= 10


# ------------------------------------------------------------------------------------------- security log


@pytest.mark.django_db
def test_authentication_events_and_denials_are_logged(client, alice, caplog):
    caplog.set_level(logging.INFO, logger="atlas.security")

    def messages():
        out = [r.getMessage() for r in caplog.records if r.name == "atlas.security"]
        caplog.clear()
        return out

    login(client, "alice", "wrong")
    assert messages() == ["failed login: 'alice' from 127.0.0.1"]
    login(client, "alice", PASSWORD)
    assert messages() == [f"login: 'alice' (id {alice.pk}) from 127.0.0.1"]
    client.get("/risk/limits/1/approve/")  # ops may not approve limits
    assert messages() == [f"permission denied: GET /risk/limits/1/approve/ for 'alice' (id {alice.pk}) from 127.0.0.1"]
    client.post("/accounts/logout/")
    assert messages() == ["logout: 'alice' from 127.0.0.1"]
    for _ in range(5):
        login(client, "alice", "wrong")
    logged = messages()
    assert logged.count("failed login: 'alice' from 127.0.0.1") == 5
    assert any(m.startswith("locked out: 'alice' from 127.0.0.1") for m in logged)
    assert not any(PASSWORD in m or "wrong" in m.split("'")[0] for m in logged)
