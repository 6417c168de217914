"""Every domain's refusal is a DomainError, answered by one handler: the API's one error shape,
exactly as the views' own try/except blocks answered it before, and nothing the request wrote
before the refusal is kept. Pages show the refusal by the field it names."""
from __future__ import annotations

from datetime import date

import pytest
from flask_smorest import abort
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from wtforms import DateField, StringField

from leave_helpers import assert_field_error, db_state, ledger_rows, set_today
from service.care.visits import CareError
from service.errors import DomainError, api_error_data
from service.leave.requests import LeaveError
from service.people.register import FieldError
from service.rotation.plans import PlanError
from service.talks.records import TalkError

OVERLAP = "This overlaps 事假 from 2026-03-02 – 2026-03-06 (request 7, 待审批)."


def answer(app, error: Exception, path: str = "/api/leave/requests"):
    """The response the app gives when ``error`` leaves a view of ``path``."""
    with app.test_request_context(path, method="POST"):
        try:
            raise error
        except Exception as raised:
            return app.make_response(app.handle_user_exception(raised))


def aborted(status: int, **data) -> HTTPException:
    try:
        abort(status, **data)
    except HTTPException as error:
        return error


# Each domain's error and what its view answered before the handler: field_error(status, field,
# message), or abort(status, message=...) for a plan step refused as a whole.
BEFORE = [
    (LeaveError("start_date", OVERLAP, 409),
     aborted(409, message=OVERLAP, errors={"json": {"start_date": [OVERLAP]}})),
    (LeaveError("reason", "Say why the request is rejected."),
     aborted(422, message="Say why the request is rejected.",
             errors={"json": {"reason": ["Say why the request is rejected."]}})),
    (CareError(409, "allowance_yuan", "超过年度慰问金上限"),
     aborted(409, message="超过年度慰问金上限", errors={"json": {"allowance_yuan": ["超过年度慰问金上限"]}})),
    (FieldError("employee_no", "Employee number SA is taken.", 409),
     aborted(409, message="Employee number SA is taken.",
             errors={"json": {"employee_no": ["Employee number SA is taken."]}})),
    (PlanError("The plan was approved or changed meanwhile."),
     aborted(409, message="The plan was approved or changed meanwhile.")),
    (PlanError("Use YYYY-MM.", 422, "first_month"),
     aborted(422, message="Use YYYY-MM.", errors={"json": {"first_month": ["Use YYYY-MM."]}})),
    (TalkError("talker_ids", "You can only record a talk you held or recorded.", 403),
     aborted(403, message="You can only record a talk you held or recorded.",
             errors={"json": {"talker_ids": ["You can only record a talk you held or recorded."]}})),
]


@pytest.mark.parametrize("error, before", BEFORE, ids=lambda x: getattr(x, "field", None) or type(x).__name__)
def test_the_handler_answers_byte_for_byte_as_the_views_did(app, error, before):
    assert isinstance(error, DomainError)
    new, old = answer(app, error), answer(app, before)
    assert new.status_code == old.status_code == error.status
    assert new.mimetype == "application/json"
    assert new.get_data() == old.get_data()


def test_the_body_names_the_field_and_carries_the_extra_entries():
    error = DomainError("Taken.", status=409, field="code", extra={"clash": {"id": 3}})
    assert api_error_data(error) == {"message": "Taken.", "errors": {"json": {"code": ["Taken."]}, "clash": {"id": 3}}}
    upload = DomainError("The file is empty.", status=400, field="file", location="files")
    assert api_error_data(upload)["errors"] == {"files": {"file": ["The file is empty."]}}
    assert api_error_data(DomainError("No.", status=409)) == {"message": "No."}


def test_the_domain_classes_keep_their_signatures():
    leave = LeaveError("kind", "No.", 409)
    care = CareError(422, "outcome", "No.")
    plan = PlanError("No.")
    person = FieldError("section_id", "No.")
    talk = TalkError("file", "Too big.", 413)
    assert [(e.status, e.field, e.message) for e in (leave, care, plan, person, talk)] == [
        (409, "kind", "No."), (422, "outcome", "No."), (409, None, "No."), (422, "section_id", "No."),
        (413, "file", "Too big.")]
    assert str(leave) == "No."


