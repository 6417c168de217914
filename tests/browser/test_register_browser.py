"""HR's register pages in a real browser: add a person, see an error next to its field, fix it; forgot
password from the login page; the forms on a phone."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _exists(app, employee_no) -> bool:
    from sqlalchemy import select

    from service.extensions import db
    from service.people.models import Person

    with app.app_context():
        return db.session.scalar(select(Person.id).where(Person.employee_no == employee_no)) is not None


def test_hr_adds_a_person_fixes_an_error_and_sees_the_person(app, page, office, log_in):
    log_in(page, "HR1")
    page.goto("/people")
    page.click("#add-person")
    expect(page.locator("#person-form")).to_be_visible()
    page.fill("#employee_no", "N200")
    page.fill("#name", "李明")
    page.fill("#email", "lm@example.org")
    page.select_option("#section_id", str(office["section_a"]))
    page.fill("#post", "科员")
    page.fill("#work_started_on", "2025-09-01")
    page.fill("#joined_on", "2024-03-01")  # before starting work: refused
    page.select_option("#birthday_calendar", "lunar")
    page.select_option("#birthday_month", "8")
    page.select_option("#birthday_day", "30")
    page.fill("#relatives-0-name", "李父")
    page.select_option("#relatives-0-relation", "parent")
    page.click("#submit")

    error = page.locator("#joined_on-error")
    expect(error).to_be_visible()
    expect(page.locator("#form-errors")).to_be_visible()
    # The message sits in the field's own box, and what was typed is kept.
    expect(page.locator(".field.has-error", has=page.locator("#joined_on"))).to_contain_text(error.inner_text())
    expect(page.locator("#name")).to_have_value("李明")
    expect(page.locator("#relatives-0-name")).to_have_value("李父")
    assert _exists(app, "N200") is False  # a rejected form adds nobody

    page.fill("#work_started_on", "2015-07-01")
    page.click("#submit")
    expect(page.locator("h1")).to_contain_text("李明")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("N200")
    expect(facts).to_contain_text("lm@example.org")
    expect(facts).to_contain_text("李父")
    assert page.url.rstrip("/").split("/")[-1].isdigit()
    assert _exists(app, "N200")


def test_forgot_password_from_the_login_page(page, office):
    page.goto("/login")
    page.click("#forgot-password")
    page.fill("#ident", "SA")
    page.click("#submit")
    expect(page.locator("#reset-requested")).to_be_visible()


def test_register_forms_fit_a_phone(browser, live_server, office, log_in):
    ctx = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 375, "height": 812},
                              is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = ctx.new_page()
        log_in(page, "HR1")
        for path in ("/people/new", f"/people/{office['deputy']}/edit", "/people/import", "/sections/new",
                     f"/sections/{office['section_a']}/edit", "/forgot-password"):
            page.goto(path)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= 375, f"{path} scrolls sideways at 375px ({width}px wide)"
            if path == "/people/new":
                page.click("#submit")  # empty: the errors must fit too
                page.screenshot(path="/tmp/talkcare-person-form.png", full_page=True)
                assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    finally:
        ctx.close()
