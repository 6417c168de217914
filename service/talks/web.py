"""Talk pages: the leader's dashboard (due list in red-letter order, coverage matrix, follow-ups),
HR's coverage heatmap, recording and editing a talk, the talk page with sign-off, past versions and
the printable record sheet (谈心谈话记录表)."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from wtforms import (
    BooleanField, DateField, DateTimeLocalField, IntegerField, SelectField, StringField, SubmitField, TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from service.auth.permissions import can, leads
from service.clock import unit_today
from service.extensions import db
from service.people.models import Person, Section
from service.talks.access import may_read_content, read_content, visible_talks
from service.talks.cadence import STATUS_COLOURS
from service.talks.loading import kind_labels, obligations, talk_settings
from service.talks.models import CONTENT_FIELDS, FollowUp, Talk
from service.talks.records import content_readers, MAX_ATTACHMENT_BYTES, TalkError, attach, create_talk, sign_talk, update_talk
from service.web.refusals import flash_refusal, show_refusal

bp = Blueprint("talks", __name__, url_prefix="/talks")

STATUS_LABELS = {"done": _l("Done"), "due": _l("Due"), "overdue": _l("Overdue")}
ROLE_LABELS = {"talker": _l("Talker"), "talked_to": _l("Talked to"), "recorder": _l("Recorder"),
               "present": _l("Others present")}
SPLIT = re.compile(r"[,，、;；\n]+")
# Form field of each record field, so an error from the records module lands next to its field.
FORM_FIELD = {"talker_ids": "talkers", "talked_to_ids": "talked_to", "recorder_id": "recorder",
              "present_ids": "present", "file": "attachment"}


def _in_range(form, field):
    if field.data and not (datetime(1900, 1, 1) <= field.data <= datetime(2100, 12, 31, 23, 59)):
        raise ValidationError(_("Date must be between 1900 and 2100."))


def _day_in_range(form, field):
    if field.data and not (date(1900, 1, 1) <= field.data <= date(2100, 12, 31)):
        raise ValidationError(_("Date must be between 1900-01-01 and 2100-12-31."))


class TalkForm(FlaskForm):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    held_at = DateTimeLocalField(_l("Date and time"), format="%Y-%m-%dT%H:%M",
                                 validators=[InputRequired(message=_l("Enter the date and time.")), _in_range])
    duration_minutes = IntegerField(_l("Duration (minutes)"), validators=[
        InputRequired(message=_l("Enter the duration in minutes.")), NumberRange(min=1, max=1440)])
    place = StringField(_l("Place"), validators=[DataRequired(), Length(max=120)])
    talkers = StringField(_l("Talker(s)"), validators=[DataRequired(), Length(max=2000)])
    talked_to = StringField(_l("Talked to"), validators=[DataRequired(), Length(max=20000)])
    collective = BooleanField(_l("Collective talk (several people at once)"))
    recorder = StringField(_l("Recorder"), validators=[Optional(), Length(max=200)])
    present = StringField(_l("Others present"), validators=[Optional(), Length(max=2000)])
    topic = StringField(_l("Topic or reason"), validators=[DataRequired(), Length(max=200)])
    outline = TextAreaField(_l("Outline"), validators=[Length(max=20000)])
    content = TextAreaField(_l("Content"), validators=[Length(max=50000)])
    views = TextAreaField(_l("Views, suggestions and difficulties raised"), validators=[Length(max=20000)])
    attitude = TextAreaField(_l("Attitude"), validators=[Length(max=5000)])
    follow_up_text = TextAreaField(_l("Follow-up measures"), validators=[Length(max=20000)])
    fu_description = StringField(_l("Follow-up item"), validators=[Optional(), Length(max=500)])
    fu_owner = StringField(_l("Owner of the item"), validators=[Optional(), Length(max=200)])
    fu_due_on = DateField(_l("Item due on"), validators=[Optional(), _day_in_range])
    attachment = FileField(_l("Attachment (PDF, JPEG or PNG, at most 5 MB)"))
    submit = SubmitField(_l("Save"))


class SignForm(FlaskForm):
    submit = SubmitField(_l("I have read the record and sign it"))


def _person_label(p: Person) -> str:
    return f"{p.employee_no} {p.name}"


def _parse_people(form: TalkForm, field_name: str, single: bool = False) -> list[int] | None:
    """People named in a picker field ("number name", comma-separated); None after adding an error."""
    field = getattr(form, field_name)
    text = (field.data or "").strip()
    if not text:
        return []
    ids = []
    for item in (t.strip() for t in SPLIT.split(text)):
        if not item:
            continue
        word = item.split()[0]
        person = db.session.scalar(select(Person).where(Person.employee_no == word))
        if person is None:
            matches = db.session.scalars(select(Person).where(Person.name == item)).unique().all()
            person = matches[0] if len(matches) == 1 else None
        if person is None:
            field.errors.append(_("No one with the number or name %(item)s.", item=item))
            return None
        ids.append(person.id)
    if single and len(ids) > 1:
        field.errors.append(_("Name one person."))
        return None
    return ids


def _form_data(form: TalkForm) -> dict | None:
    people = {name: _parse_people(form, name, single=name == "recorder")
              for name in ("talkers", "talked_to", "recorder", "present")}
    owner = _parse_people(form, "fu_owner", single=True) if form.fu_description.data else []
    if form.fu_description.data:
        # An item needs an owner and a due date (checked here: Optional() would skip a validator).
        if owner == []:
            form.fu_owner.errors.append(_("Name the owner of the item."))
            owner = None
        if form.fu_due_on.data is None:
            form.fu_due_on.errors = list(form.fu_due_on.errors) + [_("Give the item a due date.")]
            owner = None
    if any(v is None for v in people.values()) or owner is None:
        return None
    data = {"kind": form.kind.data, "held_at": form.held_at.data, "duration_minutes": form.duration_minutes.data,
            "place": (form.place.data or "").strip(), "topic": (form.topic.data or "").strip(), "collective": form.collective.data,
            "talker_ids": people["talkers"], "talked_to_ids": people["talked_to"],
            "recorder_id": (people["recorder"] or [None])[0], "present_ids": people["present"],
            **{f: getattr(form, f).data or "" for f in CONTENT_FIELDS}}
    data["follow_ups"] = ([{"owner_id": owner[0], "description": (form.fu_description.data or "").strip(),
                            "due_on": form.fu_due_on.data}] if form.fu_description.data else [])
    return data


def _show_error(form: TalkForm, exc: TalkError) -> None:
    name = FORM_FIELD.get(exc.field, exc.field)
    if name.startswith("follow_ups"):
        name = "fu_owner"
    field = getattr(form, name, None) or form.talkers
    field.errors = list(field.errors) + [exc.message]


PICKER_LIMIT = 20


def _picker_people(text: str = "", limit: int = PICKER_LIMIT) -> list:
    """Active people whose employee number or name starts with ``text`` (or whose name contains
    it), at most ``limit``, as rows (id, employee_no, name, section name, post): the picker
    searches, it never lists the whole unit."""
    stmt = (select(Person.id, Person.employee_no, Person.name, Section.name.label("section"), Person.post)
            .outerjoin(Section, Section.id == Person.section_id).where(Person.left_on.is_(None)))
    text = text.strip()
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(or_(Person.employee_no.ilike(escaped + "%", escape="\\"),
                              Person.name.like("%" + escaped + "%", escape="\\")))
    return db.session.execute(stmt.order_by(Person.employee_no).limit(limit)).all()


def _named_in(form) -> list:
    """The people already named in the form's picker fields, for the picker's first options."""
    words = {item.strip().split()[0] for name in ("talkers", "talked_to", "recorder", "present", "fu_owner")
             for item in SPLIT.split(getattr(form, name).data or "") if item.strip()}
    if not words:
        return []
    return db.session.execute(
        select(Person.id, Person.employee_no, Person.name, Section.name.label("section"), Person.post)
        .outerjoin(Section, Section.id == Person.section_id)
        .where(Person.left_on.is_(None), Person.employee_no.in_(sorted(words))).order_by(Person.employee_no)).all()


def _render_form(form, talk=None):
    return render_template("talks/form.html", form=form, talk=talk, people=_named_in(form),
                           max_mb=MAX_ATTACHMENT_BYTES // (1024 * 1024))


@bp.route("/people.json")
@login_required
def picker():
    """The person picker's search: active people matching ``q`` (number or name), at most 20."""
    if not can(current_user, "read", "person"):
        abort(403)
    q = (request.args.get("q") or "")[:80]
    rows = _picker_people(q) if q.strip() else []
    return {"people": [{"id": r.id, "label": f"{r.employee_no} {r.name}",
                        "detail": " ".join(x for x in (r.section, r.post) if x)} for r in rows]}