def test_the_handler_rolls_the_session_back(app):
    from service.extensions import db
    from service.people.models import Section

    with app.test_request_context("/api/sections", method="POST"):
        db.session.add(Section(code="GONE", name="写了又拒"))
        db.session.flush()
        response = app.make_response(app.handle_user_exception(FieldError("code", "Refused.", 409)))
        assert response.status_code == 409
        assert db.session.scalar(select(Section).where(Section.code == "GONE")) is None


def test_a_refusal_after_writes_leaves_nothing_behind(app, office, token_for, monkeypatch):
    """Annual leave in a year not yet allocated: the request books the year's entitlement, then
    finds too few days and is refused; the entitlement it booked is not kept."""
    set_today(monkeypatch, date(2026, 1, 5))
    api = token_for(office["staff_a"])
    # A first request seeds the leave kinds (and books 2026), which would blur the comparison.
    r = api.post("/api/leave/requests", json={"kind": "annual", "start_date": "2026-03-02", "end_date": "2026-03-02"})
    assert r.status_code == 201, r.get_json()
    before = db_state(app)
    # 22 working days of 2027 against 10 days of entitlement.
    r = api.post("/api/leave/requests", json={"kind": "annual", "start_date": "2027-03-01", "end_date": "2027-03-31"})
    body = assert_field_error(r, 409, "kind")
    assert "10" in body["message"]
    assert db_state(app) == before
    assert [row for row in ledger_rows(app, office["staff_a"]) if row[0] == 2027] == []
    # The same path, accepted, does book the year's entitlement: the refused one had written it.
    r = api.post("/api/leave/requests", json={"kind": "annual", "start_date": "2027-03-01", "end_date": "2027-03-01"})
    assert r.status_code == 201, r.get_json()
    assert [kind for year, kind, *_ in ledger_rows(app, office["staff_a"]) if year == 2027] == ["allocation"]


def test_a_refused_plan_step_names_no_field(app, office, token_for):
    """A PlanError refusing the request as a whole: the one shape, without ``errors``."""
    api = token_for(office["hr"])
    created = api.post("/api/rotation/plans", json={
        "name": "2027", "first_month": "2027-01", "last_month": "2027-03",
        "section_ids": [office["section_a"], office["section_b"]]})
    assert created.status_code == 202, created.get_json()
    # Still computing (no worker runs here): only a proposed plan can be approved.
    r = api.post(f"/api/rotation/plans/{created.get_json()['plan_id']}/approve")
    assert r.status_code == 409
    assert set(r.get_json()) == {"code", "status", "message"}, r.get_json()


def test_a_page_shows_an_uncaught_refusal_as_its_4xx(app):
    response = answer(app, LeaveError("status", "This request is cancelled, not pending.", 409), path="/leave/new")
    assert response.status_code == 409 and response.mimetype == "text/html"
    assert "This request is cancelled, not pending." in response.get_data(as_text=True)


class Form(FlaskForm):
    start_date = DateField()
    person = StringField()
    note = StringField()


@pytest.mark.parametrize("field, rename, shown_under", [
    ("start_date", None, "start_date"),   # the form has the field
    ("status", None, "note"),             # it has not: the default
    ("person_id", {"person_id": "person"}, "person"),
])
def test_show_refusal_puts_the_message_under_the_field_and_rolls_back(app, field, rename, shown_under):
    from service.extensions import db
    from service.people.models import Section
    from service.web.refusals import show_refusal

    with app.test_request_context("/leave/new", method="POST"):
        form = Form(prefix="p7", meta={"csrf": False})
        db.session.add(Section(code="GONE", name="写了又拒"))
        db.session.flush()
        show_refusal(form, LeaveError(field, "Refused."), default="note", rename=rename)
        assert {name: list(f.errors) for name, f in form._fields.items() if f.errors} == {shown_under: ["Refused."]}
        assert db.session.scalar(select(Section).where(Section.code == "GONE")) is None
