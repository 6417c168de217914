"""Talks in a real browser: a deputy logs a talk through the form on a phone-sized screen, sees the
validation errors next to the fields for bad input, and sees the obligation turn green."""
from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TODAY = date(2026, 11, 20)


def test_deputy_logs_a_talk_and_the_obligation_turns_green(page, browser, live_server, office, log_in, monkeypatch):
    import service.talks.web

    monkeypatch.setattr(service.talks.web, "unit_today", lambda: TODAY)
    phone = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844},
                                is_mobile=True)
    phone.set_default_timeout(10_000)
    try:
        leader = phone.new_page()
        log_in(leader, "L2")
        leader.goto("/talks/")
        due = leader.locator(f'tr.obligation[data-person="{office["staff_a"]}"][data-period="2026-11-01"]')
        expect(due).to_have_attribute("data-status", "due")
        expect(due.locator(".talk-status")).to_have_class("talk-status blue")
        due.locator("a").click()  # "Record" prefills the person talked to
        expect(leader.locator("#talked_to")).to_have_value("SA 科员甲")

        # Bad input: no place, a person who does not exist, a date in the future.
        leader.fill("#held_at", "2026-12-24T09:30")
        leader.fill("#place", "")
        leader.fill("#present", "NOBODY")
        leader.fill("#topic", "近况")
        leader.fill("#content", "谈了家里的情况")
        leader.click("#submit")
        expect(leader.locator("#place-error")).to_be_visible()
        expect(leader.locator("#present-error")).to_be_visible()
        assert leader.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

        leader.fill("#place", "小会议室")
        leader.fill("#present", "")
        leader.click("#submit")
        expect(leader.locator("#held_at-error")).to_be_visible()  # a held talk cannot be in the future
        expect(leader.locator("#content")).to_have_value("谈了家里的情况")  # nothing typed is lost

        leader.fill("#held_at", "2026-11-18T10:00")
        leader.click("#submit")
        expect(leader.locator("p.flash")).to_be_visible()
        expect(leader.locator("#talk-content")).to_contain_text("谈了家里的情况")
        expect(leader.locator("#sign-state .unsigned")).to_be_visible()

        leader.goto("/talks/")
        expect(leader.locator(f'tr.obligation[data-person="{office["staff_a"]}"][data-period="2026-11-01"]')).to_have_count(0)
        cell = leader.locator(f'#coverage tr[data-person="{office["staff_a"]}"] td[data-month="2026-11"]')
        expect(cell).to_have_class("cell green")
    finally:
        phone.close()
