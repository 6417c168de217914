"""Leave in a real browser: a staff member asks for leave across the 2026 Spring Festival, the
section chief and the deputy in charge approve it, the staff member sees it approved and the
days gone from the balance; the month grid on a phone."""
from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def today(monkeypatch):
    import service.leave.api
    import service.leave.web

    monkeypatch.setattr(service.leave.api, "unit_today", lambda: date(2026, 1, 5))
    monkeypatch.setattr(service.leave.web, "unit_today", lambda: date(2026, 1, 5))


def log_out(page):
    page.click("header form[action='/logout'] button")
    page.wait_for_load_state()


def test_request_and_its_approval(page, office, log_in, today):
    log_in(page, "SA")
    # Selectors by address and id: the page texts are translated at the end of the release.
    page.click("header nav a[href='/leave']")
    page.click("nav.tabs a[href='/leave/new']")
    page.select_option("#kind", "annual")
    page.fill("#start_date", "2026-02-09")
    page.fill("#end_date", "2026-02-14")  # Saturday 14 Feb is a make-up working day
    page.click("#submit")
    expect(page.locator(".flash")).to_contain_text("6")
    row = page.locator("#requests tbody tr").first
    expect(row).to_contain_text("年休假")  # the kind's name is unit data
    expect(row.locator(".status")).to_have_attribute("data-status", "pending")
    # The same days again: the clash is named next to the first day.
    page.click("nav.tabs a[href='/leave/new']")
    page.select_option("#kind", "personal")
    page.fill("#start_date", "2026-02-13")
    page.fill("#end_date", "2026-02-13")
    page.click("#submit")
    expect(page.locator("#start_date-error")).to_contain_text("2026-02-09")
    log_out(page)

    log_in(page, "CA")
    page.goto("/leave/approvals")
    card = page.locator(".card", has_text="科员甲")
    expect(card).to_contain_text("6")
    card.locator("input[type=submit][name$=approve]").click()
    expect(page.locator(".flash")).to_be_visible()
    expect(page.locator(".card", has_text="科员甲")).to_have_count(0)  # now the deputy's
    log_out(page)

    log_in(page, "L2")
    page.goto("/leave/approvals")
    page.locator(".card", has_text="科员甲").locator("input[type=submit][name$=approve]").click()
    expect(page.locator(".flash")).to_contain_text("科员甲")
    log_out(page)

    log_in(page, "SA")
    page.goto("/leave")
    expect(page.locator("#requests tbody tr").first.locator(".status")).to_have_attribute("data-status", "approved")
    expect(page.locator("#balance strong")).to_have_text("10")  # on 5 January the leave is still ahead
    expect(page.locator("#available strong")).to_have_text("4")  # 10 - 6 booked
    page.goto("/leave?year=2026")
    expect(page.locator("#ledger")).to_contain_text("-6")


def test_month_grid_on_a_phone(browser, live_server, office, hr_api, log_in, today):
    hr_api.post("/api/leave/requests", json={"person_id": office["staff_a"], "kind": "annual",
                                             "start_date": "2026-02-09", "end_date": "2026-02-13", "record": True})
    ctx = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 800},
                              is_mobile=True)
    try:
        page = ctx.new_page()
        log_in(page, "CA")
        page.goto(f"/leave/grid?section={office['section_a']}&month=2026-02")
        expect(page.locator("#grid td.on-leave")).to_have_count(5)
        # The page itself does not scroll sideways: the grid scrolls inside its own box.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
    finally:
        ctx.close()
