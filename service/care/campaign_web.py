"""HR's pages for the health-check campaign: open a campaign with its clinic days, run the
assignment, see each day's bookings against capacity, decide swap requests, mark attendance.

The same rules as the API (``service.care.campaigns``): a clinic day must be an official working
day, a swap is approved only while its slot has room, attendance is marked only on or after the
appointment's day, and a miss books the person again at the next run. No medical result is ever
asked for or stored: attended / missed / follow-up advised is all HR records.
"""
from __future__ import annotations

from collections import Counter
from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from service import audit
from service.auth.permissions import can
from service.care.availability import unit_working_day
from service.care.campaigns import DONE, check_attendance, decide_swap
from service.care.models import Appointment, ClinicDaySlot, HealthCheckCampaign, SwapRequest
from service.care.settings import care_settings, parse_share
from service.care.visits import CareError
from service.clock import unit_today
from service.extensions import db

bp = Blueprint("care_campaigns", __name__, url_prefix="/care/campaigns")

MAX_PLACES = 10_000
PAGE_SIZE = 50
HALF_LABELS = {"AM": _l("Morning"), "PM": _l("Afternoon"), "DAY": _l("Whole day")}
STATUS_LABELS = {"unplaced": _l("Not placed yet"), "booked": _l("Booked"), "attended": _l("Attended"),
                 "missed": _l("Missed"), "follow_up_advised": _l("Follow-up advised")}
ATTENDANCE = ("attended", "missed", "follow_up_advised")


def parse_clinic_days(text: str, is_working_day) -> tuple[list[dict], list[str]]:
    """Clinic days from lines ``YYYY-MM-DD AM PM`` (places in the morning and the afternoon) or
    ``YYYY-MM-DD N`` (N places for the whole day). Returns the days and one message per bad line."""
    days, errors, seen = [], [], set()
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.replace(",", " ").replace("，", " ").split()
        if not parts:
            continue
        try:
            day = date.fromisoformat(parts[0])
        except ValueError:
            errors.append(_("Line %(n)d: %(text)s is not a date (YYYY-MM-DD).", n=number, text=parts[0][:20]))
            continue
        try:
            places = [int(p) for p in parts[1:]]
        except ValueError:
            errors.append(_("Line %(n)d: the places must be whole numbers.", n=number))
            continue
        if len(places) not in (1, 2) or any(not 0 <= p <= MAX_PLACES for p in places) or sum(places) == 0:
            errors.append(_("Line %(n)d: give the places of the morning and the afternoon, or of the whole day "
                            "(0 to %(max)d, not all 0).", n=number, max=MAX_PLACES))
            continue
        if day in seen:
            errors.append(_("Line %(n)d: %(day)s is given twice.", n=number, day=day.isoformat()))
            continue
        if not is_working_day(day):
            errors.append(_("Line %(n)d: %(day)s is not a working day.", n=number, day=day.isoformat()))
            continue
        seen.add(day)
        am_pm = len(places) == 2
        days.append({"day": day, "capacity_am": places[0] if am_pm else 0, "capacity_pm": places[1] if am_pm else 0,
                     "capacity_day": 0 if am_pm else places[0]})
    if not days and not errors:
        errors.append(_("Give at least one clinic day."))
    return days, errors


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    year = IntegerField(_l("Year"), validators=[InputRequired(message=_l("Enter the year.")), NumberRange(2000, 2100)])
    days = TextAreaField(_l("Clinic days, one a line: date, morning places, afternoon places (or date and "
                            "whole-day places)"), validators=[DataRequired(), Length(max=20000)])
    section_share = StringField(_l("Largest share of a section at the clinic on one day (e.g. 3/10)"),
                                validators=[Optional(), Length(max=16)])
    skip_attended_previous_year = BooleanField(_l("Skip those who attended last year (every other year)"))
    notice = TextAreaField(_l("Notice to staff"), validators=[Length(max=5000)])
    submit = SubmitField(_l("Open the campaign"))


class AssignForm(FlaskForm):
    submit = SubmitField(_l("Assign slots now"))


class SwapDecisionForm(FlaskForm):
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))


class AttendanceForm(FlaskForm):
    status = SelectField(_l("Attendance"), choices=[(s, STATUS_LABELS[s]) for s in ATTENDANCE])
    submit = SubmitField(_l("Save"))


def _hr_only() -> None:
    if not can(current_user, "write", "healthcheck"):
        abort(403)


def _row_or_404(model, row_id: int):
    row = db.session.get(model, row_id) if 1 <= row_id < 2**31 else None
    if row is None:
        abort(404)
    return row


def _enqueue_assignment(campaign_id: int) -> bool:
    """Start the assignment job; False (logged) when the queue is down: the next run picks it up."""
    from service.care.api import enqueue_assignment

    try:
        enqueue_assignment(campaign_id)
    except Exception:
        current_app.logger.exception("could not enqueue the health-check assignment")
        return False
    return True


