"""The weekly fan-out: chunks of people, one transaction per chunk, one outbox row per person-week.

The dedupe key ``weekly:<person_id>:<iso_year>-W<iso_week>`` makes the run idempotent: a restarted,
repeated or duplicated scheduler finds the rows already written (skipped before any loading) or,
racing another run, loses the insert to the unique key. Either way each person gets one email.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from service.care.availability import unit_working_day
from service.digest.content import build_digest
from service.digest.loading import load_week, person_views
from service.digest.preferences import digest_settings, preferences_of
from service.digest.schedule import is_send_time, iso_week_label, week_start
from service.extensions import db
from service.outbox import queue_emails
from service.outbox.models import OutboxMessage
from service.people.models import Person

CHUNK_SIZE = 500


def weekly_key(person_id: int, day: date) -> str:
    return f"weekly:{person_id}:{iso_week_label(day)}"


def send_weekly_digests(day: date, hour: int | None = None, chunk_size: int = CHUNK_SIZE) -> dict:
    """On the week's send day at or after the send hour, queue everyone's weekly email.

    ``hour`` None means a deliberate run for ``day`` (a catch-up): only the day is checked."""
    counts = {"queued": 0, "already": 0, "opted_out": 0, "nothing_due": 0, "chunks": 0}
    settings = digest_settings()
    working = unit_working_day()
    if not is_send_time(day, settings.send_hour if hour is None else hour, settings.send_weekday,
                        settings.send_hour, working):
        return {**counts, "skipped": "not the send time"}
    monday = week_start(day)
    run: dict = {}  # what lasts across chunks (the unit's talk obligations, streamed)
    hr_later: list[int] = []  # HR's unit summary counts every leader: their emails come last
    last_id = 0
    while True:
        people = db.session.scalars(select(Person).where(
            Person.id > last_id, Person.left_on.is_(None), Person.email.is_not(None))
            .order_by(Person.id).limit(chunk_size)).unique().all()
        if not people:
            break
        last_id = people[-1].id
        counts["chunks"] += 1
        keys = {weekly_key(p.id, day): p for p in people}
        done = set(db.session.scalars(select(OutboxMessage.dedupe_key)
                                      .where(OutboxMessage.dedupe_key.in_(list(keys)))))
        counts["already"] += len(done)
        todo = [p for key, p in keys.items() if key not in done]
        prefs = preferences_of([p.id for p in todo])
        counts["opted_out"] += sum(1 for p in todo if not prefs[p.id].weekly_email)
        todo = [p for p in todo if prefs[p.id].weekly_email]
        hr_later.extend(p.id for p in todo if p.access_role == "hr")
        _queue_chunk([p for p in todo if p.access_role != "hr"], prefs, day, monday, run, counts)
        db.session.commit()  # one transaction per chunk: a crash keeps the chunks already written
    if hr_later:
        people = db.session.scalars(select(Person).where(Person.id.in_(hr_later)).order_by(Person.id)).unique().all()
        _queue_chunk(people, preferences_of(hr_later), day, monday, run, counts)
        db.session.commit()
    return counts


def _queue_chunk(todo: list[Person], prefs: dict, day: date, monday: date, run: dict, counts: dict) -> None:
    """Build and queue the emails of ``todo`` (people who want one and have none this week yet)."""
    if not todo:
        return
    views = person_views(todo, day)
    data = load_week(views, monday, day, run)
    emails = []
    for person, view in zip(todo, views):
        digest = build_digest(view, monday, data)
        if digest.empty and not prefs[person.id].nothing_due_note:
            counts["nothing_due"] += 1
            continue
        emails.append((person, "weekly", "weekly", weekly_key(person.id, day), {"digest": digest}))
    written = queue_emails(emails)  # one statement per chunk; a racing run's rows win
    counts["queued"] += written
    counts["already"] += len(emails) - written
