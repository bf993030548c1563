"""The console in headless Chromium: log in, see the elderly caller, accept, context, finish."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ivr.routing.queue import QueueEntry
from ivr.services import get_services

from .conftest import DEMO_PASSWORDS

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.slow


@pytest.fixture
def served(app, tmp_path):
    # the words of the console come from the real menus, scam and dialect config
    from ivr.config.loader import load_config
    from tests.helpers import make_settings

    real = load_config(make_settings(tmp_path, None))
    current = app.extensions["ivr"].config.current
    current.menus, current.scam = real.menus, real.scam
    current.service.dialects = real.service.dialects
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip("Debian chromium is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page()
        browser.close()


def test_agent_logs_in_accepts_sees_context_and_finishes(app, served, page, twilio_stub,
                                                         tmp_path):
    with app.app_context():
        q = get_services().queue
        q.enqueue(QueueEntry("CAnormal", "normal", None, time.time() - 90,
                             {"reason": "menu", "caller_masked": "+86138******11"}))
        q.enqueue(QueueEntry("CAelder", "elder", None, time.time() - 30, {
            "elder": True, "dialect": "cantonese", "reason": "scam_risk",
            "menu_path": ["main", "account", "transfer:lost_card"],
            "caller_masked": "+86139******78",
            "scam": {"category": "police_impersonation", "matched": ["安全账户", "转账"]},
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
    assert "疑似诈骗" in first.inner_text() and "广东话" in first.inner_text()
    assert "scam_risk" not in first.inner_text() and "cantonese" not in first.inner_text()
    assert page.locator("#total").inner_text() == "2"

    page.click("#accept")
    page.locator("#current").wait_for(state="visible")
    assert page.locator("#cur-scam").inner_text() == "冒充公检法"
    assert page.locator("#cur-reason").inner_text() == "疑似诈骗，已播放防骗提醒"
    assert page.locator("#cur-phrases").inner_text() == "安全账户、转账"
    assert page.locator("#cur-path").inner_text() == "主菜单 → 账户和银行卡 → 转人工：银行卡挂失"
    assert page.locator("#cur-status").inner_text() == "正在转接"
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
        assert get_services().queue.held_by("wang") is None
