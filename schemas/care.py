"""Schemas of care: settings, hospital cases and visit tasks, health-check campaigns and slots."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from schemas.common import Day, Id, Text
from schemas.leave import HalfDays
from service.care.birthdays import SHIFT_RULES
from service.care.models import (
    APPOINTMENT_STATUSES, CARE_ITEM_STATUSES, EVENT_ACTIONS, PROVIDERS, VISIT_OUTCOMES, VISITOR_KINDS,
)
from service.care.overtime_rules import ITEM_KINDS, OCCASIONS, STATUSES as OVERTIME_STATUSES
from service.care.settings import parse_share
from service.people.models import RELATIONS, ROLES

MAX_YUAN = 1_000_000
MAX_PLACES = 10_000


def _share(value):
    try:
        parse_share(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class CareSettingsSchema(Schema):
    birthday_shift_rule = fields.String(validate=validate.OneOf(SHIFT_RULES), metadata={
        "description": "on_day, or previous_working_day (a weekend or holiday birthday is greeted before)"})
    visit_min_stay_days = fields.Integer(strict=True, validate=validate.Range(0, 365),
                                         metadata={"description": "Shortest stay that is visited (days)"})
    visit_due_days = fields.Integer(strict=True, validate=validate.Range(0, 60),
                                    metadata={"description": "Days a leader has for the visit"})
    visit_relations = fields.List(fields.String(validate=validate.OneOf(RELATIONS)), validate=validate.Length(max=6),
                                  metadata={"description": "Relatives whose hospital stays are visited"})
    visit_rules = fields.Dict(keys=fields.String(validate=validate.OneOf(ROLES)),
                              values=fields.List(fields.String(validate=validate.OneOf(VISITOR_KINDS)),
                                                 validate=validate.Length(max=4)),
                              metadata={"description": "Patient role -> who visits: section_chief, "
                                                       "deputy_in_charge, head, hr"})
    allowance_cap_yuan = fields.Integer(strict=True, validate=validate.Range(0, MAX_YUAN),
                                        metadata={"description": "Yearly hospital allowance cap per person"})
    healthcheck_section_share = fields.String(validate=[validate.Length(max=16), _share], metadata={
        "description": "Default share of a section allowed at the clinic on one day, e.g. 3/10"})
    overtime_late_hour = fields.Integer(strict=True, validate=validate.Range(12, 23), metadata={
        "description": "Working-day overtime ending after this hour (o'clock) is late"})
    overtime_items = fields.Dict(keys=fields.String(validate=validate.OneOf(OCCASIONS)),
                                 values=fields.List(fields.String(validate=validate.OneOf(ITEM_KINDS)),
                                                    validate=validate.Length(max=2)),
                                 metadata={"description": "Occasion (late, rest_day, holiday) -> care items "
                                                          "(meal, transport)"})
    overtime_provider = fields.String(validate=validate.OneOf(PROVIDERS), metadata={
        "description": "Who provides overtime care items: logistics or hr"})
    overtime_comp_hours_per_day = fields.Integer(strict=True, validate=validate.Range(0, 24), metadata={
        "description": "Hours of overtime credited as one compensatory day (half days, rounded down); 0: none"})
    overtime_comp_occasions = fields.List(fields.String(validate=validate.OneOf(OCCASIONS)),
                                          validate=validate.Length(max=3), metadata={
        "description": "Occasions that earn compensatory leave (default rest_day, holiday)"})


class HospitalCaseSchema(Schema):
    id = fields.Integer(dump_only=True)
    person_id = Id(required=True, metadata={"description": "The staff member (patient or relative's kin)"})
    relative_id = Id(allow_none=True, load_default=None,
                     metadata={"description": "A relative from the register; empty when the staff member is in hospital"})
    relative_name = fields.String(dump_only=True)
    relation = fields.String(dump_only=True)
    admitted_on = Day(required=True)
    discharged_on = Day(allow_none=True, load_default=None, metadata={"description": "Expected or actual"})
    hospital = Text(max_length=120, min_length=1, required=True)
    out_of_town = fields.Boolean(load_default=False)
    visit_required = fields.Boolean(dump_only=True)
    reported_on = fields.Date(dump_only=True)
    tasks = fields.List(fields.Nested(lambda: CaseVisitTaskSchema), dump_only=True)


class VisitTaskSchema(Schema):
    id = fields.Integer(dump_only=True)
    case_id = fields.Integer(dump_only=True)
    leader_id = fields.Integer(dump_only=True)
    due_on = fields.Date(dump_only=True)
    status = fields.String(dump_only=True, metadata={"description": "red (overdue), blue (open), green (closed)"})
    outcome = fields.String(dump_only=True)
    note = fields.String(dump_only=True)
    allowance_yuan = fields.Integer(dump_only=True)
    closed_on = fields.Date(dump_only=True)
    case = fields.Nested(lambda: TaskCaseSchema, dump_only=True)


class CaseVisitTaskSchema(VisitTaskSchema):
    """A visit task inside its case."""

    class Meta:
        exclude = ("case",)


class TaskCaseSchema(HospitalCaseSchema):
    """The case of a visit task, without the tasks."""

    class Meta:
        exclude = ("tasks",)


class CareSettingsPatchSchema(CareSettingsSchema):
    """Any subset of the settings."""


class AppointmentPatchSchema(Schema):
    """HR: attendance, or a date window / preferred half-day for the next assignment."""

    status = fields.String(validate=validate.OneOf(("attended", "missed", "follow_up_advised")))
    window_start = Day(allow_none=True)
    window_end = Day(allow_none=True)
    preferred_half = fields.String(allow_none=True, validate=validate.OneOf(("AM", "PM")))


class VisitTaskQuerySchema(Schema):
    open = fields.Boolean(metadata={"description": "Only open (true) or closed (false) tasks"})


class VisitCloseSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(VISIT_OUTCOMES))
    note = Text(max_length=2000, multiline=True, load_default="")
    allowance_yuan = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, MAX_YUAN))


class ClinicDaySchema(Schema):
    day = Day(required=True)
    capacity_am = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, MAX_PLACES))
    capacity_pm = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, MAX_PLACES))
    capacity_day = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, MAX_PLACES))

    @validates_schema
    def some_room(self, data, **kwargs):
        if "day" not in data:  # also when the enclosing PATCH is loaded partially
            raise ValidationError("Missing data for required field.", "day")
        if not (data.get("capacity_am") or data.get("capacity_pm") or data.get("capacity_day")):
            raise ValidationError("Give the day some capacity (AM, PM or whole day).", "capacity_am")


class CampaignSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Text(max_length=120, min_length=1, required=True)
    year = fields.Integer(strict=True, required=True, validate=validate.Range(2000, 2100))
    notice = Text(max_length=5000, multiline=True, load_default="")
    section_share = fields.String(validate=[validate.Length(max=16), _share],
                                  metadata={"description": "Default: the unit setting"})
    eligible_section_ids = fields.List(Id(), allow_none=True, load_default=None, validate=validate.Length(max=500),
                                       metadata={"description": "Only these sections (default: all)"})
    skip_attended_previous_year = fields.Boolean(load_default=False,
                                                 metadata={"description": "Every-other-year rule"})
    days = fields.List(fields.Nested(ClinicDaySchema), required=True, validate=validate.Length(min=1, max=366))
    last_run_at = fields.DateTime(dump_only=True)
    last_run = fields.Dict(dump_only=True)

    @validates("days")
    def distinct_days(self, value, **kwargs):
        days = [d.get("day") for d in value]
        if len(set(days)) != len(days):
            raise ValidationError("Each clinic day may appear once.")


class CampaignPatchSchema(CampaignSchema):
    class Meta:
        exclude = ("year",)


class AssignJobSchema(Schema):
    job_id = fields.String()
    campaign_id = fields.Integer()


class AppointmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    campaign_id = fields.Integer(dump_only=True)
    person_id = fields.Integer(dump_only=True)
    day = fields.Date(dump_only=True)
    half = fields.String(dump_only=True)
    status = fields.String(validate=validate.OneOf(("attended", "missed", "follow_up_advised")),
                           metadata={"description": "HR marks attendance; the only health fact kept"})
    unplaced_reason = fields.String(dump_only=True)
    window_start = Day(allow_none=True)
    window_end = Day(allow_none=True)
    preferred_half = fields.String(allow_none=True, validate=validate.OneOf(("AM", "PM")))
    missed_on = fields.Date(dump_only=True)


class AppointmentQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(APPOINTMENT_STATUSES))


class SwapRequestSchema(Schema):
    id = fields.Integer(dump_only=True)
    appointment_id = fields.Integer(dump_only=True)
    wanted_day = Day(required=True)
    wanted_half = fields.String(required=True, validate=validate.OneOf(("AM", "PM", "DAY")))
    reason = Text(max_length=300, load_default="")
    status = fields.String(dump_only=True)


class SwapDecisionSchema(Schema):
    approve = fields.Boolean(required=True)


# --- overtime, care items, life events ------------------------------------------------------------


class LocalTime(fields.Time):
    """A wall-clock time of the unit (HH:MM), without a timezone."""

    def _deserialize(self, value, attr, data, **kwargs):
        found = super()._deserialize(value, attr, data, **kwargs)
        if found.tzinfo is not None:
            raise ValidationError("Give the local time without a timezone (HH:MM).")
        return found.replace(second=0, microsecond=0)


class Hours(HalfDays):
    """Hours in half hours; a JSON number on the way out."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else float(value)


