"""Life events (a wedding, a new baby, a death in the family): kinds as unit data, a report creates a
task for each responsible leader (the hospital-visit rank rule, ``CareSettings.visit_rules``), due
within the kind's days, red / blue / green like visits, closed by the leader with a note.

The default kinds (结婚 card within 7 days, 生育 visit within 14 days, 丧事 condolence within 3 days,
no allowance) are written on first use; HR edits and extends them over the API.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from service.care.leaders import responsible_leaders
from service.care.models import EventTask, LifeEvent, LifeEventKind
from service.care.visits import CareError, remind_open_tasks
from service.extensions import db
from service.outbox import queue_email
from service.people.models import Person

# (code, name, name_en, action, due_days, allowance_yuan)
DEFAULT_KINDS = (
    ("wedding", "结婚", "Wedding", "card", 7, 0),
    ("birth", "生育", "New baby", "visit", 14, 0),
    ("bereavement", "丧事", "Bereavement", "condolence", 3, 0),
)
ACTION_LABELS = {"card": _l("A card from the leader"), "visit": _l("A visit by the leader"),
                 "condolence": _l("Condolences by the leader")}
MAX_DAYS_BACK = 366
MAX_DAYS_AHEAD = 60  # a wedding is often known ahead


def kind_label(kind: LifeEventKind) -> str:
    """The kind's name in the reader's language (kinds are unit data, named in both)."""
    return kind.name_en if str(get_locale() or "").startswith("en") else kind.name


def action_label(action: str):
    return ACTION_LABELS.get(action, action)


def _mail_context(task: EventTask) -> dict:
    # Lazy labels: rendered in the recipient's language, inside the outbox's force_locale.
    return {"task": task, "event": task.event, "kind_name": LazyString(kind_label, task.event.kind),
            "action_name": action_label(task.action)}


def ensure_kinds() -> None:
    """Write the default kinds if the unit has none yet, in a transaction of their own (a refused
    request that rolls back keeps them); two first requests are settled by the unique code."""
    if db.session.scalar(select(LifeEventKind.id).limit(1)) is not None:
        return
    rows = [dict(code=code, name=name, name_en=name_en, action=action, due_days=due, allowance_yuan=yuan,
                 active=True, position=position)
            for position, (code, name, name_en, action, due, yuan) in enumerate(DEFAULT_KINDS)]
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    with db.engine.begin() as conn:
        conn.execute(insert(LifeEventKind).values(rows).on_conflict_do_nothing(index_elements=["code"]))


def event_kinds(active_only: bool = False) -> list[LifeEventKind]:
    ensure_kinds()
    stmt = select(LifeEventKind).order_by(LifeEventKind.position, LifeEventKind.id)
    if active_only:
        stmt = stmt.where(LifeEventKind.active.is_(True))
    return list(db.session.scalars(stmt))


def report_event(data: dict, person: Person, reporter: Person, today: date, settings) -> LifeEvent:
    """Record a life event of ``person`` and create the leaders' tasks; each leader is told through
    the outbox. The caller commits."""
    ensure_kinds()
    kind = db.session.get(LifeEventKind, data["kind_id"])
    if kind is None or not kind.active:
        raise CareError(422, "kind_id", _("No such kind of life event."))
    if not person.active:
        raise CareError(422, "person_id", _("This person has left the unit."))
    occurred = data["occurred_on"]
    if (today - occurred).days > MAX_DAYS_BACK:
        raise CareError(422, "occurred_on", _("The event is more than a year ago."))
    if (occurred - today).days > MAX_DAYS_AHEAD:
        raise CareError(422, "occurred_on", _("The event is more than %(days)d days ahead.", days=MAX_DAYS_AHEAD))
    if db.session.scalar(select(LifeEvent.id).where(LifeEvent.person_id == person.id, LifeEvent.kind_id == kind.id,
                                                    LifeEvent.occurred_on == occurred)) is not None:
        raise CareError(409, "occurred_on", _("This event was reported already."))
    event = LifeEvent(person=person, kind=kind, occurred_on=occurred, note=data.get("note") or "",
                      reported_by_id=reporter.id, reported_on=today)
    db.session.add(event)
    db.session.flush()
    due = max(today, occurred) + timedelta(days=kind.due_days)
    for leader in responsible_leaders(settings.visit_rules, person, today):
        task = EventTask(event=event, leader=leader, action=kind.action, due_on=due,
                         allowance_yuan=kind.allowance_yuan)
        db.session.add(task)
        db.session.flush()
        queue_email(leader, "care_event_task", "care_event_task", f"event-task:{task.id}", **_mail_context(task))
    return event


def close_event_task(task: EventTask, note: str, actor: Person, today: date) -> EventTask:
    """The leader closes the task with a note of what was done. The caller commits."""
    if task.closed_on is not None:
        raise CareError(409, "note", _("This task is already closed."))
    if not (note or "").strip():
        raise CareError(422, "note", _("Say in a line what was done."))
    task.note, task.closed_on, task.closed_by_id = note.strip(), today, actor.id
    return task


def remind_event_tasks(today: date) -> dict:
    """On working days, remind each leader of every open life-event task due today or overdue (one
    email per task per day), and commit."""
    tasks = db.session.scalars(select(EventTask).where(EventTask.closed_on.is_(None), EventTask.due_on <= today)
                               .order_by(EventTask.id)).all()
    return remind_open_tasks(tasks, today, lambda task: (
        "care_event_reminder", f"event-reminder:{task.id}:{today.isoformat()}",
        {**_mail_context(task), "today": today}))
