"""REST API of care: settings, hospital cases and visit tasks, health-check campaigns and slots."""
from __future__ import annotations

from flask import current_app, g, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import fields
from sqlalchemy import select

from schemas.care import (
    AppointmentPatchSchema, AppointmentQuerySchema, AppointmentSchema, CareSettingsPatchSchema, AssignJobSchema, CampaignPatchSchema, CampaignSchema,
    CareSettingsSchema, HospitalCaseSchema, SwapDecisionSchema, SwapRequestSchema, VisitCloseSchema,
    TaskCaseSchema, VisitTaskQuerySchema, VisitTaskSchema,
)
from service import audit
from service.api_support import authenticate_api, field_error, get_or_404, paginate, require
from service.auth.permissions import can, leads
from service.care.campaigns import check_attendance, check_slot_has_room, decide_swap
from service.care.models import (
    Appointment, ClinicDaySlot, HealthCheckCampaign, HospitalCase, SwapRequest, VisitTask,
)
from service.care.settings import care_settings
from service.care.visits import close_task, report_case
from service.clock import unit_today
from service.extensions import db
from service.people.models import Person
from service.care.availability import unit_working_day

blp = Blueprint("care_api", __name__, url_prefix="/api/care",
                description="Care: birthdays, hospital visits, the health-check campaign")
blp.before_request(authenticate_api)

_SETTING_FIELDS = tuple(CareSettingsSchema().fields)


def _raw(obj, schema_class) -> dict:
    # The response schema serialises; here only the values (nested ones filled in by the callers).
    return {name: getattr(obj, name, None) for name, f in schema_class().fields.items()
            if not isinstance(f, (fields.Nested, fields.List))}


def dump_task(task: VisitTask, today=None, with_case: bool = True) -> dict:
    data = _raw(task, VisitTaskSchema)
    data["status"] = task.colour(today or unit_today())
    if with_case:
        data["case"] = _raw(task.case, TaskCaseSchema)
    return data


def dump_case(case: HospitalCase) -> dict:
    data = _raw(case, TaskCaseSchema)
    today = unit_today()
    data["tasks"] = [dump_task(t, today, with_case=False) for t in case.tasks]
    return data


@blp.route("/settings")
class Settings(MethodView):
    @blp.response(200, CareSettingsSchema)
    def get(self):
        """The unit's care settings (defaults from domain.md until HR changes them)"""
        require("read", "care_settings")
        return care_settings()

    @blp.arguments(CareSettingsPatchSchema(partial=True))
    @blp.response(200, CareSettingsSchema)
    def patch(self, data):
        """Change care settings"""
        require("write", "care_settings")
        row = care_settings(for_update=True)
        audit.update(row, data, "care_settings", 1)
        db.session.commit()
        return row


