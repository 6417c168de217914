"""Audit trail for every write and every read of confidential content."""
from __future__ import annotations

from flask import g, has_request_context, request

from service.audit.models import AuditEntry
from service.extensions import db


def record(action: str, resource: str, resource_id=None, changes: dict | None = None, actor=None,
           via: str | None = None) -> AuditEntry:
    """Add an audit entry to the current transaction (it commits or rolls back with the change)."""
    if actor is None and has_request_context():
        actor = getattr(g, "actor", None)
    if via is None:
        via = getattr(g, "via", "web") if has_request_context() else "job"
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        via=via,
        remote_addr=request.remote_addr if has_request_context() else None,
        action=action,
        resource=resource,
        resource_id=None if resource_id is None else str(resource_id),
        changes=changes,
    )
    db.session.add(entry)
    return entry


def update(obj, data: dict, resource: str, resource_id) -> AuditEntry:
    """Set ``data`` on ``obj`` and audit the fields that changed, in the current transaction."""
    before = {key: getattr(obj, key) for key in data}
    for key, value in data.items():
        setattr(obj, key, value)
    return record("update", resource, resource_id, diff(before, data))


def diff(before: dict, after: dict) -> dict:
    """The fields that changed, as {field: [old, new]}, JSON-safe."""
    out = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            out[key] = [_jsonable(old), _jsonable(new)]
    return out


def _jsonable(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
