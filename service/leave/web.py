"""Web pages of leave: my leave and balance explained, asking for leave, approvals, a person's
ledger, a section's month grid, the unused-leave report."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from service.auth.permissions import can, leads
from service.clock import unit_today
from service.extensions import db
from service.leave import ledger, policy
from service.leave.care import PAY_MULTIPLE, unused_annual_leave
from service.leave.models import LeaveRequest
from service.leave.presence import month_grid
from service.leave.requests import (
    LeaveError, approve, cancel, kind_label, parts_of, reject, status_label, submit,
)
from service.people.models import Person, Section
from service.web.refusals import flash_refusal, show_refusal
from service.workdays.official import is_provisional_year

# template_folder: the leave emails (mail/leave_*.txt) live beside the domain.
bp = Blueprint("leave", __name__, template_folder="templates")


@bp.app_template_filter("leave_days")
def leave_days(value) -> str:
    """3 rather than 3.0, 2.5 as it is."""
    d = Decimal(str(value or 0))
    return str(d.quantize(Decimal("0.5")) if d % 1 else d.quantize(Decimal(1)))


@bp.app_context_processor
def leave_helpers():
    return {"kind_label": kind_label, "status_label": status_label}


def need(action: str, resource: str, obj=None) -> None:
    if not can(current_user, action, resource, obj):
        abort(403)


def _int_arg(name: str, default: int | None, lo: int, hi: int) -> int | None:
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return value if lo <= value <= hi else default


class RequestForm(FlaskForm):
    person_id = SelectField(_l("Person"), coerce=int, validators=[Optional()])
    kind = SelectField(_l("Kind of leave"), validators=[DataRequired()])
    start_date = DateField(_l("First day"), validators=[DataRequired(message=_l("Enter the first day."))])
    starts_afternoon = BooleanField(_l("Afternoon only on the first day"))
    end_date = DateField(_l("Last day"), validators=[DataRequired(message=_l("Enter the last day."))])
    ends_noon = BooleanField(_l("Morning only on the last day"))
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])
    evidence = StringField(_l("Evidence (when the kind needs it)"), validators=[Optional(), Length(max=200)])
    record = BooleanField(_l("Record as approved (HR)"))
    submit = SubmitField(_l("Ask for leave"))


class DecisionForm(FlaskForm):
    note = TextAreaField(_l("Note or reason"), validators=[Optional(), Length(max=500)])
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))


@bp.route("/leave")
@login_required
def mine():
    today = unit_today()
    year = _int_arg("year", today.year, 1900, 2100)
    return _person_page(current_user, year, today, own=True)


@bp.route("/leave/people/<int:person_id>")
@login_required
def person(person_id):
    p = db.session.get(Person, person_id) if person_id < 2**31 else None
    if p is None:
        abort(404)
    need("read", "leave_ledger", p)
    today = unit_today()
    return _person_page(p, _int_arg("year", today.year, 1900, 2100), today, own=p.id == current_user.id)


def _person_page(p: Person, year: int, today: date, own: bool):
    st = ledger.statement(p.id, year, today if year == today.year else date(year, 12, 31))
    comp = ledger.statement(p.id, None, today, "compensatory")
    ent = ledger.entitlement_of(p, year)
    requests = db.session.scalars(select(LeaveRequest).where(LeaveRequest.person_id == p.id)
                                  .order_by(LeaveRequest.start_date.desc()).limit(100)).all()
    return render_template("leave/person.html", p=p, year=year, st=st, comp=comp, ent=ent, requests=requests,
                           own=own, today=today, provisional=is_provisional_year(year),
                           may_cancel=lambda r: r.status in ("pending", "approved") and can(
                               current_user, "write", "leave", r.person) and (
                               current_user.is_hr_admin or r.status == "pending" or r.start_date > today))


@bp.route("/leave/new", methods=["GET", "POST"])
@login_required
def new():
    form = RequestForm()
    kinds = policy.kinds(active_only=True)
    form.kind.choices = [(k.code, kind_label(k)) for k in kinds]
    hr = current_user.is_hr_admin
    if hr:
        people = db.session.scalars(select(Person).where(Person.left_on.is_(None)).order_by(Person.employee_no)).all()
        form.person_id.choices = [(p.id, f"{p.employee_no} {p.name}") for p in people]
        if request.method == "GET":
            form.person_id.data = current_user.id
    else:
        form.person_id.choices = [(current_user.id, current_user.name)]
        form.person_id.data = current_user.id
    status = 200
    if form.validate_on_submit():
        subject = db.session.get(Person, form.person_id.data if hr else current_user.id)
        need("write", "leave", subject)
        kind = next(k for k in kinds if k.code == form.kind.data)
        try:
            req = submit(subject, kind, form.start_date.data, form.end_date.data,
                         starts_afternoon=form.starts_afternoon.data, ends_noon=form.ends_noon.data,
                         reason=(form.reason.data or "").strip(), evidence=(form.evidence.data or "").strip() or None,
                         actor=current_user, record=hr and form.record.data, today=unit_today())
        except LeaveError as exc:
            show_refusal(form, exc, default="start_date")
            status = exc.status
        else:
            db.session.commit()
            flash(_("Leave request sent: %(days)s days.", days=leave_days(req.days)) if req.status == "pending"
                  else _("Leave recorded: %(days)s days.", days=leave_days(req.days)), "info")
            return redirect(url_for("leave.mine") if subject.id == current_user.id
                            else url_for("leave.person", person_id=subject.id))
    elif request.method == "POST":
        status = 422
    return render_template("leave/request_form.html", form=form, kinds=kinds, hr=hr), status


@bp.route("/leave/approvals")
@login_required
def approvals():
    pending = db.session.scalars(select(LeaveRequest).where(LeaveRequest.status == "pending")
                                 .order_by(LeaveRequest.start_date)).all()
    mine = [r for r in pending if r.current_approver_id == current_user.id
            or (current_user.is_hr_admin and not r.approver_ids)]
    others = [r for r in pending if r not in mine and current_user.is_hr_admin]
    forms = {r.id: DecisionForm(prefix=f"r{r.id}", formdata=None) for r in mine + others}
    return render_template("leave/approvals.html", mine=mine, others=others, forms=forms, parts_of=parts_of)


@bp.route("/leave/requests/<int:request_id>/decide", methods=["POST"])
@login_required
def decide(request_id):
    req = db.session.get(LeaveRequest, request_id) if request_id < 2**31 else None
    if req is None:
        abort(404)
    need("write", "leave_decision", req)
    form = DecisionForm(prefix=f"r{req.id}")
    if form.validate_on_submit():
        try:
            if form.reject.data:
                reject(req, current_user, (form.note.data or "").strip())
            else:
                approve(req, current_user, (form.note.data or "").strip() or None)
        except LeaveError as exc:
            show_refusal(form, exc, default="note")
        else:
            db.session.commit()
            flash(_("%(name)s: %(status)s.", name=req.person.name, status=status_label(req.status))
                  if req.status != "pending" else _("Approved; it goes on to the next approver."), "info")
            return redirect(url_for("leave.approvals"))
    pending = [r for r in db.session.scalars(select(LeaveRequest).where(LeaveRequest.status == "pending")
                                             .order_by(LeaveRequest.start_date))
               if r.current_approver_id == current_user.id or (current_user.is_hr_admin and not r.approver_ids)]
    forms = {r.id: DecisionForm(prefix=f"r{r.id}", formdata=None) for r in pending}
    forms[req.id] = form
    return render_template("leave/approvals.html", mine=pending, others=[], forms=forms, parts_of=parts_of), 422


@bp.route("/leave/requests/<int:request_id>/cancel", methods=["POST"])
@login_required
def cancel_request(request_id):
    req = db.session.get(LeaveRequest, request_id) if request_id < 2**31 else None
    if req is None:
        abort(404)
    need("write", "leave", req.person)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        cancel(req, current_user, unit_today())
    except LeaveError as exc:
        flash_refusal(exc)
    else:
        db.session.commit()
        flash(_("Leave cancelled; its days are back."), "info")
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url)
                    else url_for("leave.mine"))


@bp.route("/leave/grid")
@login_required
def grid():
    need("read", "leave")
    today = unit_today()
    sections = db.session.scalars(select(Section).order_by(Section.code)).all()
    if not sections:
        return render_template("leave/grid.html", sections=[], grid=None, section=None, month=None)
    section_id = _int_arg("section", None, 1, 2**31 - 1) or current_user.section_id or sections[0].id
    section = db.session.get(Section, section_id) or sections[0]
    month_text = request.args.get("month", "")
    try:
        year, month = (int(x) for x in month_text.split("-"))
        date(year, month, 1)
        if not 1900 <= year <= 2100:
            raise ValueError
    except ValueError:
        year, month = today.year, today.month
    g = month_grid(section.id, year, month)
    # Pending leave only for those who may read that person's requests; approved leave for all.
    visible = {row.person.id for row in g.rows if can(current_user, "read", "leave", row.person)}
    prev_m = date(year - (month == 1), 12 if month == 1 else month - 1, 1)
    next_m = date(year + (month == 12), 1 if month == 12 else month + 1, 1)
    return render_template("leave/grid.html", sections=sections, section=section, grid=g, visible=visible,
                           month=f"{year:04d}-{month:02d}", prev_m=prev_m.strftime("%Y-%m"),
                           next_m=next_m.strftime("%Y-%m"), today=today)


@bp.route("/leave/report")
@login_required
def report():
    need("read", "leave_report")
    year = _int_arg("year", unit_today().year, 1900, 2100)
    items = unused_annual_leave(year)
    if not current_user.is_hr_admin:
        items = [i for i in items if leads(current_user, i.person)]
    return render_template("leave/report.html", year=year, items=items, multiple=PAY_MULTIPLE,
                           total=sum((i.days for i in items), Decimal(0)), provisional=is_provisional_year(year))


_LEDGER_KINDS = {"allocation": _l("allocation"), "taken": _l("taken"), "cancelled": _l("cancellation"),
                 "adjustment": _l("adjustment"), "carry_out": _l("carried out"), "carry_in": _l("carried in"),
                 "lapse": _l("lapsed"), "expiry": _l("expired")}


@bp.app_template_filter("ledger_kind")
def ledger_kind(kind: str) -> str:
    return str(_LEDGER_KINDS.get(kind, kind))


@bp.app_template_filter("entitlement_step")
def entitlement_step(step) -> str:
    """A step of the entitlement explanation in the reader's language (the core's English text
    is the fallback for a code this list does not know)."""
    v = step.values
    code = step.code
    if code == "period":
        if "year" in v:
            return _("At the unit the whole of %(year)d.", year=v["year"])
        return _("At the unit from %(start)s to %(end)s: %(n)d calendar days.", start=v["start"], end=v["end"],
                 n=v["calendar_days"])
    if code == "tier":
        return _("Cumulative work on %(on)s: %(years)d whole years; %(days)d days a year (Regulations art. 3).",
                 on=v["on"], years=v["years"], days=v["tier_days"])
    if code == "tier_change":
        return _("Reaches %(years)d years of work on %(on)s (%(days)d days a year); the unit's rule decides "
                 "whether this year or the next.", years=v["years"], on=v["on"], days=v["tier_days"])
    if code == "not_eligible":
        return _("Less than one year of work: not yet eligible (Regulations art. 2).")
    if code == "full_year":
        return _("Full year: %(days)d days.", days=v["days"])
    if code == "pro_rata":
        return _("Pro rata: %(weighted)d / 365, rounded down = %(days)d days (Measures art. 5, 12).",
                 weighted=v["weighted_days"], days=v["days"])
    if code == "disqualified_personal_leave":
        return _("%(days)s days of personal leave (20 or more): no annual leave this year (Regulations art. 4).",
                 days=v["personal_leave_days"])
    if code == "disqualified_sick_leave":
        return _("Sick leave of %(limit)d months or more: no annual leave this year (Regulations art. 4).",
                 limit=v["limit_months"])
    if code == "result":
        return _("Annual leave: %(days)d days.", days=v["days"])
    if code == "not_at_unit":
        return _("Not at the unit that year: 0 days.")
    return step.text
