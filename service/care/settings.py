"""The unit's care settings: one row; until HR first changes it, the defaults of domain.md."""
from __future__ import annotations

from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import select

from service.care.models import DEFAULT_OVERTIME_ITEMS, DEFAULT_VISIT_RULES, CareSettings
from service.care.overtime_rules import OvertimeRules
from service.extensions import db

DEFAULTS = {
    "birthday_shift_rule": "previous_working_day",
    "visit_min_stay_days": 7,       # trade-union practice: a stay of a week or more is visited
    "visit_due_days": 3,
    "visit_relations": ["parent", "spouse", "child"],
    "visit_rules": DEFAULT_VISIT_RULES,
    "allowance_cap_yuan": 300,      # at most about 300 yuan a year per person
    "healthcheck_section_share": "3/10",
    "overtime_late_hour": 20,       # working-day overtime ending after 20:00 is late
    "overtime_items": DEFAULT_OVERTIME_ITEMS,  # late: meal and a ride home; days off: a meal
    "overtime_provider": "logistics",
    "overtime_comp_hours_per_day": 8,  # one compensatory day per 8 hours on a day off; 0: none
    "overtime_comp_occasions": ["rest_day", "holiday"],
}


def care_settings(for_update: bool = False) -> CareSettings:
    """The settings row. Reads never write: a missing row is answered with an unsaved one holding
    the defaults (so two jobs starting together cannot race to create it); ``for_update`` adds it."""
    row = db.session.scalar(select(CareSettings).where(CareSettings.id == 1))
    if row is None:
        row = CareSettings(id=1, **{k: ({a: list(b) if isinstance(b, list) else b for a, b in v.items()}
                                        if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
                                    for k, v in DEFAULTS.items()})
        if for_update:
            db.session.add(row)
    return row


def parse_share(text: str) -> Fraction:
    """A share written "3/10" or "0.3"; ValueError unless 0 < share <= 1."""
    try:
        share = Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(_("Write the share as a fraction (3/10) or a decimal (0.3).")) from None
    if not (0 < share <= 1):
        raise ValueError(_("The share must be above 0 and at most 1."))
    return share


def overtime_rules(settings: CareSettings) -> OvertimeRules:
    """The unit's overtime settings as the pure core's rules."""
    return OvertimeRules(late_hour=settings.overtime_late_hour,
                         items={k: tuple(v) for k, v in (settings.overtime_items or {}).items()},
                         comp_hours_per_day=settings.overtime_comp_hours_per_day,
                         comp_occasions=frozenset(settings.overtime_comp_occasions or ()))
