"""Care pages: a leader's care page (visit tasks, red/blue/green), reporting a hospital stay,
HR's care calendar, and a person's own health-check slot with a swap request."""
from __future__ import annotations

import calendar as month_calendar
from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from service import audit
from service.auth.permissions import can, leads
from service.care.birthdays import birthdays_to_greet
from service.care.campaigns import check_slot_has_room
from service.care.greetings import birthday_of_person
from service.care.models import Appointment, ClinicDaySlot, HospitalCase, SwapRequest, VisitTask
from service.care.settings import care_settings
from service.care.visits import CareError, close_task, report_case
from service.clock import unit_today
from service.extensions import db
from service.labels import relation_label
from service.people.models import Person
from service.care.availability import unit_working_day
from service.web.refusals import show_refusal

bp = Blueprint("care", __name__, url_prefix="/care")

OUTCOME_LABELS = {"visited": _l("Visited"), "phoned": _l("Phoned (out of town)"), "proxy": _l("By proxy (out of town)")}
COLOUR_LABELS = {"red": _l("Overdue"), "blue": _l("Open"), "green": _l("Done")}
HALF_LABELS = {"AM": _l("Morning"), "PM": _l("Afternoon"), "DAY": _l("Whole day")}
STATUS_LABELS = {"unplaced": _l("Not placed yet"), "booked": _l("Booked"), "attended": _l("Attended"),
                 "missed": _l("Missed: a new slot will be given"), "follow_up_advised": _l("Attended")}


def _day_in_range(form, field):
    if field.data and not (date(1900, 1, 1) <= field.data <= date(2100, 12, 31)):
        raise ValidationError(_("Date must be between 1900-01-01 and 2100-12-31."))


class ReportForm(FlaskForm):
    patient = SelectField(_l("Who is in hospital"), validators=[DataRequired()])
    admitted_on = DateField(_l("Admitted on"), validators=[InputRequired(), _day_in_range])
    discharged_on = DateField(_l("Discharge (expected), if known"), validators=[Optional(), _day_in_range])
    hospital = StringField(_l("Hospital"), validators=[DataRequired(), Length(max=120)])
    out_of_town = BooleanField(_l("Out of town"))
    submit = SubmitField(_l("Report"))

    def validate_discharged_on(self, field):
        if field.data and self.admitted_on.data and field.data < self.admitted_on.data:
            raise ValidationError(_("Discharge cannot be before admission."))


class CloseForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=[(k, v) for k, v in OUTCOME_LABELS.items()],
                          validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    allowance_yuan = IntegerField(_l("Allowance given (yuan)"), default=0,
                                  validators=[Optional(), NumberRange(min=0, max=1_000_000)])
    submit = SubmitField(_l("Close the visit"))


