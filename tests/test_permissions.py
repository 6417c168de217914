"""Who may do what: the matrix role x resource x action, over the real API endpoints, and the same
matrix as a unit test of ``can()``.

Roles: ``hr`` (HR administrators), ``leader`` (head, deputy, section chief), ``staff``. Every
refused write must leave the database as it was. Token scope, revocation and leaving the unit
are checked on top: a read token never writes, a revoked token or a leaver's token is refused.
"""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

# --- helpers -----------------------------------------------------------------------------------


def db_state(app) -> dict:
    """Every row of every table (API tokens without their last-use time, which a read may touch)."""
    from service.extensions import db

    with app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            cols = [c for c in table.columns if c.name != "last_used_at"]
            rows = db.session.execute(select(*cols).order_by(*table.primary_key.columns)).all()
            state[table.name] = [tuple(r) for r in rows]
        db.session.remove()
    return state


def assert_error_shape(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict), response.get_data(as_text=True)
    assert body["code"] == status
    assert isinstance(body["status"], str) and body["status"]
    assert set(body) <= {"code", "status", "message", "errors"}


def send(api, method: str, url: str, body=None, **extra):
    """One request of the matrix; ``body`` is a JSON value or ("csv", text)."""
    kwargs = dict(extra)
    if isinstance(body, tuple) and body[0] == "csv":
        kwargs.update(data=body[1].encode(), content_type="text/csv")
    elif body is not None:
        kwargs["json"] = body
    return getattr(api, method.lower())(url, **kwargs)


@pytest.fixture
def world(app, office):
    """The office plus what the matrix needs: an unused section, a spare token of each person,
    a token of staff_b (someone else's token for every actor), a parked outbox message."""
    from service.auth.models import ApiToken
    from service.extensions import db
    from service.outbox.models import OutboxMessage
    from service.people.models import Section

    ids = dict(office)
    with app.app_context():
        empty = Section(code="E", name="空科室", min_base_staff=0)
        db.session.add(empty)
        spares = {}
        for key in ("hr", "head", "deputy", "chief_a", "chief_b", "staff_a", "staff_b"):
            token, _ = ApiToken.issue(office[key], "spare", "read")
            db.session.add(token)
            spares[key] = token
        parked = OutboxMessage(
            dedupe_key="test:parked", kind="welcome", recipient_id=office["staff_b"],
            to_address="sb@example.org", language="zh_CN", subject="欢迎", body_text="hi",
            body_html="<p>hi</p>", message_id="<parked@talkcare.test>", status="parked", attempts=8)
        db.session.add(parked)
        db.session.commit()
        ids["empty_section"] = empty.id
        ids["spare_token"] = {key: token.id for key, token in spares.items()}
        ids["others_token"] = spares["staff_b"].id
        ids["parked"] = parked.id
    return ids


ROLE_OF = {"hr": "hr", "head": "leader", "deputy": "leader", "chief_a": "leader", "staff_a": "staff"}
ACTORS = list(ROLE_OF)

IMPORT_CSV = ("csv", "employee_no,name\nNEW2,新人乙\n")

# (case, method, url, body, status for hr, for leader, for staff)
# URL fields: {section_a}, {section_b}, {empty_section}, {staff_b}, {me}, {own_token}, {others_token},
# {parked}. 403 on a write means: refused, and nothing in the database changed.
MATRIX = [
    # sections
    ("sections.list", "GET", "/api/sections", None, 200, 200, 200),
    ("sections.get", "GET", "/api/sections/{section_a}", None, 200, 200, 200),
    ("sections.create", "POST", "/api/sections", {"code": "NEW", "name": "新科室"}, 201, 403, 403),
    ("sections.patch", "PATCH", "/api/sections/{section_b}", {"name": "改名科"}, 200, 403, 403),
    ("sections.delete", "DELETE", "/api/sections/{empty_section}", None, 204, 403, 403),
    # people
    ("people.list", "GET", "/api/people", None, 200, 200, 200),
    ("people.get", "GET", "/api/people/{staff_b}", None, 200, 200, 200),
    ("people.create", "POST", "/api/people", {"employee_no": "NEW1", "name": "新人甲"}, 201, 403, 403),
    ("people.patch", "PATCH", "/api/people/{staff_b}", {"post": "一级科员"}, 200, 403, 403),
    ("people.patch_self", "PATCH", "/api/people/{me}", {"name_en": "Me"}, 200, 403, 403),
    ("people.history", "GET", "/api/people/{staff_b}/history", None, 200, 200, 200),
    ("people.import", "POST", "/api/people/import", IMPORT_CSV, 200, 403, 403),
    ("people.export_csv", "GET", "/api/people/export.csv", None, 200, 403, 403),
    # API tokens: one's own
    ("tokens.own_list", "GET", "/api/tokens", None, 200, 200, 200),
    ("tokens.own_get", "GET", "/api/tokens/{own_token}", None, 200, 200, 200),
    ("tokens.own_create", "POST", "/api/tokens", {"name": "script", "scope": "read"}, 201, 201, 201),
    ("tokens.own_revoke", "DELETE", "/api/tokens/{own_token}", None, 204, 204, 204),
    # API tokens: someone else's
    ("tokens.others_list", "GET", "/api/tokens?person_id={staff_b}", None, 200, 403, 403),
    ("tokens.others_get", "GET", "/api/tokens/{others_token}", None, 200, 403, 403),
    ("tokens.others_revoke", "DELETE", "/api/tokens/{others_token}", None, 204, 403, 403),
    # audit log and outbox
    ("audit.list", "GET", "/api/audit", None, 200, 403, 403),
    ("outbox.list", "GET", "/api/outbox", None, 200, 403, 403),
    ("outbox.retry", "POST", "/api/outbox/{parked}/retry", None, 200, 403, 403),
]
WRITES = [row for row in MATRIX if row[1] != "GET"]
COLUMN = {"hr": 4, "leader": 5, "staff": 6}


