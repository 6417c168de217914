"""The unit's talk settings and talk kinds, cached per process.

They are read by nearly every talk request (the kind of a new talk, who may read content) and
changed by HR a few times a year. A snapshot is kept under the ``talk_config`` generation
(``service.generations``), bumped by any committed ORM change to the settings or the kinds, so an
edit takes effect on the next request in every process. ``loading.talk_settings`` and the
``kind_*`` helpers read it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from service import generations
from service.extensions import db
from service.talks.models import TalkKind, TalkSettings

generations.watch(TalkSettings, "talk_config")
generations.watch(TalkKind, "talk_config")


@dataclass(frozen=True)
class SettingsSnapshot:
    """The settings row as read (the same attribute names as ``TalkSettings``), read-only."""

    id: int
    discipline_role_name: str | None
    discipline_reader_ids: tuple
    max_talks_per_day: int
    due_soon_days: int
    updated_at: datetime | None


@dataclass(frozen=True)
class KindSnapshot:
    id: int
    code: str
    name: str
    name_en: str | None
    active: bool


@dataclass(frozen=True)
class TalkConfiguration:
    settings: SettingsSnapshot
    kinds: tuple[KindSnapshot, ...]  # in id order
    active_codes: frozenset[str]


def cached() -> TalkConfiguration | None:
    """The snapshot, if this process holds a current one and this transaction changes neither."""
    if generations.pending(db.session, "talk_config"):
        return None
    return generations.cache().get("talk_config", None)


def remember(row: TalkSettings) -> TalkConfiguration | None:
    """Snapshot ``row`` (as stored: not seeded nor changed in this transaction) and the kinds."""
    if generations.pending(db.session, "talk_config"):
        return None
    kinds = tuple(KindSnapshot(*r) for r in db.session.execute(
        select(TalkKind.id, TalkKind.code, TalkKind.name, TalkKind.name_en, TalkKind.active).order_by(TalkKind.id)))
    config = TalkConfiguration(
        SettingsSnapshot(row.id, row.discipline_role_name, tuple(row.discipline_reader_ids or ()),
                         row.max_talks_per_day, row.due_soon_days, row.updated_at),
        kinds, frozenset(k.code for k in kinds if k.active))
    generations.cache().put("talk_config", None, config)
    return config
