"""The notification centre in a real browser: the weekly email the fan-out queued for me is listed
with its subject and status, and I turn the weekly email off on the same page."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_person_sees_the_weekly_notice_and_opts_out(page, office, log_in, app):
    from service.extensions import db
    from service.outbox.models import OutboxMessage
    from workers.digest import send_weekly_digests

    with app.app_context():  # the cron job's fan-out for ISO week 2026-W47
        assert send_weekly_digests(on="2026-11-16", hour=9)["queued"] == 7
        subject = db.session.scalar(db.select(OutboxMessage.subject)
                                    .where(OutboxMessage.recipient_id == office["staff_a"]))
    log_in(page, "SA")
    page.click("#nav-notices")
    row = page.locator("#notices tr.notice").first
    expect(row).to_contain_text(subject)
    expect(row.locator("td").last).to_have_text("待发送")  # status "waiting", in the office's language
    expect(page.locator("#notices tr.notice")).to_have_count(1)  # only mine
    box = page.locator("#digest-preferences input[name=weekly_email]")
    expect(box).to_be_checked()
    box.uncheck()
    page.click("#digest-preferences input[type=submit]")
    expect(page.locator("p.flash")).to_be_visible()
    expect(page.locator("#digest-preferences input[name=weekly_email]")).not_to_be_checked()
    assert page.url.endswith("/digest/notices")
