"""Rotation pages: the plans, a plan's sections x months grid (printable), a person's history."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from service.auth.permissions import can
from service.clock import unit_today
from service.extensions import db
from service.people.models import Person, Section
from service.rotation.inputs import month_text
from service.rotation.models import OPEN_STATUSES, RotationPlan, RotationPosting
from service.rotation.plans import PlanError, approve
from service.rotation.texts import posting_why, reason_text, unfilled_text
from service.web.refusals import flash_refusal

bp = Blueprint("rotation", __name__, url_prefix="/rotation")

STATUS_LABELS = {"draft": _l("Draft"), "computing": _l("Computing"), "proposed": _l("Proposed"),
                 "infeasible": _l("Infeasible"), "approved": _l("Approved")}


class ActionForm(FlaskForm):
    """A bare form: the CSRF token of the approve and recompute buttons."""


def _need(action: str, resource: str, obj=None) -> None:
    if not can(current_user, action, resource, obj):
        abort(403)


def _plan_or_404(plan_id: int) -> RotationPlan:
    plan = db.session.get(RotationPlan, plan_id) if plan_id < 2**31 else None
    if plan is None:
        abort(404)
    return plan


@bp.route("/")
@login_required
def plans():
    _need("read", "rotation_plan")
    rows = db.session.scalars(select(RotationPlan).order_by(RotationPlan.id.desc()).limit(200)).all()
    return render_template("rotation/plans.html", plans=rows, labels=STATUS_LABELS, month_text=month_text)


@bp.route("/plans/<int:plan_id>")
@login_required
def plan(plan_id):
    _need("read", "rotation_plan")
    plan = _plan_or_404(plan_id)
    sections = {s.id: s for s in db.session.scalars(select(Section))}
    months = plan.months()
    postings = [p for p in plan.postings if p.status != "cancelled"]
    names = dict(db.session.execute(select(Person.id, Person.name).where(
        Person.id.in_([p.person_id for p in postings]))).all()) if postings else {}
    grid = {(p.home_section_id, p.month): [] for p in postings}
    for p in postings:
        grid[(p.home_section_id, p.month)].append(p)
    unfilled = {}
    for u in plan.unfilled or []:
        unfilled.setdefault((u["section_id"], u["month"]), []).append(unfilled_text(u))
    rows = [sections[s] for s in plan.section_ids if s in sections]
    return render_template(
        "rotation/plan.html", plan=plan, rows=rows, months=months, grid=grid, unfilled=unfilled,
        sections=sections, names=names, labels=STATUS_LABELS, month_text=month_text, why=posting_why,
        reasons=[reason_text(r, sections) for r in plan.reasons or []],
        conflicts=[reason_text(r, sections) for r in plan.conflicts or []],
        form=ActionForm(), can_write=can(current_user, "write", "rotation_plan"), open_statuses=OPEN_STATUSES)


@bp.route("/plans/<int:plan_id>/approve", methods=["POST"])
@login_required
def approve_plan(plan_id):
    _need("write", "rotation_plan")
    plan = _plan_or_404(plan_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        count = approve(plan, current_user, unit_today())
    except PlanError as exc:
        flash_refusal(exc, _("Not approved: %(why)s", why=exc.message))
        return redirect(url_for("rotation.plan", plan_id=plan_id))
    db.session.commit()
    flash(ngettext("Approved: %(num)d posting is in the register.",
                   "Approved: %(num)d postings are in the register.", count))
    return redirect(url_for("rotation.plan", plan_id=plan_id))


@bp.route("/plans/<int:plan_id>/compute", methods=["POST"])
@login_required
def compute_plan(plan_id):
    _need("write", "rotation_plan")
    plan = _plan_or_404(plan_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    from service.rotation.api import enqueue_compute
    from service.rotation.plans import request_compute

    try:
        request_compute(plan)
    except PlanError as exc:
        flash_refusal(exc)
        return redirect(url_for("rotation.plan", plan_id=plan_id))
    db.session.commit()
    try:
        plan.job_id = enqueue_compute(plan)
    except Exception:
        plan.status = "draft"
        flash(_("The job queue is unavailable; try again shortly."), "error")
    db.session.commit()
    return redirect(url_for("rotation.plan", plan_id=plan_id))


@bp.route("/people/<int:person_id>")
@login_required
def person(person_id):
    p = db.session.get(Person, person_id) if person_id < 2**31 else None
    if p is None:
        abort(404)
    _need("read", "rotation_history", p)
    rows = db.session.scalars(select(RotationPosting).where(
        RotationPosting.person_id == p.id, RotationPosting.status != "cancelled")
        .order_by(RotationPosting.month)).all()
    sections = {s.id: s for s in db.session.scalars(select(Section))}
    return render_template("rotation/person.html", p=p, rows=rows, sections=sections,
                           month_text=month_text, why=posting_why)
