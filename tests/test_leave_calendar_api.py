"""The official calendar over the API: days and counts with make-up working days, provisional
years flagged, and the unit's override table (HR edits it; leave over a changed day is recounted)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from leave_helpers import assert_field_error, db_state, ledger_rows, set_today


def test_days_and_counts_follow_the_state_council_calendar(office, token_for):
    api = token_for(office["staff_a"])
    assert api.get("/api/calendar/days/2026-02-14").json == {
        "date": "2026-02-14", "working": True, "provisional": False, "reason": "makeup_workday"}
    assert api.get("/api/calendar/days/2026-02-17").json["reason"] == "holiday:Spring Festival"
    r = api.get("/api/calendar/count?start=2026-02-09&end=2026-02-28").json
    assert r["working_days"] == 11 and r["provisional"] is False
    r = api.get("/api/calendar/count?start=2026-12-28&end=2027-01-08").json
    assert r["provisional"] is True  # 2027 is not published in chinese_calendar 1.11
    month = api.get("/api/calendar/month?month=2026-02").json
    assert month["working_days"] == 16  # 20 weekdays - 6 holidays + 2 make-up Saturdays and month["provisional"] is False and len(month["days"]) == 28
    assert api.get("/api/calendar/month?month=2027-03").json["provisional"] is True


def test_overrides_are_edited_by_hr_and_change_the_answers(app, office, hr_api, token_for):
    r = hr_api.post("/api/calendar/overrides", json={"day": "2026-03-06", "working": False, "reason": "单位运动会"})
    assert r.status_code == 201 and r.headers["Location"].endswith(f"/api/calendar/overrides/{r.json['id']}")
    staff = token_for(office["staff_a"])
    assert staff.get("/api/calendar/days/2026-03-06").json["reason"] == "override_off"
    assert staff.get("/api/calendar/count?start=2026-03-02&end=2026-03-06").json["working_days"] == 4
    assert_field_error(hr_api.post("/api/calendar/overrides", json={"day": "2026-03-06", "working": True}), 409, "day")
    on = hr_api.post("/api/calendar/overrides", json={"day": "2026-03-07", "working": True}).json
    assert staff.get("/api/calendar/count?start=2026-03-02&end=2026-03-08").json["working_days"] == 5
    assert [o["day"] for o in staff.get("/api/calendar/overrides?year=2026").json] == ["2026-03-06", "2026-03-07"]
    assert hr_api.patch(f"/api/calendar/overrides/{on['id']}", json={"working": False}).json["working"] is False
    assert hr_api.delete(f"/api/calendar/overrides/{on['id']}").status_code == 204
    assert staff.get("/api/calendar/days/2026-03-07").json["reason"] == "weekend"
    # Staff and leaders read the table but do not edit it; nothing changes when they try.
    head = token_for(office["head"])
    before = db_state(app)
    assert staff.post("/api/calendar/overrides", json={"day": "2026-04-01", "working": False}).status_code == 403
    assert head.delete(f"/api/calendar/overrides/{r.json['id']}").status_code == 403
    assert db_state(app) == before


def test_an_override_recounts_approved_leave_and_corrects_the_ledger(app, office, hr_api, monkeypatch):
    set_today(monkeypatch, date(2026, 1, 5))
    req = hr_api.post("/api/leave/requests", json={"person_id": office["staff_a"], "kind": "annual",
                                                   "start_date": "2026-03-02", "end_date": "2026-03-06",
                                                   "record": True}).json
    assert req["days"] == 5
    o = hr_api.post("/api/calendar/overrides", json={"day": "2026-03-06", "working": False}).json
    assert hr_api.get(f"/api/leave/requests/{req['id']}").json["days"] == 4
    hr_api.delete(f"/api/calendar/overrides/{o['id']}")
    assert hr_api.get(f"/api/leave/requests/{req['id']}").json["days"] == 5
    rows = [(k, d) for _, k, d, *_ in ledger_rows(app, office["staff_a"])]
    assert rows == [("allocation", Decimal(10)), ("taken", Decimal(-5)), ("adjustment", Decimal(1)),
                    ("adjustment", Decimal(-1))]


def test_bad_calendar_input_names_the_field(app, office, hr_api):
    before = db_state(app)
    assert_field_error(hr_api.get("/api/calendar/days/2026-02-30"), 422, "day", "path")
    assert_field_error(hr_api.get("/api/calendar/days/9999-01-01"), 422, "day", "path")
    assert_field_error(hr_api.get("/api/calendar/count?start=2026-03-02&end=2026-03-01"), 422, "end", "query")
    assert_field_error(hr_api.get("/api/calendar/count?start=2026-03-02"), 422, "end", "query")
    assert_field_error(hr_api.get("/api/calendar/month?month=2026-13"), 422, "month", "query")
    assert_field_error(hr_api.post("/api/calendar/overrides", json={"day": "2026-03-02"}), 422, "working")
    assert_field_error(hr_api.post("/api/calendar/overrides", json={"day": "1800-01-01", "working": True}), 422, "day")
    assert_field_error(hr_api.post("/api/calendar/overrides", json={"day": "2026-03-02", "working": True,
                                                                    "reason": "a\x00b"}), 422, "reason")
    assert hr_api.get("/api/calendar/overrides/99999999999").status_code == 404
    assert db_state(app) == before
