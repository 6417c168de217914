"""From the database to the pure core and back: rules, register, talks and triggers as plain data.

Every computation is bounded: the register, talks and triggers are read from ``since`` (by default
a year before ``on``) to ``on``, so a dashboard costs the same in the tenth year as in the first.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import or_, select

from service.extensions import db
from service.people.models import Oversight as OversightRow
from service.people.models import Posting
from service.talks.cadence import (
    DEFAULT_HORIZON_DAYS, KINDS, CadenceRule, Obligation, TalkHeld, Trigger, TriggerRule, compute_obligations,
    red_letter_order,
)
from service.talks.defaults import DEFAULT_CADENCE_RULES, DEFAULT_TRIGGER_RULES
from service.talks.models import (
    CadenceRuleRow, Talk, TalkKind, TalkParticipant, TalkSettings, TalkTrigger, TriggerRuleRow,
)
from service.talks.register import Audience, Membership, Oversight

DEFAULT_KIND_NAMES = {
    "routine": ("日常谈心", "Routine heart-to-heart"),
    "integrity": ("廉政谈话", "Integrity talk"),
    "pre_appointment": ("任前廉政谈话", "Pre-appointment integrity talk"),
    "reminder": ("提醒谈话", "Reminder talk"),
    "admonition": ("诫勉谈话", "Admonition talk"),
    "triggered": ("必谈", "Event-triggered talk"),
    "political_birthday": ("政治生日谈话", "Political birthday talk"),
}
# Posting reasons that are must-talk events in themselves (the rotation domain writes the first two).
POSTING_EVENTS = {"rotation": "rotation_start", "rotation_return": "rotation_return",
                  "appointment": "appointment", "move": "post_change"}


def talk_settings(for_update: bool = False) -> TalkSettings:
    """The unit's talk settings; on first use, also seeds the kinds and rules from the defaults."""
    stmt = select(TalkSettings).where(TalkSettings.id == 1)
    if for_update:
        stmt = stmt.with_for_update()
    row = db.session.scalar(stmt)
    if row is None:
        row = TalkSettings(id=1, discipline_reader_ids=[], max_talks_per_day=3, due_soon_days=5)
        db.session.add(row)
        _seed_defaults()
        db.session.flush()
    return row


def _seed_defaults() -> None:
    existing = set(db.session.scalars(select(TalkKind.code)))
    for code in KINDS:
        if code not in existing:
            zh, en = DEFAULT_KIND_NAMES[code]
            db.session.add(TalkKind(code=code, name=zh, name_en=en))
    if db.session.scalar(select(CadenceRuleRow.id).limit(1)) is None:
        for r in DEFAULT_CADENCE_RULES:
            db.session.add(CadenceRuleRow(
                code=str(r.id), talker_selector=r.talker_selector, scope=r.talked_to_selector.scope,
                roles=sorted(r.talked_to_selector.roles) if r.talked_to_selector.roles else None,
                frequency=r.frequency, n_weeks=r.n_weeks, kinds=sorted(r.kinds), grace_days=r.grace_days,
                collective_allowed=r.collective_allowed, anchor=r.anchor, valid_from=r.valid_from,
                valid_to=r.valid_to))
    if db.session.scalar(select(TriggerRuleRow.id).limit(1)) is None:
        for r in DEFAULT_TRIGGER_RULES:
            db.session.add(TriggerRuleRow(
                code=str(r.id), event=r.event, talker_selector=r.talker_selector, kinds=sorted(r.kinds),
                deadline_days=r.deadline_days, collective_allowed=r.collective_allowed,
                window_before_days=r.window_before_days))


def kind_codes(active_only: bool = True) -> list[str]:
    talk_settings()
    stmt = select(TalkKind.code).order_by(TalkKind.id)
    if active_only:
        stmt = stmt.where(TalkKind.active.is_(True))
    return list(db.session.scalars(stmt))


def kind_labels(locale: str) -> dict[str, str]:
    talk_settings()
    return {k.code: (k.name_en or k.name) if locale == "en" else k.name
            for k in db.session.scalars(select(TalkKind).order_by(TalkKind.id))}


def cadence_rule_of(row: CadenceRuleRow) -> CadenceRule:
    return CadenceRule(row.code, row.talker_selector, Audience(row.scope, frozenset(row.roles) if row.roles else None),
                       row.frequency, n_weeks=row.n_weeks, kinds=frozenset(row.kinds), grace_days=row.grace_days,
                       collective_allowed=row.collective_allowed, anchor=row.anchor, valid_from=row.valid_from,
                       valid_to=row.valid_to)


def trigger_rule_of(row: TriggerRuleRow) -> TriggerRule:
    return TriggerRule(row.code, row.event, row.talker_selector, frozenset(row.kinds), row.deadline_days,
                       row.collective_allowed, row.window_before_days)


def load_rules() -> tuple[list[CadenceRule], list[TriggerRule]]:
    talk_settings()
    cadence = [cadence_rule_of(r) for r in db.session.scalars(
        select(CadenceRuleRow).where(CadenceRuleRow.active.is_(True)).order_by(CadenceRuleRow.id))]
    triggers = [trigger_rule_of(r) for r in db.session.scalars(
        select(TriggerRuleRow).where(TriggerRuleRow.active.is_(True)).order_by(TriggerRuleRow.id))]
    return cadence, triggers


