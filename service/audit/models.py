"""The audit log: who changed what, when, from where; and who read confidential content."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import now_utc
from service.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    via: Mapped[str] = mapped_column(String(16))  # web | api | job | cli
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # create | update | delete | read | login | ...
    resource: Mapped[str] = mapped_column(String(32), index=True)
    resource_id: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict | None] = mapped_column(JSON)
