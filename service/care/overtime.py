"""Overtime in the database: logging, editing, withdrawing, confirming; the care items it earns and
its compensatory leave on the leave ledger. The rules are in :mod:`service.care.overtime_rules`.

Idempotency: a record's ledger entries carry the keys ``overtime:<id>:<n>`` (n = entries booked
before it); the credit wanted in the record's current state is compared with the sum already
booked under its keys and only the difference is booked. Running it again books nothing; two
concurrent runs collide on the same key instead of booking twice. Care items are one per record
and kind (a unique constraint), reopened or cancelled as the record changes.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from service.auth.permissions import leads
from service.care import overtime_rules as rules
from service.care.leaders import immediate_leaders
from service.care.models import CareItem, OvertimeLog
from service.care.settings import overtime_rules
from service.care.visits import CareError
from service.extensions import db
from service.leave.ledger import book
from service.leave.models import LedgerEntryRow
from service.outbox import queue_email
from service.people.models import Person
from service.workdays.official import day_info

COMPENSATORY = "compensatory"
MAX_DAYS_BACK = 366
MAX_DAYS_AHEAD = 14  # planned overtime, so that the canteen can prepare


def _unit_day_info(day: date):
    try:
        from service.workdays.overrides import unit_overrides
    except ImportError:  # the override table is optional: the official calendar alone
        return day_info(day)
    return day_info(day, unit_overrides())


def may_confirm(actor: Person, person: Person) -> bool:
    """A leader in a line above the person confirms their overtime (see overtime_rules)."""
    return leads(actor, person)


def has_leader(person: Person, on: date) -> bool:
    return bool(immediate_leaders(person, on))


def _check(data: dict, today: date) -> None:
    day = data["day"]
    if (today - day).days > MAX_DAYS_BACK:
        raise CareError(422, "day", _("Overtime more than a year ago cannot be logged."))
    if (day - today).days > MAX_DAYS_AHEAD:
        raise CareError(422, "day", _("Overtime can be logged at most %(days)d days ahead.", days=MAX_DAYS_AHEAD))


def _assessed(data: dict, settings) -> dict:
    """The record's columns from ``data`` (day, times or hours, task) and the rules' assessment;
    nothing is set on a row until all of it is known (a query would flush a half-made row)."""
    info = _unit_day_info(data["day"])
    start, end = data.get("start_time"), data.get("end_time")
    try:
        found = rules.assess(rules.day_kind(info.working, info.reason), start, end,
                             data.get("hours"), overtime_rules(settings))
    except ValueError as exc:
        field = str(exc)
        message = {"start_time": _("Give the start time with the end time."),
                   "end_time": _("Give an end time at least half an hour after the start."),
                   }.get(field, _("Give either the hours, or the start and end times."))
        raise CareError(422, field, message) from None
    return {"day": data["day"], "start_time": start, "end_time": end, "task": data["task"], "hours": found.hours,
            "occasion": found.occasion, "comp_days": found.comp_days, "provisional": info.provisional}


def log_overtime(data: dict, person: Person, actor: Person, today: date, settings) -> OvertimeLog:
    """Record overtime of ``person`` logged by ``actor``; a leader's log is confirmed at once (with
    its care items and credit), the person's own goes to their leader. The caller commits."""
    if not person.active:
        raise CareError(422, "person_id", _("This person has left the unit."))
    _check(data, today)
    values = _assessed(data, settings)
    status = rules.status_when_logged(may_confirm(actor, person), has_leader(person, today))
    ot = OvertimeLog(person=person, logged_by_id=actor.id, status=status, **values)
    if ot.status == rules.CONFIRMED:
        ot.confirmed_by_id, ot.confirmed_on = actor.id, today
    db.session.add(ot)
    db.session.flush()
    settle(ot, actor, today, settings)
    return ot


def edit_overtime(ot: OvertimeLog, data: dict, actor: Person, today: date, settings) -> OvertimeLog:
    """Change a record: it is assessed again, its items and credit follow (an edit by the person
    sends a confirmed record back to their leader). The caller commits."""
    _lock(ot)
    if ot.status == rules.WITHDRAWN:
        raise CareError(409, "status", _("This overtime was withdrawn."))
    merged = {"day": ot.day, "start_time": ot.start_time, "end_time": ot.end_time,
              "hours": None if ot.start_time or ot.end_time else ot.hours, "task": ot.task}
    if {"start_time", "end_time"} & set(data) and "hours" not in data:
        merged["hours"] = None  # times given: they replace the hours
    if "hours" in data and not ({"start_time", "end_time"} & set(data)):
        merged["start_time"] = merged["end_time"] = None  # hours given: they replace the times
    merged.update(data)
    if merged["task"] is None:
        raise CareError(422, "task", _("Say what the overtime was for."))
    _check(merged, today)
    values = _assessed(merged, settings)
    by_leader = may_confirm(actor, ot.person)
    status = rules.status_after_edit(ot.status, by_leader, has_leader(ot.person, today))
    if all(getattr(ot, key) == value for key, value in values.items()):
        status = ot.status  # nothing changed: nothing to confirm again
    for key, value in values.items():
        setattr(ot, key, value)
    if status != ot.status:
        ot.status = status
        if status == rules.CONFIRMED:
            ot.confirmed_by_id, ot.confirmed_on = actor.id, today
        else:
            ot.confirmed_by_id = ot.confirmed_on = None
    settle(ot, actor, today, settings)
    return ot


