"""Leave requests: counting the days (official calendar, half days, split by year), overlap,
the approval chain from the register, approve / reject / cancel with their ledger entries, and
recounting when the calendar changes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from service import audit
from service.clock import now_utc
from service.errors import DomainError
from service.extensions import db
from service.leave import entitlement as core
from service.leave.ledger import allocate, book, pending_days
from service.leave.models import LeaveKind, LeaveRequest, LedgerEntryRow
from service.leave.policy import PERSONAL, SICK, settings
from service.people.models import Oversight, Person, holds_on_clause
from service.workdays.official import UnitOverrides, count_working_days, is_working_day
from service.workdays.overrides import unit_overrides

HALF = Decimal("0.5")
MAX_SPAN_DAYS = 400  # the longest leave kind (maternity with extras) is well under this
OPEN = ("pending", "approved")


class LeaveError(DomainError):
    """A request the rules refuse: the field to blame, a message for a person, an HTTP status."""

    def __init__(self, field: str, message: str, status: int = 422):
        super().__init__(message, status=status, field=field)


@dataclass(frozen=True)
class Part:
    """The share of a leave that falls in one calendar (leave) year."""
    year: int
    start: date
    end: date
    days: Decimal
    provisional: bool


def count_parts(counting: str, start: date, end: date, starts_afternoon: bool = False,
                ends_noon: bool = False, overrides: UnitOverrides | None = None) -> list[Part]:
    """Days of leave from ``start`` to ``end`` (inclusive), one part per calendar year.

    Working-day kinds count the unit's working days (official calendar with make-up working
    days, plus overrides); a half day at either end counts 0.5 if that day is a working day.
    Calendar-day kinds count every day, weekends and holidays included.
    """
    overrides = overrides if overrides is not None else unit_overrides()
    parts = []
    for year in range(start.year, end.year + 1):
        a, b = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
        if counting == "calendar_days":
            from service.workdays.official import is_provisional_range

            parts.append(Part(year, a, b, Decimal((b - a).days + 1), is_provisional_range(a, b)))
            continue
        counted = count_working_days(a, b, overrides)
        days = Decimal(counted.days)
        if starts_afternoon and a == start and is_working_day(a, overrides):
            days -= HALF
        if ends_noon and b == end and is_working_day(b, overrides) and not (a == b and starts_afternoon):
            days -= HALF
        parts.append(Part(year, a, b, days, counted.provisional))
    return parts


def parts_of(req: LeaveRequest, overrides: UnitOverrides | None = None) -> list[Part]:
    return count_parts(req.kind.counting, req.start_date, req.end_date, req.starts_afternoon,
                       req.ends_noon, overrides)


def _slots(start: date, end: date, starts_afternoon: bool, ends_noon: bool) -> tuple[int, int]:
    # Half-day slots, end exclusive: a leave ending at noon and one starting that afternoon meet.
    return start.toordinal() * 2 + int(starts_afternoon), end.toordinal() * 2 + (1 if ends_noon else 2)


def find_clash(person_id: int, start: date, end: date, starts_afternoon: bool = False,
               ends_noon: bool = False, exclude_id: int | None = None) -> LeaveRequest | None:
    """The person's pending or approved leave that overlaps this one, if any."""
    stmt = select(LeaveRequest).where(
        LeaveRequest.person_id == person_id, LeaveRequest.status.in_(OPEN),
        LeaveRequest.start_date <= end, LeaveRequest.end_date >= start).order_by(LeaveRequest.start_date)
    if exclude_id is not None:
        stmt = stmt.where(LeaveRequest.id != exclude_id)
    lo, hi = _slots(start, end, starts_afternoon, ends_noon)
    for other in db.session.scalars(stmt):
        olo, ohi = _slots(other.start_date, other.end_date, other.starts_afternoon, other.ends_noon)
        if lo < ohi and olo < hi:
            return other
    return None


def kind_label(kind: LeaveKind) -> str:
    from flask_babel import get_locale

    return kind.name if str(get_locale() or "zh_CN").startswith("zh") else kind.name_en


def status_label(status: str) -> str:
    return {"pending": _("pending"), "approved": _("approved"), "rejected": _("rejected"),
            "cancelled": _("cancelled")}.get(status, status)


