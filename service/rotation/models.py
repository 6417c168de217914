"""Rotation tables: plans, HR's pins and forbids, and the postings a plan proposes or approved.

A plan's postings live here while it is planned; approval writes each one into the register
(two ``Posting`` rows: out to the host, back home) and keeps their ids, so the register answers
"who was where" and this table answers "why".
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.clock import now_utc
from service.extensions import db

PLAN_STATUSES = ("draft", "computing", "proposed", "infeasible", "approved")
# Plans HR may still change (pins, forbids, recompute).
OPEN_STATUSES = ("draft", "proposed", "infeasible")
POSTING_STATUSES = ("proposed", "approved", "cancelled")
CONSTRAINT_KINDS = ("pin", "forbid")


class RotationPlan(db.Model):
    __tablename__ = "rotation_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    first_month: Mapped[date]  # first day of the first month
    last_month: Mapped[date]  # first day of the last month
    status: Mapped[str] = mapped_column(String(12), default="draft")
    section_ids: Mapped[list] = mapped_column(JSON, default=list)  # participating sections
    # sends_per_month, host_cap_per_month, min_months_after_joining, long_tenure_years,
    # recent_months, encouraged_pairs [[section, section]], avoid_pairs [[person, person]]
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    # Each compute request bumps the version; a job only stores its result for the version it
    # was queued for, so a job run twice (or an outdated one) changes nothing.
    version: Mapped[int] = mapped_column(default=0)
    job_id: Mapped[str | None] = mapped_column(String(80))
    objective: Mapped[float | None] = mapped_column(Float)
    lower_bound: Mapped[float | None] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # why infeasible
    unfilled: Mapped[list] = mapped_column(JSON, default=list)  # section-months sending < N, why
    conflicts: Mapped[list] = mapped_column(JSON, default=list)  # after approval: what broke
    conflicts_checked_on: Mapped[date | None]
    error: Mapped[str | None] = mapped_column(String(500))
    computed_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    postings: Mapped[list["RotationPosting"]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="RotationPosting.month")
    constraints: Mapped[list["RotationConstraint"]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="RotationConstraint.id")

    __table_args__ = (
        CheckConstraint("status in ('draft','computing','proposed','infeasible','approved')",
                        name="status_known"),
        CheckConstraint("last_month >= first_month", name="months_in_order"),
    )

    def months(self) -> list[date]:
        """First days of the plan's months, in order."""
        out, day = [], self.first_month
        while day <= self.last_month:
            out.append(day)
            day = next_month(day)
        return out


class RotationConstraint(db.Model):
    """HR's pin (this person, this month, this host) or forbid (a None field matches anything)."""
    __tablename__ = "rotation_constraint"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rotation_plan.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id", ondelete="CASCADE"))
    month: Mapped[date | None]
    host_section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    plan: Mapped[RotationPlan] = relationship(back_populates="constraints")

    __table_args__ = (
        CheckConstraint("kind in ('pin','forbid')", name="kind_known"),
        CheckConstraint("person_id is not null or section_id is not null", name="names_someone"),
    )


class RotationPosting(db.Model):
    """One person in one host section for one month of a plan, with the solver's explanation."""
    __tablename__ = "rotation_posting"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rotation_plan.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    home_section_id: Mapped[int] = mapped_column(ForeignKey("section.id"))
    host_section_id: Mapped[int] = mapped_column(ForeignKey("section.id"))
    month: Mapped[date]  # first day of the month
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    pinned: Mapped[bool] = mapped_column(default=False)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    explanation: Mapped[dict] = mapped_column(JSON, default=dict)
    # The register rows approval wrote: out to the host and back home (None when the return
    # coincides with a change the register already had on that day).
    out_posting_id: Mapped[int | None] = mapped_column(ForeignKey("posting.id", ondelete="SET NULL"))
    return_posting_id: Mapped[int | None] = mapped_column(ForeignKey("posting.id", ondelete="SET NULL"))
    cancelled_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    plan: Mapped[RotationPlan] = relationship(back_populates="postings")

    __table_args__ = (
        CheckConstraint("status in ('proposed','approved','cancelled')", name="status_known"),
        Index("ix_rotation_posting_month", "month"),
    )


def next_month(day: date) -> date:
    """First day of the month after ``day``'s month."""
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)