def withdraw_overtime(ot: OvertimeLog, actor: Person, today: date, settings) -> OvertimeLog:
    """Withdraw a record: the credit is reversed, open care items cancelled. The caller commits."""
    _lock(ot)
    if ot.status == rules.WITHDRAWN:
        raise CareError(409, "status", _("This overtime was withdrawn already."))
    ot.status = rules.WITHDRAWN
    settle(ot, actor, today, settings)
    return ot


def decide_overtime(ot: OvertimeLog, confirm: bool, note: str, actor: Person, today: date, settings) -> OvertimeLog:
    """The leader confirms (items and credit follow) or rejects a pending record. The caller commits."""
    _lock(ot)
    if ot.status != rules.PENDING:
        raise CareError(409, "confirm", _("Only overtime waiting for confirmation can be decided."))
    ot.status = rules.CONFIRMED if confirm else rules.REJECTED
    ot.decision_note = note or None
    if confirm:
        ot.confirmed_by_id, ot.confirmed_on = actor.id, today
    settle(ot, actor, today, settings)
    return ot


def _lock(ot: OvertimeLog) -> None:
    # Serialise changes of one record (PostgreSQL row lock; SQLite has one writer).
    db.session.execute(select(OvertimeLog.id).where(OvertimeLog.id == ot.id).with_for_update())
    db.session.refresh(ot)


def settle(ot: OvertimeLog, actor: Person | None, today: date, settings) -> dict:
    """Bring the care items and the ledger in line with the record's state; idempotent."""
    items = rules.care_items(ot.occasion, overtime_rules(settings)) if ot.status == rules.CONFIRMED else ()
    existing = {i.kind: i for i in ot.items}
    create, reopen, cancel = rules.item_changes(items, {k: i.status for k, i in existing.items()})
    for kind in create:
        db.session.add(CareItem(overtime=ot, person_id=ot.person_id, kind=kind, day=ot.day,
                                provider=settings.overtime_provider, status="open"))
    for kind in reopen:
        existing[kind].status, existing[kind].day = "open", ot.day
    for kind in cancel:
        existing[kind].status = "cancelled"
    for kind in items:  # an open item follows the record's date
        if kind in existing and existing[kind].status == "open":
            existing[kind].day = ot.day
    db.session.flush()
    return {"items_created": len(create), "items_cancelled": len(cancel),
            "credit_booked": str(book_credit(ot, actor, today))}


def ledger_rows(ot: OvertimeLog) -> list[LedgerEntryRow]:
    return list(db.session.scalars(select(LedgerEntryRow).where(
        LedgerEntryRow.dedupe_key.startswith(f"overtime:{ot.id}:", autoescape=True)).order_by(LedgerEntryRow.id)))


def credited_days(ot: OvertimeLog) -> Decimal:
    """The compensatory days on the ledger for this record (the sum of its signed entries)."""
    return sum((Decimal(r.days) for r in ledger_rows(ot)), Decimal(0))


def book_credit(ot: OvertimeLog, actor: Person | None, today: date) -> Decimal:
    """Book the difference between the credit the record should have and what its entries sum to."""
    rows = ledger_rows(ot)
    booked = sum((Decimal(r.days) for r in rows), Decimal(0))
    delta = rules.credit_target(ot.status, ot.comp_days) - booked
    if delta == 0:
        return Decimal(0)
    on = rules.credit_entry_date(delta, ot.day, today, [r.effective_on for r in rows])
    kind = "allocation" if delta > 0 and not rows else "adjustment"
    occasion = ot.occasion or "-"
    reason = (f"overtime #{ot.id} {ot.day.isoformat()} ({occasion}, {ot.hours} h)" if delta > 0
              else f"overtime #{ot.id} {ot.day.isoformat()} {ot.status}: credit reversed")
    booked_now = book(ot.person_id, COMPENSATORY, ot.day.year, kind, delta, on, reason,
                      dedupe_key=f"overtime:{ot.id}:{len(rows)}", actor_id=getattr(actor, "id", None))
    return delta if booked_now else Decimal(0)


def notify_leaders(ot: OvertimeLog, today: date) -> int:
    """Tell the person's immediate leaders that overtime waits for them (once per record and day)."""
    sent = 0
    if ot.status != rules.PENDING:
        return sent
    for leader in immediate_leaders(ot.person, today):
        sent += queue_email(leader, "care_overtime_pending", "care_overtime_pending",
                            f"overtime-pending:{ot.id}:{today.isoformat()}", overtime=ot)
    return sent


def items_for_hr(status: str | None = "open"):
    stmt = select(CareItem).order_by(CareItem.day, CareItem.id)
    if status:
        stmt = stmt.where(CareItem.status == status)
    return stmt


def mark_provided(item: CareItem, note: str, actor: Person, today: date) -> CareItem:
    """HR (or the logistics office through HR) marks a care item given. The caller commits."""
    if item.status != "open":
        raise CareError(409, "status", _("Only an open care item can be marked provided."))
    item.status, item.provided_on, item.provided_by_id, item.note = "provided", today, actor.id, note or None
    return item