def resolve_approvers(person: Person, chain: list[str], on: date) -> list[int]:
    """The approvers of ``person``'s leave, in order, from the register: the unit's chain of
    levels (section chief, deputy in charge, head); a level nobody holds, or the person holds,
    is skipped; an empty chain falls back to the head; the head's own leave goes to HR."""
    active = Person.left_on.is_(None) | (Person.left_on >= on)
    ids: list[int] = []
    for level in chain:
        stmt = select(Person.id).where(active, Person.id != person.id).order_by(Person.employee_no)
        if level == "chief":
            if person.section_id is None:
                continue
            stmt = stmt.where(Person.role == "chief", Person.section_id == person.section_id)
        elif level == "deputy":
            if person.section_id is None:
                continue
            stmt = stmt.join(Oversight, Oversight.deputy_id == Person.id).where(
                Person.role == "deputy", Oversight.section_id == person.section_id, holds_on_clause(Oversight, on))
        elif level == "head":
            stmt = stmt.where(Person.role == "head")
        found = db.session.scalar(stmt.limit(1))
        if found is not None and found not in ids:
            ids.append(found)
    if not ids:
        head = db.session.scalar(select(Person.id).where(active, Person.role == "head", Person.id != person.id)
                                 .order_by(Person.employee_no).limit(1))
        if head is not None:
            ids.append(head)
    return ids


def _period(req: LeaveRequest) -> str:
    return f"{req.start_date}{_(' (afternoon)') if req.starts_afternoon else ''} – " \
           f"{req.end_date}{_(' (morning)') if req.ends_noon else ''}"


def _check_balance(person: Person, kind: LeaveKind, parts: list[Part], exclude_id: int | None = None) -> None:
    if kind.account is None:
        return
    from service.leave.ledger import rows_of

    if kind.account == "annual":
        for part in parts:
            allocate(person, part.year)
            booked = sum((Decimal(r.days) for r in rows_of(person.id, "annual", part.year)), Decimal(0))
            left = booked - pending_days(person.id, "annual", part.year, exclude_id)
            if part.days > left:
                raise LeaveError("kind", _("Only %(left)s days of annual leave are left for %(year)d "
                                           "(pending requests included); this asks for %(days)s.",
                                           left=_fmt(left), year=part.year, days=_fmt(part.days)), 409)
    else:
        booked = sum((Decimal(r.days) for r in rows_of(person.id, kind.account)), Decimal(0))
        left = booked - pending_days(person.id, kind.account, None, exclude_id)
        wanted = sum((p.days for p in parts), Decimal(0))
        if wanted > left:
            raise LeaveError("kind", _("Only %(left)s days of %(kind)s are left; this asks for %(days)s.",
                                       left=_fmt(left), kind=kind_label(kind), days=_fmt(wanted)), 409)


