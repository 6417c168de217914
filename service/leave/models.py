"""Leave tables: kinds (unit data), the unit's leave settings, requests, and the ledger of signed
entries from which every balance is summed (never a stored balance)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.clock import now_utc
from service.extensions import db
from service.people.models import Person

COUNTING_RULES = ("working_days", "calendar_days")
ACCOUNTS = ("annual", "compensatory")
STATUSES = ("pending", "approved", "rejected", "cancelled")
APPROVER_LEVELS = ("chief", "deputy", "head")
LEDGER_KINDS = ("allocation", "taken", "cancelled", "adjustment", "carry_out", "carry_in", "lapse", "expiry")
# Half days: 0.5 steps up to 9999.5.
Days = Numeric(6, 1)


class LeaveKind(db.Model):
    """A kind of leave and its rules; the defaults come from domain.md, HR edits them."""
    __tablename__ = "leave_kind"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    counting: Mapped[str] = mapped_column(String(16))
    # Counts against annual leave: drawn from it (annual) or towards the cases that cancel it
    # (sick, personal: Regulations art. 4); marriage, home visit... do not (Measures art. 6).
    reduces_annual: Mapped[bool] = mapped_column(default=False)
    needs_approval: Mapped[bool] = mapped_column(default=True)
    max_days: Mapped[Decimal | None] = mapped_column(Days)
    evidence: Mapped[str | None] = mapped_column(String(200))  # what must be shown, or None
    account: Mapped[str | None] = mapped_column(String(16))  # ledger account drawn from, if any
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        CheckConstraint("counting in ('working_days','calendar_days')", name="counting_known"),
        CheckConstraint("account is null or account in ('annual','compensatory')", name="account_known"),
        CheckConstraint("max_days is null or max_days > 0", name="max_days_positive"),
    )


class LeaveSettings(db.Model):
    """The unit's leave policy (one row, id 1; absent means the defaults)."""
    __tablename__ = "leave_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    tier_change_rule: Mapped[str] = mapped_column(String(16), default="next_year")
    carry_over_allowed: Mapped[bool] = mapped_column(default=False)
    carry_over_max_days: Mapped[Decimal | None] = mapped_column(Days)
    carry_over_expiry_month: Mapped[int] = mapped_column(default=12)
    carry_over_expiry_day: Mapped[int] = mapped_column(default=31)
    reminder_month: Mapped[int] = mapped_column(default=9)
    reminder_day: Mapped[int] = mapped_column(default=1)
    approver_chain: Mapped[list] = mapped_column(JSON, default=lambda: ["chief", "deputy"])
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)


class LeaveRequest(db.Model):
    __tablename__ = "leave_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("leave_kind.id"))
    start_date: Mapped[date]
    end_date: Mapped[date]
    starts_afternoon: Mapped[bool] = mapped_column(default=False)
    ends_noon: Mapped[bool] = mapped_column(default=False)
    days: Mapped[Decimal] = mapped_column(Days)
    # Counted on a year whose official calendar was not published yet (weekends only).
    provisional: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str] = mapped_column(String(500), default="")
    evidence: Mapped[str | None] = mapped_column(String(200))
    approver_ids: Mapped[list] = mapped_column(JSON, default=list)  # resolved chain, in order
    step: Mapped[int] = mapped_column(default=0)  # approvals given so far
    decision_note: Mapped[str | None] = mapped_column(String(500))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    kind: Mapped[LeaveKind] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        CheckConstraint("status in ('pending','approved','rejected','cancelled')", name="status_known"),
        Index("ix_leave_request_person_dates", "person_id", "start_date", "end_date"),
    )

    @property
    def current_approver_id(self) -> int | None:
        """Who decides next; None when the chain is done or empty (HR decides then)."""
        if self.status != "pending" or self.step >= len(self.approver_ids or []):
            return None
        return self.approver_ids[self.step]


class LedgerEntryRow(db.Model):
    """One signed movement of days in a person's account (annual or compensatory) of one year."""
    __tablename__ = "leave_ledger_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    account: Mapped[str] = mapped_column(String(16), default="annual")
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    days: Mapped[Decimal] = mapped_column(Days)
    effective_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(300))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("leave_request.id", ondelete="SET NULL"), index=True)
    # System entries carry a key so that a job or a retried request books them once.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    __table_args__ = (
        CheckConstraint("account in ('annual','compensatory')", name="account_known"),
        CheckConstraint("kind in ('allocation','taken','cancelled','adjustment','carry_out',"
                        "'carry_in','lapse','expiry')", name="kind_known"),
        # The balance query: one account and year, all people, summed up to a date.
        Index("ix_leave_ledger_balance", "account", "year", "person_id", "effective_on", "days"),
        # One person's statement (page, allocation, closing the year).
        Index("ix_leave_ledger_person", "person_id", "account", "year"),
    )