def _kind_choices(form: TalkForm) -> None:
    form.kind.choices = list(kind_labels(_locale()).items())


def _locale() -> str:
    from service import _select_locale

    return str(_select_locale())


def _save_attachment(form, talk) -> bool:
    upload = form.attachment.data
    if upload and getattr(upload, "filename", ""):
        attach(talk, upload.filename, upload.read(MAX_ATTACHMENT_BYTES + 1), current_user)
    return True


def _talk_or_404(talk_id: int) -> Talk:
    talk = db.session.get(Talk, talk_id) if 1 <= talk_id < 2**31 else None
    if talk is None or not can(current_user, "read", "talk", content_readers(talk)):
        abort(404)
    return talk


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = TalkForm()
    _kind_choices(form)
    if request.method == "GET":
        form.talkers.data = _person_label(current_user)
        form.held_at.data = datetime.combine(unit_today(), datetime.min.time()).replace(hour=9)
        form.duration_minutes.data = 30
        if request.args.get("with", type=int):
            person = db.session.get(Person, request.args.get("with", type=int))
            if person is not None:
                form.talked_to.data = _person_label(person)
        return _render_form(form)
    valid = form.validate_on_submit()
    data = _form_data(form)  # people are checked even when another field is wrong: all errors at once
    if valid and data is not None and not any(f.errors for f in form):
        if True:
            try:
                talk = create_talk(data, current_user, unit_today())
                _save_attachment(form, talk)
                db.session.commit()
            except TalkError as exc:
                db.session.rollback()
                _show_error(form, exc)
            else:
                flash(_("The talk is recorded."), "info")
                return redirect(url_for("talks.show", talk_id=talk.id))
    return _render_form(form), 422


