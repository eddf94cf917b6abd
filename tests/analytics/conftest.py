# The shared real-browser fixtures (skipped without Chromium), for test_browser.py.
from tests.browser.conftest import browser, login, page, screenshot  # noqa: F401
