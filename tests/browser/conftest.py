"""Browser tests: the app on pytest-django's live_server, driven by Debian's Chromium via Playwright.

    @pytest.mark.browser
    def test_it_shows_the_inbox(page, reviewer_user):
        login_as(page, reviewer_user)
        ...
        screenshot(page, "inbox-empty")      # kept in test-artifacts/ as a deliberate artifact

A failing test also leaves test-artifacts/<test name>.png behind. When Chromium cannot start the
tests are skipped locally and fail under CI (CI=true), so a broken browser never passes quietly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
# with a running loop unless told this is deliberate (the fixtures and the test share one thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("GATEHOUSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    # Kept on the item so the `page` fixture's teardown knows whether the test failed.
    setattr(item, f"_report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        message = f"Chromium ({CHROMIUM}) could not start: {str(exc).strip().splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + " (install it: apt-get install -y chromium)")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser, live_server, transactional_db) -> Iterator[object]:
    """A fresh browser context (no cookies) per test, pointed at the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    report = getattr(request.node, "_report_call", None)
    if report is not None and report.failed:
        path = screenshot(page, _safe_name(request.node.nodeid))
        print(f"\nscreenshot of the failure: {path}")
    context.close()


def login_as(page, user, *, password: str | None = None) -> None:
    """Sign in through the real login form and wait to land on the user's start page."""
    page.goto("/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(password or user.raw_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{_safe_name(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:150]


@pytest.fixture(name="login_as")
def _login_as_fixture():
    return login_as


@pytest.fixture(name="screenshot")
def _screenshot_fixture():
    return screenshot
