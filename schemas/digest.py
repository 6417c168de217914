"""Schemas of the weekly digest: a person's preferences and the unit's send day and hour."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


def _flag(description: str) -> fields.Boolean:
    # Strict: true or false only, so "no" or 0 is a 422 naming the field, not a silent guess.
    return fields.Boolean(truthy={True}, falsy={False}, metadata={"description": description})


class DigestPreferenceSchema(Schema):
    weekly_email = _flag("Receive the weekly schedule email (mandatory notices come anyway)")
    nothing_due_note = _flag("On a week with nothing due: a short note (true) or no email (false)")


class DigestSettingsSchema(Schema):
    send_weekday = fields.Integer(strict=True, validate=validate.Range(0, 6), metadata={
        "description": "0 = Monday ... 6 = Sunday; a day off moves the email to the next working day that week"})
    send_hour = fields.Integer(strict=True, validate=validate.Range(0, 23),
                               metadata={"description": "Hour in the unit's timezone"})
