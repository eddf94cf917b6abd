"""Real-browser fixtures (registered once for the whole suite from tests/conftest.py): Playwright driving Debian's Chromium against Django's live server.

Chromium comes from the OS (`apt-get install chromium`; .ci/run installs it), never from
`playwright install`. Without it these tests are skipped locally; CI always has it.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT_DIR = Path(os.environ.get("BROWSER_SCREENSHOT_DIR", Path(__file__).resolve().parents[1] / "var" / "screenshots"))
PASSWORD = "correct-horse-battery"


# Playwright's sync API refuses a second instance while one runs. These fixtures are registered once (from
# tests/conftest.py); should a conftest import them again, pytest would define a second session-scoped
# `browser`, so every definition shares one Chromium, started once and closed with the last user.
_shared: dict = {"users": 0}


def _start_browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures while
    # it runs are still synchronous and safe, so Django's async guard is lifted for these tests only.
    _shared["previous_env"] = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    _shared["playwright"] = playwright_api.sync_playwright().start()
    _shared["browser"] = _shared["playwright"].chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync"],
    )


def _stop_browser():
    _shared.pop("browser").close()
    _shared.pop("playwright").stop()
    previous = _shared.pop("previous_env")
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    if not _shared["users"]:
        _start_browser()
    _shared["users"] += 1
    try:
        yield _shared["browser"]
    finally:
        _shared["users"] -= 1
        if not _shared["users"]:
            _stop_browser()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def login(page):
    def sign_in(user, password: str = PASSWORD):
        page.goto("/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/billing/")
        return page

    return sign_in


@pytest.fixture
def screenshot(page):
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
