"""Hospital visits: reporting, rank rules, deadlines and colours, closing, the allowance cap,
reminders through the outbox on working days, and the pages."""
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


def add_relative(app, person_id, relation, name="李大爷"):
    from service.extensions import db
    from service.people.models import Relative

    with app.app_context():
        r = Relative(person_id=person_id, name=name, relation=relation)
        db.session.add(r)
        db.session.commit()
        return r.id


def report(api, person_id, **extra):
    body = {"person_id": person_id, "admitted_on": extra.pop("admitted_on", None) or "2026-06-01",
            "hospital": "市第一人民医院", **extra}
    return api.post("/api/care/hospital-cases", json=body)


def outbox(app, prefix):
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        keys = [(r.dedupe_key, r.to_address) for r in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix)).order_by(OutboxMessage.id))]
        db.session.remove()
        return keys


def test_hr_reports_a_stay_and_the_section_chief_and_deputy_get_tasks(app, office, hr_api):
    r = report(hr_api, office["staff_a"], admitted_on=today(app).isoformat())
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert r.headers["Location"].endswith(f"/api/care/hospital-cases/{case['id']}")
    assert case["visit_required"] is True
    leaders = sorted(t["leader_id"] for t in case["tasks"])
    assert leaders == sorted([office["chief_a"], office["deputy"]])
    due = (today(app) + timedelta(days=3)).isoformat()  # default: three days
    assert {t["due_on"] for t in case["tasks"]} == {due}
    assert {t["status"] for t in case["tasks"]} == {"blue"}
    assert sorted(a for _k, a in outbox(app, "visit-task:")) == ["ca@example.org", "l2@example.org"]


@pytest.mark.parametrize("patient, expected", [
    ("chief_a", ["deputy"]), ("deputy", ["head"]), ("head", ["hr"]),
    ("staff_b", ["chief_b"]),  # nobody oversees section B: the chief alone
])
def test_rank_rule_decides_who_visits(app, office, hr_api, patient, expected):
    r = report(hr_api, office[patient])
    assert r.status_code == 201, r.get_json()
    assert sorted(t["leader_id"] for t in r.get_json()["tasks"]) == sorted(office[k] for k in expected)


def test_rank_rule_is_data_hr_can_change(app, office, hr_api):
    r = hr_api.patch("/api/care/settings", json={"visit_rules": {"staff": ["head"], "chief": ["head"],
                                                                  "deputy": ["head"], "head": ["hr"]}})
    assert r.status_code == 200
    r = report(hr_api, office["staff_a"])
    assert [t["leader_id"] for t in r.get_json()["tasks"]] == [office["head"]]
    bad = hr_api.patch("/api/care/settings", json={"visit_rules": {"staff": ["the janitor"]}})
    assert bad.status_code == 422 and "visit_rules" in bad.get_json()["errors"]["json"]


def test_a_short_stay_needs_no_visit(app, office, hr_api):
    r = report(hr_api, office["staff_a"], admitted_on="2026-06-01", discharged_on="2026-06-03")
    assert r.status_code == 201 and r.get_json()["visit_required"] is False and r.get_json()["tasks"] == []
    r = report(hr_api, office["staff_a"], admitted_on="2026-06-01", discharged_on="2026-06-07")  # a week
    assert r.get_json()["visit_required"] is True


def test_an_immediate_relative_from_the_register(app, office, hr_api):
    parent = add_relative(app, office["staff_a"], "parent")
    sibling = add_relative(app, office["staff_a"], "sibling", "李小妹")
    other_persons = add_relative(app, office["staff_b"], "parent", "王大妈")
    r = report(hr_api, office["staff_a"], relative_id=parent, out_of_town=True)
    assert r.status_code == 201
    assert r.get_json()["relation"] == "parent" and r.get_json()["relative_name"] == "李大爷"
    before = db_state(app)
    for relative in (sibling, other_persons):
        r = report(hr_api, office["staff_a"], relative_id=relative)
        assert r.status_code == 422 and list(r.get_json()["errors"]["json"]) == ["relative_id"]
    assert db_state(app) == before
    # Units that add in-laws or siblings say so in the settings.
    hr_api.patch("/api/care/settings", json={"visit_relations": ["parent", "spouse", "child", "sibling"]})
    assert report(hr_api, office["staff_a"], relative_id=sibling).status_code == 201


def test_who_may_report(app, office, token_for):
    assert report(token_for(office["staff_a"]), office["staff_a"]).status_code == 201  # oneself
    assert report(token_for(office["staff_a"]), office["staff_b"]).status_code == 403
    assert report(token_for(office["chief_b"]), office["staff_a"]).status_code == 403
    assert report(token_for(office["chief_a"]), office["staff_a"]).status_code == 201
    assert report(token_for(office["chief_a"], "read"), office["staff_a"]).status_code == 403
    # Staff see their own cases only; the leader sees the people they lead.
    assert len(token_for(office["staff_b"]).get("/api/care/hospital-cases").get_json()) == 0
    assert len(token_for(office["deputy"]).get("/api/care/hospital-cases").get_json()) == 2


