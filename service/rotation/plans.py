"""The plan's life: compute and store, approve into the register, notices, conflicts and repair.

Every function takes ``today`` (the clock is passed in) and leaves the commit to its caller
(view or job), so a rejected step changes nothing.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from service import audit
from service.clock import now_utc
from service.errors import DomainError
from service.extensions import db
from service.people.models import Person
from service.rotation import model as core
from service.rotation.inputs import build_input, key_day, month_key, month_text
from service.rotation.models import RotationPlan, RotationPosting, next_month
from service.rotation.register import RegisterConflict, insert_rotation, remove_rotation
from service.rotation.rules import violations
from service.rotation.solver import repair, solve

NOTICE_DAYS_BEFORE = 7


class PlanError(DomainError):
    """A step the plan's state or the register does not allow (409 unless said otherwise)."""

    def __init__(self, message: str, status: int = 409, field: str | None = None):
        super().__init__(message, status=status, field=field)


def status_text(plan: RotationPlan) -> str:
    """The plan's status in words, for messages (the labels live with the pages)."""
    from service.rotation.web import STATUS_LABELS

    return str(STATUS_LABELS.get(plan.status, plan.status))


# --- plain JSON of the solver's answers -----------------------------------------------------

def jsonable(value):
    """Solver details as JSON: ids back to ints, months as YYYY-MM, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(x, int) for x in value) \
            and 1 <= value[1] <= 12 and value[0] > 1000:
        return f"{value[0]:04d}-{value[1]:02d}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _reason_json(r: core.Reason) -> dict:
    return {"rule": r.rule, "section_id": jsonable(r.section_id),
            "month": jsonable(r.month) if r.month else None, "detail": jsonable(dict(r.detail))}


def _unfilled_json(u: core.Unfilled) -> dict:
    return {"section_id": int(u.section_id), "month": jsonable(u.month), "missing": u.missing,
            "rule": u.rule, "excused": u.excused, "detail": jsonable(dict(u.detail))}


# --- compute --------------------------------------------------------------------------------

def request_compute(plan: RotationPlan) -> int:
    """Mark the plan computing under a new version; the caller commits, then enqueues."""
    if plan.status not in ("draft", "proposed", "infeasible"):
        raise PlanError(_("The plan is %(status)s; only draft, proposed or infeasible plans are computed.",
                          status=status_text(plan)))
    plan.version += 1
    plan.status = "computing"
    plan.error = None
    return plan.version


def compute(plan_id: int, version: int, time_limit: float | None = 60.0) -> dict:
    """The worker's step: solve the plan and store it, once per requested version."""
    plan = db.session.get(RotationPlan, plan_id, with_for_update=True)
    if plan is None:
        return {"skipped": "no such plan"}
    if plan.status != "computing" or plan.version != version:
        db.session.rollback()
        return {"skipped": f"plan is {plan.status}, version {plan.version}"}
    inp, _names = build_input(plan)
    result = solve(inp, time_limit=time_limit)
    store(plan, result)
    audit.record("compute", "rotation_plan", plan.id, {"status": ["computing", plan.status]}, via="job")
    db.session.commit()
    return {"status": plan.status, "postings": len(result.postings), "objective": result.objective}


def store(plan: RotationPlan, result: core.Plan) -> None:
    """Replace the plan's proposed postings with the solver's, and its status and reasons."""
    for old in [p for p in plan.postings if p.status == "proposed"]:
        plan.postings.remove(old)
    db.session.flush()
    for x in result.postings:
        plan.postings.append(_posting_row(x, "proposed"))
    plan.objective = result.objective
    plan.lower_bound = result.lower_bound if math.isfinite(result.lower_bound) else None
    plan.gap = result.gap if result.gap is not None and math.isfinite(result.gap) else None
    plan.reasons = [_reason_json(r) for r in result.reasons]
    plan.unfilled = [_unfilled_json(u) for u in result.unfilled]
    plan.status = core.PROPOSED if result.status == core.PROPOSED else core.INFEASIBLE
    plan.computed_at = now_utc()


def _posting_row(x: core.Posting, status: str) -> RotationPosting:
    return RotationPosting(person_id=int(x.person_id), home_section_id=int(x.section_id),
                           host_section_id=int(x.host_id), month=key_day(x.month), status=status,
                           pinned=bool(x.pinned), cost=float(x.cost), explanation=jsonable(dict(x.explanation)))


# --- approval ---------------------------------------------------------------------------------

