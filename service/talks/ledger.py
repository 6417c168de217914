"""The talk ledger (台账): one row per talk, filtered by period, section, leader and kind.

Content columns are filled only for talks whose content the reader may read (each such row is an
audited read); for a reader who may read none, the columns are left out altogether.
"""
from __future__ import annotations

import csv
import io

from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import exists, select

from service.people.models import Person
from service.extensions import db
from service.talks.access import may_read_content, read_content, visible_talks
from service.talks.loading import kind_labels
from service.talks.models import CONTENT_FIELDS, Talk, TalkParticipant

META_COLUMNS = ("id", "held_at", "duration_minutes", "kind", "status", "place", "topic", "talkers", "talked_to",
                "recorder", "present", "collective", "version", "signed")
# Column headings in the reader's language (the ledger is read by people, in a spreadsheet).
HEADINGS = {
    "id": _l("No."), "held_at": _l("Date and time"), "duration_minutes": _l("Duration (minutes)"),
    "kind": _l("Kind"), "status": _l("Status"), "place": _l("Place"), "topic": _l("Topic or reason"),
    "talkers": _l("Talker(s)"), "talked_to": _l("Talked to"), "recorder": _l("Recorder"),
    "present": _l("Others present"), "collective": _l("Collective talk"), "version": _l("Version"),
    "signed": _l("Signed by the talked-to"), "outline": _l("Outline"), "content": _l("Content"),
    "views": _l("Views, suggestions and difficulties raised"), "attitude": _l("Attitude"),
    "follow_up_text": _l("Follow-up measures"),
}
STATUS_NAMES = {"held": _l("Held"), "scheduled": _l("Scheduled")}


def ledger_talks(actor, query: dict) -> list[Talk]:
    stmt = visible_talks(actor).order_by(Talk.held_at, Talk.id)
    if query.get("start"):
        stmt = stmt.where(Talk.held_on >= query["start"])
    if query.get("end"):
        stmt = stmt.where(Talk.held_on <= query["end"])
    if query.get("kind"):
        stmt = stmt.where(Talk.kind == query["kind"])
    if query.get("leader_id"):
        stmt = stmt.where(exists().where(TalkParticipant.talk_id == Talk.id, TalkParticipant.role == "talker",
                                         TalkParticipant.person_id == query["leader_id"]))
    if query.get("section_id"):
        stmt = stmt.where(exists().where(
            TalkParticipant.talk_id == Talk.id, TalkParticipant.role == "talked_to",
            TalkParticipant.person_id.in_(select(Person.id).where(Person.section_id == query["section_id"]))))
    return db.session.scalars(stmt.limit(20000)).unique().all()


def ledger_rows(actor, query: dict, token_scope=None) -> tuple[list[str], list[list]]:
    talks = ledger_talks(actor, query)
    readable = {t.id for t in talks if may_read_content(actor, t, token_scope)}
    header = [str(HEADINGS[c]) for c in META_COLUMNS + (CONTENT_FIELDS if readable else ())]
    kinds = kind_labels(str(get_locale() or "zh_CN"))
    yes, no = _("yes"), _("no")
    rows = []
    for t in talks:
        names = lambda role: "、".join(f"{p.name}({p.employee_no})" for p in t.people(role))  # noqa: E731
        row = [t.id, t.held_at.strftime("%Y-%m-%d %H:%M"), t.duration_minutes, kinds.get(t.kind, t.kind),
               str(STATUS_NAMES.get(t.status, t.status)), t.place, t.topic,
               names("talker"), names("talked_to"), names("recorder"), names("present"),
               yes if t.collective else no, t.version, yes if t.signed else no]
        if readable:
            content = read_content(t, actor, via=None) if t.id in readable else {}
            row += [content.get(f, "") for f in CONTENT_FIELDS]
        rows.append(row)
    return header, rows


def _safe(cell):
    # Spreadsheet formula injection: a text cell must not start a formula.
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def ledger_csv(actor, query: dict, token_scope=None) -> str:
    header, rows = ledger_rows(actor, query, token_scope)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(c) for c in row])
    return out.getvalue()


def ledger_xlsx(actor, query: dict, token_scope=None) -> bytes:
    """The same ledger as an Excel workbook (openpyxl)."""
    from openpyxl import Workbook

    header, rows = ledger_rows(actor, query, token_scope)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Talk ledger")[:31])
    sheet.freeze_panes = "A2"
    sheet.append(header)
    for row in rows:
        sheet.append([_safe(c) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
