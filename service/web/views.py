"""Web pages of the register and the administration: home, people, sections, outbox, mail, audit."""
from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import func, or_, select

from schemas.people import PersonSchema, SectionSchema
from service import audit, outbox
from service.audit.models import AuditEntry
from service.auth.accounts import RESEND_INTERVAL, invite, resend_welcome
from service.auth.models import PasswordLink
from service.auth.permissions import can, leads
from service.clock import unit_today
from service.extensions import db
from service.outbox.models import OutboxMessage
from service.people.models import Person, Posting, Section
from service.people.register import FieldError, apply_person, birthday_of, import_people_csv, section_in_use
from service.people.web_forms import (
    ImportForm, PersonForm, SectionForm, add_blank_relatives, fill_person_form, person_input,
    section_input, show_errors, translate_message,
)

bp = Blueprint("web", __name__)
PAGE_SIZE = 50


def need(action: str, resource: str, obj=None) -> None:
    if not can(current_user, action, resource, obj):
        abort(403)


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 100000))
    except ValueError:
        return 1


@bp.route("/")
@login_required
def home():
    me = current_user
    team = []
    if me.access_role in ("leader", "hr"):
        candidates = db.session.scalars(select(Person).where(Person.left_on.is_(None))
                                        .order_by(Person.employee_no)).all()
        team = [p for p in candidates if leads(me, p)]
    counts = {
        "people": db.session.scalar(select(func.count()).select_from(Person).where(Person.left_on.is_(None))),
        "sections": db.session.scalar(select(func.count()).select_from(Section)),
        "parked": db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.status == "parked")),
    }
    return render_template("home.html", team=team, counts=counts)


