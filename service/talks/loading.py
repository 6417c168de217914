"""From the database to the pure core and back: rules, register, talks and triggers as plain data.

Every computation is bounded: the register, talks and triggers are read from ``since`` (by default
a year before ``on``) to ``on``, so a dashboard costs the same in the tenth year as in the first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import String, or_, select, type_coerce
from sqlalchemy.orm import aliased

from service.extensions import db
from service.people.models import Oversight as OversightRow
from service.people.models import Posting
from service.talks.cadence import (
    DEFAULT_HORIZON_DAYS, KINDS, CadenceRule, Obligation, TalkHeld, TalkIndex, Trigger, TriggerRule,
    compute_obligations, red_letter_order,
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
    if for_update:
        row = db.session.scalar(select(TalkSettings).where(TalkSettings.id == 1).with_for_update())
    else:
        row = db.session.get(TalkSettings, 1)  # the identity map first: read several times a request
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


def kind_known(code: str) -> bool:
    """Whether ``code`` is an active talk kind: one query, seeding the defaults only if it is not."""
    if db.session.scalar(select(TalkKind.id).where(TalkKind.code == code, TalkKind.active.is_(True))) is not None:
        return True
    return code in kind_codes()  # first use: kind_codes seeds the default kinds


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


@dataclass(frozen=True)
class RegisterScope:
    """The part of the register one talker's obligations depend on: the sections the talker is in
    or oversees during the horizon, and everyone with a posting in them. ``None`` instead of a
    scope means the whole unit (everyone's obligations, or a talker whose rule is "everyone")."""

    talker_id: int
    sections: frozenset[int]


def _overlaps(model, since: date, on: date):
    """Rows of an effective-dated table valid on some day of ``[since, on]`` (valid_to exclusive)."""
    return (model.valid_from <= on, or_(model.valid_to.is_(None), model.valid_to > since))


def register_scope(talker_id: int, since: date, on: date, rules: list[CadenceRule],
                   trigger_rules: list[TriggerRule]) -> RegisterScope | None:
    """What to load for ``talker_id``'s obligations alone; ``None`` when that is the whole unit."""
    own = db.session.execute(select(Posting.section_id, Posting.role).where(
        Posting.person_id == talker_id, *_overlaps(Posting, since, on))).all()
    roles = {role for _, role in own}
    whole_unit = any(r.talker_selector in roles and r.talked_to_selector.scope == "everyone" for r in rules) or any(
        r.talker_selector in roles for r in trigger_rules if r.talker_selector == "head")
    if whole_unit:
        return None
    sections = {s for s, _ in own if s is not None}
    sections.update(db.session.scalars(select(OversightRow.section_id).where(
        OversightRow.deputy_id == talker_id, *_overlaps(OversightRow, since, on))))
    return RegisterScope(talker_id, frozenset(sections))


def _people_in(scope: RegisterScope, since: date, on: date):
    """A select of the ids of everyone posted in the scope's sections during ``[since, on]``."""
    return select(Posting.person_id).where(Posting.section_id.in_(scope.sections), *_overlaps(Posting, since, on))


def load_register(since: date, on: date, scope: RegisterScope | None = None
                  ) -> tuple[list[Membership], list[Oversight]]:
    """Postings and oversights that overlap ``[since, on]`` (valid_to exclusive, as in the core);
    with a ``scope``, only the postings of the talker and of the people of its sections (all of
    their postings, so that "which section was this person in" stays right) and those sections'
    oversights."""
    stmt = select(Posting.person_id, Posting.section_id, Posting.role, Posting.valid_from, Posting.valid_to).where(
        *_overlaps(Posting, since, on))
    ov = select(OversightRow.deputy_id, OversightRow.section_id, OversightRow.valid_from,
                OversightRow.valid_to).where(*_overlaps(OversightRow, since, on))
    if scope is not None:
        stmt = stmt.where(or_(Posting.person_id == scope.talker_id,
                              Posting.person_id.in_(_people_in(scope, since, on))))
        ov = ov.where(OversightRow.section_id.in_(scope.sections))
    memberships = [Membership(*row) for row in db.session.execute(stmt)]
    oversights = [Oversight(*row) for row in db.session.execute(ov)]
    return memberships, oversights


def _raw_day(column):
    """A date column as the driver returns it (SQLite: ISO text), decoded by ``_Days`` once per
    distinct day instead of once per row: thousands of rows share a few hundred days."""
    return type_coerce(column, String)


class _Days:
    def __init__(self):
        self._seen: dict = {}

    def __call__(self, value) -> date:
        d = self._seen.get(value)
        if d is None:
            d = self._seen[value] = value if isinstance(value, date) else date.fromisoformat(value)
        return d


def talk_rows(since: date, on: date, talker_id: int | None = None) -> list[tuple]:
    """Held talks (not scheduled ones) in ``[since - a year, on]`` (a year more, to know who never
    talked) as plain rows ``(id, date, kind, collective, talker_ids, talked_to_ids)`` in (date, id)
    order. With ``talker_id``, only the talks that person held (a leader's own obligations)."""
    window = (Talk.status == "held", Talk.held_on <= on, Talk.held_on >= since - timedelta(days=DEFAULT_HORIZON_DAYS))
    roles = TalkParticipant.role.in_(("talker", "talked_to"))
    # Core, not the ORM session, and fetched at once (.all(): one fetchall, not a call per row):
    # plain tuples, hundreds of thousands of them for the whole unit.
    conn = db.session.connection()
    day = _Days()
    if talker_id is not None:
        # One query from the talker's own participant rows (index person_id, role, talk_id).
        mine = aliased(TalkParticipant)
        talks: dict[int, list] = {}
        for talk_id, held_on, kind, collective, person_id, role in conn.execute(
                select(Talk.id, _raw_day(Talk.held_on), Talk.kind, Talk.collective, TalkParticipant.person_id,
                       TalkParticipant.role)
                .select_from(mine).join(Talk, Talk.id == mine.talk_id)
                .join(TalkParticipant, TalkParticipant.talk_id == Talk.id)
                .where(mine.person_id == talker_id, mine.role == "talker", *window, roles)).all():
            t = talks.get(talk_id)
            if t is None:
                t = talks[talk_id] = [talk_id, day(held_on), kind, collective, [], []]
            t[4 if role == "talker" else 5].append(person_id)
        return sorted(map(tuple, talks.values()), key=lambda t: (t[1], t[0]))
    # The whole unit: two flat queries (talks, then their participants) rather than one join, so
    # that each talk's date is decoded once, not once per participant.
    people: dict[int, tuple[list, list]] = {}
    for talk_id, person_id, role in conn.execute(
            select(TalkParticipant.talk_id, TalkParticipant.person_id, TalkParticipant.role)
            .join(Talk, Talk.id == TalkParticipant.talk_id).where(*window, roles)).all():
        entry = people.get(talk_id)
        if entry is None:
            entry = people[talk_id] = ([], [])
        entry[0 if role == "talker" else 1].append(person_id)
    none = ((), ())
    return [(talk_id, day(held_on), kind, collective, *people.get(talk_id, none))
            for talk_id, held_on, kind, collective in conn.execute(
                select(Talk.id, _raw_day(Talk.held_on), Talk.kind, Talk.collective).where(*window)
                .order_by(Talk.held_on, Talk.id)).all()]


def load_talks(since: date, on: date, talker_id: int | None = None) -> list[TalkHeld]:
    """``talk_rows`` as ``TalkHeld`` values (for callers of the core's plain interface)."""
    return [TalkHeld(i, d, k, frozenset(a), frozenset(b), c) for i, d, k, c, a, b in talk_rows(since, on, talker_id)]


def load_triggers(since: date, on: date, scope: RegisterScope | None = None) -> list[Trigger]:
    """HR's recorded events, plus the register's and care's own: appointments, moves, rotations
    (posting reasons) and hospital stays (a relative's stay counts as family hardship). With a
    ``scope``, only events about its people or naming its sections."""
    low = since - timedelta(days=31)  # a trigger shortly before the horizon still has its window in it
    hr_stmt = select(TalkTrigger.id, TalkTrigger.person_id, TalkTrigger.event, TalkTrigger.on,
                     TalkTrigger.section_id).where(TalkTrigger.on >= low, TalkTrigger.on <= on)
    posting_stmt = select(Posting.id, Posting.person_id, Posting.reason, Posting.valid_from, Posting.section_id).where(
        Posting.reason.in_(tuple(POSTING_EVENTS)), Posting.valid_from >= low, Posting.valid_from <= on)
    if scope is not None:
        people = _people_in(scope, since, on)
        hr_stmt = hr_stmt.where(or_(TalkTrigger.person_id.in_(people), TalkTrigger.section_id.in_(scope.sections)))
        posting_stmt = posting_stmt.where(or_(Posting.person_id.in_(people), Posting.section_id.in_(scope.sections)))
    found = [Trigger(f"t{i}", person_id, event, day, section_id)
             for i, person_id, event, day, section_id in db.session.execute(hr_stmt)]
    found.extend(Trigger(f"p{i}", person_id, POSTING_EVENTS[reason], day, section_id)
                 for i, person_id, reason, day, section_id in db.session.execute(posting_stmt))
    try:
        from service.care.models import HospitalCase
    except ImportError:  # care is optional for talks
        return found
    cases = select(HospitalCase).where(HospitalCase.admitted_on >= low, HospitalCase.admitted_on <= on)
    if scope is not None:
        cases = cases.where(HospitalCase.person_id.in_(_people_in(scope, since, on)))
    for c in db.session.scalars(cases):
        event = "hospitalisation" if c.relative_id is None and c.relation is None else "family_hardship"
        found.append(Trigger(f"h{c.id}", c.person_id, event, c.admitted_on))
    return found


def obligations(on: date, talker_id: int | None = None, since: date | None = None) -> list[Obligation]:
    """Obligations on ``on`` (one talker's, or everyone's), in red-letter order.

    For one talker only that talker's talks and the register of the sections he or she is in or
    oversees are loaded (the whole unit for a talker whose rule is "everyone", e.g. the head):
    the result is the same as everyone's obligations filtered to the talker."""
    since = since or on - timedelta(days=DEFAULT_HORIZON_DAYS)
    rules, trigger_rules = load_rules()
    scope = None if talker_id is None else register_scope(talker_id, since, on, rules, trigger_rules)
    memberships, oversights = load_register(since, on, scope)
    talks = TalkIndex.from_rows(talk_rows(since, on, talker_id), talker_id)
    found = compute_obligations(rules, trigger_rules, memberships, oversights, talks,
                                load_triggers(since, on, scope), on, since, talker_id=talker_id)
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