class SwapForm(FlaskForm):
    wanted = SelectField(_l("Another slot"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[Length(max=300)])
    submit = SubmitField(_l("Ask HR"))


def _patients_for(actor) -> list[tuple[str, str]]:
    """Choices "person" or "person:relative" for the people the actor may report for."""
    if actor.access_role == "hr":
        people = db.session.scalars(select(Person).where(Person.left_on.is_(None)).order_by(Person.employee_no)).unique().all()
    else:
        people = [p for p in db.session.scalars(select(Person).where(Person.left_on.is_(None))
                                                .order_by(Person.employee_no)).unique().all()
                  if p.id == actor.id or leads(actor, p)]
    allowed_relations = set(care_settings().visit_relations)
    choices = []
    for p in people:
        choices.append((str(p.id), _("%(name)s (the staff member)", name=p.name)))
        for r in p.relatives:
            if r.relation in allowed_relations:
                choices.append((f"{p.id}:{r.id}", _("%(relative)s, %(relation)s of %(name)s", relative=r.name,
                                                   relation=relation_label(r.relation), name=p.name)))
    return choices


@bp.route("/", methods=["GET"])
@login_required
def overview():
    return render_overview()


def render_overview(visit_form: tuple | None = None, event_form: tuple | None = None) -> str:
    """The care page: one's hospital visits and life-event tasks (a submitted form kept with its
    errors, as (task id, form)), and one's own overtime care items."""
    from service.care.overtime_web import care_page_extras

    today = unit_today()
    tasks = db.session.scalars(select(VisitTask).where(VisitTask.leader_id == current_user.id)
                               .order_by(VisitTask.closed_on.is_not(None), VisitTask.due_on, VisitTask.id)).all()
    forms = {t.id: CloseForm(prefix=f"t{t.id}", formdata=None) for t in tasks if t.closed_on is None}
    if visit_form is not None:
        forms[visit_form[0]] = visit_form[1]
    extras = care_page_extras(current_user, today)
    if event_form is not None:
        extras["event_forms"][event_form[0]] = event_form[1]
    return render_template("care/overview.html", tasks=tasks, forms=forms, today=today,
                           outcome_labels=OUTCOME_LABELS, colour_labels=COLOUR_LABELS, **extras)


@bp.route("/tasks/<int:task_id>/close", methods=["POST"])
@login_required
def close(task_id):
    task = db.session.get(VisitTask, task_id) if task_id < 2**31 else None
    if task is None or not can(current_user, "write", "visit_task", task):
        abort(404)
    form = CloseForm(prefix=f"t{task.id}")
    if form.validate_on_submit():
        data = {"outcome": form.outcome.data, "note": (form.note.data or "").strip(),
                "allowance_yuan": form.allowance_yuan.data or 0}
        try:
            close_task(task, data, current_user, unit_today(), care_settings())
        except CareError as exc:
            show_refusal(form, exc, default="outcome", message=_translate_care_error(exc))
        else:
            audit.record("close", "visit_task", task.id, {"outcome": [None, task.outcome],
                                                          "allowance_yuan": [None, task.allowance_yuan]}, via="web")
            db.session.commit()
            flash(_("The visit is recorded."), "info")
            return redirect(url_for("care.overview"))
    return render_overview(visit_form=(task.id, form)), 422


def _translate_care_error(exc: CareError) -> str:
    # The core's messages are English for the API; the page says the same in the reader's language.
    if exc.field == "allowance_yuan":
        return _("This would exceed the yearly allowance cap of %(cap)d yuan for this person.",
                 cap=care_settings().allowance_cap_yuan)
    if exc.field == "outcome" and exc.status == 422:
        return _("A phone call or a proxy is only allowed for an out-of-town stay.")
    if exc.field == "outcome":
        return _("This visit is already closed.")
    if exc.field == "relative_id":
        return _("This relative does not count as immediate family under the unit's rule.")
    if exc.field == "admitted_on":
        return _("Admission is more than 60 days ahead.")
    return _("Please check this field.")


@bp.route("/report", methods=["GET", "POST"])
@login_required
def report():
    form = ReportForm()
    form.patient.choices = [("", _("Choose…"))] + _patients_for(current_user)
    if form.validate_on_submit():
        person_id, _sep, relative_id = form.patient.data.partition(":")
        person = db.session.get(Person, int(person_id))
        if person is None or not can(current_user, "write", "care_case", person):
            abort(403)
        data = {"relative_id": int(relative_id) if relative_id else None, "admitted_on": form.admitted_on.data,
                "discharged_on": form.discharged_on.data, "hospital": form.hospital.data.strip(),
                "out_of_town": form.out_of_town.data}
        try:
            case = report_case(data, person, current_user, unit_today(), care_settings())
        except CareError as exc:
            # The person and the relative are both chosen in "patient".
            show_refusal(form, exc, default="patient", message=_translate_care_error(exc))
        else:
            audit.record("create", "care_case", case.id, {"person_id": [None, person.id]}, via="web")
            db.session.commit()
            if case.visit_required:
                flash(_("Reported. The responsible leaders have a visit task due %(day)s.",
                        day=case.tasks[0].due_on.isoformat() if case.tasks else ""), "info")
            else:
                flash(_("Reported. The stay is shorter than the unit's rule, so no visit task was created."), "info")
            return redirect(url_for("care.overview"))
    return render_template("care/report.html", form=form), (422 if form.errors else 200)


@bp.route("/calendar")
@login_required
def calendar_page():
    """HR's care calendar for one month: admissions, visit due dates, clinic days, birthdays."""
    if not can(current_user, "write", "care_settings"):
        abort(403)
    today = unit_today()
    try:
        year, month = (int(x) for x in request.args.get("month", f"{today.year}-{today.month}").split("-"))
        first = date(year, month, 1)
    except ValueError:
        first = date(today.year, today.month, 1)
    last = first.replace(day=month_calendar.monthrange(first.year, first.month)[1])
    events: dict[date, list[tuple[str, str]]] = {}

    def add(day, kind, text):
        if first <= day <= last:
            events.setdefault(day, []).append((kind, text))

    for case in db.session.scalars(select(HospitalCase).where(HospitalCase.admitted_on <= last)):
        if case.admitted_on >= first:
            who = case.person.name if not case.relation else _(
                "%(relative)s, %(relation)s of %(name)s", relative=case.relative_name,
                relation=relation_label(case.relation), name=case.person.name)
            add(case.admitted_on, "hospital", _("In hospital: %(who)s", who=who))
    for task in db.session.scalars(select(VisitTask).where(VisitTask.due_on >= first, VisitTask.due_on <= last)):
        add(task.due_on, task.colour(today), _("Visit by %(leader)s: %(name)s", leader=task.leader.name,
                                               name=task.case.person.name))
    for clinic in db.session.scalars(select(ClinicDaySlot).where(ClinicDaySlot.day >= first, ClinicDaySlot.day <= last)):
        booked = db.session.scalar(select(db.func.count()).select_from(Appointment).where(
            Appointment.campaign_id == clinic.campaign_id, Appointment.day == clinic.day))
        add(clinic.day, "clinic", _("Health check: %(booked)d of %(places)d places",
                                    booked=booked, places=sum(clinic.capacity().values())))
    rule = care_settings().birthday_shift_rule
    people = db.session.scalars(select(Person).where(Person.left_on.is_(None),
                                                     Person.celebrations_opt_out.is_(False))).unique().all()
    birthdays = [(p, b) for p in people if (b := birthday_of_person(p))]
    by_id = {p.id: p for p, _b in birthdays}
    is_working_day = unit_working_day()
    day = first
    while day <= last:
        for pid, occurrence in birthdays_to_greet([(p.id, b) for p, b in birthdays], day, rule, is_working_day):
            add(day, "birthday", _("Birthday greeting: %(name)s (%(day)s)", name=by_id[pid].name,
                                   day=occurrence.strftime("%m-%d")))
        day += timedelta(days=1)
    previous = (first - timedelta(days=1)).strftime("%Y-%m")
    following = (last + timedelta(days=1)).strftime("%Y-%m")
    return render_template("care/calendar.html", first=first, events=sorted(events.items()),
                           previous=previous, following=following)


def _slot_choices(appointment: Appointment, today: date) -> list[tuple[str, str]]:
    choices = []
    for clinic in appointment.campaign.days:
        if clinic.day <= today:
            continue
        for half in clinic.capacity():
            if (clinic.day, half) != (appointment.day, appointment.half):
                choices.append((f"{clinic.day.isoformat()}|{half}", f"{clinic.day.isoformat()} {HALF_LABELS[half]}"))
    return choices


@bp.route("/health-check", methods=["GET", "POST"])
@login_required
def health_check():
    today = unit_today()
    appointments = db.session.scalars(select(Appointment).where(Appointment.person_id == current_user.id)
                                      .order_by(Appointment.id.desc())).all()
    current = appointments[0] if appointments else None
    form = SwapForm()
    if current is not None and current.status == "booked":
        form.wanted.choices = [("", _("Choose…"))] + _slot_choices(current, today)
    else:
        form.wanted.choices = []
    status = 200
    if request.method == "POST" and current is not None and current.status == "booked":
        if form.validate_on_submit():
            wanted_day, _sep, half = form.wanted.data.partition("|")
            try:
                check_slot_has_room(current, date.fromisoformat(wanted_day), half, today)
            except CareError:
                form.wanted.errors.append(_("This slot has no room for you (full, your leave, or too many of "
                                            "your section that day)."))
            else:
                db.session.add(SwapRequest(appointment_id=current.id, wanted_day=date.fromisoformat(wanted_day),
                                           wanted_half=half, reason=(form.reason.data or "").strip()))
                db.session.commit()
                flash(_("Your request was sent to HR."), "info")
                return redirect(url_for("care.health_check"))
        status = 422
    pending = db.session.scalars(select(SwapRequest).where(
        SwapRequest.appointment_id == current.id, SwapRequest.status == "pending")).all() if current else []
    return render_template("care/health_check.html", appointment=current, form=form, pending=pending,
                           half_labels=HALF_LABELS, status_labels=STATUS_LABELS), status


# Overtime, care items and life events: pages on this blueprint, kept in their own module.
from service.care import overtime_web  # noqa: E402,F401