def approve(plan: RotationPlan, actor: Person | None, today: date) -> int:
    """Approve a proposed plan: each posting goes into the register, notices into the outbox.

    Raises PlanError (409) when the plan is not proposed (approving twice included), when a
    month has begun, or when the register has a change inside a posting's month.
    """
    if plan.status != "proposed":
        raise PlanError(_("The plan is %(status)s; only a proposed plan can be approved.", status=status_text(plan)))
    if plan.first_month <= today:
        raise PlanError(_("The plan starts in %(month)s, which has begun; recompute it from a later month.",
                          month=month_text(plan.first_month)))
    # The status moves in one conditional UPDATE: of two approvals at once, one wins.
    won = db.session.execute(update(RotationPlan).where(RotationPlan.id == plan.id,
                                                        RotationPlan.status == "proposed")
                             .values(status="approved", approved_at=now_utc(),
                                     approved_by_id=getattr(actor, "id", None))
                             .execution_options(synchronize_session=False)).rowcount
    if won != 1:
        raise PlanError(_("The plan was approved or changed meanwhile."))
    db.session.refresh(plan)
    count = 0
    for posting in sorted((p for p in plan.postings if p.status == "proposed"), key=lambda p: p.month):
        _approve_posting(posting)
        count += 1
    audit.record("approve", "rotation_plan", plan.id, {"status": ["proposed", "approved"], "postings": [None, count]})
    return count


def _approve_posting(posting: RotationPosting) -> None:
    person = db.session.get(Person, posting.person_id)
    try:
        out, back = insert_rotation(person, posting.host_section_id, posting.month, next_month(posting.month))
    except RegisterConflict as exc:
        raise PlanError(exc.message) from None
    posting.out_posting_id, posting.return_posting_id = out.id, back.id if back else None
    posting.status = "approved"
    db.session.flush()
    _notify(posting, "approved")


def chiefs_of(section_id: int) -> list[Person]:
    return list(db.session.scalars(select(Person).where(
        Person.section_id == section_id, Person.role == "chief", Person.left_on.is_(None))).unique())


def _notify(posting: RotationPosting, event: str, why: str | None = None) -> int:
    """Email the person and both section chiefs; ``event`` is approved, starts or cancelled.

    Each email dedupes on ``rotation-{event}:{posting id}`` (``:leader:{id}`` for a chief), so
    a step run twice never sends twice.
    """
    from service.outbox import queue_email
    from service.people.models import Section

    person = db.session.get(Person, posting.person_id)
    if person is None:
        return 0
    home = db.session.get(Section, posting.home_section_id)
    host = db.session.get(Section, posting.host_section_id)
    context = dict(posting=posting, person=person, home=home, host=host,
                   month=month_text(posting.month), until=next_month(posting.month), event=event, why=why)
    sent = int(queue_email(person, f"rotation_{event}", f"rotation_{event}",
                           f"rotation-{event}:{posting.id}", **context))
    leader_template = "rotation_cancelled_leader" if event == "cancelled" else "rotation_leader"
    leaders = {c.id: c for sid in (posting.home_section_id, posting.host_section_id) for c in chiefs_of(sid)}
    for leader in leaders.values():
        if leader.id != person.id:
            sent += int(queue_email(leader, f"rotation_{event}_leader", leader_template,
                                    f"rotation-{event}:{posting.id}:leader:{leader.id}", **context))
    return sent


def send_start_notices(today: date) -> int:
    """A week before each approved posting starts: remind the person and both chiefs (once)."""
    horizon = today + timedelta(days=NOTICE_DAYS_BEFORE)
    due = db.session.scalars(select(RotationPosting).where(
        RotationPosting.status == "approved", RotationPosting.month > today,
        RotationPosting.month <= horizon).order_by(RotationPosting.id)).all()
    sent = sum(_notify(p, "starts") for p in due)
    db.session.commit()
    return sent


# --- after approval: conflicts and repair ----------------------------------------------------

def _ahead(plan: RotationPlan, today: date) -> list[date]:
    return [m for m in plan.months() if m > today]


def _approved_core(postings) -> list[core.Posting]:
    return [core.Posting(str(p.person_id), str(p.home_section_id), str(p.host_section_id),
                         month_key(p.month)) for p in postings]


def _approved_ahead(plan: RotationPlan, months: list[date]) -> list[RotationPosting]:
    keep = set(months)
    return [p for p in plan.postings if p.status == "approved" and p.month in keep]


