"""The one base of every domain's refusals (TalkError, PlanError, CareError, LeaveError, FieldError).

A domain raises a ``DomainError`` when its rules refuse a request, having changed nothing it means
to keep; the API answers it with the one error shape (a handler in ``service/__init__.py`` that
also rolls the session back), and the web pages show its message next to the field it names.
No Flask here: the core raises these outside requests too (jobs, imports).
"""
from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse: an HTTP status (400/403/404/409/413/415/422), the field at
    fault (None when the request as a whole is refused), a message already in the reader's
    language, where the field was sent (``json``, or ``files`` for uploads), and ``extra``:
    further entries for the API body's ``errors`` (e.g. the id of a clashing record)."""

    def __init__(self, message: str, *, status: int = 422, field: str | None = None,
                 location: str = "json", extra: dict | None = None):
        super().__init__(message)
        self.message, self.status, self.field = message, status, field
        self.location, self.extra = location, extra


def api_error_data(error: DomainError) -> dict:
    """What the API's error body says besides its code and status: the message and, when a field
    is named, ``errors`` as schema validation gives them ({location: {field: [message]}})."""
    data = {"message": str(error.message)}
    errors = {error.location: {error.field: [str(error.message)]}} if error.field else {}
    errors.update(error.extra or {})
    if errors:
        data["errors"] = errors
    return data
