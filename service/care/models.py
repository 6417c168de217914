"""Care tables: unit settings, hospital cases and visit tasks, the health-check campaign.

Health data (PIPL art. 28-29): an appointment, whether it was attended and a follow-up flag are the
only health facts stored here - never results, diagnoses or notes from the clinic.
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.clock import now_utc
from service.extensions import db
from service.people.models import Person, Relative

VISIT_OUTCOMES = ("visited", "phoned", "proxy")
# Who is told to visit, by the patient's role; each entry is a kind of leader resolved on the day.
VISITOR_KINDS = ("section_chief", "deputy_in_charge", "head", "hr")
DEFAULT_VISIT_RULES = {
    "staff": ["section_chief", "deputy_in_charge"],
    "chief": ["deputy_in_charge"],
    "deputy": ["head"],
    "head": ["hr"],
}
APPOINTMENT_STATUSES = ("unplaced", "booked", "attended", "missed", "follow_up_advised")
SWAP_STATUSES = ("pending", "approved", "rejected")
# Overtime (issue 5, part two): care items by occasion, who provides them, compensatory leave.
DEFAULT_OVERTIME_ITEMS = {"late": ["meal", "transport"], "rest_day": ["meal"], "holiday": ["meal"]}
PROVIDERS = ("logistics", "hr")
CARE_ITEM_STATUSES = ("open", "provided", "cancelled")
EVENT_ACTIONS = ("card", "visit", "condolence")


class CareSettings(db.Model):
    """The unit's care settings: one row (id 1), created with domain.md's defaults on first read."""
    __tablename__ = "care_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    birthday_shift_rule: Mapped[str] = mapped_column(String(24), default="previous_working_day")
    visit_min_stay_days: Mapped[int] = mapped_column(default=7)
    visit_due_days: Mapped[int] = mapped_column(default=3)
    visit_relations: Mapped[list] = mapped_column(JSON, default=lambda: ["parent", "spouse", "child"])
    visit_rules: Mapped[dict] = mapped_column(JSON, default=lambda: dict(DEFAULT_VISIT_RULES))
    allowance_cap_yuan: Mapped[int] = mapped_column(default=300)
    healthcheck_section_share: Mapped[str] = mapped_column(String(16), default="3/10")
    overtime_late_hour: Mapped[int] = mapped_column(default=20)
    overtime_items: Mapped[dict] = mapped_column(JSON, default=lambda: {k: list(v) for k, v in
                                                                       DEFAULT_OVERTIME_ITEMS.items()})
    overtime_provider: Mapped[str] = mapped_column(String(16), default="logistics")
    overtime_comp_hours_per_day: Mapped[int] = mapped_column(default=8)
    overtime_comp_occasions: Mapped[list] = mapped_column(JSON, default=lambda: ["rest_day", "holiday"])
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        CheckConstraint("birthday_shift_rule in ('on_day','previous_working_day')", name="shift_rule_known"),
        CheckConstraint("visit_min_stay_days >= 0 and visit_due_days >= 0 and allowance_cap_yuan >= 0",
                        name="nonneg"),
    )


class HospitalCase(db.Model):
    """A staff member, or one of their immediate relatives, in hospital."""
    __tablename__ = "care_hospital_case"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    relative_id: Mapped[int | None] = mapped_column(ForeignKey("relative.id", ondelete="SET NULL"))
    relative_name: Mapped[str | None] = mapped_column(String(80))  # kept if the relative is edited away
    relation: Mapped[str | None] = mapped_column(String(16))
    admitted_on: Mapped[date]
    discharged_on: Mapped[date | None]
    hospital: Mapped[str] = mapped_column(String(120))
    out_of_town: Mapped[bool] = mapped_column(default=False)
    visit_required: Mapped[bool] = mapped_column(default=True)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    reported_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    relative: Mapped[Relative | None] = relationship()
    tasks: Mapped[list["VisitTask"]] = relationship(back_populates="case", order_by="VisitTask.id")

    __table_args__ = (CheckConstraint("discharged_on is null or discharged_on >= admitted_on",
                                      name="stay_order"),)


class DueTask:
    """A leader's care task with a due date: visits of hospital stays, tasks of life events."""

    def colour(self, today: date) -> str:
        """The red / blue / green scheme: green done, red overdue, blue open within its due date."""
        if self.closed_on is not None:
            return "green"
        return "red" if today > self.due_on else "blue"


