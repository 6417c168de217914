"""Care pages for overtime and life events (on the care blueprint): a staff member logs overtime and
the leader confirms it; HR's list of meals and rides to provide; reporting a life event and closing
its task."""
from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, DecimalField, SelectField, StringField, SubmitField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from service import audit
from service.auth.permissions import can, leads
from service.care import overtime_rules as rules
from service.care.events import action_label, close_event_task, event_kinds, kind_label, report_event
from service.care.models import CareItem, EventTask, OvertimeLog
from service.care.overtime import (
    credited_days, decide_overtime, log_overtime, mark_provided, may_confirm, notify_leaders, withdraw_overtime,
)
from service.care.settings import care_settings
from service.care.visits import CareError
from service.care.web import _day_in_range, bp
from service.clock import unit_today
from service.extensions import db
from service.people.models import Person
from service.web.refusals import flash_refusal, show_refusal

OCCASION_LABELS = {"late": _l("Late on a working day"), "rest_day": _l("Day off"), "holiday": _l("Public holiday")}
ITEM_LABELS = {"meal": _l("Meal"), "transport": _l("Ride home")}
ITEM_STATUS_LABELS = {"open": _l("To provide"), "provided": _l("Provided"), "cancelled": _l("Cancelled")}
PROVIDER_LABELS = {"logistics": _l("Logistics office"), "hr": _l("HR office")}
OVERTIME_STATUS_LABELS = {"pending": _l("Waiting for the leader"), "confirmed": _l("Confirmed"),
                          "rejected": _l("Not confirmed"), "withdrawn": _l("Withdrawn")}


class OvertimeForm(FlaskForm):
    person = SelectField(_l("Whose overtime"), validators=[DataRequired()])
    day = DateField(_l("Date"), validators=[InputRequired(message=_l("Enter the date.")), _day_in_range])
    start_time = TimeField(_l("From"), validators=[Optional()])
    end_time = TimeField(_l("Until"), validators=[Optional()])
    hours = DecimalField(_l("Or the hours"), places=1,
                         validators=[Optional(), NumberRange(min=0.5, max=24)])
    task = StringField(_l("Task"), validators=[DataRequired(message=_l("Say what the overtime was for.")),
                                               Length(max=300)])
    submit = SubmitField(_l("Log overtime"))

    def validate_hours(self, field):
        times = self.start_time.data is not None or self.end_time.data is not None
        if field.data is not None and times:
            raise ValidationError(_("Give either the hours, or the start and end times."))
        if field.data is not None and field.data % Decimal("0.5") != 0:
            raise ValidationError(_("Use whole or half hours."))
        if field.data is None and not times and not self.start_time.errors and not self.end_time.errors:
            raise ValidationError(_("Give either the hours, or the start and end times."))

    def validate_end_time(self, field):
        if self.start_time.data is not None and field.data is None:
            raise ValidationError(_("Give the end time with the start time."))

    def validate_start_time(self, field):
        if self.end_time.data is not None and field.data is None:
            raise ValidationError(_("Give the start time with the end time."))


class DecisionForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Length(max=300)])
    confirm = SubmitField(_l("Confirm"))
    reject = SubmitField(_l("Not confirmed"))


class WithdrawForm(FlaskForm):
    submit = SubmitField(_l("Withdraw"))


class ProvidedForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Length(max=300)])
    submit = SubmitField(_l("Mark provided"))


class EventForm(FlaskForm):
    person = SelectField(_l("Whose event"), validators=[DataRequired()])
    kind = SelectField(_l("Event"), validators=[DataRequired()])
    occurred_on = DateField(_l("Date"), validators=[InputRequired(message=_l("Enter the date.")), _day_in_range])
    note = StringField(_l("A line for the leader (optional)"), validators=[Length(max=300)])
    submit = SubmitField(_l("Report"))


class EventCloseForm(FlaskForm):
    note = TextAreaField(_l("What was done"), validators=[DataRequired(message=_l("Say in a line what was done.")),
                                                          Length(max=2000)])
    submit = SubmitField(_l("Close the task"))


def _people_for(actor, everyone: bool = False) -> list[tuple[str, str]]:
    """The actor first, then the people the actor leads (everyone for HR when ``everyone``)."""
    people = db.session.scalars(select(Person).where(Person.left_on.is_(None))
                                .order_by(Person.employee_no)).unique().all()
    others = [p for p in people if p.id != actor.id and (everyone or leads(actor, p))]
    return [(str(actor.id), _("Myself"))] + [(str(p.id), p.name) for p in others]


