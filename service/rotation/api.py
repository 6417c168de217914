"""REST API of rotation (轮岗交流): plans computed by a worker, pins and forbids, what-if,
approval into the register, conflicts and repair, a person's rotation history."""
from __future__ import annotations

from flask import current_app, g, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from flask_babel import gettext as _
from sqlalchemy import delete, select

from schemas.rotation import (
    RotationConflictsSchema, RotationForbidSchema, RotationJobResultSchema, RotationJobSchema, RotationPinSchema,
    RotationPlanSchema, RotationPostingQuerySchema, RotationPostingSchema, RotationRepairRequestSchema,
)
from service import audit
from service.api_support import authenticate_api, field_error, get_or_404, paginate, require
from service.clock import unit_today
from service.extensions import db
from service.people.models import Person, Section
from service.rotation.inputs import DEFAULT_RULES, month_key, month_text
from service.rotation.models import OPEN_STATUSES, RotationConstraint, RotationPlan, RotationPosting
from service.rotation.plans import (
    approve, find_conflicts, job_result, jsonable, repair_job_id, request_compute, status_text,
    what_if_job_id,
)
from service.rotation.texts import posting_why, reason_text, unfilled_text

blp = Blueprint("rotation_api", __name__, url_prefix="/api/rotation",
                description="Rotation: plans, pins and forbids, approval, conflicts and repair")
blp.before_request(authenticate_api)


def _sections() -> dict:
    return {s.id: s for s in db.session.scalars(select(Section))}


def dump_plan(plan: RotationPlan) -> dict:
    data = {name: getattr(plan, name) for name in RotationPlanSchema().dump_fields if hasattr(plan, name)}
    sections = _sections()
    data["reasons"] = [{**r, "text": reason_text(r, sections)} for r in plan.reasons or []]
    data["unfilled"] = [{**u, "text": unfilled_text(u)} for u in plan.unfilled or []]
    data["conflicts"] = [{**r, "text": reason_text(r, sections)} for r in plan.conflicts or []]
    data["pins"] = [RotationPinSchema().dump(c) for c in plan.constraints if c.kind == "pin"]
    data["forbids"] = [RotationForbidSchema().dump(c) for c in plan.constraints if c.kind == "forbid"]
    return data


def dump_posting(p: RotationPosting, names: dict | None = None) -> dict:
    data = {name: getattr(p, name) for name in RotationPostingSchema().dump_fields if hasattr(p, name)}
    if names is not None:
        data["person_name"] = names.get(p.person_id)
    data["why"] = posting_why(p.explanation or {})
    return data


def enqueue_compute(plan: RotationPlan) -> str:
    """Queue the compute job for the plan's current version (commit first: the worker reads it)."""
    from service.jobs import queue

    job = queue().enqueue("workers.rotation.compute_plan", plan.id, plan.version, job_timeout=1800,
                          job_id=f"rotation-plan-{plan.id}-v{plan.version}")
    return job.id


def _start_compute(plan: RotationPlan, created: bool):
    """Commit the computing state, queue the job; if the queue is down undo and answer 503."""
    request_compute(plan)  # a PlanError is answered by the app's handler, the new plan rolled back
    db.session.commit()
    try:
        plan.job_id = enqueue_compute(plan)
    except Exception:
        current_app.logger.exception("enqueue failed")
        if created:
            # A rejected creation leaves nothing behind, its audit entry included.
            from service.audit.models import AuditEntry

            db.session.execute(delete(AuditEntry).where(AuditEntry.resource == "rotation_plan",
                                                        AuditEntry.resource_id == str(plan.id)))
            db.session.delete(plan)
        else:
            plan.status = "draft"
        db.session.commit()
        abort(503, message=_("The job queue is unavailable; nothing was changed. Try again shortly."))
    db.session.commit()
    headers = {"Location": url_for("rotation_api.PlanById", plan_id=plan.id)}
    return {"plan_id": plan.id, "job_id": plan.job_id, "status": plan.status, "version": plan.version}, 202, headers


def _check_sections(ids: list[int], field: str = "section_ids") -> None:
    known = set(db.session.scalars(select(Section.id).where(Section.id.in_(ids))))
    missing = [i for i in ids if i not in known]
    if missing:
        field_error(422, field, _("No section with id %(id)s.", id=missing[0]))


def _open_plan(plan_id: int) -> RotationPlan:
    require("write", "rotation_plan")
    plan = get_or_404(RotationPlan, plan_id, "plan")
    if plan.status not in OPEN_STATUSES:
        abort(409, message=_("The plan is %(status)s; pins, forbids and recomputes need a draft, "
                             "proposed or infeasible plan.", status=status_text(plan)))
    return plan