class VisitTask(DueTask, db.Model):
    """One leader's task to visit (or phone, or send a proxy to) a hospital case."""
    __tablename__ = "care_visit_task"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("care_hospital_case.id", ondelete="CASCADE"), index=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date]
    outcome: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    allowance_yuan: Mapped[int] = mapped_column(default=0)
    closed_on: Mapped[date | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    case: Mapped[HospitalCase] = relationship(back_populates="tasks")
    leader: Mapped[Person] = relationship(foreign_keys=[leader_id])

    __table_args__ = (
        UniqueConstraint("case_id", "leader_id", name="one_per_leader"),
        CheckConstraint("outcome is null or outcome in ('visited','phoned','proxy')", name="outcome_known"),
        CheckConstraint("allowance_yuan >= 0", name="allowance_nonneg"),
    )


class HealthCheckCampaign(db.Model):
    __tablename__ = "care_hc_campaign"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    year: Mapped[int]
    notice: Mapped[str] = mapped_column(Text, default="")
    section_share: Mapped[str] = mapped_column(String(16), default="3/10")
    # Eligibility: every active person, narrowed by these when set.
    eligible_section_ids: Mapped[list | None] = mapped_column(JSON)
    skip_attended_previous_year: Mapped[bool] = mapped_column(default=False)
    last_run_at: Mapped[datetime | None]
    last_run: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    days: Mapped[list["ClinicDaySlot"]] = relationship(back_populates="campaign", cascade="all, delete-orphan",
                                                       order_by="ClinicDaySlot.day")


class ClinicDaySlot(db.Model):
    """One clinic day of a campaign: places in the morning, the afternoon, or over the whole day."""
    __tablename__ = "care_hc_clinic_day"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("care_hc_campaign.id", ondelete="CASCADE"), index=True)
    day: Mapped[date]
    capacity_am: Mapped[int] = mapped_column(default=0)
    capacity_pm: Mapped[int] = mapped_column(default=0)
    capacity_day: Mapped[int] = mapped_column(default=0)

    campaign: Mapped[HealthCheckCampaign] = relationship(back_populates="days")

    __table_args__ = (
        UniqueConstraint("campaign_id", "day", name="one_per_day"),
        CheckConstraint("capacity_am >= 0 and capacity_pm >= 0 and capacity_day >= 0", name="capacity_nonneg"),
    )

    def capacity(self) -> dict[str, int]:
        return {h: c for h, c in (("AM", self.capacity_am), ("PM", self.capacity_pm),
                                  ("DAY", self.capacity_day)) if c > 0}


class Appointment(db.Model):
    """A person's place in a campaign; no medical content, only attendance and a follow-up flag."""
    __tablename__ = "care_hc_appointment"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("care_hc_campaign.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    day: Mapped[date | None]
    half: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="unplaced")
    unplaced_reason: Mapped[str | None] = mapped_column(String(20))
    window_start: Mapped[date | None]
    window_end: Mapped[date | None]
    preferred_half: Mapped[str | None] = mapped_column(String(3))
    missed_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    person: Mapped[Person] = relationship()
    campaign: Mapped[HealthCheckCampaign] = relationship()

    __table_args__ = (
        UniqueConstraint("campaign_id", "person_id", name="one_per_person"),
        CheckConstraint("status in ('unplaced','booked','attended','missed','follow_up_advised')",
                        name="status_known"),
        CheckConstraint("half is null or half in ('AM','PM','DAY')", name="half_known"),
    )


class SwapRequest(db.Model):
    """A person asks for another slot; HR approves when the slot has room."""
    __tablename__ = "care_hc_swap_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("care_hc_appointment.id", ondelete="CASCADE"),
                                                index=True)
    wanted_day: Mapped[date]
    wanted_half: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    appointment: Mapped[Appointment] = relationship()

    __table_args__ = (CheckConstraint("status in ('pending','approved','rejected')", name="status_known"),)


