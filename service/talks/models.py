"""Talk tables: talks with their participants, content versions, sign-offs, attachments and
follow-ups; talk kinds, cadence rules, trigger rules and triggers as data; the unit's talk settings.

Confidential content (topic aside) lives only in ``talk_version`` and ``talk_attachment``: whatever
reads those rows must go through ``service.talks.access`` (permission + audit).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON, CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.clock import now_utc
from service.extensions import db
from service.people.models import Person

PARTICIPANT_ROLES = ("talker", "talked_to", "recorder", "present")
TALK_STATUSES = ("held", "scheduled")
CONTENT_FIELDS = ("outline", "content", "views", "attitude", "follow_up_text")


class TalkSettings(db.Model):
    """One row (id 1): which people (a discipline-inspection role, 纪检) may read all content."""
    __tablename__ = "talk_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    discipline_role_name: Mapped[str | None] = mapped_column(String(80))
    discipline_reader_ids: Mapped[list] = mapped_column(JSON, default=list)
    max_talks_per_day: Mapped[int] = mapped_column(default=3)
    due_soon_days: Mapped[int] = mapped_column(default=5)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (CheckConstraint("max_talks_per_day >= 1 and due_soon_days >= 0", name="limits"),)


class TalkKind(db.Model):
    """A kind of talk (routine, integrity, ...): data, so HR can add the unit's own."""
    __tablename__ = "talk_kind"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)


class CadenceRuleRow(db.Model):
    """A cadence rule as data (see ``cadence.CadenceRule``)."""
    __tablename__ = "talk_cadence_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    talker_selector: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(24))
    roles: Mapped[list | None] = mapped_column(JSON)
    frequency: Mapped[str] = mapped_column(String(16))
    n_weeks: Mapped[int | None]
    kinds: Mapped[list] = mapped_column(JSON)
    grace_days: Mapped[int] = mapped_column(default=0)
    collective_allowed: Mapped[bool] = mapped_column(default=False)
    anchor: Mapped[date | None]
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (CheckConstraint("grace_days >= 0", name="grace_nonneg"),
                      CheckConstraint("valid_to is null or valid_from is null or valid_to > valid_from",
                                      name="period_order"))


class TriggerRuleRow(db.Model):
    """A must-talk (必谈) rule as data (see ``cadence.TriggerRule``)."""
    __tablename__ = "talk_trigger_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    event: Mapped[str] = mapped_column(String(40))
    talker_selector: Mapped[str] = mapped_column(String(24))
    kinds: Mapped[list] = mapped_column(JSON)
    deadline_days: Mapped[int] = mapped_column(default=7)
    collective_allowed: Mapped[bool] = mapped_column(default=False)
    window_before_days: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (CheckConstraint("deadline_days >= 0 and window_before_days >= 0", name="days_nonneg"),)


class TalkTrigger(db.Model):
    """An event recorded by HR that calls for a talk (penalty, award, ...). Appointments, moves,
    rotations and hospital stays are read from their own tables, not copied here."""
    __tablename__ = "talk_trigger"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    on: Mapped[date]
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class Talk(db.Model):
    """A heart-to-heart talk: who, when, where, what kind (metadata anyone with oversight sees).
    The confidential content is in its versions."""
    __tablename__ = "talk"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(16), default="held")
    # The unit's local time, to the minute; indexed for "the latest talks" lists.
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), index=True)
    held_on: Mapped[date] = mapped_column(index=True)  # the day, for cadence and filters
    duration_minutes: Mapped[int]
    place: Mapped[str] = mapped_column(String(120))
    topic: Mapped[str] = mapped_column(String(200))
    collective: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    participants: Mapped[list["TalkParticipant"]] = relationship(
        back_populates="talk", cascade="all, delete-orphan", order_by="TalkParticipant.id")
    versions: Mapped[list["TalkVersion"]] = relationship(
        back_populates="talk", cascade="all, delete-orphan", order_by="TalkVersion.number")
    signoffs: Mapped[list["TalkSignoff"]] = relationship(
        cascade="all, delete-orphan", order_by="TalkSignoff.id")
    attachments: Mapped[list["TalkAttachment"]] = relationship(
        cascade="all, delete-orphan", order_by="TalkAttachment.id")
    follow_ups: Mapped[list["FollowUp"]] = relationship(
        back_populates="talk", cascade="all, delete-orphan", order_by="FollowUp.id")

    __table_args__ = (
        CheckConstraint("status in ('held','scheduled')", name="status_known"),
        CheckConstraint("duration_minutes >= 1 and duration_minutes <= 1440", name="duration_range"),
    )

    def ids(self, role: str) -> list[int]:
        return [p.person_id for p in self.participants if p.role == role]

    def people(self, role: str) -> list[Person]:
        return [p.person for p in self.participants if p.role == role]

    @property
    def current(self) -> "TalkVersion":
        return next(v for v in self.versions if v.number == self.version)

    def signed_by(self, number: int | None = None) -> set[int]:
        number = number or self.version
        return {s.person_id for s in self.signoffs if s.version_number == number}

    @property
    def signed(self) -> bool:
        """Every talked-to person has signed the current version."""
        return set(self.ids("talked_to")) <= self.signed_by()


