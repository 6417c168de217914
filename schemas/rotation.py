"""Schemas of rotation: plans with their rules, pins and forbids, postings with explanations."""
from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import Id, Text
from service.rotation.models import PLAN_STATUSES, POSTING_STATUSES

MAX_PLAN_MONTHS = 24


class MonthField(fields.Field):
    """A calendar month as ``YYYY-MM`` (2000-01 to 2100-12); a date (its first day) inside."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value.year:04d}-{value.month:02d}"

    def _deserialize(self, value, attr, data, **kwargs):
        from service.rotation.inputs import parse_month

        if not isinstance(value, str):
            raise ValidationError("Use YYYY-MM.")
        try:
            day = parse_month(value)
        except ValueError:
            raise ValidationError("Use YYYY-MM, e.g. 2027-01.") from None
        if not date(2000, 1, 1) <= day <= date(2100, 12, 1):
            raise ValidationError("Month must be between 2000-01 and 2100-12.")
        return day


def _pair(**kwargs):
    return fields.List(Id(), validate=validate.Length(equal=2), **kwargs)


class SectionSendsSchema(Schema):
    section_id = Id(required=True)
    sends_per_month = fields.Integer(strict=True, required=True, validate=validate.Range(0, 10),
                                     metadata={"description": "N for this section (0: it only hosts)"})


class RotationRulesSchema(Schema):
    sends_per_month = fields.Integer(strict=True, load_default=1, validate=validate.Range(1, 10),
                                     metadata={"description": "N: people each section sends a month"})
    host_cap_per_month = fields.Integer(strict=True, load_default=1, validate=validate.Range(1, 10),
                                        metadata={"description": "K: most a host receives a month"})
    min_months_after_joining = fields.Integer(strict=True, load_default=6, validate=validate.Range(0, 120),
                                              metadata={"description": "M: no posting in the first M months"})
    long_tenure_years = fields.Integer(strict=True, load_default=10, validate=validate.Range(1, 60),
                                       metadata={"description": "Years in one post that put a person first"})
    recent_months = fields.Integer(strict=True, load_default=24, validate=validate.Range(1, 240),
                                   metadata={"description": "Waiting this long makes a person's recency cost 0"})
    encouraged_pairs = fields.List(_pair(), load_default=list, validate=validate.Length(max=500),
                                   metadata={"description": "Section pairs [id, id] that should exchange"})
    sends_by_section = fields.List(fields.Nested(SectionSendsSchema), load_default=list,
                                   validate=validate.Length(max=2000), metadata={
        "description": "N for named participating sections; the others send sends_per_month"})
    avoid_pairs = fields.List(_pair(), load_default=list, validate=validate.Length(max=2000), metadata={
        "description": "Relatives who are both staff [person id, person id] (回避): neither is posted "
                       "where the other is chief or deputy in charge"})


class RotationPlanSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Text(max_length=120, min_length=1, required=True)
    first_month = MonthField(required=True, metadata={"description": "YYYY-MM"})
    last_month = MonthField(required=True, metadata={"description": "YYYY-MM (inclusive)"})
    section_ids = fields.List(Id(), required=True, validate=validate.Length(min=2, max=2000),
                              metadata={"description": "Participating sections (send and host)"})
    rules = fields.Nested(RotationRulesSchema, load_default=dict)
    status = fields.String(dump_only=True, validate=validate.OneOf(PLAN_STATUSES))
    version = fields.Integer(dump_only=True)
    job_id = fields.String(dump_only=True)
    objective = fields.Float(dump_only=True, allow_none=True)
    lower_bound = fields.Float(dump_only=True, allow_none=True)
    gap = fields.Float(dump_only=True, allow_none=True)
    reasons = fields.List(fields.Dict(), dump_only=True,
                          metadata={"description": "Why infeasible: rule, section, month, detail, text"})
    unfilled = fields.List(fields.Dict(), dump_only=True,
                           metadata={"description": "Section-months sending fewer than N, and why"})
    conflicts = fields.List(fields.Dict(), dump_only=True,
                            metadata={"description": "After approval: postings ahead that now break a rule"})
    pins = fields.List(fields.Dict(), dump_only=True)
    forbids = fields.List(fields.Dict(), dump_only=True)
    error = fields.String(dump_only=True, allow_none=True)
    computed_at = fields.DateTime(dump_only=True, allow_none=True)
    approved_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)

    @validates_schema
    def check(self, data, **kwargs):
        first, last = data.get("first_month"), data.get("last_month")
        if first and last:
            if last < first:
                raise ValidationError("Must not be before first_month.", "last_month")
            if (last.year - first.year) * 12 + last.month - first.month >= MAX_PLAN_MONTHS:
                raise ValidationError(f"A plan covers at most {MAX_PLAN_MONTHS} months.", "last_month")
        ids = data.get("section_ids") or []
        if len(set(ids)) != len(ids):
            raise ValidationError("Each section once.", "section_ids")
        rules = data.get("rules") or {}
        for index, (a, b) in enumerate(rules.get("encouraged_pairs") or []):
            if a == b or a not in ids or b not in ids:
                raise ValidationError({"encouraged_pairs": {index: ["Two different participating sections."]}},
                                      "rules")
        seen = set()
        for index, item in enumerate(rules.get("sends_by_section") or []):
            if item["section_id"] not in ids:
                raise ValidationError({"sends_by_section": {index: {"section_id": [
                    "Not a participating section of this plan."]}}}, "rules")
            if item["section_id"] in seen:
                raise ValidationError({"sends_by_section": {index: {"section_id": ["Each section once."]}}},
                                      "rules")
            seen.add(item["section_id"])
        for index, (a, b) in enumerate(rules.get("avoid_pairs") or []):
            if a == b:
                raise ValidationError({"avoid_pairs": {index: ["Two different people."]}}, "rules")


class RotationJobSchema(Schema):
    plan_id = fields.Integer()
    job_id = fields.String()
    kind = fields.String(metadata={"description": "compute (absent), what_if or repair"})
    status = fields.String()
    version = fields.Integer()


class RotationJobResultSchema(Schema):
    """A what-if or repair job and, once finished, its answer.

    what_if: objective_before, objective_after, delta, status, postings (or ``stale`` when the plan
    was recomputed meanwhile). repair: applied, conflicts, removed, added, status.
    """
    plan_id = fields.Integer()
    job_id = fields.String()
    kind = fields.String(validate=validate.OneOf(("what_if", "repair")))
    status = fields.String(metadata={"description": "queued, started, deferred, scheduled, finished or failed"})
    result = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)


class RotationRepairRequestSchema(Schema):
    apply = fields.Boolean(load_default=True, metadata={
        "description": "Apply the repair (default); false only proposes it"})


class RotationPostingSchema(Schema):
    id = fields.Integer(dump_only=True)
    plan_id = fields.Integer(dump_only=True)
    person_id = fields.Integer(dump_only=True)
    person_name = fields.String(dump_only=True)
    home_section_id = fields.Integer(dump_only=True)
    host_section_id = fields.Integer(dump_only=True)
    month = MonthField(dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf(POSTING_STATUSES))
    pinned = fields.Boolean(dump_only=True)
    cost = fields.Float(dump_only=True)
    explanation = fields.Dict(dump_only=True, metadata={"description": "Why this person, why this host (codes, numbers)"})
    why = fields.List(fields.String(), dump_only=True, metadata={"description": "The explanation in words"})
    out_posting_id = fields.Integer(dump_only=True, allow_none=True)
    return_posting_id = fields.Integer(dump_only=True, allow_none=True)
    cancelled_reason = fields.String(dump_only=True, allow_none=True)


class RotationPostingQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(POSTING_STATUSES))
    section_id = Id(strict=False)
    month = MonthField()


class RotationPinSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    person_id = Id(required=True)
    month = MonthField(required=True)
    host_section_id = Id(required=True)


class RotationForbidSchema(Schema):
    """Forbid postings; a field left out matches anything, but a person or a section is named."""
    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    person_id = Id(allow_none=True)
    section_id = Id(allow_none=True, metadata={"description": "The sending section"})
    month = MonthField(allow_none=True)
    host_section_id = Id(allow_none=True)

    @validates_schema
    def names_someone(self, data, **kwargs):
        if data.get("person_id") is None and data.get("section_id") is None:
            raise ValidationError("Name a person_id or a section_id.", "person_id")


class RotationConflictsSchema(Schema):
    conflicts = fields.List(fields.Dict())
