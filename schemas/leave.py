"""Schemas of the official calendar and of leave: kinds, settings, requests, ledger, balances."""
from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import Count, Day, Id, Text
from service.leave.entitlement import TIER_CHANGE_RULES
from service.leave.models import ACCOUNTS, APPROVER_LEVELS, COUNTING_RULES, STATUSES


class HalfDays(fields.Decimal):
    """A number of days in whole or half days, within +-``limit``."""

    def __init__(self, limit: int = 9999, positive: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.limit, self.positive = limit, positive

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid number.")
        days = super()._deserialize(value, attr, data, **kwargs)
        if not days.is_finite() or abs(days) > self.limit:
            raise ValidationError(f"Must be between -{self.limit} and {self.limit}.")
        if days % Decimal("0.5") != 0:
            raise ValidationError("Use whole or half days.")
        if self.positive and days <= 0:
            raise ValidationError("Must be more than 0.")
        return days


def Year(**kwargs):  # noqa: N802 - reads like a field class
    return fields.Integer(validate=validate.Range(min=1900, max=2100), **kwargs)


def _check_month_day(data: dict, month_key: str, day_key: str) -> None:
    if month_key in data or day_key in data:
        month, day = data.get(month_key), data.get(day_key)
        if month is None or day is None:
            return
        if day > calendar.monthrange(2024, month)[1]:
            raise ValidationError(f"Month {month} has no day {day}.", day_key)


# ---------------------------------------------------------------- calendar

class CalendarOverrideSchema(Schema):
    id = fields.Integer(dump_only=True)
    day = Day(required=True)
    working = fields.Boolean(required=True, metadata={
        "description": "true: a working day for the unit although officially off; false: a local day off"})
    reason = Text(max_length=200, load_default="")
    created_at = fields.DateTime(dump_only=True)


class CalendarOverridePatchSchema(Schema):
    working = fields.Boolean()
    reason = Text(max_length=200)


class OverrideQuerySchema(Schema):
    year = Year(metadata={"description": "Only this year's overrides"})


class DayInfoSchema(Schema):
    date = fields.Date()
    working = fields.Boolean()
    provisional = fields.Boolean(metadata={"description": "The year's official calendar is not published: weekends only"})
    reason = fields.String(metadata={"description": "override_off, override_on, holiday:<name>, makeup_workday, weekend, workday"})


class RangeQuerySchema(Schema):
    start = Day(required=True)
    end = Day(required=True)

    @validates_schema
    def order(self, data, **kwargs):
        if "start" in data and "end" in data and data["end"] < data["start"]:
            raise ValidationError("The end is before the start.", "end")


class CountSchema(Schema):
    start = fields.Date()
    end = fields.Date()
    working_days = fields.Integer()
    provisional = fields.Boolean()


class MonthQuerySchema(Schema):
    month = fields.String(required=True, validate=validate.Regexp(r"^(19|20)\d\d-(0[1-9]|1[0-2])$",
                                                                  error="Use YYYY-MM."))


class MonthCalendarSchema(Schema):
    month = fields.String()
    provisional = fields.Boolean()
    working_days = fields.Integer()
    days = fields.List(fields.Nested(DayInfoSchema))


# ---------------------------------------------------------------- kinds and settings

class LeaveKindSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = Text(max_length=32, min_length=1, required=True,
                validate=validate.Regexp(r"^[a-z0-9_]+$", error="Lower-case letters, digits and '_' only."))
    name = Text(max_length=60, min_length=1, required=True)
    name_en = Text(max_length=80, min_length=1, required=True)
    counting = fields.String(required=True, validate=validate.OneOf(COUNTING_RULES))
    reduces_annual = fields.Boolean(load_default=False, metadata={
        "description": "Counts against annual leave (drawn from it, or towards the art. 4 cases)"})
    needs_approval = fields.Boolean(load_default=True)
    max_days = HalfDays(limit=400, positive=True, allow_none=True, load_default=None, as_string=False)
    evidence = Text(max_length=200, allow_none=True, load_default=None,
                    metadata={"description": "Evidence a request must mention, or null"})
    account = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(ACCOUNTS),
                            metadata={"description": "Ledger account the leave is drawn from"})
    active = fields.Boolean(load_default=True)
    position = Count(load_default=100)


class LeaveSettingsSchema(Schema):
    tier_change_rule = fields.String(validate=validate.OneOf(TIER_CHANGE_RULES), metadata={
        "description": "next_year: a tier reached during the year applies from the next year; pro_rata: split"})
    carry_over_allowed = fields.Boolean()
    carry_over_max_days = HalfDays(limit=400, allow_none=True, as_string=False)
    carry_over_expiry_month = fields.Integer(strict=True, validate=validate.Range(1, 12))
    carry_over_expiry_day = fields.Integer(strict=True, validate=validate.Range(1, 31))
    reminder_month = fields.Integer(strict=True, validate=validate.Range(1, 12))
    reminder_day = fields.Integer(strict=True, validate=validate.Range(1, 31))
    approver_chain = fields.List(fields.String(validate=validate.OneOf(APPROVER_LEVELS)),
                                 validate=validate.Length(min=1, max=3), metadata={
                                     "description": "Levels that approve in order: chief, deputy, head"})
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def month_days(self, data, **kwargs):
        _check_month_day(data, "carry_over_expiry_month", "carry_over_expiry_day")
        _check_month_day(data, "reminder_month", "reminder_day")
        if data.get("carry_over_max_days") is not None and data["carry_over_max_days"] < 0:
            raise ValidationError("Cannot be negative.", "carry_over_max_days")
        chain = data.get("approver_chain")
        if chain and len(set(chain)) != len(chain):
            raise ValidationError("A level appears twice.", "approver_chain")


