# The browser fixtures (Chromium launch args, base_url, role_groups, skip without Chromium) are shared
# with tests/browser.
from tests.browser.conftest import base_url, pytest_collection_modifyitems, role_groups  # noqa: F401