def url_of(template: str, ids: dict, actor: str) -> str:
    return template.format(
        section_a=ids["section_a"], section_b=ids["section_b"], empty_section=ids["empty_section"],
        staff_b=ids["staff_b"], me=ids[actor], own_token=ids["spare_token"][actor],
        others_token=ids["others_token"], parked=ids["parked"])


def test_matrix_covers_every_role_and_resource():
    """The endpoint table names every role, and reaches every resource that has endpoints."""
    assert set(ROLE_OF.values()) == {"hr", "leader", "staff"}
    assert {"head", "deputy", "chief_a"} <= {a for a, r in ROLE_OF.items() if r == "leader"}
    families = {case.split(".")[0] for case, *_ in MATRIX}
    assert families == {"sections", "people", "tokens", "audit", "outbox"}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("case,method,url,body,hr,leader,staff", MATRIX, ids=[row[0] for row in MATRIX])
def test_role_resource_action(app, world, token_for, actor, case, method, url, body, hr, leader, staff):
    expected = {"hr": hr, "leader": leader, "staff": staff}[ROLE_OF[actor]]
    api = token_for(world[actor], "write")
    api.get("/api/sections")  # first use stamps last_used_at; the snapshot below ignores it anyway
    before = db_state(app)
    r = send(api, method, url_of(url, world, actor), body)
    assert r.status_code == expected, (actor, case, r.get_data(as_text=True))
    if expected >= 400:
        assert_error_shape(r, expected)
        assert db_state(app) == before, f"{actor} was refused {case} but the database changed"
    elif method != "GET":
        assert db_state(app) != before, f"{actor} was allowed {case} but nothing was written"


@pytest.mark.parametrize("actor", ACTORS)
def test_allowed_writes_take_effect(app, world, token_for, actor):
    """Spot checks that an allowed write did what it said (not just returned 2xx)."""
    api = token_for(world[actor], "write")
    own = world["spare_token"][actor]
    assert api.delete(f"/api/tokens/{own}").status_code == 204
    assert api.get(f"/api/tokens/{own}").json["revoked_at"] is not None
    created = api.post("/api/tokens", json={"name": "cron", "scope": "write"})
    assert created.status_code == 201 and created.json["token"].startswith("tc_")
    from conftest import Api

    assert Api(api.client, created.json["token"]).get("/api/people").status_code == 200
    mine = api.get("/api/tokens").json
    assert {t["person_id"] for t in mine} == {world[actor]}
    if ROLE_OF[actor] == "hr":
        assert api.delete(f"/api/tokens/{world['others_token']}").status_code == 204
        listed = api.get(f"/api/tokens?person_id={world['staff_b']}").json
        assert [t["revoked_at"] is not None for t in listed if t["id"] == world["others_token"]] == [True]


# --- token scope, revocation, leaving ------------------------------------------------------------


@pytest.mark.parametrize("case,method,url,body,hr,leader,staff", WRITES, ids=[row[0] for row in WRITES])
def test_read_token_never_writes_even_for_hr(app, world, token_for, case, method, url, body, hr, leader, staff):
    api = token_for(world["hr"], "read")
    api.get("/api/sections")
    before = db_state(app)
    r = send(api, method, url_of(url, world, "hr"), body, headers={"Accept-Language": "en"})
    assert_error_shape(r, 403)
    assert "read-only" in r.json["message"]
    assert db_state(app) == before


