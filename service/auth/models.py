"""Personal API tokens. Only a hash is stored; the token is shown once when created."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.clock import now_utc
from service.extensions import db

TOKEN_PREFIX = "tc_"


def hash_token(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no salt/stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8), default="read")  # read | write
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    person = relationship("Person", lazy="joined")

    @staticmethod
    def issue(person_id: int, name: str, scope: str) -> tuple["ApiToken", str]:
        """Create a token row and return it with the clear token (to show once)."""
        clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
        return ApiToken(person_id=person_id, name=name, scope=scope, token_hash=hash_token(clear)), clear


class PasswordLink(db.Model):
    """The state of a person's set-password links (welcome and reset): one row per person.

    A link carries ``version``; issuing a new link raises it, so every older link stops working.
    Setting a password ends every link too (links also carry a fragment of the password hash).
    The send times are the per-person limits on how often such emails go out.
    """
    __tablename__ = "password_link"
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]  # last welcome link (on creation or re-sent by HR)
    sent_to: Mapped[str | None] = mapped_column(String(254))
    reset_sent_at: Mapped[datetime | None]  # last self-service reset link
