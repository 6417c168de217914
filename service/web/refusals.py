"""A domain's refusal (a ``DomainError``) shown on a page: what the request wrote is rolled back,
then the message is flashed (the view redirects) or put under the form field it names (the view
renders the form again)."""
from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from service.errors import DomainError
from service.extensions import db


def flash_refusal(error: DomainError, message: str | None = None) -> None:
    """Undo the request's writes and flash the refusal (``message`` when the page words it
    differently)."""
    db.session.rollback()
    flash(error.message if message is None else message, "error")


def show_refusal(form: FlaskForm, error: DomainError, default: str, rename: dict[str, str] | None = None,
                 message: str | None = None) -> None:
    """Undo the request's writes and put the refusal under the form field it names: ``rename``
    maps the domain's field names to the form's; ``default`` takes it when the form has no such
    field."""
    db.session.rollback()
    name = (rename or {}).get(error.field, error.field)
    field = form[name] if name and name in form else form[default]
    # A field's errors are a tuple until the form is validated.
    field.errors = [*field.errors, error.message if message is None else message]
