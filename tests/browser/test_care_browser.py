"""Care in a real browser: HR reports a hospital stay, the section chief closes the visit on a phone."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_hr_reports_a_hospital_stay_and_the_leader_closes_the_visit(page, browser, live_server, office, log_in, app):
    from service.clock import unit_today

    with app.app_context():
        today = unit_today().isoformat()
    log_in(page, "HR1")
    page.goto("/care/")
    page.click("#report-hospital")
    page.select_option("#patient", str(office["staff_a"]))
    page.fill("#admitted_on", today)
    page.fill("#hospital", "市第一人民医院")
    page.click("#submit")
    expect(page.locator("p.flash")).to_be_visible()
    page.goto("/care/calendar")
    expect(page.locator("#care-calendar")).to_contain_text("科员甲")

    # The section chief, on a phone, in a fresh profile.
    phone = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844},
                                is_mobile=True)
    try:
        leader = phone.new_page()
        log_in(leader, "CA")
        leader.goto("/care/")
        card = leader.locator("section.care-task").first
        expect(card).to_contain_text("科员甲")
        expect(card.locator(".care-status")).to_have_class("care-status blue")
        # Over the yearly cap (300 yuan by default): the error shows next to the field.
        card.locator("textarea").fill("带了水果，祝早日康复")
        card.locator("input[name$='allowance_yuan']").fill("500")
        card.locator("input[type=submit]").click()
        expect(leader.locator("p.error[id$='allowance_yuan-error']")).to_be_visible()
        card = leader.locator("section.care-task").first
        card.locator("input[name$='allowance_yuan']").fill("300")
        card.locator("input[type=submit]").click()
        expect(leader.locator("p.flash")).to_be_visible()
        expect(leader.locator("section.care-task .care-status").first).to_have_class("care-status green")
        assert leader.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        phone.close()


def test_staff_logs_overtime_on_a_phone_and_the_chief_confirms_it(page, browser, live_server, office, log_in, app):
    from datetime import timedelta

    from service.care.overtime_rules import DAY_OFF, day_kind
    from service.clock import unit_today
    from service.workdays.official import day_info

    with app.app_context():
        day = unit_today() - timedelta(days=1)
    while day_kind(*day_info(day)[1::2]) != DAY_OFF:  # the latest weekend day
        day -= timedelta(days=1)

    phone = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844},
                                is_mobile=True)
    try:
        staff = phone.new_page()
        log_in(staff, "SA")
        staff.goto("/care/")
        staff.click("#overtime-link")
        staff.fill("#day", day.isoformat())
        staff.fill("#start_time", "09:00")
        # Both the times and the hours: the error shows next to the hours.
        staff.fill("#hours", "8")
        staff.fill("#task", "周末值班")
        staff.click("#submit")
        expect(staff.locator("p.error#hours-error")).to_be_visible()
        staff.fill("#hours", "")
        staff.fill("#end_time", "17:00")
        staff.click("#submit")
        expect(staff.locator("p.flash")).to_be_visible()
        expect(staff.locator("section.care-task").first).to_contain_text("周末值班")
        assert staff.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        phone.close()

    log_in(page, "CA")
    page.goto("/care/overtime")
    card = page.locator("section[id^='confirm-']").first
    expect(card).to_contain_text("科员甲")
    card.locator("input[type=submit][name$='confirm']").click()
    expect(page.locator("p.flash")).to_be_visible()
    expect(page.locator("section[id^='confirm-']")).to_have_count(0)

    log_in(page, "SA")
    page.goto("/care/overtime")
    expect(page.locator("section.care-task .credited").first).to_be_visible()