class OvertimeLog(db.Model):
    """One stretch of overtime of one person. Never deleted: a withdrawal keeps the row (and its
    id, which names its ledger entries) and books the reversal."""
    __tablename__ = "care_overtime"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    day: Mapped[date]
    start_time: Mapped[time | None]
    end_time: Mapped[time | None]
    hours: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    task: Mapped[str] = mapped_column(String(300))
    # The assessment by service.care.overtime_rules at the last change; the ledger holds the credit.
    occasion: Mapped[str | None] = mapped_column(String(12))
    comp_days: Mapped[Decimal] = mapped_column(Numeric(4, 1), default=0)
    provisional: Mapped[bool] = mapped_column(default=False)  # the year's calendar was not published
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decision_note: Mapped[str | None] = mapped_column(String(300))
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    confirmed_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    logged_by: Mapped[Person | None] = relationship(foreign_keys=[logged_by_id])
    items: Mapped[list["CareItem"]] = relationship(back_populates="overtime", order_by="CareItem.id")

    __table_args__ = (
        CheckConstraint("status in ('pending','confirmed','rejected','withdrawn')", name="status_known"),
        CheckConstraint("occasion is null or occasion in ('late','rest_day','holiday')", name="occasion_known"),
        CheckConstraint("hours > 0 and hours <= 24 and comp_days >= 0", name="hours_range"),
    )


class CareItem(db.Model):
    """A meal or a ride home owed for confirmed overtime: open until the provider has given it."""
    __tablename__ = "care_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    overtime_id: Mapped[int] = mapped_column(ForeignKey("care_overtime.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    day: Mapped[date]
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default="open")
    provided_on: Mapped[date | None]
    provided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    overtime: Mapped[OvertimeLog] = relationship(back_populates="items")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])

    __table_args__ = (
        UniqueConstraint("overtime_id", "kind", name="care_item_one_per_kind"),
        CheckConstraint("kind in ('meal','transport')", name="kind_known"),
        CheckConstraint("status in ('open','provided','cancelled')", name="status_known"),
        CheckConstraint("provider in ('logistics','hr')", name="provider_known"),
    )


class LifeEventKind(db.Model):
    """A kind of life event and the care it calls for (unit data: HR adds and edits kinds)."""
    __tablename__ = "care_event_kind"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(12))
    due_days: Mapped[int] = mapped_column(default=7)
    allowance_yuan: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        CheckConstraint("action in ('card','visit','condolence')", name="action_known"),
        CheckConstraint("due_days >= 0 and allowance_yuan >= 0", name="nonneg"),
    )


class LifeEvent(db.Model):
    """A reported life event of a staff member (a wedding, a birth, a death in the family)."""
    __tablename__ = "care_life_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("care_event_kind.id"))
    occurred_on: Mapped[date]
    note: Mapped[str] = mapped_column(String(300), default="")
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    reported_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    kind: Mapped[LifeEventKind] = relationship(lazy="joined")
    tasks: Mapped[list["EventTask"]] = relationship(back_populates="event", order_by="EventTask.id")

    __table_args__ = (UniqueConstraint("person_id", "kind_id", "occurred_on", name="life_event_one_per_day"),)


class EventTask(DueTask, db.Model):
    """One leader's task for a life event: a card, a visit or condolences, due by a date."""
    __tablename__ = "care_event_task"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("care_life_event.id", ondelete="CASCADE"), index=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    due_on: Mapped[date]
    allowance_yuan: Mapped[int] = mapped_column(default=0)  # the kind's allowance when reported
    note: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[date | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    event: Mapped[LifeEvent] = relationship(back_populates="tasks")
    leader: Mapped[Person] = relationship(foreign_keys=[leader_id])

    __table_args__ = (
        UniqueConstraint("event_id", "leader_id", name="event_task_one_per_leader"),
        CheckConstraint("allowance_yuan >= 0", name="allowance_nonneg"),
    )