def test_read_token_still_reads_for_hr(world, token_for):
    api = token_for(world["hr"], "read")
    for case, method, url, body, hr, *_ in MATRIX:
        if method == "GET":
            assert send(api, method, url_of(url, world, "hr"), body).status_code == hr, case


@pytest.mark.parametrize("case,method,url,body,hr,leader,staff", MATRIX, ids=[row[0] for row in MATRIX])
def test_no_token_is_401(app, world, client, case, method, url, body, hr, leader, staff):
    from conftest import Api

    before = db_state(app)
    r = send(Api(client, None), method, url_of(url, world, "hr"), body)
    assert_error_shape(r, 401)
    assert db_state(app) == before


@pytest.mark.parametrize("header", ["Bearer tc_not-a-token", "Bearer ", "Basic aHI6cHc=", "Bearer\ttc_x",
                                    "tc_only-the-token"])
def test_unknown_or_malformed_credentials_are_401(app, world, client, header):
    before = db_state(app)
    for method, url, body in (("GET", "/api/people", None),
                              ("POST", "/api/sections", {"code": "X", "name": "x"})):
        r = client.open(url, method=method, headers={"Authorization": header}, json=body)
        assert_error_shape(r, 401)
    assert db_state(app) == before


def test_revoked_token_is_401_at_once(app, world, token_for, hr_api):
    from service.auth.models import ApiToken, hash_token
    from service.extensions import db

    api = token_for(world["staff_a"], "write")
    assert api.get("/api/people").status_code == 200
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(api.token)))
    assert hr_api.delete(f"/api/tokens/{token_id}").status_code == 204  # HR revokes someone else's
    assert_error_shape(api.get("/api/people"), 401)
    assert_error_shape(api.post("/api/tokens", json={"name": "again"}), 401)
    # Revoking one's own token works the same way.
    own = token_for(world["staff_a"], "write")
    with app.app_context():
        own_id = db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(own.token)))
    assert own.delete(f"/api/tokens/{own_id}").status_code == 204
    assert_error_shape(own.get("/api/tokens"), 401)


@pytest.mark.parametrize("leaver", ["staff_a", "chief_a", "deputy"])
def test_token_of_someone_who_left_is_401(app, world, token_for, hr_api, leaver):
    api = token_for(world[leaver], "write")
    assert api.get("/api/people").status_code == 200
    r = hr_api.patch(f"/api/people/{world[leaver]}", json={"left_on": "2026-06-30"})
    assert r.status_code == 200, r.json
    before = db_state(app)
    assert_error_shape(api.get("/api/people"), 401)
    assert_error_shape(api.get(f"/api/people/{world[leaver]}"), 401)
    assert_error_shape(api.post("/api/tokens", json={"name": "still here?"}), 401)
    assert db_state(app) == before


def test_hr_who_left_is_refused_too(app, world, token_for):
    hr = token_for(world["hr"], "write")
    other_hr = token_for(world["hr"], "write")
    assert hr.patch(f"/api/people/{world['hr']}", json={"left_on": "2026-06-30"}).status_code == 200
    assert_error_shape(other_hr.get("/api/audit"), 401)


def test_web_session_is_read_only_on_the_api(app, world, client, login):
    r = login("HR1")
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:300]
    assert client.get("/api/people").status_code == 200
    before = db_state(app)
    r = client.post("/api/sections", json={"code": "S", "name": "会话"})
    assert_error_shape(r, 403)
    r = client.patch(f"/api/people/{world['staff_b']}", json={"post": "x"})
    assert_error_shape(r, 403)
    assert db_state(app) == before


# --- private fields ------------------------------------------------------------------------------

VIEWERS = ["hr", "head", "deputy", "chief_a", "chief_b", "staff_a", "staff_b"]
TARGETS = ["staff_a", "staff_b", "chief_a", "chief_b", "hr", "deputy", "head"]
# Whose private fields (email, birthday, relatives, work start, opt-out) each viewer sees.
# The deputy oversees section A; chief_a leads section A; chief_b leads section B (where HR sits).
SEES_PRIVATE = {
    "hr": set(TARGETS),
    "head": set(TARGETS),
    "deputy": {"deputy", "staff_a", "chief_a"},
    "chief_a": {"chief_a", "staff_a"},
    "chief_b": {"chief_b", "staff_b", "hr"},
    "staff_a": {"staff_a"},
    "staff_b": {"staff_b"},
}