class OvertimeSchema(Schema):
    id = fields.Integer(dump_only=True)
    person_id = Id(metadata={"description": "Whose overtime (default: the caller's own)"})
    day = Day(required=True)
    start_time = LocalTime(allow_none=True, load_default=None, format="%H:%M",
                           metadata={"description": "HH:MM; with end_time, instead of hours"})
    end_time = LocalTime(allow_none=True, load_default=None, format="%H:%M",
                         metadata={"description": "HH:MM; at or before the start: past midnight"})
    hours = Hours(limit=24, positive=True, allow_none=True, load_default=None, as_string=False,
                     metadata={"description": "Hours in half hours, when no times are given"})
    task = Text(max_length=300, min_length=1, required=True)
    occasion = fields.String(dump_only=True, metadata={"description": "late, rest_day, holiday or null"})
    comp_days = fields.Float(dump_only=True,
                               metadata={"description": "Compensatory days the rules grant once confirmed"})
    credited_days = fields.Float(dump_only=True,
                                   metadata={"description": "Compensatory days on the leave ledger now"})
    provisional = fields.Boolean(dump_only=True)
    status = fields.String(dump_only=True, metadata={"description": "pending, confirmed, rejected, withdrawn"})
    decision_note = fields.String(dump_only=True)
    logged_by_id = fields.Integer(dump_only=True)
    confirmed_by_id = fields.Integer(dump_only=True)
    confirmed_on = fields.Date(dump_only=True)
    items = fields.List(fields.Nested(lambda: OvertimeItemSchema), dump_only=True)