@bp.route("/<int:talk_id>/edit", methods=["GET", "POST"])
@login_required
def edit(talk_id):
    talk = _talk_or_404(talk_id)
    if not can(current_user, "write", "talk", talk):
        abort(403)
    form = TalkForm()
    _kind_choices(form)
    if request.method == "GET":
        content = read_content(talk, current_user)
        db.session.commit()
        for f in ("kind", "held_at", "duration_minutes", "place", "topic", "collective"):
            getattr(form, f).data = getattr(talk, f)
        for f in CONTENT_FIELDS:
            getattr(form, f).data = content[f]
        labels = lambda role: ", ".join(_person_label(p) for p in talk.people(role))  # noqa: E731
        form.talkers.data, form.talked_to.data = labels("talker"), labels("talked_to")
        form.recorder.data, form.present.data = labels("recorder"), labels("present")
        return _render_form(form, talk)
    valid = form.validate_on_submit()
    data = _form_data(form)
    if valid and data is not None and not any(f.errors for f in form):
        if True:
            try:
                new_version = update_talk(talk, data, current_user, unit_today())
                _save_attachment(form, talk)
                db.session.commit()
            except TalkError as exc:
                db.session.rollback()
                _show_error(form, exc)
            else:
                flash(_("Saved as version %(n)d: it needs signing again.", n=talk.version) if new_version
                      else _("Saved."), "info")
                return redirect(url_for("talks.show", talk_id=talk.id))
    return _render_form(form, talk), 422