def test_private_field_table_is_complete():
    from schemas.people import PRIVATE_FIELDS

    assert set(SEES_PRIVATE) == set(VIEWERS)
    assert all(seen <= set(TARGETS) for seen in SEES_PRIVATE.values())
    assert {"email", "birthday", "relatives"} <= set(PRIVATE_FIELDS)


@pytest.mark.parametrize("scope", ["read", "write"])
@pytest.mark.parametrize("viewer", VIEWERS)
def test_private_fields_visible_only_to_self_leaders_and_hr(world, token_for, viewer, scope):
    from schemas.people import PRIVATE_FIELDS

    api = token_for(world[viewer], scope)
    listed = {p["id"]: p for p in api.get("/api/people?page_size=100").json}
    for target in TARGETS:
        one = api.get(f"/api/people/{world[target]}")
        assert one.status_code == 200
        for body in (one.json, listed[world[target]]):
            present = {f for f in PRIVATE_FIELDS if f in body}
            if target in SEES_PRIVATE[viewer]:
                assert present == set(PRIVATE_FIELDS), (viewer, target, present)
            else:
                assert present == set(), (viewer, target, present)
            assert body["name"] and body["employee_no"]  # public fields always there


def test_private_values_are_the_real_ones(world, token_for):
    me = token_for(world["staff_a"], "read").get(f"/api/people/{world['staff_a']}").json
    assert me["email"] == "sa@example.org"
    assert me["birthday"] == {"calendar": "solar", "month": 3, "day": 1, "leap": False}
    assert me["relatives"] == []


def test_deputy_loses_sight_when_no_longer_overseeing(world, token_for, hr_api):
    deputy = token_for(world["deputy"], "read")
    assert "email" in deputy.get(f"/api/people/{world['staff_a']}").json
    assert hr_api.patch(f"/api/people/{world['deputy']}", json={"oversees": [world["section_b"]]}).status_code == 200
    assert "email" not in deputy.get(f"/api/people/{world['staff_a']}").json
    assert "email" in deputy.get(f"/api/people/{world['staff_b']}").json


# --- can(): the same matrix as a unit test -------------------------------------------------------

R, W = "read", "write"
# role -> resource -> actions allowed without an object (the generic cell: lists, creating, the
# check a view makes before it has loaded anything). Object rules (own tokens, the people one
# leads...) are tested separately below.
EXPECTED = {
    "hr": {"section": {R, W}, "person": {R, W}, "person_private": {R, W}, "api_token": {R, W},
           "audit": {R}, "outbox": {R, W}, "mail": {R}},
    "leader": {"section": {R}, "person": {R}, "person_private": set(), "api_token": {R, W},
               "audit": set(), "outbox": set(), "mail": set()},
    "staff": {"section": {R}, "person": {R}, "person_private": set(), "api_token": {R, W},
              "audit": set(), "outbox": set(), "mail": set()},
}
# Resources of later issues (care 5, leave 4, rotation 6): their generic cells as decided there.
# A visit task is closed by its own leader only (an object rule), so nobody writes one generically.
EXPECTED["hr"].update({
    "care_settings": {R, W}, "care_case": {R, W}, "visit_task": {R}, "healthcheck": {R, W},
    "appointment": {R, W}, "overtime": {R}, "care_item": {R, W},
    "calendar": {R, W}, "leave_settings": {R, W}, "leave": {R, W}, "leave_decision": {R, W},
    "leave_ledger": {R, W}, "leave_report": {R},
    "rotation_plan": {R, W}, "rotation_history": {R},
    "talk": {R}, "talk_content": set(), "talk_signoff": set(), "talk_rules": {R, W}, "talk_trigger": {R, W},
    "talk_follow_up": {R}, "talk_obligations": {R},
    "digest_preference": {R, W}, "digest_settings": {R, W}, "digest_notices": {R},
})
EXPECTED["leader"].update({
    "care_settings": {R}, "care_case": {R}, "visit_task": {R}, "healthcheck": {R}, "appointment": {R},
    "overtime": {R}, "care_item": {R},
    "calendar": {R}, "leave_settings": {R}, "leave": {R}, "leave_decision": {R}, "leave_ledger": {R},
    "leave_report": {R},
    "rotation_plan": {R}, "rotation_history": set(),
    "talk": {R, W}, "talk_content": set(), "talk_signoff": set(), "talk_rules": {R}, "talk_trigger": {R},
    "talk_follow_up": {R, W}, "talk_obligations": {R},
    "digest_preference": {R, W}, "digest_settings": {R}, "digest_notices": {R},
})
EXPECTED["staff"].update({
    "care_settings": {R}, "care_case": {R}, "visit_task": {R}, "healthcheck": {R}, "appointment": {R},
    "overtime": {R}, "care_item": {R},
    "calendar": {R}, "leave_settings": {R}, "leave": {R}, "leave_decision": set(), "leave_ledger": {R},
    "leave_report": set(),
    "rotation_plan": set(), "rotation_history": set(),
    "talk": {R}, "talk_content": set(), "talk_signoff": set(), "talk_rules": {R}, "talk_trigger": set(),
    "talk_follow_up": {R}, "talk_obligations": set(),
    "digest_preference": {R, W}, "digest_settings": {R}, "digest_notices": {R},
})


