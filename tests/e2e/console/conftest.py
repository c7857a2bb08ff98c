"""Playwright (the PyPI package) driving Debian's Chromium against the local host.

Never Playwright's own browser build: `make test` installs the `chromium` package (scripts/
ensure-chromium.sh). A failing test saves a screenshot of each of its pages under test-results/console/
(git-ignored). CONSOLE_SCREENSHOTS=<folder> makes the walk-through save the README's screenshots there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.e2e.conftest import ROOT, RunningHost
from tests.e2e.stack import ControlApi, graph_simulator

CHROMIUM = os.environ.get("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FAILURES = ROOT / "test-results" / "console"
# Every wait is for a condition; this bounds it on a loaded machine.
WAIT_MS = 30_000


# Module scope, not session: the sync API keeps an asyncio loop running in the main thread while it is
# open, and tests after these ones call asyncio.run() (the Graph credentials), which refuses to run then.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: run `make browser` (apt-get install chromium)"
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    # A script error or a Content-Security-Policy violation on any page fails the test.
    problems: list[str] = []

    def watch(page: Page) -> None:
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"{page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )

    context.on("page", watch)
    yield context
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        for index, page in enumerate(context.pages):
            page.screenshot(path=str(FAILURES / f"{name}-{index}.png"), full_page=True)
    context.close()
    assert not problems, problems


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def graph(local_host: RunningHost) -> ControlApi:
    return graph_simulator(local_host)
