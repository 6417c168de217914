"""The unit's leave rules as data: kinds of leave and the leave settings, with the defaults of
domain.md written in on first use, and the pure core's ``LeavePolicy`` built from them."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from service.extensions import db
from service.leave.entitlement import LeavePolicy
from service.leave.models import LeaveKind, LeaveSettings

# (code, name, name_en, counting, reduces_annual, needs_approval, max_days, evidence, account)
# Sources: domain.md (Regulations, Measures, State Council 1981 on home visits); provincial and
# unit values (marriage, paternity, maternity extra) are the common ones and HR edits them.
DEFAULT_KINDS = (
    ("annual", "年休假", "Annual leave", "working_days", True, True, None, None, "annual"),
    ("sick", "病假", "Sick leave", "working_days", True, True, None, "病假证明 / medical certificate", None),
    ("personal", "事假", "Personal leave", "working_days", True, True, None, None, None),
    ("marriage", "婚假", "Marriage leave", "working_days", False, True, 3, "结婚证 / marriage certificate", None),
    ("bereavement", "丧假", "Bereavement leave", "working_days", False, True, 3, None, None),
    ("maternity", "产假", "Maternity leave", "calendar_days", False, True, 158,
     "医院证明 / birth or medical record", None),
    ("paternity", "陪产假（育儿假）", "Paternity / childcare leave", "calendar_days", False, True, 15,
     "出生证明 / birth record", None),
    ("home_visit", "探亲假", "Home visit leave", "calendar_days", False, True, 30, None, None),
    ("compensatory", "调休假", "Compensatory leave (for overtime)", "working_days", False, True, None, None,
     "compensatory"),
)
# The statutory kinds that the Regulations art. 4 rules read from the ledger of requests.
SICK, PERSONAL, ANNUAL = "sick", "personal", "annual"
DEFAULT_CHAIN = ["chief", "deputy"]


def ensure_kinds() -> None:
    """Write the default kinds if the unit has none yet (HR edits them afterwards).

    They are written in a transaction of their own, so that a request that is then refused
    (and rolled back) does not take the unit's kinds with it; a race between two first
    requests is settled by the unique code (ON CONFLICT DO NOTHING)."""
    if db.session.scalar(select(LeaveKind.id).limit(1)) is not None:
        return
    rows = [dict(code=code, name=name, name_en=name_en, counting=counting, reduces_annual=reduces,
                 needs_approval=approval, max_days=None if max_days is None else Decimal(max_days),
                 evidence=evidence, account=account, active=True, position=position)
            for position, (code, name, name_en, counting, reduces, approval, max_days, evidence, account)
            in enumerate(DEFAULT_KINDS)]
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    with db.engine.begin() as conn:
        conn.execute(insert(LeaveKind).values(rows).on_conflict_do_nothing(index_elements=["code"]))


def kinds(active_only: bool = False) -> list[LeaveKind]:
    ensure_kinds()
    stmt = select(LeaveKind).order_by(LeaveKind.position, LeaveKind.id)
    if active_only:
        stmt = stmt.where(LeaveKind.active.is_(True))
    return list(db.session.scalars(stmt))


def kind_by_code(code: str) -> LeaveKind | None:
    ensure_kinds()
    return db.session.scalar(select(LeaveKind).where(LeaveKind.code == code))


def settings() -> LeaveSettings:
    """The unit's settings row; an unsaved row with the defaults when HR never changed them."""
    row = db.session.get(LeaveSettings, 1)
    if row is None:
        row = LeaveSettings(id=1, tier_change_rule="next_year", carry_over_allowed=False,
                            carry_over_max_days=None, carry_over_expiry_month=12, carry_over_expiry_day=31,
                            reminder_month=9, reminder_day=1, approver_chain=list(DEFAULT_CHAIN))
    return row


def leave_policy(row: LeaveSettings | None = None) -> LeavePolicy:
    """The pure core's policy from the unit's settings."""
    row = row or settings()
    return LeavePolicy(
        tier_change_rule=row.tier_change_rule,
        carry_over_allowed=row.carry_over_allowed,
        carry_over_max_days=row.carry_over_max_days,
        carry_over_expiry=(row.carry_over_expiry_month, row.carry_over_expiry_day),
        reminder_start=(row.reminder_month, row.reminder_day),
    )