class LeaveKindPatchSchema(LeaveKindSchema):
    """A change to some of a kind's rules."""


class LeaveSettingsPatchSchema(LeaveSettingsSchema):
    """A change to some of the settings."""


# ---------------------------------------------------------------- requests

class LeaveRequestCreateSchema(Schema):
    person_id = Id(metadata={"description": "Whose leave (default: yourself; HR for anyone)"})
    kind = Text(max_length=32, min_length=1, required=True, metadata={"description": "Leave kind code"})
    start_date = Day(required=True)
    end_date = Day(required=True)
    starts_afternoon = fields.Boolean(load_default=False, metadata={"description": "First day: afternoon only"})
    ends_noon = fields.Boolean(load_default=False, metadata={"description": "Last day: morning only"})
    reason = Text(max_length=500, multiline=True, load_default="")
    evidence = Text(max_length=200, allow_none=True, load_default=None)
    record = fields.Boolean(load_default=False, metadata={"description": "HR: record as approved directly"})

    @validates_schema
    def order(self, data, **kwargs):
        if "start_date" in data and "end_date" in data and data["end_date"] < data["start_date"]:
            raise ValidationError("The last day is before the first day.", "end_date")


class PartSchema(Schema):
    year = fields.Integer()
    start = fields.Date()
    end = fields.Date()
    days = fields.Float()
    provisional = fields.Boolean()


class LeaveRequestSchema(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    person_name = fields.String(attribute="person.name")
    kind = fields.String(attribute="kind.code")
    start_date = fields.Date()
    end_date = fields.Date()
    starts_afternoon = fields.Boolean()
    ends_noon = fields.Boolean()
    days = fields.Float()
    provisional = fields.Boolean(metadata={"description": "Counted on an unpublished year's calendar (weekends only)"})
    parts = fields.List(fields.Nested(PartSchema), metadata={"description": "The days per calendar year"})
    status = fields.String()
    reason = fields.String()
    evidence = fields.String(allow_none=True)
    approver_ids = fields.List(fields.Integer())
    current_approver_id = fields.Integer(allow_none=True)
    decision_note = fields.String(allow_none=True)
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    requested_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class LeaveRequestQuerySchema(Schema):
    person_id = Id(strict=False)
    section_id = Id(strict=False)
    status = fields.String(validate=validate.OneOf(STATUSES))
    awaiting_me = fields.Boolean(metadata={"description": "Only requests waiting for my decision"})
    start = Day(metadata={"description": "Leave ending on or after this day"})
    end = Day(metadata={"description": "Leave starting on or before this day"})


class DecisionSchema(Schema):
    note = Text(max_length=500, multiline=True, allow_none=True, load_default=None)


class RejectSchema(Schema):
    reason = Text(max_length=500, min_length=1, multiline=True, required=True)


# ---------------------------------------------------------------- ledger and balances

class BalanceQuerySchema(Schema):
    year = Year()
    as_of = Day()
    account = fields.String(load_default="annual", validate=validate.OneOf(ACCOUNTS))


class BalancesQuerySchema(BalanceQuerySchema):
    section_id = Id(strict=False)


class LedgerLineSchema(Schema):
    id = fields.Integer()
    effective_on = fields.Date()
    year = fields.Integer()
    kind = fields.String()
    days = fields.Float()
    running = fields.Float(metadata={"description": "Balance after this line"})
    reason = fields.String()
    request_id = fields.Integer(allow_none=True)
    text = fields.String()


class StepSchema(Schema):
    code = fields.String()
    text = fields.String()


class EntitlementSchema(Schema):
    year = fields.Integer()
    days = fields.Integer()
    steps = fields.List(fields.Nested(StepSchema))


class BalanceSchema(Schema):
    person_id = fields.Integer()
    account = fields.String()
    year = fields.Integer(allow_none=True)
    as_of = fields.Date()
    balance = fields.Float(metadata={"description": "Sum of the entries in effect on as_of"})
    booked = fields.Float(metadata={"description": "Sum of every entry, leave booked after as_of included"})
    pending = fields.Float(metadata={"description": "Days asked for in requests waiting for a decision"})
    available = fields.Float(metadata={"description": "booked - pending: what can still be asked for"})
    provisional = fields.Boolean(metadata={"description": "The year's official calendar is not published yet"})
    lines = fields.List(fields.Nested(LedgerLineSchema))
    entitlement = fields.Nested(EntitlementSchema, allow_none=True)


class BalanceRowSchema(Schema):
    person_id = fields.Integer()
    employee_no = fields.String()
    name = fields.String()
    balance = fields.Float()


class AdjustmentSchema(Schema):
    account = fields.String(load_default="annual", validate=validate.OneOf(ACCOUNTS))
    year = Year(required=True)
    days = HalfDays(limit=400, required=True, as_string=False)
    reason = Text(max_length=300, min_length=1, required=True)
    effective_on = Day(metadata={"description": "Default: today"})

    @validates_schema
    def nonzero(self, data, **kwargs):
        if data.get("days") == 0:
            raise ValidationError("An adjustment of 0 days changes nothing.", "days")


class AllocateSchema(Schema):
    year = Year(required=True)


class AllocateResultSchema(Schema):
    year = fields.Integer()
    people = fields.Integer()
    changed = fields.Integer()
    skipped = fields.List(fields.Integer(), metadata={"description": "People without work start or joining date"})


class GridQuerySchema(MonthQuerySchema):
    section_id = Id(strict=False, required=True)


class OnLeaveQuerySchema(Schema):
    day = Day(required=True)
    person_id = Id(strict=False)


