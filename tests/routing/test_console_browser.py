"""The console in headless Chromium: log in, see the elderly caller, accept, context, finish."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ivr.routing import holding
from ivr.routing.queue import QueueEntry

from .conftest import DEMO_PASSWORDS

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.slow


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page()
        browser.close()


def test_agent_logs_in_accepts_sees_context_and_finishes(app, served, page, twilio_stub,
                                                         tmp_path):
    with app.app_context():
        q = holding.call_queue()
        q.enqueue(QueueEntry("CAnormal", "normal", None, time.time() - 90,
                             {"reason": "menu", "caller_masked": "+86138******11"}))
        q.enqueue(QueueEntry("CAelder", "elder", None, time.time() - 30, {
            "elder": True, "dialect": "mandarin", "reason": "scam_risk",
            "menu_path": ["main", "card", "lost"], "caller_masked": "+86139******78",
            "scam": {"category": "safe_account", "matched": ["安全账户", "转账"]},
            "transcript_excerpt": "他说要我把钱转到安全账户", "flags": ["repeat_caller"],
        }))
    page.goto(served + "/agent/login")
    page.fill("#agent", "wang")
    page.fill("#password", DEMO_PASSWORDS["wang"])
    page.click("#login")
    page.wait_for_url(served + "/agent/")

    first = page.locator("#queue-body tr").first
    first.wait_for()
    assert first.get_attribute("data-call-sid") == "CAelder"
    assert first.locator(".badge.elder").inner_text() == "长者"
    assert "重复来电" in first.inner_text()
    assert page.locator("#total").inner_text() == "2"

    page.click("#accept")
    page.locator("#current").wait_for(state="visible")
    assert page.locator("#cur-scam").inner_text() == "safe_account"
    assert page.locator("#cur-phrases").inner_text() == "安全账户、转账"
    assert page.locator("#cur-path").inner_text() == "main → card → lost"
    assert "安全账户" in page.locator("#cur-transcript").inner_text()
    assert page.locator("#cur-caller").inner_text() == "+86139******78"
    assert twilio_stub.posts("/Members/CAelder.json")
    page.screenshot(path=str(tmp_path / "accepted.png"))
    # the poll refreshes the list without a reload: only the normal caller is left
    page.wait_for_function("document.getElementById('total').textContent === '1'")

    page.select_option("#disposition", "scam_stopped")
    page.click("#finish")
    page.locator("#current").wait_for(state="hidden")
    assert page.locator("#message").inner_text() == "已完成"
    page.screenshot(path=str(tmp_path / "console.png"))

    # a POST without the CSRF token, from the logged-in page itself, is refused
    status = page.evaluate(
        "async () => (await fetch('/agent/api/accept', {method: 'POST'})).status")
    assert status == 403
    with app.app_context():
        assert holding.call_queue().held_by("wang") is None
