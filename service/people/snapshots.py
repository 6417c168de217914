"""People as the ORM loads them, from a per-process snapshot instead of a query.

Every API call loads its caller, and recording a talk loads the people it names: a few rows that
change a few times a year, read on every request. Their rows (and their sections') are kept per
process under the ``people`` generation (``service.generations``), which any committed ORM change
to a person, a section or an API token bumps: a person who left, moved or got other rights is
seen as such on the next request in every process.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from service import generations
from service.extensions import as_loaded, db
from service.people.models import Person, Section

GENERATION = "people"
generations.watch(Person, GENERATION)
generations.watch(Section, GENERATION)

_PERSON_KEYS = tuple(c.key for c in Person.__mapper__.column_attrs)
_SECTION_KEYS = tuple(c.key for c in Section.__mapper__.column_attrs)


def _attach(snapshot: tuple, attach: bool = True) -> Person:
    """The person (and section) of ``snapshot`` in the session, reusing what it already holds;
    ``attach=False``: left out of the session (transient), for reading the columns and the section only."""
    session = db.session
    person_values, section_values = snapshot
    section = None
    if section_values is not None:
        section = session.identity_map.get(identity_key(Section, section_values[0]))
        if section is None:
            section = as_loaded(Section, dict(zip(_SECTION_KEYS, section_values)), attach)
            if attach:
                session.add(section)
    person = as_loaded(Person, dict(zip(_PERSON_KEYS, person_values)), attach, section=section)
    if attach:
        session.add(person)
    return person


def _snapshot(person: Person) -> tuple:
    section = person.section
    return (tuple(getattr(person, k) for k in _PERSON_KEYS),
            None if section is None else tuple(getattr(section, k) for k in _SECTION_KEYS))


def load_people(ids, attach: bool = True) -> dict[int, Person]:
    """The people with these ids that exist, with their sections, as session objects: from the
    session, else from this process's snapshot, else in one query (which refreshes the snapshot).

    ``attach=False``: people taken from the snapshot stay out of the session (adding them cost
    ~0.1 ms a person): their columns and section can be read, nothing else is loaded on access."""
    session = db.session
    cache = generations.cache()
    usable = not generations.pending(session, GENERATION)  # this transaction changes people: read them
    found, missing = {}, []
    for pid in ids:
        person = session.identity_map.get(identity_key(Person, pid))
        if person is None and usable:
            snapshot = cache.get(GENERATION, pid)
            person = _attach(snapshot, attach) if snapshot is not None else None
        if person is None:
            missing.append(pid)
        else:
            found[pid] = person
    if missing:
        for person in session.scalars(select(Person).where(Person.id.in_(missing))).unique():
            found[person.id] = person
            if usable:
                cache.put(GENERATION, person.id, _snapshot(person))
    return found
