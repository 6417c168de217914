"""Fields and schemas shared by every domain's API."""
from __future__ import annotations

import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate

# PostgreSQL integer columns; larger values are rejected as input errors, not database errors.
MAX_INT = 2**31 - 1


# C0 control characters and DEL; a multiline text keeps tab, newline and carriage return.
CONTROL = re.compile("[\x00-\x1f\x7f]")
CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone UTF-16 surrogates: valid JSON escapes, but not text that UTF-8 (either database) can store.
SURROGATE = re.compile("[\ud800-\udfff]")


class Text(fields.String):
    """A string with a length limit that refuses NUL and other control characters but newline/tab.

    The checks are regular expressions: a talk's content may be 50,000 characters, which a loop
    over characters in Python takes milliseconds to scan."""

    def __init__(self, max_length: int = 200, min_length: int = 0, multiline: bool = False, **kwargs):
        extra = kwargs.pop("validate", None)
        validators = [validate.Length(min=min_length, max=max_length)]
        if extra is not None:
            validators.extend(extra if isinstance(extra, (list, tuple)) else [extra])
        super().__init__(validate=validators, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if (CONTROL_MULTILINE if self.multiline else CONTROL).search(value):
            raise ValidationError("Control characters are not allowed.")
        if SURROGATE.search(value):
            raise ValidationError("Not valid Unicode text (lone surrogate).")
        value = value.strip() if not self.multiline else value
        return value


class Day(fields.Date):
    """A calendar date between 1900 and 2100 (ISO 8601, YYYY-MM-DD)."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not (date(1900, 1, 1) <= day <= date(2100, 12, 31)):
            raise ValidationError("Date must be between 1900-01-01 and 2100-12-31.")
        return day


def Id(strict: bool = True, **kwargs):  # noqa: N802 - reads like a field class
    """A row id; ``strict=False`` for query strings, where every value arrives as text."""
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=MAX_INT), **kwargs)


def Count(**kwargs):  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=100000), **kwargs)


class ErrorSchema(Schema):
    """The one error shape of the API."""

    code = fields.Integer(metadata={"description": "HTTP status code"})
    status = fields.String(metadata={"description": "HTTP status name"})
    message = fields.String(metadata={"description": "What went wrong, for a person"})
    errors = fields.Dict(metadata={"description": "Field-level messages: {location: {field: [messages]}}"})
