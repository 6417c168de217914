"""From the database to ``content.WeekData`` for a chunk of people: one query per source per chunk.

Never a query per person: each source is read with ``person_id IN (chunk)`` (or, for what leaders
see of their people, for the whole unit over the two weeks, which is small), and the talk
obligations of the chunk's talkers are computed with the chunk (``UnitTalks``), so that memory
follows the chunk, not the unit.
"""
from __future__ import annotations

from collections import Counter
from operator import itemgetter
from datetime import date, timedelta

from sqlalchemy import func, or_, select

from service.digest.content import (
    DUE_AHEAD_DAYS, MAX_ITEMS, FollowUpItem, HealthCheckItem, LeaveItem, ObligationItem, PersonView, RotationItem,
    ScheduledTalk, UnitSummary, VisitItem, WeekData,
)
from service.extensions import db
from service.talks.cadence import DEFAULT_HORIZON_DAYS
from service.people.models import Oversight, Person, Section


def person_views(people: list[Person], on: date) -> list[PersonView]:
    """Plain views of ``people`` (their current charges read in one query, not per deputy)."""
    ids = [p.id for p in people]
    overseen: dict[int, set[int]] = {}
    if ids:
        for deputy_id, section_id in db.session.execute(select(Oversight.deputy_id, Oversight.section_id).where(
                Oversight.deputy_id.in_(ids), Oversight.valid_from <= on,
                or_(Oversight.valid_to.is_(None), Oversight.valid_to > on))):
            overseen.setdefault(deputy_id, set()).add(section_id)
    return [PersonView(p.id, p.name, p.language or "zh_CN", p.access_role, p.role, p.section_id,
                       frozenset(overseen.get(p.id, ()))) for p in people]


def _names_of(ids) -> dict[int, str]:
    """Names of just these people (never the whole register: memory stays per chunk)."""
    ids = list(set(ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), 5000):
        found.update(db.session.execute(select(Person.id, Person.name).where(Person.id.in_(ids[start:start + 5000]))).all())
    return found


def _section_names() -> dict[int, tuple[str, str]]:
    """Sections' names as (Chinese, English) pairs: the template picks by language."""
    return {sid: (zh, en or zh) for sid, zh, en in db.session.execute(select(Section.id, Section.name, Section.name_en))}