def load_register(since: date, on: date) -> tuple[list[Membership], list[Oversight]]:
    """Postings and oversights that overlap ``[since, on]`` (valid_to exclusive, as in the core)."""
    postings = db.session.scalars(select(Posting).where(
        Posting.valid_from <= on, or_(Posting.valid_to.is_(None), Posting.valid_to > since))).all()
    memberships = [Membership(p.person_id, p.section_id, p.role, p.valid_from, p.valid_to) for p in postings]
    rows = db.session.scalars(select(OversightRow).where(
        OversightRow.valid_from <= on, or_(OversightRow.valid_to.is_(None), OversightRow.valid_to > since))).all()
    oversights = [Oversight(o.deputy_id, o.section_id, o.valid_from, o.valid_to) for o in rows]
    return memberships, oversights


def load_talks(since: date, on: date) -> list[TalkHeld]:
    """Held talks (not scheduled ones) in ``[since - a year, on]``: a year more, to know who never talked."""
    rows = db.session.execute(
        select(Talk.id, Talk.held_on, Talk.kind, Talk.collective, TalkParticipant.person_id, TalkParticipant.role)
        .join(TalkParticipant, TalkParticipant.talk_id == Talk.id)
        .where(Talk.status == "held", Talk.held_on <= on,
               Talk.held_on >= since - timedelta(days=DEFAULT_HORIZON_DAYS),
               TalkParticipant.role.in_(("talker", "talked_to")))
        .order_by(Talk.held_on, Talk.id)).all()
    talks: dict[int, dict] = {}
    for talk_id, held_on, kind, collective, person_id, role in rows:
        t = talks.setdefault(talk_id, {"date": held_on, "kind": kind, "collective": collective,
                                       "talker": set(), "talked_to": set()})
        t[role].add(person_id)
    return [TalkHeld(i, t["date"], t["kind"], frozenset(t["talker"]), frozenset(t["talked_to"]), t["collective"])
            for i, t in talks.items()]


def load_triggers(since: date, on: date) -> list[Trigger]:
    """HR's recorded events, plus the register's and care's own: appointments, moves, rotations
    (posting reasons) and hospital stays (a relative's stay counts as family hardship)."""
    low = since - timedelta(days=31)  # a trigger shortly before the horizon still has its window in it
    found = [Trigger(f"t{t.id}", t.person_id, t.event, t.on, t.section_id) for t in db.session.scalars(
        select(TalkTrigger).where(TalkTrigger.on >= low, TalkTrigger.on <= on))]
    for p in db.session.scalars(select(Posting).where(
            Posting.reason.in_(tuple(POSTING_EVENTS)), Posting.valid_from >= low, Posting.valid_from <= on)):
        found.append(Trigger(f"p{p.id}", p.person_id, POSTING_EVENTS[p.reason], p.valid_from, p.section_id))
    try:
        from service.care.models import HospitalCase
    except ImportError:  # care is optional for talks
        return found
    for c in db.session.scalars(select(HospitalCase).where(
            HospitalCase.admitted_on >= low, HospitalCase.admitted_on <= on)):
        event = "hospitalisation" if c.relative_id is None and c.relation is None else "family_hardship"
        found.append(Trigger(f"h{c.id}", c.person_id, event, c.admitted_on))
    return found


def obligations(on: date, talker_id: int | None = None, since: date | None = None) -> list[Obligation]:
    """Obligations on ``on`` (one talker's, or everyone's), in red-letter order."""
    since = since or on - timedelta(days=DEFAULT_HORIZON_DAYS)
    rules, trigger_rules = load_rules()
    memberships, oversights = load_register(since, on)
    found = compute_obligations(rules, trigger_rules, memberships, oversights, load_talks(since, on),
                                load_triggers(since, on), on, since, talker_id=talker_id)
    return red_letter_order(found)


def month_proposals(leader_id: int, today: date) -> dict:
    """Proposed days this month for the leader's open talks, on official working days (the unit's
    calendar), avoiding approved leave of both sides and days already holding ``max_per_day`` talks."""
    from service.care.availability import approved_leave_days, unit_working_day
    from service.talks.scheduling import propose_days
    from service.workdays.official import is_provisional_year

    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    working = unit_working_day()
    days = [today + timedelta(days=i) for i in range((month_end - today).days + 1)]
    days = [d for d in days if working(d)]
    open_ones = [o for o in obligations(today, leader_id, since=today.replace(day=1) - timedelta(days=62))
                 if o.status != "done"]
    people = {o.talked_to_id for o in open_ones} | {leader_id}
    away = approved_leave_days(people, today, month_end)
    booked: dict[date, int] = {}
    for held_on in db.session.scalars(select(Talk.held_on).where(
            Talk.held_on >= today, Talk.held_on <= month_end,
            Talk.id.in_(select(TalkParticipant.talk_id).where(TalkParticipant.person_id == leader_id)))):
        booked[held_on] = booked.get(held_on, 0) + 1
    proposals = propose_days(open_ones, days, away, booked, talk_settings().max_talks_per_day, leader_id)
    return {"provisional": is_provisional_year(today.year), "proposals": proposals}
