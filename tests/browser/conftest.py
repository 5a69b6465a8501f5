"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live_server.

- ``DJANGO_ALLOW_ASYNC_UNSAFE``: Playwright's sync API runs an event loop in the test thread, so
  Django's async-safety check would refuse the ORM calls of the fixtures.
- Every test here is skipped, with the reason printed, when Chromium is not installed.
- :class:`Journey` signs a role in and saves a full-page screenshot per step under
  ``artifacts/browser/<journey>/`` (git-ignored). New journeys (upload, credit approval …) reuse it::

      def test_my_journey(journey):
          j = journey("my-journey", role="credit")
          j.go("/payouts/"); j.shot("queue")
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from atlas.roles import ROLES
from tests.conftest import CHROMIUM

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory
CHROMIUM_PRESENT = os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)
SKIP_REASON = f"Chromium not found at {CHROMIUM}: apt-get install -y chromium"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM_PRESENT:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session")
def base_url():
    """pytest-playwright's fallback ``base_url`` fixture is an instance method, which pytest 9
    deprecates (an error under ``filterwarnings = error``); the journeys build absolute URLs from
    ``live_server.url`` instead."""
    return None


@pytest.fixture
def role_groups(transactional_db):
    """Live-server tests run in transactional mode: the flush after each test empties the groups
    the roles migration created, so make sure they exist."""
    for role in ROLES:
        Group.objects.get_or_create(name=role)


class Journey:
    def __init__(self, page, base_url: str, name: str):
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.dir = ARTIFACTS / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.steps = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    def go(self, path: str):
        self.page.goto(self.url(path))
        return self.page

    def shot(self, step: str) -> Path:
        """Full-page screenshot of the current page as the next numbered step."""
        self.steps += 1
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.dir / f"{self.steps:02d}-{slug}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, username: str, password: str = PASSWORD):
        self.go("/accounts/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.shot("sign-in")
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()
        return self.page


@pytest.fixture
def journey(page, live_server, role_groups, make_user):
    """``journey(name, role=...)`` → a :class:`Journey` signed in as a fresh user with that role."""

    def _start(name: str, role: str | None = None, username: str | None = None) -> Journey:
        j = Journey(page, live_server.url, name)
        if role:
            user = make_user(role, username=username or f"{role}-browser")
            j.sign_in(user.username)
        return j

    return _start
