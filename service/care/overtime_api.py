"""REST API of overtime, its care items, and life events (routes on the care blueprint)."""
from __future__ import annotations

from flask import g, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy import select

from schemas.care import (
    CareItemProvidedSchema, CareItemQuerySchema, CareItemSchema, EventKindPatchSchema, EventKindSchema,
    EventTaskCloseSchema, EventTaskSchema, LifeEventSchema, OvertimeDecisionSchema, OvertimePatchSchema,
    OvertimeQuerySchema, OvertimeSchema, VisitTaskQuerySchema,
)
from service import audit
from service.api_support import field_error, get_or_404, paginate, require
from service.auth.permissions import can, leads
from service.care.api import _raw, blp
from service.care.events import close_event_task, ensure_kinds, report_event
from service.care.models import CareItem, EventTask, LifeEvent, LifeEventKind, OvertimeLog
from service.care.overtime import (
    credited_days, decide_overtime, edit_overtime, log_overtime, mark_provided, may_confirm, notify_leaders,
    withdraw_overtime,
)
from service.care.settings import care_settings
from service.clock import unit_today
from service.extensions import db
from service.people.models import Person


def visible_person_ids(actor) -> list[int] | None:
    """The people whose care records the actor sees: None for HR (everyone), else self and led."""
    if actor.access_role == "hr":
        return None
    people = db.session.scalars(select(Person)).unique().all()
    return [p.id for p in people if p.id == actor.id or leads(actor, p)]


def dump_item(item: CareItem, with_overtime: bool = True) -> dict:
    data = _raw(item, CareItemSchema)
    if with_overtime:
        data["overtime"] = dump_overtime(item.overtime, with_items=False)
    return data


def dump_overtime(ot: OvertimeLog, with_items: bool = True) -> dict:
    data = _raw(ot, OvertimeSchema)
    data["credited_days"] = credited_days(ot)
    if with_items:
        data["items"] = [dump_item(i, with_overtime=False) for i in ot.items]
    return data


def dump_event_task(task: EventTask, today=None, with_event: bool = True) -> dict:
    data = _raw(task, EventTaskSchema)
    data["status"] = task.colour(today or unit_today())
    if with_event:
        data["event"] = dump_event(task.event, with_tasks=False)
    return data


def dump_event(event: LifeEvent, with_tasks: bool = True) -> dict:
    data = _raw(event, LifeEventSchema)
    data["kind_code"] = event.kind.code
    if with_tasks:
        today = unit_today()
        data["tasks"] = [dump_event_task(t, today, with_event=False) for t in event.tasks]
    return data


def _person_or_422(person_id: int) -> Person:
    person = db.session.get(Person, person_id)
    if person is None:
        field_error(422, "person_id", _("No person with id %(id)s.", id=person_id))
    return person


def _overtime_or_404(overtime_id: int) -> OvertimeLog:
    ot = get_or_404(OvertimeLog, overtime_id, "overtime record")
    if not can(g.actor, "read", "overtime", ot.person, token_scope=g.token_scope):
        abort(404, message=_("No overtime record with id %(id)s.", id=overtime_id))
    return ot


# --- overtime ----------------------------------------------------------------------------------


