"""Who leads whom on a given day, for care notes and visit tasks."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from service.extensions import db
from service.people.models import Oversight, Person, holds_on_clause


def _active(stmt):
    return db.session.scalars(stmt.where(Person.left_on.is_(None)).order_by(Person.id)).unique().all()


def leaders_of_kind(kind: str, person: Person, on: date) -> list[Person]:
    """The leaders of one kind (section_chief, deputy_in_charge, head, hr) for ``person`` on ``on``."""
    if kind == "section_chief":
        if person.section_id is None:
            return []
        found = _active(select(Person).where(Person.role == "chief", Person.section_id == person.section_id))
    elif kind == "deputy_in_charge":
        if person.section_id is None:
            return []
        found = _active(select(Person).join(Oversight, Oversight.deputy_id == Person.id).where(
            Person.role == "deputy", Oversight.section_id == person.section_id, holds_on_clause(Oversight, on)))
    elif kind == "head":
        found = _active(select(Person).where(Person.role == "head"))
    elif kind == "hr":
        found = _active(select(Person).where(Person.is_hr_admin.is_(True)))
    else:
        raise ValueError(f"unknown leader kind {kind!r}")
    return [p for p in found if p.id != person.id]


def responsible_leaders(rules: dict, person: Person, on: date) -> list[Person]:
    """The leaders a care task goes to by the unit's rank rule (``rules``: role -> kinds); HR when the
    rule names nobody who exists, so that no case is forgotten."""
    found: dict[int, Person] = {}
    for kind in rules.get(person.role, []):
        for leader in leaders_of_kind(kind, person, on):
            found.setdefault(leader.id, leader)
    if not found:
        for leader in leaders_of_kind("hr", person, on):
            found.setdefault(leader.id, leader)
    return list(found.values())


_LINE = {"staff": ("section_chief", "deputy_in_charge", "head"), "chief": ("deputy_in_charge", "head"),
         "deputy": ("head",), "head": ()}


def immediate_leaders(person: Person, on: date) -> list[Person]:
    """The first level above ``person`` that has someone in it (chief, then deputy in charge, then
    head); the head has none."""
    for kind in _LINE.get(person.role, ()):
        found = leaders_of_kind(kind, person, on)
        if found:
            return found
    return []