def load_week(views: list[PersonView], week_start: date, on: date, run: dict | None = None) -> WeekData:
    """The week of ``week_start`` for the chunk ``views``; ``on`` is the day obligations stand on.

    ``run`` (a dict the fan-out keeps across its chunks) holds what lasts across chunks: the
    unit's talk obligations as ``UnitTalks``, computed chunk by chunk for the chunk's talkers
    (HR's summary needs all of them: the fan-out leaves HR's emails to its last chunk)."""
    from service.care.models import Appointment, HealthCheckCampaign, VisitTask
    from service.leave.models import LeaveKind, LeaveRequest
    from service.rotation.models import RotationPosting, next_month
    from service.talks.models import FollowUp, Talk, TalkParticipant

    ids = [v.id for v in views]
    data = WeekData()
    if not ids:
        return data
    week_end = week_start + timedelta(days=6)
    ahead_end = week_start + timedelta(days=DUE_AHEAD_DAYS - 1)
    leaders = [v for v in views if v.role != "staff" and v.access_role in ("leader", "hr")]
    any_hr = any(v.access_role == "hr" for v in views)
    section_names = _section_names()

    # Talks scheduled this week with anyone of the chunk: one query, participants included.
    talks: dict[int, dict] = {}
    for talk_id, held_at, place, kind, person_id, role in db.session.execute(
            select(Talk.id, Talk.held_at, Talk.place, Talk.kind, TalkParticipant.person_id, TalkParticipant.role)
            .join(TalkParticipant, TalkParticipant.talk_id == Talk.id)
            .where(Talk.status == "scheduled", Talk.held_on >= week_start, Talk.held_on <= week_end,
                   Talk.id.in_(select(TalkParticipant.talk_id).where(TalkParticipant.person_id.in_(ids))))
            .order_by(Talk.id, TalkParticipant.id)):
        t = talks.setdefault(talk_id, {"held_at": held_at, "place": place, "kind": kind, "ids": set(), "talkers": []})
        t["ids"].add(person_id)
        if role == "talker":
            t["talkers"].append(person_id)
    names = _names_of(pid for t in talks.values() for pid in t["talkers"])
    data.talks = [ScheduledTalk(i, t["held_at"], t["place"], t["kind"], frozenset(t["ids"]),
                                tuple(names.get(pid, "") for pid in t["talkers"])) for i, t in talks.items()]

    data.follow_ups = [FollowUpItem(*row) for row in db.session.execute(
        select(FollowUp.id, FollowUp.talk_id, FollowUp.owner_id, FollowUp.description, FollowUp.due_on)
        .where(FollowUp.owner_id.in_(ids), FollowUp.done_on.is_(None), FollowUp.due_on <= week_end))]

    # Approved rotations running in the two weeks: the chunk's own, and (for leaders) the unit's,
    # which are few (one person per section per month).
    first_month = week_start.replace(day=1) - timedelta(days=1)
    rotation_filter = [RotationPosting.status == "approved", RotationPosting.month >= first_month.replace(day=1),
                       RotationPosting.month <= ahead_end]
    if not leaders:
        rotation_filter.append(RotationPosting.person_id.in_(ids))
    postings = db.session.scalars(select(RotationPosting).where(*rotation_filter)).all()
    names = _names_of(r.person_id for r in postings)
    for r in postings:
        data.rotations.append(RotationItem(
            r.person_id, names.get(r.person_id, ""), r.home_section_id, section_names.get(r.home_section_id, ("", "")),
            r.host_section_id, section_names.get(r.host_section_id, ("", "")), r.month, next_month(r.month)))

    data.health_checks = [HealthCheckItem(pid, campaign, day, half) for pid, campaign, day, half in db.session.execute(
        select(Appointment.person_id, HealthCheckCampaign.name, Appointment.day, Appointment.half)
        .join(HealthCheckCampaign, HealthCheckCampaign.id == Appointment.campaign_id)
        .where(Appointment.person_id.in_(ids), Appointment.status == "booked",
               Appointment.day >= week_start, Appointment.day <= ahead_end))]

    # Approved leave this week: the chunk's own, or the unit's when leaders need their people's.
    leave_filter = [LeaveRequest.status == "approved", LeaveRequest.start_date <= week_end,
                    LeaveRequest.end_date >= week_start]
    if not leaders:
        leave_filter.append(LeaveRequest.person_id.in_(ids))
    data.leave = [LeaveItem(pid, name, section_id, (zh, en or zh), start, end)
                  for pid, name, section_id, zh, en, start, end in
                  db.session.execute(select(LeaveRequest.person_id, Person.name, Person.section_id, LeaveKind.name, LeaveKind.name_en,
                                            LeaveRequest.start_date, LeaveRequest.end_date)
                                     .join(Person, Person.id == LeaveRequest.person_id)
                                     .join(LeaveKind, LeaveKind.id == LeaveRequest.kind_id)
                                     .where(*leave_filter).order_by(LeaveRequest.start_date, LeaveRequest.id))]

    if leaders:
        leader_ids = [v.id for v in leaders]
        data.visit_tasks = [VisitItem(task_id, leader_id, patient, hospital, due_on)
                            for task_id, leader_id, patient, hospital, due_on in db.session.execute(
                                select(VisitTask.id, VisitTask.leader_id, Person.name, _hospital(), VisitTask.due_on)
                                .join(VisitTask.case).join(Person, Person.id == _patient_id())
                                .where(VisitTask.leader_id.in_(leader_ids), VisitTask.closed_on.is_(None)))]
    if leaders or any_hr:
        talks = run.get("talks") if run is not None else None
        if talks is None:
            talks = UnitTalks(on, ahead_end)
            if run is not None:
                run["talks"] = talks
        talks.add_people(ids)
        for v in leaders:
            data.obligations.extend(talks.items_of(v.id))
            if talks.more.get(v.id):
                data.obligations_more[v.id] = talks.more[v.id]
        if any_hr:
            data.unit_summary = talks.unit_summary()
    return data


class _Kept:
    """A sink for one talker's obligations (``compute_obligations(out=...)``): counts the overdue
    ones and keeps the first ``MAX_ITEMS`` red/blue ones of the digest's window in the digest's
    order, so that a head of 50,000 people never has 50,000 obligations in memory at once."""

    def __init__(self, ahead_end: date):
        self.ahead_end = ahead_end
        self.overdue = 0
        self.shown = 0
        self.items: list = []

    def append(self, o) -> None:
        if o.status == "overdue":
            self.overdue += 1
        elif o.status != "due" or o.deadline > self.ahead_end:
            return
        self.shown += 1
        # The digest's order; ties as the dashboard orders them, then as the core produced them.
        self.items.append(((not o.never_talked, -o.days_overdue, o.status != "overdue", o.deadline,
                            o.talked_to_id, _STATUS_RANK[o.status], o.period_start, self.shown), o))
        if len(self.items) >= 4 * MAX_ITEMS:
            self.items.sort(key=itemgetter(0))
            del self.items[MAX_ITEMS:]

    def first(self) -> list:
        self.items.sort(key=itemgetter(0))
        return [o for _, o in self.items[:MAX_ITEMS]]