def find_conflicts(plan: RotationPlan, today: date) -> list[dict]:
    """Approved postings still ahead that now break a rule (new leave, someone left, a register
    correction that removed the posting), as reasons."""
    if plan.status != "approved":
        return []
    months = _ahead(plan, today)
    if not months:
        return []
    postings = _approved_ahead(plan, months)
    inp, _names = build_input(plan, months)
    found = [_reason_json(r) for r in violations(inp, _approved_core(postings))]
    for p in postings:
        if p.out_posting_id is None:
            found.append({"rule": "register_changed", "section_id": p.home_section_id,
                          "month": month_text(p.month), "detail": {"person_id": p.person_id,
                                                                   "host_id": p.host_section_id}})
    return found


def check_conflicts(today: date) -> int:
    """Flag conflicts on every approved plan with months ahead (the daily job)."""
    flagged = 0
    plans = db.session.scalars(select(RotationPlan).where(RotationPlan.status == "approved",
                                                          RotationPlan.last_month > today)).all()
    for plan in plans:
        plan.conflicts = find_conflicts(plan, today)
        plan.conflicts_checked_on = today
        flagged += bool(plan.conflicts)
    db.session.commit()
    return flagged


def propose_repair(plan: RotationPlan, today: date) -> tuple[core.Repair | None, list[RotationPosting]]:
    """The minimal repair of the months ahead: the solver keeps every lawful approved posting
    and refills only the section-months that broke."""
    if plan.status != "approved":
        raise PlanError(_("The plan is %(status)s; only approved plans are repaired.", status=status_text(plan)))
    months = _ahead(plan, today)
    if not months:
        return None, []
    postings = _approved_ahead(plan, months)
    inp, _names = build_input(plan, months)
    # A posting whose register rows were corrected away is broken whatever the rules say: a
    # forbid of that person-month makes the solver drop it and refill its section-month.
    gone = [p for p in postings if p.out_posting_id is None]
    if gone:
        extra = tuple(core.Forbid(person_id=str(p.person_id), month=month_key(p.month)) for p in gone)
        inp = replace(inp, rules=replace(inp.rules, forbids=inp.rules.forbids + extra))
    return repair(inp, _approved_core(postings)), gone


def apply_repair(plan: RotationPlan, today: date, proposal: tuple | None = None) -> dict:
    """Cancel the broken postings, approve their replacements (register rows and notices).

    ``proposal`` is :func:`propose_repair`'s answer when the caller has it already.
    """
    result, gone = proposal if proposal is not None else propose_repair(plan, today)
    if result is None:
        return {"removed": 0, "added": 0}
    by_key = {(p.person_id, p.month, p.host_section_id): p for p in plan.postings if p.status == "approved"}
    removed = 0
    for x in result.removed:
        row = by_key.get((int(x.person_id), key_day(x.month), int(x.host_id)))
        if row is not None:
            _cancel(row, "register_changed" if row.out_posting_id is None else "repair")
            removed += 1
    for row in gone:
        if row.status != "cancelled":
            _cancel(row, "register_changed")
            removed += 1
    explained = {(x.person_id, x.month, x.host_id): x for x in result.plan.postings}
    added = 0
    for x in result.added:
        row = _posting_row(explained.get((x.person_id, x.month, x.host_id), x), "proposed")
        plan.postings.append(row)
        db.session.flush()
        _approve_posting(row)
        added += 1
    plan.conflicts = []
    plan.conflicts_checked_on = today
    plan.unfilled = [_unfilled_json(u) for u in result.plan.unfilled] + [
        u for u in (plan.unfilled or []) if u["month"] < month_text(_ahead(plan, today)[0])]
    audit.record("repair", "rotation_plan", plan.id, {"removed": [None, removed], "added": [None, added]})
    return {"removed": removed, "added": added, "status": result.plan.status}


def _cancel(row: RotationPosting, why: str) -> None:
    person = db.session.get(Person, row.person_id)
    if person is not None and row.out_posting_id:
        remove_rotation(person, row.out_posting_id, row.return_posting_id, row.home_section_id)
    row.status = "cancelled"
    row.cancelled_reason = why
    row.out_posting_id = row.return_posting_id = None
    db.session.flush()
    _notify(row, "cancelled", why)


# --- what-if and repair as jobs ---------------------------------------------------------------
# The answer of a what-if or repair job is kept in Redis under its job id for a week: the job
# writes it, the API reads it. Job ids are derived from the question and the state asked about,
# so the same question twice is one job, and a job run twice finds its answer and does nothing.

JOB_RESULT_SECONDS = 7 * 24 * 3600


def _redis():
    from flask import current_app

    from service.redis_server import connect

    return connect(current_app)


