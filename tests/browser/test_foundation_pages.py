"""The foundation pages in a real browser: log in, people, language, API tokens, phone width, mail."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/talkcare-home.png"


def test_hr_logs_in_finds_a_person_and_sees_private_fields(page, office, log_in):
    log_in(page, "HR1")
    expect(page.locator("h1")).to_have_text("人事干部，您好")
    page.click("header nav >> text=人员")
    rows = page.locator("#people tbody tr")
    expect(rows).to_have_count(7)
    expect(page.locator("#people thead")).to_contain_text("姓名")

    page.fill("input[name=q]", "科员甲")
    page.click("form.filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("SA")
    expect(rows.first).to_contain_text("科员")  # the role label, translated

    page.click("#people >> text=科员甲")
    expect(page.locator("h1")).to_contain_text("科员甲")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("工号")
    # Private fields: HR reads them for everyone.
    expect(facts).to_contain_text("电子邮箱")
    expect(facts).to_contain_text("sa@example.org")
    expect(facts).to_contain_text("参加工作时间")
    expect(facts).to_contain_text("公历 3-1")


def test_staff_does_not_see_private_fields_of_others(page, office, log_in):
    log_in(page, "SB")
    page.goto(f"/people/{office['staff_a']}")
    expect(page.locator("dl.facts")).to_contain_text("SA")
    expect(page.locator("dl.facts")).not_to_contain_text("sa@example.org")


def test_home_of_the_head_looks_right(page, office, log_in):
    log_in(page, "L1")
    expect(page.locator("h1")).to_have_text("主任，您好")
    expect(page.locator(".tiles")).to_contain_text("在职人员")
    team = page.locator("main table tbody tr")
    expect(team).to_have_count(6)  # the head leads everyone else
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_wrong_password_shows_the_error(page, office, log_in):
    log_in(page, "HR1", "not the password")
    expect(page.locator(".flash.error")).to_have_text("工号或密码错误。")
    expect(page.locator("h1")).to_have_text("登录")
    assert page.url.endswith("/login")
    # The form carries its CSRF token.
    assert page.locator("main form input[name=csrf_token]").get_attribute("value")


def test_login_without_the_csrf_token_is_refused(client, office):
    r = client.post("/login", data={"employee_no": "HR1", "password": "correct horse 1"})
    assert r.status_code == 400
    assert client.get("/", follow_redirects=False).status_code == 302  # still logged out


def test_language_switch_toggles_the_labels(page, office, log_in):
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("登录")
    expect(page.locator("label[for=employee_no]")).to_have_text("工号或电子邮箱")
    page.click("#switch-language")
    expect(page.locator("h1")).to_have_text("Log in")
    expect(page.locator("label[for=employee_no]")).to_have_text("Employee number or email")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.url.endswith("/login")  # back where we were
    page.click("#switch-language")
    expect(page.locator("h1")).to_have_text("登录")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    # Logged in, the menu follows too.
    log_in(page, "HR1")
    nav = page.locator("header nav")
    expect(nav).to_contain_text("审计日志")
    page.click("#switch-language")
    expect(nav).to_contain_text("Audit log")
    expect(nav).to_contain_text("Sent mail")
    page.click("#switch-language")
    expect(nav).to_contain_text("已发送邮件")


def test_staff_creates_a_token_sees_it_once_and_revokes_it(page, context, office, log_in):
    log_in(page, "SA")
    page.click("header nav >> text=API 令牌")
    expect(page.locator("h1")).to_have_text("API 令牌")
    page.fill("#name", "报表系统")
    page.select_option("#scope", "read")
    page.click("#submit")
    token = page.locator("#new-token").inner_text().strip()
    assert len(token) >= 20
    row = page.locator("main table tbody tr", has_text="报表系统")
    expect(row).to_contain_text("只读")

    api = context.request
    assert api.get("/api/tokens", headers={"Authorization": f"Bearer {token}"}).status == 200

    page.goto("/tokens")  # seen again later: the token is not shown
    expect(page.locator("#new-token")).to_have_count(0)
    assert token not in page.content()

    row.locator("button", has_text="撤销").click()
    expect(page.locator(".flash")).to_have_text("令牌已撤销。")
    expect(page.locator("main table tbody tr", has_text="报表系统")).to_contain_text("已撤销")
    assert api.get("/api/tokens", headers={"Authorization": f"Bearer {token}"}).status == 401


def test_pages_fit_a_phone(browser, live_server, office, log_in):
    ctx = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 375, "height": 812},
                              is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = ctx.new_page()
        page.goto("/login")
        expect(page.locator("h1")).to_have_text("登录")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 375, f"the login page scrolls sideways at 375px ({width}px wide)"
        box = page.locator("#submit").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375
        log_in(page, "HR1")
        for path in ("/", "/people", f"/people/{office['staff_a']}", "/tokens", "/admin/mail"):
            page.goto(path)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= 375, f"{path} scrolls sideways at 375px ({width}px wide)"
    finally:
        ctx.close()


def test_hr_sees_the_welcome_email_in_sent_mail(app, page, office, hr_api, log_in):
    from service import outbox

    r = hr_api.post("/api/people", json={"employee_no": "S900", "name": "王芳", "email": "wf@example.org",
                                         "section_id": office["section_a"], "joined_on": "2024-03-01"})
    assert r.status_code == 201, r.json
    with app.app_context():
        assert outbox.relay()["sent"] >= 1

    log_in(page, "HR1")
    page.click("header nav >> text=已发送邮件")
    expect(page.locator("h1")).to_have_text("已发送邮件")
    row = page.locator("#mail tbody tr", has_text="wf@example.org")
    expect(row).to_contain_text("您的 talkcare 账号")
    row.locator("a").click()
    expect(page.locator("h1")).to_have_text("您的 talkcare 账号")
    expect(page.locator("pre")).to_contain_text("王芳同志：您好！")
    expect(page.locator("pre")).to_contain_text(re.compile(r"S900"))