def submit(person: Person, kind: LeaveKind, start: date, end: date, *, starts_afternoon: bool = False,
           ends_noon: bool = False, reason: str = "", evidence: str | None = None, actor: Person,
           record: bool = False, today: date) -> LeaveRequest:
    """Create a leave request after every rule is met (raises LeaveError otherwise, having
    written nothing). ``record``: HR records the leave as approved directly."""
    if not kind.active:
        raise LeaveError("kind", _("This kind of leave is not in use."))
    if end < start:
        raise LeaveError("end_date", _("The last day is before the first day."))
    if (end - start).days >= MAX_SPAN_DAYS:
        raise LeaveError("end_date", _("A leave can span at most %(num)d days.", num=MAX_SPAN_DAYS))
    if kind.counting == "calendar_days" and (starts_afternoon or ends_noon):
        raise LeaveError("starts_afternoon" if starts_afternoon else "ends_noon",
                         _("Half days are only for kinds counted in working days."))
    if start == end and starts_afternoon and ends_noon:
        raise LeaveError("ends_noon", _("A one-day leave cannot start in the afternoon and end at noon."))
    if person.left_on is not None and person.left_on < end:
        raise LeaveError("end_date", _("%(name)s leaves the unit on %(day)s.", name=person.name, day=person.left_on))
    parts = count_parts(kind.counting, start, end, starts_afternoon, ends_noon)
    total = sum((p.days for p in parts), Decimal(0))
    if total <= 0:
        raise LeaveError("start_date", _("There is no working day between these dates."))
    if kind.max_days is not None and total > kind.max_days:
        raise LeaveError("end_date", _("%(kind)s is at most %(max)s days; this is %(days)s.",
                                       kind=kind_label(kind), max=_fmt(kind.max_days), days=_fmt(total)))
    if kind.evidence and not (evidence or "").strip():
        raise LeaveError("evidence", _("%(kind)s needs evidence: %(what)s.", kind=kind_label(kind),
                                       what=kind.evidence))
    clash = find_clash(person.id, start, end, starts_afternoon, ends_noon)
    if clash is not None:
        raise LeaveError("start_date", _("This overlaps %(kind)s from %(period)s (request %(id)d, %(status)s).",
                                         kind=kind_label(clash.kind), period=_period(clash), id=clash.id,
                                         status=status_label(clash.status)), 409)
    _check_balance(person, kind, parts)
    req = LeaveRequest(person_id=person.id, kind_id=kind.id, start_date=start, end_date=end,
                       starts_afternoon=starts_afternoon, ends_noon=ends_noon, days=total,
                       provisional=any(p.provisional for p in parts), status="pending",
                       reason=reason or "", evidence=evidence or None, requested_by_id=actor.id,
                       approver_ids=[] if record else resolve_approvers(person, settings().approver_chain, today),
                       step=0)
    req.person, req.kind = person, kind
    db.session.add(req)
    db.session.flush()
    audit.record("create", "leave_request", req.id, {"person_id": [None, person.id], "kind": [None, kind.code],
                                                     "start_date": [None, str(start)], "end_date": [None, str(end)],
                                                     "days": [None, str(total)]}, actor=actor)
    if record or not kind.needs_approval:
        _finish(req, actor, "approved", _("recorded by HR") if record else None)
    else:
        _notify_approver(req)
    return req


def _fmt(days) -> str:
    d = Decimal(days)
    return str(d.quantize(HALF) if d % 1 else d.quantize(Decimal(1)))


def may_decide(actor: Person, req: LeaveRequest) -> bool:
    from service.auth.permissions import can

    return can(actor, "write", "leave_decision", req)


def approve(req: LeaveRequest, actor: Person, note: str | None = None) -> LeaveRequest:
    """One approval: the current approver's (HR's approval completes the chain at once)."""
    if req.status != "pending":
        raise LeaveError("status", _("This request is %(status)s, not pending.", status=status_label(req.status)), 409)
    audit.record("approve", "leave_request", req.id, {"step": [req.step, req.step + 1]}, actor=actor)
    if actor.is_hr_admin or req.step + 1 >= len(req.approver_ids or []):
        _finish(req, actor, "approved", note)
    else:
        req.step += 1
        _notify_approver(req)
    return req


def reject(req: LeaveRequest, actor: Person, note: str) -> LeaveRequest:
    if req.status != "pending":
        raise LeaveError("status", _("This request is %(status)s, not pending.", status=status_label(req.status)), 409)
    if not (note or "").strip():
        raise LeaveError("reason", _("Say why the request is rejected."))
    audit.record("reject", "leave_request", req.id, {"status": ["pending", "rejected"]}, actor=actor)
    _finish(req, actor, "rejected", note)
    return req


def cancel(req: LeaveRequest, actor: Person, today: date) -> LeaveRequest:
    """Withdraw a pending request or cancel an approved leave: its days return to the ledger."""
    if req.status not in OPEN:
        raise LeaveError("status", _("This request is %(status)s; there is nothing to cancel.",
                                     status=status_label(req.status)), 409)
    if req.status == "approved" and not actor.is_hr_admin and req.start_date <= today:
        raise LeaveError("status", _("This leave has begun; ask HR to correct it."), 409)
    was = req.status
    req.status = "cancelled"
    req.decided_at = now_utc()
    audit.record("cancel", "leave_request", req.id, {"status": [was, "cancelled"]}, actor=actor)
    if was == "approved":
        for year, net in _booked_by_year(req).items():
            if net < 0:
                book(req.person_id, req.kind.account, year, core.CANCELLED, -net,
                     max(req.start_date, date(year, 1, 1)), f"cancelled leave, request {req.id}",
                     request_id=req.id, dedupe_key=f"cancel:{req.id}:{year}", actor_id=actor.id)
        _recompute_entitlement(req)
    return req


