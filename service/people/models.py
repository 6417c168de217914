"""The people register: sections, people, and the effective-dated history of who was where."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, and_, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.clock import now_utc
from service.extensions import db

ROLES = ("head", "deputy", "chief", "staff")
LEADER_ROLES = ("head", "deputy", "chief")
RELATIONS = ("parent", "spouse", "child", "parent_in_law", "sibling", "other")
LANGUAGES = ("zh_CN", "en")


class Section(db.Model):
    __tablename__ = "section"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str | None] = mapped_column(String(120))
    parent_unit: Mapped[str | None] = mapped_column(String(120))
    min_base_staff: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    __table_args__ = (CheckConstraint("min_base_staff >= 0", name="min_base_staff_nonneg"),)


class Person(db.Model):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    # Current values; the history below is the record, these mirror its open row for fast lists.
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id"), index=True)
    post: Mapped[str | None] = mapped_column(String(80))
    rank: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    work_started_on: Mapped[date | None]
    joined_on: Mapped[date | None]
    birthday_calendar: Mapped[str | None] = mapped_column(String(8))  # solar | lunar
    birthday_month: Mapped[int | None]
    birthday_day: Mapped[int | None]
    birthday_leap: Mapped[bool] = mapped_column(default=False)
    celebrations_opt_out: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    left_on: Mapped[date | None]
    rotation_exempt: Mapped[bool] = mapped_column(default=False)
    # Access: HR administrators are named explicitly; leaders follow from the role.
    is_hr_admin: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    section: Mapped[Section | None] = relationship(lazy="joined")
    relatives: Mapped[list["Relative"]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="Relative.id"
    )
    oversights: Mapped[list["Oversight"]] = relationship(
        back_populates="deputy", cascade="all, delete-orphan", order_by="Oversight.id"
    )

    __table_args__ = (
        CheckConstraint("role in ('head','deputy','chief','staff')", name="role_known"),
        CheckConstraint("birthday_calendar is null or birthday_calendar in ('solar','lunar')",
                        name="birthday_calendar_known"),
    )

    @property
    def active(self) -> bool:
        return self.left_on is None

    @property
    def access_role(self) -> str:
        """The access role that permissions are decided on: hr, leader or staff."""
        if self.is_hr_admin:
            return "hr"
        if self.role in LEADER_ROLES and self.active:
            return "leader"
        return "staff"

    def overseen_section_ids(self, on: date) -> set[int]:
        return {o.section_id for o in self.oversights if o.holds_on(on)}

    # Flask-Login
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active and self.password_hash is not None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The hash prefix ends sessions when the password changes.
        return f"{self.id}:{(self.password_hash or '')[-8:]}"


class Posting(db.Model):
    """One row per period in which a person held a section, post and role (valid_to exclusive)."""
    __tablename__ = "posting"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id"), index=True)
    post: Mapped[str | None] = mapped_column(String(80))
    rank: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(String(40))  # hire, move, appointment, rotation, import

    __table_args__ = (CheckConstraint("valid_to is null or valid_to > valid_from", name="period_order"),)


class Oversight(db.Model):
    """A deputy's charge (分管) of a section over a period (valid_to exclusive)."""
    __tablename__ = "oversight"
    id: Mapped[int] = mapped_column(primary_key=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"), index=True)
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]

    deputy: Mapped[Person] = relationship(back_populates="oversights")
    section: Mapped[Section] = relationship(lazy="joined")

    def holds_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


class Relative(db.Model):
    """An immediate relative, for care events (hospital visits)."""
    __tablename__ = "relative"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    relation: Mapped[str] = mapped_column(String(16))

    person: Mapped[Person] = relationship(back_populates="relatives")


def postings_on(on: date):
    """A select of the postings in force on a date: who was in which section, with which role."""
    return select(Posting).where(
        Posting.valid_from <= on, or_(Posting.valid_to.is_(None), Posting.valid_to > on)
    )


def holds_on_clause(model, on: date):
    return and_(model.valid_from <= on, or_(model.valid_to.is_(None), model.valid_to > on))
