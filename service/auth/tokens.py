"""Looking up an API token, cached per process.

Every API call starts with the token: loading the token row and its owner through the ORM cost
more than a third of a small write. The token's scope and owner are kept per process under the
``people`` generation (``service.generations``, ``service.people.snapshots``), which any committed
ORM change to a token (issued, revoked) or to a person (left, new role, HR rights, ...) bumps: a
revoked token or an owner who left is refused on the very next request in every gunicorn or RQ
process.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update

from service import generations
from service.auth.models import ApiToken, hash_token
from service.extensions import db
from service.people.models import Person
from service.people.snapshots import GENERATION, load_people

generations.watch(ApiToken, GENERATION)
# Writing last-use on each call would turn reads into writes; once a minute is enough.
LAST_USED_EVERY_SECONDS = 60


@dataclass
class _Entry:
    token_id: int
    scope: str
    person_id: int
    last_used_at: datetime | None


def _load(token_hash: str) -> _Entry | None:
    """The live token with this hash whose owner is active, or ``None`` (unknown, revoked, left)."""
    row = db.session.execute(
        select(ApiToken.id, ApiToken.scope, ApiToken.person_id, ApiToken.last_used_at)
        .join(Person, Person.id == ApiToken.person_id)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None), Person.left_on.is_(None))).first()
    return None if row is None else _Entry(*row)


def token_owner(clear: str, now: datetime | None = None) -> tuple[Person, str] | None:
    """(owner, scope) of a live token whose owner is active, or ``None``."""
    key = ("token", hash_token(clear))
    cache = generations.cache()
    entry = cache.get(GENERATION, key)
    if entry is None:
        entry = _load(key[1])
        if entry is None:
            return None
        if not generations.pending(db.session, GENERATION):
            cache.put(GENERATION, key, entry)
    now = now or datetime.now(timezone.utc)
    if entry.last_used_at is None or (now - entry.last_used_at).total_seconds() > LAST_USED_EVERY_SECONDS:
        # A Core UPDATE (nothing other processes must hear of), committed before the owner joins
        # the session: the commit would expire it.
        table = ApiToken.__table__
        db.session.execute(update(table).where(table.c.id == entry.token_id).values(last_used_at=now))
        db.session.commit()
        entry.last_used_at = now
    owner = load_people([entry.person_id]).get(entry.person_id)
    if owner is None or not owner.active:  # the snapshot is as current as the token's entry
        return None
    return owner, entry.scope
