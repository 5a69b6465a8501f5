"""The Content-Security-Policy in a real browser: every main page loads in Chromium with no CSP
violation (no inline script or style element blocked, no script from elsewhere) and no page error.

Chromium reports a blocked resource as a console error naming the "Content Security Policy"; the page's own
JavaScript errors arrive as ``pageerror`` events. Both are collected per page."""

from __future__ import annotations

import pytest

from clients.importer import import_workbook
from tests.clients.workbooks import base_sheets, workbook_bytes
from tests.factories import UserFactory

PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory
PAGES = [
    "/",
    "/clients/",
    "/clients/C1/",
    "/ledger/",
    "/payouts/",
    "/payouts/batches/",
    "/risk/",
    "/risk/reserves/",
    "/risk/alerts/",
    "/risk/limits/",
    "/risk/policy/",
    "/risk/clients/C1/limits/",
    "/portfolio/",
    "/portfolio/loans/L1/",
    "/reconciliation/",
    "/import/",
]


@pytest.mark.django_db(transaction=True)
def test_main_pages_have_no_csp_violation(page, live_server, role_groups):
    assert import_workbook(workbook_bytes(base_sheets())).ok
    UserFactory(username="root", is_superuser=True, is_staff=True)
    problems: list[str] = []
    current = {"url": ""}
    page.on(
        "console",
        lambda msg: (
            problems.append(f"{current['url']}: {msg.text}")
            if msg.type == "error" and ("Refused" in msg.text or "Content Security Policy" in msg.text)
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"{current['url']}: page error {exc}"))

    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state("networkidle")
    for path in PAGES:
        current["url"] = path
        response = page.goto(live_server.url + path)
        assert response.status == 200, f"{path}: {response.status}"
        page.wait_for_load_state("networkidle")
    assert problems == []

    # The detector is not blind: an inline script added to a page is refused by the policy and reported.
    current["url"] = "probe"
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1'; "
        "document.body.appendChild(s); }"
    )
    page.wait_for_timeout(300)
    assert any(p.startswith("probe:") and "Content Security Policy directive" in p for p in problems), problems
    assert page.evaluate("() => window.x") is None
