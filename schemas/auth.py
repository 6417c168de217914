"""Schemas of API tokens, the audit log and the outbox."""
from marshmallow import Schema, fields, validate

from schemas.common import Day, Id, Text


class TokenCreateSchema(Schema):
    name = Text(max_length=80, min_length=1, required=True, metadata={"description": "What uses it"})
    scope = fields.String(load_default="read", validate=validate.OneOf(["read", "write"]))


class TokenSchema(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    name = fields.String()
    scope = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class TokenCreatedSchema(TokenSchema):
    token = fields.String(metadata={"description": "Shown once; only its hash is stored"})


class TokenQuerySchema(Schema):
    person_id = Id(strict=False, metadata={"description": "HR only: another person's tokens"})


class AuditQuerySchema(Schema):
    resource = Text(max_length=32)
    resource_id = Text(max_length=64)
    actor_id = Id(strict=False)
    since = Day()


class AuditSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    via = fields.String()
    remote_addr = fields.String(allow_none=True)
    action = fields.String()
    resource = fields.String()
    resource_id = fields.String(allow_none=True)
    changes = fields.Dict(allow_none=True)


class OutboxQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(["pending", "sending", "sent", "parked"]))
    recipient_id = Id(strict=False)


class OutboxSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    dedupe_key = fields.String()
    recipient_id = fields.Integer(allow_none=True)
    to_address = fields.String()
    subject = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    message_id = fields.String()
