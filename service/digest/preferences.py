"""Each person's digest preferences and the unit's send time; reads never write (defaults answer)."""
from __future__ import annotations

from sqlalchemy import select

from service.digest.models import DEFAULT_PREFERENCE, DEFAULT_SETTINGS, DigestPreference, DigestSettings
from service.extensions import db


def preference_of(person_id: int, for_update: bool = False) -> DigestPreference:
    row = db.session.get(DigestPreference, person_id)
    if row is None:
        row = DigestPreference(person_id=person_id, **DEFAULT_PREFERENCE)
        if for_update:
            db.session.add(row)
    return row


def preferences_of(person_ids: list[int]) -> dict[int, DigestPreference]:
    """The chunk's preferences in one query; people without a row get the defaults."""
    found = {p.person_id: p for p in db.session.scalars(
        select(DigestPreference).where(DigestPreference.person_id.in_(person_ids)))} if person_ids else {}
    return {pid: found.get(pid) or DigestPreference(person_id=pid, **DEFAULT_PREFERENCE) for pid in person_ids}


def digest_settings(for_update: bool = False) -> DigestSettings:
    row = db.session.get(DigestSettings, 1)
    if row is None:
        row = DigestSettings(id=1, **DEFAULT_SETTINGS)
        if for_update:
            db.session.add(row)
    return row
