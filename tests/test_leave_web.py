"""Leave pages: asking for leave with errors next to the field, approving with CSRF, cancel, the
month grid with the official calendar, the ledger explained, the report."""
from __future__ import annotations

import re
from datetime import date

import pytest

from conftest import csrf_of
from leave_helpers import db_state, set_today


@pytest.fixture
def today(monkeypatch):
    set_today(monkeypatch, date(2026, 1, 5))


def form_of(client):
    page = client.get("/leave/new")
    assert page.status_code == 200
    return csrf_of(page)


def test_ask_for_leave_errors_are_next_to_the_field(app, client, office, login, today):
    login("SA")
    token = form_of(client)
    before = db_state(app)
    r = client.post("/leave/new", data={"csrf_token": token, "kind": "personal", "start_date": "",
                                        "end_date": "2026-03-03"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert re.search(r'id="start_date-error"', html)
    # A kind counted in calendar days refuses half days: the error sits under that checkbox.
    r = client.post("/leave/new", data={"csrf_token": token, "kind": "home_visit", "start_date": "2026-03-02",
                                        "end_date": "2026-03-03", "ends_noon": "y"})
    assert r.status_code == 422 and 'id="ends_noon-error"' in r.get_data(as_text=True)
    # Without the CSRF token nothing happens.
    r = client.post("/leave/new", data={"kind": "personal", "start_date": "2026-03-02", "end_date": "2026-03-03"})
    assert r.status_code in (400, 422)
    assert db_state(app) == before


def test_ask_approve_and_see_the_ledger(app, client, office, login, today):
    login("SA")
    r = client.post("/leave/new", data={"csrf_token": form_of(client), "kind": "annual",
                                        "start_date": "2026-03-02", "end_date": "2026-03-03"})
    assert r.status_code == 302
    mine = client.get("/leave").get_data(as_text=True)
    assert 'id="ledger"' in mine and "10" in mine
    # Overlap: 409, the clash named under the first day.
    r = client.post("/leave/new", data={"csrf_token": form_of(client), "kind": "personal",
                                        "start_date": "2026-03-03", "end_date": "2026-03-03"})
    assert r.status_code == 409 and 'id="start_date-error"' in r.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/leave"))})

    login("CA")
    page = client.get("/leave/approvals")
    html = page.get_data(as_text=True)
    assert "科员甲" in html
    req_id = int(re.search(r'id="decide-(\d+)"', html).group(1))
    # Rejecting without a reason: the error is next to the note field; nothing changes.
    before = db_state(app)
    r = client.post(f"/leave/requests/{req_id}/decide", data={"csrf_token": csrf_of(page), f"r{req_id}-reject": "1"})
    assert r.status_code == 422 and f'id="r{req_id}-note-error"' in r.get_data(as_text=True)
    assert db_state(app) == before
    r = client.post(f"/leave/requests/{req_id}/decide", data={"csrf_token": csrf_of(page), f"r{req_id}-approve": "1"})
    assert r.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/leave"))})
    login("L2")  # the deputy in charge approves last
    page = client.get("/leave/approvals")
    client.post(f"/leave/requests/{req_id}/decide", data={"csrf_token": csrf_of(page), f"r{req_id}-approve": "1"})
    person = client.get(f"/leave/people/{office['staff_a']}").get_data(as_text=True)
    assert "-2" in person  # the taken line in the ledger table


def test_month_grid_marks_holidays_and_leave(app, client, office, hr_api, login, today):
    hr_api.post("/api/leave/requests", json={"person_id": office["staff_a"], "kind": "annual",
                                             "start_date": "2026-02-09", "end_date": "2026-02-13", "record": True})
    login("CA")
    html = client.get(f"/leave/grid?section={office['section_a']}&month=2026-02").get_data(as_text=True)
    assert 'id="grid"' in html and "科员甲" in html
    assert html.count('class="on-leave approved') == 5
    assert "makeup" in html  # Saturday 14 February 2026 is a make-up working day
    html = client.get(f"/leave/grid?section={office['section_a']}&month=2027-02").get_data(as_text=True)
    assert 'class="flash error provisional"' in html
    assert client.get("/leave/grid?section=abc&month=garbage").status_code == 200


def test_report_is_for_hr_and_leaders(app, client, office, hr_api, login, today):
    hr_api.post("/api/leave/allocate", json={"year": 2026})
    login("SA")
    assert client.get("/leave/report").status_code == 403
    assert client.get(f"/leave/people/{office['staff_b']}").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/leave"))})
    login("HR1")
    html = client.get("/leave/report?year=2026").get_data(as_text=True)
    assert "科员乙" in html and "300%" in html
