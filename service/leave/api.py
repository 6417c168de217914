"""REST API of leave: kinds and settings (unit data), requests and decisions, ledger, balances
with their explanation, the month grid, who is on leave, and the unused-leave report."""
from __future__ import annotations

from datetime import date

from flask import g, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy import select

from schemas.leave import (
    AdjustmentSchema, AllocateResultSchema, AllocateSchema, BalanceQuerySchema, BalanceRowSchema, BalanceSchema,
    BalancesQuerySchema, DecisionSchema, GridQuerySchema, LeaveKindPatchSchema, LeaveKindSchema, LeaveRequestCreateSchema,
    LeaveRequestQuerySchema, LeaveRequestSchema, LeaveSettingsPatchSchema, LeaveSettingsSchema, OnLeaveQuerySchema, RejectSchema,
)
from service import audit
from service.api_support import authenticate_api, field_error, get_or_404, paginate, require
from service.auth.permissions import can
from service.clock import unit_today
from service.extensions import db
from service.leave import ledger, policy
from service.leave.care import PAY_MULTIPLE, unused_annual_leave
from service.leave.entitlement import ADJUSTMENT
from service.leave.models import LeaveKind, LeaveRequest
from service.leave.presence import month_grid, people_on_leave
from service.leave.requests import approve, cancel, parts_of, reject, status_label, submit
from service.people.models import Person
from service.workdays.official import is_provisional_year

blp = Blueprint("leave_api", __name__, url_prefix="/api", description="Leave: kinds, requests, approvals, ledger, balances")
blp.before_request(authenticate_api)


def visible_people_ids(actor: Person) -> list[int] | None:
    """Whose leave the actor may read: None for everyone (HR), else self and the people led."""
    if actor.access_role == "hr":
        return None
    ids = [actor.id]
    if actor.access_role == "leader":
        from service.auth.permissions import leads

        ids += [p.id for p in db.session.scalars(select(Person).where(Person.left_on.is_(None))) if leads(actor, p)]
    return ids


def dump_request(req: LeaveRequest) -> dict:
    data = {k: getattr(req, k) for k in (
        "id", "person_id", "start_date", "end_date", "starts_afternoon", "ends_noon", "days", "provisional",
        "status", "reason", "evidence", "approver_ids", "current_approver_id", "decision_note", "decided_by_id",
        "decided_at", "requested_by_id", "created_at")}
    data["person"], data["kind"] = req.person, req.kind
    data["parts"] = [p.__dict__ for p in parts_of(req)]
    return data


# ------------------------------------------------------------------------- kinds and settings

@blp.route("/leave/kinds")
class Kinds(MethodView):
    @blp.response(200, LeaveKindSchema(many=True))
    def get(self):
        """Kinds of leave and their rules (defaults from the national rules, edited by HR)"""
        require("read", "leave_settings")
        return policy.kinds()

    @blp.arguments(LeaveKindSchema)
    @blp.response(201, LeaveKindSchema)
    def post(self, data):
        """Add a kind of leave"""
        require("write", "leave_settings")
        if policy.kind_by_code(data["code"]) is not None:
            field_error(409, "code", _("Leave kind %(code)s exists.", code=data["code"]))
        kind = LeaveKind(**data)
        db.session.add(kind)
        db.session.flush()
        audit.record("create", "leave_kind", kind.id, audit.diff({}, data))
        db.session.commit()
        return kind, 201, {"Location": url_for("leave_api.KindById", kind_id=kind.id)}


@blp.route("/leave/kinds/<int:kind_id>")
class KindById(MethodView):
    @blp.response(200, LeaveKindSchema)
    def get(self, kind_id):
        """One kind of leave"""
        require("read", "leave_settings")
        policy.ensure_kinds()
        return get_or_404(LeaveKind, kind_id, "leave kind")

    @blp.arguments(LeaveKindPatchSchema(partial=True))
    @blp.response(200, LeaveKindSchema)
    def patch(self, data, kind_id):
        """Change a kind's rules (counting, approval, maximum, evidence, active...)"""
        require("write", "leave_settings")
        kind = get_or_404(LeaveKind, kind_id, "leave kind")
        if "code" in data and data["code"] != kind.code:
            field_error(422, "code", _("The code of a kind cannot change; add a new kind instead."))
        audit.update(kind, data, "leave_kind", kind.id)
        db.session.commit()
        return kind