_STATUS_RANK = {"overdue": 0, "due": 1, "done": 2}


class UnitTalks:
    """The unit's talk obligations for one run of the digest, streamed: each chunk computes the
    obligations of the talkers among its people only (``add_people``), keeping for each the first
    ``MAX_ITEMS`` red/blue items and the overdue count; HR's summary needs every talker's count,
    so ``unit_summary`` first computes the talkers no chunk had (in groups of ``GROUP``). Memory:
    one chunk's items and one talker group's data at a time, plus a counter per talker."""

    GROUP = 50

    def __init__(self, on: date, ahead_end: date):
        from service.talks.loading import load_rules, possible_talkers

        self.on, self.ahead_end = on, ahead_end
        self.since = on - timedelta(days=DEFAULT_HORIZON_DAYS)
        self.talkers = possible_talkers(self.since, on, *load_rules())
        self.done: set[int] = set()
        self.overdue: Counter = Counter()
        self.items: dict[int, list] = {}  # this chunk's talkers only
        self.more: dict[int, int] = {}
        self._summary: UnitSummary | None = None

    def add_people(self, ids) -> None:
        """Compute the obligations of the talkers among ``ids`` (this chunk's), once per run."""
        group = sorted(t for t in set(ids) if t in self.talkers and t not in self.done)
        self.items, self.more = {}, {}
        kept = self._compute(group)
        names = _names_of(o.talked_to_id for k in kept.values() for o in k.first())
        for t, k in kept.items():
            first = k.first()
            self.items[t] = [ObligationItem(o.talker_id, o.talked_to_id, names.get(o.talked_to_id, ""), o.deadline,
                                            o.status, o.days_overdue, o.never_talked) for o in first]
            self.more[t] = max(k.shown - MAX_ITEMS, 0)

    def items_of(self, talker_id: int) -> list:
        return self.items.get(talker_id, ())

    def unit_summary(self) -> UnitSummary:
        """HR's summary: computes every talker not computed yet (counts only), then reads the rest."""
        if self._summary is None:
            rest = sorted(self.talkers - self.done)
            for start in range(0, len(rest), self.GROUP):
                self._compute(rest[start:start + self.GROUP])
            self._summary = _unit_summary(self.overdue, self.on)
        return self._summary

    def _compute(self, group: list[int]) -> dict:
        from service.talks.loading import talker_obligations

        if not group:
            return {}
        kept = talker_obligations(self.on, group, self.since, out_for=lambda _t: _Kept(self.ahead_end))
        for t, k in kept.items():
            self.done.add(t)
            if k.overdue:
                self.overdue[t] += k.overdue
        return kept


def _hospital():
    from service.care.models import HospitalCase

    return HospitalCase.hospital


def _patient_id():
    from service.care.models import HospitalCase

    return HospitalCase.person_id


def _unit_summary(overdue: Counter, on: date) -> UnitSummary:
    from service.care.models import Appointment, HealthCheckCampaign
    from service.outbox.models import OutboxMessage

    top = sorted(overdue.items(), key=lambda x: (-x[1], x[0]))[:MAX_ITEMS]  # the dashboard has the rest
    names = _names_of(pid for pid, _ in top)
    by_leader = tuple(sorted(((names.get(pid, ""), n) for pid, n in top), key=lambda x: (-x[1], x[0])))
    campaign = db.session.scalar(select(HealthCheckCampaign).where(HealthCheckCampaign.year == on.year)
                                 .order_by(HealthCheckCampaign.id.desc()).limit(1))
    counts: tuple = ()
    if campaign is not None:
        counts = tuple(sorted(db.session.execute(select(Appointment.status, func.count())
                                                 .where(Appointment.campaign_id == campaign.id)
                                                 .group_by(Appointment.status)).all()))
    parked = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.status == "parked")) or 0
    return UnitSummary(by_leader, campaign.name if campaign else None, counts, parked)
