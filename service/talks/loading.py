"""From the database to the pure core and back: rules, register, talks and triggers as plain data.

Every computation is bounded: the register, talks and triggers are read from ``since`` (by default
a year before ``on``) to ``on``, so a dashboard costs the same in the tenth year as in the first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import String, func, or_, select, type_coerce
from sqlalchemy.orm import aliased

from schemas.common import MAX_INT
from service.extensions import db
from service.people.models import Oversight as OversightRow
from service.people.models import Posting
from service.talks import configuration
from service.talks.cadence import (
    DEFAULT_HORIZON_DAYS, KINDS, CadenceRule, Obligation, TalkHeld, TalkIndex, Trigger, TriggerRule,
    _collector_paused, compute_obligations, red_letter_order,
)
from service.talks.defaults import DEFAULT_CADENCE_RULES, DEFAULT_TRIGGER_RULES
from service.talks.models import (
    CadenceRuleRow, Talk, TalkKind, TalkPair, TalkParticipant, TalkSettings, TalkTrigger, TriggerRuleRow,
)
from service.talks.periods import periods_overlapping
from service.talks.register import Audience, Membership, Oversight, Register

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
    """The unit's talk settings; on first use, also seeds the kinds and rules from the defaults.

    For reading (not ``for_update``) a per-process snapshot with the same attributes is returned
    when it is current (``service.talks.configuration``): no query."""
    if not for_update:
        config = configuration.cached()
        if config is not None:
            return config.settings
    if for_update:
        row = db.session.scalar(select(TalkSettings).where(TalkSettings.id == 1).with_for_update())
    else:
        row = db.session.get(TalkSettings, 1)  # the identity map first: read several times a request
    if row is None:
        row = TalkSettings(id=1, discipline_reader_ids=[], max_talks_per_day=3, due_soon_days=5)
        db.session.add(row)
        _seed_defaults()
        db.session.flush()
    elif not for_update:
        configuration.remember(row)  # as stored (seeded rows wait for their commit)
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


def _configuration():
    """The cached settings and kinds, loading them if need be (``None``: read the tables)."""
    config = configuration.cached()
    if config is None:
        talk_settings()
        config = configuration.cached()
    return config


def kind_codes(active_only: bool = True) -> list[str]:
    config = _configuration()
    if config is not None:
        return [k.code for k in config.kinds if k.active or not active_only]
    stmt = select(TalkKind.code).order_by(TalkKind.id)
    if active_only:
        stmt = stmt.where(TalkKind.active.is_(True))
    return list(db.session.scalars(stmt))


def kind_known(code: str) -> bool:
    """Whether ``code`` is an active talk kind (seeding the defaults on first use)."""
    config = _configuration()
    if config is not None:
        return code in config.active_codes
    if db.session.scalar(select(TalkKind.id).where(TalkKind.code == code, TalkKind.active.is_(True))) is not None:
        return True
    return code in kind_codes()


def kind_labels(locale: str) -> dict[str, str]:
    config = _configuration()
    kinds = config.kinds if config is not None else db.session.scalars(select(TalkKind).order_by(TalkKind.id))
    return {k.code: (k.name_en or k.name) if locale == "en" else k.name for k in kinds}


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
    """The part of the register some talkers' obligations depend on: the sections they are in or
    oversee during the horizon, and everyone with a posting in them. ``None`` instead of a scope
    means the whole unit (everyone's obligations, or a talker whose rule is "everyone")."""

    talker_ids: frozenset
    sections: frozenset[int]
    # Instead of sections: a block of talked-to people (ids ``people[0]..people[1]``, inclusive),
    # for a talker whose rule is "everyone", computed block by block (``talker_obligations``).
    people: tuple[int, int] | None = None


def _overlaps(model, since: date, on: date):
    """Rows of an effective-dated table valid on some day of ``[since, on]`` (valid_to exclusive)."""
    return (model.valid_from <= on, or_(model.valid_to.is_(None), model.valid_to > since))


def register_scope(talker_id: int, since: date, on: date, rules: list[CadenceRule],
                   trigger_rules: list[TriggerRule]) -> RegisterScope | None:
    """What to load for ``talker_id``'s obligations alone; ``None`` when that is the whole unit."""
    return group_scope((talker_id,), since, on, rules, trigger_rules)


def group_scope(talker_ids, since: date, on: date, rules: list[CadenceRule],
                trigger_rules: list[TriggerRule]) -> RegisterScope | None:
    """What to load for the obligations of ``talker_ids`` (two queries for the group); ``None``
    when one of them talks with the whole unit (e.g. the head)."""
    ids = list(talker_ids)
    own = db.session.execute(select(Posting.section_id, Posting.role).where(
        Posting.person_id.in_(ids), *_overlaps(Posting, since, on))).all()
    roles = {role for _, role in own}
    whole_unit = any(r.talker_selector in roles and r.talked_to_selector.scope == "everyone" for r in rules) or any(
        r.talker_selector in roles for r in trigger_rules if r.talker_selector == "head")
    if whole_unit:
        return None
    sections = {s for s, _ in own if s is not None}
    sections.update(db.session.scalars(select(OversightRow.section_id).where(
        OversightRow.deputy_id.in_(ids), *_overlaps(OversightRow, since, on))))
    return RegisterScope(frozenset(ids), frozenset(sections))


def possible_talkers(since: date, on: date, rules: list[CadenceRule], trigger_rules: list[TriggerRule]) -> set[int]:
    """Everyone who may owe a talk on ``on`` (a superset): whoever held a talker role of a rule,
    or a role trigger rules read (head, chief), or oversaw a section, in the year before ``since``
    up to ``on``. A few ids per section: what streaming over talkers iterates."""
    low = since - timedelta(days=DEFAULT_HORIZON_DAYS)
    roles = {r.talker_selector for r in rules} | ({"head", "chief"} if trigger_rules else set())
    found = set(db.session.scalars(select(Posting.person_id).where(
        Posting.role.in_(sorted(roles)), *_overlaps(Posting, low, on)).distinct()))
    found.update(db.session.scalars(select(OversightRow.deputy_id).where(*_overlaps(OversightRow, low, on)).distinct()))
    return found


def _people_in(scope: RegisterScope, since: date, on: date):
    """A select of the ids of everyone posted in the scope's sections (or its block of people)
    during ``[since, on]``."""
    if scope.people is not None:
        return select(Posting.person_id).where(Posting.person_id.between(*scope.people), *_overlaps(Posting, since, on))
    return select(Posting.person_id).where(Posting.section_id.in_(scope.sections), *_overlaps(Posting, since, on))


def _blocks_of_people(since: date, on: date, size: int):
    """Contiguous blocks ``(first id, last id)`` covering every person id, each holding at most
    ``size`` people posted during ``[since, on]``, read block by block (keyset), never the unit's
    list at once. The last block reaches the largest id: an event about someone not posted in
    the horizon still falls in a block."""
    after = 0
    while True:
        ids = list(db.session.scalars(select(Posting.person_id).where(
            Posting.person_id > after, *_overlaps(Posting, since, on)).distinct()
            .order_by(Posting.person_id).limit(size)))
        if len(ids) < size:
            yield after + 1, MAX_INT
            return
        yield after + 1, ids[-1]
        after = ids[-1]


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
        stmt = stmt.where(or_(Posting.person_id.in_(list(scope.talker_ids)),
                              Posting.person_id.in_(_people_in(scope, since, on))))
        if scope.people is not None:  # the talkers' own charges; the block's people are talked to
            ov = ov.where(OversightRow.deputy_id.in_(list(scope.talker_ids)))
        else:
            ov = ov.where(OversightRow.section_id.in_(scope.sections))
    # In a fixed order, so that a scoped register lists its people as the whole one does, and the
    # core's ties (same standing, same dates) come out in the same order either way.
    memberships = [Membership(*row) for row in db.session.execute(stmt.order_by(Posting.person_id, Posting.valid_from,
                                                                               Posting.id))]
    oversights = [Oversight(*row) for row in db.session.execute(ov.order_by(OversightRow.deputy_id,
                                                                             OversightRow.valid_from, OversightRow.id))]
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


def _fetch(conn, stmt) -> list[tuple]:
    """All rows of ``stmt`` as the driver's own tuples: SQLAlchemy binds the parameters, but its
    Row objects (2 s for 870,000 participant rows) are skipped. Dates stay as the driver gives
    them (SQLite: ISO text), booleans too (SQLite: 0/1)."""
    result = conn.execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def full_rows_from(rules: list[CadenceRule], trigger_rules: list[TriggerRule], since: date, on: date) -> date:
    """The first day on which a talk can satisfy any obligation of ``[since, on]``: the start of
    the first period of each rule overlapping ``since``, and the earliest trigger window (triggers
    are read from 31 days before ``since``). Older talks only tell who has ever talked."""
    low = since - timedelta(days=31 + max((r.window_before_days for r in trigger_rules), default=0))
    for r in rules:
        found = periods_overlapping(since, on, r.frequency, r.n_weeks, r.anchor)
        if found:
            low = min(low, found[0][0])
    return low


def earlier_pairs(since: date, until: date, talker_ids=None, people: tuple[int, int] | None = None) -> list[tuple]:
    """``(talker_id, talked_to_id, ordinal)`` for each pair that talked in ``[since - a year,
    until)``, the ordinal being the day before ``until`` for all of them: enough for "never
    talked", which is all these older talks decide (one DISTINCT, not every row nor each pair's
    latest date)."""
    low = since - timedelta(days=DEFAULT_HORIZON_DAYS)
    if until <= low:
        return []
    stmt = (select(TalkPair.talker_id, TalkPair.talked_to_id).distinct()
            .where(TalkPair.held_on >= low, TalkPair.held_on < until))
    if talker_ids is not None:
        stmt = stmt.where(TalkPair.talker_id.in_(list(talker_ids)))
    if people is not None:
        stmt = stmt.where(TalkPair.talked_to_id.between(*people))
    before = (until - timedelta(days=1)).toordinal()
    return [(t, p, before) for t, p in _fetch(db.session.connection(), stmt)]


def pair_rows(low: date, on: date, talker_ids=None, people: tuple[int, int] | None = None) -> list[tuple]:
    """The held talks of ``[low, on]`` as ``talk_pair`` rows ``(day, talk_id, talker_id,
    talked_to_id, kind, is_group)`` in (date, talk) order, as the driver returns them (the day as
    SQLite's ISO text or a date, ``is_group`` as 0/1 or a bool): one range scan, no join. With
    ``talker_ids``, only the pairs of those talkers; with ``people``, only talks with the people
    of that block of ids."""
    stmt = (select(_raw_day(TalkPair.held_on), TalkPair.talk_id, TalkPair.talker_id, TalkPair.talked_to_id,
                   TalkPair.kind, TalkPair.is_group)
            .where(TalkPair.held_on >= low, TalkPair.held_on <= on)
            .order_by(TalkPair.held_on, TalkPair.talk_id))
    if talker_ids is not None:
        stmt = stmt.where(TalkPair.talker_id.in_(list(talker_ids)))
    if people is not None:
        stmt = stmt.where(TalkPair.talked_to_id.between(*people))
    return _fetch(db.session.connection(), stmt)


def talk_rows(since: date, on: date, talker_id: int | None = None) -> list[tuple]:
    """Held talks (not scheduled ones) in ``[since - a year, on]`` (a year more, to know who never
    talked), read from talks and participants rather than ``talk_pair``: for ``load_talks``, the
    plain interface, and the reference the tests and the benchmark check ``talk_index`` against.
    Plain rows ``(id, date, kind, collective, talker_ids, talked_to_ids)`` in (date, id) order.
    With ``talker_id``, only the talks that person held."""
    low = since - timedelta(days=DEFAULT_HORIZON_DAYS)
    window = (Talk.status == "held", Talk.held_on <= on, Talk.held_on >= low)
    roles = TalkParticipant.role.in_(("talker", "talked_to"))
    # Core, not the ORM session, and fetched at once as the driver's tuples: hundreds of
    # thousands of them for the whole unit.
    conn = db.session.connection()
    day = _Days()
    if talker_id is not None:
        # One query from the talker's own participant rows (index person_id, role, talk_id).
        mine = aliased(TalkParticipant)
        talks: dict[int, list] = {}
        for talk_id, held_on, kind, collective, person_id, role in _fetch(conn,
                select(Talk.id, _raw_day(Talk.held_on), Talk.kind, Talk.collective, TalkParticipant.person_id,
                       TalkParticipant.role)
                .select_from(mine).join(Talk, Talk.id == mine.talk_id)
                .join(TalkParticipant, TalkParticipant.talk_id == Talk.id)
                .where(mine.person_id == talker_id, mine.role == "talker", *window, roles)):
            t = talks.get(talk_id)
            if t is None:
                t = talks[talk_id] = [talk_id, day(held_on), kind, bool(collective), [], []]
            t[4 if role == "talker" else 5].append(person_id)
        return sorted(map(tuple, talks.values()), key=lambda t: (t[1], t[0]))
    # The whole unit: two flat queries (talks, then their participants) rather than one join, so
    # that each talk's date is decoded once, not once per participant.
    people: dict[int, tuple[list, list]] = {}
    for talk_id, person_id, role in _fetch(conn,
            select(TalkParticipant.talk_id, TalkParticipant.person_id, TalkParticipant.role)
            .join(Talk, Talk.id == TalkParticipant.talk_id).where(*window, roles)):
        entry = people.get(talk_id)
        if entry is None:
            entry = people[talk_id] = ([], [])
        entry[0 if role == "talker" else 1].append(person_id)
    none = ((), ())
    return [(talk_id, day(held_on), kind, bool(collective), *people.get(talk_id, none))
            for talk_id, held_on, kind, collective in _fetch(conn,
                select(Talk.id, _raw_day(Talk.held_on), Talk.kind, Talk.collective).where(*window)
                .order_by(Talk.held_on, Talk.id))]


def talk_index(since: date, on: date, rules, trigger_rules, talker_id: int | None = None,
               talker_ids=None, people: tuple[int, int] | None = None) -> TalkIndex:
    """The talks of ``[since - a year, on]`` indexed for the core, from ``talk_pair``: full rows
    from the first day a talk can satisfy an obligation, one "talked before" marker per pair for
    the older ones. The same obligations as indexing every talk read from talks and participants
    (tests/test_talks_unit_obligations.py)."""
    full_from = full_rows_from(rules, trigger_rules, since, on)
    low = max(since - timedelta(days=DEFAULT_HORIZON_DAYS), full_from)
    talkers = (talker_id,) if talker_id is not None else talker_ids
    # The collector paused while hundreds of thousands of rows arrive: in a process holding many
    # objects (a gunicorn worker, the benchmark) each full collection walks all of them; measured,
    # 9 s instead of 4 s for the whole unit.
    with _collector_paused():
        earlier = earlier_pairs(since, full_from, talkers, people)
        return TalkIndex.from_pairs(pair_rows(low, on, talkers, people), earlier, _Days())


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
        if scope.people is not None:  # events about the block's people
            hr_stmt = hr_stmt.where(TalkTrigger.person_id.between(*scope.people))
            posting_stmt = posting_stmt.where(Posting.person_id.between(*scope.people))
        else:
            people = _people_in(scope, since, on)
            hr_stmt = hr_stmt.where(or_(TalkTrigger.person_id.in_(people),
                                        TalkTrigger.section_id.in_(scope.sections)))
            posting_stmt = posting_stmt.where(or_(Posting.person_id.in_(people),
                                                  Posting.section_id.in_(scope.sections)))
    found = [Trigger(f"t{i}", person_id, event, day, section_id)
             for i, person_id, event, day, section_id in db.session.execute(hr_stmt)]
    found.extend(Trigger(f"p{i}", person_id, POSTING_EVENTS[reason], day, section_id)
                 for i, person_id, reason, day, section_id in db.session.execute(posting_stmt))
    try:
        from service.care.models import HospitalCase
    except ImportError:  # care is optional for talks
        return found
    cases = select(HospitalCase).where(HospitalCase.admitted_on >= low, HospitalCase.admitted_on <= on)
    if scope is not None and scope.people is not None:
        cases = cases.where(HospitalCase.person_id.between(*scope.people))
    elif scope is not None:
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
    talks = talk_index(since, on, rules, trigger_rules, talker_id)
    found = compute_obligations(rules, trigger_rules, memberships, oversights, talks,
                                load_triggers(since, on, scope), on, since, talker_id=talker_id)
    return red_letter_order(found)


def unit_obligations_into(out, on: date, since: date | None = None):
    """Everyone's obligations on ``on`` handed one by one to ``out.append`` (in the core's order),
    without a list of them all or red-letter sorting: for tallies over the whole unit."""
    since = since or on - timedelta(days=DEFAULT_HORIZON_DAYS)
    rules, trigger_rules = load_rules()
    memberships, oversights = load_register(since, on)
    talks = talk_index(since, on, rules, trigger_rules)
    return compute_obligations(rules, trigger_rules, memberships, oversights, talks,
                               load_triggers(since, on), on, since, out=out)


PEOPLE_BLOCK = 2_000  # talked-to people per block for a talker whose rule is "everyone"


def talker_obligations(on: date, talker_ids, since: date | None = None, out_for=None) -> dict:
    """The obligations of each of ``talker_ids`` on ``on``, talker by talker: ``{talker_id: what
    out_for(talker_id) collected}`` where ``out_for`` makes a sink for
    ``compute_obligations(out=...)`` (default: a list). The same obligations as ``obligations(on)``
    filtered to each talker (tests/test_talks_unit_obligations.py), for a cost that follows the
    group: the group's register scope and the talks its members held.

    Deputies (who oversee sections) are computed one at a time on their own scope, section chiefs
    together on the union of theirs. A talker whose rule is "everyone" (the head) is computed in
    blocks of ``PEOPLE_BLOCK`` talked-to people: the head's own postings and each block's, the
    head's talks with that block, the block's events. So a caller streaming over all talkers holds
    one group's or one block's data at a time, however large the unit. The order is the core's
    within a group or block (blocks in id order): sort the result for a stable order."""
    since = since or on - timedelta(days=DEFAULT_HORIZON_DAYS)
    rules, trigger_rules = load_rules()
    ids = sorted(set(talker_ids))
    if not ids:
        return {}
    overseers = set(db.session.scalars(select(OversightRow.deputy_id).where(
        OversightRow.deputy_id.in_(ids), *_overlaps(OversightRow, since, on))))
    result: dict = {t: (out_for(t) if out_for else []) for t in ids}

    def compute(group, scope, people=None):
        memberships, oversights = load_register(since, on, scope)
        register = Register(memberships, oversights)
        del memberships, oversights
        index = talk_index(since, on, rules, trigger_rules, talker_ids=group, people=people)
        triggers = load_triggers(since, on, scope)
        for t in group:
            compute_obligations(rules, trigger_rules, register, (), index, triggers, on, since,
                                talker_id=t, out=result[t])

    # Each group's scope is read once: it decides how the group is computed and is then used.
    wide = []
    together = [t for t in ids if t not in overseers]
    scope = group_scope(together, since, on, rules, trigger_rules) if together else None
    if together and scope is None:
        # Somebody of the group talks with the whole unit: they go by blocks, the rest together.
        wide = [t for t in together if register_scope(t, since, on, rules, trigger_rules) is None]
        together = [t for t in together if t not in set(wide)]
        scope = group_scope(together, since, on, rules, trigger_rules) if together else None
    if together:
        compute(together, scope)
    for t in sorted(overseers):
        alone_scope = register_scope(t, since, on, rules, trigger_rules)
        if alone_scope is None:
            wide.append(t)
        else:
            compute([t], alone_scope)
    for t in wide:
        for block in _blocks_of_people(since, on, PEOPLE_BLOCK):
            compute([t], RegisterScope(frozenset((t,)), frozenset(), people=block), block)
    return result


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
