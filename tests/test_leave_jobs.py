"""Care that leave is taken: reminders from the unit's date on working days only, the leaders'
lists, the year-end report to HR; idempotent through the outbox's dedupe keys."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from leave_helpers import set_today


def outbox(app, kind=None):
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        stmt = select(OutboxMessage).order_by(OutboxMessage.dedupe_key)
        if kind:
            stmt = stmt.where(OutboxMessage.kind == kind)
        rows = [(m.dedupe_key, m.recipient_id, m.subject, m.body_text) for m in db.session.scalars(stmt)]
        db.session.remove()
    return rows


@pytest.fixture
def allocated(app, office, hr_api, monkeypatch):
    set_today(monkeypatch, date(2026, 1, 5))
    hr_api.post("/api/leave/allocate", json={"year": 2026})
    # staff_b took all ten days: no reminder for them.
    hr_api.post("/api/leave/requests", json={"person_id": office["staff_b"], "kind": "annual",
                                             "start_date": "2026-03-02", "end_date": "2026-03-13", "record": True})
    return office


def run(app, day):
    from workers.leave import send_leave_reminders

    with app.app_context():
        return send_leave_reminders(day)


def test_reminders_start_on_the_unit_date_and_are_sent_once(app, allocated):
    office = allocated
    assert run(app, "2026-08-31") == {"reminded": 0, "leaders": 0, "reports": 0}
    counts = run(app, "2026-09-01")  # a Tuesday
    assert counts["reminded"] == 6 and counts["leaders"] == 4  # head, deputy, both chiefs
    rows = outbox(app, "leave_reminder")
    assert {r[0] for r in rows} == {f"leave-reminder:{office[k]}:2026" for k in
                                    ("hr", "head", "deputy", "chief_a", "chief_b", "staff_a")}
    staff_a = next(r for r in rows if r[1] == office["staff_a"])
    assert "10" in staff_a[2] and "2026" in staff_a[2]
    lists = {r[1]: r[3] for r in outbox(app, "leave_leader_list")}
    assert "科员甲" in lists[office["chief_a"]] and "科员乙" not in lists[office["chief_b"]]
    assert run(app, "2026-09-02") == {"reminded": 0, "leaders": 0, "reports": 0}  # idempotent
    assert len(outbox(app, "leave_reminder")) == 6


def test_no_reminder_on_days_off_but_on_make_up_working_days(app, allocated, hr_api):
    assert run(app, "2026-09-05")["reminded"] == 0  # a Saturday
    assert run(app, "2026-10-02")["reminded"] == 0  # National Day holiday
    # A unit day off is honoured too.
    assert hr_api.post("/api/calendar/overrides", json={"day": "2026-09-07", "working": False,
                                                        "reason": "单位调整"}).status_code == 201
    assert run(app, "2026-09-07")["reminded"] == 0
    assert run(app, "2026-09-20")["reminded"] == 6  # Sunday 20 Sept 2026 is a make-up working day


def test_reminder_date_is_a_unit_setting(app, allocated, hr_api):
    hr_api.patch("/api/leave/settings", json={"reminder_month": 10, "reminder_day": 15})
    assert run(app, "2026-09-01")["reminded"] == 0
    assert run(app, "2026-10-15")["reminded"] == 6


def test_year_end_report_to_hr_on_the_last_working_day(app, allocated):
    office = allocated
    assert run(app, "2026-12-30")["reports"] == 0
    assert run(app, "2026-12-31")["reports"] == 1  # Thursday, the last working day of 2026
    assert run(app, "2026-12-31")["reports"] == 0
    assert run(app, "2027-01-04")["reports"] == 0  # the January catch-up finds it sent
    (key, recipient, subject, body), = outbox(app, "leave_unused_report")
    assert key == f"leave-unused-report:{office['hr']}:2026" and recipient == office["hr"]
    assert "300%" in body and "科员甲" in body and "科员乙" not in body


def test_a_missed_last_day_is_caught_up_in_january(app, allocated):
    assert run(app, "2027-01-04")["reports"] == 1
