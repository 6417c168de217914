"""Rotation postings in the register: a month at the host, then home, without losing later history.

The register's own ``_open_posting`` replaces every row on or after its date (a correction). A
rotation is an interval, not a change: it cuts the month out of whatever rows cover it and puts
back, from the return day, what was in force then. So "who was where on D" answers the host
during the month and the home section (with any later, already-dated change) before and after.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from service import audit
from service.extensions import db
from service.people.models import Person, Posting
from service.people.register import POSTED_FIELDS

OUT_REASON = "rotation"
RETURN_REASON = "rotation_return"


class RegisterConflict(Exception):
    """The register has a change inside the rotation month, which a rotation must not hide."""

    def __init__(self, person_id: int, message: str):
        super().__init__(message)
        self.person_id = person_id
        self.message = message


def _rows(person_id: int) -> list[Posting]:
    return list(db.session.scalars(
        select(Posting).where(Posting.person_id == person_id).order_by(Posting.valid_from)))


def home_posting(person_id: int, day: date) -> Posting | None:
    """The person's home posting on ``day``: the row in force, or, during a rotation, the row in
    force on the return day."""
    rows = _rows(person_id)
    for row in rows:
        if row.valid_from <= day and (row.valid_to is None or day < row.valid_to):
            if row.reason == OUT_REASON and row.valid_to is not None:
                return home_posting(person_id, row.valid_to)
            return row
    return None


def insert_rotation(person: Person, host_section_id: int, start: date, end: date) -> tuple[Posting, Posting | None]:
    """Post ``person`` to the host from ``start`` until before ``end``; home again from ``end``.

    Returns the rotation row and the return row (None when a row of the register already starts
    on ``end``: that dated change is what the person returns to). Raises RegisterConflict when
    the register has nothing in force on ``start`` or a change strictly inside the month.
    """
    rows = _rows(person.id)
    covering = next((r for r in rows if r.valid_from <= start and (r.valid_to is None or start < r.valid_to)), None)
    if covering is None:
        raise RegisterConflict(person.id, f"{person.name} has no posting on {start.isoformat()}.")
    if covering.reason == OUT_REASON:
        raise RegisterConflict(person.id, f"{person.name} is already on rotation on {start.isoformat()}.")
    inside = [r for r in rows if start < r.valid_from < end]
    if inside:
        raise RegisterConflict(person.id, f"{person.name} has a register change on "
                                          f"{inside[0].valid_from.isoformat()}, inside the rotation month.")
    values = {k: getattr(covering, k) for k in POSTED_FIELDS}
    back = None
    if covering.valid_to is None or covering.valid_to > end:
        back = Posting(person_id=person.id, valid_from=end, valid_to=covering.valid_to,
                       reason=RETURN_REASON, **values)
        db.session.add(back)
    if covering.valid_from == start:
        if back is None and covering.reason != RETURN_REASON:
            raise RegisterConflict(person.id, f"{person.name} has a register change lasting exactly "
                                              f"the rotation month from {start.isoformat()}.")
        # A change dated the same day (or the return of last month's rotation) resumes on the
        # return day; undoing the rotation puts the home values back for the month.
        db.session.delete(covering)
    else:
        covering.valid_to = start
    out = Posting(person_id=person.id, valid_from=start, valid_to=end, reason=OUT_REASON,
                  **{**values, "section_id": host_section_id})
    db.session.add(out)
    db.session.flush()
    audit.record("rotation_posting", "person", person.id,
                 {"host_section_id": [None, host_section_id], "from": [None, start.isoformat()],
                  "until": [None, end.isoformat()]})
    return out, back


def remove_rotation(person: Person, out_id: int | None, back_id: int | None, home_section_id: int) -> bool:
    """Undo :func:`insert_rotation` (a cancelled posting): the month is home again and the
    home rows join up where they hold the same values (``back_id`` is kept for the record: the
    return row, when it still exists, is the row after the month).

    Returns False when the rotation row is gone already (the register was corrected since).
    """
    out = db.session.get(Posting, out_id) if out_id else None
    if out is None or out.person_id != person.id or out.reason != OUT_REASON:
        return False
    # The rotation row kept the home post, rank and role; only the section was the host's.
    out.section_id = home_section_id
    out.reason = RETURN_REASON
    rows = _rows(person.id)
    index = next(i for i, r in enumerate(rows) if r.id == out.id)
    after = rows[index + 1] if index + 1 < len(rows) else None
    if after is not None:
        _join(out, after)
    before = rows[index - 1] if index > 0 else None
    if before is not None:
        _join(before, out)
    db.session.flush()
    audit.record("rotation_cancelled", "person", person.id, {"posting": [out_id, None]})
    return True


def _join(first: Posting, second: Posting) -> None:
    """Merge two adjacent home rows holding the same values into the first."""
    if (first.valid_to == second.valid_from and OUT_REASON not in (first.reason, second.reason)
            and all(getattr(first, k) == getattr(second, k) for k in POSTED_FIELDS)):
        first.valid_to = second.valid_to
        db.session.delete(second)