@bp.route("/<int:talk_id>")
@login_required
def show(talk_id):
    talk = _talk_or_404(talk_id)
    content = read_content(talk, current_user) if may_read_content(current_user, talk) else None
    db.session.commit()
    return render_template("talks/show.html", talk=talk, content=content, kinds=kind_labels(_locale()),
                           role_labels=ROLE_LABELS, today=unit_today(),
                           may_edit=can(current_user, "write", "talk", talk),
                           held_form=HeldForm() if talk.status == "scheduled" and talk.held_on <= unit_today() else None,
                           sign_form=SignForm() if (can(current_user, "write", "talk_signoff", talk)
                                                    and current_user.id not in talk.signed_by()
                                                    and talk.status == "held") else None)


@bp.route("/<int:talk_id>/sign", methods=["POST"])
@login_required
def sign(talk_id):
    talk = _talk_or_404(talk_id)
    if not can(current_user, "write", "talk_signoff", talk):
        abort(403)
    form = SignForm()
    if form.validate_on_submit():
        try:
            sign_talk(talk, current_user)
            db.session.commit()
            flash(_("Signed."), "info")
        except TalkError as exc:
            flash_refusal(exc)
    return redirect(url_for("talks.show", talk_id=talk.id))


@bp.route("/<int:talk_id>/versions")
@login_required
def versions(talk_id):
    talk = _talk_or_404(talk_id)
    if not may_read_content(current_user, talk):
        abort(403)
    rows = [(v, read_content(talk, current_user, v.number), sorted(talk.signed_by(v.number))) for v in talk.versions]
    db.session.commit()
    names = {p.person_id: p.person.name for p in talk.participants}
    return render_template("talks/versions.html", talk=talk, rows=rows, names=names)


@bp.route("/<int:talk_id>/print")
@login_required
def print_sheet(talk_id):
    talk = _talk_or_404(talk_id)
    if not may_read_content(current_user, talk):
        abort(403)
    content = read_content(talk, current_user)
    db.session.commit()
    return render_template("talks/print.html", talk=talk, content=content, kinds=kind_labels(_locale()))


# ----------------------------------------------------------------------------------- dashboards


def _months(today: date, count: int) -> list[date]:
    first = today.replace(day=1)
    out = []
    for _i in range(count):
        out.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return list(reversed(out))


_WORST = {"overdue": 0, "due": 1, "done": 2}


def coverage(found, months: list[date], key) -> dict:
    """{(row, month): status} from cadence obligations whose period contains the month's first
    day or starts in it; the worst status wins (one red is red)."""
    cells: dict = {}
    for o in found:
        if o.source != "cadence":
            continue
        for m in months:
            if o.period_start <= m <= o.period_end or (m <= o.period_start and o.period_start.month == m.month
                                                       and o.period_start.year == m.year):
                k = (key(o), m)
                if k not in cells or _WORST[o.status] < _WORST[cells[k]]:
                    cells[k] = o.status
    return cells


def coverage_rows(people_ids, names: dict, months: list[date], month_keys: list[str], cells: dict,
                  labels: dict) -> list[tuple]:
    """The rows of a leader's coverage matrix: ``(person id, name, the row's cells as HTML)``.
    A deputy's matrix is ~1,300 cells of a few dozen shapes (month x status): each shape is
    rendered and escaped once here, not once per cell in the template (half the page's time)."""
    shapes = {}
    for i, key in enumerate(month_keys):
        for status in (None, *labels):
            label = labels[status] if status else ""
            shapes[(i, status)] = Markup('<td class="cell {}" data-month="{}" title="{}">{}</td>').format(
                STATUS_COLOURS[status] if status else "", key, label,
                Markup("<span>{}</span>").format(label) if status else "")
    rows = []
    for pid in people_ids:
        p = names.get(pid)
        rows.append((pid, p.name if p else pid,
                     Markup("").join([shapes[(i, cells.get((pid, m)))] for i, m in enumerate(months)])))
    return rows


