"""Overtime: logging, the leader's confirmation, care items for HR, compensatory leave on the ledger
(signed entries that follow edits and withdrawals, booked once), permissions, bad input, pages."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from conftest import csrf_of
from test_bad_input import db_state


def today(app):
    from service.clock import unit_today

    with app.app_context():
        return unit_today()


def recent(app, kind: str) -> date:
    """The latest past day (not today) of a kind: working, day_off (not a holiday), holiday."""
    from service.care.overtime_rules import day_kind
    from service.workdays.official import day_info

    day = today(app) - timedelta(days=1)
    while True:
        info = day_info(day)
        if not info.provisional and day_kind(info.working, info.reason) == kind:
            return day
        day -= timedelta(days=1)


def ledger(app, person_id):
    from service.extensions import db
    from service.leave.models import LedgerEntryRow

    with app.app_context():
        rows = db.session.scalars(select(LedgerEntryRow).where(
            LedgerEntryRow.person_id == person_id, LedgerEntryRow.account == "compensatory")
            .order_by(LedgerEntryRow.id)).all()
        out = [(r.kind, Decimal(r.days), r.dedupe_key) for r in rows]
        db.session.remove()
        return out


def balance(app, person_id):
    return sum((d for _k, d, _key in ledger(app, person_id)), Decimal(0))


def outbox(app, prefix):
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        keys = [(r.dedupe_key, r.to_address) for r in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix)).order_by(OutboxMessage.id))]
        db.session.remove()
        return keys


def log(api, **body):
    return api.post("/api/care/overtime", json=body)


def test_staff_logs_late_overtime_and_the_section_chief_confirms(app, office, token_for):
    staff, chief = token_for(office["staff_a"]), token_for(office["chief_a"])
    day = recent(app, "working")
    r = log(staff, day=day.isoformat(), start_time="18:00", end_time="21:30", task="起草年度总结")
    assert r.status_code == 201, r.get_json()
    ot = r.get_json()
    assert r.headers["Location"].endswith(f"/api/care/overtime/{ot['id']}")
    assert (ot["status"], ot["occasion"], ot["hours"], ot["items"]) == ("pending", "late", 3.5, [])
    # The leader is told; nothing is owed before the confirmation.
    assert outbox(app, "overtime-pending:") == [(f"overtime-pending:{ot['id']}:{today(app).isoformat()}",
                                                 "ca@example.org")]
    assert [o["id"] for o in chief.get("/api/care/overtime?to_confirm=true").get_json()] == [ot["id"]]
    assert staff.get("/api/care/overtime?to_confirm=true").get_json() == []

    r = chief.post(f"/api/care/overtime/{ot['id']}/decision", json={"confirm": True})
    assert r.status_code == 200, r.get_json()
    done = r.get_json()
    assert done["status"] == "confirmed" and done["confirmed_by_id"] == office["chief_a"]
    assert sorted((i["kind"], i["status"], i["provider"]) for i in done["items"]) == [
        ("meal", "open", "logistics"), ("transport", "open", "logistics")]
    # Late working-day overtime earns no compensatory leave by default.
    assert done["comp_days"] == 0 and ledger(app, office["staff_a"]) == []
    again = chief.post(f"/api/care/overtime/{ot['id']}/decision", json={"confirm": True})
    assert again.status_code == 409 and "confirm" in again.get_json()["errors"]["json"]


def test_weekend_overtime_credits_compensatory_leave_that_follows_every_change(app, office, token_for):
    staff, chief = token_for(office["staff_a"]), token_for(office["chief_a"])
    saturday = recent(app, "day_off")
    ot = log(staff, day=saturday.isoformat(), hours=8, task="值班").get_json()
    assert (ot["occasion"], ot["comp_days"], ot["credited_days"]) == ("rest_day", 1, 0)
    assert ledger(app, office["staff_a"]) == []  # waiting for the leader
    chief.post(f"/api/care/overtime/{ot['id']}/decision", json={"confirm": True})
    assert ledger(app, office["staff_a"]) == [("allocation", Decimal(1), f"overtime:{ot['id']}:0")]

    # The leader corrects it to 12 hours: the difference is booked, the record stays confirmed.
    r = chief.patch(f"/api/care/overtime/{ot['id']}", json={"hours": 12})
    assert r.status_code == 200 and r.get_json()["status"] == "confirmed" and r.get_json()["credited_days"] == 1.5
    # The person changes it: back to the leader, the credit reversed until confirmed again.
    r = staff.patch(f"/api/care/overtime/{ot['id']}", json={"start_time": "09:00", "end_time": "17:00"})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["status"], r.get_json()["hours"], r.get_json()["credited_days"]) == ("pending", 8, 0)
    assert [i["status"] for i in r.get_json()["items"]] == ["cancelled"]
    chief.post(f"/api/care/overtime/{ot['id']}/decision", json={"confirm": True})
    assert balance(app, office["staff_a"]) == 1
    # The leave domain's statement shows the same: what can be asked for as compensatory leave.
    statement = staff.get(f"/api/people/{office['staff_a']}/leave/balance?account=compensatory").get_json()
    assert statement["booked"] == 1 and len(statement["lines"]) == 4
    # Withdrawn: the reversal is booked; the record and its entries stay to explain the balance.
    r = staff.delete(f"/api/care/overtime/{ot['id']}")
    assert r.status_code == 200 and r.get_json()["status"] == "withdrawn"
    assert ledger(app, office["staff_a"]) == [
        ("allocation", Decimal(1), f"overtime:{ot['id']}:0"),
        ("adjustment", Decimal("0.5"), f"overtime:{ot['id']}:1"),
        ("adjustment", Decimal("-1.5"), f"overtime:{ot['id']}:2"),
        ("adjustment", Decimal(1), f"overtime:{ot['id']}:3"),
        ("adjustment", Decimal(-1), f"overtime:{ot['id']}:4"),
    ]
    assert balance(app, office["staff_a"]) == 0
    assert staff.delete(f"/api/care/overtime/{ot['id']}").status_code == 409
    assert staff.patch(f"/api/care/overtime/{ot['id']}", json={"hours": 4}).status_code == 409


def test_settling_again_books_nothing(app, office, token_for):
    from service.care.models import OvertimeLog
    from service.care.overtime import settle
    from service.care.settings import care_settings
    from service.extensions import db

    ot = log(token_for(office["chief_a"]), person_id=office["staff_a"], day=recent(app, "holiday").isoformat(),
             hours=8, task="节日值班").get_json()
    assert ot["status"] == "confirmed" and ot["occasion"] == "holiday"  # a leader's log: at once
    before = ledger(app, office["staff_a"])
    assert [d for _k, d, _key in before] == [Decimal(1)]
    with app.test_request_context():
        row = db.session.get(OvertimeLog, ot["id"])
        for _ in range(3):  # a retried job or request
            assert settle(row, None, today(app), care_settings())["credit_booked"] == "0"
        db.session.commit()
    assert ledger(app, office["staff_a"]) == before


def test_a_leader_logging_for_staff_is_confirmed_at_once_and_the_head_needs_nobody(app, office, token_for):
    day = recent(app, "working").isoformat()
    r = log(token_for(office["deputy"]), person_id=office["staff_a"], day=day, start_time="19:00",
            end_time="22:00", task="应急处置")
    assert r.status_code == 201 and r.get_json()["status"] == "confirmed"
    assert len(r.get_json()["items"]) == 2
    own = log(token_for(office["head"]), day=day, start_time="19:00", end_time="23:00", task="汇报材料")
    assert own.get_json()["status"] == "confirmed"
    # A section chief's own overtime goes to the deputy in charge.
    chief = log(token_for(office["chief_a"]), day=day, start_time="19:00", end_time="23:00", task="汇报材料")
    assert chief.get_json()["status"] == "pending"
    assert token_for(office["deputy"]).post(f"/api/care/overtime/{chief.get_json()['id']}/decision",
                                            json={"confirm": True}).status_code == 200


def test_who_may_log_see_and_confirm(app, office, token_for, hr_api):
    day = recent(app, "day_off").isoformat()
    api = {key: token_for(office[key]) for key in ("staff_a", "staff_b", "chief_a", "chief_b")}
    api["hr"], api["read"] = hr_api, token_for(office["staff_a"], "read")
    before = db_state(app)
    assert log(api["staff_b"], person_id=office["staff_a"], day=day, hours=4, task="x").status_code == 403
    assert log(api["chief_b"], person_id=office["staff_a"], day=day, hours=4, task="x").status_code == 403
    assert log(hr_api, person_id=office["staff_a"], day=day, hours=4, task="x").status_code == 403
    assert log(api["read"], day=day, hours=4, task="x").status_code == 403
    assert db_state(app) == before
    ot = log(api["staff_a"], day=day, hours=4, task="x").get_json()
    before = db_state(app)
    # Only a leader of the person confirms: not the person, not another section's chief, not HR.
    for actor in ("staff_a", "chief_b", "hr"):
        r = api[actor].post(f"/api/care/overtime/{ot['id']}/decision", json={"confirm": True})
        assert r.status_code in (403, 404), (actor, r.get_json())
    assert api["staff_b"].get(f"/api/care/overtime/{ot['id']}").status_code == 404
    assert api["staff_b"].patch(f"/api/care/overtime/{ot['id']}", json={"hours": 2}).status_code == 404
    assert api["staff_b"].delete(f"/api/care/overtime/{ot['id']}").status_code == 404
    assert hr_api.delete(f"/api/care/overtime/{ot['id']}").status_code == 403
    assert db_state(app) == before
    assert hr_api.get(f"/api/care/overtime/{ot['id']}").status_code == 200
    assert [o["id"] for o in hr_api.get("/api/care/overtime").get_json()] == [ot["id"]]
    assert api["staff_b"].get("/api/care/overtime").get_json() == []
    assert len(api["chief_a"].get("/api/care/overtime").get_json()) == 1


def test_rejection_and_resubmission(app, office, token_for):
    staff, chief = token_for(office["staff_a"]), token_for(office["chief_a"])
    ot = log(staff, day=recent(app, "day_off").isoformat(), hours=8, task="加班").get_json()
    r = chief.post(f"/api/care/overtime/{ot['id']}/decision", json={"confirm": False, "note": "未经安排"})
    assert r.get_json()["status"] == "rejected" and r.get_json()["decision_note"] == "未经安排"
    assert ledger(app, office["staff_a"]) == []
    r = staff.patch(f"/api/care/overtime/{ot['id']}", json={"task": "领导安排的值班"})
    assert r.get_json()["status"] == "pending"
    chief.post(f"/api/care/overtime/{ot['id']}/decision", json={"confirm": True})
    # An edit that changes nothing does not send it back.
    r = staff.patch(f"/api/care/overtime/{ot['id']}", json={"hours": 8, "task": "领导安排的值班"})
    assert r.get_json()["status"] == "confirmed" and r.get_json()["credited_days"] == 1


def test_hr_provides_care_items(app, office, token_for, hr_api):
    ot = log(token_for(office["chief_a"]), person_id=office["staff_a"], day=recent(app, "working").isoformat(),
             start_time="18:00", end_time="22:00", task="加班").get_json()
    items = hr_api.get("/api/care/care-items?status=open").get_json()
    assert sorted(i["kind"] for i in items) == ["meal", "transport"]
    assert items[0]["overtime"]["id"] == ot["id"]
    meal = next(i["id"] for i in items if i["kind"] == "meal")
    staff, chief = token_for(office["staff_a"]), token_for(office["chief_a"])
    before = db_state(app)
    assert staff.post(f"/api/care/care-items/{meal}/provided", json={}).status_code == 403
    assert chief.post(f"/api/care/care-items/{meal}/provided", json={}).status_code == 403
    assert db_state(app) == before
    r = hr_api.post(f"/api/care/care-items/{meal}/provided", json={"note": "食堂夜宵"})
    assert r.status_code == 200 and r.get_json()["status"] == "provided"
    again = hr_api.post(f"/api/care/care-items/{meal}/provided", json={})
    assert again.status_code == 409 and "status" in again.get_json()["errors"]["json"]
    # The person sees their own items; another section's staff sees none.
    assert len(staff.get("/api/care/care-items").get_json()) == 2
    assert token_for(office["staff_b"]).get("/api/care/care-items").get_json() == []
    # Withdrawn: the open ride is cancelled, the meal already given stays provided.
    token_for(office["chief_a"]).delete(f"/api/care/overtime/{ot['id']}")
    assert sorted((i["kind"], i["status"]) for i in hr_api.get("/api/care/care-items").get_json()) == [
        ("meal", "provided"), ("transport", "cancelled")]


def test_unit_settings_decide_items_and_credit(app, office, token_for, hr_api):
    r = hr_api.patch("/api/care/settings", json={
        "overtime_late_hour": 19, "overtime_items": {"late": ["transport"], "rest_day": [], "holiday": ["meal"]},
        "overtime_provider": "hr", "overtime_comp_hours_per_day": 4, "overtime_comp_occasions": ["late"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["overtime_late_hour"] == 19
    chief = token_for(office["chief_a"])
    late = log(chief, person_id=office["staff_a"], day=recent(app, "working").isoformat(), start_time="17:00",
               end_time="19:30", task="x").get_json()
    assert [(i["kind"], i["provider"]) for i in late["items"]] == [("transport", "hr")]
    assert late["credited_days"] == 0.5
    weekend = log(chief, person_id=office["staff_a"], day=recent(app, "day_off").isoformat(), hours=8,
                  task="x").get_json()
    assert weekend["items"] == [] and weekend["credited_days"] == 0


@pytest.mark.parametrize("body, field", [
    ({"overtime_late_hour": 30}, "overtime_late_hour"),
    ({"overtime_late_hour": "20"}, "overtime_late_hour"),
    ({"overtime_items": {"night": ["meal"]}}, "overtime_items"),
    ({"overtime_items": {"late": ["massage"]}}, "overtime_items"),
    ({"overtime_provider": "canteen"}, "overtime_provider"),
    ({"overtime_comp_hours_per_day": -1}, "overtime_comp_hours_per_day"),
    ({"overtime_comp_occasions": ["birthday"]}, "overtime_comp_occasions"),
])
def test_bad_settings_name_the_field_and_change_nothing(app, office, hr_api, body, field):
    before = db_state(app)
    r = hr_api.patch("/api/care/settings", json=body)
    assert r.status_code == 422 and field in r.get_json()["errors"]["json"], r.get_json()
    assert db_state(app) == before


def _bad_cases():
    return [
        ({"day": "2026-02-30"}, "day"),
        ({"day": None}, "day"),
        ({"day": "far ahead"}, "day"),
        ({"ahead": 30}, "day"),            # more than 14 days ahead
        ({"ahead": -400}, "day"),          # more than a year ago
        ({"hours": None, "start_time": "18:00"}, "end_time"),
        ({"hours": None, "end_time": "21:00"}, "start_time"),
        ({"start_time": "18:00", "end_time": "21:00"}, "hours"),  # both ways at once
        ({"hours": None}, "hours"),
        ({"hours": 0}, "hours"),
        ({"hours": 0.3}, "hours"),
        ({"hours": 25}, "hours"),
        ({"hours": "eight"}, "hours"),
        ({"hours": True}, "hours"),
        ({"hours": None, "start_time": "25:00", "end_time": "21:00"}, "start_time"),
        ({"hours": None, "start_time": "18:00+08:00", "end_time": "21:00"}, "start_time"),
        ({"hours": None, "start_time": "18:00", "end_time": "18:10"}, "end_time"),
        ({"task": ""}, "task"),
        ({"task": "x" * 301}, "task"),
        ({"task": "a\x00b"}, "task"),
        ({"person_id": 999}, "person_id"),
        ({"person_id": "me"}, "person_id"),
        ({"person_id": 2**40}, "person_id"),
    ]


@pytest.mark.parametrize("body, field", _bad_cases())
def test_bad_overtime_names_the_field_and_changes_nothing(app, office, token_for, body, field):
    api = token_for(office["staff_a"])
    body = dict(body)
    day = today(app) + timedelta(days=body.pop("ahead")) if "ahead" in body else recent(app, "day_off")
    payload = {"day": day.isoformat(), "hours": 4, "task": "加班", **body}
    payload = {k: v for k, v in payload.items() if not (k == "hours" and v is None)}
    before = db_state(app)
    r = log(api, **payload)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["errors"]["json"], r.get_json()
    assert db_state(app) == before


@pytest.mark.parametrize("body, field", [
    ({"hours": 0}, "hours"), ({"hours": 4, "start_time": "09:00", "end_time": "12:00"}, "hours"),
    ({"start_time": "09:00"}, "end_time"), ({"day": "2026-13-01"}, "day"), ({"task": ""}, "task"),
    ({"ahead": 40}, "day"),
])
def test_bad_edits_name_the_field_and_change_nothing(app, office, token_for, body, field):
    chief = token_for(office["chief_a"])
    ot = log(chief, person_id=office["staff_a"], day=recent(app, "day_off").isoformat(), hours=8,
             task="x").get_json()
    body = dict(body)
    if "ahead" in body:
        body["day"] = (today(app) + timedelta(days=body.pop("ahead"))).isoformat()
    before = db_state(app)
    r = chief.patch(f"/api/care/overtime/{ot['id']}", json=body)
    assert r.status_code == 422 and field in r.get_json()["errors"]["json"], r.get_json()
    assert db_state(app) == before


@pytest.mark.parametrize("body, field", [({}, "confirm"), ({"confirm": "perhaps"}, "confirm"),
                                         ({"confirm": True, "note": "x" * 301}, "note")])
def test_bad_decisions_name_the_field(app, office, token_for, body, field):
    ot = log(token_for(office["staff_a"]), day=recent(app, "day_off").isoformat(), hours=8, task="x").get_json()
    chief = token_for(office["chief_a"])
    before = db_state(app)
    r = chief.post(f"/api/care/overtime/{ot['id']}/decision", json=body)
    assert r.status_code == 422 and field in r.get_json()["errors"]["json"]
    assert db_state(app) == before


def test_unknown_ids_are_404(app, office, hr_api):
    for url in ("/api/care/overtime/999", "/api/care/overtime/0", f"/api/care/overtime/{2**40}"):
        assert hr_api.get(url).status_code == 404
    assert hr_api.post("/api/care/care-items/999/provided", json={}).status_code == 404
    assert hr_api.get("/api/care/care-items?status=lost").status_code == 422
    assert hr_api.get("/api/care/overtime?status=lost").status_code == 422


def test_staff_logs_on_the_page_and_the_leader_confirms(app, client, office, login):
    day = recent(app, "day_off").isoformat()
    login("SA")
    page = client.get("/care/overtime")
    assert page.status_code == 200
    token = csrf_of(page)
    bad = client.post("/care/overtime", data={"csrf_token": token, "person": str(office["staff_a"]), "day": day,
                                              "start_time": "09:00", "end_time": "17:00", "hours": "8",
                                              "task": "值班"})
    assert bad.status_code == 422 and 'id="hours-error"' in bad.get_data(as_text=True)
    missing = client.post("/care/overtime", data={"csrf_token": token, "person": str(office["staff_a"]),
                                                  "day": day, "start_time": "09:00", "task": "值班"})
    assert missing.status_code == 422 and 'id="end_time-error"' in missing.get_data(as_text=True)
    ahead = client.post("/care/overtime", data={"csrf_token": token, "person": str(office["staff_a"]),
                                                "day": (today(app) + timedelta(days=60)).isoformat(),
                                                "hours": "8", "task": "值班"})
    assert ahead.status_code == 422 and 'id="day-error"' in ahead.get_data(as_text=True)
    assert client.post("/care/overtime", data={"day": day, "hours": "8", "task": "x"}).status_code == 400  # CSRF
    ok = client.post("/care/overtime", data={"csrf_token": token, "person": str(office["staff_a"]), "day": day,
                                             "start_time": "09:00", "end_time": "17:00", "task": "值班"})
    assert ok.status_code == 302
    from service.care.models import OvertimeLog
    from service.extensions import db

    with app.app_context():
        ot_id = db.session.scalar(select(OvertimeLog.id))
    login("CA")
    page = client.get("/care/overtime")
    assert f'id="confirm-{ot_id}"' in page.get_data(as_text=True)
    r = client.post(f"/care/overtime/{ot_id}/decision", data={"csrf_token": csrf_of(page),
                                                              f"d{ot_id}-confirm": "1"})
    assert r.status_code == 302
    assert balance(app, office["staff_a"]) == 1
    # Someone else's leader cannot confirm or withdraw it.
    login("CB")
    page = client.get("/care/overtime")
    assert client.post(f"/care/overtime/{ot_id}/decision", data={"csrf_token": csrf_of(page),
                                                                 f"d{ot_id}-confirm": "1"}).status_code == 404
    login("SA")
    page = client.get("/care/")
    assert 'id="my-care-items"' in page.get_data(as_text=True)


def test_hr_marks_items_provided_on_the_page(app, client, office, token_for, login):
    log(token_for(office["chief_a"]), person_id=office["staff_a"], day=recent(app, "working").isoformat(),
        start_time="18:00", end_time="22:00", task="加班")
    login("SA")
    assert client.get("/care/items").status_code == 403
    login("HR1")
    page = client.get("/care/items")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "科员甲" in html
    from service.care.models import CareItem
    from service.extensions import db

    with app.app_context():
        item_id = db.session.scalar(select(CareItem.id).where(CareItem.kind == "meal"))
    r = client.post(f"/care/items/{item_id}/provided", data={"csrf_token": csrf_of(page), f"i{item_id}-note": "盒饭"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(CareItem, item_id).status == "provided"