class OvertimePatchSchema(OvertimeSchema):
    """Any of day, times or hours, task (times replace hours and the other way round)."""

    class Meta:
        exclude = ("person_id",)


class OvertimeQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(OVERTIME_STATUSES))
    person_id = Id(strict=False)
    to_confirm = fields.Boolean(metadata={"description": "Only records the caller may confirm, pending"})


class OvertimeDecisionSchema(Schema):
    confirm = fields.Boolean(required=True)
    note = Text(max_length=300, load_default="")


class CareItemSchema(Schema):
    id = fields.Integer(dump_only=True)
    overtime_id = fields.Integer(dump_only=True)
    person_id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"description": "meal or transport"})
    day = fields.Date(dump_only=True)
    provider = fields.String(dump_only=True, metadata={"description": "logistics or hr"})
    status = fields.String(dump_only=True, metadata={"description": "open, provided, cancelled"})
    provided_on = fields.Date(dump_only=True)
    note = fields.String(dump_only=True)
    overtime = fields.Nested(lambda: ItemOvertimeSchema, dump_only=True)


class OvertimeItemSchema(CareItemSchema):
    """A care item inside its overtime record."""

    class Meta:
        exclude = ("overtime",)


class ItemOvertimeSchema(OvertimeSchema):
    """The overtime record of a care item, without the items."""

    class Meta:
        exclude = ("items",)


class CareItemQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(CARE_ITEM_STATUSES))


class CareItemProvidedSchema(Schema):
    note = Text(max_length=300, load_default="")


class EventKindSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=[validate.Length(min=1, max=32),
                                                  validate.Regexp(r"^[a-z][a-z0-9_]*$", error="Use a-z, 0-9 and _.")])
    name = Text(max_length=60, min_length=1, required=True)
    name_en = Text(max_length=80, min_length=1, required=True)
    action = fields.String(required=True, validate=validate.OneOf(EVENT_ACTIONS),
                           metadata={"description": "What the leader does: card, visit, condolence"})
    due_days = fields.Integer(strict=True, load_default=7, validate=validate.Range(0, 90))
    allowance_yuan = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, MAX_YUAN),
                                    metadata={"description": "Allowance the unit gives, 0 for none"})
    active = fields.Boolean(load_default=True)
    position = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 1000))


class EventKindPatchSchema(EventKindSchema):
    class Meta:
        exclude = ("code",)


class LifeEventSchema(Schema):
    id = fields.Integer(dump_only=True)
    person_id = Id(required=True)
    kind_id = Id(required=True)
    kind_code = fields.String(dump_only=True)
    occurred_on = Day(required=True)
    note = Text(max_length=300, load_default="", metadata={"description": "A line for the leader, no more"})
    reported_on = fields.Date(dump_only=True)
    tasks = fields.List(fields.Nested(lambda: EventTaskInEventSchema), dump_only=True)


class EventTaskSchema(Schema):
    id = fields.Integer(dump_only=True)
    event_id = fields.Integer(dump_only=True)
    leader_id = fields.Integer(dump_only=True)
    action = fields.String(dump_only=True)
    due_on = fields.Date(dump_only=True)
    status = fields.String(dump_only=True, metadata={"description": "red (overdue), blue (open), green (closed)"})
    allowance_yuan = fields.Integer(dump_only=True)
    note = fields.String(dump_only=True)
    closed_on = fields.Date(dump_only=True)
    event = fields.Nested(lambda: TaskEventSchema, dump_only=True)


class EventTaskInEventSchema(EventTaskSchema):
    """A task inside its life event."""

    class Meta:
        exclude = ("event",)


class TaskEventSchema(LifeEventSchema):
    """The life event of a task, without the tasks."""

    class Meta:
        exclude = ("tasks",)


class EventTaskCloseSchema(Schema):
    note = Text(max_length=2000, min_length=1, multiline=True, required=True)
