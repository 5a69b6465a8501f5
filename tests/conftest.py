import os
import shutil

import pytest
from hypothesis import settings as hypothesis_settings

from atlas.roles import ROLES
from tests.factories import UserFactory

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
IS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))

# Property and fuzz tests: `make test` (and so CI) draws the same examples every run, so a red build always
# names a change, never a lucky seed. `make fuzz` explores new random examples (HYPOTHESIS_PROFILE=explore);
# a failure it finds prints its reproduction and becomes a fixed example or a fix.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False, database=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Hashing with PBKDF2 costs ~1 s per user here; tests don't need its strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db):
    def _make(role: str | None = None, username: str | None = None):
        kwargs = {"roles": [role] if role else []}
        if username:
            kwargs["username"] = username
        return UserFactory(**kwargs)

    return _make


@pytest.fixture
def users(make_user):
    """One user per role, named after it."""
    return {role: make_user(role, username=role) for role in ROLES}


@pytest.fixture
def client_as(client, users):
    """``client_as("ops")`` → the Django test client signed in as that role's user."""

    def _as(role: str):
        client.force_login(users[role])
        return client

    return _as


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


requires_postgres = pytest.mark.skipif(not IS_POSTGRES, reason="needs PostgreSQL: run with DATABASE_URL=postgres://…")
