"""Browser fixtures: a live Waitress server on loopback and Debian's chromium through Playwright.

* `live_app` / `live_server`: the real application on a copy of the template instance, served by
  Waitress on 127.0.0.1 (an ephemeral port) in a daemon thread, stopped after the test.
* `live_user`: creates an active account of a given role in the live application's database.
* `browser`: one Chromium per session; `pages.new()` opens a fresh context and page, `page` is
  the first of them. Any console error or uncaught page error fails the test (at teardown),
  unless the test declared it expected with `pages.allow(...)`. A failing test leaves a
  full-page screenshot in test-artifacts/screenshots/<test name>.png.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from kb import create_app
from kb.extensions import db
from kb.models import Role
from kb.services import accounts
from kb.services.worker import stop_worker
from tests.conftest import PASSWORD, served

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
LIVE_CONFIG = {"SIGNIN_RATE_LIMIT": "1000 per minute"}  # SESSION_COOKIE_SECURE stays True
TIMEOUT_MS = 10_000

# Console errors caused by known application bugs, tolerated so the other checks still run. Each
# has an xfail(strict=True) test in test_ui.py that starts to XPASS once the bug is fixed: then
# delete both the entry here and the xfail mark.
KNOWN_APP_BUGS: list[tuple[re.Pattern, re.Pattern]] = []


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (rep_setup, rep_call, ...) for fixture teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# --- the live server -----------------------------------------------------------------------

@pytest.fixture
def live_app(instance):
    """The application, configured as in production but for the sign-in rate limit."""
    app = create_app(config=dict(LIVE_CONFIG), instance_path=str(instance))
    yield app
    with app.app_context():
        stop_worker(app)
        db.session.remove()
        db.engine.dispose()


@dataclass(frozen=True)
class LiveServer:
    url: str
    port: int


@pytest.fixture
def live_server(live_app):
    """Waitress serving `live_app` on 127.0.0.1, on a port the system picks."""
    with served(live_app, threads=4) as url:
        yield LiveServer(url=url, port=int(url.rsplit(":", 1)[1]))


@dataclass(frozen=True)
class LiveUser:
    id: int
    email: str
    name: str
    role: str
    password: str


@pytest.fixture
def live_user(live_app):
    """Create an active user in the live application's database (like `make_user`)."""
    counter = iter(range(1, 10_000))

    def factory(role: str = "member", email: str | None = None, password: str = PASSWORD,
                name: str | None = None, org: str | None = None) -> LiveUser:
        email = email or f"{role}{next(counter)}@example.org"
        name = name or f"Test {role.title()}"
        with live_app.app_context():
            user = accounts.create_user(email, name, Role(role), password=password, org=org)
            return LiveUser(id=user.id, email=user.email, name=user.name, role=user.role.value,
                            password=password)

    return factory


# --- the browser ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Pages:
    """Fresh browser contexts for one test, each watched for console and page errors."""

    def __init__(self, browser, base_url: str):
        self.browser = browser
        self.base_url = base_url
        self.contexts = []
        self.pages = []
        self.problems: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow(self, pattern: str) -> None:
        """Declare a console error this test expects (e.g. the status of a refused form)."""
        self.allowed.append(re.compile(pattern))

    def new(self, **context_options):
        context = self.browser.new_context(base_url=self.base_url, **context_options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        label = f"page {len(self.pages) + 1}"
        page.on("console", lambda message: self._console(label, page, message))
        page.on("pageerror", lambda error: self.problems.append(
            f"{label}: uncaught error on {page.url}: {error}"))
        self.pages.append(page)
        return page

    def _console(self, label, page, message) -> None:
        if message.type != "error":
            return
        if any(pattern.search(message.text) for pattern in self.allowed):
            return
        source = (message.location or {}).get("url") or "?"
        if any(text.search(message.text) and url.search(source) for text, url in KNOWN_APP_BUGS):
            return
        self.problems.append(f"{label}: console error on {page.url}: {message.text} [{source}]")

    def screenshot(self, name: str) -> list[Path]:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.\-\[\]]+", "_", name)
        saved = []
        for number, page in enumerate(self.pages, start=1):
            path = SCREENSHOTS / (f"{safe}.png" if number == 1 else f"{safe}-{number}.png")
            try:
                page.screenshot(path=str(path), full_page=True)
                saved.append(path)
            except Exception:  # a closed or crashed page: nothing to show
                pass
        return saved

    def close(self) -> None:
        for context in self.contexts:
            try:
                context.close()
            except Exception:
                pass


@pytest.fixture
def pages(browser, live_server, request):
    pages = Pages(browser, live_server.url)
    yield pages
    failed = any(getattr(request.node, f"rep_{phase}", None) is not None
                 and getattr(request.node, f"rep_{phase}").failed for phase in ("setup", "call"))
    if failed or pages.problems:
        pages.screenshot(request.node.name)
    pages.close()
    assert not pages.problems, "errors in the browser:\n" + "\n".join(pages.problems)


@pytest.fixture
def page(pages):
    return pages.new()