def care_page_extras(user, today) -> dict:
    """What the care overview shows besides hospital visits: life-event tasks, one's own care items."""
    tasks = db.session.scalars(select(EventTask).where(EventTask.leader_id == user.id)
                               .order_by(EventTask.closed_on.is_not(None), EventTask.due_on, EventTask.id)).all()
    items = db.session.scalars(select(CareItem).where(CareItem.person_id == user.id, CareItem.status != "cancelled")
                               .order_by(CareItem.day.desc(), CareItem.id).limit(20)).all()
    return {"event_tasks": tasks, "my_items": items,
            "event_forms": {t.id: EventCloseForm(prefix=f"e{t.id}") for t in tasks if t.closed_on is None},
            "kind_label": kind_label, "action_label": action_label, "item_labels": ITEM_LABELS,
            "item_status_labels": ITEM_STATUS_LABELS, "provider_labels": PROVIDER_LABELS}


def _overtime_page(form: OvertimeForm, status: int = 200):
    today = unit_today()
    mine = db.session.scalars(select(OvertimeLog).where(OvertimeLog.person_id == current_user.id)
                              .order_by(OvertimeLog.day.desc(), OvertimeLog.id.desc()).limit(50)).all()
    led = [p.id for p in db.session.scalars(select(Person)).unique().all() if may_confirm(current_user, p)]
    to_confirm = db.session.scalars(select(OvertimeLog).where(
        OvertimeLog.status == rules.PENDING, OvertimeLog.person_id.in_(led))
        .order_by(OvertimeLog.day, OvertimeLog.id)).all() if led else []
    return render_template(
        "care/overtime.html", form=form, mine=mine, to_confirm=to_confirm, today=today,
        decision_forms={o.id: DecisionForm(prefix=f"d{o.id}", formdata=None) for o in to_confirm},
        withdraw_form=WithdrawForm(prefix="w", formdata=None), credited=credited_days,
        occasion_labels=OCCASION_LABELS, status_labels=OVERTIME_STATUS_LABELS, item_labels=ITEM_LABELS,
        item_status_labels=ITEM_STATUS_LABELS), status


@bp.route("/overtime", methods=["GET", "POST"])
@login_required
def overtime():
    form = OvertimeForm()
    form.person.choices = _people_for(current_user)
    if not form.is_submitted():
        form.person.data = str(current_user.id)
    if form.validate_on_submit():
        person = db.session.get(Person, int(form.person.data))
        if person is None or not can(current_user, "write", "overtime", person):
            abort(403)
        data = {"day": form.day.data, "start_time": form.start_time.data, "end_time": form.end_time.data,
                "hours": form.hours.data, "task": form.task.data.strip()}
        today = unit_today()
        try:
            ot = log_overtime(data, person, current_user, today, care_settings())
        except CareError as exc:
            show_refusal(form, exc, default="day", rename={"person_id": "person"})
        else:
            notify_leaders(ot, today)
            audit.record("create", "overtime", ot.id, {"person_id": [None, person.id],
                                                       "status": [None, ot.status]}, via="web")
            db.session.commit()
            flash(_("Overtime logged; your leader is asked to confirm it.") if ot.status == rules.PENDING
                  else _("Overtime logged and confirmed."), "info")
            return redirect(url_for("care.overtime"))
    return _overtime_page(form, 422 if form.errors else 200)


def _overtime_or_404(overtime_id: int) -> OvertimeLog:
    ot = db.session.get(OvertimeLog, overtime_id) if 0 < overtime_id < 2**31 else None
    if ot is None or not can(current_user, "read", "overtime", ot.person):
        abort(404)
    return ot


@bp.route("/overtime/<int:overtime_id>/decision", methods=["POST"])
@login_required
def overtime_decision(overtime_id):
    ot = _overtime_or_404(overtime_id)
    if not may_confirm(current_user, ot.person):
        abort(403)
    form = DecisionForm(prefix=f"d{ot.id}")
    if not form.validate_on_submit():
        flash(_("The note is too long (300 characters at most)."), "error")
        return redirect(url_for("care.overtime"))
    try:
        decide_overtime(ot, bool(form.confirm.data), (form.note.data or "").strip(), current_user, unit_today(),
                        care_settings())
    except CareError as exc:
        flash_refusal(exc)
        return redirect(url_for("care.overtime"))
    audit.record("decide", "overtime", ot.id, {"status": ["pending", ot.status]}, via="web")
    db.session.commit()
    flash(_("Confirmed.") if ot.status == rules.CONFIRMED else _("Marked as not confirmed."), "info")
    return redirect(url_for("care.overtime"))


