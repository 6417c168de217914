"""Who may do what with leave and the calendar: the generic cells of can() for the leave
resources, the object rules (own, led, approver), and the endpoints, where every refused write
leaves the database as it was."""
from __future__ import annotations

from datetime import date

import pytest

from leave_helpers import db_state, set_today

R, W = "read", "write"
LEAVE_RESOURCES = ("calendar", "leave_settings", "leave", "leave_decision", "leave_ledger", "leave_report")
EXPECTED = {
    "hr": {"calendar": {R, W}, "leave_settings": {R, W}, "leave": {R, W}, "leave_decision": {R, W},
           "leave_ledger": {R, W}, "leave_report": {R}},
    "leader": {"calendar": {R}, "leave_settings": {R}, "leave": {R}, "leave_decision": {R},
               "leave_ledger": {R}, "leave_report": {R}},
    "staff": {"calendar": {R}, "leave_settings": {R}, "leave": {R}, "leave_decision": set(),
              "leave_ledger": {R}, "leave_report": set()},
}


def _person(pid, role="staff", hr=False, section_id=None, oversees=()):
    from service.people.models import Oversight, Person

    p = Person(id=pid, employee_no=f"P{pid}", name=f"p{pid}", role=role, is_hr_admin=hr, section_id=section_id)
    for sid in oversees:
        p.oversights.append(Oversight(section_id=sid, valid_from=date(2020, 1, 1), valid_to=None))
    return p


def test_leave_resources_are_in_the_permission_module():
    from service.auth.permissions import RESOURCES

    assert set(LEAVE_RESOURCES) <= set(RESOURCES)


@pytest.mark.parametrize("role", list(EXPECTED))
def test_generic_cells(role):
    from service.auth.permissions import can

    actor = {"hr": _person(1, hr=True), "leader": _person(2, role="head"), "staff": _person(3, section_id=1)}[role]
    for resource, allowed in EXPECTED[role].items():
        for action in (R, W):
            assert can(actor, action, resource) is (action in allowed), (role, resource, action)
            assert can(actor, action, resource, token_scope="read") is (action in allowed and action == R)


def test_object_rules_own_led_and_approver():
    from service.auth.permissions import can
    from service.leave.models import LeaveRequest

    staff_a, staff_b = _person(10, section_id=1), _person(11, section_id=2)
    chief_a, deputy = _person(4, role="chief", section_id=1), _person(3, role="deputy", oversees=[1])
    # Own leave: read and ask/cancel; own ledger: read only.
    assert can(staff_a, W, "leave", staff_a) and can(staff_a, R, "leave_ledger", staff_a)
    assert not can(staff_a, W, "leave_ledger", staff_a)
    assert not can(staff_a, R, "leave", staff_b) and not can(staff_a, W, "leave", staff_b)
    # Leaders read the leave of the people they lead, and do not ask for them.
    assert can(chief_a, R, "leave", staff_a) and can(deputy, R, "leave_ledger", staff_a)
    assert not can(chief_a, R, "leave", staff_b) and not can(chief_a, W, "leave", staff_a)
    # The current approver decides; the next one not yet; the requester reads.
    req = LeaveRequest(person_id=10, status="pending", approver_ids=[4, 3], step=0)
    assert can(chief_a, W, "leave_decision", req) and not can(deputy, W, "leave_decision", req)
    assert can(deputy, R, "leave_decision", req) and can(staff_a, R, "leave_decision", req)
    assert not can(staff_a, W, "leave_decision", req) and not can(staff_b, R, "leave_decision", req)
    assert not can(chief_a, W, "leave_decision", req, token_scope="read")
    req.step = 1
    assert can(deputy, W, "leave_decision", req) and not can(chief_a, W, "leave_decision", req)