@pytest.mark.parametrize("body, field", [
    ({"admitted_on": "2026-13-01"}, "admitted_on"),
    ({"admitted_on": None}, "admitted_on"),
    ({"hospital": ""}, "hospital"),
    ({"hospital": "x" * 121}, "hospital"),
    ({"hospital": "a\x00b"}, "hospital"),
    ({"person_id": "seven"}, "person_id"),
    ({"person_id": 2**31}, "person_id"),
    ({"person_id": 999}, "person_id"),
    ({"relative_id": 2**40}, "relative_id"),
    ({"discharged_on": "2026-05-01"}, "discharged_on"),
    ({"out_of_town": "perhaps"}, "out_of_town"),
])
def test_bad_reports_name_the_field_and_change_nothing(app, office, hr_api, body, field):
    before = db_state(app)
    payload = {"person_id": office["staff_a"], "admitted_on": "2026-06-01", "hospital": "协和", **body}
    r = hr_api.post("/api/care/hospital-cases", json=payload)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["errors"]["json"]
    assert db_state(app) == before


def tasks_of(app, api, leader):
    return {t["leader_id"]: t for t in api.get("/api/care/visit-tasks").get_json()}


def test_closing_a_visit_with_note_and_allowance_and_the_yearly_cap(app, office, hr_api, token_for):
    case = report(hr_api, office["staff_a"]).get_json()
    task_of = {t["leader_id"]: t["id"] for t in case["tasks"]}
    chief, deputy = token_for(office["chief_a"]), token_for(office["deputy"])

    r = chief.post(f"/api/care/visit-tasks/{task_of[office['chief_a']]}/close",
                   json={"outcome": "visited", "note": "带了水果", "allowance_yuan": 200})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "green" and r.get_json()["allowance_yuan"] == 200

    # Another leader's task, a second close, a phone call for an in-town stay: refused.
    assert chief.post(f"/api/care/visit-tasks/{task_of[office['deputy']]}/close",
                      json={"outcome": "visited"}).status_code == 403
    again = chief.post(f"/api/care/visit-tasks/{task_of[office['chief_a']]}/close", json={"outcome": "visited"})
    assert again.status_code == 409 and "outcome" in again.get_json()["errors"]["json"]
    phoned = deputy.post(f"/api/care/visit-tasks/{task_of[office['deputy']]}/close", json={"outcome": "phoned"})
    assert phoned.status_code == 422 and "outcome" in phoned.get_json()["errors"]["json"]

    before = db_state(app)
    over = deputy.post(f"/api/care/visit-tasks/{task_of[office['deputy']]}/close",
                       json={"outcome": "visited", "allowance_yuan": 150}, headers={"Accept-Language": "en"})
    assert over.status_code == 409
    body = over.get_json()
    assert "300" in body["message"] and "100 left" in body["message"]
    assert "allowance_yuan" in body["errors"]["json"]
    assert db_state(app) == before

    # A second stay in the same year shares the cap.
    ok = deputy.post(f"/api/care/visit-tasks/{task_of[office['deputy']]}/close",
                     json={"outcome": "visited", "allowance_yuan": 100})
    assert ok.status_code == 200
    second = report(hr_api, office["staff_a"]).get_json()
    t2 = next(t["id"] for t in second["tasks"] if t["leader_id"] == office["chief_a"])
    assert chief.post(f"/api/care/visit-tasks/{t2}/close",
                      json={"outcome": "visited", "allowance_yuan": 1}).status_code == 409
    assert chief.post(f"/api/care/visit-tasks/{t2}/close", json={"outcome": "visited"}).status_code == 200

    # The cap is a unit setting.
    hr_api.patch("/api/care/settings", json={"allowance_cap_yuan": 1000})
    third = report(hr_api, office["staff_a"]).get_json()
    t3 = next(t["id"] for t in third["tasks"] if t["leader_id"] == office["chief_a"])
    assert chief.post(f"/api/care/visit-tasks/{t3}/close",
                      json={"outcome": "visited", "allowance_yuan": 700}).status_code == 200


