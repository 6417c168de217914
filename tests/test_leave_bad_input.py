"""Bad input to the leave API: a clear 4xx naming the field, never a 500, and nothing changes.
Runs on SQLite and PostgreSQL (NUL bytes, huge numbers, wrong types)."""
from __future__ import annotations

from datetime import date

import pytest

from leave_helpers import assert_field_error, db_state, set_today

GOOD = {"kind": "personal", "start_date": "2026-03-02", "end_date": "2026-03-03"}

# (case, method, url, body, status, location, field)
CASES = [
    ("no kind", "POST", "/api/leave/requests", {**GOOD, "kind": None}, 422, "json", "kind"),
    ("kind NUL", "POST", "/api/leave/requests", {**GOOD, "kind": "an\x00nual"}, 422, "json", "kind"),
    ("kind unknown", "POST", "/api/leave/requests", {**GOOD, "kind": "x" * 32}, 422, "json", "kind"),
    ("kind too long", "POST", "/api/leave/requests", {**GOOD, "kind": "x" * 33}, 422, "json", "kind"),
    ("start not a date", "POST", "/api/leave/requests", {**GOOD, "start_date": "2026-02-30"}, 422, "json", "start_date"),
    ("start year 99999", "POST", "/api/leave/requests", {**GOOD, "start_date": "99999-01-01"}, 422, "json", "start_date"),
    ("end before start", "POST", "/api/leave/requests", {**GOOD, "end_date": "2026-03-01"}, 422, "json", "end_date"),
    ("span too long", "POST", "/api/leave/requests", {**GOOD, "end_date": "2028-03-01"}, 422, "json", "end_date"),
    ("half not bool", "POST", "/api/leave/requests", {**GOOD, "ends_noon": "maybe"}, 422, "json", "ends_noon"),
    ("same-day halves", "POST", "/api/leave/requests", {**GOOD, "end_date": "2026-03-02", "starts_afternoon": True,
                                                        "ends_noon": True}, 422, "json", "ends_noon"),
    ("person huge", "POST", "/api/leave/requests", {**GOOD, "person_id": 2**40}, 422, "json", "person_id"),
    ("person string", "POST", "/api/leave/requests", {**GOOD, "person_id": "1"}, 422, "json", "person_id"),
    ("reason too long", "POST", "/api/leave/requests", {**GOOD, "reason": "字" * 501}, 422, "json", "reason"),
    ("unknown field", "POST", "/api/leave/requests", {**GOOD, "days": 3}, 422, "json", "days"),
    ("adjust half-half", "POST", "/api/people/{me}/leave/adjustments", {"year": 2026, "days": 0.25, "reason": "x"},
     422, "json", "days"),
    ("adjust zero", "POST", "/api/people/{me}/leave/adjustments", {"year": 2026, "days": 0, "reason": "x"},
     422, "json", "days"),
    ("adjust NaN", "POST", "/api/people/{me}/leave/adjustments", {"year": 2026, "days": "NaN", "reason": "x"},
     422, "json", "days"),
    ("adjust huge", "POST", "/api/people/{me}/leave/adjustments", {"year": 2026, "days": 1e300, "reason": "x"},
     422, "json", "days"),
    ("adjust bool", "POST", "/api/people/{me}/leave/adjustments", {"year": 2026, "days": True, "reason": "x"},
     422, "json", "days"),
    ("adjust no reason", "POST", "/api/people/{me}/leave/adjustments", {"year": 2026, "days": 1}, 422, "json", "reason"),
    ("adjust year", "POST", "/api/people/{me}/leave/adjustments", {"year": 30000, "days": 1, "reason": "x"},
     422, "json", "year"),
    ("adjust account", "POST", "/api/people/{me}/leave/adjustments", {"year": 2026, "days": 1, "reason": "x",
                                                                      "account": "salary"}, 422, "json", "account"),
    ("settings rule", "PATCH", "/api/leave/settings", {"tier_change_rule": "never"}, 422, "json", "tier_change_rule"),
    ("settings 31 Feb", "PATCH", "/api/leave/settings", {"carry_over_expiry_month": 2, "carry_over_expiry_day": 31},
     422, "json", "carry_over_expiry_day"),
    ("settings day alone", "PATCH", "/api/leave/settings", {"reminder_day": 31}, 422, "json", "reminder_day"),
    ("settings chain", "PATCH", "/api/leave/settings", {"approver_chain": ["boss"]}, 422, "json", "approver_chain"),
    ("settings chain twice", "PATCH", "/api/leave/settings", {"approver_chain": ["chief", "chief"]}, 422, "json",
     "approver_chain"),
    ("settings chain empty", "PATCH", "/api/leave/settings", {"approver_chain": []}, 422, "json", "approver_chain"),
    ("settings negative cap", "PATCH", "/api/leave/settings", {"carry_over_max_days": -1}, 422, "json",
     "carry_over_max_days"),
    ("kind code", "POST", "/api/leave/kinds", {"code": "Big Kind", "name": "x", "name_en": "x",
                                                "counting": "working_days"}, 422, "json", "code"),
    ("kind counting", "POST", "/api/leave/kinds", {"code": "k", "name": "x", "name_en": "x", "counting": "hours"},
     422, "json", "counting"),
    ("kind max", "POST", "/api/leave/kinds", {"code": "k", "name": "x", "name_en": "x", "counting": "working_days",
                                               "max_days": -3}, 422, "json", "max_days"),
    ("kind code taken", "POST", "/api/leave/kinds", {"code": "annual", "name": "x", "name_en": "x",
                                                      "counting": "working_days"}, 409, "json", "code"),
    ("reject no reason", "POST", "/api/leave/requests/{req}/reject", {"reason": "   "}, 422, "json", "reason"),
    ("balance year", "GET", "/api/people/{me}/leave/balance?year=abc", None, 422, "query", "year"),
    ("balance as_of", "GET", "/api/people/{me}/leave/balance?as_of=2026-13-01", None, 422, "query", "as_of"),
    ("grid month", "GET", "/api/leave/grid?section_id=1&month=2026-1", None, 422, "query", "month"),
    ("grid section", "GET", "/api/leave/grid?month=2026-01", None, 422, "query", "section_id"),
    ("on-leave day", "GET", "/api/leave/on-leave?day=tomorrow", None, 422, "query", "day"),
    ("allocate year", "POST", "/api/leave/allocate", {"year": "2026x"}, 422, "json", "year"),
]


@pytest.fixture
def world(app, office, hr_api, monkeypatch):
    set_today(monkeypatch, date(2026, 1, 5))
    r = hr_api.post("/api/leave/requests", json={**GOOD, "person_id": office["staff_a"]})
    return {**office, "req": r.json["id"]}


@pytest.mark.parametrize("case,method,url,body,status,location,field", CASES, ids=[c[0] for c in CASES])
def test_bad_input(app, world, hr_api, case, method, url, body, status, location, field):
    hr_api.get("/api/leave/kinds")
    before = db_state(app)
    url = url.format(me=world["staff_a"], req=world["req"])
    r = getattr(hr_api, method.lower())(url, **({} if body is None else {"json": body}))
    assert_field_error(r, status, field, location)
    assert db_state(app) == before


def test_unknown_ids_are_404(world, hr_api):
    for url in ("/api/leave/requests/0", "/api/leave/requests/99999999999", "/api/leave/kinds/99999",
                "/api/people/99999/leave/balance", "/api/leave/grid?section_id=99999&month=2026-01"):
        assert hr_api.get(url).status_code == 404, url
    assert hr_api.post("/api/leave/requests", json={**GOOD, "person_id": 99999}).status_code == 404