@blp.route("/overtime")
class Overtime(MethodView):
    @blp.arguments(OvertimeQuerySchema, location="query")
    @blp.response(200, OvertimeSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Overtime records: one's own and of the people one leads; HR sees all"""
        require("read", "overtime")
        stmt = select(OvertimeLog).order_by(OvertimeLog.day.desc(), OvertimeLog.id.desc())
        visible = visible_person_ids(g.actor)
        if visible is not None:
            stmt = stmt.where(OvertimeLog.person_id.in_(visible))
        if "status" in query:
            stmt = stmt.where(OvertimeLog.status == query["status"])
        if "person_id" in query:
            stmt = stmt.where(OvertimeLog.person_id == query["person_id"])
        if query.get("to_confirm"):
            led = [p.id for p in db.session.scalars(select(Person)).unique().all() if may_confirm(g.actor, p)]
            stmt = stmt.where(OvertimeLog.status == "pending", OvertimeLog.person_id.in_(led))
        return [dump_overtime(o) for o in paginate(stmt, pagination_parameters)]

    @blp.arguments(OvertimeSchema)
    @blp.response(201, OvertimeSchema)
    def post(self, data):
        """Log overtime (one's own, or of someone one leads: then confirmed at once)"""
        person = _person_or_422(data.pop("person_id", None) or g.actor.id)
        require("write", "overtime", person)
        today = unit_today()
        ot = log_overtime(data, person, g.actor, today, care_settings())
        notify_leaders(ot, today)
        audit.record("create", "overtime", ot.id, {"person_id": [None, person.id], "status": [None, ot.status]})
        db.session.commit()
        return dump_overtime(ot), 201, {"Location": url_for("care_api.OvertimeById", overtime_id=ot.id)}


@blp.route("/overtime/<int:overtime_id>")
class OvertimeById(MethodView):
    @blp.response(200, OvertimeSchema)
    def get(self, overtime_id):
        """One overtime record with its care items and the days credited"""
        return dump_overtime(_overtime_or_404(overtime_id))

    @blp.arguments(OvertimePatchSchema(partial=True))
    @blp.response(200, OvertimeSchema)
    def patch(self, data, overtime_id):
        """Change a record; items and credit follow (the person's edit goes back to their leader)"""
        ot = _overtime_or_404(overtime_id)
        require("write", "overtime", ot.person)
        before = {k: getattr(ot, k) for k in ("day", "start_time", "end_time", "hours", "task", "status")}
        edit_overtime(ot, data, g.actor, unit_today(), care_settings())
        notify_leaders(ot, unit_today())
        audit.record("update", "overtime", ot.id, audit.diff(before, {k: getattr(ot, k) for k in before}))
        db.session.commit()
        return dump_overtime(ot)

    @blp.response(200, OvertimeSchema)
    def delete(self, overtime_id):
        """Withdraw a record: its credit is reversed on the ledger, open care items cancelled"""
        ot = _overtime_or_404(overtime_id)
        require("write", "overtime", ot.person)
        before = ot.status
        withdraw_overtime(ot, g.actor, unit_today(), care_settings())
        audit.record("withdraw", "overtime", ot.id, {"status": [before, ot.status]})
        db.session.commit()
        return dump_overtime(ot)


@blp.route("/overtime/<int:overtime_id>/decision")
class OvertimeDecision(MethodView):
    @blp.arguments(OvertimeDecisionSchema)
    @blp.response(200, OvertimeSchema)
    @blp.alt_response(409, description="Not waiting for confirmation")
    def post(self, data, overtime_id):
        """The leader confirms (items and compensatory leave follow) or rejects a pending record"""
        ot = _overtime_or_404(overtime_id)
        require("write", "overtime", ot.person)
        if not may_confirm(g.actor, ot.person):
            abort(403, message=_("Only a leader of this person confirms their overtime."))
        decide_overtime(ot, data["confirm"], data["note"], g.actor, unit_today(), care_settings())
        audit.record("decide", "overtime", ot.id, {"status": ["pending", ot.status]})
        db.session.commit()
        return dump_overtime(ot)


# --- care items --------------------------------------------------------------------------------


@blp.route("/care-items")
class CareItems(MethodView):
    @blp.arguments(CareItemQuerySchema, location="query")
    @blp.response(200, CareItemSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Meals and rides owed for overtime: HR's list (all); one's own and the led people's"""
        require("read", "care_item")
        stmt = select(CareItem).order_by(CareItem.day, CareItem.id)
        visible = visible_person_ids(g.actor)
        if visible is not None:
            stmt = stmt.where(CareItem.person_id.in_(visible))
        if "status" in query:
            stmt = stmt.where(CareItem.status == query["status"])
        return [dump_item(i) for i in paginate(stmt, pagination_parameters)]


@blp.route("/care-items/<int:item_id>/provided")
class CareItemProvided(MethodView):
    @blp.arguments(CareItemProvidedSchema)
    @blp.response(200, CareItemSchema)
    @blp.alt_response(409, description="Not open")
    def post(self, data, item_id):
        """HR: mark a care item provided"""
        item = get_or_404(CareItem, item_id, "care item")
        require("write", "care_item", item.person)
        mark_provided(item, data["note"], g.actor, unit_today())
        audit.record("provide", "care_item", item.id, {"status": ["open", "provided"]})
        db.session.commit()
        return dump_item(item)


# --- life events -------------------------------------------------------------------------------


@blp.route("/event-kinds")
class EventKinds(MethodView):
    @blp.response(200, EventKindSchema(many=True))
    def get(self):
        """Kinds of life events and the care each calls for (defaults: wedding, new baby, bereavement)"""
        require("read", "care_settings")
        ensure_kinds()
        return db.session.scalars(select(LifeEventKind).order_by(LifeEventKind.position, LifeEventKind.id)).all()

    @blp.arguments(EventKindSchema)
    @blp.response(201, EventKindSchema)
    def post(self, data):
        """HR: add a kind of life event"""
        require("write", "care_settings")
        ensure_kinds()
        if db.session.scalar(select(LifeEventKind.id).where(LifeEventKind.code == data["code"])) is not None:
            field_error(409, "code", _("A kind with this code exists already."))
        kind = LifeEventKind(**data)
        db.session.add(kind)
        db.session.flush()
        audit.record("create", "care_event_kind", kind.id, {"code": [None, kind.code]})
        db.session.commit()
        return kind, 201


@blp.route("/event-kinds/<int:kind_id>")
class EventKindById(MethodView):
    @blp.arguments(EventKindPatchSchema(partial=True))
    @blp.response(200, EventKindSchema)
    def patch(self, data, kind_id):
        """HR: change a kind (tasks already created keep their due date and allowance)"""
        require("write", "care_settings")
        kind = get_or_404(LifeEventKind, kind_id, "kind of life event")
        audit.update(kind, data, "care_event_kind", kind.id)
        db.session.commit()
        return kind


@blp.route("/life-events")
class LifeEvents(MethodView):
    @blp.response(200, LifeEventSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Life events the actor may see (HR: all; a leader: the people they lead; anyone: their own)"""
        require("read", "care_case")
        stmt = select(LifeEvent).order_by(LifeEvent.occurred_on.desc(), LifeEvent.id.desc())
        visible = visible_person_ids(g.actor)
        if visible is not None:
            stmt = stmt.where(LifeEvent.person_id.in_(visible))
        return [dump_event(e) for e in paginate(stmt, pagination_parameters)]

    @blp.arguments(LifeEventSchema)
    @blp.response(201, LifeEventSchema)
    @blp.alt_response(409, description="Reported already")
    def post(self, data):
        """Report a life event (HR, a leader of the person, or the person); creates leaders' tasks"""
        person = _person_or_422(data["person_id"])
        require("write", "care_case", person)
        event = report_event(data, person, g.actor, unit_today(), care_settings())
        audit.record("create", "life_event", event.id, {"person_id": [None, person.id],
                                                        "kind": [None, event.kind.code]})
        db.session.commit()
        return dump_event(event), 201, {"Location": url_for("care_api.LifeEventById", event_id=event.id)}


@blp.route("/life-events/<int:event_id>")
class LifeEventById(MethodView):
    @blp.response(200, LifeEventSchema)
    def get(self, event_id):
        """One life event with its tasks"""
        event = get_or_404(LifeEvent, event_id, "life event")
        if not can(g.actor, "read", "care_case", event.person, token_scope=g.token_scope):
            abort(404, message=_("No life event with id %(id)s.", id=event_id))
        return dump_event(event)


@blp.route("/event-tasks")
class EventTasks(MethodView):
    @blp.arguments(VisitTaskQuerySchema, location="query")
    @blp.response(200, EventTaskSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Life-event tasks: a leader's own; HR sees all"""
        require("read", "visit_task")
        stmt = select(EventTask).order_by(EventTask.due_on, EventTask.id)
        if g.actor.access_role != "hr":
            stmt = stmt.where(EventTask.leader_id == g.actor.id)
        if "open" in query:
            stmt = stmt.where(EventTask.closed_on.is_(None) if query["open"] else EventTask.closed_on.is_not(None))
        today = unit_today()
        return [dump_event_task(t, today) for t in paginate(stmt, pagination_parameters)]


@blp.route("/event-tasks/<int:task_id>/close")
class EventTaskClose(MethodView):
    @blp.arguments(EventTaskCloseSchema)
    @blp.response(200, EventTaskSchema)
    @blp.alt_response(409, description="Already closed")
    def post(self, data, task_id):
        """The leader closes a life-event task with a note of what was done"""
        task = get_or_404(EventTask, task_id, "life-event task")
        require("write", "visit_task", task)
        close_event_task(task, data["note"], g.actor, unit_today())
        audit.record("close", "event_task", task.id, {"closed_on": [None, task.closed_on.isoformat()]})
        db.session.commit()
        return dump_event_task(task)