@bp.route("/", methods=["GET", "POST"])
@login_required
def campaigns():
    _hr_only()
    form = CampaignForm()
    status = 200
    if request.method == "GET":
        form.year.data = unit_today().year
        form.section_share.data = care_settings().healthcheck_section_share
    else:
        form.validate_on_submit()  # every field's errors (and CSRF), then the days and the share
        days, errors = parse_clinic_days(form.days.data or "", unit_working_day())
        if form.days.data:
            form.days.errors = list(form.days.errors) + errors
        share = (form.section_share.data or "").strip() or care_settings().healthcheck_section_share
        try:
            parse_share(share)
        except ValueError as exc:
            form.section_share.errors = list(form.section_share.errors) + [str(exc)]
        if not any(f.errors for f in form):
            campaign = HealthCheckCampaign(name=form.name.data.strip(), year=form.year.data, notice=form.notice.data or "",
                                           section_share=share, eligible_section_ids=None,
                                           skip_attended_previous_year=form.skip_attended_previous_year.data)
            campaign.days = [ClinicDaySlot(**d) for d in days]
            db.session.add(campaign)
            db.session.flush()
            audit.record("create", "healthcheck", campaign.id, {"name": [None, campaign.name]})
            db.session.commit()
            flash(_("The campaign is open: assign the slots when the clinic days are right."), "info")
            return redirect(url_for("care_campaigns.campaign", campaign_id=campaign.id))
        status = 422
    rows = db.session.scalars(select(HealthCheckCampaign).order_by(HealthCheckCampaign.id.desc()).limit(50)).all()
    counts = _status_counts([c.id for c in rows])
    return render_template("care/campaigns.html", form=form, campaigns=rows, counts=counts,
                           status_labels=STATUS_LABELS), status


def _status_counts(campaign_ids: list[int]) -> dict:
    counts: dict = {}
    if campaign_ids:
        for cid, st, n in db.session.execute(select(Appointment.campaign_id, Appointment.status, func.count())
                                             .where(Appointment.campaign_id.in_(campaign_ids))
                                             .group_by(Appointment.campaign_id, Appointment.status)):
            counts.setdefault(cid, {})[st] = n
    return counts


@bp.route("/<int:campaign_id>")
@login_required
def campaign(campaign_id):
    _hr_only()
    campaign = _row_or_404(HealthCheckCampaign, campaign_id)
    return _render_campaign(campaign)


def _render_campaign(campaign: HealthCheckCampaign, status: int = 200, errors: dict | None = None):
    today = unit_today()
    booked = Counter()
    for day, half, n in db.session.execute(
            select(Appointment.day, Appointment.half, func.count()).where(
                Appointment.campaign_id == campaign.id, Appointment.status.in_(("booked",) + DONE))
            .group_by(Appointment.day, Appointment.half)):
        booked[(day, half)] = n
    show = request.args.get("status") if request.args.get("status") in STATUS_LABELS else None
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    stmt = select(Appointment).where(Appointment.campaign_id == campaign.id)
    if show:
        stmt = stmt.where(Appointment.status == show)
    appointments = db.session.scalars(stmt.order_by(Appointment.day, Appointment.half, Appointment.id)
                                      .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    swaps = db.session.scalars(select(SwapRequest).join(Appointment).where(
        Appointment.campaign_id == campaign.id, SwapRequest.status == "pending").order_by(SwapRequest.id)).all()
    return render_template(
        "care/campaign.html", campaign=campaign, booked=booked, appointments=appointments, swaps=swaps,
        counts=_status_counts([campaign.id]).get(campaign.id, {}), show=show, page=page, page_size=PAGE_SIZE,
        today=today, assign_form=AssignForm(), swap_form=SwapDecisionForm(), attendance_form=AttendanceForm(),
        errors=errors or {}, half_labels=HALF_LABELS, status_labels=STATUS_LABELS), status


@bp.route("/<int:campaign_id>/assign", methods=["POST"])
@login_required
def assign(campaign_id):
    _hr_only()
    campaign = _row_or_404(HealthCheckCampaign, campaign_id)
    if not AssignForm().validate_on_submit():
        abort(400)
    if _enqueue_assignment(campaign.id):
        flash(_("The assignment is running: this page shows the slots when it is done."), "info")
    else:
        flash(_("The job queue is unavailable; try again shortly."), "error")
    return redirect(url_for("care_campaigns.campaign", campaign_id=campaign.id))


@bp.route("/swaps/<int:swap_id>", methods=["POST"])
@login_required
def swap_decision(swap_id):
    _hr_only()
    swap = _row_or_404(SwapRequest, swap_id)
    form = SwapDecisionForm()
    if not form.validate_on_submit() or form.approve.data == form.reject.data:
        abort(400)
    campaign = swap.appointment.campaign
    try:
        decide_swap(swap, bool(form.approve.data), current_user, unit_today())
    except CareError as exc:
        db.session.rollback()
        return _render_campaign(campaign, exc.status, {("swap", swap_id): exc.message})
    db.session.commit()
    flash(_("The request is approved.") if swap.status == "approved" else _("The request is rejected."), "info")
    return redirect(url_for("care_campaigns.campaign", campaign_id=campaign.id))


@bp.route("/appointments/<int:appointment_id>/attendance", methods=["POST"])
@login_required
def attendance(appointment_id):
    _hr_only()
    a = _row_or_404(Appointment, appointment_id)
    form = AttendanceForm()
    if not form.validate_on_submit():
        return _render_campaign(a.campaign, 422, {("appointment", a.id): "; ".join(form.status.errors)
                                                  or _("The form has expired; try again.")})
    try:
        rebook = check_attendance(a, form.status.data, unit_today())
    except CareError as exc:
        return _render_campaign(a.campaign, exc.status, {("appointment", a.id): exc.message})
    if rebook:
        a.missed_on = a.day
    audit.update(a, {"status": form.status.data}, "appointment", a.id)
    db.session.commit()
    if rebook:
        _enqueue_assignment(a.campaign_id)  # if the queue is down, the next run books the person again
    flash(_("Attendance saved for %(name)s.", name=a.person.name), "info")
    return redirect(url_for("care_campaigns.campaign", campaign_id=a.campaign_id, status=request.args.get("status")))

