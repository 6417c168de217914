"""Planning talks in a real browser on a phone screen: the deputy opens "Plan my talks", schedules
the proposed day (an empty place is refused next to the field), then records the talk once it took
place, and the obligation turns green."""
from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_deputy_plans_then_records_a_talk(browser, live_server, office, log_in, monkeypatch):
    import service.talks.web

    monkeypatch.setattr(service.talks.web, "unit_today", lambda: date(2026, 11, 20))
    phone = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844},
                                is_mobile=True)
    phone.set_default_timeout(10_000)
    try:
        leader = phone.new_page()
        log_in(leader, "L2")
        leader.goto("/talks/proposals")
        card = leader.locator(f'section.proposal[data-person="{office["staff_a"]}"]')
        expect(card).to_be_visible()
        sa = office["staff_a"]
        expect(card.locator(f"#p{sa}-day")).not_to_have_value("")
        card.locator(f"#p{sa}-day").fill("2026-11-23")
        card.locator(f"#p{sa}-time").fill("10:30")
        card.locator(f"#p{sa}-place").fill("")
        card.locator(f"#p{sa}-submit").click()
        card = leader.locator(f'section.proposal[data-person="{sa}"]')
        expect(card.locator(f"#p{sa}-place-error")).to_be_visible()
        assert leader.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        expect(card.locator(f"#p{sa}-time")).to_have_value("10:30")  # nothing typed is lost

        card.locator(f"#p{sa}-place").fill("小会议室")
        card.locator(f"#p{sa}-submit").click()
        expect(leader.locator("#sign-state .talk-status.blue")).to_be_visible()  # scheduled
        expect(leader.locator("#mark-held")).to_have_count(0)  # not before the day
        talk_url = leader.url

        monkeypatch.setattr(service.talks.web, "unit_today", lambda: date(2026, 11, 23))
        leader.goto(talk_url)
        leader.click("#mark-held")
        expect(leader.locator("#talk-form")).to_be_visible()  # the record form opens for the content
        leader.fill("#content", "谈了工作安排")
        leader.click("#submit")
        expect(leader.locator("#talk-content")).to_contain_text("谈了工作安排")
        leader.goto("/talks/")
        cell = leader.locator(f'#coverage tr[data-person="{sa}"] td[data-month="2026-11"]')
        expect(cell).to_have_class("cell green")
    finally:
        phone.close()
