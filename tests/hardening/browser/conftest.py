"""Browser checks of the hardening suite: the same Chromium set-up as ``tests/browser`` (marked
``browser``; skipped with the reason printed when Chromium is missing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM_PRESENT, SKIP_REASON, base_url, role_groups  # noqa: F401


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM_PRESENT:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
