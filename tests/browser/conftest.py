"""Playwright fixtures for the browser tests (marker `browser`), against pytest-django's
live server. Chromium comes from the system (/usr/bin/chromium): where it is missing the tests
skip on a developer's machine and fail loudly in CI (env var CI set)."""

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the
# fixtures there are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts" / "screenshots"
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
PASSWORD = "browser-test-password-7"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _serialise_the_live_server_on_in_memory_sqlite() -> None:
    """On SQLite the live server's threads share the tests' in-memory connection, which is not
    safe for two requests at once: a page and its htmx requests overlapping broke it under load
    ("bad parameter or other API misuse"). Requests then take turns, one lock per request, so
    keep-alive connections still work."""
    import threading

    from django.conf import settings
    from django.test.testcases import LiveServerThread, ThreadedWSGIServer

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        return

    class TakingTurns(ThreadedWSGIServer):
        def set_app(self, application):  # noqa: ANN001, ANN202 (WSGI types)
            lock = threading.Lock()

            def one_at_a_time(environ, start_response):  # noqa: ANN001, ANN202
                with lock:
                    return list(application(environ, start_response))

            super().set_app(one_at_a_time)

    LiveServerThread.server_class = TakingTurns


_serialise_the_live_server_on_in_memory_sqlite()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM}; the browser tests need it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, settings) -> Iterator:
    """A fresh page in English at a desktop size; fast password hashing for the personas."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    context = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    # Let the page's last requests finish before the database is flushed: the live server
    # answers in its own threads, and a request still inside a transaction when the flush
    # TRUNCATEs the tables deadlocks on PostgreSQL.
    try:
        page.wait_for_load_state("networkidle", timeout=5_000)
    except Exception:  # a page that never goes idle still gets closed
        pass
    context.close()
    _wait_for_server_transactions()


def _wait_for_server_transactions(timeout: float = 15.0) -> None:
    """Wait until no other connection to the test database is inside a transaction."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return  # SQLite serialises writers itself; a busy flush just waits
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)


@pytest.fixture
def sign_in(page, live_server) -> Callable:
    """sign_in(user) fills in the sign-in form as `user` and waits for the home page."""

    def do(user) -> None:
        user.set_password(PASSWORD)  # the personas' own password, hashed with the fast hasher
        user.save(update_fields=["password"])
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.locator("main").get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")

    return do


@pytest.fixture
def screenshot(page) -> Callable:
    """screenshot(name, docs=False): save the page to tests/artifacts; with docs=True also to
    docs/screenshots, but only when PATRON_UPDATE_SCREENSHOTS=1, so test runs leave the
    repository's files alone."""

    def take(name: str, *, docs: bool = False) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if docs and os.environ.get("PATRON_UPDATE_SCREENSHOTS") == "1":
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"))
        return path

    return take