@bp.route("/overtime/<int:overtime_id>/withdraw", methods=["POST"])
@login_required
def overtime_withdraw(overtime_id):
    ot = _overtime_or_404(overtime_id)
    if not can(current_user, "write", "overtime", ot.person):
        abort(403)
    form = WithdrawForm(prefix="w")
    if not form.validate_on_submit():
        abort(400)
    before = ot.status
    try:
        withdraw_overtime(ot, current_user, unit_today(), care_settings())
    except CareError as exc:
        flash_refusal(exc)
        return redirect(url_for("care.overtime"))
    audit.record("withdraw", "overtime", ot.id, {"status": [before, ot.status]}, via="web")
    db.session.commit()
    flash(_("Withdrawn; any compensatory leave it earned is reversed."), "info")
    return redirect(url_for("care.overtime"))


@bp.route("/items")
@login_required
def items():
    """HR's list of meals and rides to provide for overtime."""
    if not can(current_user, "write", "care_item"):
        abort(403)
    open_items = db.session.scalars(select(CareItem).where(CareItem.status == "open")
                                    .order_by(CareItem.day, CareItem.id).limit(500)).all()
    recent = db.session.scalars(select(CareItem).where(CareItem.status == "provided")
                                .order_by(CareItem.provided_on.desc(), CareItem.id.desc()).limit(30)).all()
    return render_template("care/items.html", open_items=open_items, recent=recent,
                           forms={i.id: ProvidedForm(prefix=f"i{i.id}", formdata=None) for i in open_items},
                           item_labels=ITEM_LABELS, provider_labels=PROVIDER_LABELS,
                           occasion_labels=OCCASION_LABELS)


@bp.route("/items/<int:item_id>/provided", methods=["POST"])
@login_required
def item_provided(item_id):
    item = db.session.get(CareItem, item_id) if 0 < item_id < 2**31 else None
    if item is None or not can(current_user, "write", "care_item", item.person):
        abort(404)
    form = ProvidedForm(prefix=f"i{item.id}")
    if not form.validate_on_submit():
        flash(_("The note is too long (300 characters at most)."), "error")
        return redirect(url_for("care.items"))
    try:
        mark_provided(item, (form.note.data or "").strip(), current_user, unit_today())
    except CareError as exc:
        flash_refusal(exc)
        return redirect(url_for("care.items"))
    audit.record("provide", "care_item", item.id, {"status": ["open", "provided"]}, via="web")
    db.session.commit()
    flash(_("Marked provided."), "info")
    return redirect(url_for("care.items"))


@bp.route("/events/report", methods=["GET", "POST"])
@login_required
def report_event_page():
    form = EventForm()
    form.person.choices = _people_for(current_user, everyone=current_user.access_role == "hr")
    form.kind.choices = [("", _("Choose…"))] + [(str(k.id), kind_label(k)) for k in event_kinds(active_only=True)]
    if not form.is_submitted():
        form.person.data = str(current_user.id)
    if form.validate_on_submit():
        person = db.session.get(Person, int(form.person.data))
        if person is None or not can(current_user, "write", "care_case", person):
            abort(403)
        data = {"kind_id": int(form.kind.data), "occurred_on": form.occurred_on.data,
                "note": (form.note.data or "").strip()}
        try:
            event = report_event(data, person, current_user, unit_today(), care_settings())
        except CareError as exc:
            show_refusal(form, exc, default="occurred_on", rename={"person_id": "person", "kind_id": "kind"})
        else:
            audit.record("create", "life_event", event.id, {"person_id": [None, person.id],
                                                            "kind": [None, event.kind.code]}, via="web")
            db.session.commit()
            flash(_("Reported. The responsible leaders have a task due %(day)s.",
                    day=event.tasks[0].due_on.isoformat()) if event.tasks else _("Reported."), "info")
            return redirect(url_for("care.overview"))
    return render_template("care/event_report.html", form=form), (422 if form.errors else 200)


@bp.route("/event-tasks/<int:task_id>/close", methods=["POST"])
@login_required
def close_event(task_id):
    task = db.session.get(EventTask, task_id) if 0 < task_id < 2**31 else None
    if task is None or not can(current_user, "write", "visit_task", task):
        abort(404)
    form = EventCloseForm(prefix=f"e{task.id}")
    if form.validate_on_submit():
        try:
            close_event_task(task, form.note.data, current_user, unit_today())
        except CareError as exc:
            show_refusal(form, exc, default="note")
        else:
            audit.record("close", "event_task", task.id, {"closed_on": [None, task.closed_on.isoformat()]},
                         via="web")
            db.session.commit()
            flash(_("The task is closed."), "info")
            return redirect(url_for("care.overview"))
    from service.care.web import render_overview

    return render_overview(event_form=(task.id, form)), 422

