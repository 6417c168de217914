"""Who sees which talks, and the one door to their confidential content (permission + audit)."""
from __future__ import annotations

from flask import g
from sqlalchemy import exists, or_, select

from service import audit
from service.auth.permissions import can, leads
from service.extensions import db
from service.people.models import Person
from service.talks.models import Talk, TalkParticipant
from service.talks.loading import talk_settings
from service.talks.records import content_readers


def visible_talks(actor, stmt=None):
    """A select of the talks whose metadata ``actor`` may see: HR all; others their own talks and
    those with the people they lead."""
    stmt = stmt if stmt is not None else select(Talk)
    if actor.access_role == "hr" or actor.id in (talk_settings().discipline_reader_ids or ()):
        return stmt
    ids = {actor.id}
    if actor.access_role == "leader":
        people = db.session.scalars(select(Person).where(Person.left_on.is_(None))).unique().all()
        led = [p.id for p in people if leads(actor, p)]
        led_talks = exists().where(TalkParticipant.talk_id == Talk.id, TalkParticipant.role == "talked_to",
                                   TalkParticipant.person_id.in_(led))
    else:
        led_talks = None
    own = exists().where(TalkParticipant.talk_id == Talk.id, TalkParticipant.person_id.in_(ids))
    return stmt.where(or_(own, led_talks) if led_talks is not None else own)


def may_read_content(actor, talk: Talk, token_scope: str | None = None) -> bool:
    return can(actor, "read", "talk_content", content_readers(talk), token_scope=token_scope)


def read_content(talk: Talk, actor, number: int | None = None, via: str | None = None) -> dict:
    """The content of a version (the current one by default); the caller has checked permission.
    Every call is an audited read."""
    version = next(v for v in talk.versions if v.number == (number or talk.version))
    audit.record("read", "talk_content", talk.id, {"version": [None, version.number]}, actor=actor, via=via)
    return version.content_dict()


def participant_rows(talk: Talk) -> list[dict]:
    return [{"person_id": p.person_id, "name": p.person.name, "employee_no": p.person.employee_no,
             "role": p.role, "section": p.person.section.name if p.person.section else None,
             "post": p.person.post} for p in talk.participants]


def dump_talk(talk: Talk, actor, with_content: bool, token_scope: str | None = None, today=None) -> dict:
    """The talk's metadata, and its content when asked and allowed (an audited read)."""
    data = {f: getattr(talk, f) for f in ("id", "kind", "status", "held_at", "duration_minutes", "place",
                                         "topic", "collective", "version")}
    data.update(signed=talk.signed, signed_by=sorted(talk.signed_by()), participants=participant_rows(talk),
                talker_ids=talk.ids("talker"), talked_to_ids=talk.ids("talked_to"),
                recorder_id=(talk.ids("recorder") or [None])[0], present_ids=talk.ids("present"))
    readable = may_read_content(actor, talk, token_scope)
    if with_content and readable:
        data["record"] = read_content(talk, actor)
        data["attachments"] = [{"id": a.id, "filename": a.filename, "content_type": a.content_type,
                                "size": a.size} for a in talk.attachments]
    if today is not None:
        data["follow_up_items"] = [dump_follow_up(f, today, readable or f.owner_id == actor.id)
                                   for f in talk.follow_ups]
    return data


def dump_follow_up(item, today, with_description: bool = True) -> dict:
    """A follow-up item; its description is content, for the owner and the talk's content readers."""
    return {"id": item.id, "talk_id": item.talk_id, "owner_id": item.owner_id,
            "description": item.description if with_description else None,
            "due_on": item.due_on, "done_on": item.done_on, "status": item.colour(today)}
