"""Rotation postings in the register: host during the month, home before and after, later dated
changes kept; cancelling joins the home rows up again. Plus the pages and a real RQ worker."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import select

from test_rotation_api import M1, _body, _create, _postings, mtext, rot  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent


def _where(person_id, day):
    from service.extensions import db
    from service.people.models import Posting, holds_on_clause

    rows = db.session.scalars(select(Posting).where(Posting.person_id == person_id,
                                                    holds_on_clause(Posting, day))).all()
    assert len(rows) == 1, (day, rows)
    return rows[0].section_id, rows[0].post


def _history(person_id):
    from service.extensions import db
    from service.people.models import Posting

    rows = db.session.scalars(select(Posting).where(Posting.person_id == person_id)
                              .order_by(Posting.valid_from)).all()
    # Contiguous: each row ends where the next starts.
    assert [r.valid_to for r in rows[:-1]] == [r.valid_from for r in rows[1:]]
    return rows


def test_rotation_keeps_a_later_dated_move_and_cancel_restores(app, rot):
    from service.extensions import db
    from service.people.models import Person
    from service.people.register import apply_person
    from service.rotation.register import insert_rotation, remove_rotation

    with app.test_request_context():
        p = db.session.get(Person, rot["A1"])
        # HR already dated a move to C for May and a new post for August.
        apply_person({"section_id": rot["C"], "effective_from": date(2027, 5, 1)}, date(2027, 1, 10), p)
        apply_person({"post": "主任科员", "effective_from": date(2027, 8, 1)}, date(2027, 1, 10), p)
        before = [(r.section_id, r.post, r.valid_from, r.valid_to) for r in _history(p.id)]
        out, back = insert_rotation(p, rot["B"], date(2027, 3, 1), date(2027, 4, 1))
        db.session.commit()
        assert back is not None and back.reason == "rotation_return"
        assert _where(p.id, date(2027, 2, 28))[0] == rot["A"]
        assert _where(p.id, date(2027, 3, 1))[0] == rot["B"]
        assert _where(p.id, date(2027, 3, 31))[0] == rot["B"]
        assert _where(p.id, date(2027, 4, 1))[0] == rot["A"]
        assert _where(p.id, date(2027, 5, 1))[0] == rot["C"]
        assert _where(p.id, date(2027, 8, 1))[1] == "主任科员"
        _history(p.id)
        # A rotation in the month just before the move returns straight into the move.
        out2, back2 = insert_rotation(p, rot["B"], date(2027, 4, 1), date(2027, 5, 1))
        assert back2 is None
        assert _where(p.id, date(2027, 4, 15))[0] == rot["B"] and _where(p.id, date(2027, 5, 1))[0] == rot["C"]
        _history(p.id)
        assert remove_rotation(p, out2.id, None, rot["A"]) and remove_rotation(p, out.id, back.id, rot["A"])
        db.session.commit()
        after = [(r.section_id, r.post, r.valid_from, r.valid_to) for r in _history(p.id)]
        assert after == before
        assert remove_rotation(p, out.id, back.id, rot["A"]) is False  # already gone


def test_a_change_on_the_first_day_resumes_on_the_return_day(app, rot):
    from service.extensions import db
    from service.people.models import Person
    from service.people.register import apply_person
    from service.rotation.register import RegisterConflict, insert_rotation

    with app.test_request_context():
        p = db.session.get(Person, rot["A2"])
        apply_person({"post": "科员二", "effective_from": date(2027, 3, 1)}, date(2027, 1, 10), p)
        insert_rotation(p, rot["C"], date(2027, 3, 1), date(2027, 4, 1))
        db.session.flush()
        assert _where(p.id, date(2027, 2, 1)) == (rot["A"], None)
        assert _where(p.id, date(2027, 3, 5))[0] == rot["C"]
        assert _where(p.id, date(2027, 4, 1)) == (rot["A"], "科员二")
        _history(p.id)
        try:
            insert_rotation(p, rot["B"], date(2027, 3, 1), date(2027, 4, 1))
        except RegisterConflict as exc:
            assert "already on rotation" in exc.message
        else:
            raise AssertionError("a second rotation in the same month must be refused")
        db.session.rollback()


def test_pages_grid_printable_and_history(app, rot, client, login):
    from service.extensions import db
    from service.people.models import Person
    from werkzeug.security import generate_password_hash

    plan_id = _create(rot)
    with app.app_context():
        for key in ("hr", "A1", "B1"):
            db.session.get(Person, rot[key]).password_hash = generate_password_hash("correct horse 1")
        db.session.commit()
    login("HR1")
    page = client.get(f"/rotation/plans/{plan_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "@media print" in html and mtext(M1) in html and "科室A" in html
    names = [p["person_name"] for p in _postings(rot, plan_id)]
    assert all(n in html for n in names)
    assert 'name="viewport"' in html
    assert client.get("/rotation/").status_code == 200
    # Approve through the page (CSRF form), then the person's history lists the posting.
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    r = client.post(f"/rotation/plans/{plan_id}/approve", data={"csrf_token": token})
    assert r.status_code == 302
    who = _postings(rot, plan_id)[0]["person_id"]
    assert "科室" in client.get(f"/rotation/people/{who}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    login("SB1")
    assert client.get("/rotation/").status_code == 403
    assert client.get(f"/rotation/people/{rot['B1']}").status_code == 200
    assert client.get(f"/rotation/people/{rot['A1']}").status_code == 403


def test_queue_down_answers_503_and_keeps_nothing(app, rot, monkeypatch):
    from service.rotation import api as rotation_api
    from service.rotation.models import RotationPlan
    from service.extensions import db
    from sqlalchemy import func

    def broken(plan):
        raise ConnectionError("redis down")

    monkeypatch.setattr(rotation_api, "enqueue_compute", broken)
    r = rot["api"].post("/api/rotation/plans", json=_body(rot))
    assert r.status_code == 503
    from service.audit.models import AuditEntry

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RotationPlan)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.resource == "rotation_plan")) == 0


def test_a_real_rq_worker_computes_the_plan(app, rot, redis_url, database_url):
    from service.extensions import db
    from service.rotation.models import RotationPlan

    r = rot["api"].post("/api/rotation/plans", json=_body(rot))
    assert r.status_code == 202
    plan_id = r.get_json()["plan_id"]
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    rq_bin = str(Path(sys.executable).with_name("rq"))
    done = subprocess.run([rq_bin, "worker", "--burst", "--url", redis_url, "-w", "workers.base.Worker", "default"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    deadline = time.time() + 10
    while time.time() < deadline:
        with app.app_context():
            plan = db.session.get(RotationPlan, plan_id)
            status = plan.status
        if status != "computing":
            break
        time.sleep(0.2)
    assert status == "proposed", done.stdout + done.stderr
    assert len(_postings(rot, plan_id)) == 6


def test_a_real_rq_worker_answers_a_what_if(app, rot, redis_url, database_url):
    plan_id = _create(rot)  # computed in-process; the what-if goes through a real worker
    r = rot["api"].post(f"/api/rotation/plans/{plan_id}/what-if", json={"section_id": rot["A"], "month": mtext(M1)})
    assert r.status_code == 202
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    rq_bin = str(Path(sys.executable).with_name("rq"))
    done = subprocess.run([rq_bin, "worker", "--burst", "--url", redis_url, "-w", "workers.base.Worker", "default"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    answer = rot["api"].get(r.headers["Location"]).get_json()
    assert answer["status"] == "finished", (answer, done.stdout + done.stderr)
    result = answer["result"]
    assert abs(result["delta"] - (result["objective_after"] - result["objective_before"])) < 1e-9
    assert not [p for p in result["postings"] if p["home_section_id"] == rot["A"] and p["month"] == mtext(M1)]