@blp.route("/leave/settings")
class Settings(MethodView):
    @blp.response(200, LeaveSettingsSchema)
    def get(self):
        """The unit's leave settings: tier change rule, carry-over, reminder date, approver chain"""
        require("read", "leave_settings")
        return policy.settings()

    @blp.arguments(LeaveSettingsPatchSchema(partial=True))
    @blp.response(200, LeaveSettingsSchema)
    def patch(self, data):
        """Change the unit's leave settings"""
        require("write", "leave_settings")
        row = policy.settings()
        if row not in db.session:
            db.session.add(row)
        merged = {c: data.get(c, getattr(row, c)) for c in (
            "carry_over_expiry_month", "carry_over_expiry_day", "reminder_month", "reminder_day")}
        errors = LeaveSettingsSchema().validate(merged)
        if errors:
            db.session.rollback()
            field, messages = next(iter(errors.items()))
            field_error(422, field, messages[0])
        audit.update(row, data, "leave_settings", 1)
        db.session.commit()
        return row


# ------------------------------------------------------------------------- requests

@blp.route("/leave/requests")
class Requests(MethodView):
    @blp.arguments(LeaveRequestQuerySchema, location="query")
    @blp.response(200, LeaveRequestSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Leave requests the caller may see (own; leaders: their people's; HR: all)"""
        require("read", "leave")
        stmt = select(LeaveRequest).order_by(LeaveRequest.start_date.desc(), LeaveRequest.id.desc())
        visible = visible_people_ids(g.actor)
        if visible is not None:
            stmt = stmt.where(LeaveRequest.person_id.in_(visible))
        if "person_id" in query:
            stmt = stmt.where(LeaveRequest.person_id == query["person_id"])
        if "section_id" in query:
            stmt = stmt.join(Person, Person.id == LeaveRequest.person_id).where(Person.section_id == query["section_id"])
        if "status" in query:
            stmt = stmt.where(LeaveRequest.status == query["status"])
        if "start" in query:
            stmt = stmt.where(LeaveRequest.end_date >= query["start"])
        if "end" in query:
            stmt = stmt.where(LeaveRequest.start_date <= query["end"])
        if query.get("awaiting_me"):
            stmt = select(LeaveRequest).where(LeaveRequest.status == "pending").order_by(LeaveRequest.start_date)
            rows = [r for r in db.session.scalars(stmt) if can(g.actor, "write", "leave_decision", r)
                    and (g.actor.access_role != "hr" or not r.approver_ids or r.current_approver_id == g.actor.id)]
            pagination_parameters.item_count = len(rows)
            start = (pagination_parameters.page - 1) * pagination_parameters.page_size
            return [dump_request(r) for r in rows[start:start + pagination_parameters.page_size]]
        return [dump_request(r) for r in paginate(stmt, pagination_parameters)]

    @blp.arguments(LeaveRequestCreateSchema)
    @blp.response(201, LeaveRequestSchema)
    @blp.alt_response(409, description="Overlaps another leave, or not enough days left")
    def post(self, data):
        """Ask for leave (for yourself; HR for anyone, and may record it as approved directly)"""
        person = get_or_404(Person, data.get("person_id", g.actor.id), "person")
        require("write", "leave", person)
        if data["record"] and not g.actor.is_hr_admin:
            field_error(403, "record", _("Only HR records leave directly."))
        kind = policy.kind_by_code(data["kind"])
        if kind is None:
            field_error(422, "kind", _("No leave kind %(code)s.", code=data["kind"]))
        req = submit(person, kind, data["start_date"], data["end_date"],
                     starts_afternoon=data["starts_afternoon"], ends_noon=data["ends_noon"],
                     reason=data["reason"], evidence=data["evidence"], actor=g.actor,
                     record=data["record"], today=unit_today())
        db.session.commit()
        return dump_request(req), 201, {"Location": url_for("leave_api.RequestById", request_id=req.id)}


def _pending_for_decision(request_id: int) -> LeaveRequest:
    req = _request_for(request_id)
    if req.status != "pending":
        # Those who may read it learn why nobody can decide it any more.
        field_error(409, "status", _("This request is %(status)s, not pending.", status=status_label(req.status)))
    require("write", "leave_decision", req)
    return req


def _request_for(request_id: int) -> LeaveRequest:
    req = get_or_404(LeaveRequest, request_id, "leave request")
    # The person, the leaders above, HR - and the approvers named on the request - read it.
    if not can(g.actor, "read", "leave_decision", req):
        require("read", "leave", req.person)
    return req


@blp.route("/leave/requests/<int:request_id>")
class RequestById(MethodView):
    @blp.response(200, LeaveRequestSchema)
    def get(self, request_id):
        """One leave request, with its days per year"""
        return dump_request(_request_for(request_id))


@blp.route("/leave/requests/<int:request_id>/approve")
class Approve(MethodView):
    @blp.arguments(DecisionSchema)
    @blp.response(200, LeaveRequestSchema)
    def post(self, data, request_id):
        """Approve (the current approver, or HR): the last approval books the days"""
        req = _pending_for_decision(request_id)
        approve(req, g.actor, data["note"])
        db.session.commit()
        return dump_request(req)


@blp.route("/leave/requests/<int:request_id>/reject")
class Reject(MethodView):
    @blp.arguments(RejectSchema)
    @blp.response(200, LeaveRequestSchema)
    def post(self, data, request_id):
        """Reject, with the reason"""
        req = _pending_for_decision(request_id)
        reject(req, g.actor, data["reason"])
        db.session.commit()
        return dump_request(req)


@blp.route("/leave/requests/<int:request_id>/cancel")
class Cancel(MethodView):
    @blp.response(200, LeaveRequestSchema)
    def post(self, request_id):
        """Cancel (the person before the leave begins, HR at any time): the days return"""
        req = _request_for(request_id)
        require("write", "leave", req.person)
        cancel(req, g.actor, unit_today())
        db.session.commit()
        return dump_request(req)


# ------------------------------------------------------------------------- ledger and balances

def statement_dump(person: Person, year: int | None, as_of: date, account: str) -> dict:
    st = ledger.statement(person.id, year, as_of, account)
    ent = ledger.entitlement_of(person, year) if (account == "annual" and year) else None
    return {
        "person_id": person.id, "account": account, "year": year, "as_of": as_of, "balance": st.balance,
        "booked": st.booked, "pending": st.pending, "available": st.available,
        "provisional": bool(year and is_provisional_year(year)),
        "lines": [{"id": row.id, "effective_on": row.effective_on, "year": row.year, "kind": row.kind,
                   "days": row.days, "running": line.running, "reason": row.reason,
                   "request_id": row.request_id, "text": line.text} for line, row in st.lines],
        "entitlement": None if ent is None else {
            "year": ent.year, "days": ent.days, "steps": [{"code": s.code, "text": s.text} for s in ent.steps]},
    }


@blp.route("/people/<int:person_id>/leave/balance")
class Balance(MethodView):
    @blp.arguments(BalanceQuerySchema, location="query")
    @blp.response(200, BalanceSchema)
    def get(self, query, person_id):
        """A person's balance and its explanation line by line (ledger, and how the entitlement was found)"""
        person = get_or_404(Person, person_id, "person")
        require("read", "leave_ledger", person)
        today = unit_today()
        as_of = query.get("as_of", today)
        year = query.get("year", as_of.year) if query["account"] == "annual" else query.get("year")
        return statement_dump(person, year, as_of, query["account"])


@blp.route("/people/<int:person_id>/leave/adjustments")
class Adjustments(MethodView):
    @blp.arguments(AdjustmentSchema)
    @blp.response(201, BalanceSchema)
    def post(self, data, person_id):
        """HR: a manual adjustment (e.g. compensatory days for overtime), signed, with its reason"""
        person = get_or_404(Person, person_id, "person")
        require("write", "leave_ledger", person)
        on = data.get("effective_on") or unit_today()
        ledger.book(person.id, data["account"], data["year"], ADJUSTMENT, data["days"], on, data["reason"],
                    actor_id=g.actor.id)
        audit.record("adjust", "leave_ledger", person.id, {"days": [None, str(data["days"])],
                                                            "reason": [None, data["reason"]]})
        db.session.commit()
        year = data["year"] if data["account"] == "annual" else None
        return statement_dump(person, year, on, data["account"]), 201


@blp.route("/leave/balances")
class Balances(MethodView):
    @blp.arguments(BalancesQuerySchema, location="query")
    @blp.response(200, BalanceRowSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Balances of everyone the caller may see, summed by the database"""
        require("read", "leave_ledger")
        as_of = query.get("as_of", unit_today())
        year = query.get("year", as_of.year) if query["account"] == "annual" else query.get("year")
        stmt = select(Person).where(Person.left_on.is_(None)).order_by(Person.employee_no)
        visible = visible_people_ids(g.actor)
        if visible is not None:
            stmt = stmt.where(Person.id.in_(visible))
        if "section_id" in query:
            stmt = stmt.where(Person.section_id == query["section_id"])
        people = paginate(stmt, pagination_parameters)
        sums = ledger.balances(year, as_of, query["account"], [p.id for p in people])
        return [{"person_id": p.id, "employee_no": p.employee_no, "name": p.name, "balance": sums.get(p.id, 0)}
                for p in people]


@blp.route("/leave/allocate")
class Allocate(MethodView):
    @blp.arguments(AllocateSchema)
    @blp.response(200, AllocateResultSchema)
    def post(self, data):
        """HR: book the year's annual leave for everyone now (the daily job does it too; idempotent)"""
        require("write", "leave_ledger")
        year = data["year"]
        unit_policy = policy.leave_policy()
        people = db.session.scalars(select(Person).where(
            (Person.left_on.is_(None)) | (Person.left_on >= date(year, 1, 1)))).all()
        changed, skipped = 0, []
        for p in people:
            delta = ledger.allocate(p, year, unit_policy)
            if delta is None:
                skipped.append(p.id)
            elif delta:
                changed += 1
        audit.record("allocate", "leave_ledger", None, {"year": [None, year]})
        db.session.commit()
        return {"year": year, "people": len(people), "changed": changed, "skipped": skipped}


# ------------------------------------------------------------------------- grid, presence, report

@blp.route("/leave/grid")
class Grid(MethodView):
    @blp.arguments(GridQuerySchema, location="query")
    @blp.response(200)
    def get(self, query):
        """A section's leave for a month: a row per person, a cell per day, days marked by the calendar"""
        require("read", "leave")
        from service.people.models import Section

        get_or_404(Section, query["section_id"], "section")
        year, month = map(int, query["month"].split("-"))
        grid = month_grid(query["section_id"], year, month)
        visible = visible_people_ids(g.actor)
        return {
            "month": query["month"], "provisional": grid.provisional,
            "days": [{"date": d.date.isoformat(), "working": d.working, "provisional": d.provisional,
                      "reason": d.reason} for d in grid.days],
            "rows": [{"person_id": row.person.id, "name": row.person.name, "cells": [
                None if c is None or (visible is not None and row.person.id not in visible and c[0].status != "approved")
                else {"request_id": c[0].id, "kind": c[0].kind.code, "status": c[0].status, "half": c[1]}
                for c in row.cells]} for row in grid.rows],
        }


@blp.route("/leave/on-leave")
class OnLeave(MethodView):
    @blp.arguments(OnLeaveQuerySchema, location="query")
    @blp.response(200)
    def get(self, query):
        """Who is on approved leave on a day (or whether one person is)"""
        require("read", "leave")
        ids = [query["person_id"]] if "person_id" in query else None
        away = sorted(people_on_leave(query["day"], ids))
        return {"day": query["day"].isoformat(), "person_ids": away}


@blp.route("/leave/report")
class Report(MethodView):
    @blp.arguments(BalanceQuerySchema, location="query")
    @blp.response(200)
    def get(self, query):
        """Unused annual leave per person (HR: everyone; leaders: their people), pay multiple as information"""
        require("read", "leave_report")
        year = query.get("year", unit_today().year)
        visible = visible_people_ids(g.actor)
        if visible is not None:
            visible = [i for i in visible if i != g.actor.id]
        items = unused_annual_leave(year, visible)
        return {"year": year, "provisional": is_provisional_year(year), "pay_multiple_percent": PAY_MULTIPLE * 100,
                "people": [{"person_id": i.person.id, "employee_no": i.person.employee_no, "name": i.person.name,
                            "days_left": float(i.days)} for i in items]}
