"""The demo office (`talkcare dev`): people and their recent activity, seeded through the real API."""
from __future__ import annotations

import time
from datetime import date

from sqlalchemy import func, select

from tests.conftest import csrf_of

TODAY = date(2026, 11, 16)


def _seed(app):
    from service.demo.seed import seed_demo

    with app.app_context():
        started = time.perf_counter()
        created = seed_demo("talkcare-demo", today=TODAY)
        return created, time.perf_counter() - started


def _ids(app):
    from service.extensions import db
    from service.people.models import Person

    with app.app_context():
        return dict(db.session.execute(select(Person.employee_no, Person.id)).all())


def test_demo_office_is_lived_in_and_seeded_once(app, token_for):
    from service.auth.models import ApiToken
    from service.extensions import db
    from service.leave.models import LeaveRequest
    from service.outbox.models import OutboxMessage
    from service.talks.models import Talk

    created, seconds = _seed(app)
    assert created > 50
    assert seconds < 30, f"seeding took {seconds:.1f} s"
    ids = _ids(app)
    with app.app_context():
        # The seed's tokens are all revoked.
        tokens = db.session.scalars(select(ApiToken)).all()
        assert tokens and all(t.revoked_at is not None for t in tokens)
        talks_before = db.session.scalar(select(func.count()).select_from(Talk))
        leave_before = db.session.scalar(select(func.count()).select_from(LeaveRequest))
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) > 0

    hr = token_for(ids["HR001"])
    # Leave: a pending request of S101 waiting for its chief, approved and sick leave.
    pending = hr.get("/api/leave/requests", query_string={"status": "pending", "page_size": 50}).get_json()
    s101 = [r for r in pending if r["person_id"] == ids["S101"]]
    assert s101 and s101[0]["current_approver_id"] == ids["C101"] and s101[0]["kind"] == "annual"
    chief = token_for(ids["C101"])
    waiting = chief.get("/api/leave/requests", query_string={"awaiting_me": "true"}).get_json()
    assert [r["id"] for r in waiting] == [s101[0]["id"]]
    approved = hr.get("/api/leave/requests", query_string={"status": "approved", "page_size": 50}).get_json()
    assert len(approved) >= 5 and any(r["kind"] == "sick" for r in approved)
    balance = hr.get(f"/api/people/{ids['S201']}/leave/balance", query_string={"year": 2026}).get_json()
    assert any(line["kind"] == "allocation" or line["days"] > 0 for line in balance["lines"])
    assert any(line["request_id"] for line in balance["lines"])

    # Care: visit tasks (one closed, others open), the parent's case, next month's campaign.
    tasks = hr.get("/api/care/visit-tasks", query_string={"page_size": 50}).get_json()
    colours_of_tasks = {t["status"] for t in tasks}  # open ones turn red once the real clock passes their due day
    assert len(tasks) >= 3 and "green" in colours_of_tasks and colours_of_tasks & {"blue", "red"}
    cases = hr.get("/api/care/hospital-cases").get_json()
    assert {c["relation"] for c in cases} == {None, "parent"}
    campaigns = hr.get("/api/care/campaigns").get_json()
    assert len(campaigns) == 1 and campaigns[0]["year"] == 2026 and len(campaigns[0]["days"]) >= 3
    assert all(d["day"].startswith("2026-12") for d in campaigns[0]["days"])

    # Rotation: a proposed plan for the first half of next year, with explanations.
    plans = hr.get("/api/rotation/plans").get_json()
    assert len(plans) == 1 and plans[0]["status"] == "proposed"
    assert plans[0]["first_month"] == "2027-01" and plans[0]["last_month"] == "2027-06"
    postings = hr.get(f"/api/rotation/plans/{plans[0]['id']}/postings", query_string={"page_size": 100}).get_json()
    assert postings and all(p["why"] for p in postings)

    # Talks: 30-60 of them, integrity and collective ones, one scheduled next week, follow-ups.
    talks = hr.get("/api/talks", query_string={"page_size": 100}).get_json()
    assert 30 <= len(talks) <= 60
    assert sum(t["kind"] == "integrity" for t in talks) >= 2
    assert sum(t["collective"] for t in talks) == 1
    scheduled = [t for t in talks if t["status"] == "scheduled"]
    assert len(scheduled) == 1 and "2026-11-23" <= scheduled[0]["held_at"][:10] <= "2026-11-30"
    assert any(t["signed"] for t in talks)
    follow_ups = hr.get("/api/talks/follow-ups", query_string={"page_size": 100}).get_json()
    assert follow_ups and "green" in {f["status"] for f in follow_ups}
    head = token_for(ids["L001"])
    duties = head.get("/api/talks/obligations", query_string={"on": TODAY.isoformat()}).get_json()
    assert {"done", "overdue"} <= {d["status"] for d in duties}
    colours = set()
    for no in ("C101", "C201", "C401", "L002"):
        found = token_for(ids[no]).get("/api/talks/obligations", query_string={"on": TODAY.isoformat()}).get_json()
        colours |= {d["colour"] for d in found}
    assert colours == {"green", "blue", "red"}

    # The pages show it too (the chief's approvals, the care, talks and rotation pages).
    client = app.test_client()
    page = client.get("/login")
    client.post("/login", data={"employee_no": "C101", "password": "talkcare-demo", "csrf_token": csrf_of(page)})
    approvals = client.get("/leave/approvals")
    assert approvals.status_code == 200 and s101[0]["person_name"] in approvals.get_data(as_text=True)
    for url in ("/leave", "/care/", "/talks/", "/rotation/"):
        assert client.get(url).status_code == 200, url

    # A restart seeds nothing, and no second round of activity.
    again, _ = _seed(app)
    assert again == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Talk)) == talks_before
        assert db.session.scalar(select(func.count()).select_from(LeaveRequest)) == leave_before