class TalkParticipant(db.Model):
    __tablename__ = "talk_participant"
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    talk: Mapped[Talk] = relationship(back_populates="participants")
    person: Mapped[Person] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("talk_id", "person_id", "role", name="one_role_each"),
        CheckConstraint("role in ('talker','talked_to','recorder','present')", name="role_known"),
        # A leader's own talks (cadence, dashboards) without touching the talk rows of others.
        Index("ix_talk_participant_person_role_talk", "person_id", "role", "talk_id"),
    )


class TalkPair(db.Model):
    """One (talker, talked-to) pair of a held talk: derived from ``talk`` and ``talk_participant``
    and kept in step with them in the same transaction (``service.talks.pairs``), never edited
    on its own. It is the talks as the cadence core reads them: a year of the unit's talks is one
    range scan of this table instead of a join of talks with their participants.
    ``flask talks rebuild-pairs`` derives it again from scratch."""
    __tablename__ = "talk_pair"
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    talker_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    talked_to_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    held_on: Mapped[date]
    kind: Mapped[str] = mapped_column(String(40))
    # A collective talk, or one with several talked-to people (cadence rules may refuse them).
    is_group: Mapped[bool]

    __table_args__ = (
        Index("ix_talk_pair_held_on_talk", "held_on", "talk_id"),  # the unit's talks of a period
        Index("ix_talk_pair_talker_held_on", "talker_id", "held_on"),  # one leader's, or a group's
        Index("ix_talk_pair_talked_to", "talked_to_id"),  # a person's deletion (FK cascade)
    )


class TalkVersion(db.Model):
    """The confidential content of a talk, one row per version (an edit after sign-off adds one)."""
    __tablename__ = "talk_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    outline: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    views: Mapped[str] = mapped_column(Text, default="")  # views, suggestions, difficulties raised
    attitude: Mapped[str] = mapped_column(Text, default="")
    follow_up_text: Mapped[str] = mapped_column(Text, default="")
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    talk: Mapped[Talk] = relationship(back_populates="versions")

    __table_args__ = (UniqueConstraint("talk_id", "number", name="one_number_each"),)

    def content_dict(self) -> dict:
        return {name: getattr(self, name) for name in CONTENT_FIELDS}


class TalkSignoff(db.Model):
    """A talked-to person's acknowledgement of one version of the record."""
    __tablename__ = "talk_signoff"
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int]
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    signed_at: Mapped[datetime] = mapped_column(default=now_utc)

    __table_args__ = (UniqueConstraint("talk_id", "version_number", "person_id", name="one_signoff_each"),)


class TalkAttachment(db.Model):
    """A scan or photo kept with the record (PDF, JPEG, PNG; checked by content)."""
    __tablename__ = "talk_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class FollowUp(db.Model):
    """A follow-up item from a talk: an owner, a due date, done or not (red/blue/green)."""
    __tablename__ = "talk_follow_up"
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(String(500))
    due_on: Mapped[date]
    done_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    talk: Mapped[Talk] = relationship(back_populates="follow_ups")
    owner: Mapped[Person] = relationship(lazy="joined")

    def colour(self, today: date) -> str:
        if self.done_on is not None:
            return "green"
        return "red" if today > self.due_on else "blue"


class IcalFeed(db.Model):
    """A leader's secret iCal feed URL (metadata only); revoking deletes the row."""
    __tablename__ = "talk_ical_feed"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


# Keeps talk_pair in step with talks and participants on every ORM flush, wherever the models are used.
from service.talks import pairs as _pairs  # noqa: E402,F401
