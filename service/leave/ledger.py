"""The leave ledger in the database: booking signed entries, balances summed by the database,
entitlement allocation and year closing through the pure core (service.leave.entitlement)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from service.extensions import db
from service.leave import entitlement as core
from service.leave.models import LeaveKind, LeaveRequest, LedgerEntryRow
from service.leave.policy import PERSONAL, SICK, leave_policy
from service.people.models import Person

ENTITLEMENT_KEY = "entitlement"


def book(person_id: int, account: str, year: int, kind: str, days: Decimal, effective_on: date,
         reason: str, *, request_id: int | None = None, dedupe_key: str | None = None,
         actor_id: int | None = None) -> bool:
    """Add one entry to the current transaction; with a ``dedupe_key`` a second booking of the
    same key is a no-op (returns False), so jobs and retries book once."""
    core.LedgerEntry(effective_on, kind, days, reason, year)  # the core checks sign and half days
    values = dict(person_id=person_id, account=account, year=year, kind=kind, days=Decimal(days),
                  effective_on=effective_on, reason=reason[:300], request_id=request_id,
                  dedupe_key=dedupe_key, created_by_id=actor_id)
    if dedupe_key is None:
        db.session.add(LedgerEntryRow(**values))
        db.session.flush()
        return True
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (insert(LedgerEntryRow).values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(LedgerEntryRow.id))
    return db.session.execute(stmt).first() is not None


def rows_of(person_id: int, account: str = "annual", year: int | None = None) -> list[LedgerEntryRow]:
    stmt = select(LedgerEntryRow).where(LedgerEntryRow.person_id == person_id,
                                        LedgerEntryRow.account == account)
    if year is not None:
        stmt = stmt.where(LedgerEntryRow.year == year)
    return list(db.session.scalars(stmt.order_by(LedgerEntryRow.effective_on, LedgerEntryRow.id)))


def as_core(row: LedgerEntryRow) -> core.LedgerEntry:
    return core.LedgerEntry(row.effective_on, row.kind, Decimal(row.days), row.reason, row.year)


def balances(year: int | None, as_of: date, account: str = "annual",
             person_ids: list[int] | None = None) -> dict[int, Decimal]:
    """Every person's balance of ``account`` for leave ``year`` (None: all years) on ``as_of``,
    summed by the database in one query (the benchmarked path)."""
    stmt = (select(LedgerEntryRow.person_id, func.sum(LedgerEntryRow.days))
            .where(LedgerEntryRow.account == account, LedgerEntryRow.effective_on <= as_of)
            .group_by(LedgerEntryRow.person_id))
    if year is not None:
        stmt = stmt.where(LedgerEntryRow.year == year)
    if person_ids is not None:
        stmt = stmt.where(LedgerEntryRow.person_id.in_(person_ids))
    return {pid: Decimal(total or 0) for pid, total in db.session.execute(stmt)}


@dataclass
class Statement:
    """A person's account for a year, line by line (the core's ``explain``) with the totals."""
    person_id: int
    account: str
    year: int | None
    as_of: date
    balance: Decimal  # entries in effect on as_of
    booked: Decimal  # every entry of the account, including leave booked after as_of
    pending: Decimal  # days asked for in requests still waiting for a decision
    lines: list  # core.LedgerLine with the row ids beside them

    @property
    def available(self) -> Decimal:
        return self.booked - self.pending


def statement(person_id: int, year: int | None, as_of: date, account: str = "annual") -> Statement:
    rows = rows_of(person_id, account, year)
    entries = [as_core(r) for r in rows]
    lines = list(zip(core.explain(entries), sorted(rows, key=lambda r: r.effective_on)))
    return Statement(person_id, account, year, as_of, core.balance(entries, as_of, year),
                     sum((e.days for e in entries), Decimal(0)),
                     pending_days(person_id, account, year), lines)


def pending_days(person_id: int, account: str, year: int | None, exclude_id: int | None = None) -> Decimal:
    """Days of ``account`` asked for in pending requests (in ``year``, if given)."""
    from service.leave.requests import parts_of

    stmt = (select(LeaveRequest).join(LeaveKind).where(
        LeaveRequest.person_id == person_id, LeaveRequest.status == "pending", LeaveKind.account == account))
    if exclude_id is not None:
        stmt = stmt.where(LeaveRequest.id != exclude_id)
    total = Decimal(0)
    for req in db.session.scalars(stmt):
        for part in parts_of(req):
            if year is None or part.year == year:
                total += part.days
    return total


# ---------------------------------------------------------------------- allocation and closing

def leave_days_in_year(person_id: int, year: int, kind_code: str) -> tuple[Decimal, int]:
    """Approved leave of a kind in ``year``: (days as counted, calendar days spanned)."""
    from service.leave.requests import parts_of

    days, calendar_days = Decimal(0), 0
    stmt = select(LeaveRequest).join(LeaveKind).where(
        LeaveRequest.person_id == person_id, LeaveRequest.status == "approved", LeaveKind.code == kind_code,
        LeaveRequest.start_date <= date(year, 12, 31), LeaveRequest.end_date >= date(year, 1, 1))
    for req in db.session.scalars(stmt):
        for part in parts_of(req):
            if part.year == year:
                days += part.days
                calendar_days += (part.end - part.start).days + 1
    return days, calendar_days


def entitlement_of(person: Person, year: int, policy: core.LeavePolicy | None = None) -> core.Entitlement | None:
    """The person's statutory annual leave for ``year``, with the disqualifying cases read from
    approved sick and personal leave; None when the register lacks the dates it needs."""
    if person.work_started_on is None or person.joined_on is None:
        return None
    personal, _ = leave_days_in_year(person.id, year, PERSONAL)
    _, sick_calendar_days = leave_days_in_year(person.id, year, SICK)
    # Decision: a month of sick leave is 30 calendar days of it (the Regulations count months).
    return core.entitlement_for_year(
        year, person.work_started_on, person.joined_on, person.left_on, policy or leave_policy(),
        personal_leave_days=personal, sick_leave_months=Fraction(sick_calendar_days, 30))


def allocate(person: Person, year: int, policy: core.LeavePolicy | None = None) -> Decimal | None:
    """Book the year's entitlement, or the correction to it when sick or personal leave has
    since cancelled it (or a cancellation restored it). Idempotent; returns the change booked."""
    ent = entitlement_of(person, year, policy)
    if ent is None:
        return None
    dated = max(date(year, 1, 1), person.joined_on)
    if dated.year != year:
        dated = date(year, 1, 1)
    rows = [r for r in rows_of(person.id, "annual", year)
            if r.kind == core.ALLOCATION or (r.dedupe_key or "").startswith(f"{ENTITLEMENT_KEY}:")]
    granted = sum((Decimal(r.days) for r in rows), Decimal(0))
    if not rows:
        book(person.id, "annual", year, core.ALLOCATION, Decimal(ent.days), dated, ent.lines[-1],
             dedupe_key=f"allocation:{person.id}:{year}")
        return Decimal(ent.days)
    delta = Decimal(ent.days) - granted
    if delta == 0:
        return Decimal(0)
    why = next((s.text for s in ent.steps if s.code.startswith("disqualified")), ent.lines[-1])
    # The sequence number in the key makes two concurrent runs collide instead of booking twice.
    book(person.id, "annual", year, core.ADJUSTMENT, delta, dated, f"entitlement recomputed: {why}",
         dedupe_key=f"{ENTITLEMENT_KEY}:{person.id}:{year}:{len(rows)}")
    return delta


def close_years(person_id: int, as_of: date, policy: core.LeavePolicy | None = None) -> int:
    """Book the carry-over, lapse and expiry entries due by ``as_of``; returns how many."""
    entries = [as_core(r) for r in rows_of(person_id, "annual")]
    count = 0
    for e in core.pending_entries(entries, policy or leave_policy(), as_of=as_of):
        count += book(person_id, "annual", e.year, e.kind, e.days, e.date, e.reason,
                      dedupe_key=f"{e.kind}:{person_id}:{e.year}")
    return count
