"""Birthday greetings end to end: the job, the outbox, a real SMTP server.

One greeting per person per birthday year whatever the reruns or a second scheduler; one leader
note per team per day; lunar day 30, leap months, 29 February, opt-out and the weekend shift.
"""
from __future__ import annotations

import threading
from datetime import date

import pytest
from lunar_python import Lunar
from sqlalchemy import select

from mail_server import SmtpServer


@pytest.fixture
def smtp(app):
    with SmtpServer() as server:
        app.config["MAIL_URL"] = server.url
        yield server
    app.config["MAIL_URL"] = ""


def set_birthday(app, person_id, calendar, month, day, leap=False, **extra):
    from service.extensions import db
    from service.people.models import Person

    with app.app_context():
        p = db.session.get(Person, person_id)
        p.birthday_calendar, p.birthday_month, p.birthday_day, p.birthday_leap = calendar, month, day, leap
        for key, value in extra.items():
            setattr(p, key, value)
        db.session.commit()


def run_job(app, on: date) -> dict:
    from workers.care import send_birthday_greetings

    with app.app_context():
        return send_birthday_greetings(on.isoformat())


def outbox_keys(app) -> dict[str, str]:
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.remove()
        return {r.dedupe_key: r.to_address for r in rows if r.kind.startswith("care_birthday")}


def relay(app) -> dict:
    from workers.outbox import relay_outbox

    with app.app_context():
        return relay_outbox()


def add_staff(app, office, no, section="section_a", **extra):
    from service.extensions import db
    from service.people.register import apply_person

    with app.test_request_context():
        p, _ = apply_person({"employee_no": no, "name": f"员工{no}", "email": f"{no.lower()}@example.org",
                             "section_id": office[section], **extra}, date(2026, 1, 1))
        db.session.commit()
        return p.id


def use_rule(hr_api, rule):
    r = hr_api.patch("/api/care/settings", json={"birthday_shift_rule": rule})
    assert r.status_code == 200, r.get_json()


def test_greeting_and_one_leader_note_for_two_birthdays_sent_once(app, office, smtp):
    second = add_staff(app, office, "SA2")
    wednesday = date(2026, 6, 10)
    set_birthday(app, office["staff_a"], "solar", 6, 10)
    set_birthday(app, second, "solar", 6, 10)

    assert run_job(app, wednesday) == {"greetings": 2, "notes": 1, "due": 2}
    assert relay(app)["sent"] == 3
    # A rerun (cron restart, RQ retry) the same day writes and sends nothing more.
    assert run_job(app, wednesday) == {"greetings": 0, "notes": 0, "due": 2}
    assert relay(app)["claimed"] == 0

    to = sorted(m["To"] for m in smtp.recorder.messages)
    assert to == ["ca@example.org", "sa2@example.org", "sa@example.org"]
    note = next(m for m in smtp.recorder.messages if m["To"] == "ca@example.org")
    body = note.get_body(preferencelist=("plain",)).get_content()
    assert "科员甲" in body and "员工SA2" in body  # one note names both birthdays of the team
    card = next(m for m in smtp.recorder.messages if m["To"] == "sa@example.org")
    assert card.get_body(preferencelist=("html",)) is not None
    # The deputy and the head are not told about a section chief's staff.
    assert "l2@example.org" not in to and "l1@example.org" not in to


def test_two_schedulers_at_once_give_one_greeting(app, office, smtp):
    set_birthday(app, office["staff_a"], "solar", 6, 10)
    set_birthday(app, office["staff_b"], "solar", 6, 10)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def scheduler():
        barrier.wait()
        try:
            results.append(run_job(app, date(2026, 6, 10)))
        except Exception as exc:  # a loser may fail on SQLite's single writer; RQ would retry it
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results, errors
    assert sum(r["greetings"] for r in results) == 2
    assert sum(r["notes"] for r in results) == 2  # chief A and chief B, once each
    relay(app)
    assert sorted(m["To"] for m in smtp.recorder.messages) == [
        "ca@example.org", "cb@example.org", "sa@example.org", "sb@example.org"]


def test_next_year_greets_again_with_a_new_key(app, office):
    set_birthday(app, office["staff_a"], "solar", 6, 10)
    run_job(app, date(2026, 6, 10))
    run_job(app, date(2027, 6, 10))
    assert {k for k in outbox_keys(app) if k.startswith("birthday:")} == {
        f"birthday:{office['staff_a']}:2026", f"birthday:{office['staff_a']}:2027"}


def test_opt_out_gets_no_greeting_and_is_not_in_the_note(app, office):
    set_birthday(app, office["staff_a"], "solar", 6, 10, celebrations_opt_out=True)
    assert run_job(app, date(2026, 6, 10)) == {"greetings": 0, "notes": 0, "due": 0}
    assert outbox_keys(app) == {}