def _person(pid, role="staff", hr=False, section_id=None, left_on=None, oversees=()):
    from service.people.models import Oversight, Person

    p = Person(id=pid, employee_no=f"P{pid}", name=f"p{pid}", role=role, is_hr_admin=hr,
               section_id=section_id, left_on=left_on)
    for sid in oversees:
        p.oversights.append(Oversight(section_id=sid, valid_from=date(2020, 1, 1), valid_to=None))
    return p


def _actors():
    return {
        "hr": [_person(1, hr=True, section_id=2)],
        "leader": [_person(2, role="head"), _person(3, role="deputy", oversees=[1]),
                   _person(4, role="chief", section_id=1)],
        "staff": [_person(6, section_id=1), _person(9, role="chief", section_id=1, left_on=date(2025, 1, 1))],
    }


def test_every_resource_and_action_has_a_decision():
    """A new resource (or action) in the permission module must be added to this table."""
    from service.auth.permissions import ACTIONS, RESOURCES

    assert set(ACTIONS) == {R, W}
    for role, row in EXPECTED.items():
        assert set(row) == set(RESOURCES), role
        assert all(actions <= set(ACTIONS) for actions in row.values())


def test_actor_roles_are_what_the_table_assumes():
    for role, actors in _actors().items():
        for actor in actors:
            assert actor.access_role == role, (actor.role, actor.left_on)


CELLS = [(role, resource, action) for role in EXPECTED for resource in EXPECTED[role] for action in (R, W)]


@pytest.mark.parametrize("role,resource,action", CELLS, ids=["-".join(c) for c in CELLS])
def test_can_generic_cell(role, resource, action):
    from service.auth.permissions import can

    expected = action in EXPECTED[role][resource]
    for actor in _actors()[role]:
        assert can(actor, action, resource) is expected, (actor.role, resource, action)
        assert can(actor, action, resource, token_scope="write") is expected
        # A read token never writes; it reads what its owner may read.
        assert can(actor, action, resource, token_scope="read") is (expected and action == R)


def test_can_refuses_unknown_actor_action_resource():
    from service.auth.permissions import can

    hr = _actors()["hr"][0]
    assert can(None, R, "person") is False
    assert can(hr, "delete", "person") is False
    assert can(hr, R, "salary") is False


def test_can_api_tokens_own_versus_others():
    from service.auth.models import ApiToken
    from service.auth.permissions import can

    for role, actors in _actors().items():
        for actor in actors:
            own, others = ApiToken(person_id=actor.id), ApiToken(person_id=999)
            for action in (R, W):
                assert can(actor, action, "api_token", own) is True
                assert can(actor, action, "api_token", others) is (role == "hr")
                assert can(actor, action, "api_token", own, token_scope="read") is (action == R)


def test_can_person_private_follows_the_line():
    from service.auth.permissions import can

    a, b = 1, 2
    staff_a, staff_b = _person(10, section_id=a), _person(11, section_id=b)
    actors = _actors()
    hr = actors["hr"][0]
    head, deputy, chief_a = actors["leader"]
    staff, left_chief = actors["staff"]
    expected_read = {
        (hr, staff_a): True, (hr, staff_b): True,
        (head, staff_a): True, (head, staff_b): True,
        (deputy, staff_a): True, (deputy, staff_b): False,
        (chief_a, staff_a): True, (chief_a, staff_b): False,
        (staff, staff_a): False, (staff, staff_b): False,
        (left_chief, staff_a): False, (left_chief, staff_b): False,
        (staff, staff): True, (left_chief, left_chief): True, (deputy, deputy): True,
    }
    for (actor, target), readable in expected_read.items():
        assert can(actor, R, "person_private", target) is readable, (actor.role, target.id)
        # Only HR writes private fields, even one's own.
        assert can(actor, W, "person_private", target) is (actor is hr)