def test_out_of_town_allows_a_phone_call_or_a_proxy(app, office, hr_api, token_for):
    case = report(hr_api, office["staff_a"], out_of_town=True).get_json()
    task_of = {t["leader_id"]: t["id"] for t in case["tasks"]}
    assert token_for(office["chief_a"]).post(f"/api/care/visit-tasks/{task_of[office['chief_a']]}/close",
                                             json={"outcome": "phoned"}).status_code == 200
    assert token_for(office["deputy"]).post(f"/api/care/visit-tasks/{task_of[office['deputy']]}/close",
                                            json={"outcome": "proxy", "note": "工会代为看望"}).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"outcome": "hug"}, "outcome"), ({}, "outcome"), ({"outcome": "visited", "allowance_yuan": -1}, "allowance_yuan"),
    ({"outcome": "visited", "allowance_yuan": "100"}, "allowance_yuan"),
    ({"outcome": "visited", "allowance_yuan": 2**40}, "allowance_yuan"),
    ({"outcome": "visited", "note": "x" * 2001}, "note"),
])
def test_bad_closings_name_the_field_and_change_nothing(app, office, hr_api, token_for, body, field):
    case = report(hr_api, office["staff_a"]).get_json()
    task = next(t["id"] for t in case["tasks"] if t["leader_id"] == office["chief_a"])
    chief = token_for(office["chief_a"])
    before = db_state(app)
    r = chief.post(f"/api/care/visit-tasks/{task}/close", json=body)
    assert r.status_code == 422 and field in r.get_json()["errors"]["json"], r.get_json()
    assert db_state(app) == before


def set_due(app, task_id, due):
    from service.care.models import VisitTask
    from service.extensions import db

    with app.app_context():
        db.session.get(VisitTask, task_id).due_on = due
        db.session.commit()


def test_overdue_tasks_are_red_and_reminded_once_per_working_day(app, office, hr_api, token_for):
    from workers.care import remind_visit_tasks

    case = report(hr_api, office["staff_a"]).get_json()
    task_of = {t["leader_id"]: t["id"] for t in case["tasks"]}
    set_due(app, task_of[office["chief_a"]], date(2026, 6, 10))
    set_due(app, task_of[office["deputy"]], date(2026, 6, 10))
    assert {t["status"] for t in token_for(office["chief_a"]).get("/api/care/visit-tasks").get_json()} == {"red"}
    with app.app_context():
        assert remind_visit_tasks("2026-06-09") == {"reminders": 0}  # not due yet
        assert remind_visit_tasks("2026-06-10") == {"reminders": 2}  # due today
        assert remind_visit_tasks("2026-06-10") == {"reminders": 0}  # a rerun
        assert remind_visit_tasks("2026-06-13") == {"reminders": 0}  # Saturday
    token_for(office["deputy"]).post(f"/api/care/visit-tasks/{task_of[office['deputy']]}/close",
                                     json={"outcome": "visited"})
    with app.app_context():
        assert remind_visit_tasks("2026-06-15") == {"reminders": 1}  # overdue, still open
    assert outbox(app, "visit-reminder:") == [
        (f"visit-reminder:{task_of[office['chief_a']]}:2026-06-10", "ca@example.org"),
        (f"visit-reminder:{task_of[office['deputy']]}:2026-06-10", "l2@example.org"),
        (f"visit-reminder:{task_of[office['chief_a']]}:2026-06-15", "ca@example.org")]


def test_leader_closes_on_the_care_page_with_the_cap_error_next_to_the_field(app, client, office, hr_api, login):
    hr_api.patch("/api/care/settings", json={"allowance_cap_yuan": 100})
    case = report(hr_api, office["staff_a"]).get_json()
    task = next(t["id"] for t in case["tasks"] if t["leader_id"] == office["chief_a"])
    login("CA")
    page = client.get("/care/")
    assert page.status_code == 200 and f'id="task-{task}"' in page.get_data(as_text=True)
    token = csrf_of(page)
    r = client.post(f"/care/tasks/{task}/close", data={"csrf_token": token, f"t{task}-outcome": "visited",
                                                        f"t{task}-allowance_yuan": "500", f"t{task}-note": "x"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f't{task}-allowance_yuan-error' in html
    r = client.post(f"/care/tasks/{task}/close", data={"csrf_token": token, f"t{task}-outcome": "visited",
                                                        f"t{task}-allowance_yuan": "100", f"t{task}-note": "慰问"})
    assert r.status_code == 302
    assert client.post(f"/care/tasks/{task}/close", data={f"t{task}-outcome": "visited"}).status_code == 400  # no CSRF


def test_report_form_and_hr_calendar(app, client, office, login):
    parent = add_relative(app, office["staff_a"], "parent")
    login("HR1")
    page = client.get("/care/report")
    assert page.status_code == 200
    token = csrf_of(page)
    bad = client.post("/care/report", data={"csrf_token": token, "patient": str(office["staff_a"]),
                                            "admitted_on": "2026-06-05", "discharged_on": "2026-06-01",
                                            "hospital": "协和"})
    assert bad.status_code == 422 and 'id="discharged_on-error"' in bad.get_data(as_text=True)
    ok = client.post("/care/report", data={"csrf_token": token, "patient": f"{office['staff_a']}:{parent}",
                                           "admitted_on": today(app).isoformat(), "hospital": "协和"})
    assert ok.status_code == 302
    cal = client.get(f"/care/calendar?month={today(app):%Y-%m}")
    assert cal.status_code == 200 and "李大爷" in cal.get_data(as_text=True)
    assert client.get("/care/calendar?month=garbage").status_code == 200
    login("SA")
    assert client.get("/care/calendar").status_code == 403
