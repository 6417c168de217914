"""HR's health-check pages: open a campaign with its clinic days (errors next to the field, nothing
saved), decide swap requests (a full slot refuses the second), mark attendance (not before the day;
a miss books the person again). Staff see none of it."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from conftest import csrf_of
from test_bad_input import db_state
from test_care_healthcheck import _appointment, _next_working_days, assign, open_campaign, slots


def form(csrf, **over):
    data = {"csrf_token": csrf, "name": "2026年度体检", "year": "2026", "section_share": "3/10",
            "days": "2026-06-08 4 4\n2026-06-10 10\n", "notice": "请空腹前往"}
    data.update(over)
    return data


def test_hr_opens_a_campaign_through_the_form(app, client, office, login):
    from service.care.models import HealthCheckCampaign
    from service.extensions import db

    login("HR1")
    page = client.get("/care/campaigns/")
    assert page.status_code == 200
    r = client.post("/care/campaigns/", data=form(csrf_of(page)))
    assert r.status_code == 302, r.get_data(as_text=True)
    with app.app_context():
        c = db.session.scalars(select(HealthCheckCampaign)).one()
        days = sorted((d.day.isoformat(), d.capacity_am, d.capacity_pm, d.capacity_day) for d in c.days)
        assert (c.name, c.year, c.section_share, c.notice) == ("2026年度体检", 2026, "3/10", "请空腹前往")
        db.session.remove()
    assert days == [("2026-06-08", 4, 4, 0), ("2026-06-10", 0, 0, 10)]
    shown = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'data-day="2026-06-08"' in shown and "0 / 4" in shown
    assert 'id="hc-campaigns"' in client.get("/care/").get_data(as_text=True)


@pytest.mark.parametrize("change,field", [
    ({"days": "2026-13-01 4 4"}, "days"), ({"days": "2026-06-06 4 4"}, "days"),  # not a date; a Saturday
    ({"days": "2026-06-08 4 4\n2026-06-08 5"}, "days"), ({"days": "2026-06-08 four"}, "days"),
    ({"days": "2026-06-08 0 0"}, "days"), ({"days": "2026-06-08 1 2 3"}, "days"), ({"days": ""}, "days"),
    ({"days": "2026-06-08 99999"}, "days"), ({"section_share": "2"}, "section_share"),
    ({"section_share": "abc"}, "section_share"), ({"name": ""}, "name"), ({"year": "abc"}, "year"),
    ({"year": "1999"}, "year"), ({"name": "x" * 121}, "name"),
])
def test_campaign_form_errors_next_to_the_field_and_nothing_saved(app, client, office, login, change, field):
    login("HR1")
    page = client.get("/care/campaigns/")
    before = db_state(app)
    r = client.post("/care/campaigns/", data=form(csrf_of(page), **change))
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.get_data(as_text=True)
    assert db_state(app) == before


def test_a_bad_line_is_named_by_its_number(app, client, office, login):
    login("HR1")
    page = client.get("/care/campaigns/")
    r = client.post("/care/campaigns/", data=form(csrf_of(page), days="2026-06-08 4 4\n2026-06-06 3 3"))
    error = re.search(r'id="days-error">([^<]+)<', r.get_data(as_text=True)).group(1)
    assert error == "第2行：2026-06-06不是工作日。"  # HR1's language is zh_CN


def test_staff_see_no_campaign_page(app, client, office, login, hr_api):
    campaign = open_campaign(hr_api)
    login("SA")
    csrf = csrf_of(client.get("/care/"))
    before = db_state(app)
    assert client.get("/care/campaigns/").status_code == 403
    assert client.get(f"/care/campaigns/{campaign}").status_code == 403
    assert client.post("/care/campaigns/", data=form(csrf)).status_code == 403
    assert client.post(f"/care/campaigns/{campaign}/assign", data={"csrf_token": csrf}).status_code == 403
    assert db_state(app) == before
    assert 'id="hc-campaigns"' not in client.get("/care/").get_data(as_text=True)


def test_swap_requests_decided_on_the_page(app, client, office, login, hr_api, token_for):
    d1, d2 = _next_working_days(2)
    days = [{"day": d1.isoformat(), "capacity_am": 10}, {"day": d2.isoformat(), "capacity_am": 1, "capacity_pm": 1}]
    campaign = open_campaign(hr_api, days=days, section_share="1")
    assign(app, campaign, on=date.today().isoformat())
    swaps = {}
    for who in ("staff_a", "staff_b"):
        a = _appointment(hr_api, campaign, office[who])
        r = token_for(office[who]).post(f"/api/care/appointments/{a['id']}/swap-requests",
                                        json={"wanted_day": d2.isoformat(), "wanted_half": "PM", "reason": "出差"})
        assert r.status_code == 201, r.get_json()
        swaps[who] = r.get_json()["id"]
    login("HR1")
    page = client.get(f"/care/campaigns/{campaign}")
    text = page.get_data(as_text=True)
    assert f'id="swap-{swaps["staff_a"]}"' in text and f'id="swap-{swaps["staff_b"]}"' in text
    r = client.post(f"/care/campaigns/swaps/{swaps['staff_a']}", data={"csrf_token": csrf_of(page), "approve": "1"})
    assert r.status_code == 302
    assert slots(app, campaign)[office["staff_a"]][:2] == (d2, "PM")
    # The one PM place is taken now: approving the second request is refused and changes nothing.
    before = db_state(app)
    r = client.post(f"/care/campaigns/swaps/{swaps['staff_b']}", data={"csrf_token": csrf_of(page), "approve": "1"})
    assert r.status_code == 409 and f'id="swap-{swaps["staff_b"]}-error"' in r.get_data(as_text=True)
    assert db_state(app) == before
    r = client.post(f"/care/campaigns/swaps/{swaps['staff_b']}", data={"csrf_token": csrf_of(page), "reject": "1"})
    assert r.status_code == 302
    assert slots(app, campaign)[office["staff_b"]][:2] == (d1, "AM")
    assert f'id="swap-{swaps["staff_b"]}"' not in client.get(f"/care/campaigns/{campaign}").get_data(as_text=True)
    # Decided already: refused with the reason.
    r = client.post(f"/care/campaigns/swaps/{swaps['staff_b']}", data={"csrf_token": csrf_of(page), "approve": "1"})
    assert r.status_code == 409


def test_attendance_marked_on_the_page_and_a_miss_is_rebooked(app, client, office, login, hr_api):
    from service.care.models import Appointment
    from service.extensions import db

    past = [{"day": "2025-06-09", "capacity_day": 10}]
    campaign = open_campaign(hr_api, days=past, section_share="1")
    assign(app, campaign, on="2025-06-01")
    a = _appointment(hr_api, campaign, office["staff_a"])
    b = _appointment(hr_api, campaign, office["staff_b"])
    login("HR1")
    page = client.get(f"/care/campaigns/{campaign}")
    assert f'id="appointment-{a["id"]}"' in page.get_data(as_text=True)
    csrf = csrf_of(page)
    r = client.post(f"/care/campaigns/appointments/{a['id']}/attendance", data={"csrf_token": csrf, "status": "attended"})
    assert r.status_code == 302
    r = client.post(f"/care/campaigns/appointments/{b['id']}/attendance", data={"csrf_token": csrf, "status": "missed"})
    assert r.status_code == 302
    with app.app_context():
        got = {x.person_id: (x.status, x.missed_on) for x in db.session.scalars(
            select(Appointment).where(Appointment.campaign_id == campaign))}
        db.session.remove()
    assert got[office["staff_a"]] == ("attended", None)
    assert got[office["staff_b"]][0] == "missed" and got[office["staff_b"]][1].isoformat() == "2025-06-09"
    before = db_state(app)
    r = client.post(f"/care/campaigns/appointments/{a['id']}/attendance", data={"csrf_token": csrf, "status": "healthy"})
    assert r.status_code == 422 and f'id="appointment-{a["id"]}-error"' in r.get_data(as_text=True)
    assert db_state(app) == before


def test_attendance_is_not_marked_before_the_day(app, client, office, login, hr_api):
    (d1,) = _next_working_days(1)
    campaign = open_campaign(hr_api, days=[{"day": d1.isoformat(), "capacity_day": 10}], section_share="1")
    assign(app, campaign, on=date.today().isoformat())
    a = _appointment(hr_api, campaign, office["staff_a"])
    login("HR1")
    page = client.get(f"/care/campaigns/{campaign}")
    before = db_state(app)
    r = client.post(f"/care/campaigns/appointments/{a['id']}/attendance",
                    data={"csrf_token": csrf_of(page), "status": "attended"})
    assert r.status_code == 409 and f'id="appointment-{a["id"]}-error"' in r.get_data(as_text=True)
    assert db_state(app) == before