@blp.route("/hospital-cases")
class HospitalCases(MethodView):
    @blp.response(200, HospitalCaseSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Hospital cases the actor may see (HR: all; a leader: people they lead; anyone: their own)"""
        require("read", "care_case")
        stmt = select(HospitalCase).order_by(HospitalCase.admitted_on.desc(), HospitalCase.id.desc())
        if g.actor.access_role != "hr":
            people = db.session.scalars(select(Person)).unique().all()
            visible = [p.id for p in people if p.id == g.actor.id or leads(g.actor, p)]
            stmt = stmt.where(HospitalCase.person_id.in_(visible))
        return [dump_case(c) for c in paginate(stmt, pagination_parameters)]

    @blp.arguments(HospitalCaseSchema)
    @blp.response(201, HospitalCaseSchema)
    def post(self, data):
        """Report a hospital stay (HR, a leader of the person, or the person); creates visit tasks"""
        person = db.session.get(Person, data["person_id"])
        if person is None:
            field_error(422, "person_id", _("No person with id %(id)s.", id=data["person_id"]))
        require("write", "care_case", person)
        case = report_case(data, person, g.actor, unit_today(), care_settings())
        audit.record("create", "care_case", case.id, {"person_id": [None, person.id]})
        db.session.commit()
        return dump_case(case), 201, {"Location": url_for("care_api.HospitalCaseById", case_id=case.id)}


@blp.route("/hospital-cases/<int:case_id>")
class HospitalCaseById(MethodView):
    @blp.response(200, HospitalCaseSchema)
    def get(self, case_id):
        """One hospital case with its visit tasks"""
        case = get_or_404(HospitalCase, case_id, "hospital case")
        if not can(g.actor, "read", "care_case", case.person, token_scope=g.token_scope):
            abort(404, message=_("No hospital case with id %(id)s.", id=case_id))
        return dump_case(case)


@blp.route("/visit-tasks")
class VisitTasks(MethodView):
    @blp.arguments(VisitTaskQuerySchema, location="query")
    @blp.response(200, VisitTaskSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Visit tasks: a leader's own; HR sees all"""
        require("read", "visit_task")
        stmt = select(VisitTask).order_by(VisitTask.due_on, VisitTask.id)
        if g.actor.access_role != "hr":
            stmt = stmt.where(VisitTask.leader_id == g.actor.id)
        if "open" in query:
            stmt = stmt.where(VisitTask.closed_on.is_(None) if query["open"] else VisitTask.closed_on.is_not(None))
        today = unit_today()
        return [dump_task(t, today) for t in paginate(stmt, pagination_parameters)]


@blp.route("/visit-tasks/<int:task_id>/close")
class VisitTaskClose(MethodView):
    @blp.arguments(VisitCloseSchema)
    @blp.response(200, VisitTaskSchema)
    @blp.alt_response(409, description="Already closed, or the yearly allowance cap would be exceeded")
    def post(self, data, task_id):
        """Close a visit task: visited / phoned / by proxy (the latter two for out-of-town stays)"""
        task = get_or_404(VisitTask, task_id, "visit task")
        require("write", "visit_task", task)
        close_task(task, data, g.actor, unit_today(), care_settings())
        audit.record("close", "visit_task", task.id, {"outcome": [None, task.outcome],
                                                      "allowance_yuan": [None, task.allowance_yuan]})
        db.session.commit()
        return dump_task(task)


# --- health-check campaign ---------------------------------------------------------------------


def _set_days(campaign: HealthCheckCampaign, days: list[dict]) -> None:
    is_working_day = unit_working_day()
    for index, d in enumerate(days):
        if not is_working_day(d["day"]):
            field_error(422, f"days.{index}.day", _("%(day)s is not a working day.", day=d["day"].isoformat()))
    by_day = {d.day: d for d in campaign.days}
    wanted = {d["day"] for d in days}
    for d in list(campaign.days):
        if d.day not in wanted:
            campaign.days.remove(d)
    for d in days:
        # A PATCH loads the nested days partially, without the defaults: a missing capacity is 0.
        places = {key: d.get(key, 0) for key in ("capacity_am", "capacity_pm", "capacity_day")}
        row = by_day.get(d["day"])
        if row is None:
            campaign.days.append(ClinicDaySlot(day=d["day"], **places))
        else:
            row.capacity_am, row.capacity_pm, row.capacity_day = places.values()


@blp.route("/campaigns")
class Campaigns(MethodView):
    @blp.response(200, CampaignSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Health-check campaigns"""
        require("read", "healthcheck")
        return paginate(select(HealthCheckCampaign).order_by(HealthCheckCampaign.id.desc()), pagination_parameters)

    @blp.arguments(CampaignSchema)
    @blp.response(201, CampaignSchema)
    def post(self, data):
        """Open a campaign: clinic days with capacity, eligibility, notice"""
        require("write", "healthcheck")
        days = data.pop("days")
        data.setdefault("section_share", care_settings().healthcheck_section_share)
        campaign = HealthCheckCampaign(**data)
        _set_days(campaign, days)
        db.session.add(campaign)
        db.session.flush()
        audit.record("create", "healthcheck", campaign.id, {"name": [None, campaign.name]})
        db.session.commit()
        return campaign, 201, {"Location": url_for("care_api.CampaignById", campaign_id=campaign.id)}


@blp.route("/campaigns/<int:campaign_id>")
class CampaignById(MethodView):
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id):
        """One campaign"""
        require("read", "healthcheck")
        return get_or_404(HealthCheckCampaign, campaign_id, "campaign")

    # Top-level fields are optional; each clinic day given is complete (not partial).
    @blp.arguments(CampaignPatchSchema(partial=tuple(CampaignPatchSchema().load_fields)))
    @blp.response(200, CampaignSchema)
    def patch(self, data, campaign_id):
        """Change a campaign; ``days`` replaces the list (assign again to apply it)"""
        require("write", "healthcheck")
        campaign = get_or_404(HealthCheckCampaign, campaign_id, "campaign")
        if "days" in data:
            _set_days(campaign, data.pop("days"))
        for key, value in data.items():
            setattr(campaign, key, value)
        audit.record("update", "healthcheck", campaign.id, {k: [None, str(v)] for k, v in data.items()})
        db.session.commit()
        return campaign


def enqueue_assignment(campaign_id: int) -> str:
    from service.jobs import queue

    job = queue().enqueue("workers.care.assign_healthcheck_slots", campaign_id, job_timeout=1800)
    return job.id


@blp.route("/campaigns/<int:campaign_id>/assign")
class CampaignAssign(MethodView):
    @blp.response(202, AssignJobSchema)
    def post(self, campaign_id):
        """Give every eligible person a slot (a worker job; people already placed stay where they can)"""
        require("write", "healthcheck")
        campaign = get_or_404(HealthCheckCampaign, campaign_id, "campaign")
        try:
            job_id = enqueue_assignment(campaign.id)
        except Exception:
            current_app.logger.exception("enqueue failed")
            abort(503, message=_("The job queue is unavailable; try again shortly."))
        return {"job_id": job_id, "campaign_id": campaign.id}


@blp.route("/campaigns/<int:campaign_id>/appointments")
class CampaignAppointments(MethodView):
    @blp.arguments(AppointmentQuerySchema, location="query")
    @blp.response(200, AppointmentSchema(many=True))
    @blp.paginate()
    def get(self, query, campaign_id, pagination_parameters):
        """Everyone's slot in a campaign (HR)"""
        require("write", "healthcheck")
        campaign = get_or_404(HealthCheckCampaign, campaign_id, "campaign")
        stmt = select(Appointment).where(Appointment.campaign_id == campaign.id).order_by(
            Appointment.day, Appointment.half, Appointment.id)
        if "status" in query:
            stmt = stmt.where(Appointment.status == query["status"])
        return paginate(stmt, pagination_parameters)


@blp.route("/appointments/mine")
class MyAppointments(MethodView):
    @blp.response(200, AppointmentSchema(many=True))
    def get(self):
        """My own health-check slots"""
        return db.session.scalars(select(Appointment).where(Appointment.person_id == g.actor.id)
                                  .order_by(Appointment.id.desc())).all()


@blp.route("/appointments/<int:appointment_id>")
class AppointmentById(MethodView):
    @blp.response(200, AppointmentSchema)
    def get(self, appointment_id):
        """One appointment (HR, or its person)"""
        a = get_or_404(Appointment, appointment_id, "appointment")
        if not can(g.actor, "read", "appointment", a.person, token_scope=g.token_scope):
            abort(404, message=_("No appointment with id %(id)s.", id=appointment_id))
        return a

    @blp.arguments(AppointmentPatchSchema)
    @blp.response(200, AppointmentSchema)
    def patch(self, data, appointment_id):
        """HR: mark attended / missed / follow-up advised (missed is rebooked), or set a date window
        or preferred half-day for the next assignment"""
        require("write", "healthcheck")
        a = get_or_404(Appointment, appointment_id, "appointment")
        today = unit_today()
        start = data.get("window_start", a.window_start)
        end = data.get("window_end", a.window_end)
        if start and end and end < start:
            field_error(422, "window_end", _("The window ends before it starts."))
        rebook = False
        if "status" in data:
            rebook = check_attendance(a, data["status"], today)
            if rebook:
                a.missed_on = a.day
        audit.update(a, data, "appointment", a.id)
        db.session.commit()
        if rebook:
            try:
                enqueue_assignment(a.campaign_id)
            except Exception:  # the missed row is saved; the next run rebooks it
                current_app.logger.warning("could not enqueue the rebooking", exc_info=True)
        return a


@blp.route("/appointments/<int:appointment_id>/swap-requests")
class SwapRequests(MethodView):
    @blp.arguments(SwapRequestSchema)
    @blp.response(201, SwapRequestSchema)
    def post(self, data, appointment_id):
        """Ask for another slot (the person; HR approves)"""
        a = get_or_404(Appointment, appointment_id, "appointment")
        if not can(g.actor, "write", "appointment", a.person, token_scope=g.token_scope):
            abort(404, message=_("No appointment with id %(id)s.", id=appointment_id))
        if a.status != "booked":
            field_error(409, "wanted_day", _("Only a booked appointment can be moved."))
        check_slot_has_room(a, data["wanted_day"], data["wanted_half"], unit_today())
        swap = SwapRequest(appointment_id=a.id, **data)
        db.session.add(swap)
        db.session.flush()
        audit.record("create", "swap_request", swap.id)
        db.session.commit()
        return swap, 201


@blp.route("/swap-requests")
class SwapRequestList(MethodView):
    @blp.response(200, SwapRequestSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Pending swap requests (HR)"""
        require("write", "healthcheck")
        return paginate(select(SwapRequest).where(SwapRequest.status == "pending").order_by(SwapRequest.id),
                        pagination_parameters)


@blp.route("/swap-requests/<int:swap_id>/decision")
class SwapDecision(MethodView):
    @blp.arguments(SwapDecisionSchema)
    @blp.response(200, SwapRequestSchema)
    def post(self, data, swap_id):
        """Approve (the slot must still have room) or reject a swap request"""
        require("write", "healthcheck")
        swap = get_or_404(SwapRequest, swap_id, "swap request")
        decide_swap(swap, data["approve"], g.actor, unit_today())
        db.session.commit()
        return swap


from service.care import overtime_api  # noqa: E402,F401