@blp.route("/plans")
class Plans(MethodView):
    @blp.response(200, RotationPlanSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Rotation plans, newest first"""
        require("read", "rotation_plan")
        return paginate(select(RotationPlan).order_by(RotationPlan.id.desc()), pagination_parameters)

    @blp.arguments(RotationPlanSchema)
    @blp.response(202, RotationJobSchema)
    def post(self, data):
        """Create a plan and compute it (a worker job): 202 with the job id, Location to the plan"""
        require("write", "rotation_plan")
        _check_sections(data["section_ids"])
        rules = {**DEFAULT_RULES, **data.get("rules", {})}
        people = {a for pair in rules["avoid_pairs"] for a in pair}
        known = set(db.session.scalars(select(Person.id).where(Person.id.in_(people)))) if people else set()
        for index, pair in enumerate(rules["avoid_pairs"]):
            for pid in pair:
                if pid not in known:
                    field_error(422, "rules.avoid_pairs", _("Pair %(index)d: no person with id %(id)s.",
                                                              index=index, id=pid))
        plan = RotationPlan(name=data["name"], first_month=data["first_month"], last_month=data["last_month"],
                            section_ids=list(data["section_ids"]), rules=rules, status="draft",
                            created_by_id=g.actor.id)
        db.session.add(plan)
        db.session.flush()
        audit.record("create", "rotation_plan", plan.id, {"name": [None, plan.name]})
        return _start_compute(plan, created=True)


@blp.route("/plans/<int:plan_id>")
class PlanById(MethodView):
    @blp.response(200, RotationPlanSchema)
    def get(self, plan_id):
        """One plan: status, objective and bound, why infeasible, unfilled section-months, conflicts"""
        require("read", "rotation_plan")
        return dump_plan(get_or_404(RotationPlan, plan_id, "plan"))


@blp.route("/plans/<int:plan_id>/postings")
class PlanPostings(MethodView):
    @blp.arguments(RotationPostingQuerySchema, location="query")
    @blp.response(200, RotationPostingSchema(many=True))
    @blp.paginate()
    def get(self, query, plan_id, pagination_parameters):
        """The plan's postings with their explanations (why this person, why this host)"""
        require("read", "rotation_plan")
        plan = get_or_404(RotationPlan, plan_id, "plan")
        stmt = select(RotationPosting).where(RotationPosting.plan_id == plan.id).order_by(
            RotationPosting.month, RotationPosting.home_section_id, RotationPosting.id)
        stmt = stmt.where(RotationPosting.status == query["status"]) if "status" in query else \
            stmt.where(RotationPosting.status != "cancelled")
        if "section_id" in query:
            stmt = stmt.where(RotationPosting.home_section_id == query["section_id"])
        if "month" in query:
            stmt = stmt.where(RotationPosting.month == query["month"])
        rows = paginate(stmt, pagination_parameters)
        names = dict(db.session.execute(select(Person.id, Person.name).where(
            Person.id.in_([r.person_id for r in rows]))).all()) if rows else {}
        return [dump_posting(r, names) for r in rows]


@blp.route("/plans/<int:plan_id>/compute")
class PlanCompute(MethodView):
    @blp.response(202, RotationJobSchema)
    @blp.alt_response(409, description="The plan is computing or approved")
    def post(self, plan_id):
        """Recompute the plan (pins and forbids kept): 202 with the job id"""
        plan = _open_plan(plan_id)
        audit.record("recompute", "rotation_plan", plan.id, {"version": [plan.version, plan.version + 1]})
        return _start_compute(plan, created=False)


@blp.route("/plans/<int:plan_id>/pins")
class PlanPins(MethodView):
    @blp.arguments(RotationPinSchema)
    @blp.response(201, RotationPinSchema)
    def post(self, data, plan_id):
        """Pin one posting (person, month, host); recompute to apply it"""
        plan = _open_plan(plan_id)
        _check_constraint(plan, data)
        person = db.session.get(Person, data["person_id"])
        if person.section_id == data["host_section_id"]:
            field_error(422, "host_section_id", _("A person is not posted to their own section."))
        return _add_constraint(plan, "pin", data)


@blp.route("/plans/<int:plan_id>/forbids")
class PlanForbids(MethodView):
    @blp.arguments(RotationForbidSchema)
    @blp.response(201, RotationForbidSchema)
    def post(self, data, plan_id):
        """Forbid postings (a person, a sending section, a month, a host; unnamed fields match all)"""
        plan = _open_plan(plan_id)
        _check_constraint(plan, data)
        return _add_constraint(plan, "forbid", data)


@blp.route("/plans/<int:plan_id>/constraints/<int:constraint_id>")
class PlanConstraintById(MethodView):
    @blp.response(204)
    def delete(self, plan_id, constraint_id):
        """Remove a pin or forbid; recompute to apply"""
        plan = _open_plan(plan_id)
        row = get_or_404(RotationConstraint, constraint_id, "pin or forbid")
        if row.plan_id != plan.id:
            abort(404, message=_("No pin or forbid with id %(id)s.", id=constraint_id))
        audit.record("delete", "rotation_constraint", row.id, {"kind": [row.kind, None]})
        db.session.delete(row)
        db.session.commit()


def _check_constraint(plan: RotationPlan, data: dict) -> None:
    if data.get("person_id") is not None and db.session.get(Person, data["person_id"]) is None:
        field_error(422, "person_id", _("No person with id %(id)s.", id=data["person_id"]))
    for field in ("section_id", "host_section_id"):
        if data.get(field) is not None and data[field] not in plan.section_ids:
            field_error(422, field, _("Section %(id)s does not take part in this plan.", id=data[field]))
    month = data.get("month")
    if month is not None and not plan.first_month <= month <= plan.last_month:
        field_error(422, "month", _("%(month)s is outside the plan (%(first)s to %(last)s).",
                                    month=month_text(month), first=month_text(plan.first_month),
                                    last=month_text(plan.last_month)))


def _add_constraint(plan: RotationPlan, kind: str, data: dict):
    row = RotationConstraint(plan_id=plan.id, kind=kind, **{k: data.get(k) for k in (
        "person_id", "section_id", "month", "host_section_id")})
    db.session.add(row)
    db.session.flush()
    audit.record("create", "rotation_constraint", row.id, {"kind": [None, kind], "plan_id": [None, plan.id]})
    db.session.commit()
    return row, 201


def _enqueue_once(func: str, job_id: str, *args) -> str:
    """Queue ``func`` under ``job_id`` unless that job has an answer or is queued or running.

    The same question twice is one job; a job that failed is queued again. Returns the job's
    status; 503 when the queue is down (nothing is changed before the job runs).
    """
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from service.jobs import queue
    from service.rotation.plans import JOB_RESULT_SECONDS, job_result

    try:
        if job_result(job_id) is not None:
            return "finished"
        q = queue()
        try:
            status = Job.fetch(job_id, connection=q.connection).get_status(refresh=True)
        except NoSuchJobError:
            status = None
        status = str(getattr(status, "value", status)) if status is not None else None
        if status in (None, "failed", "stopped", "canceled", "finished"):  # finished: its answer expired
            q.enqueue(func, job_id, *args, job_id=job_id, job_timeout=1800, result_ttl=JOB_RESULT_SECONDS,
                      failure_ttl=JOB_RESULT_SECONDS)
            status = "queued"
    except Exception:
        current_app.logger.exception("enqueue failed")
        db.session.rollback()
        abort(503, message=_("The job queue is unavailable; nothing was changed. Try again shortly."))
    return status


def _job_answer(plan: RotationPlan, job_id: str, kind: str, status: str):
    body = {"plan_id": plan.id, "job_id": job_id, "kind": kind, "status": status, "version": plan.version}
    db.session.rollback()  # these requests only read
    return body, 202, {"Location": url_for("rotation_api.PlanJob", plan_id=body["plan_id"], job_id=job_id)}


@blp.route("/plans/<int:plan_id>/what-if")
class PlanWhatIf(MethodView):
    @blp.arguments(RotationForbidSchema)
    @blp.response(202, RotationJobSchema)
    def post(self, data, plan_id):
        """What would forbidding this cost? A job (202 with its id; Location to its answer) that
        finds the next-best plan's objective and the difference; nothing is stored on the plan"""
        require("write", "rotation_plan")
        plan = get_or_404(RotationPlan, plan_id, "plan")
        _check_constraint(plan, data)
        forbid = {k: (jsonable(month_key(data[k])) if k == "month" else data[k])
                  for k in ("person_id", "section_id", "month", "host_section_id") if data.get(k) is not None}
        job_id = what_if_job_id(plan, forbid)
        status = _enqueue_once("workers.rotation.what_if_plan", job_id, plan.id, plan.version, forbid)
        return _job_answer(plan, job_id, "what_if", status)


@blp.route("/plans/<int:plan_id>/jobs/<string:job_id>")
class PlanJob(MethodView):
    @blp.response(200, RotationJobResultSchema)
    def get(self, plan_id, job_id):
        """A what-if or repair job: queued, started, finished (with its answer) or failed"""
        from redis.exceptions import RedisError
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        from service.jobs import queue

        require("read", "rotation_plan")
        plan = get_or_404(RotationPlan, plan_id, "plan")
        kind = next((k for k, prefix in (("what_if", f"rotation-what-if-{plan.id}-"),
                                         ("repair", f"rotation-repair-{plan.id}-"))
                     if job_id.startswith(prefix)), None)
        if kind is None:
            abort(404, message=_("No job %(id)s for this plan.", id=job_id))
        body = {"plan_id": plan.id, "job_id": job_id, "kind": kind, "result": None, "error": None}
        try:
            result = job_result(job_id)
            if result is not None:
                return {**body, "status": "finished", "result": result}
            try:
                job = Job.fetch(job_id, connection=queue().connection)
            except NoSuchJobError:
                abort(404, message=_("No job %(id)s for this plan.", id=job_id))
            status = str(getattr(job.get_status(), "value", job.get_status()))
        except (RedisError, OSError):
            abort(503, message=_("The job queue is unavailable. Try again shortly."))
        if status == "failed":
            body["error"] = _("The job failed; ask again to retry it.")
        elif status == "finished":  # finished without an answer: it was lost with its key
            status = "failed"
            body["error"] = _("The answer has expired; ask again.")
        return {**body, "status": status}


@blp.route("/plans/<int:plan_id>/approve")
class PlanApprove(MethodView):
    @blp.response(200, RotationPlanSchema)
    @blp.alt_response(409, description="Not proposed (approving twice included), begun, or a register clash")
    def post(self, plan_id):
        """Approve a proposed plan: postings go into the register on their dates; notices are sent"""
        require("write", "rotation_plan")
        plan = get_or_404(RotationPlan, plan_id, "plan")
        approve(plan, g.actor, unit_today())
        db.session.commit()
        return dump_plan(plan)


@blp.route("/plans/<int:plan_id>/conflicts")
class PlanConflicts(MethodView):
    @blp.response(200, RotationConflictsSchema)
    def get(self, plan_id):
        """Approved postings ahead that now break a rule (POST repair for the minimal repair)"""
        require("read", "rotation_plan")
        plan = get_or_404(RotationPlan, plan_id, "plan")
        if plan.status != "approved":
            abort(409, message=_("The plan is %(status)s; conflicts concern approved plans.",
                                 status=status_text(plan)))
        conflicts = find_conflicts(plan, unit_today())
        db.session.rollback()
        sections = _sections()
        return {"conflicts": [{**r, "text": reason_text(r, sections)} for r in conflicts]}


@blp.route("/plans/<int:plan_id>/repair")
class PlanRepair(MethodView):
    @blp.arguments(RotationRepairRequestSchema)
    @blp.response(202, RotationJobSchema)
    @blp.alt_response(409, description="The plan is not approved")
    def post(self, data, plan_id):
        """The minimal repair as a job (202 with its id; Location to its answer): with
        ``apply`` (the default) cancel broken postings and approve their replacements; without,
        only propose them"""
        require("write", "rotation_plan")
        plan = get_or_404(RotationPlan, plan_id, "plan")
        if plan.status != "approved":
            abort(409, message=_("The plan is %(status)s; only approved plans are repaired.",
                                 status=status_text(plan)))
        today = unit_today()
        job_id = repair_job_id(plan, data["apply"], today)
        status = _enqueue_once("workers.rotation.repair_plan", job_id, plan.id, data["apply"], today.isoformat())
        return _job_answer(plan, job_id, "repair", status)


@blp.route("/people/<int:person_id>/rotations")
class PersonRotations(MethodView):
    @blp.response(200, RotationPostingSchema(many=True))
    def get(self, person_id):
        """A person's rotation postings across plans (approved and proposed)"""
        person = get_or_404(Person, person_id, "person")
        require("read", "rotation_history", person)
        rows = db.session.scalars(select(RotationPosting).where(
            RotationPosting.person_id == person.id, RotationPosting.status != "cancelled")
            .order_by(RotationPosting.month)).all()
        return [dump_posting(r, {person.id: person.name}) for r in rows]