def _names(ids) -> dict:
    """{id: row with .name} of the active people among ``ids`` (only those the page shows)."""
    ids = sorted(set(ids))
    found = {}
    for i in range(0, len(ids), 900):  # stay below SQLite's bound-parameter limit
        found.update((r.id, r) for r in db.session.execute(select(Person.id, Person.name).where(
            Person.id.in_(ids[i:i + 900]), Person.left_on.is_(None))))
    return found


@bp.route("/")
@login_required
def dashboard():
    today = unit_today()
    me = current_user
    months = _months(today, 6)
    since = months[0]
    settings = talk_settings()  # noqa: F841 - held for the request, so that later reads find it in the session
    kinds = kind_labels(_locale())
    # Only the leader's own (talker, talked-to) pairs are computed (see loading.obligations).
    mine = obligations(today, me.id, since=since) if me.role in ("head", "deputy", "chief") else []
    due_list = [o for o in mine if o.status != "done" and o.period_end >= today.replace(day=1) - timedelta(days=31)
                or o.status == "overdue"]
    people_ids = list(dict.fromkeys(o.talked_to_id for o in mine))
    # A head of 10,000 people gets the matrix by section (share done), each section a link to
    # its people; a leader of a few hundred gets one row per person, as before.
    section_rows = None
    drill = request.args.get("section", type=int)
    if drill is not None or len(people_ids) > 400:
        section_of = {}
        for i in range(0, len(people_ids), 900):  # SQLite's bound-parameter limit
            section_of.update(db.session.execute(select(Person.id, Person.section_id).where(
                Person.id.in_(people_ids[i:i + 900]))).all())
        if drill is not None:
            people_ids = [p for p in people_ids if section_of.get(p) == drill]
            mine_shown = [o for o in mine if section_of.get(o.talked_to_id) == drill]
        else:
            shares: dict = {}
            for ((section_id, _pid), m), status in coverage(
                    mine, months, key=lambda o: (section_of.get(o.talked_to_id), o.talked_to_id)).items():
                done_total = shares.setdefault((section_id, m), [0, 0])
                done_total[1] += 1
                done_total[0] += status == "done"
            by_id = {s.id: s for s in db.session.scalars(select(Section).where(
                Section.id.in_({k[0] for k in shares if k[0] is not None})))}
            section_rows = {"sections": sorted((s for s in by_id.values()), key=lambda s: s.code),
                            "shares": shares, "people": len(people_ids),
                            "no_section": any(k[0] is None for k in shares)}
            people_ids, mine_shown = [], []
    else:
        mine_shown = mine
    cells = coverage(mine_shown, months, key=lambda o: o.talked_to_id)
    follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.owner_id == me.id)
                                    .order_by(FollowUp.done_on.is_not(None), FollowUp.due_on)).all()
    recent = db.session.scalars(visible_talks(me).options(selectinload(Talk.participants), selectinload(Talk.signoffs))
                                .order_by(Talk.held_at.desc(), Talk.id.desc()).limit(20)).unique().all()
    to_sign = [t for t in recent if me.id in t.ids("talked_to") and me.id not in t.signed_by() and t.status == "held"]
    hr = _hr_view(today, months) if me.access_role == "hr" else None
    names = _names([*people_ids, *(o.talked_to_id for o in due_list[:100]), *(hr["leaders_shown"] if hr else ())])
    month_keys = [m.strftime("%Y-%m") for m in months]
    # Translated once: a lazy label is translated again at each use.
    status_labels = {k: str(v) for k, v in STATUS_LABELS.items()}
    page = render_template("talks/dashboard.html", due_list=due_list[:100], people_ids=people_ids, names=names,
                           months=months, month_keys=month_keys,
                           rows=coverage_rows(people_ids, names, months, month_keys, cells, status_labels),
                           follow_ups=follow_ups, recent=recent, to_sign=to_sign, today=today,
                           section_rows=section_rows, drill=drill, status_labels=status_labels,
                           colours=STATUS_COLOURS, kinds=kinds, hr=hr)
    # After rendering: a commit expires every loaded object, and the page would reload each one.
    db.session.commit()
    return page


