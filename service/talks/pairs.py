"""``talk_pair``: the held talks as the cadence core reads them, one row per (talker, talked-to).

The table is derived from ``talk`` and ``talk_participant`` and is kept in step with them in the
same transaction:

* every ORM flush that adds, changes or deletes a talk (its date, kind, status or collective flag)
  or a participant re-derives that talk's pairs (``_after_flush``, registered for every session);
* writes that bypass the ORM (the create-talk path's Core INSERTs, bulk loads) call
  ``sync_pairs`` themselves, before the commit;
* a person's or a talk's deletion removes their pairs by foreign key (ON DELETE CASCADE).

``rebuild_pairs`` (``flask talks rebuild-pairs``) derives the whole table again; the tests compare
the table with the derivation after each write path (tests/test_talks_pairs.py).
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, delete, event, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from service.inserts import RowInsert
from service.talks.models import Talk, TalkPair, TalkParticipant

_CHUNK = 500  # talk ids per statement: well under every driver's parameter limit
_TALK_FIELDS = ("held_on", "kind", "status", "collective")  # what the pairs are made of


def derived_pairs(talk_ids: Iterable[int] | None = None):
    """SELECT of the pairs ``(talk_id, talker_id, talked_to_id, held_on, kind, is_group)`` of held
    talks (of ``talk_ids``, or all of them), straight from talks and participants."""
    talker, talked, others = aliased(TalkParticipant), aliased(TalkParticipant), aliased(TalkParticipant)
    several = (select(func.count()).where(others.talk_id == Talk.id, others.role == "talked_to")
               .correlate(Talk).scalar_subquery() > 1)
    stmt = (select(Talk.id, talker.person_id, talked.person_id, Talk.held_on, Talk.kind,
                   or_(Talk.collective, several).label("is_group"))
            .join(talker, and_(talker.talk_id == Talk.id, talker.role == "talker"))
            .join(talked, and_(talked.talk_id == Talk.id, talked.role == "talked_to"))
            .where(Talk.status == "held"))
    if talk_ids is not None:
        stmt = stmt.where(Talk.id.in_(list(talk_ids)))
    return stmt


_COLUMNS = ("talk_id", "talker_id", "talked_to_id", "held_on", "kind", "is_group")


def sync_pairs(connection, talk_ids: Iterable[int], new: bool = False) -> None:
    """Re-derive the pairs of ``talk_ids`` in the caller's transaction. ``new``: the talks were
    just inserted, so they have no pairs to delete yet."""
    ids = sorted(set(talk_ids))
    table = TalkPair.__table__
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        if not new:
            connection.execute(delete(table).where(table.c.talk_id.in_(chunk)))
        connection.execute(insert(table).from_select(_COLUMNS, derived_pairs(chunk)))


_PAIR_INSERT = RowInsert(TalkPair.__table__, ("talk_id", "talker_id", "talked_to_id", "held_on", "kind", "is_group"))


def new_pairs(collective: bool, talker_ids, talked_to_ids) -> tuple[bool, list[tuple[int, int]]]:
    """(is_group, [(talker, talked-to)]) of a new held talk, from the values at hand: the pairs
    ``sync_pairs`` would derive (tests/test_talks_pairs.py)."""
    talked = list(dict.fromkeys(talked_to_ids))
    return bool(collective) or len(talked) > 1, [(t, p) for t in dict.fromkeys(talker_ids) for p in talked]


def insert_pairs(connection, talk_id: int, held_on, kind: str, pairs: tuple[bool, list[tuple[int, int]]]) -> None:
    """Insert ``new_pairs``' answer for a talk just inserted as held (no SELECT)."""
    is_group, pair_list = pairs
    _PAIR_INSERT.many(connection, [{"talk_id": talk_id, "talker_id": t, "talked_to_id": p, "held_on": held_on,
                                    "kind": kind, "is_group": is_group} for t, p in pair_list])


def rebuild_pairs(connection) -> int:
    """Derive the whole table again (after a bulk load, or to repair it); returns the row count."""
    table = TalkPair.__table__
    connection.execute(delete(table))
    connection.execute(insert(table).from_select(_COLUMNS, derived_pairs()))
    return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _talks_touched(session: Session) -> set[int]:
    touched: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Talk):
            touched.add(obj.id)
        elif isinstance(obj, TalkParticipant):
            touched.add(obj.talk_id)
    for obj in session.deleted:
        if isinstance(obj, TalkParticipant):
            touched.add(obj.talk_id)
        # A deleted talk's pairs go with it (ON DELETE CASCADE).
    for obj in session.dirty:
        if isinstance(obj, Talk):
            state = obj.__dict__.get("_sa_instance_state")
            if state is not None and any(state.attrs[f].history.has_changes() for f in _TALK_FIELDS):
                touched.add(obj.id)
        elif isinstance(obj, TalkParticipant):
            state = obj.__dict__.get("_sa_instance_state")
            touched.add(obj.talk_id)
            if state is not None:  # moved to another talk: the old one loses the pair too
                touched.update(v for v in state.attrs["talk_id"].history.deleted if v is not None)
    touched.discard(None)
    return touched


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context) -> None:
    touched = _talks_touched(session)
    if touched:
        deleted = {obj.id for obj in session.deleted if isinstance(obj, Talk)}
        sync_pairs(session.connection(), touched - deleted)
