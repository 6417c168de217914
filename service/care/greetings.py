"""Birthday greetings: the thin edge over ``birthdays.py`` that loads people and queues emails.

Exactly one greeting per person per birthday year: the outbox dedupe key is
``birthday:<person id>:<year in the birthday's own calendar>`` (``greeting_key``), so a rerun, a
retry or a second scheduler writes nothing new. Each leader gets one note per greeting day listing
every birthday among the people they immediately lead (``birthday-note:<leader id>:<day>``).
"""
from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from service.care.birthdays import Birthday, birthdays_to_greet, greeting_key
from service.care.leaders import immediate_leaders
from service.care.settings import care_settings
from service.extensions import db
from service.outbox import queue_email
from service.people.models import Person
from service.care.availability import unit_working_day

log = logging.getLogger(__name__)


def birthday_of_person(person: Person) -> Birthday | None:
    if not person.birthday_calendar or not person.birthday_month or not person.birthday_day:
        return None
    try:
        return Birthday(person.birthday_calendar, person.birthday_month, person.birthday_day,
                        bool(person.birthday_leap))
    except ValueError:
        log.warning("person %s has an invalid birthday; no greeting", person.id)
        return None


def greet_birthdays(today: date) -> dict:
    """Queue today's greetings and leader notes, and commit. Returns counts of rows written."""
    rule = care_settings().birthday_shift_rule
    people = db.session.scalars(select(Person).where(
        Person.left_on.is_(None), Person.celebrations_opt_out.is_(False),
        Person.birthday_calendar.is_not(None)).order_by(Person.id)).unique().all()
    by_id = {p.id: p for p in people}
    birthdays = [(p.id, b) for p in people if (b := birthday_of_person(p)) is not None]
    birthday_by_id = dict(birthdays)
    due = birthdays_to_greet(birthdays, today, rule, unit_working_day())
    counts = {"greetings": 0, "notes": 0, "due": len(due)}
    team_birthdays: dict[int, list[tuple[Person, date]]] = {}
    leaders: dict[int, Person] = {}
    for person_id, occurrence in due:
        person = by_id[person_id]
        key = greeting_key(person_id, birthday_by_id[person_id], occurrence)
        written = queue_email(person, "care_birthday", "care_birthday", f"birthday:{person_id}:{key.year}",
                              occurrence=occurrence)
        counts["greetings"] += written
        # The note goes with the greeting (same transaction): a birthday year already greeted, on
        # another day or under another shift rule, is not noted again. No address, no card: noted.
        if not written and person.email:
            continue
        for leader in immediate_leaders(person, today):
            leaders[leader.id] = leader
            team_birthdays.setdefault(leader.id, []).append((person, occurrence))
    for leader_id, rows in team_birthdays.items():
        if queue_email(leaders[leader_id], "care_birthday_note", "care_birthday_note",
                       f"birthday-note:{leader_id}:{today.isoformat()}", birthdays=rows, today=today):
            counts["notes"] += 1
    db.session.commit()
    return counts