def _hr_view(today: date, months: list[date]) -> dict:
    """The unit's coverage: sections x months (share done), overdue counts by leader, a trend.

    Tallied as the core hands the obligations over (``unit_obligations_into``): counts per
    (section, month), never a list of the unit's 100,000 obligations."""
    from types import SimpleNamespace

    from service.talks.loading import unit_obligations_into

    sections = db.session.scalars(select(Section).order_by(Section.code)).all()
    section_of = dict(db.session.execute(select(Person.id, Person.section_id).where(Person.left_on.is_(None))).all())
    done, total = defaultdict(int), defaultdict(int)
    overdue_by_leader = defaultdict(int)
    spans = [(m, (m.year, m.month)) for m in months]

    def tally(o) -> None:
        if o.status == "overdue":
            overdue_by_leader[o.talker_id] += 1
        if o.source != "cadence":
            return
        start, end, ok = o.period_start, o.period_end, o.status == "done"
        first = (start.year, start.month)
        for m, ym in spans:
            if start <= m <= end or first == ym:
                key = (section_of.get(o.talked_to_id), m)
                total[key] += 1
                if ok:
                    done[key] += 1

    unit_obligations_into(SimpleNamespace(append=tally), today, since=months[0])
    month_done, month_total = defaultdict(int), defaultdict(int)
    for (_s, m), n in total.items():
        month_total[m] += n
        month_done[m] += done[(_s, m)]
    heat = {k: (done[k], total[k]) for k in total}
    trend = [(m, round(100 * month_done[m] / month_total[m]) if month_total[m] else None) for m in months]
    leaders = sorted(overdue_by_leader.items(), key=lambda kv: -kv[1])
    return {"sections": sections, "heat": heat, "trend": trend, "leaders": leaders,
            "leaders_shown": [leader_id for leader_id, _n in leaders]}


# ----------------------------------------------------------------------------------- iCal feed


class FeedForm(FlaskForm):
    submit = SubmitField(_l("New secret calendar address"))


class RevokeFeedForm(FlaskForm):
    submit = SubmitField(_l("Revoke the calendar address"))


@bp.route("/calendar", methods=["GET", "POST"])
@login_required
def calendar_feed():
    """Make (or replace) or revoke my secret iCal address; the address is shown once."""
    import hashlib
    import secrets

    from service.talks.models import IcalFeed

    form, revoke = FeedForm(prefix="new"), RevokeFeedForm(prefix="revoke")
    row = db.session.scalar(select(IcalFeed).where(IcalFeed.person_id == current_user.id))
    address = None
    if request.method == "POST" and revoke.submit.data and revoke.validate_on_submit():
        if row is not None:
            db.session.delete(row)
            db.session.commit()
            row = None
        flash(_("The calendar address is revoked."), "info")
    elif request.method == "POST" and form.validate_on_submit():
        clear = secrets.token_urlsafe(32)
        if row is None:
            row = IcalFeed(person_id=current_user.id, token_hash="")
            db.session.add(row)
        row.token_hash = hashlib.sha256(clear.encode()).hexdigest()
        db.session.commit()
        address = url_for("talks.ical", token=clear, _external=True)
    return render_template("talks/calendar.html", form=form, revoke=revoke, row=row, address=address)


