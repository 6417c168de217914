"""Rotation through the API: plans computed by the worker job, each rule, infeasible plans with
their reasons, pins / forbids / recompute, what-if, approval into the register, notices,
conflicts and repair after new leave or a departure."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from service.rotation.models import next_month


def _months_ahead(k: int) -> date:
    """First day of the month k months after this one (plans must lie ahead to be approved)."""
    from service.clock import now_utc

    day = now_utc().date().replace(day=1)
    for _ in range(k):
        day = next_month(day)
    return day


M1 = _months_ahead(3)
M2 = next_month(M1)
M3 = next_month(M2)


def mtext(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@pytest.fixture
def rot(app, token_for):
    """Three sections (A, B, C) of a chief and three staff each, minimum base staff 1; HR, a head."""
    from service.extensions import db
    from service.people.models import Section
    from service.people.register import apply_person

    ids = {}
    _APP["app"] = app
    with app.test_request_context():
        for code in "ABC":
            s = Section(code=code, name=f"科室{code}", name_en=f"Section {code}", min_base_staff=1)
            db.session.add(s)
            db.session.flush()
            ids[code] = s.id
        today = date(2026, 1, 1)

        def add(key, no, **extra):
            p, _ = apply_person({"employee_no": no, "name": f"人{no}", "email": f"{no.lower()}@example.org",
                                 "joined_on": date(2020, 1, 1), **extra}, today)
            ids[key] = p.id
            return p

        add("hr", "HR1", is_hr_admin=True)
        add("head", "L1", role="head")
        for code in "ABC":
            add(f"chief_{code}", f"C{code}", role="chief", section_id=ids[code])
            for i in range(1, 4):
                add(f"{code}{i}", f"S{code}{i}", section_id=ids[code])
        db.session.commit()
    ids["api"] = token_for(ids["hr"], "write")
    return ids


def _body(rot, **over):
    body = {"name": "2027 轮岗", "first_month": mtext(M1), "last_month": mtext(M2),
            "section_ids": [rot["A"], rot["B"], rot["C"]]}
    body.update(over)
    return body


def _create(rot, run=True, **over):
    r = rot["api"].post("/api/rotation/plans", json=_body(rot, **over))
    assert r.status_code == 202, r.get_json()
    plan_id = r.get_json()["plan_id"]
    if run:
        _run(plan_id)
    return plan_id


_APP = {}


def _run(plan_id):
    """Run the compute job as the worker would, by calling it inside the app."""
    from service.extensions import db
    from service.rotation.models import RotationPlan
    from workers.rotation import compute_plan

    with _APP["app"].app_context():
        plan = db.session.get(RotationPlan, plan_id)
        return compute_plan(plan.id, plan.version)


def _run_job(rot, plan_id, answer):
    """Run a what-if or repair job as the worker would; then read its answer over the API."""
    from rq.job import Job

    from service.jobs import queue
    from workers import rotation as jobs

    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    assert answer.headers["Location"].endswith(f"/api/rotation/plans/{plan_id}/jobs/{body['job_id']}")
    with _APP["app"].test_request_context():
        job = Job.fetch(body["job_id"], connection=queue().connection)
        func = getattr(jobs, job.func_name.rsplit(".", 1)[1])
        func(*job.args, **job.kwargs)
    r = rot["api"].get(answer.headers["Location"])
    assert r.status_code == 200 and r.get_json()["status"] == "finished", r.get_json()
    return r.get_json()["result"]


def _plan(rot, plan_id):
    return rot["api"].get(f"/api/rotation/plans/{plan_id}").get_json()


def _postings(rot, plan_id, **query):
    r = rot["api"].get(f"/api/rotation/plans/{plan_id}/postings", query_string={"page_size": 100, **query})
    assert r.status_code == 200
    return r.get_json()


def _count(app, model):
    from service.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- the plan's life -----------------------------------------------------------------------

def test_post_gives_202_job_and_location_then_the_worker_proposes(app, rot):
    r = rot["api"].post("/api/rotation/plans", json=_body(rot))
    assert r.status_code == 202
    body = r.get_json()
    assert body["job_id"] == f"rotation-plan-{body['plan_id']}-v1" and body["status"] == "computing"
    assert r.headers["Location"].endswith(f"/api/rotation/plans/{body['plan_id']}")
    assert rot["api"].get(r.headers["Location"]).get_json()["status"] == "computing"
    result = _run(body["plan_id"])
    assert result["status"] == "proposed"
    plan = _plan(rot, body["plan_id"])
    assert plan["status"] == "proposed" and plan["reasons"] == [] and plan["objective"] is not None
    postings = _postings(rot, body["plan_id"])
    # Each section sends exactly one a month; each host receives at most one.
    sent = {(p["home_section_id"], p["month"]) for p in postings}
    assert len(postings) == 6 and len(sent) == 6
    assert len({(p["host_section_id"], p["month"]) for p in postings}) == 6
    for p in postings:
        assert p["host_section_id"] != p["home_section_id"]
        assert set(p["explanation"]) >= {"person", "host"} and p["why"]
        assert p["person_name"].startswith("人S")


def test_the_job_run_twice_changes_nothing(app, rot):
    from service.rotation.models import RotationPosting

    plan_id = _create(rot)
    first = _postings(rot, plan_id)
    again = _run(plan_id)
    assert "skipped" in again
    assert _postings(rot, plan_id) == first
    assert _count(app, RotationPosting) == 6


def test_leaders_are_not_rotated_and_staff_cannot_plan(app, rot, token_for):
    plan_id = _create(rot)
    posted = {p["person_id"] for p in _postings(rot, plan_id)}
    assert not posted & {rot["chief_A"], rot["chief_B"], rot["chief_C"], rot["head"], rot["hr"]}
    staff = token_for(rot["A1"], "write")
    assert staff.post("/api/rotation/plans", json=_body(rot)).status_code == 403
    assert staff.get(f"/api/rotation/plans/{plan_id}").status_code == 403
    assert token_for(rot["chief_A"]).get(f"/api/rotation/plans/{plan_id}").status_code == 200
    # Everyone reads their own rotations; HR everyone's.
    assert staff.get(f"/api/rotation/people/{rot['A1']}/rotations").status_code == 200
    assert staff.get(f"/api/rotation/people/{rot['B1']}/rotations").status_code == 403


# --- each rule ---------------------------------------------------------------------------------

def test_n_per_month_and_host_capacity_k(app, rot):
    from service.extensions import db
    from service.people.models import Section

    with app.app_context():
        for s in db.session.scalars(select(Section)):
            s.min_base_staff = 0
        db.session.commit()
    plan_id = _create(rot, rules={"sends_per_month": 2, "host_cap_per_month": 2})
    postings = _postings(rot, plan_id)
    assert _plan(rot, plan_id)["status"] == "proposed"
    for month in (mtext(M1), mtext(M2)):
        for sid in (rot["A"], rot["B"], rot["C"]):
            assert sum(p["home_section_id"] == sid and p["month"] == month for p in postings) == 2
            assert sum(p["host_section_id"] == sid and p["month"] == month for p in postings) <= 2


def test_a_section_sends_its_own_n_and_bad_values_name_the_field(app, rot):
    from service.extensions import db
    from service.people.models import Section
    from service.rotation.models import RotationPlan

    with app.app_context():
        for s in db.session.scalars(select(Section)):
            s.min_base_staff = 0
        db.session.commit()
    own = [{"section_id": rot["A"], "sends_per_month": 2}, {"section_id": rot["C"], "sends_per_month": 0}]
    plan_id = _create(rot, rules={"host_cap_per_month": 2, "sends_by_section": own})
    plan = _plan(rot, plan_id)
    assert plan["status"] == "proposed" and plan["unfilled"] == []
    postings = _postings(rot, plan_id)
    for month in (mtext(M1), mtext(M2)):
        sent = {sid: sum(p["home_section_id"] == sid and p["month"] == month for p in postings)
                for sid in (rot["A"], rot["B"], rot["C"])}
        assert sent == {rot["A"]: 2, rot["B"]: 1, rot["C"]: 0}
    # A may send 3 but keeps a base staff of 2 of its 4 (chief included): one is excused, and said so.
    with app.app_context():
        db.session.get(Section, rot["A"]).min_base_staff = 2
        db.session.commit()
    plan_id = _create(rot, rules={"host_cap_per_month": 3,
                                  "sends_by_section": [{"section_id": rot["A"], "sends_per_month": 3}]})
    plan = _plan(rot, plan_id)
    assert plan["status"] == "proposed"
    short = [(u["section_id"], u["missing"], u["rule"], u["excused"]) for u in plan["unfilled"]]
    assert short == [(rot["A"], 1, "base_staff", True)] * 2
    before = _count(app, RotationPlan)
    bad = [
        ([{"section_id": 99999, "sends_per_month": 1}], "section_id"),
        ([{"section_id": rot["A"], "sends_per_month": 11}], "sends_per_month"),
        ([{"section_id": rot["A"], "sends_per_month": "2"}], "sends_per_month"),
        ([{"section_id": rot["A"]}], "sends_per_month"),
        ([{"section_id": rot["A"], "sends_per_month": 1}, {"section_id": rot["A"], "sends_per_month": 2}],
         "section_id"),
    ]
    for value, field in bad:
        r = rot["api"].post("/api/rotation/plans", json=_body(rot, rules={"sends_by_section": value}))
        assert r.status_code == 422, (value, r.get_json())
        errors = r.get_json()["errors"]["json"]["rules"]["sends_by_section"]
        assert field in str(errors), (value, errors)
    assert _count(app, RotationPlan) == before


def test_host_capacity_makes_the_plan_infeasible_with_reasons(app, rot):
    plan_id = _create(rot, rules={"sends_per_month": 2, "host_cap_per_month": 1})
    plan = _plan(rot, plan_id)
    assert plan["status"] == "infeasible"
    blocked = [r for r in plan["reasons"] if r["rule"] == "host_capacity"]
    assert blocked and all(r["month"] in (mtext(M1), mtext(M2)) for r in blocked)
    assert all(r["section_id"] in (rot["A"], rot["B"], rot["C"]) and r["text"] for r in blocked)
    # Infeasible plans are not approved; the best partial plan is still shown.
    assert rot["api"].post(f"/api/rotation/plans/{plan_id}/approve").status_code == 409
    assert len(_postings(rot, plan_id)) == 6


def test_minimum_base_staff_excuses_a_section_and_says_why(app, rot):
    from service.extensions import db
    from service.people.models import Section

    with app.app_context():
        db.session.get(Section, rot["A"]).min_base_staff = 4  # a chief and three staff: nobody may go
        db.session.commit()
    plan_id = _create(rot, rules={"host_cap_per_month": 2})
    plan = _plan(rot, plan_id)
    assert plan["status"] == "proposed"
    assert not [p for p in _postings(rot, plan_id) if p["home_section_id"] == rot["A"]]
    excused = [u for u in plan["unfilled"] if u["section_id"] == rot["A"]]
    assert {u["month"] for u in excused} == {mtext(M1), mtext(M2)}
    assert all(u["rule"] == "base_staff" and u["excused"] and u["detail"]["min_base_staff"] == 4 for u in excused)
    assert all(u["text"] for u in excused)


def test_nobody_on_leave_new_or_exempt_is_posted(app, rot):
    from service.extensions import db
    from service.leave.models import LeaveRequest
    from service.leave.policy import ensure_kinds, kind_by_code
    from service.people.models import Person

    with app.app_context():
        ensure_kinds()
        kind = kind_by_code("annual")
        # Leave of two days overlapping the end of M1 and the start of M2 blocks both months.
        db.session.add(LeaveRequest(person_id=rot["A1"], kind_id=kind.id, start_date=M2 - timedelta(days=1),
                                    end_date=M2 + timedelta(days=1), days=Decimal(3), status="approved"))
        db.session.add(LeaveRequest(person_id=rot["A2"], kind_id=kind.id, start_date=M1, end_date=M1,
                                    days=Decimal(1), status="pending"))  # pending leave does not count
        db.session.get(Person, rot["B1"]).rotation_exempt = True
        db.session.get(Person, rot["C1"]).joined_on = M1 - timedelta(days=40)  # M = 6 months
        db.session.commit()
    plan_id = _create(rot)
    posted = {p["person_id"] for p in _postings(rot, plan_id)}
    assert not posted & {rot["A1"], rot["B1"], rot["C1"]}
    a_posts = [p for p in _postings(rot, plan_id) if p["home_section_id"] == rot["A"]]
    assert {p["person_id"] for p in a_posts} == {rot["A2"], rot["A3"]}
    why = [p["explanation"]["person"]["excluded"] for p in _postings(rot, plan_id)]
    assert any(rot["A1"] in ex.get("on_leave", []) for ex in why)
    assert any(rot["B1"] in ex.get("exempt", []) for ex in why)
    assert any(rot["C1"] in ex.get("new_joiner", []) for ex in why)


def test_avoidance_keeps_a_relative_out_of_the_relatives_section(app, rot):
    # A1's relative is the chief of B, so A1 never goes to B; the pair is plan input.
    for _ in range(2):
        plan_id = _create(rot, last_month=mtext(M3), rules={"avoid_pairs": [[rot["A1"], rot["chief_B"]]],
                                                             "host_cap_per_month": 2})
        mine = [p for p in _postings(rot, plan_id) if p["person_id"] == rot["A1"]]
        assert mine and all(p["host_section_id"] != rot["B"] for p in mine)


def test_long_tenure_goes_first_and_encouraged_pairs_exchange(app, rot):
    from service.extensions import db
    from service.people.models import Posting

    with app.app_context():
        row = db.session.scalar(select(Posting).where(Posting.person_id == rot["A3"]))
        row.valid_from = date(2010, 1, 1)  # in the same post since 2010
        db.session.commit()
    plan_id = _create(rot, rules={"encouraged_pairs": [[rot["A"], rot["B"]]], "host_cap_per_month": 2})
    first = [p for p in _postings(rot, plan_id, month=mtext(M1))]
    a = next(p for p in first if p["home_section_id"] == rot["A"])
    assert a["person_id"] == rot["A3"] and a["explanation"]["person"]["long_tenure"] is True
    assert a["host_section_id"] == rot["B"] and a["explanation"]["host"]["encouraged_pair"] is True
    b = next(p for p in first if p["home_section_id"] == rot["B"])
    assert b["host_section_id"] == rot["A"]


def test_fairness_and_hosts_visited_carry_across_plans(app, rot):
    first = _create(rot, last_month=mtext(M1))
    assert rot["api"].post(f"/api/rotation/plans/{first}/approve").status_code == 200
    went = {p["home_section_id"]: p for p in _postings(rot, first)}
    later = _create(rot, first_month=mtext(M2), last_month=mtext(M3), name="next")
    for p in _postings(rot, later):
        # Two colleagues have never rotated: nobody who went in the first plan goes again.
        assert p["person_id"] != went[p["home_section_id"]]["person_id"]
    from service.rotation.inputs import build_input
    from service.rotation.models import RotationPlan
    from service.extensions import db

    with app.app_context():
        inp, _ = build_input(db.session.get(RotationPlan, later))
        for p in went.values():
            cand = next(c for c in inp.candidates if c.person_id == str(p["person_id"]))
            assert cand.rotation_count == 1 and cand.hosts_visited == {str(p["host_section_id"])}


# --- pins, forbids, recompute, what-if ------------------------------------------------------------

def test_pin_forbid_recompute_keeps_pins(app, rot):
    api = rot["api"]
    plan_id = _create(rot)
    r = api.post(f"/api/rotation/plans/{plan_id}/pins",
                 json={"person_id": rot["A2"], "month": mtext(M2), "host_section_id": rot["C"]})
    assert r.status_code == 201
    r = api.post(f"/api/rotation/plans/{plan_id}/forbids", json={"person_id": rot["B1"], "month": mtext(M1)})
    assert r.status_code == 201
    forbid_id = r.get_json()["id"]
    r = api.post(f"/api/rotation/plans/{plan_id}/compute")
    assert r.status_code == 202 and r.get_json()["version"] == 2
    # While computing, nothing changes the plan.
    assert api.post(f"/api/rotation/plans/{plan_id}/compute").status_code == 409
    assert api.post(f"/api/rotation/plans/{plan_id}/forbids", json={"person_id": rot["A1"]}).status_code == 409
    _run(plan_id)
    postings = _postings(rot, plan_id)
    pinned = [p for p in postings if p["pinned"]]
    assert [(p["person_id"], p["month"], p["host_section_id"]) for p in pinned] == [(rot["A2"], mtext(M2), rot["C"])]
    assert not [p for p in postings if p["person_id"] == rot["B1"] and p["month"] == mtext(M1)]
    assert len(postings) == 6 and _plan(rot, plan_id)["status"] == "proposed"
    plan = _plan(rot, plan_id)
    assert len(plan["pins"]) == 1 and len(plan["forbids"]) == 1
    # Recompute again: the pin stays.
    assert api.post(f"/api/rotation/plans/{plan_id}/compute").status_code == 202
    _run(plan_id)
    assert [p for p in _postings(rot, plan_id) if p["pinned"]] and len(_postings(rot, plan_id)) == 6
    assert api.delete(f"/api/rotation/plans/{plan_id}/constraints/{forbid_id}").status_code == 204
    assert len(_plan(rot, plan_id)["forbids"]) == 0


def test_a_pin_that_breaks_a_rule_makes_the_plan_infeasible_and_says_which(app, rot):
    from service.extensions import db
    from service.people.models import Person

    with app.app_context():
        db.session.get(Person, rot["A1"]).rotation_exempt = True
        db.session.commit()
    plan_id = _create(rot, run=False)
    _run(plan_id)
    rot["api"].post(f"/api/rotation/plans/{plan_id}/pins",
                    json={"person_id": rot["A1"], "month": mtext(M1), "host_section_id": rot["B"]})
    rot["api"].post(f"/api/rotation/plans/{plan_id}/compute")
    _run(plan_id)
    plan = _plan(rot, plan_id)
    assert plan["status"] == "infeasible"
    assert plan["reasons"][0]["rule"] == "pin_invalid" and plan["reasons"][0]["detail"]["rule"] == "exempt"
    assert plan["reasons"][0]["section_id"] == rot["A"] and plan["reasons"][0]["month"] == mtext(M1)


def test_what_if_answers_with_the_cost_of_the_next_best_plan(app, rot):
    plan_id = _create(rot, rules={"encouraged_pairs": [[rot["A"], rot["B"]]], "host_cap_per_month": 2})
    question = {"section_id": rot["A"], "host_section_id": rot["B"]}
    r = rot["api"].post(f"/api/rotation/plans/{plan_id}/what-if", json=question)
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["kind"] == "what_if"
    queued = rot["api"].get(r.headers["Location"]).get_json()
    assert queued["status"] == "queued" and queued["result"] is None
    body = _run_job(rot, plan_id, r)
    again = rot["api"].post(f"/api/rotation/plans/{plan_id}/what-if", json=question)
    assert again.status_code == 202  # asked again: the same job, already answered
    assert (again.get_json()["job_id"], again.get_json()["status"]) == (r.get_json()["job_id"], "finished")
    assert body["delta"] == pytest.approx(body["objective_after"] - body["objective_before"])
    assert body["delta"] >= 1.0 - 1e-9  # A has to go elsewhere: at least one pairing miss a month
    assert not [p for p in body["postings"] if (p["home_section_id"], p["host_section_id"]) == (rot["A"], rot["B"])]
    assert _plan(rot, plan_id)["forbids"] == []  # a question changes nothing


# --- approval into the register ------------------------------------------------------------------

def test_approval_schedules_postings_in_the_register_and_notifies(app, rot):
    from service.extensions import db
    from service.outbox.models import OutboxMessage
    from service.people.models import Person, Posting
    from service.people.register import sync_current_postings

    plan_id = _create(rot)
    api = rot["api"]
    r = api.post(f"/api/rotation/plans/{plan_id}/approve")
    assert r.status_code == 200 and r.get_json()["status"] == "approved"
    assert api.post(f"/api/rotation/plans/{plan_id}/approve").status_code == 409
    postings = _postings(rot, plan_id)
    assert all(p["status"] == "approved" and p["out_posting_id"] for p in postings)
    p = next(x for x in postings if x["month"] == mtext(M1))
    who, home, host = p["person_id"], p["home_section_id"], p["host_section_id"]

    def where(day):
        rows = api.get("/api/people", query_string={"as_of": day.isoformat(), "section_id": host}).get_json()
        return who in [x["id"] for x in rows]

    assert not where(M1 - timedelta(days=1)) and where(M1) and where(M1 + timedelta(days=20))
    assert not where(M2)
    hist = api.get(f"/api/people/{who}/history").get_json()
    assert [(h["section_id"], h["reason"]) for h in hist[-2:]] == [(host, "rotation"), (home, "rotation_return")]
    assert hist[-2]["valid_from"] == M1.isoformat() and hist[-2]["valid_to"] == M2.isoformat()
    with app.app_context():
        sync_current_postings(M1 + timedelta(days=3))
        assert db.session.get(Person, who).section_id == host
        sync_current_postings(M2)
        assert db.session.get(Person, who).section_id == home
        keys = set(db.session.scalars(select(OutboxMessage.dedupe_key)))
        assert f"rotation-approved:{p['id']}" in keys
        chiefs = {rot["chief_A"], rot["chief_B"], rot["chief_C"]}
        leader_keys = {k for k in keys if k.startswith(f"rotation-approved:{p['id']}:leader:")}
        assert {int(k.rsplit(":", 1)[1]) for k in leader_keys} == {
            c for c in chiefs if db.session.get(Person, c).section_id in (home, host)}
        assert db.session.scalar(select(func.count()).select_from(Posting).where(Posting.reason == "rotation")) == 6


def test_week_before_notices_are_sent_once(app, rot):
    from service.extensions import db
    from service.outbox.models import OutboxMessage
    from workers.rotation import send_rotation_notices

    plan_id = _create(rot)
    assert rot["api"].post(f"/api/rotation/plans/{plan_id}/approve").status_code == 200
    with app.app_context():
        assert send_rotation_notices((M1 - timedelta(days=10)).isoformat()) == 0
        sent = send_rotation_notices((M1 - timedelta(days=7)).isoformat())
        assert sent == 3 * 3  # three people, each with their two chiefs
        assert send_rotation_notices((M1 - timedelta(days=6)).isoformat()) == 0
        keys = list(db.session.scalars(select(OutboxMessage.dedupe_key).where(
            OutboxMessage.dedupe_key.like("rotation-starts:%"))))
        assert len(keys) == len(set(keys)) == 9


# --- after approval: conflicts and repair --------------------------------------------------------

def test_new_leave_over_a_posting_is_flagged_and_repaired_minimally(app, rot):
    from service.extensions import db
    from service.leave.models import LeaveRequest
    from service.leave.policy import ensure_kinds, kind_by_code
    from service.people.models import Posting
    from workers.rotation import check_rotation_conflicts

    plan_id = _create(rot)
    api = rot["api"]
    assert api.post(f"/api/rotation/plans/{plan_id}/approve").status_code == 200
    before = _postings(rot, plan_id)
    hit = next(p for p in before if p["month"] == mtext(M2) and p["home_section_id"] == rot["A"])
    with app.app_context():
        ensure_kinds()
        db.session.add(LeaveRequest(person_id=hit["person_id"], kind_id=kind_by_code("annual").id,
                                    start_date=M2 + timedelta(days=9), end_date=M2 + timedelta(days=12),
                                    days=Decimal(4), status="approved"))
        db.session.commit()
        assert check_rotation_conflicts() == 1
    plan = _plan(rot, plan_id)
    assert [(c["rule"], c["detail"]["person_id"]) for c in plan["conflicts"]] == [("on_leave", hit["person_id"])]
    listed = api.get(f"/api/rotation/plans/{plan_id}/conflicts").get_json()["conflicts"]
    assert [(c["rule"], c["detail"]["person_id"]) for c in listed] == [("on_leave", hit["person_id"])]
    proposal = _run_job(rot, plan_id, api.post(f"/api/rotation/plans/{plan_id}/repair", json={"apply": False}))
    assert proposal["applied"] is False
    assert [x["person_id"] for x in proposal["removed"]] == [hit["person_id"]]
    assert len(proposal["added"]) == 1 and proposal["added"][0]["home_section_id"] == rot["A"]
    assert _postings(rot, plan_id) == before  # a proposal changes nothing
    r = api.post(f"/api/rotation/plans/{plan_id}/repair")
    again = api.post(f"/api/rotation/plans/{plan_id}/repair")
    assert again.get_json()["job_id"] == r.get_json()["job_id"]  # the same request is one job
    done = _run_job(rot, plan_id, r)
    assert done["applied"] is True and [x["person_id"] for x in done["removed"]] == [hit["person_id"]]
    assert _run_job(rot, plan_id, again) == done  # run twice: the answer, nothing redone
    assert _plan(rot, plan_id)["conflicts"] == []
    after = _postings(rot, plan_id)
    kept = {(p["person_id"], p["month"], p["host_section_id"]) for p in before if p["id"] != hit["id"]}
    assert kept <= {(p["person_id"], p["month"], p["host_section_id"]) for p in after}
    new = [p for p in after if p["month"] == mtext(M2) and p["home_section_id"] == rot["A"]]
    assert len(new) == 1 and new[0]["person_id"] != hit["person_id"] and new[0]["status"] == "approved"
    cancelled = _postings(rot, plan_id, status="cancelled")
    assert [p["id"] for p in cancelled] == [hit["id"]]
    with app.app_context():
        # The register no longer posts the person on leave; it posts the replacement.
        rows = db.session.scalars(select(Posting).where(Posting.person_id == hit["person_id"])
                                  .order_by(Posting.valid_from)).all()
        assert all(r.reason != "rotation" or r.valid_from != M2 for r in rows)
        assert [r.valid_to for r in rows[:-1]] == [r.valid_from for r in rows[1:]]  # no holes
        assert db.session.scalar(select(Posting).where(Posting.person_id == new[0]["person_id"],
                                                       Posting.reason == "rotation", Posting.valid_from == M2))
    assert api.get(f"/api/rotation/plans/{plan_id}/conflicts").get_json()["conflicts"] == []


def test_a_cancelled_posting_emails_the_person_and_both_chiefs_once(app, rot):
    from service.extensions import db
    from service.leave.models import LeaveRequest
    from service.leave.policy import ensure_kinds, kind_by_code
    from service.outbox.models import OutboxMessage
    from service.people.models import Person

    plan_id = _create(rot)
    api = rot["api"]
    assert api.post(f"/api/rotation/plans/{plan_id}/approve").status_code == 200
    hit = next(p for p in _postings(rot, plan_id) if p["month"] == mtext(M2))
    with app.app_context():
        ensure_kinds()
        db.session.add(LeaveRequest(person_id=hit["person_id"], kind_id=kind_by_code("annual").id,
                                    start_date=M2, end_date=M2 + timedelta(days=2),
                                    days=Decimal(3), status="approved"))
        db.session.commit()
    _run_job(rot, plan_id, api.post(f"/api/rotation/plans/{plan_id}/repair"))
    _run_job(rot, plan_id, api.post(f"/api/rotation/plans/{plan_id}/repair"))  # nothing left: no more mail
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"rotation-cancelled:{hit['id']}%"))).all()
        chiefs = {c for c in (rot["chief_A"], rot["chief_B"], rot["chief_C"])
                  if db.session.get(Person, c).section_id in (hit["home_section_id"], hit["host_section_id"])}
        assert sorted(r.recipient_id for r in rows) == sorted([hit["person_id"], *chiefs])
        person_mail = next(r for r in rows if r.recipient_id == hit["person_id"])
        assert person_mail.kind == "rotation_cancelled" and mtext(M2) in person_mail.subject
        assert {r.kind for r in rows if r.recipient_id in chiefs} == {"rotation_cancelled_leader"}
        assert len(db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like("rotation-cancelled:%"))).all()) == 3


def test_what_if_is_one_job_per_question_and_stale_after_a_recompute(app, rot, monkeypatch):
    plan_id = _create(rot)
    api = rot["api"]
    url = f"/api/rotation/plans/{plan_id}/what-if"
    question = {"section_id": rot["A"], "month": mtext(M1)}
    first, second = api.post(url, json=question), api.post(url, json=question)
    assert first.get_json()["job_id"] == second.get_json()["job_id"]
    other = api.post(url, json={"section_id": rot["B"], "month": mtext(M1)})
    assert other.get_json()["job_id"] != first.get_json()["job_id"]
    assert api.post(f"/api/rotation/plans/{plan_id}/compute").status_code == 202  # a new version
    answer = _run_job(rot, plan_id, first)
    assert answer["stale"] is True  # asked about the version that was recomputed
    assert api.get(f"/api/rotation/plans/{plan_id}/jobs/rotation-what-if-{plan_id}-v9-x").status_code == 404
    assert api.get(f"/api/rotation/plans/{plan_id}/jobs/rotation-plan-{plan_id}-v1").status_code == 404

    def down():
        raise ConnectionError("redis down")

    monkeypatch.setattr("service.jobs.queue", down)
    monkeypatch.setattr("service.rotation.plans.job_result", lambda job_id: None)
    r = api.post(url, json={"person_id": rot["A1"]})
    assert r.status_code == 503


def test_someone_leaving_is_a_conflict(app, rot):
    plan_id = _create(rot)
    api = rot["api"]
    assert api.post(f"/api/rotation/plans/{plan_id}/approve").status_code == 200
    hit = next(p for p in _postings(rot, plan_id) if p["month"] == mtext(M2))
    assert api.patch(f"/api/people/{hit['person_id']}", json={"left_on": (M1 + timedelta(days=5)).isoformat()}).status_code == 200
    listed = api.get(f"/api/rotation/plans/{plan_id}/conflicts").get_json()["conflicts"]
    assert any(c["detail"].get("person_id") == hit["person_id"] for c in listed)
    proposal = _run_job(rot, plan_id, api.post(f"/api/rotation/plans/{plan_id}/repair", json={"apply": False}))
    assert hit["person_id"] in [x["person_id"] for x in proposal["removed"]]


# --- bad input ----------------------------------------------------------------------------------

BAD_PLANS = [
    ({"name": ""}, "name"),
    ({"first_month": "2027-13"}, "first_month"),
    ({"first_month": "27-01"}, "first_month"),
    ({"first_month": 202701}, "first_month"),
    ({"last_month": "1999-01"}, "last_month"),
    ({"section_ids": [1]}, "section_ids"),
    ({"section_ids": "A,B"}, "section_ids"),
    ({"section_ids": [2**31, 1]}, "section_ids"),
    ({"rules": {"sends_per_month": 0}}, "rules"),
    ({"rules": {"host_cap_per_month": "1"}}, "rules"),
    ({"rules": {"encouraged_pairs": [[1]]}}, "rules"),
    ({"rules": {"avoid_pairs": [[5, 5]]}}, "rules"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize("change,field", BAD_PLANS)
def test_bad_plans_are_rejected_naming_the_field_and_change_nothing(app, rot, change, field):
    from service.rotation.models import RotationPlan

    r = rot["api"].post("/api/rotation/plans", json=_body(rot, **change))
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["errors"]["json"]
    assert _count(app, RotationPlan) == 0


def test_unknown_references_are_named(app, rot):
    from service.rotation.models import RotationConstraint, RotationPlan

    api = rot["api"]
    r = api.post("/api/rotation/plans", json=_body(rot, section_ids=[rot["A"], 99999]))
    assert r.status_code == 422 and "section_ids" in r.get_json()["errors"]["json"]
    r = api.post("/api/rotation/plans", json=_body(rot, rules={"avoid_pairs": [[rot["A1"], 99999]]}))
    assert r.status_code == 422 and "rules.avoid_pairs" in r.get_json()["errors"]["json"]
    r = api.post("/api/rotation/plans", json=_body(rot, rules={"encouraged_pairs": [[rot["A"], 99999]]}))
    assert r.status_code == 422
    assert _count(app, RotationPlan) == 0
    plan_id = _create(rot)
    url = f"/api/rotation/plans/{plan_id}"
    cases = [
        ("/pins", {"person_id": 99999, "month": mtext(M1), "host_section_id": rot["B"]}, "person_id"),
        ("/pins", {"person_id": rot["A1"], "month": mtext(M3), "host_section_id": rot["B"]}, "month"),
        ("/pins", {"person_id": rot["A1"], "month": mtext(M1), "host_section_id": rot["A"]}, "host_section_id"),
        ("/pins", {"person_id": rot["A1"], "month": mtext(M1)}, "host_section_id"),
        ("/forbids", {"month": mtext(M1)}, "person_id"),
        ("/forbids", {"section_id": 12345}, "section_id"),
        ("/what-if", {"host_section_id": rot["A"]}, "person_id"),
    ]
    for path, body, field in cases:
        r = api.post(url + path, json=body)
        assert r.status_code == 422, (path, body, r.get_json())
        assert field in r.get_json()["errors"]["json"], (path, r.get_json())
    assert _count(app, RotationConstraint) == 0
    assert api.get("/api/rotation/plans/99999").status_code == 404
    assert api.post(f"/api/rotation/plans/{2**40}/approve").status_code == 404
    assert api.post(f"{url}/repair").status_code == 409  # only approved plans are repaired


def test_a_register_change_inside_a_posting_month_blocks_approval_and_changes_nothing(app, rot):
    from service.extensions import db
    from service.people.models import Posting

    plan_id = _create(rot)
    p = next(x for x in _postings(rot, plan_id) if x["month"] == mtext(M2))
    r = rot["api"].patch(f"/api/people/{p['person_id']}",
                         json={"post": "副主任科员", "effective_from": (M2 + timedelta(days=10)).isoformat()})
    assert r.status_code == 200
    with app.app_context():
        rows_before = db.session.scalar(select(func.count()).select_from(Posting))
    r = rot["api"].post(f"/api/rotation/plans/{plan_id}/approve")
    assert r.status_code == 409 and "inside the rotation month" in r.get_json()["message"]
    assert _plan(rot, plan_id)["status"] == "proposed"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Posting)) == rows_before
    assert all(x["status"] == "proposed" for x in _postings(rot, plan_id))


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                     max_leaves=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["name", "first_month", "last_month", "section_ids", "rules"]), _JSON,
                       max_size=5),
       st.dictionaries(st.sampled_from(["person_id", "month", "host_section_id", "section_id"]), _JSON, max_size=4))
def test_generated_bodies_never_500(app, rot, plan_body, pin_body):
    r = rot["api"].post("/api/rotation/plans", json=_body(rot, **plan_body))
    assert r.status_code in (202, 422), r.get_json()
    if r.status_code == 202:
        plan_id = r.get_json()["plan_id"]
        _run(plan_id)
        for path in ("pins", "forbids", "what-if"):
            answer = rot["api"].post(f"/api/rotation/plans/{plan_id}/{path}", json=pin_body)
            assert answer.status_code in (201, 202, 409, 422), (path, answer.get_json())
