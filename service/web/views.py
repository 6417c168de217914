"""Web pages of the register and the administration: home, people, sections, outbox, mail, audit."""
from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from service import audit, outbox
from service.audit.models import AuditEntry
from service.auth.permissions import can, leads
from service.extensions import db
from service.outbox.models import OutboxMessage
from service.people.models import Person, Posting, Section
from service.people.register import birthday_of

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


@bp.route("/people/<int:person_id>")
@login_required
def person(person_id):
    need("read", "person")
    p = db.session.get(Person, person_id) if person_id < 2**31 else None
    if p is None:
        abort(404)
    private = can(current_user, "read", "person_private", p)
    history = db.session.scalars(select(Posting).where(Posting.person_id == p.id)
                                 .order_by(Posting.valid_from)).all()
    sections = {s.id: s for s in db.session.scalars(select(Section))}
    return render_template("people/detail.html", p=p, private=private, history=history,
                           sections=sections, birthday=birthday_of(p))


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
