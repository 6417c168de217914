"""Life events: kinds as unit data, a report creates tasks for the responsible leaders (red / blue /
green like hospital visits), the leader closes them with a note, reminders through the outbox."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from conftest import csrf_of
from test_bad_input import db_state


def today(app):
    from service.clock import unit_today

    with app.app_context():
        return unit_today()


def kinds(api):
    return {k["code"]: k for k in api.get("/api/care/event-kinds").get_json()}


def report(api, person_id, kind_id, occurred_on, **extra):
    return api.post("/api/care/life-events", json={"person_id": person_id, "kind_id": kind_id,
                                                   "occurred_on": occurred_on, **extra})


def outbox(app, prefix):
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        rows = [(r.dedupe_key, r.to_address, r.subject) for r in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix)).order_by(OutboxMessage.id))]
        db.session.remove()
        return rows


def test_default_kinds_and_hr_extends_them(app, office, hr_api, token_for):
    found = kinds(hr_api)
    assert {c: (k["name"], k["action"], k["due_days"]) for c, k in found.items()} == {
        "wedding": ("结婚", "card", 7), "birth": ("生育", "visit", 14), "bereavement": ("丧事", "condolence", 3)}
    r = hr_api.post("/api/care/event-kinds", json={"code": "retirement", "name": "退休", "name_en": "Retirement",
                                                   "action": "visit", "due_days": 10, "allowance_yuan": 500})
    assert r.status_code == 201, r.get_json()
    assert "retirement" in kinds(token_for(office["staff_a"]))
    staff = token_for(office["staff_a"])
    before = db_state(app)
    dup = hr_api.post("/api/care/event-kinds", json={"code": "wedding", "name": "x", "name_en": "x", "action": "card"})
    assert dup.status_code == 409 and "code" in dup.get_json()["errors"]["json"]
    assert staff.post("/api/care/event-kinds", json={"code": "x", "name": "x", "name_en": "x",
                                                     "action": "card"}).status_code == 403
    assert db_state(app) == before
    r = hr_api.patch(f"/api/care/event-kinds/{found['wedding']['id']}", json={"allowance_yuan": 200})
    assert r.status_code == 200 and r.get_json()["allowance_yuan"] == 200


@pytest.mark.parametrize("body, field", [
    ({"code": "Bad Code"}, "code"), ({"code": ""}, "code"), ({"name": ""}, "name"),
    ({"action": "party"}, "action"), ({"due_days": -1}, "due_days"), ({"due_days": "7"}, "due_days"),
    ({"allowance_yuan": -5}, "allowance_yuan"), ({"name_en": "x" * 81}, "name_en"),
])
def test_bad_kinds_name_the_field_and_change_nothing(app, office, hr_api, body, field):
    kinds(hr_api)  # the defaults are written on first use
    before = db_state(app)
    r = hr_api.post("/api/care/event-kinds", json={"code": "new_kind", "name": "新", "name_en": "New",
                                                   "action": "card", **body})
    assert r.status_code == 422 and field in r.get_json()["errors"]["json"], r.get_json()
    assert db_state(app) == before


def test_a_report_creates_tasks_for_the_responsible_leaders_who_are_told(app, office, token_for):
    staff = token_for(office["staff_a"])
    bereavement = kinds(staff)["bereavement"]["id"]
    day = today(app) - timedelta(days=1)
    r = report(staff, office["staff_a"], bereavement, day.isoformat(), note="父亲去世")
    assert r.status_code == 201, r.get_json()
    event = r.get_json()
    assert r.headers["Location"].endswith(f"/api/care/life-events/{event['id']}")
    assert event["kind_code"] == "bereavement"
    # The hospital-visit rank rule: a staff member's section chief and deputy in charge.
    assert sorted(t["leader_id"] for t in event["tasks"]) == sorted([office["chief_a"], office["deputy"]])
    assert {(t["action"], t["due_on"], t["status"]) for t in event["tasks"]} == {
        ("condolence", (today(app) + timedelta(days=3)).isoformat(), "blue")}
    assert sorted(a for _k, a, _s in outbox(app, "event-task:")) == ["ca@example.org", "l2@example.org"]
    assert all("丧事" in subject for _k, _a, subject in outbox(app, "event-task:"))
    # The same event twice: refused, nothing more created.
    again = report(staff, office["staff_a"], bereavement, day.isoformat())
    assert again.status_code == 409 and "occurred_on" in again.get_json()["errors"]["json"]
    # A wedding ahead: due counted from the day itself.
    wedding = kinds(staff)["wedding"]["id"]
    ahead = today(app) + timedelta(days=20)
    r = report(token_for(office["chief_a"]), office["staff_a"], wedding, ahead.isoformat())
    assert {t["due_on"] for t in r.get_json()["tasks"]} == {(ahead + timedelta(days=7)).isoformat()}


def test_who_may_report_and_see(app, office, token_for, hr_api):
    wedding = kinds(hr_api)["wedding"]["id"]
    day = today(app).isoformat()
    staff_a, staff_b, chief_b = (token_for(office[k]) for k in ("staff_a", "staff_b", "chief_b"))
    read_only = token_for(office["staff_a"], "read")
    before = db_state(app)
    assert report(staff_b, office["staff_a"], wedding, day).status_code == 403
    assert report(chief_b, office["staff_a"], wedding, day).status_code == 403
    assert report(read_only, office["staff_a"], wedding, day).status_code == 403
    assert db_state(app) == before
    event = report(hr_api, office["staff_a"], wedding, day).get_json()
    assert staff_b.get(f"/api/care/life-events/{event['id']}").status_code == 404
    assert staff_a.get(f"/api/care/life-events/{event['id']}").status_code == 200
    assert staff_b.get("/api/care/life-events").get_json() == []
    assert len(token_for(office["deputy"]).get("/api/care/life-events").get_json()) == 1
    # The head's own event goes to HR (nobody above), as for hospital stays.
    head_event = report(hr_api, office["head"], wedding, day).get_json()
    assert [t["leader_id"] for t in head_event["tasks"]] == [office["hr"]]


@pytest.mark.parametrize("body, field", [
    ({"kind_id": 999}, "kind_id"), ({"kind_id": "wedding"}, "kind_id"), ({"kind_id": None}, "kind_id"),
    ({"person_id": 999}, "person_id"), ({"person_id": 2**40}, "person_id"),
    ({"occurred_on": "2026-02-30"}, "occurred_on"), ({"occurred_on": None}, "occurred_on"),
    ({"ahead": 90}, "occurred_on"), ({"ahead": -400}, "occurred_on"),
    ({"note": "x" * 301}, "note"), ({"note": "a\x00b"}, "note"),
])
def test_bad_reports_name_the_field_and_change_nothing(app, office, hr_api, body, field):
    wedding = kinds(hr_api)["wedding"]["id"]
    body = dict(body)
    if "ahead" in body:
        body["occurred_on"] = (today(app) + timedelta(days=body.pop("ahead"))).isoformat()
    payload = {"person_id": office["staff_a"], "kind_id": wedding, "occurred_on": today(app).isoformat(), **body}
    before = db_state(app)
    r = hr_api.post("/api/care/life-events", json=payload)
    assert r.status_code == 422 and field in r.get_json()["errors"]["json"], r.get_json()
    assert db_state(app) == before


def test_an_inactive_kind_cannot_be_reported(app, office, hr_api):
    birth = kinds(hr_api)["birth"]["id"]
    hr_api.patch(f"/api/care/event-kinds/{birth}", json={"active": False})
    r = report(hr_api, office["staff_a"], birth, today(app).isoformat())
    assert r.status_code == 422 and "kind_id" in r.get_json()["errors"]["json"]


def test_the_leader_closes_the_task_with_a_note(app, office, hr_api, token_for):
    event = report(hr_api, office["staff_a"], kinds(hr_api)["birth"]["id"], today(app).isoformat()).get_json()
    task_of = {t["leader_id"]: t["id"] for t in event["tasks"]}
    chief, deputy = token_for(office["chief_a"]), token_for(office["deputy"])
    assert [t["id"] for t in chief.get("/api/care/event-tasks?open=true").get_json()] == [task_of[office["chief_a"]]]
    before = db_state(app)
    for body, field in (({}, "note"), ({"note": ""}, "note"), ({"note": "   "}, "note"), ({"note": "x" * 2001}, "note")):
        r = chief.post(f"/api/care/event-tasks/{task_of[office['chief_a']]}/close", json=body)
        assert r.status_code == 422 and field in r.get_json()["errors"]["json"], (body, r.get_json())
    assert chief.post(f"/api/care/event-tasks/{task_of[office['deputy']]}/close",
                      json={"note": "x"}).status_code == 403
    assert hr_api.post(f"/api/care/event-tasks/{task_of[office['deputy']]}/close",
                       json={"note": "x"}).status_code == 403
    assert db_state(app) == before
    r = chief.post(f"/api/care/event-tasks/{task_of[office['chief_a']]}/close", json={"note": "带去贺礼，看望母子"})
    assert r.status_code == 200 and r.get_json()["status"] == "green"
    again = chief.post(f"/api/care/event-tasks/{task_of[office['chief_a']]}/close", json={"note": "again"})
    assert again.status_code == 409 and "note" in again.get_json()["errors"]["json"]
    assert deputy.get("/api/care/event-tasks").get_json()[0]["status"] == "blue"
    assert len(hr_api.get("/api/care/event-tasks").get_json()) == 2
    assert hr_api.post("/api/care/event-tasks/999/close", json={"note": "x"}).status_code == 404


def test_overdue_tasks_are_red_and_reminded_once_per_working_day(app, office, hr_api, token_for):
    from service.care.models import EventTask
    from service.extensions import db
    from workers.care import remind_life_event_tasks

    event = report(hr_api, office["staff_a"], kinds(hr_api)["wedding"]["id"], today(app).isoformat()).get_json()
    with app.app_context():
        for task in db.session.scalars(select(EventTask)):
            task.due_on = date(2026, 6, 10)
        db.session.commit()
    assert {t["status"] for t in token_for(office["chief_a"]).get("/api/care/event-tasks").get_json()} == {"red"}
    with app.app_context():
        assert remind_life_event_tasks("2026-06-09") == {"reminders": 0}
        assert remind_life_event_tasks("2026-06-10") == {"reminders": 2}
        assert remind_life_event_tasks("2026-06-10") == {"reminders": 0}
        assert remind_life_event_tasks("2026-06-13") == {"reminders": 0}  # Saturday
    chief_task = next(t["id"] for t in event["tasks"] if t["leader_id"] == office["chief_a"])
    token_for(office["chief_a"]).post(f"/api/care/event-tasks/{chief_task}/close", json={"note": "贺卡已送"})
    with app.app_context():
        assert remind_life_event_tasks("2026-06-15") == {"reminders": 1}
    assert [k for k, _a, _s in outbox(app, "event-reminder:")][-1].endswith(":2026-06-15")


def test_report_and_close_on_the_pages(app, client, office, hr_api, login):
    wedding = kinds(hr_api)["wedding"]["id"]
    login("SA")
    page = client.get("/care/events/report")
    assert page.status_code == 200
    token = csrf_of(page)
    bad = client.post("/care/events/report", data={"csrf_token": token, "person": str(office["staff_a"]),
                                                   "kind": str(wedding), "occurred_on": "2026-02-30"})
    assert bad.status_code == 422 and 'id="occurred_on-error"' in bad.get_data(as_text=True)
    far = client.post("/care/events/report", data={"csrf_token": token, "person": str(office["staff_a"]),
                                                   "kind": str(wedding),
                                                   "occurred_on": (today(app) + timedelta(days=90)).isoformat()})
    assert far.status_code == 422 and 'id="occurred_on-error"' in far.get_data(as_text=True)
    other = client.post("/care/events/report", data={"csrf_token": token, "person": str(office["staff_b"]),
                                                     "kind": str(wedding), "occurred_on": today(app).isoformat()})
    assert other.status_code == 422  # not a choice for this reporter
    ok = client.post("/care/events/report", data={"csrf_token": token, "person": str(office["staff_a"]),
                                                  "kind": str(wedding), "occurred_on": today(app).isoformat(),
                                                  "note": "国庆结婚"})
    assert ok.status_code == 302
    from service.care.models import EventTask
    from service.extensions import db

    with app.app_context():
        task_id = db.session.scalar(select(EventTask.id).where(EventTask.leader_id == office["chief_a"]))
    login("CA")
    page = client.get("/care/")
    assert f'id="event-task-{task_id}"' in page.get_data(as_text=True)
    token = csrf_of(page)
    r = client.post(f"/care/event-tasks/{task_id}/close", data={"csrf_token": token, f"e{task_id}-note": ""})
    assert r.status_code == 422 and f'id="e{task_id}-note-error"' in r.get_data(as_text=True)
    r = client.post(f"/care/event-tasks/{task_id}/close", data={"csrf_token": token, f"e{task_id}-note": "送上贺卡"})
    assert r.status_code == 302
    assert client.post(f"/care/event-tasks/{task_id}/close", data={f"e{task_id}-note": "x"}).status_code == 400
