"""Leave jobs: the daily ledger run (allocations, carry-over, expiry, recounts on a newly
published calendar) and the reminders that leave is taken. Each is idempotent."""

from workers.base import app_job, job_day


@app_job
def book_leave_ledger(on: str | None = None) -> dict:
    """Book this year's entitlements (and corrections from sick or personal leave), the
    carry-over / lapse / expiry entries due, and recount leave counted on a calendar that was
    provisional then. Dedupe keys on ledger rows make a second run book nothing."""
    from sqlalchemy import select

    from service.extensions import db
    from service.leave.ledger import allocate, close_years
    from service.leave.policy import leave_policy
    from service.leave.requests import recount_affected
    from service.people.models import Person

    day = job_day(on)
    policy = leave_policy()
    counts = {"allocated": 0, "closing_entries": 0, "recounted": 0}
    people = db.session.scalars(select(Person).where(
        (Person.left_on.is_(None)) | (Person.left_on >= day.replace(month=1, day=1)))).all()
    for person in people:
        if allocate(person, day.year, policy):
            counts["allocated"] += 1
        counts["closing_entries"] += close_years(person.id, day, policy)
    counts["recounted"] = recount_affected(provisional_only=True)
    db.session.commit()
    return counts


@app_job
def send_leave_reminders(on: str | None = None) -> dict:
    """From the unit's reminder date, on working days: staff with unused annual leave and their
    leaders (once a year each); on the last working day of the year, HR's unused-leave report."""
    from service.extensions import db
    from service.leave import care

    day = job_day(on)
    counts = care.send_leave_reminders(day)
    counts["reports"] = care.send_unused_leave_report(day)
    db.session.commit()
    return counts
