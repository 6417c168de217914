"""Planning talks in the web app: the month's proposed days, scheduling one (errors next to the
field, nothing saved on a rejected form), then recording the scheduled talk once it took place,
which turns the obligation green."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.test_permissions import db_state

TODAY = date(2026, 11, 20)  # a Friday


@pytest.fixture
def today(monkeypatch):
    import service.talks.api
    import service.talks.web

    def set_today(day: date) -> None:
        monkeypatch.setattr(service.talks.api, "unit_today", lambda: day)
        monkeypatch.setattr(service.talks.web, "unit_today", lambda: day)

    set_today(TODAY)
    return set_today


def row_form(page: str, person_id: int) -> dict:
    csrf = re.search(r'name="p%d-csrf_token" type="hidden" value="([^"]+)"' % person_id, page).group(1)
    return {"row": str(person_id), f"p{person_id}-csrf_token": csrf, f"p{person_id}-day": "2026-11-23",
            f"p{person_id}-time": "10:30", f"p{person_id}-duration_minutes": "45", f"p{person_id}-place": "小会议室",
            f"p{person_id}-kind": "routine"}


def test_proposals_page_lists_open_talks_on_working_days(app, client, office, login, today):
    login("L2")
    r = client.get("/talks/proposals")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    people = [int(x) for x in re.findall(r'class="card proposal" data-person="(\d+)"', page)]
    assert set(people) == {office["staff_a"], office["chief_a"]}
    proposed = re.findall(r'id="p\d+-day" name="p\d+-day"[^>]*value="([\d-]+)"', page)
    assert proposed and all(date.fromisoformat(d).weekday() < 5 and date.fromisoformat(d) >= TODAY for d in proposed)


def test_staff_have_no_planning_page(app, client, office, login, today):
    login("SA")
    assert client.get("/talks/proposals").status_code == 403


@pytest.mark.parametrize("change,field", [
    ({"place": ""}, "place"), ({"day": ""}, "day"), ({"day": "2026-11-19"}, "day"), ({"day": "nope"}, "day"),
    ({"time": ""}, "time"), ({"time": "25:99"}, "time"), ({"duration_minutes": "0"}, "duration_minutes"),
    ({"kind": "gossip"}, "kind"),
])
def test_scheduling_errors_next_to_the_field_and_nothing_saved(app, client, office, login, today, change, field):
    login("L2")
    sa = office["staff_a"]
    data = row_form(client.get("/talks/proposals").get_data(as_text=True), sa)
    data.update({f"p{sa}-{k}": v for k, v in change.items()})
    before = db_state(app)
    r = client.post("/talks/proposals", data=data)
    assert r.status_code == 422
    assert f'id="p{sa}-{field}-error"' in r.get_data(as_text=True)
    assert db_state(app) == before


def test_without_csrf_nothing_is_scheduled(app, client, office, login, today):
    login("L2")
    sa = office["staff_a"]
    data = row_form(client.get("/talks/proposals").get_data(as_text=True), sa)
    data.pop(f"p{sa}-csrf_token")
    before = db_state(app)
    assert client.post("/talks/proposals", data=data).status_code in (400, 422)
    assert db_state(app) == before


def test_schedule_then_record_once_held_turns_the_obligation_green(app, client, office, login, today):
    from service.extensions import db
    from service.talks.models import Talk

    login("L2")
    sa = office["staff_a"]
    r = client.post("/talks/proposals", data=row_form(client.get("/talks/proposals").get_data(as_text=True), sa))
    assert r.status_code == 302, r.get_data(as_text=True)
    talk_id = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    with app.app_context():
        talk = db.session.get(Talk, talk_id)
        assert (talk.status, talk.held_at.isoformat(), talk.duration_minutes) == ("scheduled", "2026-11-23T10:30:00", 45)
        db.session.remove()
    page = client.get(f"/talks/{talk_id}").get_data(as_text=True)
    assert 'id="mark-held"' not in page  # not before the day
    # A scheduled talk does not satisfy the obligation; it is still open on the dashboard.
    dash = client.get("/talks/").get_data(as_text=True)
    assert 'data-person="%d" data-period="2026-11-01"' % sa in dash
    today(date(2026, 11, 23))
    page = client.get(f"/talks/{talk_id}")
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert 'id="mark-held"' in page.get_data(as_text=True)
    r = client.post(f"/talks/{talk_id}/held", data={"csrf_token": csrf})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/talks/{talk_id}/edit")
    with app.app_context():
        assert db.session.scalar(select(Talk.status).where(Talk.id == talk_id)) == "held"
        db.session.remove()
    dash = client.get("/talks/").get_data(as_text=True)
    assert 'data-person="%d" data-period="2026-11-01"' % sa not in dash
    # Held already: the action is refused and changes nothing.
    before = db_state(app)
    assert client.post(f"/talks/{talk_id}/held", data={"csrf_token": csrf}).status_code == 400
    assert db_state(app) == before


def test_only_the_talker_marks_a_talk_held(app, client, office, login, today, token_for):
    login("L2")
    sa = office["staff_a"]
    r = client.post("/talks/proposals", data=row_form(client.get("/talks/proposals").get_data(as_text=True), sa))
    talk_id = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                                                         client.get("/").get_data(as_text=True)).group(1)})
    today(date(2026, 11, 23))
    login("SA")
    page = client.get(f"/talks/{talk_id}")
    assert page.status_code == 200 and 'id="mark-held"' not in page.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    before = db_state(app)
    assert client.post(f"/talks/{talk_id}/held", data={"csrf_token": csrf}).status_code == 403
    assert db_state(app) == before