def _result_key(job_id: str) -> str:
    return f"talkcare:rotation-job:{job_id}"


def job_result(job_id: str) -> dict | None:
    """The stored answer of a what-if or repair job, or None while it has none."""
    raw = _redis().get(_result_key(job_id))
    return json.loads(raw) if raw else None


def _save_result(job_id: str, result: dict, seconds: int = JOB_RESULT_SECONDS) -> dict:
    _redis().set(_result_key(job_id), json.dumps(result), ex=seconds)
    return result


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def what_if_job_id(plan: RotationPlan, forbid: dict) -> str:
    """One job per plan version and question."""
    return f"rotation-what-if-{plan.id}-v{plan.version}-{_digest(forbid)}"


def repair_job_id(plan: RotationPlan, apply: bool, today: date) -> str:
    """One job per plan state (its postings), day and kind (preview or apply)."""
    state = sorted((p.id, p.status) for p in plan.postings)
    kind = "apply" if apply else "preview"
    return f"rotation-repair-{plan.id}-{kind}-{_digest([state, today.isoformat()])}"


def core_json(x: core.Posting) -> dict:
    return {"person_id": int(x.person_id), "home_section_id": int(x.section_id),
            "host_section_id": int(x.host_id), "month": jsonable(x.month)}


def forbid_of(data: dict) -> core.Forbid:
    """A solver forbid from the API's fields (ids as ints, month as a date or YYYY-MM)."""
    from service.rotation.inputs import parse_month

    month = data.get("month")
    if isinstance(month, str):
        month = parse_month(month)
    return core.Forbid(person_id=str(data["person_id"]) if data.get("person_id") else None,
                       section_id=str(data["section_id"]) if data.get("section_id") else None,
                       month=month_key(month) if month else None,
                       host_id=str(data["host_section_id"]) if data.get("host_section_id") else None)


def answer_what_if(job_id: str, plan_id: int, version: int, forbid: dict) -> dict:
    """The what-if job's step: the next-best plan with the forbid, its cost and the difference.

    Nothing about the plan is stored; the answer is, under the job id. Asked about a version
    the plan has left (recomputed meanwhile), it answers that the question is out of date.
    """
    done = job_result(job_id)
    if done is not None:
        return done
    from service.rotation.solver import what_if

    plan = db.session.get(RotationPlan, plan_id)
    if plan is None or plan.version != version:
        db.session.rollback()
        return _save_result(job_id, {"kind": "what_if", "plan_id": plan_id, "stale": True})
    inp, _names = build_input(plan)
    answer = what_if(inp, forbid_of(forbid))
    db.session.rollback()
    return _save_result(job_id, {
        "kind": "what_if", "plan_id": plan_id, "version": version, "forbid": forbid,
        "objective_before": answer.objective_before, "objective_after": answer.objective_after,
        "delta": answer.delta, "status": answer.plan.status,
        "postings": [core_json(x) for x in answer.plan.postings]})


def run_repair(job_id: str, plan_id: int, apply: bool, today: date) -> dict:
    """The repair job's step: propose (``apply`` False) or apply the minimal repair.

    Applying cancels the broken postings (with their notices) and approves the replacements in
    one transaction, under a lock on the plan; a second run finds its answer and does nothing
    (and a repaired plan has nothing left to repair).
    """
    done = job_result(job_id)
    if done is not None:
        return done
    plan = db.session.get(RotationPlan, plan_id, with_for_update=True)
    out = {"kind": "repair", "plan_id": plan_id, "applied": bool(apply)}
    if plan is None or plan.status != "approved":
        error = _("The plan is %(status)s; only approved plans are repaired.",
                  status=status_text(plan)) if plan is not None else "no such plan"
        db.session.rollback()
        return _save_result(job_id, {**out, "applied": False, "error": error})
    conflicts = find_conflicts(plan, today)
    if apply:
        result, gone = propose_repair(plan, today)
        try:
            counts = apply_repair(plan, today, (result, gone))
        except PlanError as exc:  # a register clash: nothing is changed; asking again retries soon
            db.session.rollback()
            return _save_result(job_id, {**out, "applied": False, "error": exc.message}, seconds=300)
        db.session.commit()
        out.update(counts)
    else:
        result, _gone = propose_repair(plan, today)
        db.session.rollback()
    out.update(conflicts=conflicts,
               removed=[core_json(x) for x in (result.removed if result else ())],
               added=[core_json(x) for x in (result.added if result else ())],
               status=result.plan.status if result else None)
    return _save_result(job_id, out)
