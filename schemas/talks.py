"""Schemas of talks: records (metadata and confidential content), kinds, rules, triggers, follow-ups,
obligations."""
from __future__ import annotations

from datetime import datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.common import Day, Id, Text
from service.talks.cadence import TRIGGER_SELECTORS
from service.talks.models import PARTICIPANT_ROLES, TALK_STATUSES
from service.talks.periods import FREQUENCIES
from service.talks.register import SCOPES

CODE = validate.Regexp(r"^[a-z][a-z0-9_-]{0,39}$", error="Use 1-40 lower-case letters, digits, _ or -.")
MAX_PEOPLE = 500


class Minute(fields.DateTime):
    """A local date-time to the minute, between 1900 and 2100 (ISO 8601: YYYY-MM-DDTHH:MM)."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not (datetime(1900, 1, 1) <= moment.replace(tzinfo=None) <= datetime(2100, 12, 31, 23, 59)):
            raise ValidationError("Date-time must be between 1900 and 2100.")
        return moment.replace(tzinfo=None)


class TalkFollowUpInSchema(Schema):
    owner_id = Id(required=True)
    description = Text(500, min_length=1, required=True)
    due_on = Day(required=True)


class TalkContentSchema(Schema):
    """The confidential part: returned only to the talkers, the recorder and the talked-to."""
    outline = Text(20000, multiline=True)
    content = Text(50000, multiline=True)
    views = Text(20000, multiline=True, metadata={"description": "Views, suggestions and difficulties raised"})
    attitude = Text(5000, multiline=True)
    follow_up_text = Text(20000, multiline=True, metadata={"description": "Follow-up measures agreed"})


class TalkParticipantSchema(Schema):
    person_id = fields.Integer()
    name = fields.String()
    employee_no = fields.String()
    role = fields.String(validate=validate.OneOf(PARTICIPANT_ROLES))
    section = fields.String(allow_none=True)
    post = fields.String(allow_none=True)


class TalkFollowUpSchema(Schema):
    id = fields.Integer(dump_only=True)
    talk_id = fields.Integer(dump_only=True)
    owner_id = fields.Integer(dump_only=True)
    description = fields.String(dump_only=True, allow_none=True)
    due_on = fields.Date(dump_only=True)
    done_on = Day(allow_none=True, metadata={"description": "Set to close the item; null to reopen"})
    status = fields.String(dump_only=True, metadata={"description": "red (overdue), blue (open), green (done)"})


class TalkSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = Text(40, min_length=1, required=True)
    status = fields.String(load_default="held", validate=validate.OneOf(TALK_STATUSES))
    held_at = Minute(required=True, format="iso", metadata={"description": "Local time, to the minute"})
    duration_minutes = fields.Integer(strict=True, required=True, validate=validate.Range(1, 1440))
    place = Text(120, min_length=1, required=True)
    topic = Text(200, min_length=1, required=True, metadata={"description": "Topic or reason (缘由)"})
    collective = fields.Boolean(load_default=False)
    talker_ids = fields.List(Id(), required=True, validate=validate.Length(1, 20))
    talked_to_ids = fields.List(Id(), required=True, validate=validate.Length(1, MAX_PEOPLE))
    recorder_id = Id(allow_none=True, load_default=None)
    present_ids = fields.List(Id(), load_default=list, validate=validate.Length(0, 50))
    outline = Text(20000, multiline=True, load_only=True)
    content = Text(50000, multiline=True, load_only=True)
    views = Text(20000, multiline=True, load_only=True)
    attitude = Text(5000, multiline=True, load_only=True)
    follow_up_text = Text(20000, multiline=True, load_only=True)
    follow_ups = fields.List(fields.Nested(TalkFollowUpInSchema), load_default=list, validate=validate.Length(0, 50))
    # Answers only
    version = fields.Integer(dump_only=True)
    signed = fields.Boolean(dump_only=True, metadata={"description": "Every talked-to person signed this version"})
    signed_by = fields.List(fields.Integer(), dump_only=True)
    participants = fields.List(fields.Nested(TalkParticipantSchema), dump_only=True)
    record = fields.Nested(TalkContentSchema, dump_only=True, allow_none=True, data_key="record", metadata={
        "description": "The confidential content; absent unless you may read it (each read is audited)"})
    attachments = fields.List(fields.Dict(), dump_only=True)
    follow_up_items = fields.List(fields.Nested(TalkFollowUpSchema), dump_only=True)


class TalkPatchSchema(TalkSchema):
    class Meta:
        exclude = ("follow_ups",)

    follow_ups_add = fields.List(fields.Nested(TalkFollowUpInSchema), validate=validate.Length(0, 50),
                                 data_key="follow_ups", load_only=True)


class TalkQuerySchema(Schema):
    start = Day()
    end = Day()
    person_id = Id(strict=False, metadata={"description": "Talks where this person took part"})
    section_id = Id(strict=False)
    kind = Text(40)
    status = fields.String(validate=validate.OneOf(TALK_STATUSES))

    @validates_schema
    def order(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError("end must not be before start.", "end")


class TalkVersionSchema(TalkContentSchema):
    number = fields.Integer()
    edited_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    signed_by = fields.List(fields.Integer())


class TalkKindSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = Text(80, min_length=1, required=True)
    name_en = Text(80, allow_none=True)
    active = fields.Boolean(load_default=True)


class TalkCadenceRuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    talker_selector = fields.String(required=True, validate=validate.OneOf(("head", "deputy", "chief", "staff")))
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES))
    roles = fields.List(fields.String(validate=validate.OneOf(("head", "deputy", "chief", "staff"))),
                        allow_none=True, load_default=None)
    frequency = fields.String(required=True, validate=validate.OneOf(FREQUENCIES))
    n_weeks = fields.Integer(strict=True, allow_none=True, load_default=None, validate=validate.Range(1, 104))
    kinds = fields.List(Text(40, min_length=1), required=True, validate=validate.Length(1, 30))
    grace_days = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 90))
    collective_allowed = fields.Boolean(load_default=False)
    anchor = Day(allow_none=True, load_default=None)
    valid_from = Day(allow_none=True, load_default=None)
    valid_to = Day(allow_none=True, load_default=None, metadata={"description": "Exclusive"})
    active = fields.Boolean(load_default=True)


class TalkTriggerRuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    event = fields.String(required=True, validate=CODE)
    talker_selector = fields.String(required=True, validate=validate.OneOf(TRIGGER_SELECTORS))
    kinds = fields.List(Text(40, min_length=1), required=True, validate=validate.Length(1, 30))
    deadline_days = fields.Integer(strict=True, load_default=7, validate=validate.Range(0, 365))
    collective_allowed = fields.Boolean(load_default=False)
    window_before_days = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 365))
    active = fields.Boolean(load_default=True)


class TalkTriggerSchema(Schema):
    id = fields.Integer(dump_only=True)
    person_id = Id(required=True)
    event = fields.String(required=True, validate=CODE)
    on = Day(required=True)
    section_id = Id(allow_none=True, load_default=None)
    note = Text(300, allow_none=True, load_default=None)


class TalkSettingsSchema(Schema):
    discipline_role_name = Text(80, allow_none=True)
    discipline_reader_ids = fields.List(Id(), validate=validate.Length(0, 50), metadata={
        "description": "People of the discipline-inspection role who may read all talk content"})
    max_talks_per_day = fields.Integer(strict=True, validate=validate.Range(1, 20))
    due_soon_days = fields.Integer(strict=True, validate=validate.Range(0, 60))


class TalkObligationQuerySchema(Schema):
    on = Day(metadata={"description": "Default: today"})
    talker_id = Id(strict=False, metadata={"description": "Default: you; HR may ask for anyone, a leader for the people they lead"})
    status = fields.String(validate=validate.OneOf(("done", "due", "overdue")))


class TalkObligationSchema(Schema):
    source = fields.String()
    rule = fields.String()
    trigger = fields.String(allow_none=True)
    talker_id = fields.Integer()
    talked_to_id = fields.Integer()
    talked_to_name = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    window_start = fields.Date()
    due = fields.Date()
    deadline = fields.Date()
    status = fields.String()
    colour = fields.String()
    satisfied_by_talk_id = fields.Integer(allow_none=True)
    days_overdue = fields.Integer()
    never_talked = fields.Boolean()


class TalkFollowUpQuerySchema(Schema):
    owner_id = Id(strict=False)
    open = fields.Boolean()


class TalkLedgerQuerySchema(Schema):
    start = Day()
    end = Day()
    section_id = Id(strict=False)
    leader_id = Id(strict=False)
    kind = Text(40)

    @validates_schema
    def order(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError("end must not be before start.", "end")


class TalkProposalSchema(Schema):
    talked_to_id = fields.Integer()
    day = fields.Date(allow_none=True, metadata={"description": "Null: no free working day left this month"})
    deadline = fields.Date()


class TalkProposalsSchema(Schema):
    provisional = fields.Boolean(metadata={"description": "This year's official calendar is not published yet"})
    proposals = fields.List(fields.Nested(TalkProposalSchema))


class TalkAcceptSchema(Schema):
    talked_to_id = Id(required=True)
    held_at = Minute(required=True, format="iso")
    duration_minutes = fields.Integer(strict=True, load_default=30, validate=validate.Range(1, 1440))
    place = Text(120, min_length=1, required=True)
    topic = Text(200, min_length=1, load_default="谈心谈话")
    kind = Text(40, min_length=1, load_default="routine")
