"""From the database to ``content.WeekData`` for a chunk of people: one query per source per chunk.

Never a query per person: each source is read with ``person_id IN (chunk)`` (or, for what leaders
see of their people, for the whole unit over the two weeks, which is small), and the talk
obligations are computed once per chunk for every talker by the talks core.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, or_, select

from service.digest.content import (
    DUE_AHEAD_DAYS, FollowUpItem, HealthCheckItem, LeaveItem, ObligationItem, PersonView, RotationItem,
    ScheduledTalk, UnitSummary, VisitItem, WeekData,
)
from service.extensions import db
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


def _names() -> tuple[dict[int, str], dict[int, tuple[str, str]]]:
    """People's names; sections' names as (Chinese, English) pairs: the template picks by language."""
    people = dict(db.session.execute(select(Person.id, Person.name)).all())
    sections = {sid: (zh, en or zh) for sid, zh, en in db.session.execute(select(Section.id, Section.name, Section.name_en))}
    return people, sections


def load_week(views: list[PersonView], week_start: date, on: date) -> WeekData:
    """The week of ``week_start`` for the chunk ``views``; ``on`` is the day obligations stand on."""
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
    names, section_names = _names()

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
            t["talkers"].append(names.get(person_id, ""))
    data.talks = [ScheduledTalk(i, t["held_at"], t["place"], t["kind"], frozenset(t["ids"]), tuple(t["talkers"]))
                  for i, t in talks.items()]

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
    for r in db.session.scalars(select(RotationPosting).where(*rotation_filter)):
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
        overdue = Counter()
        leader_ids = {v.id for v in leaders}
        for o in _obligations(on):
            if o.status == "overdue":
                overdue[o.talker_id] += 1
            if o.talker_id in leader_ids and o.status in ("due", "overdue") and (
                    o.status == "overdue" or o.deadline <= ahead_end):
                data.obligations.append(ObligationItem(o.talker_id, o.talked_to_id, names.get(o.talked_to_id, ""),
                                                       o.deadline, o.status, o.days_overdue, o.never_talked))
        if any_hr:
            data.unit_summary = _unit_summary(overdue, names, on)
    return data


def _hospital():
    from service.care.models import HospitalCase

    return HospitalCase.hospital


def _patient_id():
    from service.care.models import HospitalCase

    return HospitalCase.person_id


def _obligations(on: date):
    from service.talks.loading import obligations

    return obligations(on)


def _unit_summary(overdue: Counter, names: dict[int, str], on: date) -> UnitSummary:
    from service.care.models import Appointment, HealthCheckCampaign
    from service.outbox.models import OutboxMessage

    by_leader = tuple(sorted(((names.get(pid, ""), n) for pid, n in overdue.items()), key=lambda x: (-x[1], x[0])))
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
