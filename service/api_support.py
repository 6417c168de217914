"""What every domain's REST blueprint shares: authentication, permission checks, lookups, paging."""
from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import func, select

from schemas.common import MAX_INT
from service.auth.permissions import can
from service.auth.tokens import token_owner
from service.extensions import db


def authenticate_api() -> None:
    """Bearer token (HR systems) or the web session (pages' own scripts, read-only)."""
    header = request.headers.get("Authorization", "")
    g.via = "api"
    g.actor, g.token_scope = None, None
    if header.lower().startswith("bearer "):
        found = token_owner(header[7:].strip())
        if found is None:
            abort(401, message=_("The API token is unknown, revoked, or its owner has left."))
        g.actor, g.token_scope = found
        return
    if current_user.is_authenticated:
        g.actor = current_user._get_current_object()
        # Session-authenticated API calls carry no CSRF token, so they may only read.
        g.token_scope = "read"
        return
    abort(401, message=_("Send an API token: Authorization: Bearer <token>."))


def require(action: str, resource: str, obj=None) -> None:
    """403 unless the current actor may do this; the one gate every view calls."""
    if not can(g.actor, action, resource, obj, token_scope=g.get("token_scope")):
        if g.get("token_scope") == "read" and action == "write":
            abort(403, message=_("This token (or session) is read-only."))
        abort(403, message=_("You may not %(action)s %(resource)s.", action=action, resource=resource.replace("_", " ")))


def get_or_404(model, ident: int, name: str):
    if not (1 <= ident <= MAX_INT):
        abort(404, message=_("No %(name)s with id %(id)s.", name=name, id=ident))
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404, message=_("No %(name)s with id %(id)s.", name=name, id=ident))
    return obj


def paginate(stmt, pagination_parameters):
    """Apply page/page_size to a select and record the total for the X-Pagination header."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    pagination_parameters.item_count = total
    offset = (pagination_parameters.page - 1) * pagination_parameters.page_size
    if offset > MAX_INT:
        return []
    return db.session.scalars(stmt.limit(pagination_parameters.page_size).offset(offset)).unique().all()


def field_error(status: int, field: str, message: str, location: str = "json"):
    abort(status, message=message, errors={location: {field: [message]}})