@bp.route("/calendar/<token>.ics")
def ical(token):
    """A leader's calendar: scheduled and held talks (who, when, where, what kind) and the due dates
    of open obligations as all-day events; never what was said."""
    import hashlib

    from service.talks.models import IcalFeed

    if len(token) > 100:
        abort(404)
    row = db.session.scalar(select(IcalFeed).where(IcalFeed.token_hash == hashlib.sha256(token.encode()).hexdigest()))
    person = db.session.get(Person, row.person_id) if row else None
    if person is None or not person.active:
        abort(404)
    body = talks_calendar(person, unit_today())
    db.session.commit()
    return body, 200, {"Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "private, no-store"}


def talks_calendar(person: Person, today: date) -> bytes:
    """iCalendar (RFC 5545, via ``icalendar``) in the person's language."""
    from zoneinfo import ZoneInfo

    from flask_babel import force_locale
    from icalendar import Calendar, Event

    from service.talks.models import TalkParticipant

    tz = ZoneInfo("Asia/Shanghai")
    since = today - timedelta(days=90)
    talks = db.session.scalars(select(Talk).where(Talk.held_on >= since, Talk.id.in_(
        select(TalkParticipant.talk_id).where(TalkParticipant.person_id == person.id))).order_by(Talk.held_at)).unique().all()
    open_ones = [o for o in obligations(today, person.id) if o.status != "done"]
    names = {p.id: p.name for p in db.session.scalars(select(Person).where(
        Person.id.in_({o.talked_to_id for o in open_ones}))).unique()}
    kinds = kind_labels(person.language)
    cal = Calendar()
    cal.add("prodid", "-//talkcare//talks//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-timezone", "Asia/Shanghai")
    stamp = datetime.now(tz)
    with force_locale(person.language or "zh_CN"):
        cal.add("x-wr-calname", _("My talks"))
        for t in talks:
            others = "、".join(p.name for p in t.people("talked_to") + t.people("talker") if p.id != person.id)
            event = Event()
            event.add("uid", f"talk-{t.id}@talkcare")
            event.add("dtstamp", t.created_at)
            event.add("dtstart", t.held_at.replace(tzinfo=tz))
            event.add("dtend", (t.held_at + timedelta(minutes=t.duration_minutes)).replace(tzinfo=tz))
            event.add("summary", kinds.get(t.kind, t.kind) + " · " + others)
            event.add("location", t.place)
            event.add("status", "TENTATIVE" if t.status == "scheduled" else "CONFIRMED")
            cal.add_component(event)
        for o in open_ones:
            name = names.get(o.talked_to_id, str(o.talked_to_id))
            event = Event()
            event.add("uid", f"due-{o.rule_id}-{o.talked_to_id}-{o.period_start.isoformat()}@talkcare")
            event.add("dtstamp", stamp)
            event.add("dtstart", o.deadline)
            event.add("dtend", o.deadline + timedelta(days=1))
            event.add("transp", "TRANSPARENT")
            event.add("summary", (_("Overdue: talk with %(name)s", name=name) if o.status == "overdue"
                                  else _("Due: talk with %(name)s", name=name)))
            event.add("description", _("Period %(start)s to %(end)s; due by %(day)s.", start=o.period_start.isoformat(),
                                       end=o.period_end.isoformat(), day=o.deadline.isoformat()))
            event.add("categories", [_("Due date")])
            cal.add_component(event)
    return cal.to_ical()


# ----------------------------------------------------------------------------------- scheduling help


class ScheduleForm(FlaskForm):
    """Accept one proposal: a scheduled talk with that person on the proposed (or another) day.
    Each row's form has the prefix ``p<person id>-``, so field ids stay unique on the page."""
    day = DateField(_l("Day"), validators=[InputRequired(message=_l("Enter the day.")), _day_in_range])
    time = TimeField(_l("Time"), validators=[InputRequired(message=_l("Enter the time."))])
    duration_minutes = IntegerField(_l("Duration (minutes)"), default=30, validators=[
        InputRequired(message=_l("Enter the duration in minutes.")), NumberRange(min=1, max=1440)])
    place = StringField(_l("Place"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    submit = SubmitField(_l("Schedule"))


class HeldForm(FlaskForm):
    submit = SubmitField(_l("The talk took place: record it"))


def _proposal_forms(found: dict, posted: ScheduleForm | None) -> list[tuple]:
    """One form per proposal, the posted one (with its errors) in its place."""
    from datetime import time as clock_time

    out = []
    for p in found["proposals"]:
        if posted is not None and posted._prefix == f"p{p.talked_to_id}-":
            form = posted
        else:
            form = ScheduleForm(formdata=None, prefix=f"p{p.talked_to_id}", day=p.day, time=clock_time(9, 0),
                                duration_minutes=30, kind="routine")
        form.kind.choices = list(kind_labels(_locale()).items())
        out.append((p, form))
    return out


@bp.route("/proposals", methods=["GET", "POST"])
@login_required
def proposals():
    """Proposed days this month for my open talks (official working days, at most N a day, nobody on
    leave); scheduling one makes it a scheduled talk, which I record once it has taken place."""
    from service.talks.loading import month_proposals

    if not can(current_user, "read", "talk_obligations"):
        abort(403)
    today = unit_today()
    posted = None
    if request.method == "POST":
        person_id = request.form.get("row", type=int)
        if person_id is None or not 1 <= person_id < 2**31:
            abort(400)
        posted = ScheduleForm(prefix=f"p{person_id}")
        posted.kind.choices = list(kind_labels(_locale()).items())
        if posted.validate_on_submit():
            when = datetime.combine(posted.day.data, posted.time.data)
            if when.date() < today:
                posted.day.errors = list(posted.day.errors) + [_("A scheduled talk cannot be in the past.")]
            else:
                body = {"kind": posted.kind.data, "status": "scheduled", "held_at": when,
                        "duration_minutes": posted.duration_minutes.data, "place": posted.place.data,
                        "topic": _("Heart-to-heart talk"), "talker_ids": [current_user.id],
                        "talked_to_ids": [person_id], "recorder_id": None, "present_ids": []}
                try:
                    talk = create_talk(body, current_user, today)
                    db.session.commit()
                except TalkError as exc:
                    show_refusal(posted, exc, default="place", rename={"held_at": "day"})
                else:
                    flash(_("The talk is scheduled."), "info")
                    return redirect(url_for("talks.show", talk_id=talk.id))
    found = month_proposals(current_user.id, today)
    names = {p.id: p for p in db.session.scalars(select(Person).where(
        Person.id.in_([p.talked_to_id for p in found["proposals"]]))).unique()}
    page = render_template("talks/proposals.html", rows=_proposal_forms(found, posted), names=names,
                           provisional=found["provisional"], today=today)
    db.session.commit()
    return page, (422 if posted is not None else 200)


@bp.route("/<int:talk_id>/held", methods=["POST"])
@login_required
def mark_held(talk_id):
    """A scheduled talk took place: it becomes a held talk (which satisfies the obligation) and its
    record form opens for the content."""
    talk = _talk_or_404(talk_id)
    if not can(current_user, "write", "talk", talk):
        abort(403)
    form = HeldForm()
    if not form.validate_on_submit() or talk.status != "scheduled":
        abort(400)
    if talk.held_on > unit_today():
        flash(_("This talk is scheduled for a later day: it can be recorded from that day on."), "error")
        return redirect(url_for("talks.show", talk_id=talk.id))
    try:
        update_talk(talk, {"status": "held"}, current_user, unit_today())
    except TalkError as exc:
        flash_refusal(exc)
        return redirect(url_for("talks.show", talk_id=talk.id))
    db.session.commit()
    flash(_("The talk is recorded as held: add what was said."), "info")
    return redirect(url_for("talks.edit", talk_id=talk.id))
