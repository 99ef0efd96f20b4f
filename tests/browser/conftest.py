"""Fixtures for the browser tests: one Chromium per xdist worker, a phone per test.

Every test here is marked `browser` and runs against pytest-django's
`live_server` (a real HTTP server in a thread of this process), so its
database is transactional: each test's rows are flushed after it, and the
products that migration 0002 creates are put back (serialized rollback).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connections
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    sync_playwright,
)
from pytest_django.live_server_helper import LiveServer

from recovery.models import Patient, Treatment
from tests import factories

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# The server's clock during a browser test: 10am on a weekday in New York, the
# patients' time zone, far from midnight and from a daylight-saving change.
NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)
DAYS_SINCE_TREATMENT = 5


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A conftest's hook sees every collected test, not only those beside it.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@dataclass(frozen=True)
class _Playwright:
    browser: Browser
    loop: asyncio.AbstractEventLoop  # the asyncio loop of Playwright's sync API


@pytest.fixture(scope="session")
def _playwright() -> Iterator[_Playwright]:
    if not CHROMIUM.exists():
        message = f"the browser tests need Chromium at {CHROMIUM}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; in CI they are required")
        pytest.skip(message)
    playwright = sync_playwright().start()
    # Between its calls, Playwright's sync API leaves its loop marked as running
    # in this thread. Keep the mark to browser tests only (see _playwright_turn).
    loop = asyncio.get_running_loop()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        asyncio._set_running_loop(None)
        try:
            yield _Playwright(browser, loop)
        finally:
            asyncio._set_running_loop(loop)
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="session")
def browser(_playwright: _Playwright) -> Browser:
    """One headless Chromium for this worker, reused by every browser test it runs."""
    return _playwright.browser


@pytest.fixture(autouse=True)
def _playwright_turn(_playwright: _Playwright, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let Playwright's sync API and Django share this thread for one browser test.

    While Playwright's loop is marked as running, Django refuses database
    queries from this thread (DJANGO_ALLOW_ASYNC_UNSAFE lifts that), and it
    looks its connections up in a per-task store instead of the thread's:
    point that store at the thread's connections, so that the test,
    pytest-django (its flush and serialized rollback) and the live server
    share them. The worker's other tests run without the mark, as usual.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    threads_connections = {alias: connections[alias] for alias in connections}
    asyncio._set_running_loop(_playwright.loop)
    for alias, connection in threads_connections.items():
        connections[alias] = connection
    yield
    asyncio._set_running_loop(None)


class Problems(list[str]):
    """What went wrong loading pages in one browser context, whatever the test checked;
    `allowed`: the addresses of requests a test makes fail on purpose."""

    def __init__(self, allowed: list[re.Pattern[str]]) -> None:
        super().__init__()
        self.allowed = allowed

    def watch(self, context: BrowserContext) -> None:
        context.on("requestfailed", self._request_failed)
        context.on("response", self._response)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.append(f"script error: {error.error}"))

    def _request_failed(self, request: Request) -> None:
        # Leaving a page (the test goes on, or ends) cancels what it was still loading: its
        # stylesheet or icon, the outbox's sends (kept on the phone until answered), a
        # navigation overtaken by the next one. Cancelled, not failed: a missing file is a
        # 404, which _response reports.
        if "ERR_ABORTED" in (request.failure or ""):
            return
        if any(pattern.search(request.url) for pattern in self.allowed):
            return
        self.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response: Response) -> None:
        # A page may answer 4xx on purpose (422 for a form error, 410 for an expired
        # link); what it loads (CSS, scripts, images) must not.
        kind = response.request.resource_type
        if response.status >= 500 or (
            response.status >= 400 and kind not in {"document", "xhr", "fetch"}
        ):
            self.append(f"{response.status} for {kind} {response.url}")

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium logs each 4xx page as "Failed to load resource"; _response judges those.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.append(f"console error: {message.text}")


@pytest.fixture
def failing_on_purpose() -> list[re.Pattern[str]]:
    """Add the address of a request the test makes fail (page.route(…).abort()): its
    failure is not a problem."""
    return []


@pytest.fixture
def new_context(
    browser: Browser, live_server: LiveServer, failing_on_purpose: list[re.Pattern[str]]
) -> Iterator[Callable[..., BrowserContext]]:
    """Make a fresh phone-sized browser context (its own cookies) pointed at the live server.

    Keyword arguments go to Browser.new_context, e.g. java_script_enabled=False.
    After the test, no context may have had a failed request, a missing static
    file, a script error or a Content-Security-Policy violation.
    """
    contexts: list[tuple[BrowserContext, Problems]] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(**{**PHONE, "base_url": live_server.url, **options})
        context.set_default_timeout(5_000)
        problems = Problems(failing_on_purpose)
        problems.watch(context)
        contexts.append((context, problems))
        return context

    yield make
    for context, _ in contexts:
        context.close()
    found = [problem for _, problems in contexts for problem in problems]
    assert found == [], "the browser met problems:\n" + "\n".join(found)


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page on a 360 x 740 touch phone, with JavaScript on."""
    return new_context().new_page()


@pytest.fixture(autouse=True)
def _server_clock() -> Iterator[dt.datetime]:
    """Pin the clock (of the live server's thread too) at NOW; it goes on ticking from there."""
    with time_machine.travel(NOW, tick=True):
        yield NOW


@pytest.fixture
def treatment(patient: Patient) -> Treatment:
    """The patient's treatment, DAYS_SINCE_TREATMENT days before their today."""
    return factories.create_treatment(
        patient=patient, treated_on=patient.today() - dt.timedelta(days=DAYS_SINCE_TREATMENT)
    )
