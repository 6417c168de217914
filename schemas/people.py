"""Schemas of the people register: sections, people, relatives, history, import results."""
from __future__ import annotations

import calendar

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import Count, Day, Id, Text
from service.people.models import LANGUAGES, RELATIONS, ROLES


class SectionSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = Text(max_length=32, min_length=1, required=True,
                metadata={"description": "Unique short code, e.g. MSK"})
    name = Text(max_length=120, min_length=1, required=True)
    name_en = Text(max_length=120, allow_none=True)
    parent_unit = Text(max_length=120, allow_none=True)
    min_base_staff = Count(load_default=0, metadata={"description": "People who must stay at work"})


class SectionQuerySchema(Schema):
    q = Text(max_length=80, metadata={"description": "Search in code and name"})


class BirthdaySchema(Schema):
    calendar = fields.String(required=True, validate=validate.OneOf(["solar", "lunar"]))
    month = fields.Integer(strict=True, required=True, validate=validate.Range(1, 12))
    day = fields.Integer(strict=True, required=True, validate=validate.Range(1, 31))
    leap = fields.Boolean(load_default=False, metadata={"description": "Lunar leap month"})

    @validates_schema
    def check_day(self, data, **kwargs):
        if data["calendar"] == "solar":
            # 29 February is a valid birthday; it is celebrated on 28 February in other years.
            last = calendar.monthrange(2000, data["month"])[1]
            if data["day"] > last:
                raise ValidationError(f"Day must be at most {last} in month {data['month']}.", "day")
            if data.get("leap"):
                raise ValidationError("Only lunar birthdays have leap months.", "leap")
        elif data["day"] > 30:
            raise ValidationError("A lunar month has at most 30 days.", "day")


class RelativeSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Text(max_length=80, min_length=1, required=True)
    relation = fields.String(required=True, validate=validate.OneOf(RELATIONS))


class PersonSchema(Schema):
    id = fields.Integer(dump_only=True)
    employee_no = Text(max_length=32, min_length=1, required=True,
                       validate=validate.Regexp(r"^[A-Za-z0-9_.-]+$",
                                                error="Letters, digits, '_', '.' and '-' only."))
    name = Text(max_length=80, min_length=1, required=True)
    name_en = Text(max_length=120, allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    section_id = Id(allow_none=True)
    section_code = fields.String(dump_only=True, attribute="section.code")
    post = Text(max_length=80, allow_none=True)
    rank = Text(max_length=40, allow_none=True)
    role = fields.String(load_default="staff", validate=validate.OneOf(ROLES))
    oversees = fields.List(Id(), metadata={"description": "Section ids a deputy oversees (分管)"})
    work_started_on = Day(allow_none=True, metadata={"description": "First day of work (for annual leave)"})
    joined_on = Day(allow_none=True, metadata={"description": "First day in this unit"})
    birthday = fields.Nested(BirthdaySchema, allow_none=True)
    celebrations_opt_out = fields.Boolean(load_default=False)
    relatives = fields.List(fields.Nested(RelativeSchema), validate=validate.Length(max=50))
    language = fields.String(load_default="zh_CN", validate=validate.OneOf(LANGUAGES))
    left_on = Day(allow_none=True)
    rotation_exempt = fields.Boolean(load_default=False)
    is_hr_admin = fields.Boolean(load_default=False)
    active = fields.Boolean(dump_only=True)
    effective_from = Day(load_only=True, metadata={
        "description": "When a change of section, post, rank or role takes effect (default today)"})

    @validates_schema
    def check_dates(self, data, **kwargs):
        problem = person_consistency(data)
        if problem:
            raise ValidationError(problem[1], problem[0])


def person_consistency(values: dict) -> tuple[str, str] | None:
    """The cross-field rules of a person record: (field, message) of the first one broken."""
    started, joined, left = values.get("work_started_on"), values.get("joined_on"), values.get("left_on")
    if started and joined and joined < started:
        return "joined_on", "Cannot join the unit before starting work."
    if joined and left and left < joined:
        return "left_on", "Cannot leave before joining."
    if values.get("oversees") and values.get("role", "deputy") != "deputy":
        return "oversees", "Only deputies oversee sections."
    return None


PRIVATE_FIELDS = ("email", "birthday", "relatives", "work_started_on", "celebrations_opt_out")


class PersonQuerySchema(Schema):
    q = Text(max_length=80, metadata={"description": "Search by name or employee number"})
    section_id = Id(strict=False)
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    as_of = Day(metadata={"description": "Who was in which section with which role on this date"})


class PostingSchema(Schema):
    id = fields.Integer()
    section_id = fields.Integer(allow_none=True)
    post = fields.String(allow_none=True)
    rank = fields.String(allow_none=True)
    role = fields.String()
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True, metadata={"description": "Exclusive; null = open"})
    reason = fields.String(allow_none=True)


class ImportErrorSchema(Schema):
    row = fields.Integer(metadata={"description": "1-based line number in the file, header = 1"})
    field = fields.String()
    message = fields.String()


class ImportResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    errors = fields.List(fields.Nested(ImportErrorSchema))


class SectionPatchSchema(SectionSchema):
    """A change to a section: any subset of its fields."""


class PersonPatchSchema(PersonSchema):
    """A change to a person: any subset of the fields; dated by ``effective_from``."""
