"""Who sees which talks, and the one door to their confidential content (permission + audit)."""
from __future__ import annotations

from flask import g
from sqlalchemy import and_, exists, false, inspect, or_, select, true
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from service import audit
from service.auth.permissions import can
from service.extensions import db
from service.people.models import Oversight, Person
from service.talks.models import Talk, TalkParticipant, TalkSignoff
from service.talks.loading import talk_settings
from service.talks.records import content_readers


def _leads_condition(actor):
    """``permissions.leads(actor, Person)`` as a SQL condition on ``Person`` (head: everyone;
    section chief: the section; deputy: the sections overseen now), active people only."""
    if actor.role == "head":
        line = true()
    elif actor.role == "chief" and actor.section_id is not None:
        line = Person.section_id == actor.section_id
    elif actor.role == "deputy":
        line = Person.section_id.in_(select(Oversight.section_id).where(
            Oversight.deputy_id == actor.id, Oversight.valid_to.is_(None)))
    else:
        line = false()
    return and_(Person.left_on.is_(None), Person.id != actor.id, line)


def led_people(actor):
    """A select of the ids of the people ``actor`` leads now (``permissions.leads`` in SQL)."""
    return select(Person.id).where(_leads_condition(actor))


def visible_talks(actor, stmt=None):
    """A select of the talks whose metadata ``actor`` may see: HR all; others their own talks and
    those with the people they lead."""
    stmt = stmt if stmt is not None else select(Talk)
    if actor.access_role == "hr" or actor.id in (talk_settings().discipline_reader_ids or ()):
        return stmt
    own = exists().where(TalkParticipant.talk_id == Talk.id, TalkParticipant.person_id == actor.id)
    if actor.access_role != "leader" or not actor.active:
        return stmt.where(own)
    # From the talk to its few talked-to people, then whether the actor leads them: cheap per
    # talk, so "the latest 20" walks the held_at index instead of probing every person led.
    led_talks = exists().where(TalkParticipant.talk_id == Talk.id, TalkParticipant.role == "talked_to",
                               Person.id == TalkParticipant.person_id, _leads_condition(actor))
    return stmt.where(or_(own, led_talks))


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


def _reload_if_expired(talk: Talk) -> Talk:
    """After a commit the session has expired the talk: reload it with its participants, versions
    and follow-ups in one query and its sign-offs in a second, instead of a query per collection.
    (Sign-offs are set, not eagerly loaded: a refresh of the talk would otherwise load them again.)"""
    if inspect(talk).expired_attributes:
        talk_id = inspect(talk).identity[0]
        db.session.execute(select(Talk).where(Talk.id == talk_id).options(
            joinedload(Talk.participants), joinedload(Talk.versions), joinedload(Talk.follow_ups))
            .execution_options(populate_existing=True)).unique().all()
        set_committed_value(talk, "signoffs", db.session.scalars(
            select(TalkSignoff).where(TalkSignoff.talk_id == talk_id).order_by(TalkSignoff.id)).all())
    return talk


def dump_talk(talk: Talk, actor, with_content: bool, token_scope: str | None = None, today=None) -> dict:
    """The talk's metadata, and its content when asked and allowed (an audited read)."""
    _reload_if_expired(talk)
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