def _booked_by_year(req: LeaveRequest) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for row in db.session.scalars(select(LedgerEntryRow).where(LedgerEntryRow.request_id == req.id)):
        out[row.year] = out.get(row.year, Decimal(0)) + Decimal(row.days)
    return out


def _recompute_entitlement(req: LeaveRequest) -> None:
    # Sick and personal leave can cancel the year's annual leave (Regulations art. 4).
    if req.kind.code in (SICK, PERSONAL):
        for year in range(req.start_date.year, req.end_date.year + 1):
            allocate(req.person, year)


def _finish(req: LeaveRequest, actor: Person, status: str, note: str | None) -> None:
    req.status = status
    req.decided_by_id = actor.id
    req.decided_at = now_utc()
    req.decision_note = (note or None) and note[:500]
    if status == "approved":
        if req.kind.account:
            for part in parts_of(req):
                if part.days:
                    book(req.person_id, req.kind.account, part.year, core.TAKEN, -part.days, part.start,
                         f"{req.kind.name_en} {part.start} – {part.end}, request {req.id}",
                         request_id=req.id, dedupe_key=f"taken:{req.id}:{part.year}", actor_id=actor.id)
        _recompute_entitlement(req)
    _notify_requester(req)


def recount(req: LeaveRequest, overrides: UnitOverrides | None = None) -> bool:
    """Count the request's days again on the current calendar (a new official year, a changed
    override); an approved leave's ledger is corrected by an adjustment. True if anything changed."""
    parts = parts_of(req, overrides)
    total = sum((p.days for p in parts), Decimal(0))
    provisional = any(p.provisional for p in parts)
    changed = total != Decimal(req.days) or provisional != req.provisional
    if req.status == "approved" and req.kind.account:
        booked = _booked_by_year(req)
        # Entries so far, in the key: each recount books its own correction once.
        n = db.session.scalar(select(func.count()).select_from(LedgerEntryRow)
                              .where(LedgerEntryRow.request_id == req.id))
        for part in parts:
            delta = -part.days - booked.get(part.year, Decimal(0))
            if delta:
                book(req.person_id, req.kind.account, part.year, core.ADJUSTMENT, delta, part.start,
                     f"request {req.id} recounted on the current official calendar: {_fmt(part.days)} days",
                     request_id=req.id, dedupe_key=f"recount:{req.id}:{part.year}:{n}")
                changed = True
    if changed:
        audit.record("recount", "leave_request", req.id,
                     {"days": [str(req.days), str(total)], "provisional": [req.provisional, provisional]})
        req.days, req.provisional = total, provisional
    return changed


def recount_affected(days: list[date] | None = None, provisional_only: bool = False) -> int:
    """Recount open requests touching ``days`` (an override changed) or, with
    ``provisional_only``, those counted on a year that was not published then."""
    stmt = select(LeaveRequest).where(LeaveRequest.status.in_(OPEN))
    if provisional_only:
        stmt = stmt.where(LeaveRequest.provisional.is_(True))
    requests = list(db.session.scalars(stmt))
    if days is not None:
        requests = [r for r in requests if any(r.start_date <= d <= r.end_date for d in days)]
    overrides = unit_overrides()
    return sum(recount(r, overrides) for r in requests)


# ---------------------------------------------------------------------- notifications

def _link(path: str) -> str:
    return current_app.config.get("PUBLIC_URL", "").rstrip("/") + path


def _notify_approver(req: LeaveRequest) -> None:
    from service.outbox import queue_email

    approver_id = req.current_approver_id
    recipients = [db.session.get(Person, approver_id)] if approver_id else list(db.session.scalars(
        select(Person).where(Person.is_hr_admin.is_(True), Person.left_on.is_(None))))
    for person in recipients:
        if person is not None:
            queue_email(person, "leave_request", "leave_request", f"leave-request:{req.id}:{req.step}:{person.id}",
                        req=req, link=_link("/leave/approvals"))


def _notify_requester(req: LeaveRequest) -> None:
    from service.outbox import queue_email

    if req.requested_by_id == req.decided_by_id == req.person_id:
        return
    queue_email(req.person, "leave_decision", "leave_decision", f"leave-decision:{req.id}:{req.status}",
                req=req, link=_link("/leave"))