@bp.route("/people")
@login_required
def people():
    need("read", "person")
    q = (request.args.get("q") or "").strip()[:80]
    section_id = request.args.get("section", type=int)
    stmt = select(Person).order_by(Person.employee_no)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Person.name.ilike(like), Person.employee_no.ilike(like), Person.name_en.ilike(like)))
    if section_id:
        stmt = stmt.where(Person.section_id == section_id)
    page = _page()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).unique().all()
    sections = db.session.scalars(select(Section).order_by(Section.code)).all()
    return render_template("people/list.html", people=rows, q=q, sections=sections,
                           section_id=section_id, page=page, pages=max(1, -(-total // PAGE_SIZE)), total=total)


def _person_or_404(person_id: int) -> Person:
    p = db.session.get(Person, person_id) if 1 <= person_id < 2**31 else None
    if p is None:
        abort(404)
    return p


@bp.route("/people/<int:person_id>")
@login_required
def person(person_id):
    need("read", "person")
    p = _person_or_404(person_id)
    private = can(current_user, "read", "person_private", p)
    history = db.session.scalars(select(Posting).where(Posting.person_id == p.id)
                                 .order_by(Posting.valid_from)).all()
    sections = {s.id: s for s in db.session.scalars(select(Section))}
    return render_template("people/detail.html", p=p, private=private, history=history,
                           sections=sections, birthday=birthday_of(p), link_state=_link_state(p))


def _link_state(p: Person):
    if not can(current_user, "write", "person"):
        return None
    return db.session.get(PasswordLink, p.id) or PasswordLink(person_id=p.id, version=0)


# --- HR's register forms: the API's schemas validate, apply_person writes ------------------------

def _person_form_page(form: PersonForm, p: Person | None, status: int = 200):
    return render_template("people/form.html", form=form, p=p), status


def _save_person(form: PersonForm, p: Person | None):
    """Validate the form through PersonSchema and apply it; the person, or None with the errors shown."""
    data, rows = person_input(form)
    try:
        clean = PersonSchema().load(data)
    except ValidationError as exc:
        show_errors(form, exc.messages, rows)
        return None, None
    if p is not None and [(r["name"], r["relation"]) for r in clean.get("relatives", [])] == [
            (r.name, r.relation) for r in p.relatives]:
        # Unchanged relatives are left alone: writing them would replace the rows, and care cases
        # of a relative's hospital stay point at those rows.
        clean.pop("relatives", None)
    try:
        return apply_person(clean, unit_today(), p)
    except FieldError as exc:
        db.session.rollback()
        show_errors(form, {exc.field: [exc.message]}, rows)
        return None, None


@bp.route("/people/new", methods=["GET", "POST"])
@login_required
def person_new():
    need("write", "person")
    form = PersonForm()
    if not form.is_submitted():
        form.role.data = "staff"  # not the first choice (head): a new person is staff unless HR says so
        add_blank_relatives(form)
        return _person_form_page(form, None)
    if form.validate():
        person, _changes = _save_person(form, None)
        if person is not None:
            invited = invite(person)
            db.session.commit()
            flash(_("%(name)s is added; a welcome email with a link to set a password is on its way.", name=person.name)
                  if invited else _("%(name)s is added (no email address: no welcome email).", name=person.name), "info")
            return redirect(url_for("web.person", person_id=person.id))
    return _person_form_page(form, None, 422)


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@login_required
def person_edit(person_id):
    need("write", "person")
    p = _person_or_404(person_id)
    form = PersonForm()
    if not form.is_submitted():
        fill_person_form(form, p, birthday_of(p))
        return _person_form_page(form, p)
    if form.validate():
        person, changes = _save_person(form, p)
        if person is not None:
            db.session.commit()
            flash(_("Saved.") if changes else _("Nothing changed."), "info")
            return redirect(url_for("web.person", person_id=p.id))
    return _person_form_page(form, p, 422)


@bp.route("/people/<int:person_id>/send-link", methods=["POST"])
@login_required
def person_send_link(person_id):
    """HR sends a new welcome / set-password link; the previous link stops working."""
    need("write", "person")
    p = _person_or_404(person_id)
    result = resend_welcome(p)
    if result.sent:
        audit.record("send_link", "person", p.id, {"email": [None, p.email]})
        db.session.commit()
        flash(_("A new link to set a password was sent to %(email)s; the previous link no longer works.",
                email=p.email), "info")
    elif result.reason == "too_soon":
        db.session.rollback()
        flash(_("A link was sent to this person less than %(minutes)d minutes ago; you can send another after "
                "%(time)s.", minutes=int(RESEND_INTERVAL.total_seconds() // 60),
                time=format_time(result.retry_at, "HH:mm")), "error")
    elif result.reason == "no_email":
        flash(_("This person has no email address; add one first."), "error")
    else:
        flash(_("This person has left the unit; no link is sent."), "error")
    return redirect(url_for("web.person", person_id=p.id))


@bp.route("/people/import", methods=["GET", "POST"])
@login_required
def people_import():
    """CSV import, all rows or none; the same import as the API's."""
    need("write", "person")
    form = ImportForm()
    errors, problem = [], None
    if form.validate_on_submit():
        upload = form.file.data
        raw = upload.read() if upload else b""
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            problem = _("The file must be UTF-8 encoded CSV.")
        else:
            if not text.strip():
                problem = _("Choose a CSV file; this one is empty or missing.")
        if problem is None:
            result = import_people_csv(text, unit_today())
            if not result.errors:
                db.session.commit()
                flash(_("Imported: %(created)d new, %(updated)d changed, %(unchanged)d unchanged.",
                        created=result.created, updated=result.updated, unchanged=result.unchanged), "info")
                return redirect(url_for("web.people_import"))
            db.session.rollback()
            errors = [dict(e, message=translate_message(e["message"])) for e in result.errors]
    status = 422 if form.is_submitted() else 200
    return render_template("people/import.html", form=form, errors=errors, problem=problem), status


def _section_or_404(section_id: int) -> Section:
    section = db.session.get(Section, section_id) if 1 <= section_id < 2**31 else None
    if section is None:
        abort(404)
    return section


def _section_form_page(form, section, status=200, in_use=False):
    return render_template("people/section_form.html", form=form, section=section, in_use=in_use), status


def _load_section(form: SectionForm, section: Section | None) -> dict | None:
    try:
        clean = SectionSchema().load(section_input(form))
    except ValidationError as exc:
        show_errors(form, exc.messages)
        return None
    taken = db.session.scalar(select(Section).where(Section.code == clean["code"]))
    if taken is not None and taken is not section:
        show_errors(form, {"code": [f"Section code {clean['code']} is taken."]})
        return None
    return clean


@bp.route("/sections/new", methods=["GET", "POST"])
@login_required
def section_new():
    need("write", "section")
    form = SectionForm()
    if form.is_submitted():
        clean = _load_section(form, None) if form.validate() else None
        if clean is None:
            return _section_form_page(form, None, 422)
        section = Section(**clean)
        db.session.add(section)
        db.session.flush()
        audit.record("create", "section", section.id, audit.diff({}, clean))
        db.session.commit()
        flash(_("Section %(code)s is added.", code=section.code), "info")
        return redirect(url_for("web.sections"))
    form.min_base_staff.data = "0"
    return _section_form_page(form, None)


@bp.route("/sections/<int:section_id>/edit", methods=["GET", "POST"])
@login_required
def section_edit(section_id):
    need("write", "section")
    section = _section_or_404(section_id)
    form = SectionForm()
    in_use = section_in_use(section)
    if form.is_submitted():
        clean = _load_section(form, section) if form.validate() else None
        if clean is None:
            return _section_form_page(form, section, 422, in_use)
        audit.update(section, clean, "section", section.id)
        db.session.commit()
        flash(_("Saved."), "info")
        return redirect(url_for("web.sections"))
    for key in ("code", "name", "name_en", "parent_unit"):
        form[key].data = getattr(section, key) or ""
    form.min_base_staff.data = str(section.min_base_staff)
    return _section_form_page(form, section, in_use=in_use)


@bp.route("/sections/<int:section_id>/delete", methods=["POST"])
@login_required
def section_delete(section_id):
    """Delete a section nobody was ever posted to or in charge of (as the API)."""
    need("write", "section")
    section = _section_or_404(section_id)
    if section_in_use(section):
        form = SectionForm(formdata=None, obj=section)
        form.min_base_staff.data = str(section.min_base_staff)
        form.general_errors.append(
            _("People are or were posted to or in charge of this section; it stays for the history."))
        return _section_form_page(form, section, 409, True)
    audit.record("delete", "section", section.id, {"code": [section.code, None]})
    db.session.delete(section)
    db.session.commit()
    flash(_("Section %(code)s is deleted.", code=section.code), "info")
    return redirect(url_for("web.sections"))


@bp.route("/sections")
@login_required
def sections():
    need("read", "section")
    rows = db.session.execute(
        select(Section, func.count(Person.id)).outerjoin(
            Person, (Person.section_id == Section.id) & Person.left_on.is_(None))
        .group_by(Section.id).order_by(Section.code)).all()
    return render_template("people/sections.html", rows=rows)


@bp.route("/admin/outbox")
@login_required
def outbox_page():
    need("read", "outbox")
    status = request.args.get("status") if request.args.get("status") in (
        "pending", "sending", "sent", "parked") else None
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    page = _page()
    rows = db.session.scalars(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template("admin/outbox.html", rows=rows, status=status, counts=counts, page=page)


@bp.route("/admin/outbox/<int:message_id>/retry", methods=["POST"])
@login_required
def outbox_retry(message_id):
    need("write", "outbox")
    message = db.session.get(OutboxMessage, message_id) if message_id < 2**31 else None
    if message is None:
        abort(404)
    if message.status == "parked":
        outbox.retry(message)
        audit.record("retry", "outbox", message.id)
        db.session.commit()
        flash(_("The message will be sent again."), "info")
    return redirect(url_for("web.outbox_page", status="parked"))


def _mail_dir() -> Path:
    return Path(current_app.config["MAIL_DIR"])


@bp.route("/admin/mail")
@login_required
def sent_mail():
    """Development: the messages that would have gone out, stored as .eml files."""
    need("read", "mail")
    folder = _mail_dir()
    files = sorted(folder.glob("*.eml"), key=lambda f: f.stat().st_mtime, reverse=True)[:200] if folder.exists() else []
    items = []
    for f in files:
        with f.open("rb") as fh:
            msg = BytesParser(policy=policy.default).parse(fh, headersonly=True)
        items.append({"name": f.stem, "to": msg["To"], "subject": msg["Subject"], "date": msg["Date"]})
    return render_template("admin/mail.html", items=items, smtp=bool(current_app.config.get("MAIL_URL")))


@bp.route("/admin/mail/<name>")
@login_required
def sent_mail_one(name):
    need("read", "mail")
    path = _mail_dir() / f"{name}.eml"
    if "/" in name or ".." in name or not path.is_file():
        abort(404)
    with path.open("rb") as fh:
        msg = BytesParser(policy=policy.default).parse(fh)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return render_template("admin/mail_one.html", msg=msg, text=text.get_content() if text else "",
                           html=html.get_content() if html else "")


@bp.route("/admin/audit")
@login_required
def audit_page():
    need("read", "audit")
    page = _page()
    rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())
                              .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    names = dict(db.session.execute(select(Person.id, Person.name)).all())
    return render_template("admin/audit.html", rows=rows, names=names, page=page)
