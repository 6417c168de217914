"""Digest tables: each person's preferences, and the unit's send day and hour (one row)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import now_utc
from service.extensions import db


class DigestPreference(db.Model):
    """A person's choices; no row means the defaults (the weekly email, and a "nothing due" note)."""
    __tablename__ = "digest_preference"
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    weekly_email: Mapped[bool] = mapped_column(default=True)
    nothing_due_note: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)


class DigestSettings(db.Model):
    """The unit's send day (0 = Monday ... 6 = Sunday) and hour, in the unit's timezone."""
    __tablename__ = "digest_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    send_weekday: Mapped[int] = mapped_column(default=0)
    send_hour: Mapped[int] = mapped_column(default=8)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (CheckConstraint("send_weekday >= 0 and send_weekday <= 6 and send_hour >= 0 "
                                      "and send_hour <= 23", name="send_time_range"),)


DEFAULT_PREFERENCE = {"weekly_email": True, "nothing_due_note": True}
DEFAULT_SETTINGS = {"send_weekday": 0, "send_hour": 8}