def test_weekend_birthday_is_greeted_on_the_friday_before(app, office, hr_api):
    set_birthday(app, office["staff_a"], "solar", 6, 13)  # Saturday 13 June 2026
    assert run_job(app, date(2026, 6, 13))["due"] == 0
    assert run_job(app, date(2026, 6, 12)) == {"greetings": 1, "notes": 1, "due": 1}
    assert f"birthday-note:{office['chief_a']}:2026-06-12" in outbox_keys(app)
    # Changing the rule afterwards cannot greet the same birthday year twice.
    use_rule(hr_api, "on_day")
    assert run_job(app, date(2026, 6, 13)) == {"greetings": 0, "notes": 0, "due": 1}


def test_on_day_rule_greets_on_the_weekend_day(app, office, hr_api):
    use_rule(hr_api, "on_day")
    set_birthday(app, office["staff_a"], "solar", 6, 13)
    assert run_job(app, date(2026, 6, 12))["due"] == 0
    assert run_job(app, date(2026, 6, 13))["greetings"] == 1


def test_national_day_birthday_is_greeted_before_the_holiday(app, office):
    set_birthday(app, office["staff_a"], "solar", 10, 3)
    for d in range(1, 8):
        assert run_job(app, date(2026, 10, d))["due"] == 0
    assert run_job(app, date(2026, 9, 30))["greetings"] == 1


def test_29_february_falls_on_28_february_in_common_years(app, office, hr_api):
    use_rule(hr_api, "on_day")
    set_birthday(app, office["staff_a"], "solar", 2, 29)
    mine = f"birthday:{office['staff_a']}:"
    assert run_job(app, date(2027, 2, 28))["greetings"] == 1
    assert [k for k in outbox_keys(app) if k.startswith(mine)] == [mine + "2027"]
    run_job(app, date(2027, 3, 1))  # the rest of the office has 1 March birthdays
    assert run_job(app, date(2028, 2, 28))["due"] == 0
    assert run_job(app, date(2028, 2, 29))["greetings"] == 1
    assert [k for k in outbox_keys(app) if k.startswith(mine)] == [mine + "2027", mine + "2028"]


def test_lunar_day_30_in_a_29_day_month_falls_on_its_last_day(app, office, hr_api):
    use_rule(hr_api, "on_day")
    set_birthday(app, office["staff_a"], "lunar", 12, 30)
    # The 12th month of lunar year 2025 has 29 days: 除夕 is 2026-02-16, the day before 春节.
    last_day = Lunar.fromYmd(2025, 12, 29).getSolar()
    assert (last_day.getYear(), last_day.getMonth(), last_day.getDay()) == (2026, 2, 16)
    assert run_job(app, date(2026, 2, 15))["due"] == 0
    assert run_job(app, date(2026, 2, 16))["greetings"] == 1
    assert f"birthday:{office['staff_a']}:2025" in outbox_keys(app)  # the lunar year's key


def test_leap_month_birthday_uses_the_leap_month_only_when_the_year_has_it(app, office, hr_api):
    use_rule(hr_api, "on_day")
    set_birthday(app, office["staff_a"], "lunar", 6, 10, leap=True)
    # 2025 has a leap 6th month (闰六月): 闰六月初十 is 2025-08-03, not the regular 六月初十 (2025-07-04).
    assert run_job(app, date(2025, 7, 4))["due"] == 0
    assert run_job(app, date(2025, 8, 3))["greetings"] == 1
    # 2026 has no leap 6th month: the regular 六月初十, 2026-07-23.
    regular = Lunar.fromYmd(2026, 6, 10).getSolar()
    assert run_job(app, date(regular.getYear(), regular.getMonth(), regular.getDay()))["greetings"] == 1
    assert {k for k in outbox_keys(app) if k.startswith("birthday:")} == {
        f"birthday:{office['staff_a']}:2025", f"birthday:{office['staff_a']}:2026"}


def test_greeting_is_in_the_persons_language(app, office):
    set_birthday(app, office["staff_a"], "solar", 6, 10, language="en")
    run_job(app, date(2026, 6, 10))
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "care_birthday"))
        assert row.language == "en" and row.subject == "Happy birthday, 科员甲!"


def test_settings_reject_an_unknown_rule_and_change_nothing(app, office, hr_api, token_for):
    r = hr_api.patch("/api/care/settings", json={"birthday_shift_rule": "sometimes"})
    assert r.status_code == 422 and "birthday_shift_rule" in r.get_json()["errors"]["json"]
    assert hr_api.get("/api/care/settings").get_json()["birthday_shift_rule"] == "previous_working_day"
    staff = token_for(office["staff_a"])
    assert staff.patch("/api/care/settings", json={"birthday_shift_rule": "on_day"}).status_code == 403
    assert staff.get("/api/care/settings").status_code == 200
