"""Browser tests: Playwright (sync API) driving Debian's Chromium against the session's test app.

The app (tests/conftest.py ``app``: same database as the other tests, emptied after each test)
is served by werkzeug on 127.0.0.1 and a free port, in a thread. A test builds its data with
tests/factories.py, calls ``db.session.commit()`` so the server sees it, then drives ``page``.
Before reading what the browser wrote, call ``db.session.rollback()`` to end the test's own
read transaction (SQLite keeps a snapshot until then).

No Chromium at /usr/bin/chromium: the tests are skipped, or fail if EQUIPSHARE_REQUIRE_BROWSER=1
(CI). `playwright install` cannot download browsers here: never call it.
Screenshots go to test-results/e2e/ (a screenshot is also taken when a test fails).
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_BROWSER = os.environ.get("EQUIPSHARE_REQUIRE_BROWSER") == "1"
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results" / "e2e"
TIMEOUT_MS = 15_000


@dataclass
class LiveServer:
    url: str


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)  # port 0: the OS picks a free one
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"browser test needs Chromium at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(f"EQUIPSHARE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


@dataclass
class PageProblems:
    """JavaScript errors and Content-Security-Policy violations seen by a page."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _safe_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:120]


@pytest.fixture()
def page(request, browser, live_server):
    """A fresh browser context (no cookies) in English, on the live server."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = PageProblems()
    problems.watch(page)
    use_english(page)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        screenshot(page, f"FAILED-{_safe_name(request.node.nodeid)}")
    context.close()
    assert not problems.errors, "the page had script errors or CSP violations:\n" + "\n".join(problems.errors)


def screenshot(page, name: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def use_english(page) -> None:
    """Switch the session (and a logged-in user) to English, so tests can find English labels."""
    page.goto("/lang/en?next=/")


def submit(page, button_name: str) -> None:
    """Click a form's submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("button", name=button_name, exact=True).click()


def log_in(page, email: str, password: str) -> None:
    """Log in through the form and make sure the pages are in English."""
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    submit(page, "Log in")
    assert "/auth/login" not in page.url, page.get_by_role("alert").all_inner_texts()
    if page.locator("html").get_attribute("lang") != "en":  # the user's own language is Chinese
        use_english(page)


def log_out(page) -> None:
    """Forget the session (as a new visitor would), back in English."""
    page.context.clear_cookies()
    use_english(page)
