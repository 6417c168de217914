"""Hospital visits: a report creates visit tasks for the responsible leaders; they close them.

Unit settings (``CareSettings``): which relatives count (visit_relations), the shortest stay that is
visited (visit_min_stay_days; an open-ended stay is visited), the days allowed (visit_due_days), the
rank rule (visit_rules) and the yearly allowance cap per staff member (allowance_cap_yuan).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from service.care.leaders import responsible_leaders
from service.care.models import HospitalCase, VisitTask
from service.errors import DomainError
from service.extensions import db
from service.labels import relation_label
from service.outbox import queue_email
from service.people.models import Person, Relative
from service.care.availability import unit_working_day


class CareError(DomainError):
    """A rejected care request: HTTP status, the field at fault, a message for a person."""

    def __init__(self, status: int, field: str, message: str):
        super().__init__(message, status=status, field=field)


def visit_required(settings, admitted_on: date, discharged_on: date | None) -> bool:
    """The unit rule: a stay of at least ``visit_min_stay_days`` days (or still open) is visited."""
    if discharged_on is None:
        return True
    return (discharged_on - admitted_on).days + 1 >= settings.visit_min_stay_days


def report_case(data: dict, person: Person, reporter: Person, today: date, settings) -> HospitalCase:
    """Record a hospital stay of ``person`` (or their relative ``data['relative_id']``) and create the
    visit tasks; emails go to the leaders through the outbox. The caller commits."""
    relative = None
    if data.get("relative_id") is not None:
        relative = db.session.get(Relative, data["relative_id"])
        if relative is None or relative.person_id != person.id:
            raise CareError(422, "relative_id", _("This relative is not in the register for this person."))
        if relative.relation not in settings.visit_relations:
            raise CareError(422, "relative_id",
                            _("A %(relation)s is not an immediate relative under the unit's rule (%(relations)s).",
                              relation=relation_label(relative.relation),
                              relations=", ".join(relation_label(r) for r in settings.visit_relations)))
    discharged = data.get("discharged_on")
    if discharged is not None and discharged < data["admitted_on"]:
        raise CareError(422, "discharged_on", _("Discharge cannot be before admission."))
    if data["admitted_on"] > today + timedelta(days=60):
        raise CareError(422, "admitted_on", _("Admission is more than 60 days ahead."))
    if not person.active:
        raise CareError(422, "person_id", _("This person has left the unit."))
    case = HospitalCase(person=person, relative=relative, relative_name=relative.name if relative else None,
                        relation=relative.relation if relative else None, admitted_on=data["admitted_on"],
                        discharged_on=discharged, hospital=data["hospital"],
                        out_of_town=data.get("out_of_town", False), reported_by_id=reporter.id,
                        reported_on=today)
    case.visit_required = visit_required(settings, case.admitted_on, discharged)
    db.session.add(case)
    db.session.flush()
    if case.visit_required:
        due = max(today, case.admitted_on) + timedelta(days=settings.visit_due_days)
        for leader in responsible_leaders(settings.visit_rules, person, today):
            task = VisitTask(case=case, leader=leader, due_on=due)
            db.session.add(task)
            db.session.flush()
            queue_email(leader, "care_visit_task", "care_visit_task", f"visit-task:{task.id}", task=task,
                        case=case)
    return case


def allowance_given(person_id: int, year: int, exclude_task_id: int | None = None) -> int:
    stmt = (select(func.coalesce(func.sum(VisitTask.allowance_yuan), 0))
            .join(HospitalCase, HospitalCase.id == VisitTask.case_id)
            .where(HospitalCase.person_id == person_id, VisitTask.closed_on.is_not(None),
                   VisitTask.closed_on >= date(year, 1, 1), VisitTask.closed_on <= date(year, 12, 31)))
    if exclude_task_id is not None:
        stmt = stmt.where(VisitTask.id != exclude_task_id)
    return int(db.session.scalar(stmt))


def close_task(task: VisitTask, data: dict, actor: Person, today: date, settings) -> VisitTask:
    """Close a visit task with its outcome, note and allowance; the yearly cap per staff member is
    checked under a lock on that person's row, so two closings cannot both pass it. Caller commits."""
    if task.closed_on is not None:
        raise CareError(409, "outcome", _("This visit is already closed."))
    outcome = data["outcome"]
    if outcome != "visited" and not task.case.out_of_town:
        raise CareError(422, "outcome", _("A phone call or a proxy is only allowed for an out-of-town stay."))
    allowance = data.get("allowance_yuan", 0)
    # Serialise closings for the same staff member (PostgreSQL row lock; SQLite has one writer).
    db.session.execute(select(Person.id).where(Person.id == task.case.person_id).with_for_update())
    given = allowance_given(task.case.person_id, today.year)
    cap = settings.allowance_cap_yuan
    if allowance and given + allowance > cap:
        raise CareError(409, "allowance_yuan",
                        _("The yearly allowance cap of %(cap)s yuan per person would be exceeded: "
                          "%(given)s yuan already given in %(year)d, %(left)s left.",
                          cap=cap, given=given, year=today.year, left=max(cap - given, 0)))
    task.outcome, task.note, task.allowance_yuan = outcome, data.get("note") or None, allowance
    task.closed_on, task.closed_by_id = today, actor.id
    return task


def remind_visits(today: date) -> dict:
    """On working days, remind each leader of every open task due today or overdue (one email per task
    per day, by its dedupe key), and commit."""
    if not unit_working_day()(today):
        return {"reminders": 0}
    tasks = db.session.scalars(select(VisitTask).where(VisitTask.closed_on.is_(None), VisitTask.due_on <= today)
                               .order_by(VisitTask.id)).all()
    return remind_open_tasks(tasks, today, lambda task: (
        "care_visit_reminder", f"visit-reminder:{task.id}:{today.isoformat()}",
        {"task": task, "case": task.case, "today": today}))


def remind_open_tasks(tasks, today: date, email_of) -> dict:
    """Remind the leader of each open task (visits, life events) through the outbox on a working
    day; ``email_of(task)`` gives (template, dedupe key, context). Commits."""
    counts = {"reminders": 0}
    if not unit_working_day()(today):
        return counts
    for task in tasks:
        if not task.leader.active:
            continue
        template, key, context = email_of(task)
        if queue_email(task.leader, template, template, key, **context):
            counts["reminders"] += 1
    db.session.commit()
    return counts