ROLE_OF = {"hr": "hr", "head": "leader", "chief_a": "leader", "staff_a": "staff"}
# (case, method, url, body, status for hr, leader, staff); {me} is the actor, {staff_b} someone
# else, {req_b} a pending request of staff_b (chief_b is its approver).
MATRIX = [
    ("kinds.list", "GET", "/api/leave/kinds", None, 200, 200, 200),
    ("kinds.create", "POST", "/api/leave/kinds", {"code": "study", "name": "学习假", "name_en": "Study",
                                                 "counting": "working_days"}, 201, 403, 403),
    ("settings.get", "GET", "/api/leave/settings", None, 200, 200, 200),
    ("settings.patch", "PATCH", "/api/leave/settings", {"carry_over_allowed": True}, 200, 403, 403),
    ("overrides.create", "POST", "/api/calendar/overrides", {"day": "2026-04-01", "working": False}, 201, 403, 403),
    ("requests.own", "POST", "/api/leave/requests", {"kind": "personal", "start_date": "2026-04-08",
                                                     "end_date": "2026-04-08"}, 201, 201, 201),
    ("requests.for_other", "POST", "/api/leave/requests", {"person_id": "{staff_b}", "kind": "personal",
                                                           "start_date": "2026-04-09", "end_date": "2026-04-09"},
     201, 403, 403),
    ("requests.read_other", "GET", "/api/leave/requests/{req_b}", None, 200, "head:200,chief_a:403", 403),
    ("requests.approve_other", "POST", "/api/leave/requests/{req_b}/approve", {}, 200, 403, 403),
    ("requests.cancel_other", "POST", "/api/leave/requests/{req_b}/cancel", None, 200, 403, 403),
    ("balance.other", "GET", "/api/people/{staff_b}/leave/balance", None, 200, "head:200,chief_a:403", 403),
    ("balance.own", "GET", "/api/people/{me}/leave/balance", None, 200, 200, 200),
    ("adjust.own", "POST", "/api/people/{me}/leave/adjustments", {"year": 2026, "days": 1, "reason": "x"},
     201, 403, 403),
    ("allocate", "POST", "/api/leave/allocate", {"year": 2026}, 200, 403, 403),
    ("report", "GET", "/api/leave/report?year=2026", None, 200, 200, 403),
]


def _fill(value, ids, actor):
    if isinstance(value, str):
        return value.format(me=ids[actor], staff_b=ids["staff_b"], req_b=ids["req_b"])
    if isinstance(value, dict):
        return {k: (int(_fill(v, ids, actor)) if v == "{staff_b}" else v) for k, v in value.items()}
    return value


@pytest.fixture
def world(app, office, token_for, monkeypatch):
    set_today(monkeypatch, date(2026, 1, 5))
    ids = dict(office)
    r = token_for(office["staff_b"]).post("/api/leave/requests", json={
        "kind": "personal", "start_date": "2026-05-11", "end_date": "2026-05-11"})
    ids["req_b"] = r.json["id"]
    return ids


@pytest.mark.parametrize("actor", list(ROLE_OF))
@pytest.mark.parametrize("case,method,url,body,hr,leader,staff", MATRIX, ids=[m[0] for m in MATRIX])
def test_endpoints(app, world, token_for, actor, case, method, url, body, hr, leader, staff):
    expected = {"hr": hr, "leader": leader, "staff": staff}[ROLE_OF[actor]]
    if isinstance(expected, str):
        expected = int(dict(x.split(":") for x in expected.split(","))[actor])
    api = token_for(world[actor])
    api.get("/api/leave/kinds")
    before = db_state(app)
    kwargs = {} if body is None else {"json": _fill(body, world, actor)}
    r = getattr(api, method.lower())(_fill(url, world, actor), **kwargs)
    assert r.status_code == expected, (actor, case, r.get_data(as_text=True)[:300])
    if expected >= 400:
        assert db_state(app) == before, f"{actor} was refused {case} but the database changed"
    elif method != "GET":
        assert db_state(app) != before


def test_the_approver_of_a_request_decides_it(app, world, token_for):
    assert token_for(world["chief_b"]).post(f"/api/leave/requests/{world['req_b']}/approve", json={}).status_code == 200


def test_read_token_never_writes_leave(app, world, token_for):
    api = token_for(world["staff_a"], "read")
    api.get("/api/leave/kinds")
    before = db_state(app)
    r = api.post("/api/leave/requests", json={"kind": "personal", "start_date": "2026-04-08", "end_date": "2026-04-08"},
                 headers={"Accept-Language": "en"})
    assert r.status_code == 403 and "read-only" in r.json["message"]
    assert db_state(app) == before


def test_lists_show_only_what_the_actor_may_see(world, token_for):
    mine = token_for(world["staff_a"]).get("/api/leave/requests").json
    assert mine == []
    chief_b = token_for(world["chief_b"]).get("/api/leave/requests").json
    assert [r["id"] for r in chief_b] == [world["req_b"]]
    waiting = token_for(world["chief_b"]).get("/api/leave/requests?awaiting_me=true").json
    assert [r["id"] for r in waiting] == [world["req_b"]]
    assert token_for(world["chief_a"]).get("/api/leave/requests?awaiting_me=true").json == []
