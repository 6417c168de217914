"""A live server and a browser for the Playwright tests.

The app is the session app of tests/conftest.py (same database, same Redis), served by werkzeug on
127.0.0.1 and a free port from a background thread. The browser is the system Chromium
(``apt-get install chromium``): Playwright's own browser downloads are never used, so the tests run
on an offline machine. Without /usr/bin/chromium the tests skip on a laptop and fail in CI.
"""
from __future__ import annotations

import os
import threading

import pytest
from conftest import need  # tests/conftest.py

CHROMIUM = os.environ.get("TALKCARE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse 1"


@pytest.fixture
def live_server(app):
    """The app over real HTTP; yields its base URL ("http://127.0.0.1:<port>")."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="talkcare-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    need(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, live_server):
    """A fresh browser profile (no cookies) that speaks Chinese, like the office's browsers."""
    ctx = browser.new_context(base_url=live_server, locale="zh-CN",
                              viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def log_in():
    """log_in(page, employee_no) logs in through the real form and waits for the start page."""

    def do(page, employee_no: str, password: str = PASSWORD):
        page.goto("/login")
        page.fill("#employee_no", employee_no)
        page.fill("#password", password)
        page.click("#submit")
        page.wait_for_load_state()
        return page

    return do
