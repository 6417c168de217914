"""Rotation jobs: compute a plan, what-if, repair, the week-before notices, the conflict check.

``compute_plan`` stores its result only for the version it was queued for and only while the
plan is computing, so a job run twice (or an outdated one) changes nothing. ``what_if_plan`` and
``repair_plan`` keep their answer under their job id (see ``service.rotation.plans``) and
return it unchanged when run again. Notices dedupe on ``rotation-starts:{posting id}``. ``on``
(ISO date) is the clock; the unit's today by default.
"""
from __future__ import annotations

from workers.base import app_job, job_day


@app_job
def compute_plan(plan_id: int, version: int) -> dict:
    """Solve the plan and store postings, explanations and reasons (draft again on a failure)."""
    from service.extensions import db
    from service.rotation.models import RotationPlan
    from service.rotation.plans import compute

    try:
        return compute(plan_id, version)
    except Exception as exc:
        db.session.rollback()
        plan = db.session.get(RotationPlan, plan_id)
        if plan is not None and plan.status == "computing" and plan.version == version:
            plan.status = "draft"
            plan.error = f"{type(exc).__name__}: {exc}"[:500]
            db.session.commit()
        raise


@app_job
def send_rotation_notices(on: str | None = None) -> int:
    """A week before each approved posting: remind the person and both section chiefs."""
    from service.rotation.plans import send_start_notices

    return send_start_notices(job_day(on))


@app_job
def check_rotation_conflicts(on: str | None = None) -> int:
    """Flag approved postings ahead that new leave, a departure or a register change broke."""
    from service.rotation.plans import check_conflicts

    return check_conflicts(job_day(on))


@app_job
def what_if_plan(job_id: str, plan_id: int, version: int, forbid: dict) -> dict:
    """What would this forbid cost? The next-best plan, kept under the job id (nothing else)."""
    from service.rotation.plans import answer_what_if

    return answer_what_if(job_id, plan_id, version, forbid)


@app_job
def repair_plan(job_id: str, plan_id: int, apply: bool, on: str | None = None) -> dict:
    """Propose, or apply, the minimal repair of an approved plan's months ahead."""
    from service.rotation.plans import run_repair

    return run_repair(job_id, plan_id, apply, job_day(on))
