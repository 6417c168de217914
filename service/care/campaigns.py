"""The health-check campaign's thin edge: load people and days, call ``assign_slots``, store slots.

Rules kept by the core: capacity, leave, windows, the section share, minimal moves (each booked
future slot is passed as the person's previous slot). Here: who is eligible, which days and people
are still open (a slot on or before ``today`` is history and stays), reminders and swaps.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from flask_babel import gettext as _, ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from service.care import availability
from service.care.healthcheck_slots import Candidate, ClinicDay, Slot, assign_slots
from service.care.models import Appointment, ClinicDaySlot, HealthCheckCampaign
from service.care.settings import parse_share
from service.care.visits import CareError
from service.clock import now_utc
from service.extensions import db
from service.outbox import queue_email
from service.people.models import Person
from service.care.availability import unit_working_day

DONE = ("attended", "follow_up_advised")


def eligible_people(campaign: HealthCheckCampaign) -> list[Person]:
    """Every active person by default; narrowed by the campaign's section filter, and by
    ``skip_attended_previous_year`` (the every-other-year rule) when set."""
    stmt = select(Person).where(Person.left_on.is_(None)).order_by(Person.id)
    if campaign.eligible_section_ids:
        stmt = stmt.where(Person.section_id.in_(campaign.eligible_section_ids))
    people = db.session.scalars(stmt).unique().all()
    if campaign.skip_attended_previous_year:
        attended = set(db.session.scalars(
            select(Appointment.person_id).join(HealthCheckCampaign, HealthCheckCampaign.id == Appointment.campaign_id)
            .where(HealthCheckCampaign.year == campaign.year - 1, Appointment.status.in_(DONE))))
        people = [p for p in people if p.id not in attended]
    return people


def assign_campaign(campaign: HealthCheckCampaign, today: date) -> dict:
    """(Re)place everyone still to be seen on the clinic days after ``today``; commit.

    People with a booked future slot keep it unless the core must move them (leave, capacity cut);
    missed appointments are rebooked; slots on or before today are left alone.
    """
    share = parse_share(campaign.section_share)
    existing = {a.person_id: a for a in db.session.scalars(
        select(Appointment).options(selectinload(Appointment.person)).where(Appointment.campaign_id == campaign.id))}
    for person in eligible_people(campaign):
        if person.id not in existing:
            appointment = Appointment(campaign_id=campaign.id, person_id=person.id, status="unplaced")
            db.session.add(appointment)
            existing[person.id] = appointment
    db.session.flush()

    def open_to_place(a: Appointment) -> bool:
        if a.status in DONE or not a.person.active:
            return False
        return a.status in ("unplaced", "missed") or (a.status == "booked" and a.day is not None and a.day > today)

    to_place = [a for a in existing.values() if open_to_place(a)]
    is_working_day = unit_working_day()
    days = [d for d in campaign.days if d.day > today and is_working_day(d.day) and d.capacity()]
    clinic_days = [ClinicDay(d.day, d.capacity()) for d in days]
    ids = [a.person_id for a in to_place]
    leave = availability.approved_leave_days(ids, days[0].day, days[-1].day) if days else {}
    headcount = Counter(db.session.scalars(select(Person.section_id).where(Person.left_on.is_(None))))
    candidates = []
    for a in to_place:
        window = None
        if a.window_start or a.window_end:
            window = (a.window_start or date(1900, 1, 1), a.window_end or date(2100, 12, 31))
        previous = Slot(a.day, a.half) if a.status == "booked" and a.day else None
        candidates.append(Candidate(a.person_id, a.person.section_id, frozenset(leave.get(a.person_id, ())),
                                    window, a.preferred_half, previous))
    plan = assign_slots(clinic_days, candidates, section_share=share, section_headcount=headcount)
    if plan.status != "OPTIMAL":
        raise RuntimeError(f"the slot solver failed on campaign {campaign.id}")
    # One flush at the commit, not one per queued email (each outbox insert would autoflush).
    with db.session.no_autoflush:
        moved = _store_plan(to_place, plan, campaign)
    summary = {"placed": len(plan.assignment), "unplaced": len(plan.unplaced), "moved": moved,
               "considered": len(to_place), "days": len(days)}
    campaign.last_run_at, campaign.last_run = now_utc(), summary
    db.session.commit()
    return summary


def _store_plan(to_place, plan, campaign) -> int:
    moved = 0
    for a in to_place:
        slot = plan.assignment.get(a.person_id)
        before = (a.day, a.half, a.status)
        if slot is None:
            a.day, a.half, a.status, a.unplaced_reason = None, None, "unplaced", plan.unplaced.get(a.person_id)
        else:
            a.day, a.half, a.status, a.unplaced_reason = slot.day, slot.half, "booked", None
            if before != (a.day, a.half, a.status):  # a new or moved slot: tell the person (once per slot)
                queue_email(a.person, "care_hc_slot", "care_hc_slot",
                            f"hc-slot:{a.id}:{slot.day.isoformat()}:{slot.half}", appointment=a, campaign=campaign)
        if before[2] == "booked" and (a.day, a.half) != before[:2]:
            moved += 1
    return moved


def booked_count(campaign_id: int, day: date, half: str, exclude_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(Appointment).where(
        Appointment.campaign_id == campaign_id, Appointment.day == day, Appointment.half == half,
        Appointment.status.in_(("booked",) + DONE))
    if exclude_id is not None:
        stmt = stmt.where(Appointment.id != exclude_id)
    return db.session.scalar(stmt)


def check_slot_has_room(appointment: Appointment, day: date, half: str, today: date) -> None:
    """CareError naming the field unless ``day``/``half`` is a future clinic slot with a free place,
    the person is not on leave then, and their section stays within its share that day."""
    clinic = db.session.scalar(select(ClinicDaySlot).where(ClinicDaySlot.campaign_id == appointment.campaign_id,
                                                           ClinicDaySlot.day == day))
    if clinic is None or day <= today:
        raise CareError(422, "wanted_day", _("This is not an open clinic day of the campaign."))
    capacity = clinic.capacity().get(half, 0)
    if capacity == 0:
        raise CareError(422, "wanted_half", _("The clinic takes nobody in this half-day."))
    if booked_count(appointment.campaign_id, day, half, appointment.id) >= capacity:
        raise CareError(409, "wanted_half", ngettext("The slot is full (%(num)d place).", "The slot is full (%(num)d places).", capacity))
    if day in availability.approved_leave_days([appointment.person_id], day, day).get(appointment.person_id, ()):
        raise CareError(409, "wanted_day", _("The person is on approved leave that day."))
    from service.care.healthcheck_slots import section_day_cap

    section_id = appointment.person.section_id
    headcount = db.session.scalar(select(func.count()).select_from(Person).where(
        Person.left_on.is_(None), Person.section_id == section_id if section_id else Person.section_id.is_(None)))
    cap = section_day_cap(headcount, parse_share(appointment.campaign.section_share))
    same_day = db.session.scalar(select(func.count()).select_from(Appointment).join(Person).where(
        Appointment.campaign_id == appointment.campaign_id, Appointment.day == day, Appointment.id != appointment.id,
        Appointment.status == "booked",
        Person.section_id == section_id if section_id else Person.section_id.is_(None)))
    if same_day >= cap:
        raise CareError(409, "wanted_day", ngettext("Your section already has %(num)d person at the clinic that day (at most %(cap)d).",
                                                    "Your section already has %(num)d people at the clinic that day (at most %(cap)d).",
                                                    same_day, cap=cap))


def _on_or_before(day: date, is_working_day) -> date:
    """The last working day on or before ``day``."""
    for _step in range(32):
        if is_working_day(day):
            return day
        day -= timedelta(days=1)
    raise ValueError(f"no working day in the month before {day}")


def remind_health_checks(today: date) -> dict:
    """On working days: a reminder a week before (on the last working day on or before that date) and
    one on the working day before; each once per appointment and slot date (dedupe keys). Commits."""
    counts = {"week": 0, "eve": 0}
    is_working_day = unit_working_day()
    if not is_working_day(today):
        return counts
    rows = db.session.scalars(select(Appointment).where(
        Appointment.status == "booked", Appointment.day > today,
        Appointment.day <= today + timedelta(days=40)).order_by(Appointment.id)).all()
    for a in rows:
        eve_day = _on_or_before(a.day - timedelta(days=1), is_working_day)
        week_day = _on_or_before(a.day - timedelta(days=7), is_working_day)
        # After a long holiday both fall on one day: the working-day-before reminder alone.
        if week_day == today and week_day != eve_day and queue_email(
                a.person, "care_hc_reminder", "care_hc_reminder", f"hc-week:{a.id}:{a.day.isoformat()}",
                appointment=a, eve=False):
            counts["week"] += 1
        if eve_day == today and queue_email(
                a.person, "care_hc_reminder", "care_hc_reminder", f"hc-eve:{a.id}:{a.day.isoformat()}",
                appointment=a, eve=True):
            counts["eve"] += 1
    db.session.commit()
    return counts


def decide_swap(swap, approve: bool, actor, today: date) -> None:
    """HR's decision on a swap request. CareError (the request stays pending) when it was decided
    already, the appointment is no longer booked, or the wanted slot has no room any more."""
    from service import audit

    if swap.status != "pending":
        raise CareError(409, "approve", _("This request is already approved.") if swap.status == "approved"
                        else _("This request is already rejected."))
    a = swap.appointment
    if approve:
        if a.status != "booked":
            raise CareError(409, "approve", _("The appointment is no longer booked."))
        try:
            check_slot_has_room(a, swap.wanted_day, swap.wanted_half, today)
        except CareError as exc:
            raise CareError(exc.status, "approve", exc.message) from None
        a.day, a.half = swap.wanted_day, swap.wanted_half
    swap.status = "approved" if approve else "rejected"
    swap.decided_by_id = actor.id
    audit.record("decide", "swap_request", swap.id, {"status": ["pending", swap.status]})


def check_attendance(a: Appointment, status: str, today: date) -> bool:
    """May HR mark ``status`` on ``a`` today? CareError if not; True when it is a new miss, which
    books the person again at the next assignment run."""
    if a.status not in ("booked",) + DONE + ("missed",) or a.day is None:
        raise CareError(409, "status", _("Nobody can attend an appointment that has no slot."))
    if a.day > today:
        raise CareError(409, "status", _("The appointment is on %(day)s, still ahead.", day=a.day.isoformat()))
    return status == "missed" and a.status != "missed"
